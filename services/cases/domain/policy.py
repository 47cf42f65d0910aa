"""Who may do what to which case, who sees which case (`SCOPE`, the kernel's rule of
shared/scope, for single reads and lists alike), and who may see a reporter's phone (API.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shared.auth import Principal, Role, hidden
from shared.errors import BadInput, Forbidden
from shared.records import flat_and
from shared.scope import NOTHING, Eq, In, Scope, ScopeRule

from .enums import Action, AssigneeKind, HandlingLevel

if TYPE_CHECKING:
    from .model import Case
    from .values import Reporter

# The actor of what the service does by itself (SLA sweeper, auto-close).
SYSTEM = Principal(sub="system:cases", role=Role.SERVICE)

_R = Role
_BL = Role.BUILDING_LEADER  # building: 楼栋长 / 党员中心户
# Roles allowed per action; superadmin and service may do everything. Scope is checked apart.
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.VIEW: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER, _R.DEPARTMENT, _R.VOLUNTEER, _R.RESIDENT, _BL}),
    Action.REPORT: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER, _R.RESIDENT, _BL}),
    Action.ACCEPT: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER, _BL}),
    Action.ASSIGN: frozenset({_R.ADMIN, _R.OPERATOR}),
    Action.START: frozenset({_R.GRID_WORKER, _R.DEPARTMENT, _R.VOLUNTEER, _BL}),
    Action.RESOLVE: frozenset({_R.GRID_WORKER, _R.DEPARTMENT, _R.VOLUNTEER, _BL}),
    Action.ESCALATE: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER, _BL}),
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
    Action.COMMENT: frozenset({_R.ADMIN, _R.OPERATOR, _R.GRID_WORKER, _R.DEPARTMENT, _R.VOLUNTEER, _R.RESIDENT, _BL}),
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
# building: what a building leader does to a case of its building while it is at BUILDING level
# (seeing and commenting on it at any level; after an escalation it is the grid's)
BUILDING_ACTIONS = frozenset({Action.ACCEPT, Action.START, Action.RESOLVE, Action.ESCALATE})


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
    if principal.role is Role.BUILDING_LEADER:
        return a.kind is AssigneeKind.BUILDING_LEADER and a.id == principal.sub
    return False


def _volunteer_keys(p: Principal) -> Scope:
    return In("assigneeKey", [f"VOLUNTEER:{x}" for x in (p.member, p.sub) if x])


def _building_of(p: Principal) -> Scope:
    """A building leader's cases: those of its building (none without one: a case without a
    building must never match a missing region)."""
    return Eq("buildingId", p.region) if p.region else NOTHING


SCOPE = ScopeRule(
    fields={
        "path": lambda c: c.scope_path,
        "region_id": lambda c: c.region_id,
        "assigneeKey": lambda c: c.assignee_key,
        "reporterSubs": lambda c: c.reporter_subs,
        "deptKeys": lambda c: c.dept_keys,
        "buildingId": lambda c: c.building_id,
    },
    narrow={Role.DEPARTMENT: lambda p: Eq("deptKeys", f"{p.region}:{p.dept}"), Role.VOLUNTEER: _volunteer_keys},
    replace={
        Role.GRID_WORKER: lambda p: Eq("region_id", p.region),
        Role.RESIDENT: lambda p: Eq("reporterSubs", p.sub),
        Role.BUILDING_LEADER: _building_of,  # building
    },
)
"""THE scope rule of cases, for single reads (`SCOPE.admits`), actions (`authorize`) and lists
(`list_scope`) alike: the subtree for staff, the grid for its worker, the building for its
leader (楼栋长, the cases whose `buildingId` is theirs), for a department the
cases it handles within its region (主办 or 协办, `deptKeys`: `<region>:<code>` of each, see
domain/handling.py), for volunteers their assignment (by member id or sub), their own reports
for residents. It reads the fields `store.case_doc` writes (`path`: the grid's path and the
case's building, `region_id`, `assigneeKey`, `reporterSubs`, `deptKeys`, `buildingId`)."""


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
    if principal.role is Role.BUILDING_LEADER and action in BUILDING_ACTIONS:
        check_building_level(principal, action, case)


def check_building_level(principal: Principal, action: Action | str, case: Case) -> None:
    """building: a building leader handles a case of its building only at BUILDING level, and
    one assigned to someone else not at all (the grid, or the person the centre chose, has it)."""
    if case.level is not HandlingLevel.BUILDING:
        raise Forbidden(
            f"case {case.id} is handled at {case.level} level; a building leader may {action} cases at BUILDING level",
            {"action": str(action), "level": str(case.level)},
        )
    if case.assignee is not None and not is_assignee(principal, case):
        raise Forbidden(
            f"case {case.id} is assigned to {case.assignee.kind} {case.assignee.id}", {"action": str(action)}
        )


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
    if principal.role is Role.BUILDING_LEADER:  # building
        keys.append(f"BUILDING_LEADER:{principal.sub}")
    if principal.member:
        keys.append(f"VOLUNTEER:{principal.member}")
    if principal.dept:
        keys.append(f"DEPARTMENT:{principal.dept}")
    return keys


SINGLE = frozenset({"assigneeKey"})  # a case has one assignee


def mine_parts(p: Principal, query: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ "My cases" within `query`: what `p` reported or what is assigned to them under one of
    their `assignee_keys`, as one flat query per part (the embedded store reads the whole
    collection for an `$or`), and the queries of the cases two parts share (a report of their
    own assigned to them: a case has one assignee, so only the reporter part overlaps another).
    A scope that already names one of those fields narrows the part, or rules it out."""
    keys = assignee_keys(p)
    parts = [narrowed(query, {"reporterSubs": p.sub}), *(narrowed(query, {"assigneeKey": k}) for k in keys)]
    both = [narrowed(query, {"reporterSubs": p.sub, "assigneeKey": k}) for k in keys]
    return [q for q in parts if q is not None], [q for q in both if q is not None]


def narrowed(query: dict[str, Any], equal: dict[str, Any], single: frozenset[str] = SINGLE) -> dict[str, Any] | None:
    """`query` and fields equal to values, as a flat query where it can be; None when nothing
    can match. A field already equal to the value, or an `$in` holding it, takes the value; a
    field of one value per case (`single`: not a list like `reporterSubs`) asked for another
    value, or an `$in` without it, matches nothing."""
    out = dict(query)
    for field, value in equal.items():
        held = out.get(field)
        if field not in out or held == value:
            out[field] = value
        elif isinstance(held, dict) and list(held) == ["$in"] and value in held["$in"]:
            out[field] = value
        elif field in single and (not isinstance(held, dict) or list(held) == ["$in"]):
            return None
        else:
            out = flat_and(out, {field: value})
    return out


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
    see it only through revealReporterContact, which is audited. A building leader sees the
    phones of its building's cases while they are at BUILDING level (its to settle)."""
    reporter = reporter or case.reporters[0]
    if principal.role is Role.RESIDENT:
        return reporter.sub is not None and reporter.sub == principal.sub
    if principal.role is Role.GRID_WORKER and principal.region == case.region_id:
        return True
    if principal.role is Role.BUILDING_LEADER and principal.region == case.building_id:
        return case.level is HandlingLevel.BUILDING  # building: while it is theirs to settle
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
