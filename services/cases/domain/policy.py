"""Who may do what to which case, who sees which case (`SCOPE`, the kernel's rule of
shared/scope, for single reads and lists alike), and who may see a reporter's phone (API.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.auth import Principal, Role, hidden
from shared.errors import BadInput, Forbidden
from shared.scope import Eq, In, Scope, ScopeRule

from .enums import Action, AssigneeKind

if TYPE_CHECKING:
    from .model import Case
    from .values import Reporter

# The actor of what the service does by itself (SLA sweeper, auto-close).
SYSTEM = Principal(sub="system:cases", role=Role.SERVICE)

_R = Role
# Roles allowed per action; superadmin and service may do everything. Scope is checked apart.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.VIEW: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER, _R.DEPARTMENT, _R.VOLUNTEER, _R.RESIDENT}),
    Action.REPORT: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER, _R.RESIDENT}),
    Action.ACCEPT: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER}),
    Action.ASSIGN: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.START: frozenset({_R.GRID_WORKER, _R.DEPARTMENT, _R.VOLUNTEER}),
    Action.RESOLVE: frozenset({_R.GRID_WORKER, _R.DEPARTMENT, _R.VOLUNTEER}),
    Action.ESCALATE: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER}),
    Action.REJECT: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.RETURN: frozenset({_R.DEPARTMENT}),
    Action.RATE: frozenset({_R.RESIDENT}),
    Action.CLOSE: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.MERGE: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.REVEAL_CONTACT: frozenset({_R.ADMIN}),
    # follow-up: 核查, 回访 and corrections by the centre's staff; comments by anyone who sees the case
    Action.VERIFY: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.RETURN_VISIT: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.CORRECT: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.COMMENT: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER, _R.DEPARTMENT, _R.VOLUNTEER, _R.RESIDENT}),
    # departments
    Action.DISPATCH: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.REPLY: frozenset({_R.DEPARTMENT}),
    Action.REQUEST: frozenset({_R.DEPARTMENT, _R.ADMIN, _R.OPERATOR}),
    Action.DECIDE: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.RESUME: frozenset({_R.DEPARTMENT, _R.ADMIN, _R.OPERATOR}),
    Action.URGE: frozenset({_R.ADMIN, _R.OPERATOR}),
}
# A department on a case may act on it as its handler only when it is the assignee (主办).
ASSIGNEE_ACTIONS = frozenset({Action.START, Action.RESOLVE, Action.RETURN})


def is_assignee(principal: Principal, case: Case) -> bool:
    """The principal is the case's current assignee (by sub, department code or member id)."""
    a = case.assignee
    if a is None:
        return False
    if principal.role is Role.GRID_WORKER:
        return a.kind is AssigneeKind.GRID_WORKER and a.id == principal.sub
    if principal.role is Role.DEPARTMENT:
        lead = case.lead  # dispatched: the lead of the directory, by region and code
        if lead is not None:
            return f"{principal.region}:{principal.dept}" == lead.key
        return a.kind is AssigneeKind.DEPARTMENT and a.id == principal.dept
    if principal.role is Role.VOLUNTEER:
        return a.kind is AssigneeKind.VOLUNTEER and a.id in {principal.member, principal.sub}
    return False


def _volunteer_keys(p: Principal) -> Scope:
    return In("assigneeKey", [f"VOLUNTEER:{x}" for x in (p.member, p.sub) if x])


SCOPE = ScopeRule(
    fields={
        "path": lambda c: c.region_path,
        "region_id": lambda c: c.region_id,
        "assigneeKey": lambda c: c.assignee_key,
        "reporterSubs": lambda c: c.reporter_subs,
        "deptKeys": lambda c: c.dept_keys,
    },
    narrow={Role.DEPARTMENT: lambda p: Eq("deptKeys", f"{p.region}:{p.dept}"), Role.VOLUNTEER: _volunteer_keys},
    replace={Role.GRID_WORKER: lambda p: Eq("region_id", p.region), Role.RESIDENT: lambda p: Eq("reporterSubs", p.sub)},
)
"""THE scope rule of cases, for single reads (`SCOPE.admits`), actions (`authorize`) and lists
(`list_scope`) alike: the subtree for staff, the grid for its worker, for a department the
cases it handles within its region (主办 or 协办, `deptKeys`: `<region>:<code>` of each, see
domain/handling.py), for volunteers their assignment (by member id or sub), their own reports
for residents. It reads the fields `store.case_doc` writes (`path`, `region_id`, `assigneeKey`,
`reporterSubs`, `deptKeys`)."""


def authorize(principal: Principal, action: Action, case: Case) -> None:
    """Raise Forbidden unless the principal's role may do `action` and `case` is in scope."""
    if not principal.unrestricted and principal.role not in PERMISSIONS[action]:
        raise Forbidden(
            f"role {principal.role} may not {action} cases", {"role": str(principal.role), "action": str(action)}
        )
    if not SCOPE.admits(principal, case):
        raise Forbidden(f"case {case.id} is outside your scope", {"caseId": case.id, "action": str(action)})
    if principal.role is Role.DEPARTMENT and action in ASSIGNEE_ACTIONS and not is_assignee(principal, case):
        raise Forbidden(f"only the department case {case.id} is assigned to may {action} it", {"action": str(action)})


def check_may_report(principal: Principal, channel: str | None = None) -> None:
    """Who may report a case, and how: the roles of `PERMISSIONS[REPORT]` (and superadmin); a
    service only as a joint meeting's action item. `channel` None: the role alone (before the
    request is read)."""
    if not (principal.unrestricted or principal.role in PERMISSIONS[Action.REPORT]):
        raise Forbidden(f"role {principal.role} may not report cases", {"role": str(principal.role)})
    if channel is not None and principal.role is Role.SERVICE and channel not in SERVICE_CHANNELS:
        raise BadInput("services report cases only as JOINT_MEETING action items or GRID_PATROL visit findings")


# visits: grids reports a visit's finding (reportFromVisit) on GRID_PATROL, naming the visit
SERVICE_CHANNELS = ("JOINT_MEETING", "GRID_PATROL")


def check_visit_source(principal: Principal, channel: str, source_visit_id: str | None) -> None:
    """Only a service (grids' visit.report) names the visit a case comes from, and a service's
    GRID_PATROL case always comes from one."""
    if source_visit_id is not None and principal.role is not Role.SERVICE:
        raise Forbidden("only the visit itself (reportFromVisit) names the visit a case comes from")
    if principal.role is Role.SERVICE and channel == "GRID_PATROL" and source_visit_id is None:
        raise BadInput("a service reports a GRID_PATROL case only from a visit (sourceVisitId)")


def assignee_keys(principal: Principal) -> list[str]:
    """The `assigneeKey`s under which a case is assigned to the principal ("my cases")."""
    keys = [f"GRID_WORKER:{principal.sub}", f"VOLUNTEER:{principal.sub}"]
    if principal.member:
        keys.append(f"VOLUNTEER:{principal.member}")
    if principal.dept:
        keys.append(f"DEPARTMENT:{principal.dept}")
    return keys


def list_scope(p: Principal, region_id: str | None = None, region_path: Sequence[str] | None = None) -> dict[str, Any]:
    """The filter of a case list: `SCOPE` of `p`, within the subtree of `region_id` when one is
    asked for (`region_path`: its path, None if it is not known). A region unknown or outside a
    regional caller's scope is refused like a missing one (a resident's own reports stay theirs
    wherever they are, so any known region narrows them)."""
    if region_id and (region_path is None or (p.role is not Role.RESIDENT and not p.can_see_path(region_path))):
        raise hidden(p, f"region {region_id}")
    return SCOPE.filter(p, region_id)


def is_allowed(principal: Principal, action: Action, case: Case) -> bool:
    try:
        authorize(principal, action, case)
    except Forbidden:
        return False
    return True


def may_see_contact(principal: Principal, case: Case, reporter: Reporter | None = None) -> bool:
    """Whether `reporter`'s phone (default: the first reporter's) is shown unmasked: to that
    reporter themself, a grid worker of the case's grid, and the current assignee. Admins
    see it only through revealReporterContact, which is audited."""
    reporter = reporter or case.reporters[0]
    if principal.role is Role.RESIDENT:
        return reporter.sub is not None and reporter.sub == principal.sub
    if principal.role is Role.GRID_WORKER and principal.region == case.region_id:
        return True
    return is_assignee(principal, case)


def mask_phone(phone: str) -> str:
    """`13812345678` -> `138****5678`: keep the first 3 and last 4 characters; a number
    shorter than 8 keeps only its last 2, and one of 2 or fewer is masked entirely."""
    p = "".join(ch for ch in phone if ch not in " -")
    n = len(p)
    if n >= 8:
        return p[:3] + "*" * (n - 7) + p[-4:]
    if n > 2:
        return "*" * (n - 2) + p[-2:]
    return "*" * n
