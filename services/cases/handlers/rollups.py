"""Region figures of cases (`domain/rollups.py`): counters per region and their trend."""

from __future__ import annotations

from services.cases import domain as d
from services.cases.handlers.context import CaseContext
from shared.commands import trend_reply
from shared.contracts.common import ByIds
from shared.messaging.rpc import Request


class RollupReads:
    def __init__(self, ctx: CaseContext):
        self.ctx = ctx

    async def stats(self, req: Request) -> dict:
        q, ctx = req.parse(ByIds), self.ctx
        counters = await ctx.store.rollup_counters(q.ids)
        return ctx.territory.region_items(q.ids, req.principal, lambda i: ctx.views.stats(counters.get(i, {})))

    async def trend(self, req: Request) -> dict:
        ctx = self.ctx
        return await trend_reply(req, ctx.territory, d.TREND_METRICS, ctx.store.days, ctx.store.rollup_counters)
