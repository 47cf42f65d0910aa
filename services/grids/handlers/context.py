"""What every territory handler shares: the runtime, store, grid locator and cipher, and the
steps reads and writes take (load in scope, view a region, build an event)."""

from __future__ import annotations

import time
from typing import Any

from services.grids import domain
from services.grids.domain import households
from services.grids.locator import GridLocator
from services.grids.store import GridStore
from services.grids.views import region_dto, worker_dto, worker_event_data
from shared.auth import Principal, hidden, public_actor
from shared.messaging.envelope import CloudEvent, make_event
from shared.mongo import UnitOfWork
from shared.privacy import FieldCipher
from shared.scope import Scope
from shared.service import ServiceRuntime

SERVICE = "grids"
SCOPE_PATH_TTL_S = 30  # how long a caller's own region path is remembered (for breadcrumbs)


class GridContext:
    def __init__(self, rt: ServiceRuntime, store: GridStore, locator: GridLocator, cipher: FieldCipher):
        self.rt, self.store, self.locator, self.cipher = rt, store, locator, cipher
        self._scope_paths: dict[str, tuple[float, list[str]]] = {}

    async def principal_path(self, p: Principal) -> list[str]:
        """The path of the caller's own region (cached a while: regions seldom move)."""
        if not p.region:
            return []
        hit = self._scope_paths.get(p.region)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        doc = await self.store.get_doc(p.region)
        path = doc["path"] if doc else []
        self._scope_paths[p.region] = (time.monotonic() + SCOPE_PATH_TTL_S, path)
        return path

    async def view(self, p: Principal, d: dict) -> dict | None:
        """Full view in scope; a breadcrumb (id, name, level) for the ancestors of one's scope."""
        if domain.SCOPE.admits(p, d):
            return region_dto(d)
        if d["_id"] in await self.principal_path(p):
            return region_dto(d, partial=True)
        return None

    async def load_in_scope(self, p: Principal, region_id: str, uow: UnitOfWork | None = None) -> dict:
        d = await self.store.get_doc(region_id, uow)
        if d is None or not domain.SCOPE.admits(p, d):
            raise hidden(p, f"region {region_id}")
        return d

    # households: the scope of households (and of what hangs on them, visits) for a caller
    async def household_scope(self, p: Principal, region: str | None = None) -> Scope:
        """`domain/households.household_scope` with the level of the caller's own region: nothing
        to staff above the community, who see figures only."""
        return households.household_scope(p, households.level_of_path(await self.principal_path(p)), region)

    def region_event(self, p: Principal, name: str, d: dict, **extra: Any) -> CloudEvent:
        return make_event(
            SERVICE,
            name,
            d["_id"],
            {"region": region_dto(d), **extra},
            path=d["path"],
            actor=public_actor(p),
            version=d["version"],
        )

    def worker_event(self, p: Principal, name: str, w: dict, path: list[str]) -> CloudEvent:
        return make_event(SERVICE, name, w["_id"], worker_event_data(w), path=path, actor=public_actor(p))

    def worker_view(self, p: Principal, w: dict) -> dict:
        return worker_dto(p, w, self.cipher)
