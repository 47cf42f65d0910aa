"""MongoDB access for households (grids `households`): one household, a region's page, a member's, a bulk insert."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.bulk import waiting_events
from shared.mongo import OUTBOX, UnitOfWork
from shared.paging import Pager, page_key

HOUSEHOLDS = "households"


class HouseholdStore:
    def __init__(self, db: AsyncDatabase):
        self.coll = db[HOUSEHOLDS]
        self.pager = Pager(self.coll)
        self.rollups, self.outbox = db.rollups, db[OUTBOX]

    async def get(self, household_id: str, uow: UnitOfWork | None = None) -> dict | None:
        return await self.coll.find_one({"_id": household_id}, session=uow.session if uow else None)

    async def many(self, ids: list[str]) -> dict[str, dict]:
        return {d["_id"]: d async for d in self.coll.find({"_id": {"$in": ids}})} if ids else {}

    async def insert(self, uow: UnitOfWork, doc: dict) -> None:
        """Written at once (not at flush): a taken unit and room fails here, inside the command."""
        await self.coll.insert_one(doc, session=uow.session)

    async def insert_many(self, uow: UnitOfWork, docs: list[dict]) -> None:
        if docs:
            await self.coll.insert_many(docs, ordered=True, session=uow.session)

    async def set_fields(
        self, uow: UnitOfWork, household_id: str, version: int, fields: dict[str, Any], unset: tuple[str, ...] = ()
    ) -> dict | None:
        """Set fields (others' fields untouched) if the household is still at `version`; bumps it.
        None: it changed meanwhile."""
        update: dict[str, Any] = {"$set": fields, "$inc": {"version": 1}}
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        return await self.coll.find_one_and_update(
            {"_id": household_id, "version": version}, update, session=uow.session, return_document=ReturnDocument.AFTER
        )

    async def page(
        self, query: dict[str, Any], first: int, after: str | None, total: int | None = None
    ) -> tuple[list[dict], int, bool]:
        """One page of the households matching `query`, in bounded work (shared/paging)."""
        return await self.pager.page(query, first, page_key(after) if after else None, total)

    async def taken_places(self, uow: UnitOfWork, keys: list[str]) -> dict[str, str]:
        """place key -> id of the live household holding it, for those taken."""
        if not keys:
            return {}
        found = self.coll.find({"placeKey": {"$in": keys}}, {"placeKey": 1}, session=uow.session)
        return {d["placeKey"]: d["_id"] async for d in found}

    async def existing(self, uow: UnitOfWork, ids: list[str]) -> list[str]:
        """Those of `ids` stored already (point reads by id)."""
        return [d["_id"] async for d in self.coll.find({"_id": {"$in": ids}}, {"_id": 1}, session=uow.session)]

    async def add_rollups(self, uow: UnitOfWork, totals: dict[str, Counter]) -> None:
        """Counters summed per region (a batch's): one increment per region."""
        ops = [
            UpdateOne({"_id": region}, {"$inc": {f"counters.{k}": v for k, v in c.items() if v}})
            for region, c in totals.items()
            if any(c.values())
        ]
        if ops:
            await self.rollups.bulk_write(ops, ordered=False, session=uow.session)

    async def waiting_events(self, limit: int) -> int:
        """Events of this service not yet published by the outbox relay (counted up to `limit` + 1)."""
        return await waiting_events(self.outbox.database, limit)

    def all_live(self, projection: dict[str, int]):
        """Every household not moved out (a cursor: a recount reads them once)."""
        return self.coll.find({"movedOutAt": None}, projection)

    def everything(self, projection: dict[str, int]):
        return self.coll.find({}, projection)
