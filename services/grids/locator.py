"""Each replica's in-memory index of grid polygons, fed by events and resynced from the store."""
from __future__ import annotations

import asyncio
import logging

from services.grids.store import GridStore, region_dto
from shared.geo import PolygonIndex
from shared.messaging.envelope import CloudEvent

log = logging.getLogger("yiwang.grids.locator")


class GridLocator:
    def __init__(self, store: GridStore, resync_s: float):
        self.store, self.resync_s = store, resync_s
        self.index = PolygonIndex()
        self.views: dict[str, dict] = {}  # grid id -> its region view, so locate never reads the store
        self._task: asyncio.Task | None = None

    async def load(self) -> None:
        docs = await self.store.grids_with_boundary()
        self.views = {d["_id"]: region_dto(d) for d in docs}
        self.index.replace_all((d["_id"], d.get("boundary")) for d in docs)
        log.info("locator loaded %d grid polygons", len(self.index))

    def put(self, region: dict) -> None:
        if region.get("level") == "GRID":
            self.views[region["id"]] = region
            self.index.put(region["id"], region.get("boundary"))

    async def on_event(self, event: CloudEvent) -> None:
        region = event.data.get("region")
        if not region:
            return
        self.put(region)
        if region["level"] not in ("GRID", "BUILDING") and event.event in ("REGION_MOVED", "REGION_UPDATED"):
            # The grids below changed path or breadcrumbs; events name only the moved node.
            for d in await self.store.grids_below(region["id"]):
                self.put(region_dto(d))

    def locate(self, lng: float, lat: float) -> dict | None:
        grid_id = self.index.locate(lng, lat)
        return self.views.get(grid_id) if grid_id else None

    async def start(self) -> None:
        await self.load()
        self._task = asyncio.create_task(self._resync())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    async def _resync(self) -> None:
        # Events can be missed across a reconnect; a periodic reload bounds the drift.
        while True:
            await asyncio.sleep(self.resync_s)
            try:
                await self.load()
            except Exception:  # noqa: BLE001
                log.exception("locator resync failed")
