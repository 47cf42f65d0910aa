"""Per-request DataLoaders: every cross-service reference in one request is one batched call."""
from __future__ import annotations

from strawberry.dataloader import DataLoader

from gateway.clients import ServiceClient, item_or_error


def batch_loader(client: ServiceClient, verb: str) -> DataLoader:
    async def load(keys: list[str]) -> list:
        items = (await client(verb, {"ids": list(keys)}))["items"]
        return [item_or_error(items.get(k)) for k in keys]

    return DataLoader(load_fn=load, max_batch_size=500)


class Loaders:
    def __init__(self, grids: ServiceClient):
        self.region_by_id = batch_loader(grids, "region.batch")  # RegionByIdLoader
        self.grid_stats_by_region = batch_loader(grids, "stats.batch")  # GridStatsByRegionLoader
