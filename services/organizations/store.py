"""MongoDB access for organisations: one collection per record kind, region rollups, and a
`keys` collection whose `_id`s make uniqueness hold under concurrency (one organisation per
type and anchor, one member per ID number)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.organizations import domain as d
from services.organizations.deliberation_store import DELIBERATION_INDEXES
from services.organizations.weak_store import WEAK_INDEXES  # weak organisations
from shared.bulk import waiting_events
from shared.domain import RollupDelta
from shared.mongo import UnitOfWork
from shared.paging import KEY, paged_index
from shared.records import DAY_BUCKET_INDEXES, Records, add_rollups, bsonable, claim_key, read_days, until

ID_NUMBER_KEY = "member-id-number:"  # + the ID number's blind index: one member per ID number
ORG_KEY = "org:"  # + the organisation's uniqueness key (domain `uniqueness_key`): one per type and anchor
PATH = [("path", ASCENDING), (KEY, ASCENDING)]
INDEXES = {
    "organizations": [
        IndexModel(PATH),
        IndexModel([("parent_id", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("weak", ASCENDING), ("holds_life", ASCENDING), ("last_active_at", ASCENDING)]),
    ],
    "members": [
        IndexModel(PATH),
        IndexModel([("org_id", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("dual_community", ASCENDING), (KEY, ASCENDING)]),
    ],
    "transfers": [
        IndexModel(PATH),
        IndexModel([("to_path", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("member_id", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("status", ASCENDING), ("overdue_flagged", ASCENDING), ("deadline_at", ASCENDING)]),
    ],
    # every record that keeps a region path has an index on it: a moved region's records are
    # found by it (shared/moves)
    "twinnings": [IndexModel([("community_id", ASCENDING), (KEY, ASCENDING)]), IndexModel(PATH)],
    "units": [IndexModel(PATH)],
    "linkages": [IndexModel(PATH)],
    "meetings": [IndexModel(PATH), IndexModel([("committee_id", ASCENDING), ("scheduled_at", ASCENDING)])],
    "life": [IndexModel([("org_id", ASCENDING), ("held_at", ASCENDING)]), IndexModel([("org_path", ASCENDING)])],
    "needs": [IndexModel(PATH)],
    "resources": [IndexModel(PATH)],
    "projects": [IndexModel(PATH)],
    "feedback": [IndexModel(PATH), IndexModel([("member_id", ASCENDING), (KEY, ASCENDING)])],
    "case_links": [],
    "rollups": [],
    "keys": [],
    "rollup_days": DAY_BUCKET_INDEXES,
}
# mywork: a community's coming joint meetings (domain/work.py)
INDEXES["meetings"].append(IndexModel([("community_id", ASCENDING), ("scheduled_at", ASCENDING)]))
# deliberation: proposals, public notices, rules, supports (deliberation_store.py)
INDEXES.update(DELIBERATION_INDEXES)
# weak organisations: standings, plans, settings (weak_store.py)
INDEXES.update(WEAK_INDEXES)
# committees: 红色业委会, 居委会, 三方联动; non-territorial branches by unit and by idleness; 单位报到
INDEXES.update(
    {
        "owners_committees": [IndexModel(PATH)],
        "residents_committees": [IndexModel(PATH)],
        "three_party_meetings": [IndexModel(PATH)],
        "unit_registrations": [IndexModel(PATH), IndexModel([("unit_id", ASCENDING), (KEY, ASCENDING)])],
    }
)
# filtered lists page on (filter, path, k): bounded at any level (shared/paging)
INDEXES["organizations"] += [paged_index("type", "path"), paged_index("weak", "path")]
INDEXES["members"].append(paged_index("category", "path"))
INDEXES["transfers"].append(paged_index("status", "path"))
INDEXES["units"].append(paged_index("kind", "path"))
INDEXES["feedback"].append(paged_index("quarter", "path"))
INDEXES["organizations"] += [
    IndexModel([("unit_id", ASCENDING), (KEY, ASCENDING)]),
    IndexModel([("idle", ASCENDING), ("non_territorial", ASCENDING), ("last_branch_activity_at", ASCENDING)]),
]


def extra_fields(record: BaseModel) -> dict[str, Any]:
    """Fields that only queries need (the store's twins of domain properties)."""
    if isinstance(record, d.Organization):
        return {
            "holds_life": record.type is not d.OrgType.CENTER_HOUSEHOLD,
            "last_active_at": record.last_life_at or record.created_at,
            # committees: the idle (空转) sweep of non-territorial branches
            "non_territorial": not record.type.territorial,
            "last_branch_activity_at": record.last_service_at or record.created_at,
        }
    if isinstance(record, d.PartyMember):
        dual = record.active_dual
        return {"dual_community": dual.community_id if dual is not None else None}
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
        # committees
        self.owners_committees = records("owners_committees", d.OwnersCommittee, "owners' committee")
        self.residents_committees = records("residents_committees", d.ResidentsCommittee, "residents' committee")
        self.three_party = records("three_party_meetings", d.ThreePartyMeeting, "three-party meeting")
        self.unit_registrations = records("unit_registrations", d.UnitRegistration, "unit registration")
        self.life = db.life
        self.rollups, self.keys, self.days = db.rollups, db["keys"], db.rollup_days

    async def claim_key(self, uow: UnitOfWork, key: str, owner: str, message: str, also: Sequence[str] = ()) -> None:
        await claim_key(self.keys, uow, key, owner, message, also)

    async def release_key(self, uow: UnitOfWork, key: str) -> None:
        await self.keys.delete_one({"_id": key}, session=uow.session)

    async def claim_org(self, uow: UnitOfWork, org: d.Organization, message: str) -> None:
        """One organisation per type and anchor (per household for a 党员中心户)."""
        await self.claim_key(uow, ORG_KEY + org.key, org.id, message)

    async def org_holding(self, key: str) -> str | None:
        """The id of the organisation that holds uniqueness key `key`, if any."""
        doc = await self.keys.find_one({"_id": ORG_KEY + key})
        return doc["owner"] if doc else None

    async def claim_id_number(self, uow: UnitOfWork, member_id: str, indexes: Sequence[str]) -> None:
        """One member per ID number: its blind index under the current field key is claimed;
        those under the other configured keys must be free too."""
        await self.claim_key(
            uow,
            ID_NUMBER_KEY + indexes[0],
            member_id,
            "a member with this ID number is already registered",
            also=[ID_NUMBER_KEY + i for i in indexes[1:]],
        )

    async def key_owners(self, uow: UnitOfWork, keys: list[str]) -> dict[str, str]:
        """Who holds each of `keys` (those held at all)."""
        if not keys:
            return {}
        return {
            k["_id"]: k["owner"]
            for k in await self.keys.find({"_id": {"$in": keys}}, session=uow.session).to_list(None)
        }

    async def insert_keys(self, uow: UnitOfWork, owners: dict[str, str]) -> None:
        if owners:
            await self.keys.insert_many(
                [{"_id": k, "owner": o} for k, o in owners.items()], session=uow.session, ordered=False
            )

    # -- bulk import -------------------------------------------------------------------
    async def stored_members(self, uow: UnitOfWork, ids: list[str]) -> set[str]:
        """Which of `ids` are stored members already."""
        return {
            x["_id"]
            for x in await self.members.coll.find({"_id": {"$in": ids}}, {"_id": 1}, session=uow.session).to_list(None)
        }

    async def orgs_by_id(self, uow: UnitOfWork, ids: list[str]) -> dict[str, d.Organization]:
        return {
            o["_id"]: self.orgs.of(o)
            for o in await self.orgs.coll.find({"_id": {"$in": ids}}, session=uow.session).to_list(None)
        }

    async def insert_members(self, uow: UnitOfWork, members: list[d.PartyMember]) -> None:
        await self.members.coll.insert_many(
            [self.members.to_doc(m) for m in members], session=uow.session, ordered=False
        )

    async def waiting_events(self, limit: int) -> int:
        """Events of this service not yet published by the outbox relay (counted up to `limit` + 1)."""
        return await waiting_events(self.db, limit)

    # -- what the sweeper looks at -----------------------------------------------------
    async def idle_due(self, at: datetime, days: int, limit: int) -> list[str]:
        """Non-territorial branches not yet idle, with no activity for `days` (index on idle,
        non_territorial, last_branch_activity_at)."""
        return [
            x["_id"]
            for x in await self.orgs.coll.find(
                {"idle": False, "non_territorial": True, "last_branch_activity_at": until(at - timedelta(days=days))},
                {"_id": 1},
            ).to_list(limit)
        ]

    async def branches_of_unit(self, unit_id: str, uow: UnitOfWork) -> list[d.Organization]:
        """The non-territorial branches anchored to a unit (one per type at most)."""
        return [
            self.orgs.of(x)
            for x in await self.orgs.coll.find({"unit_id": unit_id}, session=uow.session).to_list(len(d.OrgType))
        ]

    async def weak_due(self, at: datetime, days: int, limit: int) -> list[str]:
        """Organisations not yet weak, holding life, without any for `days` (index on
        weak, holds_life, last_active_at)."""
        return [
            x["_id"]
            for x in await self.orgs.coll.find(
                {"weak": False, "holds_life": True, "last_active_at": until(at - timedelta(days=days))}, {"_id": 1}
            ).to_list(limit)
        ]

    async def overdue_due(self, at: datetime, limit: int) -> list[str]:
        """Open transfers past their deadline not yet flagged (index on status, overdue_flagged, deadline_at)."""
        return [
            x["_id"]
            for x in await self.transfers.coll.find(
                {"status": "REQUESTED", "overdue_flagged": False, "deadline_at": until(at, inclusive=False)}, {"_id": 1}
            ).to_list(limit)
        ]

    # -- joint meetings and their cases --------------------------------------------------
    async def meetings_of(self, committee_id: str) -> list[d.JointMeeting]:
        return await self.meetings.find({"committee_id": committee_id})

    async def link_case(self, uow: UnitOfWork, case_id: str, meeting_id: str, item_id: str) -> None:
        """Remember which meeting's action item a case is (its progress comes by case id)."""
        await self.db.case_links.update_one(
            {"_id": case_id},
            {"$setOnInsert": {"meeting_id": meeting_id, "item_id": item_id, "version": 0}},
            upsert=True,
            session=uow.session,
        )

    async def case_link(self, case_id: str, uow: UnitOfWork | None = None) -> dict[str, Any] | None:
        """The link of a case to its action item: meeting_id, item_id, and the case version last applied."""
        return await self.db.case_links.find_one({"_id": case_id}, session=uow.session if uow else None)

    async def advance_case_link(self, uow: UnitOfWork, case_id: str, version: int) -> bool:
        """Note case version `version` as applied; False (nothing written) when the case is not
        linked or a version as new was applied already."""
        current = await self.case_link(case_id, uow)
        if current is None or current.get("version", 0) >= version:
            return False
        await self.db.case_links.update_one({"_id": case_id}, {"$set": {"version": version}}, session=uow.session)
        return True

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
        cur = self.meetings.coll.find(
            {"committee_id": committee_id}, {"chair_unit_id": 1, "scheduled_at": 1}, session=uow.session
        ).sort("scheduled_at", 1)
        return [x["chair_unit_id"] for x in await cur.to_list(None)]

    # -- rollups -------------------------------------------------------------------------
    async def apply(self, uow: UnitOfWork, deltas: list[RollupDelta]) -> None:
        # A counter like `organizations.GRID_BRANCH` is stored as `organizations:GRID_BRANCH`:
        # a dotted name would nest under the `organizations` counter itself.
        await add_rollups(self.rollups, uow, deltas, lambda k: k.replace(".", ":"), days=self.days)

    async def trend_days(self, region: str, first: str, last: str | None) -> dict[str, dict[str, int]]:
        return await read_days(self.days, region, first, last, lambda k: k.replace(":", "."))

    async def counters(self, ids: list[str]) -> dict[str, dict[str, int]]:
        return {
            x["_id"]: {k.replace(":", "."): int(v) for k, v in x.get("c", {}).items()}
            async for x in self.rollups.find({"_id": {"$in": ids}})
        }


# funds and service lists (services/organizations/funds_store.py)
from services.organizations.funds_store import FUND_INDEXES  # noqa: E402

for _name, _models in FUND_INDEXES.items():
    INDEXES.setdefault(_name, []).extend(_models)
