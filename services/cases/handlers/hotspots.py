"""Hotspots (`domain/hotspots.py`): the busiest grid × category clusters, and the cases behind one."""

from __future__ import annotations

from services.cases import domain as d
from services.cases.handlers.context import CaseContext
from shared.contracts.cases import HotspotCases, HotspotQuery
from shared.errors import BadInput
from shared.messaging.rpc import Request
from shared.mongo import now
from shared.trends import city_tz


class HotspotReads:
    def __init__(self, ctx: CaseContext):
        self.ctx = ctx

    async def hotspots(self, req: Request) -> dict:
        """热点: the busiest grid × category clusters of a subtree in a window, from the
        per-day cells kept with the writes."""
        q, p, ctx = req.parse(HotspotQuery), req.principal, self.ctx
        ctx.territory.visible_path(p, q.regionId)
        since_day, until_day = d.window_days(q.since, q.until or now(), city_tz())
        prev_start, _ = d.hotspots_windows(since_day, until_day)
        days = await ctx.store.hotspot_days(q.regionId, prev_start.isoformat())
        await ctx.current_catalogue()
        items = d.hotspots(days, since_day, until_day, q.first)
        for h in items:
            h["gridName"], h["categoryName"] = ctx.region_name(h["gridId"]), ctx.category_name(h["categoryCode"])
            h["regionPath"] = ctx.territory.path(h["gridId"]) or []
        return {"since": since_day.isoformat(), "until": until_day.isoformat(), "items": items}

    async def hotspot_cases(self, req: Request) -> dict:
        """The cases behind one hotspot (newest first): what a joint meeting deliberates."""
        q, p, ctx = req.parse(HotspotCases), req.principal, self.ctx
        path = ctx.territory.visible_path(p, q.gridId)
        node = ctx.territory.get(q.gridId)
        if node is None or node["level"] != "GRID":
            raise BadInput(f"a hotspot is in a GRID; {q.gridId} is not one")
        await ctx.current_catalogue()
        ids, total = await ctx.store.hotspot_case_ids(q.gridId, q.categoryCode, q.since, q.until or now(), q.first)
        return {
            "gridId": q.gridId,
            "gridName": node["name"],
            "regionPath": path,
            "categoryCode": q.categoryCode,
            "categoryName": ctx.category_name(q.categoryCode),
            "caseIds": ids,
            "total": total,
        }
