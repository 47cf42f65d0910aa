"""MongoDB access for 包联 and 党员联户: cadre assignments, member–household links, per-visitor figures."""

from __future__ import annotations

from typing import Any

from pymongo import DeleteOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import UnitOfWork, now

# Figures of one person, in `people`: `visitor:<sub>` (anyone who records visits: a grid worker,
# a cadre) and `member:<memberId>` (a party member): `visitCount`, bumped with each visit they
# record; a member's document also takes a write with each change of their links.
PEOPLE = "people"
VISITOR_KEY, MEMBER_KEY = "visitor:", "member:"


def visitor_key(sub: str) -> str:
    return VISITOR_KEY + sub


def member_key(member_id: str) -> str:
    return MEMBER_KEY + member_id


def _s(uow: UnitOfWork | None) -> Any:
    return uow.session if uow else None


class LinkStore:
    def __init__(self, db: AsyncDatabase):
        self.db = db
        self.cadres, self.links, self.rollups, self.people = db.cadres, db.memberLinks, db.rollups, db[PEOPLE]

    # -- cadres ----------------------------------------------------------------------------
    async def cadre(self, cadre_id: str, uow: UnitOfWork | None = None) -> dict | None:
        return await self.cadres.find_one({"_id": cadre_id}, session=_s(uow))

    async def insert_cadre(self, uow: UnitOfWork, doc: dict) -> None:
        await self.cadres.insert_one(doc, session=uow.session)

    async def end_cadre(self, uow: UnitOfWork, cadre_id: str, by: str) -> dict | None:
        """End an active assignment (its unique key is freed); None: it had ended already."""
        return await self.cadres.find_one_and_update(
            {"_id": cadre_id, "active": True},
            {
                "$set": {"active": False, "activeKey": f"ended:{cadre_id}", "endedAt": now(), "endedBy": by},
                "$inc": {"version": 1},
            },
            session=uow.session,
            return_document=ReturnDocument.AFTER,
        )

    async def count_active(self, uow: UnitOfWork, field: str, value: str) -> int:
        return await self.cadres.count_documents({field: value, "active": True}, session=uow.session)

    async def hold(self, uow: UnitOfWork, region_id: str, delta: int) -> tuple[int, int]:
        """A region's active assignments before and after this transaction's change of `delta`
        (already written). The region's rollup document takes a write first, so two changes to
        one region's cadres conflict and the second runs again and counts the first's."""
        await self.rollups.update_one({"_id": region_id}, {"$inc": {"cadreWrites": 1}}, session=uow.session)
        after = await self.count_active(uow, "regionId", region_id)
        return after - delta, after

    async def cadre_page(self, query: dict, first: int, after: str | None) -> tuple[list[dict], int, bool]:
        total = await self.cadres.count_documents(query)
        q = {**query, **({"_id": {"$gt": after}} if after else {})}
        docs = await self.cadres.find(q).sort("_id", 1).limit(first + 1).to_list(first + 1)
        return docs[:first], total, len(docs) > first

    async def cadres_of(self, sub: str, limit: int) -> list[dict]:
        return await self.cadres.find({"sub": sub, "active": True}).sort("_id", 1).limit(limit).to_list(limit)

    async def active_cadre_regions(self) -> list[str]:
        return [d["regionId"] async for d in self.cadres.find({"active": True}, {"regionId": 1})]

    # -- member links ----------------------------------------------------------------------
    async def touch_member(self, uow: UnitOfWork, member_id: str) -> None:
        """Write the member's own rollup document: two transactions linking one member conflict
        here, so the second runs again and sees the first's links (the cap holds under races)."""
        await self.people.update_one(
            {"_id": member_key(member_id)}, {"$inc": {"linkWrites": 1}}, upsert=True, session=uow.session
        )

    async def touch_members(self, uow: UnitOfWork, member_ids: list[str]) -> None:
        """`touch_member` for several members, in one round trip."""
        ops = [UpdateOne({"_id": member_key(m)}, {"$inc": {"linkWrites": 1}}, upsert=True) for m in sorted(member_ids)]
        if ops:
            await self.people.bulk_write(ops, ordered=False, session=uow.session)

    async def linked_count(self, uow: UnitOfWork, member_id: str) -> int:
        """Live households linked to the member (the households' `linkedMemberIds` index)."""
        return len(await self._linked(member_id, uow))

    async def households_of(self, member_id: str) -> list[str]:
        return await self._linked(member_id)

    async def households_placed(self, member_id: str, uow: UnitOfWork | None = None) -> list[tuple[str, list[str]]]:
        """The member's live households with their paths (for a reader's scope), by the index alone
        (a match on `movedOutAt: None` too would scan): moved-out ones are dropped here."""
        cursor = self.db.households.find({"linkedMemberIds": member_id}, {"movedOutAt": 1, "path": 1}, session=_s(uow))
        return [(d["_id"], d["path"]) async for d in cursor.sort("_id", 1) if d.get("movedOutAt") is None]

    async def _linked(self, member_id: str, uow: UnitOfWork | None = None) -> list[str]:
        return [i for i, _ in await self.households_placed(member_id, uow)]

    async def insert_links(self, uow: UnitOfWork, member_id: str, docs: list[dict], by: str) -> None:
        """The record of each link: who made it and when (a duplicate fails the transaction)."""
        at = now()
        await self.links.insert_many(
            [link_record(member_id, d, by, at) for d in docs],
            session=uow.session,
        )

    async def delete_links(self, uow: UnitOfWork, member_id: str, household_ids: list[str]) -> None:
        await self.links.bulk_write(
            [DeleteOne({"_id": f"{member_id}|{h}"}) for h in household_ids], ordered=False, session=uow.session
        )

    async def bump_visitor(self, uow: UnitOfWork, sub: str, member_id: str | None, delta: int = 1) -> None:
        """Count a visit for its visitor (`visitor:<sub>`) and, when they are a party member,
        for the member (`member:<memberId>`): call with the visit's write, in its transaction."""
        for key in [visitor_key(sub)] + ([member_key(member_id)] if member_id else []):
            uow.update(self.people.name, {"_id": key}, {"$inc": {"visitCount": delta}}, upsert=True)

    async def add_visit_counts(self, uow: UnitOfWork, counts: dict[str, int]) -> None:
        """Bulk `bump_visitor`: visits added per person key (`visitor:<sub>`, `member:<memberId>`), one round trip."""
        ops = [UpdateOne({"_id": k}, {"$inc": {"visitCount": n}}, upsert=True) for k, n in sorted(counts.items()) if n]
        if ops:
            await self.people.bulk_write(ops, ordered=False, session=uow.session)

    # -- visitors' figures -------------------------------------------------------------------
    async def visit_counts(self, keys: list[str]) -> dict[str, int]:
        found = {d["_id"]: d async for d in self.people.find({"_id": {"$in": keys}}, {"visitCount": 1})}
        return {k: int((found.get(k) or {}).get("visitCount", 0)) for k in keys}

    async def set_visit_counts(self, counts: dict[str, int]) -> None:
        """Replay: set people's visit counts to a recount (every person's, zero for the rest)."""
        await self.people.update_many({"_id": {"$nin": list(counts)}}, {"$set": {"visitCount": 0}})
        for key, n in counts.items():
            await self.people.update_one({"_id": key}, {"$set": {"visitCount": n}}, upsert=True)


def link_record(member_id: str, d: dict, by: str, at: Any) -> dict:
    """The record of one member–household link: who made it and when."""
    return {
        "_id": f"{member_id}|{d['_id']}",
        "memberId": member_id,
        "householdId": d["_id"],
        "communityId": d["communityId"],
        "path": d["path"],
        "linkedAt": at,
        "linkedBy": by,
    }
