"""The region tree (`domain/regions.py`): read regions, locate a point, create, update and move one."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from services.grids import domain
from services.grids.handlers.boundaries import Boundaries
from services.grids.handlers.context import GridContext
from services.grids.store import region_from_doc
from services.grids.views import region_dto
from shared.auth import hidden
from shared.commands import page_reply
from shared.contracts.common import ById, ByIds
from shared.contracts.grids import CreateRegion, ListRegions, Locate, MoveRegion, UpdateRegion
from shared.errors import Conflict
from shared.geo import parse_boundary, valid_point
from shared.ids import new_id
from shared.messaging.rpc import Request, item_error
from shared.mongo import UnitOfWork, recall, remember, remembered


class Regions:
    def __init__(self, ctx: GridContext, boundaries: Boundaries):
        self.ctx, self.boundaries = ctx, boundaries

    # -- reads -----------------------------------------------------------------------------
    async def get(self, req: Request) -> dict | None:
        q, p, ctx = req.parse(ById), req.principal, self.ctx
        d = await ctx.store.get_doc(q.id)
        if d is None and p.unrestricted:
            return None
        view = await ctx.view(p, d) if d else None
        if view is None:
            raise hidden(p, f"region {q.id}")
        return view

    async def batch(self, req: Request) -> dict:
        q, p, ctx = req.parse(ByIds), req.principal, self.ctx
        docs = await ctx.store.get_docs(q.ids)
        out: dict[str, Any] = {}
        for i in q.ids:
            d = docs.get(i)
            view = await ctx.view(p, d) if d else None
            out[i] = view if view or (d is None and p.unrestricted) else item_error(hidden(p, f"region {i}"))
        return {"items": out}

    async def list_regions(self, req: Request) -> dict:
        q, p = req.parse(ListRegions), req.principal
        query = domain.list_scope(p, q.parentId, q.level)
        docs, total, more = await self.ctx.store.page(query, q.first, q.after)
        return page_reply([region_dto(d) for d in docs], total, more)

    async def locate(self, req: Request) -> dict | None:
        q = req.parse(Locate)
        valid_point(q.lng, q.lat)
        return self.ctx.locator.locate(q.lng, q.lat)

    # -- commands --------------------------------------------------------------------------
    async def create(self, req: Request) -> dict:
        c, p, ctx = req.parse(CreateRegion), req.principal, self.ctx
        level = domain.Level(c.level)
        domain.check_may_create(p, level)
        key = f"region.create:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        if key and (done := await remembered(ctx.rt.db, key)):
            return region_dto(await ctx.store.stored(done))
        geom = parse_boundary(c.boundary) if c.boundary is not None else None  # fail fast, before any read

        async def work(uow: UnitOfWork) -> tuple[dict, int | None]:
            if key and (done := await recall(uow, key)) is not None:  # an attempt retried after its commit went through
                return await ctx.store.get_doc(done, uow) or {}, None
            parent_doc = await ctx.load_in_scope(p, c.parentId, uow) if c.parentId else None
            parent = region_from_doc(parent_doc) if parent_doc else None
            region_id = domain.check_id(c.id) if c.id else new_id("r")
            r = domain.new_region(region_id, c.name, level, parent, c.code, c.attrs)
            if await ctx.store.get_doc(r.id, uow):
                raise Conflict(f"region id {r.id} is taken")
            seq = await self.boundaries.check_placed(uow, r, geom, [], parent_doc) if geom is not None else None
            r.boundary = c.boundary
            d = await ctx.store.insert(uow, r, parent_doc, geom_seq=seq)
            await ctx.store.bump(uow, r.path, domain.counters_of_node(level))
            if key:
                await remember(uow, key, r.id)
            uow.record(ctx.region_event(p, "REGION_CREATED", d))
            return d, seq

        try:
            d, seq = await ctx.rt.transact(work)
        except DuplicateKeyError:
            if key and (done := await remembered(ctx.rt.db, key)):
                return region_dto(await ctx.store.stored(done))
            raise Conflict("region id is taken") from None
        ctx.locator.wrote(seq, region_dto(d))
        return region_dto(d)

    async def update(self, req: Request) -> dict:
        c, p, ctx = req.parse(UpdateRegion), req.principal, self.ctx

        async def work(uow: UnitOfWork) -> dict:
            d = await ctx.load_in_scope(p, c.id, uow)
            domain.check_version(d["version"], c.expectedVersion)
            fields = domain.changed_fields(c.name, c.code, "code" in c.model_fields_set, c.attrs)
            new = await ctx.store.replace_fields(uow, c.id, d["version"], fields)
            if new is None:
                raise Conflict("the region changed while you were updating it; read it again")
            if domain.renames(fields):
                await self._rewrite_below(uow, new)
            uow.record(ctx.region_event(p, "REGION_UPDATED", new, changed=sorted(fields)))
            return new

        return region_dto(await ctx.rt.transact(work))

    async def _rewrite_below(self, uow: UnitOfWork, root: dict, old_prefix: list[str] | None = None) -> None:
        """Rewrite path and breadcrumbs of every node below `root` (after a rename or move)."""
        subtree = [region_from_doc(d) for d in await self.ctx.store.descendants(root["_id"], uow)]
        await self.ctx.store.rewrite_subtree(
            uow, domain.subtree_rewrites(region_from_doc(root), root.get("ancestors", []), subtree, old_prefix)
        )

    async def move(self, req: Request) -> dict:
        c, p, ctx = req.parse(MoveRegion), req.principal, self.ctx

        async def work(uow: UnitOfWork) -> tuple[dict, int]:
            d = await ctx.load_in_scope(p, c.id, uow)
            domain.check_version(d["version"], c.expectedVersion)
            domain.check_may_move(p, d["_id"])
            parent_doc = await ctx.load_in_scope(p, c.newParentId, uow)
            node, parent = region_from_doc(d), region_from_doc(parent_doc)
            domain.check_move(node, parent)
            seq = await self.boundaries.check_moved(uow, d, parent)
            old_path, new_path = node.path, [*parent.path, node.id]
            ancestors = domain.ancestors_below(parent_doc.get("ancestors", []), parent)
            new = await ctx.store.replace_fields(
                uow, node.id, d["version"], {"parentId": parent.id, "path": new_path, "ancestors": ancestors}
            )
            if new is None:
                raise Conflict("the region changed while you were moving it; read it again")
            await ctx.store.rewrite_subtree(uow, [(node.id, {"path": new_path, "ancestors": ancestors})])
            await self._rewrite_below(uow, new, old_prefix=old_path)
            totals = await ctx.store.counters(node.id)
            await ctx.store.bump(uow, old_path[:-1], totals, sign=-1)
            await ctx.store.bump(uow, new_path[:-1], totals, sign=+1)
            uow.record(ctx.region_event(p, "REGION_MOVED", new, oldPath=old_path, newPath=new_path))
            return new, seq

        new, seq = await ctx.rt.transact(work)
        ctx.locator.wrote(seq)
        return region_dto(new)
