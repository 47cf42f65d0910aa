"""Request handlers of the territory service; the subject → handler table is at the end."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from pymongo.errors import DuplicateKeyError
from shapely.geometry.base import BaseGeometry

from services.grids import boundaries, domain
from services.grids.domain import Level, Region
from services.grids.locator import GridLocator
from services.grids.store import GridStore, crumb, region_dto, region_from_doc
from shared.auth import Principal, Role, hidden, require_any_role, require_figures
from shared.contracts.common import ById, ByIds
from shared.contracts.grids import (AssignWorker, CheckTerritory, CreateRegion, ListRegions, ListWorkers, Locate,
                                    MoveRegion, RegisterWorker, SetBoundary, UpdateRegion)
from shared.errors import BadInput, Conflict, Forbidden
from shared.geo import parse_boundary, stored_shape, valid_point
from shared.ids import new_id
from shared.messaging.envelope import make_event
from shared.messaging.rpc import Request, item_error
from shared.mongo import UnitOfWork, remember, remembered
from shared.privacy import FieldCipher, mask_phone
from shared.records import flat_and
from shared.service import ServiceRuntime

SERVICE = "grids"
MANAGERS = (Role.SUPERADMIN, Role.ADMIN)
STAFF = (Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR)
# Who reads grid workers (names, masked phones) in their scope: not a department, not a resident.
WORKER_READERS = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.VOLUNTEER})


def page_dto(items: list, total: int, has_next: bool) -> dict:
    return {"items": items, "totalCount": total, "hasNextPage": has_next,
            "endCursor": items[-1]["id"] if items else None}


class Grids:
    def __init__(self, rt: ServiceRuntime, store: GridStore, locator: GridLocator, cipher: FieldCipher):
        self.rt, self.store, self.locator, self.cipher = rt, store, locator, cipher
        self._scope_paths: dict[str, tuple[float, list[str]]] = {}

    # -- scope -----------------------------------------------------------------------------
    async def _principal_path(self, p: Principal) -> list[str]:
        if not p.region:
            return []
        hit = self._scope_paths.get(p.region)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        doc = await self.store.get_doc(p.region)
        path = doc["path"] if doc else []
        self._scope_paths[p.region] = (time.monotonic() + 30, path)
        return path

    async def _view(self, p: Principal, d: dict) -> dict | None:
        """Full view in scope; a breadcrumb (id, name, level) for the ancestors of one's scope."""
        if p.can_see_path(d["path"]):
            return region_dto(d)
        if d["_id"] in await self._principal_path(p):
            return region_dto(d, partial=True)
        return None

    async def _load_in_scope(self, p: Principal, region_id: str, uow: UnitOfWork | None = None) -> dict:
        d = await self.store.get_doc(region_id, uow)
        if d is None or not p.can_see_path(d["path"]):
            raise hidden(p, f"region {region_id}")
        return d

    def _event(self, p: Principal, name: str, d: dict, **extra: Any):
        return make_event(SERVICE, name, d["_id"], {"region": region_dto(d), **extra},
                          path=d["path"], actor=p.sub, version=d["version"])

    # -- reads -----------------------------------------------------------------------------
    async def get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        d = await self.store.get_doc(q.id)
        if d is None and p.unrestricted:
            return None
        view = await self._view(p, d) if d else None
        if view is None:
            raise hidden(p, f"region {q.id}")
        return view

    async def batch(self, req: Request) -> dict:
        q, p = req.parse(ByIds), req.principal
        docs = await self.store.get_docs(q.ids)
        out: dict[str, Any] = {}
        for i in q.ids:
            d = docs.get(i)
            view = await self._view(p, d) if d else None
            out[i] = view if view or (d is None and p.unrestricted) else item_error(hidden(p, f"region {i}"))
        return {"items": out}

    async def list(self, req: Request) -> dict:
        q, p = req.parse(ListRegions), req.principal
        query: dict[str, Any] = {}
        if q.parentId is not None:
            query["parentId"] = q.parentId
        elif q.level is None and not p.unrestricted:
            query["_id"] = p.region  # the caller's own root
        if q.level:
            query["level"] = q.level
        scope = p.scope_filter("path")
        docs, total, more = await self.store.page(flat_and(query, scope), q.first, q.after)
        return page_dto([region_dto(d) for d in docs], total, more)

    async def locate(self, req: Request) -> dict | None:
        q = req.parse(Locate)
        valid_point(q.lng, q.lat)
        return self.locator.locate(q.lng, q.lat)

    async def stats(self, req: Request) -> dict:
        q, p = req.parse(ByIds), req.principal
        require_figures(p)
        docs = await self.store.rollup_docs(q.ids)
        out: dict[str, Any] = {}
        for i in q.ids:
            d = docs.get(i)
            if d is None or not p.can_see_path(d["path"]):
                out[i] = item_error(hidden(p, f"region {i}"))
            else:
                out[i] = {k: int(d["counters"].get(k, 0)) for k in domain.COUNTERS}
        return {"items": out}

    # -- boundaries ------------------------------------------------------------------------
    async def _geometry_turn(self, uow: UnitOfWork) -> int:
        """Take this transaction's turn among boundary writes (across replicas) and bring the
        grid index up to every write before it."""
        seq = await self.store.take_geometry_turn(uow)
        await self.locator.catch_up(uow, seq - 1)
        return seq

    async def _check_boundary(self, uow: UnitOfWork, node: Region, geom: BaseGeometry | None,
                              below: list[dict], parent: dict | None = None) -> int:
        """A region gets boundary `geom` (None: it loses its own): it must lie inside its
        nearest bounded ancestor and contain the nearest bounded regions below it; a grid's
        may overlap no other grid. Returns the write's number. `parent`: its parent's document,
        when the caller has it (a bounded one saves reading the ancestors)."""
        seq = await self._geometry_turn(uow)
        if parent is not None and parent.get("boundary"):
            container: dict | None = parent
        else:
            container = boundaries.nearest_bounded(await self.store.chain(node.path[:-1], uow))
        top = boundaries.frontier(node.id, below)
        if geom is not None:
            boundaries.check_inside(f"this {node.level}", geom, container, node.parent_id)
            boundaries.check_contains(geom, top)
        else:
            for d in top:
                boundaries.check_inside(boundaries.label(d), stored_shape(d["boundary"]), container, node.id)
        if node.level is Level.GRID and geom is not None:
            boundaries.check_no_overlap(f"this {node.level}", self.locator.conflicts(geom, exclude=node.id))
        return seq

    async def _check_move(self, uow: UnitOfWork, d: dict, parent: Region) -> int:
        """A moved subtree lies inside its new nearest bounded ancestor, and its grids overlap
        no grid (one kept from before overlaps were refused is to be fixed first)."""
        seq = await self._geometry_turn(uow)
        container = boundaries.nearest_bounded(await self.store.chain(parent.path, uow))
        below = await self.store.below(d["_id"], uow)
        top = [d] if d.get("boundary") else boundaries.frontier(d["_id"], below)
        for t in top:
            boundaries.check_inside(boundaries.label(t), stored_shape(t["boundary"]), container,
                                    parent.id if t is d else None)
        for g in [d, *below]:
            if g["level"] == "GRID" and g.get("boundary"):
                boundaries.check_no_overlap(boundaries.label(g),
                                            self.locator.conflicts(stored_shape(g["boundary"]), exclude=g["_id"]))
        return seq

    # -- commands --------------------------------------------------------------------------
    async def create(self, req: Request) -> dict:
        c, p = req.parse(CreateRegion), req.principal
        p.require_role(*MANAGERS, action="create regions")
        level = Level(c.level)
        if level is Level.CITY and not p.unrestricted:
            raise Forbidden("only a superadmin may create a top-level CITY")
        key = f"region.create:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        if key and (done := await remembered(self.rt.db, key)):
            return region_dto(await self.store.get_doc(done))
        geom = parse_boundary(c.boundary) if c.boundary is not None else None  # fail fast, before any read

        async def work(uow: UnitOfWork) -> dict:
            parent_doc = await self._load_in_scope(p, c.parentId, uow) if c.parentId else None
            parent = region_from_doc(parent_doc) if parent_doc else None
            region_id = domain.check_id(c.id) if c.id else new_id("r")
            r = domain.new_region(region_id, c.name, level, parent, c.code, c.attrs)
            if await self.store.get_doc(r.id, uow):
                raise Conflict(f"region id {r.id} is taken")
            seq = await self._check_boundary(uow, r, geom, [], parent_doc) if geom is not None else None
            r.boundary = c.boundary
            d = await self.store.insert(uow, r, parent_doc, geom_seq=seq)
            await self.store.bump(uow, r.path, domain.counters_of_node(level))
            if key:
                await remember(uow, key, r.id)
            uow.record(self._event(p, "REGION_CREATED", d))
            return d, seq

        try:
            d, seq = await self.rt.transact(work)
        except DuplicateKeyError:
            if key and (done := await remembered(self.rt.db, key)):
                return region_dto(await self.store.get_doc(done))
            raise Conflict("region id is taken") from None
        self.locator.wrote(seq, region_dto(d))
        return region_dto(d)

    async def update(self, req: Request) -> dict:
        c, p = req.parse(UpdateRegion), req.principal
        p.require_role(*MANAGERS, action="update regions")

        async def work(uow: UnitOfWork) -> dict:
            d = await self._load_in_scope(p, c.id, uow)
            domain.check_version(d["version"], c.expectedVersion)
            fields: dict[str, Any] = {}
            if c.name is not None:
                fields["name"] = domain.check_name(c.name)
            if "code" in c.model_fields_set:
                fields["code"] = domain.check_code(c.code)
            if c.attrs is not None:
                fields["attrs"] = c.attrs
            if not fields:
                raise BadInput("nothing to change: give name, code or attrs")
            new = await self.store.replace_fields(uow, c.id, d["version"], fields)
            if new is None:
                raise Conflict("the region changed while you were updating it; read it again")
            if "name" in fields or "code" in fields:
                await self._refresh_ancestors(uow, new)
            uow.record(self._event(p, "REGION_UPDATED", new, changed=sorted(fields)))
            return new

        return region_dto(await self.rt.transact(work))

    async def _refresh_ancestors(self, uow: UnitOfWork, root: dict,
                                 old_prefix: list[str] | None = None) -> None:
        """Rewrite path and breadcrumbs of every node below `root` (after a rename or move)."""
        subtree = await self.store.descendants(root["_id"], uow)
        crumbs = {a["id"]: a for a in root.get("ancestors", [])}
        crumbs[root["_id"]] = crumb(region_from_doc(root))
        crumbs |= {d["_id"]: crumb(region_from_doc(d)) for d in subtree}
        updates = []
        for d in subtree:
            path = domain.moved_path(d["path"], old_prefix, root["path"]) if old_prefix else d["path"]
            updates.append((d["_id"], {"path": path, "ancestors": [crumbs[i] for i in path[:-1]]}))
        await self.store.rewrite_subtree(uow, updates)

    async def move(self, req: Request) -> dict:
        c, p = req.parse(MoveRegion), req.principal
        p.require_role(*MANAGERS, action="move regions")

        async def work(uow: UnitOfWork) -> dict:
            d = await self._load_in_scope(p, c.id, uow)
            domain.check_version(d["version"], c.expectedVersion)
            if d["_id"] == p.region:
                raise Forbidden("you cannot move the root of your own scope")
            parent_doc = await self._load_in_scope(p, c.newParentId, uow)
            node, parent = region_from_doc(d), region_from_doc(parent_doc)
            domain.check_move(node, parent)
            seq = await self._check_move(uow, d, parent)
            old_path, new_path = node.path, [*parent.path, node.id]
            ancestors = [*parent_doc.get("ancestors", []), crumb(parent)]
            new = await self.store.replace_fields(uow, node.id, d["version"], {
                "parentId": parent.id, "path": new_path, "ancestors": ancestors})
            if new is None:
                raise Conflict("the region changed while you were moving it; read it again")
            await self.store.rewrite_subtree(uow, [(node.id, {"path": new_path, "ancestors": ancestors})])
            await self._refresh_ancestors(uow, new, old_prefix=old_path)
            totals = Counter((await self.store.rollup_docs([node.id]))[node.id]["counters"])
            await self.store.bump(uow, old_path[:-1], totals, sign=-1)
            await self.store.bump(uow, new_path[:-1], totals, sign=+1)
            uow.record(self._event(p, "REGION_MOVED", new, oldPath=old_path, newPath=new_path))
            return new, seq

        new, seq = await self.rt.transact(work)
        self.locator.wrote(seq)
        return region_dto(new)

    async def set_boundary(self, req: Request) -> dict:
        c, p = req.parse(SetBoundary), req.principal
        p.require_role(*MANAGERS, action="set boundaries")
        geom = parse_boundary(c.boundary) if c.boundary is not None else None

        async def work(uow: UnitOfWork) -> dict:
            d = await self._load_in_scope(p, c.id, uow)
            domain.check_version(d["version"], c.expectedVersion)
            seq = await self._check_boundary(uow, region_from_doc(d), geom, await self.store.below(c.id, uow))
            new = await self.store.replace_fields(uow, c.id, d["version"], {"boundary": c.boundary, "geomSeq": seq})
            if new is None:
                raise Conflict("the region changed while you were updating it; read it again")
            uow.record(self._event(p, "BOUNDARY_SET", new))
            return new, seq

        new, seq = await self.rt.transact(work)
        self.locator.wrote(seq, region_dto(new))
        return region_dto(new)

    async def check_territory(self, req: Request) -> dict:
        """Every stored boundary against the rules: what `yiwang check territory` prints."""
        q, p = req.parse(CheckTerritory), req.principal
        if not p.unrestricted:
            raise Forbidden("only a superadmin may check the whole territory")
        regions = await self.store.all_shapes()
        return await asyncio.to_thread(boundaries.audit, regions, q.limit)  # ~0.8 s for the city seed (busy 2 cores)

    # -- grid workers ------------------------------------------------------------------------
    def worker_dto(self, p: Principal, w: dict) -> dict:
        phone = self.cipher.decrypt(w.get("phoneEnc"))
        staff = p.role in STAFF and p.can_see_path(w.get("path") or [])
        return {"id": w["_id"], "sub": w["sub"], "name": w["name"], "role": w["role"],
                "roleName": domain.WORKER_ROLE_NAMES[domain.WorkerRole(w["role"])],
                "gridId": w.get("gridId"), "active": w.get("gridId") is not None,
                "phone": phone if staff or p.sub == w["sub"] else mask_phone(phone)}

    def _worker_event(self, p: Principal, name: str, w: dict, path: list[str]):
        return make_event(SERVICE, name, w["_id"], {"worker": {
            "id": w["_id"], "sub": w["sub"], "name": w["name"], "role": w["role"], "gridId": w.get("gridId")}},
            path=path, actor=p.sub)

    async def _grid_in_scope(self, p: Principal, grid_id: str, uow: UnitOfWork) -> dict:
        g = await self._load_in_scope(p, grid_id, uow)
        if g["level"] != "GRID":
            raise BadInput(f"grid workers are assigned to a GRID, and {g['name']} is a {g['level']}")
        return g

    async def register_worker(self, req: Request) -> dict:
        c, p = req.parse(RegisterWorker), req.principal
        p.require_role(*MANAGERS, action="register grid workers")
        phone = domain.check_phone(c.phone)
        key = f"worker.register:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        if key and (done := await remembered(self.rt.db, key)):
            return self.worker_dto(p, await self.store.worker(done))

        async def work(uow: UnitOfWork) -> dict:
            g = await self._grid_in_scope(p, c.gridId, uow)
            w = {"_id": new_id("w"), "sub": c.sub, "name": domain.check_name(c.name), "role": c.role,
                 "phoneEnc": self.cipher.encrypt(phone), "gridId": g["_id"], "path": g["path"]}
            await self.store.workers.insert_one(w, session=uow.session)
            await self.store.bump(uow, g["path"], domain.counters_of_worker(True, g["_id"]))
            if key:
                await remember(uow, key, w["_id"])
            uow.record(self._worker_event(p, "WORKER_REGISTERED", w, g["path"]))
            return w

        try:
            return self.worker_dto(p, await self.rt.transact(work))
        except DuplicateKeyError:
            if key and (done := await remembered(self.rt.db, key)):
                return self.worker_dto(p, await self.store.worker(done))
            raise Conflict(f"a grid worker with sub {c.sub} is already registered") from None

    async def assign_worker(self, req: Request) -> dict:
        c, p = req.parse(AssignWorker), req.principal
        p.require_role(*MANAGERS, action="assign grid workers")

        async def work(uow: UnitOfWork) -> dict:
            w = await self.store.worker(c.id, uow)
            if w is None or not p.can_see_path(w["path"]):
                raise hidden(p, f"grid worker {c.id}")
            if w.get("gridId") == c.gridId:
                raise BadInput("the grid worker is already there")
            g = await self._grid_in_scope(p, c.gridId, uow) if c.gridId else None
            if w.get("gridId"):
                await self.store.bump(uow, w["path"], domain.counters_of_worker(True, w["gridId"]), sign=-1)
            if g:
                await self.store.bump(uow, g["path"], domain.counters_of_worker(True, g["_id"]))
            path = g["path"] if g else w["path"]
            new = await self.store.workers.find_one_and_update(
                {"_id": w["_id"]}, {"$set": {"gridId": c.gridId, "path": path}},
                session=uow.session, return_document=True)
            uow.record(self._worker_event(p, "WORKER_ASSIGNED" if g else "WORKER_UNASSIGNED", new, path))
            return new

        return self.worker_dto(p, await self.rt.transact(work))

    async def worker(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        w = await self.store.worker(q.id)
        if w is None and p.unrestricted:
            return None
        if w is None or not (p.unrestricted or p.sub == w["sub"]
                             or (p.role in WORKER_READERS and p.can_see_path(w["path"]))):
            raise hidden(p, f"grid worker {q.id}")
        return self.worker_dto(p, w)

    async def workers(self, req: Request) -> dict:
        q, p = req.parse(ListWorkers), req.principal
        require_any_role(p, WORKER_READERS, "list grid workers")
        region = await self._load_in_scope(p, q.regionId)
        query: dict[str, Any] = {"path": region["_id"]}
        if q.role:
            query["role"] = q.role
        docs, total, more = await self.store.worker_page(query, q.first, q.after)
        return page_dto([self.worker_dto(p, w) for w in docs], total, more)

    def table(self) -> dict:
        return {
            "region.get": self.get, "region.batch": self.batch, "region.list": self.list,
            "region.create": self.create, "region.update": self.update, "region.move": self.move,
            "region.setBoundary": self.set_boundary, "locate": self.locate, "stats.batch": self.stats,
            "territory.check": self.check_territory,
            "worker.register": self.register_worker, "worker.assign": self.assign_worker,
            "worker.get": self.worker, "worker.list": self.workers,
        }
