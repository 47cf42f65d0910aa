"""Grid workers (`domain/workers.py`): register one, assign or unassign them, read one, list them."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from services.grids import domain
from services.grids.handlers.context import GridContext
from shared.auth import Principal, hidden
from shared.commands import page_reply
from shared.contracts.common import ById
from shared.contracts.grids import AssignWorker, ListWorkers, RegisterWorker
from shared.errors import Conflict
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, remember, remembered


class Workers:
    def __init__(self, ctx: GridContext):
        self.ctx = ctx

    async def _grid_in_scope(self, p: Principal, grid_id: str, uow: UnitOfWork) -> dict:
        g = await self.ctx.load_in_scope(p, grid_id, uow)
        domain.check_worker_grid(g["level"], g["name"])
        return g

    async def register(self, req: Request) -> dict:
        c, p, ctx = req.parse(RegisterWorker), req.principal, self.ctx
        phone = domain.check_phone(c.phone)
        key = f"worker.register:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        if key and (done := await remembered(ctx.rt.db, key)):
            return ctx.worker_view(p, await ctx.store.stored_worker(done))

        async def work(uow: UnitOfWork) -> dict:
            g = await self._grid_in_scope(p, c.gridId, uow)
            w = {
                "_id": new_id("w"),
                "sub": c.sub,
                "name": domain.check_name(c.name),
                "role": c.role,
                "phoneEnc": ctx.cipher.encrypt(phone),
                "gridId": g["_id"],
                "path": g["path"],
            }
            await ctx.store.insert_worker(uow, w)
            await ctx.store.bump(uow, g["path"], domain.counters_of_worker(True, g["_id"]))
            if key:
                await remember(uow, key, w["_id"])
            uow.record(ctx.worker_event(p, "WORKER_REGISTERED", w, g["path"]))
            return w

        try:
            return ctx.worker_view(p, await ctx.rt.transact(work))
        except DuplicateKeyError:
            if key and (done := await remembered(ctx.rt.db, key)):
                return ctx.worker_view(p, await ctx.store.stored_worker(done))
            raise Conflict(f"a grid worker with sub {c.sub} is already registered") from None

    async def assign(self, req: Request) -> dict:
        c, p, ctx = req.parse(AssignWorker), req.principal, self.ctx

        async def work(uow: UnitOfWork) -> dict:
            w = await ctx.store.worker(c.id, uow)
            if w is None or not domain.SCOPE.admits(p, w):
                raise hidden(p, f"grid worker {c.id}")
            domain.check_reassignment(w.get("gridId"), c.gridId)
            g = await self._grid_in_scope(p, c.gridId, uow) if c.gridId else None
            if w.get("gridId"):
                await ctx.store.bump(uow, w["path"], domain.counters_of_worker(True, w["gridId"]), sign=-1)
            if g:
                await ctx.store.bump(uow, g["path"], domain.counters_of_worker(True, g["_id"]))
            path = g["path"] if g else w["path"]
            new = await ctx.store.place_worker(uow, w["_id"], c.gridId, path)
            uow.record(ctx.worker_event(p, "WORKER_ASSIGNED" if g else "WORKER_UNASSIGNED", new, path))
            return new

        return ctx.worker_view(p, await ctx.rt.transact(work))

    async def get(self, req: Request) -> dict | None:
        q, p, ctx = req.parse(ById), req.principal, self.ctx
        w = await ctx.store.worker(q.id)
        if w is None and p.unrestricted:
            return None
        if w is None or not domain.may_read_worker(p, w["sub"], w["path"]):
            raise hidden(p, f"grid worker {q.id}")
        return ctx.worker_view(p, w)

    async def list(self, req: Request) -> dict:
        q, p, ctx = req.parse(ListWorkers), req.principal, self.ctx
        region = await ctx.load_in_scope(p, q.regionId)
        query: dict[str, Any] = domain.WORKER_SCOPE.filter(p, region["_id"])
        if q.role:
            query["role"] = q.role
        docs, total, more = await ctx.store.worker_page(query, q.first, q.after)
        return page_reply([ctx.worker_view(p, w) for w in docs], total, more)
