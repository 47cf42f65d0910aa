"""Visits (走访): where and when a visit may be recorded, a household's visiting state and what it
adds to the rollups, what is due, coverage, and the recount of the visit counters. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from shared.errors import BadInput

from .visit_rules import VisitRule, next_due, rule_name, schedule_of

MAX_FINDINGS = 2000
MAX_OVERRIDE = 200
FUTURE_SKEW = timedelta(minutes=5)  # a phone's clock a little ahead
MAX_AGE = timedelta(days=30)  # a visit is recorded within a month of it (imports excepted)
MAX_ATTACHMENTS = 9
VISIT_COUNTERS = ("mustVisitCount", "overdueVisits", "visitCount")
# The fields of a household that VISITS alone writes.
STATE_FIELDS = ("mustVisit", "visitRule", "nextVisitDue", "visitOverdue")


def check_at(at: datetime, now: datetime, max_age: timedelta = MAX_AGE) -> datetime:
    if at > now + FUTURE_SKEW:
        raise BadInput("a visit's time `at` lies in the future")
    if at < now - max_age:
        raise BadInput(f"a visit is recorded within {max_age.days} days of it; `at` is older")
    return at


def check_findings(findings: str | None) -> str | None:
    if findings is None or not findings.strip():
        return None
    if len(findings) > MAX_FINDINGS:
        raise BadInput(f"findings: at most {MAX_FINDINGS} characters")
    return findings.strip()


def check_place(
    located_grid: str | None, grid_id: str, has_point: bool, override_reason: str | None
) -> tuple[bool, str | None]:
    """(flagged, reason): a visit whose place lies in the household's (or building's) grid is
    plain; one elsewhere, or with no place, needs an override reason and is flagged."""
    reason = (override_reason or "").strip() or None
    if reason is not None and len(reason) > MAX_OVERRIDE:
        raise BadInput(f"overrideReason: at most {MAX_OVERRIDE} characters")
    if has_point and located_grid == grid_id:
        return False, None
    if reason is None:
        where = "no place was given" if not has_point else "the place given lies outside the grid"
        raise BadInput(
            f"{where}: a visit is recorded where it happens, inside grid {grid_id}; "
            "give lng/lat there, or an overrideReason (the visit is then flagged)",
            {"gridId": grid_id, "locatedGridId": located_grid},
        )
    return True, reason


def state_of(h: dict, rules: Sequence[VisitRule], at: datetime) -> dict:
    """The visiting fields a household should hold now: its rule and next due time from its tags
    (none once moved out); overdue stays set only while still past due (the sweeper sets it, so
    each household's VISIT_OVERDUE is raised once)."""
    moved = h.get("movedOutAt") is not None
    sched = None if moved else schedule_of(h.get("tags") or [], rules)
    due = next_due(sched, h.get("lastVisitAt"), h.get("registeredAt") or at)
    return {
        "mustVisit": sched is not None,
        "visitRule": sched.rule if sched else None,
        "nextVisitDue": due,
        "visitOverdue": bool(h.get("visitOverdue")) and due is not None and due <= at,
    }


def counters_of_state(state: dict) -> Counter:
    """What one household's visiting state adds to its path's rollups."""
    c: Counter = Counter()
    if state.get("mustVisit"):
        c["mustVisitCount"] = 1
    if state.get("mustVisit") and state.get("visitOverdue"):
        c["overdueVisits"] = 1
    return c


def state_delta(before: dict, after: dict) -> Counter:
    """The rollup change of a household going from one visiting state to another (may be negative)."""
    delta = Counter(counters_of_state(after))
    delta.subtract(counters_of_state(before))
    return Counter({k: v for k, v in delta.items() if v})


def changed(before: dict, after: dict) -> bool:
    """Whether the stored state differs (a household never scheduled holds none: as no schedule)."""
    return any((before.get(k) or None) != (after.get(k) or None) for k in STATE_FIELDS)


def now_overdue(h: dict, at: datetime) -> bool:
    """The sweeper's test: a must-visit household past due and not yet marked."""
    due = h.get("nextVisitDue")
    return bool(h.get("mustVisit")) and due is not None and due < at and not h.get("visitOverdue")


def visit_due(h: dict, rules: Sequence[VisitRule], at: datetime) -> dict:
    """A household's due visit as `visitPlan` and `myWork` show it (the VisitDue DTO)."""
    due = h["nextVisitDue"]
    code = h.get("visitRule") or ""
    return {
        "householdId": h["_id"],
        "buildingId": h["buildingId"],
        "gridId": h["gridId"],
        "rule": code,
        "ruleName": rule_name(code, rules),
        "dueAt": due,
        "overdue": bool(h.get("visitOverdue")) or due < at,
    }


def coverage(must_visit: int, overdue: int) -> float | None:
    """Visit coverage: the share of must-visit households visited on time; None when there are none."""
    if must_visit <= 0:
        return None
    return max(0.0, min(1.0, (must_visit - overdue) / must_visit))


def recount(households: Iterable[dict], visits: Iterable[dict]) -> dict[str, Counter]:
    """The visit counters from the records, per region node on each record's path: must-visit and
    overdue households (not moved out) from their stored state, every visit for `visitCount`."""
    totals: dict[str, Counter] = {}
    for h in households:
        if h.get("movedOutAt") is not None:
            continue
        c = counters_of_state(h)
        if c:
            for node in h["path"]:
                totals.setdefault(node, Counter()).update(c)
    for v in visits:
        for node in v["path"]:
            totals.setdefault(node, Counter())["visitCount"] += 1
    return totals
