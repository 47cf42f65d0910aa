"""包联 (`domain/cadres.py`): assign a cadre to a community, grid or building, end it, list them."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from services.grids import domain
from services.grids.domain import cadres as rules
from services.grids.handlers.context import GridContext
from services.grids.store_links import VISITOR_KEY, LinkStore
from shared.auth import Principal, Role, hidden, public_actor
from shared.commands import page_reply
from shared.contracts.common import ById
from shared.contracts.grids import AssignCadre, CadresOfSub, ListCadres
from shared.errors import BadInput, Conflict, Forbidden
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now, remember, remembered

SERVICE = "grids"
# Who lists the cadres of a region in their scope (a cadre always reads their own).
CADRE_READERS = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER})


def cadre_dto(d: dict, visits: int | None = None) -> dict[str, Any]:
    return {
        "id": d["_id"],
        "sub": d["sub"],
        "name": d.get("name"),
        "regionId": d["regionId"],
        "regionName": d["regionName"],
        "level": d["level"],
        "role": d["role"],
        "roleName": rules.CADRE_ROLE_NAMES[rules.CadreRole(d["role"])],
        "active": d["active"],
        "assignedAt": d["assignedAt"],
        "assignedBy": d["assignedBy"],
        "endedAt": d.get("endedAt"),
        "version": d["version"],
        **({"visitCount": visits} if visits is not None else {}),
    }


def cadre_event(p: Principal, name: str, d: dict) -> CloudEvent:
    view = {k: d[k] for k in ("sub", "regionId", "level", "role", "active")}
    return make_event(
        SERVICE,
        name,
        d["_id"],
        {"assignment": {"id": d["_id"], **view}},
        path=d["path"],
        actor=public_actor(p),
        version=d["version"],
    )


def may_read_cadre(p: Principal, d: dict) -> bool:
    return p.sub == d["sub"] or (
        (p.unrestricted or p.role in CADRE_READERS) and domain.SCOPE.of(p).admits_path(d["path"])
    )


class Cadres:
    def __init__(self, ctx: GridContext):
        self.ctx = ctx
        self.links = LinkStore(ctx.rt.db)

    async def _view(self, d: dict) -> dict:
        counts = await self.links.visit_counts([VISITOR_KEY + d["sub"]])
        return cadre_dto(d, counts[VISITOR_KEY + d["sub"]])

    async def assign(self, req: Request) -> dict:
        c, p, ctx = req.parse(AssignCadre), req.principal, self.ctx
        role, sub = rules.check_cadre_role(c.role), rules.check_cadre_sub(c.sub)
        key = f"cadre.assign:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        if key and (done := await remembered(ctx.rt.db, key)):
            return await self._stored(done)

        async def work(uow: UnitOfWork) -> dict:
            region = await ctx.load_in_scope(p, c.regionId, uow)
            rules.check_cadre_region(role, region["level"], region["name"])
            active_key = rules.active_key(sub, region["_id"], role)
            if await self.links.cadres.find_one({"activeKey": active_key}, {"_id": 1}, session=uow.session):
                raise Conflict(f"{sub} is already assigned to {region['name']} as {role}", {"sub": sub})
            rules.check_new_assignment(
                await self.links.count_active(uow, "sub", sub),
                await self.links.count_active(uow, "regionId", region["_id"]),
            )
            d = {
                "_id": new_id("ca"),
                "sub": sub,
                "name": c.name,
                "regionId": region["_id"],
                "regionName": region["name"],
                "level": region["level"],
                "role": str(role),
                "path": region["path"],
                "active": True,
                "activeKey": active_key,
                "assignedAt": now(),
                "assignedBy": p.sub,
                "version": 1,
            }
            await self.links.insert_cadre(uow, d)
            before, after = await self.links.hold(uow, region["_id"], 1)
            await ctx.store.bump(uow, region["path"], rules.counters_of_cadres(region["level"], before, after))
            if key:
                await remember(uow, key, d["_id"])
            uow.record(cadre_event(p, "CADRE_ASSIGNED", d))
            return d

        try:
            return await self._view(await ctx.rt.transact(work))
        except DuplicateKeyError:
            if key and (done := await remembered(ctx.rt.db, key)):
                return await self._stored(done)
            raise Conflict(f"{sub} is already assigned there as {role}", {"sub": sub}) from None

    async def _stored(self, cadre_id: str) -> dict:
        d = await self.links.cadre(cadre_id)
        if d is None:
            raise BadInput(f"assignment {cadre_id} does not exist")
        return await self._view(d)

    async def unassign(self, req: Request) -> dict:
        q, p, ctx = req.parse(ById), req.principal, self.ctx

        async def work(uow: UnitOfWork) -> dict:
            d = await self.links.cadre(q.id, uow)
            if d is None or not domain.SCOPE.of(p).admits_path(d["path"]):
                raise hidden(p, f"cadre assignment {q.id}")
            if not d["active"]:
                raise Conflict(f"cadre assignment {q.id} has ended already", {"id": q.id})
            ended = await self.links.end_cadre(uow, d["_id"], p.sub)
            if ended is None:
                raise Conflict(f"cadre assignment {q.id} has ended already", {"id": q.id})
            before, after = await self.links.hold(uow, d["regionId"], -1)
            await ctx.store.bump(uow, d["path"], rules.counters_of_cadres(d["level"], before, after))
            uow.record(cadre_event(p, "CADRE_UNASSIGNED", ended))
            return ended

        return await self._view(await ctx.rt.transact(work))

    async def get(self, req: Request) -> dict:
        q, p = req.parse(ById), req.principal
        d = await self.links.cadre(q.id)
        if d is None or not may_read_cadre(p, d):
            raise hidden(p, f"cadre assignment {q.id}")
        return await self._view(d)

    async def list(self, req: Request) -> dict:
        q, p, ctx = req.parse(ListCadres), req.principal, self.ctx
        if (q.regionId is None) == (q.sub is None):
            raise BadInput("give either regionId or sub")
        query: dict[str, Any] = {} if q.includeEnded else {"active": True}
        if q.regionId is not None:
            if not (p.unrestricted or p.role in CADRE_READERS):
                raise Forbidden(f"role {p.role} may not list cadre assignments", {"role": str(p.role)})
            region = await ctx.load_in_scope(p, q.regionId)
            query["path"] = region["_id"]
        else:
            query["sub"] = q.sub
            if q.sub != p.sub:
                if not (p.unrestricted or p.role in CADRE_READERS):
                    raise Forbidden(f"role {p.role} may not list another's cadre assignments", {"role": str(p.role)})
                if not p.unrestricted:
                    query["path"] = p.region  # their assignments inside the caller's scope only
        docs, total, more = await self.links.cadre_page(query, q.first, q.after)
        counts = await self.links.visit_counts(sorted({VISITOR_KEY + d["sub"] for d in docs}))
        return page_reply([cadre_dto(d, counts[VISITOR_KEY + d["sub"]]) for d in docs], total, more)

    async def of_sub(self, req: Request) -> dict:
        """A person's active assignments (for their day's work and scope): their own, or anyone's for a service."""
        q, p = req.parse(CadresOfSub), req.principal
        sub = q.sub or p.sub
        if sub != p.sub and not p.unrestricted:
            raise Forbidden("only a service reads another person's assignments")
        docs = await self.links.cadres_of(sub, rules.MAX_ASSIGNMENTS_PER_SUB)
        return {"items": [cadre_dto(d) | {"path": d["path"]} for d in docs]}
