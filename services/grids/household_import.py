"""`household.import`: up to 500 households in one transaction (seeding, a district's onboarding).

The rules of `household.register`, household by household (persons, ID numbers, phones, place,
tags, a BUILDING of the named grid); then for the whole batch at once: `insert_many`, the
rollup counters summed into one increment per region, and a HOUSEHOLDS_IMPORTED event per
building (its households' ids, counts and tags: the outbox's writes of an event per household were
as many as the households' own). A household's id is made from its client `key`
(`import_id`), so one whose key was imported before is found by id and skipped, and a batch sent
again adds nothing (measured: a separate idempotency record per household was a third of a
batch's writes).

All or nothing: a bad household is a BAD_INPUT naming its index and key, a unit and room
already lived in (by another household, or twice in the batch) a CONFLICT; nothing is written.
Batches are written one at a time (they add to the same rollups), and wait while the outbox
relay has more than BACKLOG_MAX events to publish, so an import never outruns it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.grids.domain import households as hh
from services.grids.handlers.context import SERVICE, GridContext
from services.grids.handlers.households import checked_people, run_hooks_after_import, run_import_hooks, today
from services.grids.household_store import HouseholdStore
from services.grids.household_views import sealed_person
from shared.bulk import backlog_below, committed
from shared.contracts.grids import ImportHousehold, ImportHouseholds
from shared.errors import BadInput, Conflict, DomainError
from shared.ids import ALPHABET
from shared.messaging.envelope import make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now
from shared.paging import KEY, page_key
from shared.trends import city_tz, day_of, fold_days

log = logging.getLogger("yiwang.grids.import")
BACKLOG_MAX = 2000
BACKLOG_WAIT_S = 30.0
KEY_PREFIX = "household.import:"


def import_id(key: str) -> str:
    """The id of the household imported under `key`: `hh` and 22 base32 characters, as `new_id`'s."""
    digest = int.from_bytes(hashlib.blake2b((KEY_PREFIX + key).encode(), digest_size=14).digest(), "big")
    return "hh" + "".join(ALPHABET[(digest >> (5 * i)) & 31] for i in range(21, -1, -1))


@dataclass
class _Prepared:
    index: int
    h: ImportHousehold
    head: hh.Person
    members: list[hh.Person]
    tags: list[str]
    unit: str | None
    room: str | None

    @property
    def place(self) -> str:
        return hh.place_key(self.h.buildingId, self.unit, self.room)

    @property
    def id(self) -> str:
        return import_id(self.h.key)


def _bad(x: ImportHousehold, i: int, e: DomainError) -> DomainError:
    return type(e)(f"households[{i}] ({x.key}): {e.message}", {"index": i, "key": x.key, **e.details})


class HouseholdImporter:
    def __init__(self, ctx: GridContext):
        self.ctx, self.rt = ctx, ctx.rt
        self.store = HouseholdStore(ctx.rt.db)
        self._writing = asyncio.Lock()

    def prepare(self, c: ImportHouseholds) -> list[_Prepared]:
        day, out = today(), []
        keys: set[str] = set()
        places: dict[str, int] = {}
        for i, x in enumerate(c.households):
            if x.key in keys:
                raise BadInput(f"households[{i}]: key {x.key} appears twice in the batch", {"index": i})
            keys.add(x.key)
            try:
                head, members = checked_people(x.head, x.members, day)
                tags = hh.check_tags([t.value for t in x.tags], [head, *members], day)
                unit, room = hh.check_place(x.unit, x.room)
            except DomainError as e:
                raise _bad(x, i, e) from None
            p = _Prepared(i, x, head, members, tags, unit, room)
            if p.place in places:
                raise _bad(x, i, hh.place_conflict(p.place, None, f"households[{places[p.place]}]"))
            places[p.place] = i
            out.append(p)
        return out

    async def handle(self, req: Request) -> dict:
        c = req.parse(ImportHouseholds)
        started = time.monotonic()
        prepared = self.prepare(c)

        async def work(uow: UnitOfWork) -> dict:
            return await self.write(uow, req.principal.sub, prepared)

        try:
            async with self._writing:
                await backlog_below(self.store.waiting_events, BACKLOG_MAX, BACKLOG_WAIT_S, "household.import")
                result = await committed(self.rt, work)
        except DuplicateKeyError:  # a twin batch, or a register of the same room, committed first
            raise Conflict("some of these households were registered at the same time; send the batch again") from None
        log.info(
            "household.import: %d of %d households in %.2fs",
            result["imported"],
            len(prepared),
            time.monotonic() - started,
        )
        return result

    async def write(self, uow: UnitOfWork, actor: str, prepared: list[_Prepared]) -> dict:
        done = set(await self.store.existing(uow, [x.id for x in prepared]))
        todo = [x for x in prepared if x.id not in done]
        buildings = await self.ctx.store.chain(sorted({x.h.buildingId for x in todo}), uow)
        by_id = {b["_id"]: b for b in buildings}
        taken = await self.store.taken_places(uow, [x.place for x in todo])
        at, docs = now(), []
        totals: dict[str, Counter] = {}
        for x in todo:
            b = by_id.get(x.h.buildingId)
            try:
                if b is None:
                    raise BadInput(f"building {x.h.buildingId} does not exist", {"buildingId": x.h.buildingId})
                hh.check_building(b["level"], b["name"])
                hh.check_building_grid(b["path"], x.h.gridId)
                if x.place in taken:
                    raise hh.place_conflict(x.place, taken[x.place])
            except DomainError as e:
                raise _bad(x.h, x.index, e) from None
            doc: dict[str, Any] = {
                "_id": x.id,
                KEY: page_key(x.id),  # lists page by it (shared/paging)
                "buildingId": b["_id"],
                **hh.household_place(b["path"]),
                "unit": x.unit,
                "room": x.room,
                "placeKey": x.place,
                "head": sealed_person(x.head, self.ctx.cipher),
                "members": [sealed_person(m, self.ctx.cipher) for m in x.members],
                "residentCount": 1 + len(x.members),
                "tags": x.tags,
                "linkedMemberIds": [],
                "movedOutAt": None,
                "registeredAt": at,
                "updatedAt": at,
                "version": 1,
            }
            docs.append(doc)
            c = hh.counters_of_household(doc)
            for r in doc["path"]:
                totals.setdefault(r, Counter()).update(c)
        # the other parts' fields and counters of the new households, summed with the batch's own
        hooked = await run_import_hooks(uow, docs)
        await self.store.insert_many(uow, docs)
        await run_hooks_after_import(uow, docs)
        by_building: dict[str, list[dict]] = {}
        for doc in docs:
            by_building.setdefault(doc["buildingId"], []).append(doc)
        for building, of in by_building.items():
            first = of[0]
            data = {
                "buildingId": building,
                "gridId": first["gridId"],
                "communityId": first["communityId"],
                "householdIds": [d["_id"] for d in of],
                "householdCount": len(of),
                "residentCount": sum(d["residentCount"] for d in of),
                "byTag": dict(Counter(t for d in of for t in d["tags"])),
            }
            uow.record(make_event(SERVICE, "HOUSEHOLDS_IMPORTED", building, data, path=first["path"], actor=actor))
        days: dict[tuple[str, str], dict[str, int]] = {}
        for node, c in hooked.items():
            totals.setdefault(node, Counter()).update(c)
            fold_days(days, [node], day_of(at, city_tz()), dict(c))  # as a household's own change is bucketed
        await self.ctx.store.bump_nodes(uow, totals, days)
        return {
            "imported": len(docs),
            "skipped": [x.h.key for x in prepared if x.id in done],
            "ids": {x.h.key: x.id for x in prepared},
        }
