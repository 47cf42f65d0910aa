"""MongoDB access for volunteers: one collection per record kind, the points ledger (append-
only, one wallet document per volunteer whose version serialises redemptions), the reward
catalogue, service records for 双报到 feedback, a replica of party members, region rollups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.volunteers import domain as d
from shared.domain import RollupDelta
from shared.errors import BadInput, Conflict
from shared.ids import new_id
from shared.mongo import UnitOfWork, now
from shared.paging import KEY, paged_index
from shared.records import DAY_BUCKET_INDEXES, Records, add_rollups, bsonable, claim_key, read_days, until

PATH = [("path", ASCENDING), (KEY, ASCENDING)]
INDEXES = {
    "volunteers": [
        IndexModel(PATH),
        paged_index("sub"),  # a resident's own record
        IndexModel([("member.member_id", ASCENDING)]),
        # filtered lists page on (filter, path, k): bounded at any level (shared/paging)
        paged_index("volunteer_kind", "path"),
        paged_index("skills", "path"),
    ],
    "teams": [IndexModel(PATH)],
    "posts": [
        IndexModel(PATH),
        IndexModel([("claimants.volunteer_id", ASCENDING), (KEY, ASCENDING)]),
        paged_index("status", "path"),
        paged_index("post_type", "path"),
        paged_index("post_type", "status", "path"),
    ],
    "orders": [
        IndexModel(PATH),
        IndexModel([("resident_sub", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("taker_id", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("status", ASCENDING), ("path", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("status", ASCENDING), ("path", ASCENDING), ("_id", ASCENDING)]),  # the wish wall, in id order
    ],
    # every record that keeps a region path has an index on it: a moved region's records are
    # found by it (shared/moves)
    "tasks": [IndexModel([("volunteer_id", ASCENDING), (KEY, ASCENDING)]), IndexModel(PATH)],
    "activities": [IndexModel(PATH)],
    "ledger": [
        IndexModel([("volunteer_id", ASCENDING), ("at", ASCENDING)]),
        IndexModel([("region_path", ASCENDING)]),
        IndexModel([("expiry_pending", ASCENDING), ("expires_at", ASCENDING)]),
    ],
    "service_records": [IndexModel([("volunteer_id", ASCENDING), ("at", ASCENDING)])],
    "wallets": [],
    "catalogue": [],
    "members": [],
    "rollups": [],
    "keys": [],
    "feedback_versions": [],
    "rollup_days": DAY_BUCKET_INDEXES,
}
# mywork: a region's activities not yet over; a volunteer's orders by status (domain/work.py)
INDEXES["activities"].append(IndexModel([("path", ASCENDING), ("ends_at", ASCENDING)]))
INDEXES["orders"].append(IndexModel([("taker_id", ASCENDING), ("status", ASCENDING)]))
# residents' points: one ledger account per resident (by their sub); the rule table; units' order figures
INDEXES["resident_accounts"] = [IndexModel([("sub", ASCENDING)], unique=True)]
INDEXES["resident_rules"] = []
INDEXES["unit_rollups"] = []
RULES_ID = "table"


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

    async def by_member(self, member_id: str) -> d.Volunteer | None:
        doc = await self.volunteers.coll.find_one({"member.member_id": member_id})
        return None if doc is None else self.volunteers.of(doc)

    async def takers_of_resident(self, resident_sub: str) -> list[str | None]:
        """The takers of a resident's orders (None for an order nobody took)."""
        cur = self.orders.coll.find({"resident_sub": resident_sub}, {"taker_id": 1})
        return [x.get("taker_id") async for x in cur]

    async def claim_key(self, uow: UnitOfWork, key: str, owner: str, message: str) -> None:
        await claim_key(self.keys, uow, key, owner, message)

    # -- the points ledger -----------------------------------------------------------------
    async def entries(self, volunteer_id: str, uow: UnitOfWork | None = None) -> list[d.LedgerEntry]:
        cur = self.ledger.find({"volunteer_id": volunteer_id}, session=uow.session if uow else None).sort("at", 1)
        return [entry_of(x) for x in await cur.to_list(None)]

    async def append(self, uow: UnitOfWork, *entries: d.LedgerEntry) -> None:
        if entries:
            await self.ledger.insert_many([ledger_doc(e) for e in entries], session=uow.session)

    async def entry(self, uow: UnitOfWork, entry_id: str) -> d.LedgerEntry | None:
        doc = await self.ledger.find_one({"_id": entry_id}, session=uow.session)
        return None if doc is None else entry_of(doc)

    async def history_page(
        self, volunteer_id: str, first: int, after: str | None
    ) -> tuple[list[d.LedgerEntry], int, bool]:
        """One page of a volunteer's ledger, newest first (by time, then id); `after` is the id
        of an entry of it. Entries written together share their time (a lot's expiries, a
        batch of credits), so the page after a cursor is the cursor's time-mates with a
        smaller id, then the older entries: two reads on the (volunteer_id, at) index, as an
        `$or` would make the store read the whole ledger."""
        query: dict[str, Any] = {"volunteer_id": volunteer_id}
        total = await self.ledger.count_documents(query)
        newest_first = [("at", -1), ("_id", -1)]
        docs: list[dict] = []
        if after:
            cursor = await self.ledger.find_one({"_id": after, "volunteer_id": volunteer_id})
            if cursor is None:
                raise BadInput("`after` is not an entry of this ledger")
            mates = {**query, "at": cursor["at"], "_id": {"$lt": after}}
            docs = await self.ledger.find(mates).sort(newest_first).limit(first + 1).to_list(first + 1)
            query["at"] = until(cursor["at"], inclusive=False)
        if len(docs) <= first:
            need = first + 1 - len(docs)
            docs += await self.ledger.find(query).sort(newest_first).limit(need).to_list(need)
        return [entry_of(x) for x in docs[:first]], total, len(docs) > first

    async def due_for_expiry(self, at: datetime, limit: int) -> list[str]:
        """The volunteers of up to `limit` credit lots past their expiry not yet written off
        (one id per lot, so a full batch says there may be more)."""
        docs = await self.ledger.find({"expiry_pending": True, "expires_at": until(at)}, {"volunteer_id": 1}).to_list(
            limit
        )
        return [x["volunteer_id"] for x in docs]

    async def expiry_done(self, uow: UnitOfWork, volunteer_id: str, at: datetime) -> None:
        """The volunteer's lots expired by `at` are written off: the sweeper need not look again."""
        await self.ledger.update_many(
            {"volunteer_id": volunteer_id, "expiry_pending": True, "expires_at": until(at)},
            {"$set": {"expiry_pending": False}},
            session=uow.session,
        )

    async def lock_wallet(self, uow: UnitOfWork, volunteer_id: str) -> None:
        """Serialise commands that spend from one volunteer's ledger: both write this
        document, so one of two concurrent transactions conflicts and retries."""
        await self.wallets.update_one({"_id": volunteer_id}, {"$inc": {"version": 1}}, upsert=True, session=uow.session)

    async def item(self, code: str, uow: UnitOfWork | None = None) -> d.CatalogueItem | None:
        doc = await self.catalogue.find_one({"_id": code}, session=uow.session if uow else None)
        return (
            None
            if doc is None
            else d.CatalogueItem(code=doc["_id"], name=doc["name"], cost=doc["cost"], stock=doc["stock"])
        )

    async def items(self) -> list[d.CatalogueItem]:
        docs = await self.catalogue.find().sort("_id", 1).to_list(None)
        return [d.CatalogueItem(code=x["_id"], name=x["name"], cost=x["cost"], stock=x["stock"]) for x in docs]

    async def put_item(self, item: d.CatalogueItem, by: str) -> None:
        await self.catalogue.update_one(
            {"_id": item.code},
            {"$set": {"name": item.name, "cost": item.cost, "stock": item.stock, "by": by}},
            upsert=True,
        )

    async def take_stock(self, uow: UnitOfWork, item: d.CatalogueItem) -> None:
        res = await self.catalogue.update_one(
            {"_id": item.code, "stock": {"$gte": 1}}, {"$inc": {"stock": -1}}, session=uow.session
        )
        if res.matched_count != 1:
            raise Conflict(f"item {item.code} is out of stock", {"code": item.code})

    # -- service records for 双报到 feedback -------------------------------------------------
    async def add_records(self, uow: UnitOfWork, records: list[d.ServiceRecord]) -> None:
        for r in records:
            doc = bsonable(r.model_dump(mode="python"))
            await self.records.replace_one(
                {"_id": f"{r.kind}:{r.source_id}:{r.volunteer_id}"}, doc, upsert=True, session=uow.session
            )

    async def records_between(
        self, uow: UnitOfWork, volunteer_id: str, start: datetime, end: datetime
    ) -> list[d.ServiceRecord]:
        cur = self.records.find({"volunteer_id": volunteer_id, "at": {"$gte": start, "$lt": end}}, session=uow.session)
        return [d.ServiceRecord.model_validate(x) for x in await cur.to_list(None)]

    async def next_feedback_version(self, uow: UnitOfWork, key: str) -> int:
        doc = await self.db.feedback_versions.find_one_and_update(
            {"_id": key}, {"$inc": {"v": 1}}, upsert=True, return_document=True, session=uow.session
        )
        if doc is None:  # an upsert returning the new document always finds one
            raise RuntimeError(f"feedback version {key} was not written")
        return int(doc["v"])

    # -- party members (replica of organizations) ------------------------------------------
    async def member(self, member_id: str) -> d.MemberRef | None:
        doc = await self.members.find_one({"_id": member_id})
        if doc is None:
            return None
        return d.MemberRef(
            member_id=doc["_id"], org_id=doc["org_id"], in_service=doc["in_service"], work_unit_id=doc["org_id"]
        )

    async def apply_member_change(self, change: d.MemberChange) -> None:
        update = {"$setOnInsert" if change.on_insert else "$set": change.fields}
        await self.members.update_one({"_id": change.member_id}, update, upsert=change.on_insert)

    async def refresh_member(self, member_id: str) -> None:
        """Keep a linked volunteer's copy of the member (in service, organisation) current."""
        ref = await self.member(member_id)
        doc = await self.volunteers.coll.find_one({"member.member_id": member_id}, {"_id": 1})
        if ref is None or doc is None:
            return
        await self.volunteers.coll.update_one({"_id": doc["_id"]}, {"$set": {"member": ref.model_dump(mode="python")}})

    # -- rollups ---------------------------------------------------------------------------
    async def apply(self, uow: UnitOfWork, deltas: list[RollupDelta]) -> None:
        await add_rollups(self.rollups, uow, deltas, days=self.days)

    async def trend_days(self, region: str, first: str, last: str | None) -> dict[str, dict[str, int]]:
        return await read_days(self.days, region, first, last)

    async def counters(self, ids: list[str]) -> dict[str, dict[str, int]]:
        return {
            x["_id"]: {k: int(v) for k, v in x.get("c", {}).items()}
            async for x in self.rollups.find({"_id": {"$in": ids}})
        }

    # -- residents' points -------------------------------------------------------------------
    async def resident_account(self, sub: str, create: bool = False) -> d.ResidentAccount | None:
        """The ledger account of the resident `sub`; with `create`, made on first use (outside any
        transaction: an account with no entries is harmless, and two first awards race only here,
        on the unique index)."""
        coll = self.db.resident_accounts
        doc = await coll.find_one({"sub": sub})
        if doc is None and create:
            try:
                await coll.insert_one({"_id": new_id("ra"), "sub": sub, "created_at": now()})
            except DuplicateKeyError:
                pass
            doc = await coll.find_one({"sub": sub})
        return None if doc is None else d.ResidentAccount(id=doc["_id"], sub=doc["sub"], created_at=doc["created_at"])

    async def resident_account_by_id(self, account_id: str, uow: UnitOfWork) -> d.ResidentAccount | None:
        doc = await self.db.resident_accounts.find_one({"_id": account_id}, session=uow.session)
        return None if doc is None else d.ResidentAccount(id=doc["_id"], sub=doc["sub"], created_at=doc["created_at"])

    async def resident_rules(self) -> tuple[tuple[d.ResidentPointsRule, ...], int]:
        """The rule table and its version (the defaults in code, version 0, until an admin sets one)."""
        doc = await self.db.resident_rules.find_one({"_id": RULES_ID})
        if doc is None:
            return d.DEFAULT_RESIDENT_RULES, 0
        return tuple(d.ResidentPointsRule.model_validate(r) for r in doc["rules"]), int(doc["version"])

    async def set_resident_rules(self, uow: UnitOfWork, rules: tuple[d.ResidentPointsRule, ...], by: str) -> int:
        doc = await self.db.resident_rules.find_one_and_update(
            {"_id": RULES_ID},
            {
                "$set": {"rules": [r.model_dump(mode="json") for r in rules], "by": by, "at": now()},
                "$inc": {"version": 1},
            },
            upsert=True,
            return_document=True,
            session=uow.session,
        )
        return int(doc["version"]) if doc else 1

    async def ledger_page(
        self, account_id: str, first: int, after: str | None, shown: Callable[[d.LedgerEntry], bool]
    ) -> tuple[list[d.LedgerEntry], int, bool]:
        """The entries of a resident's ledger its reader is `shown`, newest first: an account's
        entries are few (the rules' caps bound them), so they are read whole on the
        (volunteer_id, at) index and filtered here."""
        entries = [e for e in d.history(await self.entries(account_id)) if shown(e)]
        if after:
            ids = [e.id for e in entries]
            if after not in ids:
                raise BadInput("`after` is not an entry of this ledger")
            entries_after = entries[ids.index(after) + 1 :]
        else:
            entries_after = entries
        return entries_after[:first], len(entries), len(entries_after) > first

    # -- units take service orders: figures per unit ----------------------------------------
    async def apply_units(self, uow: UnitOfWork, deltas: list[d.UnitDelta]) -> None:
        if deltas:
            await add_rollups(self.db.unit_rollups, uow, deltas)

    async def unit_counters(self, ids: list[str]) -> dict[str, dict[str, int]]:
        return {
            x["_id"]: {k: int(v) for k, v in x.get("c", {}).items()}
            async for x in self.db.unit_rollups.find({"_id": {"$in": ids}})
        }
