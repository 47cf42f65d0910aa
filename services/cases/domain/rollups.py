"""Region figures as pure functions of case state.

`counters_of(case)` is what one case contributes to the counters of each region on its path.
A command's rollup delta is `counters_of(after) - counters_of(before)`, applied with `$inc`
to every ancestor; so the live counters always equal `recount(all cases)`, and a replay of
the event log (each event carries the case's `counters`) can prove it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from shared import domain as shared_domain
from shared.domain import ratio
from shared.trends import Kind, Metric
from shared.vocabulary.cases import COUNTER_DEFINITIONS, FENGQIAO_LEVELS, PROPERTY_DISPUTE_CATEGORIES, SATISFIED_FROM

from .enums import OPEN_STATUSES, CaseStatus
from .followup import SATISFIED_VISITS
from .handling import dept_counters

if TYPE_CHECKING:
    from .model import Case


COUNTER_KEYS: tuple[str, ...] = tuple(COUNTER_DEFINITIONS)


def counters_of(case: Case) -> dict[str, int]:
    """The counters (0 or 1 each, every key present) that `case` contributes to each region
    on its path, given its current state."""
    c = dict.fromkeys(COUNTER_KEYS, 0)
    c["total"] = 1
    if case.merged_into is not None:
        c["merged"] = 1
        c.update(dept_counters(case))
        return c
    is_open = case.status in OPEN_STATUSES
    c["open"] = int(is_open)
    c["awaiting_rating"] = int(case.status is CaseStatus.RESOLVED)
    c["overdue"] = int(is_open and case.overdue)
    c["closed"] = int(case.status is CaseStatus.CLOSED)
    c["rejected"] = int(case.status is CaseStatus.REJECTED)
    c["responded"] = int(case.accepted_at is not None)
    if case.resolved_at is not None and case.resolved_at_level is not None:
        c["resolved"] = 1
        c[f"resolved_by_level.{case.resolved_at_level}"] = 1
        c["resolved_on_time"] = int(bool(case.resolved_on_time))
    if case.rating is not None:
        c["rated"] = 1
        c["satisfied"] = int(case.rating >= SATISFIED_FROM)
    _followup_counters(case, c)
    c.update(dept_counters(case))  # departments: each handler's figures, `dept.<key>.<counter>`
    if case.category_code in PROPERTY_DISPUTE_CATEGORIES:  # committees: disputes per estate
        c["property_disputes"], c["property_disputes_open"] = 1, c["open"]
    return c


def _followup_counters(case: Case, c: dict[str, int]) -> None:
    """Verification, return visits, handling counts and the evaluations by channel (see
    COUNTER_DEFINITIONS)."""
    c["awaiting_verification"] = int(case.status is CaseStatus.RESOLVED and case.verification_due)
    c["verified"] = int(bool(case.verifications))
    c["reworked"] = int(case.rework_count > 0)
    reached = [v for v in case.return_visits if v.reached]
    c["visited"] = len(reached)
    c["visit_satisfied"] = sum(1 for v in reached if v.satisfaction in SATISFIED_VISITS)
    c["return_visit_pending"] = int(case.return_visit_due_at is not None)
    c["return_visit_overdue"] = int(case.return_visit_due_at is not None and case.return_visit_overdue)
    c["dispatched"] = int(case.ever_assigned or case.returns > 0)
    c["returned"] = int(case.returns > 0)
    c["returns"] = case.returns
    c["extensions"] = case.extensions
    c["urges"] = case.urge_count
    c["corrected"] = int(case.corrections > 0)
    ch = str(case.channel)
    c[f"evaluated_by_channel.{ch}"] = c["rated"] + c["visited"]
    c[f"satisfied_by_channel.{ch}"] = c["satisfied"] + c["visit_satisfied"]


class RollupDelta(shared_domain.RollupDelta):
    """A case command's delta (`between(before, after)`): what differs from any record is
    what a case contributes."""

    what = "case"

    @classmethod
    def counters(cls, record: Case) -> dict[str, int]:
        return counters_of(record)


def recount(cases: Iterable[Case]) -> dict[str, dict[str, int]]:
    """Rollups computed from scratch: region id -> non-zero counters (the grid's path and, for a
    case with a building, that building: `Case.scope_path`, as the projection counts it)."""
    return shared_domain.recount(cases, lambda c: c.scope_path, counters_of)


def rates(counters: Mapping[str, int]) -> dict[str, float | None]:
    """The 三率 and the Fengqiao share of one region's counters (see RATE_DEFINITIONS);
    None where the denominator is 0."""
    g = counters.get
    low = sum(g(f"resolved_by_level.{lvl}", 0) for lvl in FENGQIAO_LEVELS)
    return {
        "response_rate": ratio(g("responded", 0), g("total", 0) - g("merged", 0)),
        "resolution_rate": ratio(g("resolved", 0), g("total", 0) - g("merged", 0) - g("rejected", 0)),
        "satisfaction_rate": ratio(g("satisfied", 0) + g("visit_satisfied", 0), g("rated", 0) + g("visited", 0)),
        "on_time_rate": ratio(g("resolved_on_time", 0), g("resolved", 0)),
        "return_rate": ratio(g("returned", 0), g("dispatched", 0)),
        "rework_rate": ratio(g("reworked", 0), g("verified", 0)),
        "fengqiao_share": ratio(low, g("resolved", 0)),
    }


# What `trend(metric)` reads from the day buckets (shared/trends): flows sum the day changes
# of an interval, stocks are the value at its end, ratios divide two flows of the interval.
TREND_METRICS: dict[str, Metric] = {
    "reported": Metric(Kind.FLOW, ("total",), description="Cases reported in the interval, duplicates included."),
    "resolved": Metric(Kind.FLOW, ("resolved",), description="Cases resolved for the first time in the interval."),
    "closed": Metric(Kind.FLOW, ("closed",), description="Cases closed in the interval."),
    "rejected": Metric(Kind.FLOW, ("rejected",), description="Cases not accepted (不予受理) in the interval."),
    "open": Metric(Kind.STOCK, ("open",), description="Open cases at the end of the interval."),
    "overdue": Metric(Kind.STOCK, ("overdue",), description="Overdue open cases at the end of the interval."),
    "response_rate": Metric(
        Kind.RATIO,
        ("responded",),
        per=("total",),
        minus=("merged",),
        description="Responses given in the interval over cases reported in it.",
    ),
    "resolution_rate": Metric(
        Kind.RATIO,
        ("resolved",),
        per=("total",),
        minus=("merged", "rejected"),
        description="First resolutions in the interval over cases reported (and not merged or rejected) in it.",
    ),
    "on_time_rate": Metric(
        Kind.RATIO,
        ("resolved_on_time",),
        per=("resolved",),
        description="On-time resolutions among resolutions in the interval.",
    ),
    "satisfaction_rate": Metric(
        Kind.RATIO,
        ("satisfied", "visit_satisfied"),
        per=("rated", "visited"),
        description="Ratings of 4–5 and satisfied reached return visits among ratings and reached visits "
        "in the interval.",
    ),
    "fengqiao_share": Metric(
        Kind.RATIO,
        tuple(f"resolved_by_level.{lvl}" for lvl in FENGQIAO_LEVELS),
        per=("resolved",),
        description="Resolutions in the building, grid or community among resolutions in the interval.",
    ),
}
