"""`work.volunteers`: the caller's service orders and activities for the day (rules in
domain/work.py), each filter read on its own index, merged by urgency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from services.volunteers.domain import work
from services.volunteers.handlers.common import Context
from shared.auth import Principal, Role
from shared.contracts.work import WorkQuery
from shared.mongo import now
from shared.work import most_urgent


async def day(cx: Context, q: WorkQuery, p: Principal) -> dict[str, Any]:
    place = _place(cx, p)
    if place is None:
        return {"orders": [], "activities": [], "truncated": False}
    at, first = now(), q.first
    me = await cx.store.by_sub(p.sub) if p.role is Role.VOLUNTEER else None
    own = me.id if me else None
    order_reads = [_read(cx.store.orders.coll, f, "wished_at", first) for f in work.order_filters(p, place, own)]
    # a grid's or community's coming activities are a handful: read whole, those beyond the horizon dropped
    activity_read = _read(cx.store.activities.coll, work.activity_filter(place, at), "starts_at", None)
    order_parts, activity_docs = await asyncio.gather(asyncio.gather(*order_reads), activity_read)
    orders = {doc["_id"]: cx.store.orders.of(doc) for part in order_parts for doc in part}
    horizon = timedelta(days=q.horizonDays)
    activities = [a for a in map(cx.store.activities.of, activity_docs) if work.activity_fits(a, at, horizon)]
    shown_orders = [o for o in orders.values() if cx.visible(p, o)]
    shown_activities = [a for a in activities if cx.visible(p, a)]
    return {
        "orders": [cx.views.order(p, o) for o in most_urgent(shown_orders, lambda o: work.order_due(o, at), first)],
        "activities": [
            cx.views.activity(p, a, me.id if me else None)
            for a in most_urgent(shown_activities, lambda a: work.activity_due(a, at), first)
        ],
        "truncated": len(orders) > first or len(activities) > first or any(len(x) >= first for x in order_parts),
    }


def _place(cx: Context, p: Principal) -> work.WorkPlace | None:
    return work.place_of(p, p.region, cx.level(p.region) if p.region else None)


async def _read(coll: Any, query: dict[str, Any], sort: str, first: int | None) -> list[dict]:
    """One filter's matches on its index, soonest first (sorted by the store in memory: the
    open orders of one status in one place, the coming activities of one place)."""
    cur = coll.find(query).sort(sort, 1)
    return await (cur.limit(first).to_list(first) if first else cur.to_list(None))
