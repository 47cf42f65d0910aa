"""Households (`domain/households.py`): register, read, change, move out, list, reveal, import."""

from __future__ import annotations

from datetime import date
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.grids.domain import households as hh
from services.grids.handlers.context import SERVICE, GridContext
from services.grids.household_store import HouseholdStore
from services.grids.household_views import household_dto, household_event_data, sealed_person
from shared.auth import Principal, hidden
from shared.contracts.common import ById
from shared.contracts.grids import PersonInput, RegisterHousehold
from shared.errors import Conflict
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now, remember, remembered
from shared.trends import city_tz


def today() -> date:
    return now().astimezone(city_tz()).date()


def person_of(x: PersonInput, day: date, what: str) -> hh.Person:
    return hh.check_person(x.relation, x.name, x.phone, x.idNumber, x.gender, x.birthYear, day, what)


def checked_people(head: PersonInput, members: list[PersonInput], day: date) -> tuple[hh.Person, list[hh.Person]]:
    h = person_of(head, day, "head")
    ms = [person_of(m, day, f"member {i + 1}") for i, m in enumerate(members)]
    hh.check_persons(h, ms)
    return h, ms


class Households:
    def __init__(self, ctx: GridContext):
        self.ctx = ctx
        self.store = HouseholdStore(ctx.rt.db)

    # -- helpers ------------------------------------------------------------------------------
    async def own_level(self, p: Principal) -> str | None:
        return hh.level_of_path(await self.ctx.principal_path(p))

    async def scope_admits(self, p: Principal, doc: dict) -> bool:
        return hh.household_scope(p, await self.own_level(p)).admits(doc)

    def view(self, p: Principal, d: dict, revealed: bool = False) -> dict:
        return household_dto(p, d, self.ctx.cipher, revealed)

    def event(self, p: Principal, name: str, d: dict, changed: list[str] | None = None) -> CloudEvent:
        return make_event(
            SERVICE, name, d["_id"], household_event_data(d, changed), path=d["path"], actor=p.sub, version=d["version"]
        )

    async def stored(self, household_id: str) -> dict:
        d = await self.store.get(household_id)
        assert d is not None, household_id  # one this service wrote (an idempotent replay)
        return d

    async def claim_place(self, uow: UnitOfWork, key: str, own_id: str) -> None:
        """The unit and room must be free of other live households (the unique index decides a race)."""
        taken = await self.store.coll.find_one({"placeKey": key}, {"_id": 1}, session=uow.session)
        if taken is not None and taken["_id"] != own_id:
            raise place_taken(key, taken["_id"])

    # -- verbs --------------------------------------------------------------------------------
    async def register(self, req: Request) -> dict:
        c, p, ctx = req.parse(RegisterHousehold), req.principal, self.ctx
        hh.check_may_write(p, await self.own_level(p))
        day = today()
        head, members = checked_people(c.head, c.members, day)
        tags = hh.check_tags([t.value for t in c.tags], [head, *members], day)
        unit, room = hh.check_place(c.unit, c.room)
        key = f"household.register:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        if key and (done := await remembered(ctx.rt.db, key)):
            return self.view(p, await self.stored(done))
        place = hh.place_key(c.buildingId, unit, room)

        async def work(uow: UnitOfWork) -> dict:
            b = await ctx.load_in_scope(p, c.buildingId, uow)
            hh.check_building(b["level"], b["name"])
            hh.check_building_grid(b["path"], c.gridId)
            at = now()
            doc: dict[str, Any] = {
                "_id": new_id("hh"),
                "buildingId": b["_id"],
                **hh.household_place(b["path"]),
                "unit": unit,
                "room": room,
                "placeKey": place,
                "head": sealed_person(head, ctx.cipher),
                "members": [sealed_person(m, ctx.cipher) for m in members],
                "residentCount": 1 + len(members),
                "tags": tags,
                "linkedMemberIds": [],
                "movedOutAt": None,
                "registeredAt": at,
                "updatedAt": at,
                "version": 1,
            }
            if not await self.scope_admits(p, doc):
                raise hidden(p, f"region {c.buildingId}")
            await self.claim_place(uow, place, doc["_id"])
            await self.store.insert(uow, doc)
            await ctx.store.bump(uow, doc["path"], hh.counters_of_household(doc))
            if key:
                await remember(uow, key, doc["_id"])
            uow.record(self.event(p, "HOUSEHOLD_REGISTERED", doc))
            return doc

        try:
            return self.view(p, await ctx.rt.transact(work))
        except DuplicateKeyError:
            if key and (done := await remembered(ctx.rt.db, key)):
                return self.view(p, await self.stored(done))
            raise place_taken(place, None) from None

    async def get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        hh.check_not_figures_only(p, await self.own_level(p))
        d = await self.store.get(q.id)
        if d is None and p.unrestricted:
            return None
        if d is None or not await self.scope_admits(p, d):
            raise hidden(p, f"household {q.id}")
        return self.view(p, d)


def place_taken(key: str, existing: str | None) -> Conflict:
    building, unit, room = key.split("|")
    where = f"unit {unit} room {room}" if unit else (f"room {room}" if room else "the building (no room given)")
    return Conflict(
        f"{where} of building {building} already has a household living there; move it out first",
        {"buildingId": building, **({"existingId": existing} if existing else {})},
    )
