"""Households (`domain/households.py`): register, read, change, move out, list, reveal, import."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.grids.domain import households as hh
from services.grids.handlers.context import SERVICE, GridContext
from services.grids.household_store import HouseholdStore
from services.grids.household_views import household_dto, household_event_data, plain_person, sealed_person
from shared.auth import Principal, hidden, public_actor
from shared.commands import page_reply
from shared.contracts.common import ById, ByIds
from shared.contracts.grids import (
    HouseholdsOfMember,
    ListHouseholds,
    MoveOutHousehold,
    PersonInput,
    RegisterHousehold,
    RevealHousehold,
    UpdateHousehold,
)
from shared.errors import Conflict
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Request, item_error
from shared.mongo import UnitOfWork, now, remember, remembered
from shared.paging import KEY, page_key
from shared.records import flat_and, flatten
from shared.scope import region_scope
from shared.trends import city_tz

Hook = Callable[[UnitOfWork, "dict | None", dict], Awaitable[None]]
CHANGE_HOOKS: list[Hook] = []
"""What other parts do with a household in the transaction that writes it: each hook is awaited with
(the unit of work, the household before — None when new —, the household after) on register, update,
move out and import. A hook may write its own fields of the household (`mustVisit`, `nextVisitDue`…)
and bump its own counters for a live household; on moving out (`movedOutAt` set) the households
part has already taken away every stock counter the household held (`standing_counters`)."""


BatchHook = Callable[[UnitOfWork, list[dict]], Awaitable[dict[str, Counter]]]
IMPORT_HOOKS: dict[Hook, BatchHook] = {}
"""The batch form of a change hook, for the new households of an import: awaited once per batch with
the documents before they are inserted, it sets its own fields on them and returns its counter changes
per region node, which the import adds with its own (one increment per node and batch) instead of a
read, a write and a bump per household. A hook without a batch form runs per household after the insert."""


async def run_hooks(uow: UnitOfWork, before: dict | None, after: dict) -> None:
    for hook in CHANGE_HOOKS:
        await hook(uow, before, after)


async def run_import_hooks(uow: UnitOfWork, docs: list[dict]) -> dict[str, Counter]:
    """Before an import's insert: the batch hooks over the new households; their counters summed per node."""
    totals: dict[str, Counter] = {}
    for hook in CHANGE_HOOKS:
        if (batch := IMPORT_HOOKS.get(hook)) is not None and docs:
            for node, c in (await batch(uow, docs)).items():
                totals.setdefault(node, Counter()).update(c)
    return totals


async def run_hooks_after_import(uow: UnitOfWork, docs: list[dict]) -> None:
    """After an import's insert: the change hooks that have no batch form, household by household."""
    for hook in CHANGE_HOOKS:
        if hook not in IMPORT_HOOKS:
            for doc in docs:
                await hook(uow, None, doc)


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
        return (await self.ctx.household_scope(p)).admits(doc)

    def view(self, p: Principal, d: dict, revealed: bool = False) -> dict:
        return household_dto(p, d, self.ctx.cipher, revealed)

    def event(self, p: Principal, name: str, d: dict, changed: list[str] | None = None) -> CloudEvent:
        return make_event(
            SERVICE,
            name,
            d["_id"],
            household_event_data(d, changed),
            path=d["path"],
            actor=public_actor(p),
            version=d["version"],
        )

    async def stored(self, household_id: str) -> dict:
        d = await self.store.get(household_id)
        assert d is not None, household_id  # one this service wrote (an idempotent replay)
        return d

    async def claim_place(self, uow: UnitOfWork, key: str, own_id: str) -> None:
        """The unit and room must be free of other live households (the unique index decides a race)."""
        taken = await self.store.coll.find_one({"placeKey": key}, {"_id": 1}, session=uow.session)
        if taken is not None and taken["_id"] != own_id:
            raise hh.place_conflict(key, taken["_id"])

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
            household_id = new_id("hh")
            doc: dict[str, Any] = {
                "_id": household_id,
                KEY: page_key(household_id),  # lists page by it (shared/paging)
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
            await run_hooks(uow, None, doc)
            uow.record(self.event(p, "HOUSEHOLD_REGISTERED", doc))
            return doc

        try:
            return self.view(p, await ctx.rt.transact(work))
        except DuplicateKeyError:
            if key and (done := await remembered(ctx.rt.db, key)):
                return self.view(p, await self.stored(done))
            raise hh.place_conflict(place, None) from None

    async def get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        hh.check_not_figures_only(p, await self.own_level(p))
        d = await self.store.get(q.id)
        if d is None and p.unrestricted:
            return None
        if d is None or not await self.scope_admits(p, d):
            raise hidden(p, f"household {q.id}")
        return self.view(p, d)

    async def stats(self, req: Request) -> dict:
        """Household figures of regions (counts by tag, and what visits and links count of them):
        to every reader of a region's figures in scope, staff above the community too."""
        q, p = req.parse(ByIds), req.principal
        docs = await self.ctx.store.rollup_docs(list(dict.fromkeys(q.ids)))
        out: dict[str, Any] = {}
        for i in q.ids:
            d = docs.get(i)
            if d is None or not region_scope(p).admits(d):
                out[i] = item_error(hidden(p, f"region {i}"))
            else:
                out[i] = hh.household_figures(flatten(d["counters"]))
        return {"items": out}

    async def batch(self, req: Request) -> dict:
        """ids -> household or item error (for loaders): one read for the whole batch."""
        q, p = req.parse(ByIds), req.principal
        level = await self.own_level(p)
        docs = await self.store.many(list(dict.fromkeys(q.ids)))
        out: dict[str, Any] = {}
        for i in q.ids:
            d = docs.get(i)
            if hh.figures_only(p, level):
                out[i] = item_error(hh.figures_only_error(p, level))
            elif d is None and p.unrestricted:
                out[i] = None
            elif d is None or not hh.household_scope(p, level).admits(d):
                out[i] = item_error(hidden(p, f"household {i}"))
            else:
                out[i] = self.view(p, d)
        return {"items": out}

    async def list(self, req: Request) -> dict:
        q, p, ctx = req.parse(ListHouseholds), req.principal, self.ctx
        level = await self.own_level(p)
        hh.check_may_read(p, level)
        region = await ctx.load_in_scope(p, q.regionId)
        query = flat_and(
            hh.household_scope(p, level, region["_id"]).filter(),
            {} if q.includeMovedOut else {"movedOutAt": None},
            {"tags": q.tag.value} if q.tag else {},
        )
        docs, total, more = await self.store.page(query, q.first, q.after)
        return page_reply([self.view(p, d) for d in docs], total, more)

    async def by_member(self, req: Request) -> dict:
        """The live households a party member is linked to (联户), in the caller's scope."""
        q, p = req.parse(HouseholdsOfMember), req.principal
        level = await self.own_level(p)
        hh.check_may_read(p, level)
        query = flat_and({"linkedMemberIds": q.memberId}, hh.household_scope(p, level).filter(), {"movedOutAt": None})
        docs, total, more = await self.store.page(query, q.first, q.after)
        return page_reply([self.view(p, d) for d in docs], total, more)

    async def _in_scope(self, p: Principal, household_id: str, uow: UnitOfWork) -> dict:
        d = await self.store.get(household_id, uow)
        if d is None or not await self.scope_admits(p, d):
            raise hidden(p, f"household {household_id}")
        return d

    async def update(self, req: Request) -> dict:
        c, p, ctx = req.parse(UpdateHousehold), req.principal, self.ctx
        hh.check_may_write(p, await self.own_level(p))
        day = today()
        key = f"household.update:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        if key and (done := await remembered(ctx.rt.db, key)):
            return self.view(p, await self.stored(done))

        async def work(uow: UnitOfWork) -> dict:
            d = await self._in_scope(p, c.id, uow)
            hh.check_active(d)
            hh.check_version(d["version"], c.expectedVersion)
            given = c.model_fields_set
            stored = [plain_person(x, ctx.cipher) for x in (d["head"], *(d.get("members") or []))]
            head = person_of(kept(c.head, stored[:1]), day, "head") if c.head else None
            members = (
                [person_of(kept(m, stored[1:]), day, f"member {i + 1}") for i, m in enumerate(c.members)]
                if c.members is not None
                else None
            )
            fields: dict[str, Any] = {}
            changed: list[str] = []
            people = [
                head or stored_person(stored[0]),
                *(members if members is not None else map(stored_person, stored[1:])),
            ]
            hh.check_persons(people[0], people[1:])
            if head is not None:
                fields["head"] = sealed_person(head, ctx.cipher)
                changed.append("head")
            if members is not None:
                fields["members"] = [sealed_person(m, ctx.cipher) for m in members]
                fields["residentCount"] = 1 + len(members)
                changed.append("members")
            tags = hh.check_tags([t.value for t in c.tags] if c.tags is not None else d.get("tags") or [], people, day)
            if tags != (d.get("tags") or []):
                fields["tags"] = tags
                changed.append("tags")
            if given & {"unit", "room"}:
                unit, room = hh.check_place(
                    c.unit if "unit" in given else d.get("unit"), c.room if "room" in given else d.get("room")
                )
                if (unit, room) != (d.get("unit"), d.get("room")):
                    place = hh.place_key(d["buildingId"], unit, room)
                    await self.claim_place(uow, place, d["_id"])
                    fields |= {"unit": unit, "room": room, "placeKey": place}
                    changed.append("place")
            if not changed:
                return d
            new = await self.store.set_fields(uow, d["_id"], d["version"], {**fields, "updatedAt": now()})
            if new is None:
                raise Conflict("the household changed while you were updating it; read it again")
            delta = hh.counter_delta(hh.counters_of_household(d), hh.counters_of_household(new))
            await ctx.store.bump(uow, new["path"], delta)
            if key:
                await remember(uow, key, new["_id"])
            await run_hooks(uow, d, new)
            uow.record(self.event(p, "HOUSEHOLD_UPDATED", new, changed))
            return new

        try:
            return self.view(p, await ctx.rt.transact(work))
        except DuplicateKeyError:
            if key and (done := await remembered(ctx.rt.db, key)):
                return self.view(p, await self.stored(done))
            raise Conflict("another household took that unit and room at the same time; read it again") from None

    async def move_out(self, req: Request) -> dict:
        c, p, ctx = req.parse(MoveOutHousehold), req.principal, self.ctx
        hh.check_may_write(p, await self.own_level(p))
        reason = hh.check_reason(c.reason)

        async def work(uow: UnitOfWork) -> dict:
            d = await self._in_scope(p, c.id, uow)
            hh.check_active(d)
            hh.check_version(d["version"], c.expectedVersion)
            new = await self.store.set_fields(
                uow,
                d["_id"],
                d["version"],
                {"movedOutAt": now(), "moveOutReason": reason, "updatedAt": now()},
                unset=("placeKey",),
            )
            if new is None:
                raise Conflict("the household changed while you were moving it out; read it again")
            await ctx.store.bump(uow, d["path"], hh.standing_counters(d), sign=-1)
            await run_hooks(uow, d, new)
            uow.record(self.event(p, "HOUSEHOLD_MOVED_OUT", new, ["movedOut"]))
            return new

        return self.view(p, await ctx.rt.transact(work))

    async def reveal(self, req: Request) -> dict:
        """One household unmasked (ID numbers too), for an administrator whose region holds it;
        audited (HOUSEHOLD_REVEALED: who, the reason's length; never the data)."""
        c, p, ctx = req.parse(RevealHousehold), req.principal, self.ctx
        hh.check_may_reveal(p)
        reason = hh.check_reason(c.reason)

        async def work(uow: UnitOfWork) -> dict:
            d = await self.store.get(c.id, uow)
            if d is None or not hh.HOUSEHOLD_SCOPE.admits(p, d):
                raise hidden(p, f"household {c.id}")
            data = {"householdId": d["_id"], "buildingId": d["buildingId"], "reasonLength": len(reason)}
            uow.record(
                make_event(
                    SERVICE,
                    "HOUSEHOLD_REVEALED",
                    d["_id"],
                    data | {"role": str(p.role)},
                    path=d["path"],
                    actor=public_actor(p),
                )
            )
            return d

        return self.view(p, await ctx.rt.transact(work), revealed=True)


def kept(x: PersonInput, stored: list[dict[str, Any]]) -> PersonInput:
    """A person as given, with the phone, ID number, gender and birth year left out taken from the
    stored person of the same relation and name (callers see those masked and need not type them again)."""
    same = next((s for s in stored if s["relation"] == x.relation.value and s["name"] == x.name), None)
    if same is None:
        return x
    given = x.model_fields_set
    keep = {k: same[k] for k in ("phone", "idNumber", "gender", "birthYear") if k not in given and same[k] is not None}
    return x.model_copy(update=keep)


def stored_person(plain: dict[str, Any]) -> hh.Person:
    """A stored (decrypted) person, as the rules read it."""
    return hh.Person(
        hh.Relation(plain["relation"]),
        plain["name"],
        plain.get("phone"),
        plain.get("idNumber"),
        plain.get("gender"),
        plain.get("birthYear"),
    )
