"""MongoDB access for organisations: one collection per record kind, region rollups, and a
`keys` collection whose `_id`s make uniqueness hold under concurrency (one organisation per
type and anchor, one member per ID number)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.organizations import domain as d
from shared.domain import RollupDelta
from shared.errors import Conflict, NotFound
from shared.mongo import UnitOfWork

R = TypeVar("R", bound=BaseModel)
PATH = [("path", ASCENDING), ("_id", ASCENDING)]
INDEXES = {
    "organizations": [IndexModel(PATH), IndexModel([("parent_id", ASCENDING), ("_id", ASCENDING)]),
                      IndexModel([("weak", ASCENDING), ("holds_life", ASCENDING), ("last_active_at", ASCENDING)])],
    "members": [IndexModel(PATH), IndexModel([("org_id", ASCENDING), ("_id", ASCENDING)]),
                IndexModel([("dual_community", ASCENDING), ("_id", ASCENDING)])],
    "transfers": [IndexModel(PATH), IndexModel([("to_path", ASCENDING), ("_id", ASCENDING)]),
                  IndexModel([("member_id", ASCENDING), ("_id", ASCENDING)]),
                  IndexModel([("status", ASCENDING), ("overdue_flagged", ASCENDING), ("deadline_at", ASCENDING)])],
    "twinnings": [IndexModel([("community_id", ASCENDING), ("_id", ASCENDING)])],
    "units": [IndexModel(PATH)],
    "linkages": [IndexModel(PATH)],
    "meetings": [IndexModel(PATH), IndexModel([("committee_id", ASCENDING), ("scheduled_at", ASCENDING)])],
    "life": [IndexModel([("org_id", ASCENDING), ("held_at", ASCENDING)])],
    "needs": [IndexModel(PATH)], "resources": [IndexModel(PATH)], "projects": [IndexModel(PATH)],
    "feedback": [IndexModel(PATH), IndexModel([("member_id", ASCENDING), ("_id", ASCENDING)])],
    "case_links": [], "volunteer_cases": [], "rollups": [], "keys": [],
}


def bsonable(value: Any) -> Any:
    """BSON has datetimes but no dates: dates go as ISO strings, which pydantic reads back."""
    if isinstance(value, dict):
        return {k: bsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bsonable(v) for v in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


class Records(Generic[R]):
    """One kind of record in its collection; `path` is its scope path, for subtree queries."""

    def __init__(self, db: AsyncDatabase, name: str, model: type[R], what: str):
        self.coll, self.model, self.what = db[name], model, what

    def to_doc(self, record: R) -> dict[str, Any]:
        doc = bsonable(record.model_dump(mode="python"))
        doc["_id"] = doc.pop("id")
        doc["path"] = list(record.scope_path)  # type: ignore[attr-defined]
        doc.update(extra_fields(record))
        return doc

    def of(self, doc: dict[str, Any]) -> R:
        return self.model.model_validate({**doc, "id": doc["_id"]})

    async def get(self, record_id: str, uow: UnitOfWork | None = None) -> R | None:
        doc = await self.coll.find_one({"_id": record_id}, session=uow.session if uow else None)
        return None if doc is None else self.of(doc)

    async def load(self, record_id: str, uow: UnitOfWork | None = None) -> R:
        record = await self.get(record_id, uow)
        if record is None:
            raise NotFound(f"{self.what} {record_id} does not exist")
        return record

    async def many(self, ids: list[str]) -> dict[str, R]:
        return {doc["_id"]: self.of(doc) async for doc in self.coll.find({"_id": {"$in": ids}})}

    async def insert(self, uow: UnitOfWork, record: R) -> None:
        try:
            await self.coll.insert_one(self.to_doc(record), session=uow.session)
        except DuplicateKeyError:
            raise Conflict(f"{self.what} {record.id} already exists", {"id": record.id}) from None  # type: ignore

    async def save(self, uow: UnitOfWork, record: R, expected_version: int) -> None:
        """Replace the record if nobody changed it since it was read (optimistic check)."""
        res = await self.coll.replace_one({"_id": record.id, "version": expected_version},  # type: ignore
                                          self.to_doc(record), session=uow.session)
        if res.matched_count != 1:
            raise Conflict(f"{self.what} {record.id} changed while you were working on it; read it again",  # type: ignore
                           {"id": record.id})  # type: ignore

    async def page(self, query: dict, first: int, after: str | None,
                   sort: str = "_id") -> tuple[list[R], int, bool]:
        total = await self.coll.count_documents(query)
        q = {**query, **({"_id": {"$gt": after}} if after else {})}
        docs = await self.coll.find(q).sort(sort, 1).limit(first + 1).to_list(first + 1)
        return [self.of(x) for x in docs[:first]], total, len(docs) > first

    async def find(self, query: dict, limit: int = 0, sort: str | None = None,
                   uow: UnitOfWork | None = None) -> list[R]:
        cur = self.coll.find(query, session=uow.session if uow else None)
        if sort:
            cur = cur.sort(sort, 1)
        return [self.of(x) for x in await cur.to_list(limit or None)]


def extra_fields(record: BaseModel) -> dict[str, Any]:
    """Fields that only queries need (the store's twins of domain properties)."""
    if isinstance(record, d.Organization):
        return {"holds_life": record.type is not d.OrgType.CENTER_HOUSEHOLD,
                "last_active_at": record.last_life_at or record.created_at}
    if isinstance(record, d.PartyMember):
        return {"dual_community": record.dual.community_id if record.dual_active else None}  # type: ignore
    if isinstance(record, d.Transfer):
        return {"to_path": list(record.to_path)}
    return {}


class OrgStore:
    def __init__(self, db: AsyncDatabase):
        self.db = db
        self.orgs = Records(db, "organizations", d.Organization, "party organisation")
        self.members = Records(db, "members", d.PartyMember, "party member")
        self.transfers = Records(db, "transfers", d.Transfer, "transfer")
        self.twinnings = Records(db, "twinnings", d.UnitTwinning, "twinning")
        self.units = Records(db, "units", d.Unit, "co-building unit")
        self.linkages = Records(db, "linkages", d.Linkage, "linkage")
        self.meetings = Records(db, "meetings", d.JointMeeting, "joint meeting")
        self.needs = Records(db, "needs", d.Need, "need")
        self.resources = Records(db, "resources", d.Resource, "resource")
        self.projects = Records(db, "projects", d.Project, "project")
        self.feedback = Records(db, "feedback", d.FeedbackRecord, "feedback record")
        self.life = db.life
        self.rollups, self.keys = db.rollups, db["keys"]

    async def claim_key(self, uow: UnitOfWork, key: str, owner: str, message: str) -> None:
        """Take a unique key inside the transaction; a concurrent or earlier twin conflicts."""
        existing = await self.keys.find_one({"_id": key}, session=uow.session)
        if existing is not None and existing["owner"] != owner:
            raise Conflict(message, {"existingId": existing["owner"]})
        if existing is None:
            await self.keys.insert_one({"_id": key, "owner": owner}, session=uow.session)

    async def release_key(self, uow: UnitOfWork, key: str) -> None:
        await self.keys.delete_one({"_id": key}, session=uow.session)

    # -- organisational life -----------------------------------------------------------
    async def insert_life(self, uow: UnitOfWork, record: d.LifeRecord) -> None:
        doc = bsonable(record.model_dump(mode="python"))
        doc["_id"] = doc.pop("id")
        await self.life.insert_one(doc, session=uow.session)

    async def life_page(self, org_id: str, first: int, after: str | None) -> tuple[list[d.LifeRecord], int, bool]:
        query = {"org_id": org_id}
        total = await self.life.count_documents(query)
        q = {**query, **({"_id": {"$gt": after}} if after else {})}
        docs = await self.life.find(q).sort("_id", 1).limit(first + 1).to_list(first + 1)
        return [d.LifeRecord.model_validate({**x, "id": x["_id"]}) for x in docs[:first]], total, len(docs) > first

    async def chair_history(self, committee_id: str, uow: UnitOfWork) -> list[str]:
        cur = self.meetings.coll.find({"committee_id": committee_id}, {"chair_unit_id": 1, "scheduled_at": 1},
                                      session=uow.session).sort("scheduled_at", 1)
        return [x["chair_unit_id"] for x in await cur.to_list(None)]

    # -- rollups -------------------------------------------------------------------------
    async def apply(self, uow: UnitOfWork, deltas: list[RollupDelta]) -> None:
        totals: dict[str, dict[str, int]] = {}
        for delta in deltas:
            for region in delta.region_path:
                acc = totals.setdefault(region, {})
                for k, v in delta.changes.items():
                    acc[k] = acc.get(k, 0) + v
        # A counter like `organizations.GRID_BRANCH` is stored as `organizations:GRID_BRANCH`:
        # a dotted name would nest under the `organizations` counter itself.
        ops = [UpdateOne({"_id": region}, {"$inc": {f"c.{k.replace('.', ':')}": v for k, v in c.items() if v}},
                         upsert=True)
               for region, c in totals.items() if any(c.values())]
        if ops:
            await self.rollups.bulk_write(ops, ordered=False, session=uow.session)

    async def counters(self, ids: list[str]) -> dict[str, dict[str, int]]:
        return {x["_id"]: {k.replace(":", "."): int(v) for k, v in x.get("c", {}).items()}
                async for x in self.rollups.find({"_id": {"$in": ids}})}
