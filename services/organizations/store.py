"""MongoDB access for organisations: one collection per record kind, region rollups, and a
`keys` collection whose `_id`s make uniqueness hold under concurrency (one organisation per
type and anchor, one member per ID number)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.organizations import domain as d
from shared.domain import RollupDelta
from shared.mongo import UnitOfWork
from shared.records import DAY_BUCKET_INDEXES, Records, add_rollups, bsonable, claim_key, read_days

ID_NUMBER_KEY = "member-id-number:"  # + the ID number's blind index: one member per ID number
PATH = [("path", ASCENDING), ("_id", ASCENDING)]
INDEXES = {
    "organizations": [IndexModel(PATH), IndexModel([("parent_id", ASCENDING), ("_id", ASCENDING)]),
                      IndexModel([("weak", ASCENDING), ("holds_life", ASCENDING), ("last_active_at", ASCENDING)])],
    "members": [IndexModel(PATH), IndexModel([("org_id", ASCENDING), ("_id", ASCENDING)]),
                IndexModel([("dual_community", ASCENDING), ("_id", ASCENDING)])],
    "transfers": [IndexModel(PATH), IndexModel([("to_path", ASCENDING), ("_id", ASCENDING)]),
                  IndexModel([("member_id", ASCENDING), ("_id", ASCENDING)]),
                  IndexModel([("status", ASCENDING), ("overdue_flagged", ASCENDING), ("deadline_at", ASCENDING)])],
    # every record that keeps a region path has an index on it: a moved region's records are
    # found by it (shared/moves)
    "twinnings": [IndexModel([("community_id", ASCENDING), ("_id", ASCENDING)]), IndexModel(PATH)],
    "units": [IndexModel(PATH)],
    "linkages": [IndexModel(PATH)],
    "meetings": [IndexModel(PATH), IndexModel([("committee_id", ASCENDING), ("scheduled_at", ASCENDING)])],
    "life": [IndexModel([("org_id", ASCENDING), ("held_at", ASCENDING)]), IndexModel([("org_path", ASCENDING)])],
    "needs": [IndexModel(PATH)], "resources": [IndexModel(PATH)], "projects": [IndexModel(PATH)],
    "feedback": [IndexModel(PATH), IndexModel([("member_id", ASCENDING), ("_id", ASCENDING)])],
    "case_links": [], "rollups": [], "keys": [], "rollup_days": DAY_BUCKET_INDEXES,
}


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
        def records(name: str, model: type, what: str) -> Records:
            return Records(db, name, model, what, path_of=lambda r: r.scope_path, extra=extra_fields)

        self.orgs = records("organizations", d.Organization, "party organisation")
        self.members = records("members", d.PartyMember, "party member")
        self.transfers = records("transfers", d.Transfer, "transfer")
        self.twinnings = records("twinnings", d.UnitTwinning, "twinning")
        self.units = records("units", d.Unit, "co-building unit")
        self.linkages = records("linkages", d.Linkage, "linkage")
        self.meetings = records("meetings", d.JointMeeting, "joint meeting")
        self.needs = records("needs", d.Need, "need")
        self.resources = records("resources", d.Resource, "resource")
        self.projects = records("projects", d.Project, "project")
        self.feedback = records("feedback", d.FeedbackRecord, "feedback record")
        self.life = db.life
        self.rollups, self.keys, self.days = db.rollups, db["keys"], db.rollup_days

    async def claim_key(self, uow: UnitOfWork, key: str, owner: str, message: str, also: Sequence[str] = ()) -> None:
        await claim_key(self.keys, uow, key, owner, message, also)

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
        # A counter like `organizations.GRID_BRANCH` is stored as `organizations:GRID_BRANCH`:
        # a dotted name would nest under the `organizations` counter itself.
        await add_rollups(self.rollups, uow, deltas, lambda k: k.replace(".", ":"), days=self.days)

    async def trend_days(self, region: str, first: str, last: str | None) -> dict[str, dict[str, int]]:
        return await read_days(self.days, region, first, last, lambda k: k.replace(":", "."))

    async def counters(self, ids: list[str]) -> dict[str, dict[str, int]]:
        return {x["_id"]: {k.replace(":", "."): int(v) for k, v in x.get("c", {}).items()}
                async for x in self.rollups.find({"_id": {"$in": ids}})}
