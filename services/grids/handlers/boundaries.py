"""Boundaries (`domain/boundaries.py`): set one, check a placement or a move against the
rules in the order of boundary writes, and audit every stored boundary."""

from __future__ import annotations

import asyncio

from shapely.geometry.base import BaseGeometry

from services.grids import domain
from services.grids.handlers.context import GridContext
from services.grids.store import region_from_doc
from services.grids.views import region_dto
from shared.contracts.grids import CheckTerritory, SetBoundary
from shared.errors import Conflict
from shared.geo import parse_boundary
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork


class Boundaries:
    def __init__(self, ctx: GridContext):
        self.ctx = ctx

    def overlaps(self, geom: BaseGeometry, exclude: str) -> list[tuple[dict, BaseGeometry]]:
        return self.ctx.locator.conflicts(geom, exclude=exclude)

    async def turn(self, uow: UnitOfWork) -> int:
        """Take this transaction's turn among boundary writes (across replicas) and bring the
        grid index up to every write before it."""
        seq = await self.ctx.store.take_geometry_turn(uow)
        await self.ctx.locator.catch_up(uow, seq - 1)
        return seq

    async def check_placed(
        self,
        uow: UnitOfWork,
        node: domain.Region,
        geom: BaseGeometry | None,
        below: list[dict],
        parent: dict | None = None,
    ) -> int:
        """Region `node` may get boundary `geom` (None: lose its own), by `domain.check_placed`.
        Returns the write's number. `parent`: its parent's document, when the caller has it (a
        bounded one saves reading the ancestors)."""
        seq = await self.turn(uow)
        if parent is not None and parent.get("boundary"):
            container: dict | None = parent
        else:
            container = domain.nearest_bounded(await self.ctx.store.chain(node.path[:-1], uow))
        domain.check_placed(node, geom, container, below, self.overlaps)
        return seq

    async def check_moved(self, uow: UnitOfWork, d: dict, parent: domain.Region) -> int:
        """The subtree of `d` may move under `parent`, by `domain.check_moved`. Returns the write's number."""
        seq = await self.turn(uow)
        container = domain.nearest_bounded(await self.ctx.store.chain(parent.path, uow))
        domain.check_moved(d, parent.id, container, await self.ctx.store.below(d["_id"], uow), self.overlaps)
        return seq

    async def set_boundary(self, req: Request) -> dict:
        c, p, ctx = req.parse(SetBoundary), req.principal, self.ctx
        geom = parse_boundary(c.boundary) if c.boundary is not None else None

        async def work(uow: UnitOfWork) -> tuple[dict, int]:
            d = await ctx.load_in_scope(p, c.id, uow)
            domain.check_version(d["version"], c.expectedVersion)
            seq = await self.check_placed(uow, region_from_doc(d), geom, await ctx.store.below(c.id, uow))
            new = await ctx.store.replace_fields(uow, c.id, d["version"], {"boundary": c.boundary, "geomSeq": seq})
            if new is None:
                raise Conflict("the region changed while you were updating it; read it again")
            uow.record(ctx.region_event(p, "BOUNDARY_SET", new))
            return new, seq

        new, seq = await ctx.rt.transact(work)
        ctx.locator.wrote(seq, region_dto(new))
        return region_dto(new)

    async def check_territory(self, req: Request) -> dict:
        """Every stored boundary against the rules: what `yiwang check territory` prints."""
        q = req.parse(CheckTerritory)
        regions = await self.ctx.store.all_shapes()
        return await asyncio.to_thread(domain.audit, regions, q.limit)  # ~0.8 s for the city seed (busy 2 cores)
