"""MongoDB access for 包联 and 党员联户: cadre assignments, member–household links, per-visitor figures."""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import UnitOfWork, now

# The rollup document of one visitor (`visitor:<sub>`) or party member (`member:<memberId>`),
# kept in `rollups` beside the regions' (it has no `path`, so no region scope ever admits it):
# `counters.visitCount` is bumped with each visit they record.
VISITOR_KEY, MEMBER_KEY = "visitor:", "member:"


def _s(uow: UnitOfWork | None) -> Any:
    return uow.session if uow else None


class LinkStore:
    def __init__(self, db: AsyncDatabase):
        self.db = db
        self.cadres, self.links, self.rollups = db.cadres, db.memberLinks, db.rollups

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
        """Change a region's count of active assignments (on its rollup document, so two
        assignments to one region conflict and run one after the other); (before, after)."""
        d = await self.rollups.find_one_and_update(
            {"_id": region_id},
            {"$inc": {"cadres": delta}},
            session=uow.session,
            return_document=ReturnDocument.AFTER,
        )
        after = int((d or {}).get("cadres", 0))
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

    # -- visitors' figures -------------------------------------------------------------------
    async def visit_counts(self, keys: list[str]) -> dict[str, int]:
        found = {d["_id"]: d async for d in self.rollups.find({"_id": {"$in": keys}}, {"counters.visitCount": 1})}
        return {k: int(((found.get(k) or {}).get("counters") or {}).get("visitCount", 0)) for k in keys}
