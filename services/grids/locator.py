"""Each replica's in-memory index of grid polygons, fed by events and resynced from the store.

Boundary writes are numbered (`GridStore.take_geometry_turn`); the index knows up to which
number it holds every grid boundary, and a write catches it up, inside its transaction,
before checking for overlaps: another replica's write is never missed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shapely.geometry.base import BaseGeometry

from services.grids.store import GridStore
from services.grids.views import region_dto
from shared.messaging.envelope import CloudEvent
from shared.mongo import UnitOfWork
from shared.territory import RegionIndex

log = logging.getLogger("yiwang.grids.locator")


class GridLocator(RegionIndex):
    """Grid views by id, so `locate` answers without reading the store."""

    def __init__(self, store: GridStore, resync_s: float):
        super().__init__(resync_s)
        self.store = store
        self.seq = 0  # every boundary write numbered up to this is in the index

    async def load(self) -> None:
        seq = await self.store.geometry_seq()  # before the read: what commits after is caught up later
        self.replace_all({d["_id"]: region_dto(d) for d in await self.store.grids_with_boundary()})
        self.seq = seq
        log.info("locator loaded %d grid polygons", len(self.index))

    async def load_changed(self, since: datetime) -> None:
        for d in await self.store.changed_since(since):
            self.put(region_dto(d))

    async def catch_up(self, uow: UnitOfWork, upto: int) -> None:
        """Read the boundary writes numbered after what the index holds, up to `upto`, in the
        caller's transaction (its snapshot holds every one of them: see take_geometry_turn)."""
        if self.seq >= upto:
            return
        for d in await self.store.boundaries_since(self.seq, uow):
            self.put(region_dto(d))
        self.seq = max(self.seq, upto)

    def wrote(self, seq: int | None, region: dict | None = None) -> None:
        """A boundary write numbered `seq` committed here (and `region` is what it wrote): the
        index holds every write up to it, since its transaction caught up to the one before."""
        if region is not None:
            self.put(region)
        if seq is not None:
            self.seq = max(self.seq, seq)

    def put(self, region: dict) -> None:
        """Remember a grid, unless a newer version of it is already here (events may come late)."""
        if region.get("level") != "GRID":
            return
        known = self.nodes.get(region["id"])
        if known is not None and known.get("version", 0) > region.get("version", 0):
            return
        self.remember(region["id"], region)

    def conflicts(self, geom: BaseGeometry, exclude: str | None = None) -> list[tuple[dict, BaseGeometry]]:
        """The grids a boundary would overlap, with the part each would share."""
        return [(self.nodes[k], common) for k, common in self.index.conflicts(geom, exclude) if k in self.nodes]

    async def on_event(self, event: CloudEvent) -> None:
        region = event.data.get("region")
        if not region:
            return
        self.put(region)
        if region["level"] not in ("GRID", "BUILDING") and event.event in ("REGION_MOVED", "REGION_UPDATED"):
            # The grids below changed path or breadcrumbs; events name only the moved node.
            for d in await self.store.grids_below(region["id"]):
                self.put(region_dto(d))
