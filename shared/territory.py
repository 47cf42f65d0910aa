"""A service's read-only replica of the territory, fed by `grids` events.

Services route and scope with it while `grids` is down: region paths by id, and an
in-memory polygon index of grids for locating points. The replica is a durable JetStream
consumer (shared by replicas of the service); every process also keeps the tree in memory
and refreshes it from the replica collection on events and periodically. The periodic
refresh reads only what changed since the last one: a whole reload of a city's territory
(5,000 regions, 1.4 MB of polygons) held the embedded store for ~150 ms and stalled every
request behind it, every 30 s in every service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from shared.auth import Principal, assignment_claims, hidden, require_figures, subject_key
from shared.errors import DomainError, NotFound
from shared.geo import PolygonIndex
from shared.heap import freeze_long_lived
from shared.messaging.envelope import CloudEvent
from shared.messaging.rpc import item_error
from shared.mongo import now
from shared.scope import REGION_RULE, Scope, ScopeRule
from shared.service import ServiceRuntime

log = logging.getLogger("yiwang.territory")
COLLECTION = "territory"
ROLES = "role_replica"  # people's role assignments, from grids' ROLE_ASSIGNED / ROLE_REVOKED
ROLE_EVENTS = ("ROLE_ASSIGNED", "ROLE_REVOKED")
FREEZE_AFTER = 500  # regions learned after start before the heap is frozen again (shared/heap)
# Each refresh reads again what changed in this long before the last one began: writes stamped
# by another replica's clock, or committed a moment after their stamp, are not missed.
REFRESH_OVERLAP = timedelta(seconds=60)
MovedHook = Callable[[str, str, list[str], list[str]], Awaitable[None]]  # event id, root, old, new


def node_of(region: dict) -> dict:
    return {
        "_id": region["id"],
        "name": region["name"],
        "level": region["level"],
        "path": region["path"],
        "parentId": region.get("parentId"),
        "boundary": region.get("boundary"),
        "version": region["version"],
    }


class RegionIndex:
    """Regions by id in memory, with a point-in-polygon index over the grids among them,
    loaded from the store at start, then every `resync_s` seconds refreshed with what changed
    since (events can be missed across a reconnect; the refresh bounds the drift).
    Subclasses say how to load everything and how to load what changed."""

    def __init__(self, resync_s: float):
        self.resync_s = resync_s
        self.nodes: dict[str, dict] = {}
        self.index = PolygonIndex()
        self._task: asyncio.Task | None = None
        self._synced: datetime | None = None  # when the last load or refresh began
        self._unfrozen = 0  # regions remembered since the heap was last frozen

    async def load(self) -> None:
        raise NotImplementedError

    async def load_changed(self, since: datetime) -> None:
        """Remember every region written at or after `since`."""
        raise NotImplementedError

    def replace_all(self, nodes: dict[str, dict]) -> None:
        self.nodes = nodes
        self.index.replace_all((i, n.get("boundary")) for i, n in nodes.items() if n["level"] == "GRID")

    def remember(self, region_id: str, node: dict) -> None:
        self.nodes[region_id] = node
        self._unfrozen += 1
        if node["level"] == "GRID":
            self.index.put(region_id, node.get("boundary"))

    def locate(self, lng: float, lat: float) -> dict | None:
        grid_id = self.index.locate(lng, lat)
        return self.nodes.get(grid_id) if grid_id else None

    async def start(self) -> None:
        began = now()
        await self.load()
        self._synced = began
        self._task = asyncio.create_task(self._resync())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    async def refresh(self) -> None:
        """What changed since the last load or refresh (with an overlap), into memory."""
        began = now()
        await self.load_changed((self._synced or began) - REFRESH_OVERLAP)
        self._synced = began

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.resync_s)
            try:
                await self.refresh()
            except Exception:  # noqa: BLE001
                log.exception("%s resync failed", type(self).__name__)
            if self._unfrozen >= FREEZE_AFTER:  # a territory grew by a bulk load: out of later GC scans
                self._unfrozen = 0
                freeze_long_lived()


class TerritoryReplica(RegionIndex):
    def __init__(self, rt: ServiceRuntime, resync_s: float = 30.0, on_moved: MovedHook | None = None):
        super().__init__(resync_s)
        self.rt, self.coll, self.on_moved = rt, rt.db[COLLECTION], on_moved
        rt.indexes[COLLECTION] = [IndexModel([("path", ASCENDING)]), IndexModel([("at", ASCENDING)])]
        self.roles = rt.db[ROLES]
        rt.consume("grids", "territory", self.on_event)
        rt.broadcast("grids", self.on_broadcast)
        rt.verifier.assignments = self  # people signed in by `sub` alone: their role from the replica
        rt.on_start(self.start)
        rt.on_stop(self.stop)

    # -- reads -----------------------------------------------------------------------------
    def get(self, region_id: str) -> dict | None:
        return self.nodes.get(region_id)

    def path(self, region_id: str) -> list[str] | None:
        node = self.nodes.get(region_id)
        return node["path"] if node else None

    def visible_path(self, p: Principal, region_id: str, what: str = "region") -> list[str]:
        """The path of a region this service knows and the caller may see; else FORBIDDEN, the
        same whether it is unknown or outside their scope (NOT_FOUND to an unrestricted caller)."""
        path = self.path(region_id)
        if path is None or not p.can_see_path(path):
            raise self._hidden(p, f"{what} {region_id}")
        return path

    def within(self, p: Principal, region_id: str | None, rule: ScopeRule = REGION_RULE) -> Scope:
        """What a list of `region_id` reads: the part of the caller's scope by `rule` in that
        region's subtree, the region lying in the caller's scope (else as `visible_path`); with
        no region, the caller's whole scope by `rule` (`shared.scope.ScopeRule.of`)."""
        if region_id:
            self.visible_path(p, region_id)
        return rule.of(p, region_id)

    def _hidden(self, p: Principal, what: str) -> DomainError:
        return NotFound(f"{what} is not known to {self.rt.name}") if p.unrestricted else hidden(p, what)

    def region_items(self, ids: list[str], p: Principal, view: Callable[[str], dict]) -> dict:
        """A per-region batch reply (figures): each id's view, or (as `visible_path`) an error."""
        require_figures(p)
        items: dict[str, Any] = {}
        for i in ids:
            path = self.path(i)
            items[i] = (
                view(i) if path is not None and p.can_see_path(path) else item_error(self._hidden(p, f"region {i}"))
            )
        return {"items": items}

    # -- upkeep ----------------------------------------------------------------------------
    async def load(self) -> None:
        self.replace_all({d["_id"]: d async for d in self.coll.find()})

    async def load_changed(self, since: datetime) -> None:
        """Nodes are stamped `at` when this service's consumer writes them (nodes written
        before the stamp existed came with the full load at start)."""
        async for d in self.coll.find({"at": {"$gte": since}}):
            self._remember(d)

    def _remember(self, node: dict) -> None:
        self.remember(node["_id"], node)

    async def on_broadcast(self, event: CloudEvent) -> None:
        """Every process refreshes its in-memory copy as soon as the durable consumer (in any
        replica) may have written; the periodic resync covers what this misses."""
        region = event.data.get("region")
        if region:
            await asyncio.sleep(0.05)
            for d in await self.coll.find({"path": region["id"]}).to_list(None):
                self._remember(d)

    async def claims(self, sub: str) -> dict[str, str] | None:
        """A person's role assignment as this service last heard of it (seconds behind grids)."""
        d = await self.roles.find_one({"_id": subject_key(self.rt.settings.jwt_secret, sub)})
        return d["claims"] if d and d["active"] else None

    async def _role(self, event: CloudEvent) -> None:
        a = event.data["assignment"]
        claims = assignment_claims(a["role"], a["regionId"], a.get("dept"), a.get("member"))
        doc = {"claims": claims, "active": event.event == "ROLE_ASSIGNED", "at": now()}
        try:  # one-sided: a version, read by `_id`; a redelivered older event changes nothing
            await self.roles.update_one(
                {"_id": a["subKey"], "version": {"$lt": event.aggversion or 0}},
                {"$set": doc | {"version": event.aggversion or 0}},
                upsert=True,
            )
        except DuplicateKeyError:
            return

    async def on_event(self, event: CloudEvent) -> None:
        if event.event in ROLE_EVENTS:
            return await self._role(event)
        region = event.data.get("region")
        if not region:
            return  # grid-worker events: not part of the tree
        node = node_of(region)
        if event.event == "REGION_MOVED":
            await self._move(node, event.data["oldPath"], event.data["newPath"])
            if self.on_moved:  # must be idempotent per event id: it runs again on redelivery
                await self.on_moved(event.id, node["_id"], event.data["oldPath"], event.data["newPath"])
        try:
            await self.coll.update_one(  # one-sided: a version, read by `_id`
                {"_id": node["_id"], "version": {"$lt": node["version"]}}, {"$set": {**node, "at": now()}}, upsert=True
            )
        except DuplicateKeyError:
            return  # the replica already holds this version or a newer one
        self._remember(node)

    async def _move(self, node: dict, old_path: list[str], new_path: list[str]) -> None:
        """Re-path the subtree; idempotent: only nodes still under the old path change."""
        n = len(old_path)
        for d in await self.coll.find({"path": node["_id"]}).to_list(None):
            if d["path"][:n] == old_path:
                d["path"] = [*new_path, *d["path"][n:]]
                await self.coll.update_one({"_id": d["_id"]}, {"$set": {"path": d["path"], "at": now()}})
                self._remember(d)
