"""MongoDB access for visits: the `visits` records, the `visitRules` setting, the visiting state of
`households`, and the reads the plan, the sweeper and myWork make (each on an index of its own)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.grids.domain import visits as vd
from services.grids.domain.visit_record import Visit
from services.grids.domain.visit_rules import DEFAULT_RULES, VisitRule, rule_of
from shared.mongo import UnitOfWork, now
from shared.paging import NewestPager
from shared.records import Records, until

RULES_ID = "current"
VISIT_INDEXES = {
    "visits": [
        IndexModel([("path", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("householdId", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("visitor", ASCENDING), ("_id", DESCENDING)]),  # a volunteer's own, newest first
        IndexModel([("caseId", ASCENDING)], sparse=True),
    ],
    "households": [  # the visiting state (VISITS writes it): plan, sweeper, myWork
        IndexModel([("gridId", ASCENDING), ("nextVisitDue", ASCENDING)]),
        IndexModel([("buildingId", ASCENDING), ("nextVisitDue", ASCENDING)]),
        IndexModel([("communityId", ASCENDING), ("nextVisitDue", ASCENDING)]),
        IndexModel([("visitOverdue", ASCENDING), ("nextVisitDue", ASCENDING)]),
    ],
    "visitRules": [],
}
# What the visiting rules read of a household.
STATE_READ = {
    "tags": 1,
    "path": 1,
    "gridId": 1,
    "buildingId": 1,
    "registeredAt": 1,
    "movedOutAt": 1,
    "lastVisitAt": 1,
    "mustVisit": 1,
    "visitRule": 1,
    "nextVisitDue": 1,
    "visitOverdue": 1,
    "linkedMemberIds": 1,
}


class VisitStore:
    def __init__(self, db: AsyncDatabase):
        self.db = db
        self.visits: Records[Visit] = Records(db, "visits", Visit, "visit", path_of=lambda v: v.path)
        self.pager = NewestPager(self.visits.coll, "vi")
        self.households, self.rules_coll = db.households, db.visitRules

    # -- rules -----------------------------------------------------------------------------
    async def seed_rules(self) -> None:
        """The default rule set, on first start (a second start, or a twin replica, changes nothing)."""
        try:
            await self.rules_coll.update_one(
                {"_id": RULES_ID},
                {"$setOnInsert": {"rules": [r.doc() for r in DEFAULT_RULES], "version": 1, "updatedAt": now()}},
                upsert=True,
            )
        except DuplicateKeyError:
            pass

    async def rules_doc(self, uow: UnitOfWork | None = None) -> dict:
        doc = await self.rules_coll.find_one({"_id": RULES_ID}, session=uow.session if uow else None)
        return doc or {"rules": [r.doc() for r in DEFAULT_RULES], "version": 0}

    async def rules(self, uow: UnitOfWork | None = None) -> list[VisitRule]:
        return [rule_of(r) for r in (await self.rules_doc(uow))["rules"]]

    async def put_rules(self, uow: UnitOfWork, rules: list[VisitRule], version: int) -> None:
        await self.rules_coll.update_one(
            {"_id": RULES_ID},
            {
                "$set": {"rules": [r.doc() for r in rules], "version": version, "updatedAt": now(), "walkAfter": ""},
            },
            upsert=True,
            session=uow.session,
        )

    async def walk_position(self) -> tuple[int, str | None]:
        """Rescheduling after a rule change walks households by id: (rules version, last id done;
        None when the walk is over)."""
        doc = await self.rules_doc()
        return doc.get("version", 0), doc.get("walkAfter")

    async def walked(self, version: int, last_id: str | None) -> None:
        await self.rules_coll.update_one({"_id": RULES_ID, "version": version}, {"$set": {"walkAfter": last_id}})

    # -- households' visiting state ----------------------------------------------------------
    async def household(self, household_id: str, uow: UnitOfWork | None = None) -> dict | None:
        return await self.households.find_one({"_id": household_id}, session=uow.session if uow else None)

    async def set_state(self, uow: UnitOfWork, household_id: str, fields: dict[str, Any]) -> None:
        """A household's visiting state, written at the transaction's flush (the work does not
        read it back)."""
        uow.update(self.households.name, {"_id": household_id}, {"$set": fields})

    async def set_states(self, uow: UnitOfWork, states: dict[str, dict[str, Any]]) -> None:
        """Bulk: each household's visiting state, in one round trip."""
        if states:
            ops = [UpdateOne({"_id": i}, {"$set": f}) for i, f in states.items()]
            await self.households.bulk_write(ops, ordered=False, session=uow.session)

    async def household_ids_after(self, after: str, limit: int) -> list[str]:
        cur = self.households.find({"_id": {"$gt": after}}, {"_id": 1}).sort("_id", 1).limit(limit)
        return [d["_id"] async for d in cur]

    async def overdue_candidates(self, at: datetime, limit: int) -> list[str]:
        """Households past due and not yet marked: the (visitOverdue, nextVisitDue) index."""
        cur = self.households.find(
            {"visitOverdue": False, "nextVisitDue": until(at, inclusive=False)}, {"_id": 1}
        ).limit(limit)
        return [d["_id"] async for d in cur]

    async def due_in(self, field: str, value: str, by: datetime, limit: int) -> list[dict]:
        """Must-visit households of a grid (or building) due up to `by`, soonest first."""
        cur = (
            self.households.find({field: value, "nextVisitDue": until(by)}, STATE_READ)
            .sort("nextVisitDue", 1)
            .limit(limit)
        )
        return [d async for d in cur if d.get("movedOutAt") is None]

    async def due_for_member(self, member_id: str, until: datetime, limit: int) -> list[dict]:
        cur = self.households.find({"linkedMemberIds": member_id}, STATE_READ).limit(500)
        docs = [d async for d in cur if d.get("movedOutAt") is None and d.get("nextVisitDue") is not None]
        docs = [d for d in docs if d["nextVisitDue"] <= until]
        return sorted(docs, key=lambda d: d["nextVisitDue"])[:limit]

    # -- visits ----------------------------------------------------------------------------
    async def visit_page(self, query: dict, first: int, after: str | None) -> tuple[list[Visit], int, bool]:
        """One page of visits, newest first, in bounded work (visit ids begin with the visit's
        time: `shared.paging.NewestPager`); a region's whole list counted by its rollup."""
        total = None
        if list(query) == ["path"] and isinstance(query["path"], str):
            doc = await self.db.rollups.find_one({"_id": query["path"]}, {"counters.visitCount": 1})
            total = int(((doc or {}).get("counters") or {}).get("visitCount", 0))
        docs, total, more = await self.pager.page(query, first, after, total=total)
        return [self.visits.of(x) for x in docs], total, more

    async def cadre_regions(self, sub: str, limit: int) -> list[dict]:
        """The regions a cadre is assigned to (包联, the `cadres` records), with their level."""
        ids = [d["regionId"] async for d in self.db.cadres.find({"sub": sub}, {"regionId": 1}).limit(limit)]
        if not ids:
            return []
        levels = {d["_id"]: d["level"] async for d in self.db.regions.find({"_id": {"$in": ids}}, {"level": 1})}
        return [{"regionId": i, "level": levels[i]} for i in ids if i in levels]


async def recount_visits(db: AsyncDatabase) -> dict[str, Counter]:
    """`yiwang replay grids`: the visit counters from the records (households' stored visiting state,
    every visit), by the pure `domain.visits.recount`."""
    households = db.households.find(
        {"mustVisit": True}, {"path": 1, "mustVisit": 1, "visitOverdue": 1, "movedOutAt": 1}
    )
    visits = db.visits.find({}, {"path": 1})
    return vd.recount([h async for h in households], [v async for v in visits])
