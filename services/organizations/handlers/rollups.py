"""`stats.batch` and `trend.series`: the figures of a region, from the rollups kept with every
write and the territory's grid and building counts (rules in domain/rollups.py and
domain/territory.py)."""

from __future__ import annotations

from typing import Any

from services.organizations import domain as d
from services.organizations.domain.rollups import TREND_METRICS
from services.organizations.handlers.common import Feature, OrgContext
from shared.commands import trend_reply
from shared.contracts.common import ByIds
from shared.messaging.rpc import Request
from shared.territory import TerritoryReplica


class TerritoryCounts:
    """Grids and buildings per region from the territory replica (`domain.region_counts`),
    counted again only when the replica's contents change."""

    def __init__(self, territory: TerritoryReplica):
        self.territory = territory
        self._key: tuple[int, int] | None = None
        self._counts: dict[str, tuple[int, int]] = {}

    def get(self, region_id: str) -> tuple[int, int]:
        nodes = self.territory.nodes
        key = (id(nodes), len(nodes))
        if key != self._key:
            self._counts, self._key = d.region_counts(nodes.values()), key
        return self._counts.get(region_id, (0, 0))


class Figures(Feature):
    def __init__(self, ctx: OrgContext):
        super().__init__(ctx)
        self.counts = TerritoryCounts(ctx.territory)
        self.funds: Any = None  # funds: the fund block of the figures (handlers/funds.py)

    async def stats(self, req: Request) -> dict:
        q = req.parse(ByIds)
        counters = await self.store.counters(q.ids)
        funds = await self.funds.figures(q.ids) if self.funds is not None else {}

        def view(region_id: str) -> dict[str, Any]:
            stats = self.views.stats(counters.get(region_id, {}), *self.counts.get(region_id))
            return {**stats, "funds": funds[region_id]} if region_id in funds else stats

        return self.ctx.territory.region_items(q.ids, req.principal, view)

    async def trend(self, req: Request) -> dict:
        return await trend_reply(req, self.ctx.territory, TREND_METRICS, self.store.trend_days, self.store.counters)
