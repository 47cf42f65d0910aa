"""Role assignments: who holds which role where, kept in the platform, so a government SSO token
that carries only `sub` signs its bearer in with the role an administrator gave them.

One assignment per person (`sub`): assigning again replaces it (the event says what it was).
Every assignment names a region: the scope of a regional role, the home region of a resident,
the top of the territory for a superadmin. Pure rules; the handler reads the region and the
existing assignment and records the event (the audit trail: who, what, when)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.auth import REGIONAL_ROLES, Principal, Role, assignment_claims
from shared.errors import BadInput, Forbidden

from .regions import Level

# A role's region must be of this level (the others: any level in the assigner's subtree).
ROLE_LEVEL: dict[Role, Level] = {Role.GRID_WORKER: Level.GRID, Role.BUILDING_LEADER: Level.BUILDING}
ASSIGNERS = frozenset({Role.SUPERADMIN, Role.ADMIN, Role.SERVICE})
MAX_SUB = 128


@dataclass(frozen=True)
class Assignment:
    sub: str
    role: Role
    region_id: str
    path: tuple[str, ...]
    dept: str | None = None
    member: str | None = None

    def claims(self) -> dict[str, str]:
        """The claims a token would carry for it (`shared.auth.principal_of` reads them)."""
        return assignment_claims(self.role, self.region_id, self.dept, self.member)

    def held_by(self, stored: Mapping[str, Any] | None) -> bool:
        """The active assignment stored is this one: assigning it again changes nothing (no
        version, no event), so a role given twice (an import run again) is not a change."""
        return stored is not None and (
            stored["role"],
            stored["regionId"],
            stored.get("dept"),
            stored.get("member"),
        ) == (
            str(self.role),
            self.region_id,
            self.dept,
            self.member,
        )


def parse_role(value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role if r is not Role.SERVICE)
        raise BadInput(f"unknown role {value!r}; one of {names}", {"field": "role"}) from None
    if role is Role.SERVICE:
        raise BadInput("the service role belongs to the platform's own processes, not to people", {"field": "role"})
    return role


def check_may_assign(by: Principal, a: Assignment, level: str) -> None:
    """`by` may give `a` (its region already known to lie in their scope, `level` its level)."""
    if by.role not in ASSIGNERS:
        raise Forbidden(f"role {by.role} may not assign roles", {"role": str(by.role)})
    if a.sub == by.sub:
        raise Forbidden("nobody assigns their own role; ask another administrator")
    if a.role is Role.SUPERADMIN:
        if not by.unrestricted:
            raise Forbidden("only a superadmin makes another superadmin")
        if len(a.path) != 1:
            raise BadInput("a superadmin's region is the top of the territory", {"field": "regionId"})
    want = ROLE_LEVEL.get(a.role)
    if want is not None and level != want:
        raise BadInput(f"a {a.role} works in a {want.value}, not a {level}", {"field": "regionId"})
    if a.role is Role.DEPARTMENT and not a.dept:
        raise BadInput("a department user needs the department's code (`dept`)", {"field": "dept"})
    if a.dept and a.role is not Role.DEPARTMENT:
        raise BadInput("only a department user has a department code", {"field": "dept"})
    if a.member and a.role is not Role.VOLUNTEER:
        raise BadInput("only a volunteer is tied to a member record", {"field": "member"})
    if a.role in REGIONAL_ROLES and not a.region_id:
        raise BadInput(f"a {a.role} needs a region", {"field": "regionId"})


def check_may_change(by: Principal, sub: str, existing_path: tuple[str, ...] | None) -> None:
    """`by` may replace or revoke the assignment of `sub` (its region at `existing_path`): only
    from inside their own subtree, never their own."""
    if by.role not in ASSIGNERS:
        raise Forbidden(f"role {by.role} may not change role assignments", {"role": str(by.role)})
    if sub == by.sub:
        raise Forbidden("nobody changes their own role; ask another administrator")
    if existing_path is not None and not by.can_see_path(list(existing_path)):
        raise Forbidden(f"the role of {sub} was given outside your region; its administrators change it")
