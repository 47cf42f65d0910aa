"""A principal's cases for the day (myWork): the open cases waiting for the caller at its own
level, as filters an index answers (one status each: no `$in`), and their urgency. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.auth import Principal, Role
from shared.work import aware

from .enums import Action, AssigneeKind, CaseStatus, HandlingLevel
from .policy import PERMISSIONS, SCOPE

S = CaseStatus
TO_TAKE_ON = (S.REPORTED, S.ACCEPTED)  # to accept (受理), then to assign or start
IN_HAND = (S.ASSIGNED, S.IN_PROGRESS)  # assigned to the caller, or being handled by them


def level_of(region_level: str | None) -> HandlingLevel | None:
    """The handling level a region of this level handles at (a CITY handles at none)."""
    try:
        return HandlingLevel(region_level) if region_level else None
    except ValueError:
        return None


def own_kind(p: Principal) -> AssigneeKind | None:
    """The assignee kind a case assigned to the caller names (a grid worker's GRID_WORKER, a
    volunteer's VOLUNTEER, …); None for a role cases are not assigned to by person."""
    if p.role is Role.DEPARTMENT:
        return None  # a department's cases are found by its handler key (deptKeys)
    return AssigneeKind.__members__.get(p.role.name)


def work_filters(p: Principal, level: HandlingLevel | None) -> list[dict[str, Any]]:
    """The filters of the caller's day, each answered by one index of `store.INDEXES`:

    - the cases of the caller's scope (`SCOPE`: a grid worker's grid, a building's cases for its
      leader, a staff member's subtree) at the caller's own level, REPORTED or ACCEPTED, for a
      role that accepts cases (`PERMISSIONS[ACCEPT]`);
    - the cases assigned to the caller as a person (`assigneeKey`), ASSIGNED or IN_PROGRESS;
    - a department's cases (its `deptKeys` within its region), ASSIGNED or IN_PROGRESS.

    An unrestricted principal has no level or person of its own: nothing."""
    if p.unrestricted:
        return []
    out: list[dict[str, Any]] = []
    scope = SCOPE.of(p)
    if scope.empty:
        return []
    if level is not None and p.role in PERMISSIONS[Action.ACCEPT]:
        out += [{**scope.filter(), "level": str(level), "status": str(s)} for s in TO_TAKE_ON]
    kind = own_kind(p)
    if kind is not None:
        keys = dict.fromkeys(f"{kind}:{x}" for x in (p.sub, p.member) if x)
        out += [{"assigneeKey": k, "status": str(s)} for k in keys for s in IN_HAND]
    if p.role is Role.DEPARTMENT:
        out += [{**scope.filter(), "status": str(s)} for s in IN_HAND]
    return out


def due_of(doc: dict[str, Any], now: datetime) -> tuple[datetime | None, bool]:
    """A stored case's deadline and whether it is past (flagged by the sweeper, or passed
    since its last sweep)."""
    due = aware(doc.get("due_at"))
    return due, bool(doc.get("overdue")) or (due is not None and due < now)
