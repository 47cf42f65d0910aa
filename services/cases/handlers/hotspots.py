"""Hotspots (`domain/hotspots.py`): the busiest grid × category clusters, and the cases behind one."""

from __future__ import annotations

from datetime import timedelta

from services.cases import domain as d
from services.cases.handlers.context import CaseContext
from shared.contracts.cases import CategoryCountsQuery, HotspotCases, HotspotQuery
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

    async def category_counts(self, req: Request) -> dict:
        """Reports per category in a subtree and window (local days), most first: the hotspot cells
        summed over every grid."""
        q, p, ctx = req.parse(CategoryCountsQuery), req.principal, self.ctx
        ctx.territory.visible_path(p, q.regionId)
        since_day, _ = d.window_days(q.since, q.until, city_tz())
        until_day = (q.until - timedelta(microseconds=1)).astimezone(city_tz()).date()  # `until` is exclusive
        days = await ctx.store.hotspot_days(q.regionId, since_day.isoformat())
        await ctx.current_catalogue()
        counts = d.category_counts(days, since_day, until_day)
        ordered = sorted(counts.items(), key=lambda x: (-x[1], x[0]))
        items = [{"categoryCode": c, "categoryName": ctx.category_name(c), "count": n} for c, n in ordered]
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
