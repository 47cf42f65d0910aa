"""Figures: region counters (`stats.batch`) and trend series from the day buckets (`trend.series`)."""

from __future__ import annotations

from services.volunteers.domain.rollups import TREND_METRICS
from services.volunteers.handlers.common import Context
from shared.auth import Principal
from shared.commands import trend_reply
from shared.contracts.common import ByIds
from shared.messaging.rpc import Request


async def stats(cx: Context, q: ByIds, p: Principal) -> dict:
    counters = await cx.store.counters(q.ids)
    return cx.territory.region_items(q.ids, p, lambda i: cx.views.stats(counters.get(i, {})))


async def trend(cx: Context, req: Request, p: Principal) -> dict:
    return await trend_reply(req, cx.territory, TREND_METRICS, cx.store.trend_days, cx.store.counters)
