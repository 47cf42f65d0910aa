"""Who may do what to which record, and who sees a volunteer's phone.

Roles come from the table; scope (`SCOPES`, the kernel's rule of shared/scope, for single reads
and lists alike) is the record's region path for staff and volunteers (a volunteer's region is
their community) and ownership for residents. Whether a volunteer
acts on their *own* claim, order or sign-up is checked by `acting_as` in the commands.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound
from shared.privacy import mask_phone
from shared.scope import NOTHING, Eq, Scope, ScopeRule

from .enums import Action

SYSTEM = Principal(sub="system:volunteers", role=Role.SERVICE)

_R = Role
_STAFF = frozenset({_R.ADMIN, _R.OPERATOR})
_VOL = frozenset({_R.VOLUNTEER})
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.VIEW: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER, _R.VOLUNTEER, _R.RESIDENT}),
    Action.REGISTER_VOLUNTEER: _STAFF | {_R.RESIDENT, _R.VOLUNTEER},
    Action.MANAGE_TEAM: _STAFF,
    Action.MANAGE_POST: _STAFF,
    Action.CLAIM_POST: _VOL,
    Action.PLACE_ORDER: frozenset({_R.RESIDENT}),
    Action.REVIEW_ORDER: _STAFF,
    Action.DISPATCH_ORDER: _STAFF,
    Action.TAKE_ORDER: _VOL,
    Action.WORK_ORDER: _VOL,
    Action.RATE_ORDER: frozenset({_R.RESIDENT}),
    Action.CANCEL_OWN_ORDER: frozenset({_R.RESIDENT}),
    Action.CANCEL_ORDER: _STAFF,
    Action.MANAGE_ACTIVITY: _STAFF,
    Action.SIGN_UP: _VOL,
    Action.CHECK_IN: _VOL,
    Action.BACKFILL_HOURS: frozenset({_R.ADMIN}),
    Action.REDEEM_POINTS: _VOL,
    # residents' points
    Action.AWARD_RESIDENT_POINTS: _STAFF | {_R.GRID_WORKER},
    Action.REDEEM_RESIDENT_POINTS: frozenset({_R.RESIDENT}),
    # units take service orders
    Action.WORK_UNIT_ORDER: _STAFF,
}
# who may ask to redeem: a volunteer for themself, staff for a volunteer they name
REDEEMERS: frozenset[Role] = PERMISSIONS[Action.REDEEM_POINTS] | _STAFF


# -- who sees which record: one rule (shared/scope), per kind only in whose records a resident owns
OWNER_FIELDS = {"order": "resident_sub", "volunteer": "sub"}
"""The stored field naming the resident a record of each kind is theirs by (an order's placer,
their own volunteer record); a resident owns no record of another kind."""
KINDS = ("volunteer", "team", "post", "order", "task", "activity")


def _nothing(p: Principal) -> Scope:
    return NOTHING


def _rule(owner: str | None) -> ScopeRule:
    def own(p: Principal) -> Scope:
        return Eq(owner, p.sub) if owner else NOTHING

    return ScopeRule(
        fields={"path": lambda r: r.region_path},
        replace={Role.RESIDENT: own, **{r: _nothing for r in Role if r not in PERMISSIONS[Action.VIEW]}},
    )


SCOPES: dict[str, ScopeRule] = {kind: _rule(OWNER_FIELDS.get(kind)) for kind in KINDS}
"""THE scope of volunteer records, for single reads (`in_scope`) and lists alike: a role that
reads volunteer records (not a department: its work is the cases assigned to it) sees its
region's subtree; a resident their own records (by `OWNER_FIELDS`); other roles none."""


def in_scope(principal: Principal, record: Any) -> bool:
    """Whether the principal may see the record at all (`SCOPES` of its kind)."""
    return SCOPES[record.kind].admits(principal, record)


def authorize(principal: Principal, action: Action, record: Any) -> None:
    """Raise Forbidden unless the role may do `action` and `record` is in scope."""
    if not principal.unrestricted and principal.role not in PERMISSIONS[action]:
        raise Forbidden(f"role {principal.role} may not {action}", {"role": str(principal.role), "action": str(action)})
    if not in_scope(principal, record):
        raise Forbidden(
            f"{getattr(record, 'kind', 'record')} {record.id} is outside your scope",
            {"id": record.id, "action": str(action)},
        )


def is_allowed(principal: Principal, action: Action, record: Any) -> bool:
    try:
        authorize(principal, action, record)
    except Forbidden:
        return False
    return True


def authorize_profile_edit(principal: Principal, volunteer: Any) -> None:
    """A volunteer edits their own profile; staff in scope anyone's."""
    if principal.sub != volunteer.sub:
        authorize(principal, Action.MANAGE_TEAM, volunteer)


def authorize_release(principal: Principal, post: Any) -> None:
    """Staff in scope release anyone's claim; a volunteer only their own (checked with the claim)."""
    if not is_allowed(principal, Action.MANAGE_POST, post):
        authorize(principal, Action.CLAIM_POST, post)


def acting_as(principal: Principal, volunteer_sub: str, what: str) -> None:
    """A volunteer acts only for themself; the service (and superadmin) for anyone."""
    if principal.unrestricted:
        return
    if principal.sub != volunteer_sub:
        raise Forbidden(f"you may only {what} for yourself", {"action": what})


def may_see_phone(principal: Principal, volunteer: Any) -> bool:
    """A volunteer's phone is shown to the volunteer, to staff of their home region and to
    the service; everyone else (other volunteers, residents, grid workers) sees it masked."""
    if principal.unrestricted or principal.sub == volunteer.sub:
        return True
    return principal.role in _STAFF and principal.can_see_path(volunteer.region_path)


def phone_for(principal: Principal, volunteer: Any, phone: str | None) -> str | None:
    """`phone` (decrypted by the caller) as `principal` may see it."""
    return phone if may_see_phone(principal, volunteer) else mask_phone(phone)


def acts_for_others(principal: Principal) -> bool:
    """Staff (and the service, superadmin) name the volunteer a command acts for; everyone
    else acts for their own volunteer record."""
    return principal.unrestricted or principal.role in _STAFF


def own_volunteer(principal: Principal, volunteer_id: str | None, own: Any | None) -> Any:
    """The volunteer a caller who acts for themself acts for: their own record `own` (found by
    their `sub`); naming anyone else is refused, and a caller not registered is told so."""
    if volunteer_id and (own is None or volunteer_id != own.id):
        raise Forbidden("you may only act for yourself", {"volunteerId": volunteer_id})
    if own is None:
        raise NotFound("you are not registered as a volunteer; call registerVolunteer first")
    return own


def authorize_member_link(principal: Principal, member_id: str | None) -> None:
    """A registration names a party member record: staff link any, anyone else only their own
    (the `member` of their token)."""
    if member_id and not acts_for_others(principal) and principal.member != member_id:
        raise Forbidden("you may link only your own member record (the `member` of your token)")


def authorize_redeem(principal: Principal, volunteer: Any) -> None:
    """A volunteer redeems from their own account, in scope; staff for the volunteer they named."""
    if not acts_for_others(principal):
        authorize(principal, Action.REDEEM_POINTS, volunteer)


def authorize_volunteer_list(principal: Principal) -> None:
    """Residents read the volunteers who serve them one by one, never a list of them."""
    if principal.role is Role.RESIDENT:
        raise Forbidden("residents do not list volunteers")


def takers_shown_to_resident(refused: Iterable[str], takers: Iterable[str | None]) -> list[str]:
    """A resident sees who serves them: of the volunteers a batch read refused, those who took
    one of the resident's orders (shown masked, as to anyone outside their region)."""
    return sorted(set(refused) & {t for t in takers if t})


# -- residents' points: a resident reads their own ledger; staff the entries earned in their scope
def resident_ledger_reader(principal: Principal, own: bool) -> None:
    """Who reads a resident's ledger: the resident their own (`own`), staff and grid workers a
    resident's they name (filtered to their scope by the caller), the service anyone's."""
    if principal.unrestricted or own:
        return
    if principal.role is Role.RESIDENT:
        raise Forbidden("you may read only your own points", {"action": "read resident points"})
    if principal.role not in PERMISSIONS[Action.AWARD_RESIDENT_POINTS]:
        raise Forbidden(f"role {principal.role} may not read residents' points", {"role": str(principal.role)})


def in_ledger_scope(principal: Principal, region_path: Iterable[str]) -> bool:
    """A resident's ledger entry is in a staff member's scope where it was earned (or redeemed)."""
    return principal.unrestricted or principal.can_see_path(tuple(region_path))
