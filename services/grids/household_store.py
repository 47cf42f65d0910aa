"""MongoDB access for households (grids `households`): one household, a region's page, a member's, a bulk insert."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import UnitOfWork

HOUSEHOLDS = "households"


class HouseholdStore:
    def __init__(self, db: AsyncDatabase):
        self.coll = db[HOUSEHOLDS]

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

    async def save(self, uow: UnitOfWork, doc: dict, version: int) -> dict | None:
        """Replace the household if it is still at `version` (the new doc has version + 1); None: lost a race."""
        res = await self.coll.replace_one({"_id": doc["_id"], "version": version}, doc, session=uow.session)
        return doc if res.matched_count == 1 else None

    async def page(self, query: dict[str, Any], first: int, after: str | None) -> tuple[list[dict], int, bool]:
        total = await self.coll.count_documents(query)
        q = {**query, **({"_id": {"$gt": after}} if after else {})}
        docs = await self.coll.find(q).sort("_id", 1).limit(first + 1).to_list(first + 1)
        return docs[:first], total, len(docs) > first

    async def taken_places(self, keys: list[str]) -> dict[str, str]:
        """place key -> id of the live household holding it, for those taken."""
        if not keys:
            return {}
        return {d["placeKey"]: d["_id"] async for d in self.coll.find({"placeKey": {"$in": keys}}, {"placeKey": 1})}

    def all_live(self, projection: dict[str, int]):
        """Every household not moved out (a cursor: a recount reads them once)."""
        return self.coll.find({"movedOutAt": None}, projection)

    def everything(self, projection: dict[str, int]):
        return self.coll.find({}, projection)
