"""MongoDB access for volunteers: one collection per record kind, the points ledger (append-
only, one wallet document per volunteer whose version serialises redemptions), the reward
catalogue, service records for 双报到 feedback, a replica of party members, region rollups."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.volunteers import domain as d
from shared.domain import RollupDelta
from shared.errors import Conflict
from shared.mongo import UnitOfWork
from shared.records import DAY_BUCKET_INDEXES, Records, add_rollups, bsonable, claim_key, read_days

PATH = [("path", ASCENDING), ("_id", ASCENDING)]
INDEXES = {
    "volunteers": [IndexModel(PATH), IndexModel([("sub", ASCENDING)]), IndexModel([("member.member_id", ASCENDING)])],
    "teams": [IndexModel(PATH)],
    "posts": [IndexModel(PATH), IndexModel([("claimants.volunteer_id", ASCENDING), ("_id", ASCENDING)])],
    "orders": [IndexModel(PATH), IndexModel([("resident_sub", ASCENDING), ("_id", ASCENDING)]),
               IndexModel([("taker_id", ASCENDING), ("_id", ASCENDING)]),
               IndexModel([("status", ASCENDING), ("path", ASCENDING), ("_id", ASCENDING)])],
    # every record that keeps a region path has an index on it: a moved region's records are
    # found by it (shared/moves)
    "tasks": [IndexModel([("volunteer_id", ASCENDING), ("_id", ASCENDING)]), IndexModel(PATH)],
    "activities": [IndexModel(PATH)],
    "ledger": [IndexModel([("volunteer_id", ASCENDING), ("at", ASCENDING)]), IndexModel([("region_path", ASCENDING)]),
               IndexModel([("expiry_pending", ASCENDING), ("expires_at", ASCENDING)])],
    "service_records": [IndexModel([("volunteer_id", ASCENDING), ("at", ASCENDING)])],
    "wallets": [], "catalogue": [], "members": [], "rollups": [], "keys": [], "feedback_versions": [],
    "rollup_days": DAY_BUCKET_INDEXES,
}


def ledger_doc(e: d.LedgerEntry) -> dict[str, Any]:
    doc = bsonable(e.model_dump(mode="python"))
    doc["_id"] = doc.pop("id")
    doc["expiry_pending"] = e.source_kind.is_credit and e.expires_at is not None
    return doc


def entry_of(doc: dict[str, Any]) -> d.LedgerEntry:
    return d.LedgerEntry.model_validate({**doc, "id": doc["_id"]})


class VolunteerStore:
    def __init__(self, db: AsyncDatabase):
        self.db = db
        self.volunteers = Records(db, "volunteers", d.Volunteer, "volunteer")
        self.teams = Records(db, "teams", d.Team, "team")
        self.posts = Records(db, "posts", d.Post, "post")
        self.orders = Records(db, "orders", d.ServiceOrder, "service order")
        self.tasks = Records(db, "tasks", d.VolunteerTask, "task")
        self.activities = Records(db, "activities", d.Activity, "activity")
        self.ledger, self.wallets, self.catalogue = db.ledger, db.wallets, db.catalogue
        self.records, self.members, self.rollups, self.keys = db.service_records, db.members, db.rollups, db["keys"]
        self.days = db.rollup_days

    async def by_sub(self, sub: str, uow: UnitOfWork | None = None) -> d.Volunteer | None:
        doc = await self.volunteers.coll.find_one({"sub": sub}, session=uow.session if uow else None)
        return None if doc is None else self.volunteers.of(doc)

    async def claim_key(self, uow: UnitOfWork, key: str, owner: str, message: str) -> None:
        await claim_key(self.keys, uow, key, owner, message)

    # -- the points ledger -----------------------------------------------------------------
    async def entries(self, volunteer_id: str, uow: UnitOfWork | None = None) -> list[d.LedgerEntry]:
        cur = self.ledger.find({"volunteer_id": volunteer_id}, session=uow.session if uow else None).sort("at", 1)
        return [entry_of(x) for x in await cur.to_list(None)]

    async def append(self, uow: UnitOfWork, *entries: d.LedgerEntry) -> None:
        if entries:
            await self.ledger.insert_many([ledger_doc(e) for e in entries], session=uow.session)

    async def lock_wallet(self, uow: UnitOfWork, volunteer_id: str) -> None:
        """Serialise commands that spend from one volunteer's ledger: both write this
        document, so one of two concurrent transactions conflicts and retries."""
        await self.wallets.update_one({"_id": volunteer_id}, {"$inc": {"version": 1}}, upsert=True,
                                      session=uow.session)

    async def item(self, code: str, uow: UnitOfWork | None = None) -> d.CatalogueItem | None:
        doc = await self.catalogue.find_one({"_id": code}, session=uow.session if uow else None)
        return None if doc is None else d.CatalogueItem(code=doc["_id"], name=doc["name"], cost=doc["cost"],
                                                        stock=doc["stock"])

    async def take_stock(self, uow: UnitOfWork, item: d.CatalogueItem) -> None:
        res = await self.catalogue.update_one({"_id": item.code, "stock": {"$gte": 1}}, {"$inc": {"stock": -1}},
                                              session=uow.session)
        if res.matched_count != 1:
            raise Conflict(f"item {item.code} is out of stock", {"code": item.code})

    # -- service records for 双报到 feedback -------------------------------------------------
    async def add_records(self, uow: UnitOfWork, records: list[d.ServiceRecord]) -> None:
        for r in records:
            doc = bsonable(r.model_dump(mode="python"))
            await self.records.replace_one({"_id": f"{r.kind}:{r.source_id}:{r.volunteer_id}"}, doc, upsert=True,
                                           session=uow.session)

    async def records_between(self, uow: UnitOfWork, volunteer_id: str, start: datetime, end: datetime
                              ) -> list[d.ServiceRecord]:
        cur = self.records.find({"volunteer_id": volunteer_id, "at": {"$gte": start, "$lt": end}},
                                session=uow.session)
        return [d.ServiceRecord.model_validate(x) for x in await cur.to_list(None)]

    async def next_feedback_version(self, uow: UnitOfWork, key: str) -> int:
        doc = await self.db.feedback_versions.find_one_and_update(
            {"_id": key}, {"$inc": {"v": 1}}, upsert=True, return_document=True, session=uow.session)
        return int(doc["v"])

    # -- party members (replica of organizations) ------------------------------------------
    async def member(self, member_id: str) -> d.MemberRef | None:
        doc = await self.members.find_one({"_id": member_id})
        if doc is None:
            return None
        return d.MemberRef(member_id=doc["_id"], org_id=doc["org_id"], in_service=doc["in_service"],
                           work_unit_id=doc["org_id"])

    # -- rollups ---------------------------------------------------------------------------
    async def apply(self, uow: UnitOfWork, deltas: list[RollupDelta]) -> None:
        await add_rollups(self.rollups, uow, deltas, days=self.days)

    async def trend_days(self, region: str, first: str, last: str | None) -> dict[str, dict[str, int]]:
        return await read_days(self.days, region, first, last)

    async def counters(self, ids: list[str]) -> dict[str, dict[str, int]]:
        return {x["_id"]: {k: int(v) for k, v in x.get("c", {}).items()}
                async for x in self.rollups.find({"_id": {"$in": ids}})}
