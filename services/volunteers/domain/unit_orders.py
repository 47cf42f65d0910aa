"""Units take service orders (相关单位接单, seed 000): where a co-building unit may serve an order,
and the figures of orders per unit (counters keyed by the unit's id, kept with the order's writes
like the region rollups, and equal to `unit_recount` of the orders)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from shared import domain as shared_domain
from shared.errors import BadInput

from .enums import ACTIVE_ORDER_STATUSES, DONE_ORDER_STATUSES, TargetKind

UNIT_COUNTERS = ("orders", "open", "completed", "hours_tenths", "rated", "rating_sum")


def require_unit_in_area(
    order_path: Sequence[str], community_path: Sequence[str], unit_id: str, unit_path: Sequence[str]
) -> None:
    """A unit serves the orders of the community it sits in (or below it), and a 驻区单位 of the
    street or township directly above the community serves that community's orders too (the area
    a 大党委's member units come from, domain/units.py `committee_area` at organizations)."""
    community = community_path[-1]
    township = community_path[-2] if len(community_path) > 1 else None
    here = community in unit_path or (township is not None and tuple(unit_path) == tuple(community_path[:-1]))
    if not here:
        raise BadInput(
            f"unit {unit_id} is neither in community {community} nor a unit of its street", {"unitId": unit_id}
        )
    if not set(order_path) >= set(community_path):
        raise BadInput(f"the order is not in community {community}")


def unit_counters(order: Any) -> dict[str, int]:
    """What one order contributes to the figures of the unit it was dispatched to."""
    done = order.status in DONE_ORDER_STATUSES
    return {
        "orders": 1,
        "open": int(order.status in ACTIVE_ORDER_STATUSES),
        "completed": int(done),
        "hours_tenths": order.hours_tenths if done else 0,
        "rated": int(order.rating is not None),
        "rating_sum": order.rating or 0,
    }


def _unit_of(order: Any | None) -> str | None:
    t = order.target if order is not None else None
    return t.id if t is not None and t.kind is TargetKind.UNIT else None


class UnitDelta(shared_domain.RollupDelta):
    what = "order"

    @classmethod
    def counters(cls, record: Any) -> dict[str, int]:
        return unit_counters(record)


def unit_deltas(before: Any | None, after: Any) -> list[UnitDelta]:
    """The per-unit deltas of one command on an order: a dispatch to another unit moves all the
    order contributed from the old unit to the new one."""
    old, new = _unit_of(before), _unit_of(after)
    out = []
    if old is not None:
        out.append(UnitDelta.of((old,), unit_counters(before), {}))
    if new is not None:
        out.append(UnitDelta.of((new,), None, unit_counters(after)))
    return [d for d in out if d]


def unit_recount(orders: Iterable[Any]) -> dict[str, dict[str, int]]:
    """The per-unit figures from scratch: unit id -> non-zero counters."""
    out: dict[str, dict[str, int]] = {}
    for o in orders:
        for delta in unit_deltas(None, o):
            delta.apply_to(out)
    return out
