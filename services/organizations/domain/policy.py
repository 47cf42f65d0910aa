"""Who may do what to which record: role first, then scope on the record's region path; who
sees which record (`SCOPE`, `RECEIVING`, `visible`: the kernel's rule, shared/scope).

Admins in scope manage organisations, members, transfers, units, meetings and the three
lists; operators in scope read and record organisational life and meetings; superadmin and
service do everything. Volunteers, residents, grid workers and departments have no access,
except that a person whose token names a member (`member` claim) may view their own member
record and dual-register themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.auth import Principal, Role
from shared.errors import Forbidden
from shared.scope import NOTHING, Scope, ScopeRule

from .enums import Action

# The actor of what the service does by itself (overdue and weak sweeps, cases feedback).
SYSTEM = Principal(sub="system:organizations", role=Role.SERVICE)

_A, _R = Action, Role
_ADMIN = frozenset({_R.ADMIN})
_STAFF = frozenset({_R.ADMIN, _R.OPERATOR})
PERMISSIONS: dict[Action, frozenset[Role]] = {
    _A.VIEW: _STAFF,
    _A.MANAGE_ORG: _ADMIN,
    _A.MANAGE_MEMBER: _ADMIN,
    _A.VIEW_OWN_RECORD: frozenset(),
    _A.REQUEST_TRANSFER: _ADMIN,
    _A.DECIDE_TRANSFER: _ADMIN,
    _A.DUAL_REGISTER: _ADMIN,
    _A.MANAGE_UNIT: _ADMIN,
    _A.MANAGE_MEETING: _ADMIN,
    _A.RECORD_MEETING: _STAFF,
    _A.RECORD_LIFE: _STAFF,
    _A.MANAGE_LISTS: _ADMIN,
    # deliberation: the community party organisation's staff move proposals; its admins set the rule
    _A.DELIBERATE: _STAFF,
    _A.SET_DELIBERATION_RULE: _ADMIN,
    # weak organisations
    _A.RECTIFY: _ADMIN,
    _A.RECORD_RECTIFICATION: _STAFF,
    # committees
    _A.MANAGE_COMMITTEE: _ADMIN,
    _A.RECORD_THREE_PARTY: _STAFF,
    # funds and service lists
    _A.MANAGE_FUNDS: _ADMIN,
    _A.APPROVE_SPENDING: _ADMIN,  # and above the community only, not the recorder (domain/funds.py)
    _A.MANAGE_CATALOGUE: _STAFF,
}
# What a member may do to their own member record, whatever their role.
SELF_ACTIONS = frozenset({_A.VIEW, _A.VIEW_OWN_RECORD, _A.DUAL_REGISTER})


def is_self(principal: Principal, record: Any) -> bool:
    """The record is the principal's own member record."""
    return (
        principal.member is not None
        and getattr(record, "aggregate_name", "") == "member"
        and record.id == principal.member
    )


def authorize(principal: Principal, action: Action, record: Any, path: Sequence[str] | None = None) -> None:
    """Raise Forbidden unless the principal's role may do `action` and the record's region
    path (or `path`, e.g. the receiving side of a transfer) is in the principal's scope."""
    if principal.unrestricted:
        return
    if action in SELF_ACTIONS and is_self(principal, record):
        return
    if principal.role not in PERMISSIONS[action]:
        raise Forbidden(f"role {principal.role} may not {action}", {"role": str(principal.role), "action": str(action)})
    target = tuple(path) if path is not None else record.scope_path
    if not principal.can_see_path(target):
        raise Forbidden(
            f"{getattr(record, 'aggregate_name', 'record')} {record.id} is outside your scope",
            {"id": record.id, "action": str(action)},
        )


def is_allowed(principal: Principal, action: Action, record: Any, path: Sequence[str] | None = None) -> bool:
    try:
        authorize(principal, action, record, path)
    except Forbidden:
        return False
    return True


# -- who sees which record ---------------------------------------------------------------------
def _no_scope(p: Principal) -> Scope:
    return NOTHING


SCOPE = ScopeRule(
    fields={"path": lambda r: r.scope_path}, replace={r: _no_scope for r in Role if r not in PERMISSIONS[Action.VIEW]}
)
"""Party records are staff's: an admin or operator sees the records of their region's subtree
(by `scope_path`, stored as `path`); other roles see none by scope (a member's own record is
theirs all the same: `visible`). Lists filter by it (`TerritoryReplica.within`)."""

RECEIVING = ScopeRule(path="to_path", fields={"to_path": lambda r: getattr(r, "to_path", None)}, replace=SCOPE.replace)
"""A transfer is also seen by the staff of its receiving side (`to_path`, stored so)."""


def visible(principal: Principal, record: Any) -> bool:
    """Whether `principal` may see `record`: staff in scope (a transfer: on either side), or
    the member themself."""
    if SCOPE.admits(principal, record) or is_self(principal, record):
        return True
    return getattr(record, "aggregate_name", "") == "transfer" and RECEIVING.admits(principal, record)
