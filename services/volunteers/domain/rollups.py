"""Region figures as pure functions of record state.

`counters_of(record)` is what one record (volunteer, team, post, order, task, activity or
ledger entry) contributes to every region on its path. A command's delta is
`counters_of(after) − counters_of(before)`, applied with `$inc` to every ancestor, so the
live counters always equal `recount(all records)`. Hours are in tenths (integers).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared import domain as shared_domain
from shared.trends import Kind, Metric
from shared.vocabulary.volunteers import COUNTER_DEFINITIONS

from .enums import ACTIVE_ORDER_STATUSES, DONE_ORDER_STATUSES, PostStatus, SourceKind, TargetKind

COUNTER_KEYS: tuple[str, ...] = tuple(COUNTER_DEFINITIONS)


def counters_of(record: Any) -> dict[str, int]:
    """Every key present; dispatch on the record's `kind` (ledger entries have none)."""
    from .points import LedgerEntry

    c = dict.fromkeys(COUNTER_KEYS, 0)
    if isinstance(record, LedgerEntry) and record.resident:  # residents' points
        k = record.source_kind
        if k.is_credit:
            c["resident_points_awarded"] = record.delta
            c["residents_with_points"] = int(record.first_here)
        elif k is SourceKind.REDEMPTION:
            c["resident_points_redeemed"] = -record.delta
        else:
            c["resident_points_expired"] = -record.delta
        return c
    if isinstance(record, LedgerEntry):
        k = record.source_kind
        if k.is_credit:
            c["points_issued"] = record.delta
        elif k is SourceKind.REDEMPTION:
            c["points_redeemed"] = -record.delta
        else:
            c["points_expired"] = -record.delta
        return c
    kind = record.kind
    if kind == "volunteer":
        c["volunteers"] = 1
    elif kind == "team":
        c["teams"] = 1
    elif kind == "post":
        active = record.status is PostStatus.ACTIVE
        c["active_posts"] = int(active)
        c["claimed_posts"] = int(active and record.claimed_count > 0)
    elif kind == "order":
        c["open_orders"] = int(record.status in ACTIVE_ORDER_STATUSES)
        done = record.status in DONE_ORDER_STATUSES
        c["completed_orders"] = int(done)
        unit = record.target is not None and record.target.kind is TargetKind.UNIT
        # a unit's hours are not volunteer service hours
        c["service_hours_tenths"] = record.hours_tenths if done and not unit else 0
        c["unit_orders_open"] = int(unit and record.status in ACTIVE_ORDER_STATUSES)
        c["unit_orders_completed"] = int(unit and done)
    elif kind == "task":
        c["service_hours_tenths"] = record.hours_tenths
    elif kind == "activity":
        c["service_hours_tenths"] = sum(a.hours_tenths for a in record.signups)
    return c


class RollupDelta(shared_domain.RollupDelta):
    """A command's delta (`between(before, after)`): what differs from any record is what a
    volunteers record contributes."""

    what = "record"

    @classmethod
    def counters(cls, record: Any) -> dict[str, int]:
        return counters_of(record)


def recount(records: Iterable[Any]) -> dict[str, dict[str, int]]:
    """Rollups from scratch: region id -> non-zero counters."""
    return RollupDelta.recount(records)


# What `trend(metric)` reads from the day buckets (shared/trends).
TREND_METRICS: dict[str, Metric] = {
    "service_hours": Metric(
        Kind.FLOW, ("service_hours_tenths",), scale=0.1, description="Service hours credited in the interval."
    ),
    "completed_orders": Metric(
        Kind.FLOW, ("completed_orders",), description="Service orders completed in the interval."
    ),
    "points_issued": Metric(Kind.FLOW, ("points_issued",), description="Points credited in the interval."),
    "volunteers": Metric(Kind.STOCK, ("volunteers",), description="Registered volunteers at the end of the interval."),
    "open_orders": Metric(Kind.STOCK, ("open_orders",), description="Open service orders at the end of the interval."),
    # residents' points
    "resident_points_awarded": Metric(
        Kind.FLOW, ("resident_points_awarded",), description="Points awarded to residents in the interval."
    ),
}
