"""Each replica's in-memory index of grid polygons, fed by events and resynced from the store."""
from __future__ import annotations

import logging
from datetime import datetime

from services.grids.store import GridStore, region_dto
from shared.messaging.envelope import CloudEvent
from shared.territory import RegionIndex

log = logging.getLogger("yiwang.grids.locator")


class GridLocator(RegionIndex):
    """Grid views by id, so `locate` answers without reading the store."""

    def __init__(self, store: GridStore, resync_s: float):
        super().__init__(resync_s)
        self.store = store

    async def load(self) -> None:
        self.replace_all({d["_id"]: region_dto(d) for d in await self.store.grids_with_boundary()})
        log.info("locator loaded %d grid polygons", len(self.index))

    async def load_changed(self, since: datetime) -> None:
        for d in await self.store.changed_since(since):
            self.put(region_dto(d))

    def put(self, region: dict) -> None:
        if region.get("level") == "GRID":
            self.remember(region["id"], region)

    async def on_event(self, event: CloudEvent) -> None:
        region = event.data.get("region")
        if not region:
            return
        self.put(region)
        if region["level"] not in ("GRID", "BUILDING") and event.event in ("REGION_MOVED", "REGION_UPDATED"):
            # The grids below changed path or breadcrumbs; events name only the moved node.
            for d in await self.store.grids_below(region["id"]):
                self.put(region_dto(d))
