"""MongoDB access for cases: the cases themselves, the catalogue, rollups."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.cases.domain import (
    DEFAULT_CATALOGUE,
    OPEN_STATUSES,
    Candidate,
    Case,
    CaseComment,
    CaseStatus,
    Catalogue,
    GeoPoint,
    sweep_at,
)
from shared.errors import Conflict, LostRace, NotFound
from shared.geo import cell_of as geo_cell
from shared.mongo import UnitOfWork, now
from shared.paging import NewestPager
from shared.records import DAY_BUCKET_INDEXES, add_day_buckets, flatten, read_days, until
from shared.trends import bucket_id
from shared.workdays import WorkCalendarSource, YearArrangement

OPEN = [str(s) for s in OPEN_STATUSES]
DUPLICATE_FIELDS = {"category_code": 1, "status": 1, "merged_into": 1, "created_at": 1, "region_id": 1, "location": 1}
INDEXES = {
    "cases": [
        IndexModel([("path", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("status", ASCENDING), ("overdue", ASCENDING), ("due_at", ASCENDING)]),
        IndexModel([("status", ASCENDING), ("resolved_at", ASCENDING)]),
        IndexModel([("reporterSubs", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("assigneeKey", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("deptKeys", ASCENDING), ("_id", DESCENDING)]),  # departments: a department's cases
        IndexModel([("category_code", ASCENDING), ("near", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("category_code", ASCENDING), ("region_id", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("status", ASCENDING), ("rating_window_from", ASCENDING)]),
        IndexModel([("return_visit_overdue", ASCENDING), ("return_visit_due_at", ASCENDING)]),
    ],
    # follow-up: a case's comments, oldest first (all, or the PUBLIC ones)
    "case_comments": [
        IndexModel([("case_id", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("case_id", ASCENDING), ("visibility", ASCENDING), ("_id", ASCENDING)]),
    ],
    "rollups": [],
    "rollup_days": DAY_BUCKET_INDEXES,
    "hotspot_days": DAY_BUCKET_INDEXES,
    "catalogue_history": [],
    "work_calendar": [],  # clocks
    "work_calendar_history": [IndexModel([("year", ASCENDING), ("at", DESCENDING)])],
    # departments: the directory, codes unique within their county or city
    "departments": [
        IndexModel([("region_id", ASCENDING), ("code", ASCENDING)], unique=True),
        IndexModel([("region_path", ASCENDING), ("_id", ASCENDING)]),
    ],
}
# clocks: the sweeper reads the cases whose next clock event (due soon, due) has come
INDEXES["cases"].append(IndexModel([("sweep_at", ASCENDING)]))
# building: a building leader's cases, newest first (the scope rule's `buildingId`)
INDEXES["cases"].append(IndexModel([("buildingId", ASCENDING), ("_id", DESCENDING)]))
# mywork: a day's cases (domain/work.py), one equality per field each: the caller's region at its
# level and status, the cases assigned to a person, a department's own
# lists filtered in a subtree, newest first in bounded work: one range of ids per filter value
INDEXES["cases"] += [
    IndexModel([("path", ASCENDING), ("status", ASCENDING), ("_id", DESCENDING)]),
    IndexModel([("path", ASCENDING), ("category_code", ASCENDING), ("_id", DESCENDING)]),
    IndexModel([("path", ASCENDING), ("overdue", ASCENDING), ("_id", DESCENDING)]),
]
INDEXES["cases"] += [
    IndexModel([("region_id", ASCENDING), ("level", ASCENDING), ("status", ASCENDING)]),
    IndexModel([("path", ASCENDING), ("level", ASCENDING), ("status", ASCENDING)]),
    IndexModel([("assigneeKey", ASCENDING), ("status", ASCENDING)]),
    IndexModel([("deptKeys", ASCENDING), ("status", ASCENDING), ("path", ASCENDING)]),
    IndexModel([("buildingId", ASCENDING), ("level", ASCENDING), ("status", ASCENDING)]),  # a building's leader
]


HOTSPOT_DAYS = "hotspot_days"
IMPORTED = "imported"  # the share of a rollup, day bucket or hotspot day that came from imported history
OLD_HOTSPOTS = "hotspots"  # the layout before hotspot_days; emptied by upgrade_hotspot_cells
NEAR_MIGRATION = "cases.near"  # upgrade_near_cells has run
SWEEP_AT_MIGRATION = "cases.sweep_at"  # upgrade_sweep_at has run
CALENDAR_VERSION = "version"  # the work_calendar document every replica polls
RATING_WINDOW_MIGRATION = "cases.rating_window_from"  # upgrade_rating_windows has run


CELL_DEG = 0.002  # about 200 m east-west, 220 m north-south: twice the largest duplicate radius


def cell_of(lng: float, lat: float, dx: int = 0, dy: int = 0) -> str:
    return geo_cell(lng, lat, CELL_DEG, dx, dy)


def nearby_cells(lng: float, lat: float) -> list[str]:
    """The 2×2 block of cells nearest a point: every point within half a cell of it is in one
    of them (so the duplicate radius must stay at most ~100 m)."""
    fx, fy = (lng / CELL_DEG) % 1, (lat / CELL_DEG) % 1
    sx, sy = (1 if fx >= 0.5 else -1), (1 if fy >= 0.5 else -1)
    return [cell_of(lng, lat, dx, dy) for dx in (0, sx) for dy in (0, sy)]


def case_doc(case: Case, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = case.model_dump(mode="python")
    doc["cell"] = cell_of(case.location.lng, case.location.lat) if case.location else None
    # Every cell within half a cell of the case: a later report in any of them is near it.
    doc["near"] = nearby_cells(case.location.lng, case.location.lat) if case.location else None
    doc["_id"] = doc.pop("id")
    doc["path"] = list(case.scope_path)  # the grid's path, and the case's building under it
    doc["region_path"] = list(case.region_path)
    doc["buildingId"] = case.building_id  # building: the scope rule's field
    doc["reporterSubs"] = case.reporter_subs
    doc["assigneeKey"] = case.assignee_key
    doc["sweep_at"] = sweep_at(case)  # clocks: when the sweeper next acts on it (None: not at all)
    doc["deptKeys"] = case.dept_keys  # departments: the scope rule's field (an equality uses the index)
    return {**doc, **(extra or {})}


# follow-up: a case's comments live in their own collection
COMMENTS = "case_comments"


def comment_to_doc(c: CaseComment) -> dict[str, Any]:
    doc = c.model_dump(mode="python")
    doc["_id"] = doc.pop("id")
    doc["visibility"] = str(c.visibility)
    return doc


def case_from_doc(doc: dict[str, Any]) -> Case:
    return Case.model_validate({**doc, "id": doc["_id"]})


class CaseStore:
    def __init__(self, db: AsyncDatabase):
        self.db, self.cases, self.rollups = db, db.cases, db.rollups
        self.pager = NewestPager(db.cases, "c")

    async def doc(self, case_id: str, uow: UnitOfWork | None = None) -> dict | None:
        return await self.cases.find_one({"_id": case_id}, session=uow.session if uow else None)

    async def load(self, case_id: str, uow: UnitOfWork | None = None) -> tuple[Case, dict]:
        d = await self.doc(case_id, uow)
        if d is None:
            raise NotFound(f"case {case_id} does not exist")
        return case_from_doc(d), d

    async def docs(self, ids: list[str]) -> dict[str, dict]:
        return {d["_id"]: d async for d in self.cases.find({"_id": {"$in": ids}})}

    @staticmethod
    def insert(uow: UnitOfWork, case: Case, extra: dict) -> dict:
        """The new case's document, written with the transaction's other writes."""
        doc = case_doc(case, extra)
        uow.insert("cases", doc)
        return doc

    @staticmethod
    def save(uow: UnitOfWork, case: Case, expected_version: int, extra: dict | None = None) -> dict:
        """Replace the case if nobody changed it since it was read (optimistic version check,
        made when the transaction's writes are sent)."""
        doc = case_doc(case, extra)
        uow.replace(
            "cases",
            {"_id": case.id, "version": expected_version},
            doc,
            LostRace(f"case {case.id} changed while you were working on it; read it again", {"caseId": case.id}),
        )
        return doc

    async def page(
        self, query: dict, first: int, after: str | None, with_total: bool = True, total: int | None = None
    ) -> tuple[list[dict], int, bool]:
        """One page of the cases matching `query`, newest first, in bounded work (case ids begin
        with their report time: `shared.paging.NewestPager`)."""
        return await self.pager.page(query, first, after, with_total, total)

    async def page_any(
        self, queries: list[dict], first: int, after: str | None, with_total: bool = True, overlaps: Sequence[dict] = ()
    ) -> tuple[list[dict], int, bool]:
        """One page of the cases matching any of `queries`, newest first: each query paged on
        its own index (`page`) and the pages merged by id. The embedded store reads the whole
        collection for an `$or` (1.4 s on 50,000 cases against 2–8 ms for its parts). The
        newest `first` of the union are among the newest `first` of each part, so one page of
        each is enough. The total adds the parts' counts less `overlaps`, the queries of the
        cases two parts share (each to be counted once). The parts are read at once."""
        pages = await asyncio.gather(*(self.page(q, first, after, with_total=False) for q in queries))
        merged = sorted({d["_id"]: d for docs, _, _ in pages for d in docs}.items(), reverse=True)
        more = len(merged) > first or any(more for _, _, more in pages)
        total = -1
        if with_total:
            counts = await asyncio.gather(*(self.cases.count_documents(q) for q in [*queries, *overlaps]))
            total = sum(counts[: len(queries)]) - sum(counts[len(queries) :])
        return [d for _, d in merged[:first]], total, more

    async def due(self, at: datetime, limit: int) -> list[str]:
        """Open cases past their deadline not yet flagged: one indexed range per open status
        (the embedded store plans `$in` as a collection scan), never a scan."""
        out: list[tuple[datetime, str]] = []
        for status in OPEN:
            cur = self.cases.find({"status": status, "overdue": False, "due_at": until(at)}, {"_id": 1, "due_at": 1})
            out += [(d["due_at"], d["_id"]) for d in await cur.to_list(limit)]
        return [i for _, i in sorted(out)[:limit]]

    async def due_clocks(self, at: datetime, limit: int) -> list[str]:
        """Cases whose next clock event (a due-soon warning, a deadline) has come, earliest
        first: one range on the `sweep_at` index, whose entries are only the open cases with a
        running clock, so a pass costs the cases it acts on."""
        cur = self.cases.find({"sweep_at": until(at)}, {"_id": 1}).sort("sweep_at", 1).limit(limit)
        return [d["_id"] for d in await cur.to_list(limit)]

    async def upgrade_sweep_at(self, batch: int = 500) -> int:
        """Give the open cases of the earlier layout (no `sweep_at`) theirs, once per database
        (recorded in `migrations`); until then the sweeper reads them by status and deadline
        as before. Idempotent, safe on several replicas at once."""
        if await self.db.migrations.find_one({"_id": SWEEP_AT_MIGRATION}):
            return 0
        changed = 0
        for status in OPEN:
            async for doc in self.cases.find({"status": status, "sweep_at": {"$exists": False}}):
                at = sweep_at(case_from_doc(doc))
                res = await self.cases.update_one(
                    {"_id": doc["_id"], "version": doc["version"]}, {"$set": {"sweep_at": at}}
                )
                changed += res.modified_count
        await self.db.migrations.update_one(
            {"_id": SWEEP_AT_MIGRATION}, {"$set": {"at": now(), "changed": changed}}, upsert=True
        )
        return changed

    async def sweep_at_upgraded(self) -> bool:
        return await self.db.migrations.find_one({"_id": SWEEP_AT_MIGRATION}) is not None

    async def unrated(self, ready_before: datetime, limit: int) -> list[str]:
        """RESOLVED cases ready for a rating (resolved, or verified when that was due) since before
        `ready_before`: cases still waiting for verification are not in the range."""
        cur = self.cases.find(
            {"status": str(CaseStatus.RESOLVED), "rating_window_from": until(ready_before)}, {"_id": 1}
        )
        return [d["_id"] for d in await cur.to_list(limit)]

    # -- follow-up -------------------------------------------------------------------------
    async def return_visits_due(self, at: datetime, limit: int) -> list[str]:
        """Cases with an open 回访 task past its deadline and not yet flagged: one indexed range."""
        cur = self.cases.find({"return_visit_overdue": False, "return_visit_due_at": until(at)}, {"_id": 1})
        return [d["_id"] for d in await cur.to_list(limit)]

    async def upgrade_rating_windows(self, batch: int = 500) -> int:
        """Give RESOLVED cases of the earlier layout (which lack it) their `rating_window_from`, the
        resolution time, so that auto-close finds them: once per database, recorded in
        `migrations`; idempotent, safe on several replicas at once. Returns how many it changed."""
        if await self.db.migrations.find_one({"_id": RATING_WINDOW_MIGRATION}):
            return 0
        changed, ops = 0, []
        async for doc in self.cases.find(
            {"status": str(CaseStatus.RESOLVED)}, {"resolved_at": 1, "rating_window_from": 1}
        ):
            if "rating_window_from" not in doc and doc.get("resolved_at"):
                ops.append(
                    UpdateOne(
                        {"_id": doc["_id"], "rating_window_from": {"$exists": False}},
                        {"$set": {"rating_window_from": doc["resolved_at"]}},
                    )
                )
            if len(ops) >= batch:
                changed += (await self.cases.bulk_write(ops, ordered=False)).modified_count
                ops = []
        if ops:
            changed += (await self.cases.bulk_write(ops, ordered=False)).modified_count
        await self.db.migrations.update_one(
            {"_id": RATING_WINDOW_MIGRATION}, {"$set": {"at": now(), "changed": changed}}, upsert=True
        )
        return changed

    async def duplicate_candidates(self, new: Case, since: datetime, uow: UnitOfWork) -> list[Candidate]:
        """Recent cases of the same category near a new one, as far as the duplicate rule reads
        them, in one equality on an index: the cases whose `near` cells (the 2×2 block nearest
        each, which holds every point within half a cell of it) include the new case's cell, or
        the cases of its grid when it has no point. The cost follows the cases nearby, not the
        cases in the community. Openness is left to the rule (the embedded store plans `$in`
        as a collection scan)."""
        where = {"near": cell_of(new.location.lng, new.location.lat)} if new.location else {"region_id": new.region_id}
        # No `merged_into: None` here: a null match makes the embedded store scan the
        # collection; the rule itself skips merged cases.
        docs = await self.cases.find(
            {"category_code": new.category_code, **where, "created_at": {"$gte": since}},
            DUPLICATE_FIELDS,
            session=uow.session,
        ).to_list(400)
        return [
            Candidate(
                id=d["_id"],
                category_code=d["category_code"],
                status=CaseStatus(d["status"]),
                merged_into=d.get("merged_into"),
                created_at=d["created_at"],
                region_id=d["region_id"],
                location=GeoPoint(**d["location"]) if d.get("location") else None,
            )
            for d in docs
            if d["status"] in OPEN and d.get("merged_into") is None
        ]

    # -- catalogue -------------------------------------------------------------------------
    async def catalogue(self) -> Catalogue:
        d = await self.db.catalogue.find_one({"_id": "current"})
        if d is None:
            return DEFAULT_CATALOGUE
        return Catalogue.model_validate({"version": d["version"], "categories": d["categories"]})

    async def seed_catalogue(self) -> None:
        if await self.db.catalogue.find_one({"_id": "current"}) is None:
            await self.db.catalogue.update_one(
                {"_id": "current"},
                {"$setOnInsert": DEFAULT_CATALOGUE.model_dump(mode="json") | {"at": now()}},
                upsert=True,
            )

    async def save_catalogue(self, uow: UnitOfWork, new: Catalogue, previous_version: int, actor: str) -> None:
        body = new.model_dump(mode="json")
        res = await self.db.catalogue.replace_one(
            {"_id": "current", "version": previous_version}, {**body, "at": now(), "actor": actor}, session=uow.session
        )
        if res.matched_count != 1:
            raise Conflict("the catalogue changed while you were editing it; read it again")
        await self.db.catalogue_history.insert_one(
            {"_id": new.version, **body, "at": now(), "actor": actor}, session=uow.session
        )

    # -- clocks: the work calendar, a document per year ("year:2026") and a version counter -
    async def calendar_version(self) -> int:
        doc = await self.db.work_calendar.find_one({"_id": CALENDAR_VERSION})
        return int(doc["v"]) if doc else 0

    async def work_calendar(self) -> tuple[int, dict[int, tuple[YearArrangement, dict]]]:
        """The version and every stored year (with its stored document: version, at)."""
        version, years = 0, {}
        async for doc in self.db.work_calendar.find({}):
            if doc["_id"] == CALENDAR_VERSION:
                version = int(doc["v"])
            elif str(doc["_id"]).startswith("year:"):
                years[int(doc["year"])] = (year_from_doc(doc), doc)
        return version, years

    async def seed_work_calendar(self, shipped: dict[int, YearArrangement]) -> list[int]:
        """Store each shipped year the database does not hold yet (an administrator's edit, or
        an earlier load, is kept); returns the years added. Safe on several replicas at once."""
        added = []
        for year, arrangement in sorted(shipped.items()):
            try:
                res = await self.db.work_calendar.update_one(
                    {"_id": f"year:{year}"},
                    {"$setOnInsert": {**year_doc(arrangement), "version": 1, "at": now(), "actor": "release"}},
                    upsert=True,
                )
            except DuplicateKeyError:
                continue  # another replica stored it at the same moment
            if res.upserted_id is not None:
                added.append(year)
        if added:
            await self.db.work_calendar.update_one({"_id": CALENDAR_VERSION}, {"$inc": {"v": 1}}, upsert=True)
        return added

    async def save_work_calendar_year(
        self, uow: UnitOfWork, arrangement: YearArrangement, actor: str, before: dict | None
    ) -> dict:
        """Replace one year (version-checked against `before`, the stored document read in this
        transaction), bump the calendar's version and keep the edit in the history."""
        version = int(before["version"]) + 1 if before else 1
        doc = {**year_doc(arrangement), "version": version, "at": now(), "actor": actor}
        session = uow.session
        if before is None:
            await self.db.work_calendar.insert_one({"_id": f"year:{arrangement.year}", **doc}, session=session)
        else:
            res = await self.db.work_calendar.replace_one(
                {"_id": f"year:{arrangement.year}", "version": before["version"]}, doc, session=session
            )
            if res.matched_count != 1:
                raise Conflict(f"the work calendar of {arrangement.year} changed while you were editing it")
        await self.db.work_calendar.update_one(
            {"_id": CALENDAR_VERSION}, {"$inc": {"v": 1}}, upsert=True, session=session
        )
        await self.db.work_calendar_history.insert_one(
            {
                "year": arrangement.year,
                "version": version,
                "at": doc["at"],
                "actor": actor,
                "before": {k: before.get(k) for k in ("holidays", "workdays", "source")} if before else None,
                "after": year_doc(arrangement),
            },
            session=session,
        )
        return doc

    async def work_calendar_year(self, year: int, uow: UnitOfWork | None = None) -> dict | None:
        return await self.db.work_calendar.find_one({"_id": f"year:{year}"}, session=uow.session if uow else None)

    # -- rollups ---------------------------------------------------------------------------
    async def add_to_rollups(self, uow: UnitOfWork, totals: dict[str, dict[str, int]], imported: bool = False) -> None:
        """Add to the regions' counters (`c`); imported history also to their `imported`
        share, which `yiwang replay cases` starts from (history is not in the event log). At the
        unit of work's flush, with its other writes, as `shared.records.add_rollups`."""
        prefixes = ["c", IMPORTED] if imported else ["c"]
        for region, counters in totals.items():
            if any(counters.values()):
                inc = {f"{p}.{k}": v for p in prefixes for k, v in counters.items() if v}
                uow.update(self.rollups.name, {"_id": region}, {"$inc": inc}, upsert=True)

    async def add_to_days(
        self, uow: UnitOfWork, totals: dict[tuple[str, str], dict[str, int]], imported: bool = False
    ) -> None:
        await add_day_buckets(self.db.rollup_days, uow, totals, also=IMPORTED if imported else None)

    async def days(self, region: str, first_day: str, last_day: str | None) -> dict[str, dict[str, int]]:
        return await read_days(self.db.rollup_days, region, first_day, last_day)

    async def add_to_hotspots(
        self, uow: UnitOfWork, cells: dict[tuple[str, str, str], tuple[list[str], int]], imported: bool = False
    ) -> None:
        """Reports per grid × category × local day, kept in one document per region and day
        for every region on the grid's path (`hotspot_days`, `h.<grid>|<category>`; imported
        history also in `imported.<grid>|<category>`)."""
        prefixes = ["h", IMPORTED] if imported else ["h"]
        ops = [
            UpdateOne(
                {"_id": bucket_id(region, day)},
                {
                    "$inc": {f"{p}.{k}": n for p in prefixes for k, n in h.items() if n},
                    "$setOnInsert": {"r": region, "d": day},
                },
                upsert=True,
            )
            for (region, day), h in fold_hotspot_cells(cells).items()
            if any(h.values())
        ]
        if ops:
            await self.db[HOTSPOT_DAYS].bulk_write(ops, ordered=False, session=uow.session)

    async def hotspot_days(self, region: str, first_day: str) -> list[tuple[str, dict[str, int]]]:
        """A subtree's grid × category cells from `first_day` on, a mapping a day ({"<grid>|<cat>":
        reports}): one walk of the (r, d) index, one document per day however many grids the
        subtree has. (A document per grid × category × day made a city's two months 19,000
        documents: 0.5 s of the embedded store's time per call.)"""
        return [
            (doc["d"], doc.get("h", {}))
            async for doc in self.db[HOTSPOT_DAYS].find({"r": region, "d": {"$gte": first_day}}, {"d": 1, "h": 1})
        ]

    async def upgrade_hotspot_cells(self, transact: Any, batch: int = 500) -> int:
        """Fold cells of the earlier layout (one document per grid × category × day in
        `hotspots`, with the grid's path) into `hotspot_days`, a batch per transaction that
        also deletes what it folded: safe to stop at any point, and to run on every replica
        at once (a batch two replicas both take conflicts, and the retry finds it gone).
        Returns how many cells it folded."""
        folded = 0
        while True:

            async def work(uow: UnitOfWork) -> int:
                docs = await self.db[OLD_HOTSPOTS].find({}, session=uow.session).limit(batch).to_list(batch)
                cells: dict[tuple[str, str, str], tuple[list[str], int]] = {}
                for x in docs:
                    if x.get("g") and x.get("cat") and x.get("d") and x.get("path"):
                        key = (x["g"], x["cat"], x["d"])
                        cells[key] = (list(x["path"]), cells.get(key, ([], 0))[1] + int(x.get("n", 0)))
                await self.add_to_hotspots(uow, cells)
                if docs:
                    await self.db[OLD_HOTSPOTS].delete_many(
                        {"_id": {"$in": [x["_id"] for x in docs]}}, session=uow.session
                    )
                return len(docs)

            n = await transact(work, wake=False)
            folded += n
            if n < batch:
                return folded

    async def upgrade_near_cells(self, since: datetime, batch: int = 500) -> int:
        """Give the located cases reported since `since` (the duplicate window) their `near`
        cells, which cases of the earlier layout lack (they had only their own `cell`): once per
        database, recorded in `migrations`. Idempotent, so safe on several replicas at once and
        after an interruption. Returns how many cases it changed."""
        if await self.db.migrations.find_one({"_id": NEAR_MIGRATION}):
            return 0
        changed = 0
        ops: list[UpdateOne] = []
        async for doc in self.cases.find({"created_at": {"$gte": since}}, {"location": 1, "near": 1}):
            if doc.get("near") is None and doc.get("location"):
                cells = nearby_cells(doc["location"]["lng"], doc["location"]["lat"])
                ops.append(UpdateOne({"_id": doc["_id"], "near": None}, {"$set": {"near": cells}}))
            if len(ops) >= batch:
                changed += (await self.cases.bulk_write(ops, ordered=False)).modified_count
                ops = []
        if ops:
            changed += (await self.cases.bulk_write(ops, ordered=False)).modified_count
        await self.db.migrations.update_one(
            {"_id": NEAR_MIGRATION}, {"$set": {"at": now(), "changed": changed}}, upsert=True
        )
        return changed

    async def hotspot_case_ids(
        self, grid: str, category: str, since: datetime, until: datetime, limit: int
    ) -> tuple[list[str], int]:
        """Cases of one grid and category reported in [since, until), newest first."""
        q = {"category_code": category, "region_id": grid, "created_at": {"$gte": since, "$lt": until}}
        total = await self.cases.count_documents(q)
        docs = await self.cases.find(q, {"_id": 1}).sort("created_at", -1).to_list(limit)
        return [x["_id"] for x in docs], total

    # -- departments: the directory -------------------------------------------------------
    async def department(self, region_id: str, code: str, uow: UnitOfWork | None = None) -> dict | None:
        return await self.db.departments.find_one(
            {"region_id": region_id, "code": code}, session=uow.session if uow else None
        )

    async def directory_of(self, region_id: str, uow: UnitOfWork | None = None) -> dict[str, str]:
        """code -> name of one region's directory: one range of the (region_id, code) index."""
        cur = self.db.departments.find(
            {"region_id": region_id}, {"code": 1, "name": 1}, session=uow.session if uow else None
        )
        return {x["code"]: x["name"] async for x in cur}

    async def department_names(self) -> dict[tuple[str, str], str]:
        """(region, code) -> name of every department of the directory (a few per county)."""
        cur = self.db.departments.find({}, {"region_id": 1, "code": 1, "name": 1})
        return {(x["region_id"], x["code"]): x["name"] async for x in cur}

    async def department_by_id(self, dept_id: str, uow: UnitOfWork | None = None) -> dict | None:
        return await self.db.departments.find_one({"_id": dept_id}, session=uow.session if uow else None)

    async def departments_page(self, region_id: str, first: int, after: str | None) -> tuple[list[dict], bool]:
        """The departments of a region and the regions below it, by id (one range of the
        (region_path, _id) index)."""
        q: dict[str, Any] = {"region_path": region_id, **({"_id": {"$gt": after}} if after else {})}
        docs = await self.db.departments.find(q).sort("_id", 1).limit(first + 1).to_list(first + 1)
        return docs[:first], len(docs) > first

    async def departments_count(self, region_id: str) -> int:
        """How many departments a region's directory and those below it hold (tens a county)."""
        return await self.db.departments.count_documents({"region_path": region_id})

    async def departments_in(self, region_id: str, path: list[str], limit: int = 1000) -> list[dict]:
        """The departments that handle cases of a region: those of the directories above it on
        its path and those of it and below it."""
        docs: list[dict] = []
        for region in path[:-1]:
            docs += await self.db.departments.find({"region_id": region}).limit(limit).to_list(limit)
        return docs + await self.db.departments.find({"region_path": region_id}).limit(limit).to_list(limit)

    async def rollup_counters(self, ids: list[str]) -> dict[str, dict[str, int]]:
        """The region counters, without the departments' (`c.dept`: a county's are hundreds of
        keys, which no overview reads)."""
        out = {}
        async for d in self.rollups.find({"_id": {"$in": ids}}, {"c.dept": 0, IMPORTED: 0}):
            out[d["_id"]] = flatten(d.get("c", {}))
        return out

    async def dept_rollup(self, region_id: str) -> dict[str, int]:
        """departments: the department counters (`dept.<key>.<counter>`) of one region."""
        d = await self.rollups.find_one({"_id": region_id}, {"c.dept": 1})
        return flatten({"dept": ((d or {}).get("c") or {}).get("dept", {})})


def year_doc(a: YearArrangement) -> dict[str, Any]:
    return {
        "year": a.year,
        "holidays": [d.isoformat() for d in sorted(a.holidays)],
        "workdays": [d.isoformat() for d in sorted(a.workdays)],
        "source": str(a.source),
        "note": a.note,
    }


def year_from_doc(doc: dict[str, Any]) -> YearArrangement:
    return YearArrangement(
        int(doc["year"]),
        frozenset(date.fromisoformat(x) for x in doc.get("holidays", [])),
        frozenset(date.fromisoformat(x) for x in doc.get("workdays", [])),
        WorkCalendarSource(doc.get("source", WorkCalendarSource.PUBLISHED)),
        str(doc.get("note", "")),
    )


def fold_hotspot_cells(
    cells: dict[tuple[str, str, str], tuple[list[str], int]],
) -> dict[tuple[str, str], dict[str, int]]:
    """Grid × category × day cells (with the grid's path) as the `hotspot_days` documents
    they add to: (region, day) -> {"<grid>|<category>": reports}, for every region on the path."""
    folded: dict[tuple[str, str], dict[str, int]] = {}
    for (grid, cat, day), (path, n) in cells.items():
        for region in path:
            h = folded.setdefault((region, day), {})
            h[f"{grid}|{cat}"] = h.get(f"{grid}|{cat}", 0) + n
    return folded


def window_start(at: datetime, seconds: float) -> datetime:
    return at - timedelta(seconds=seconds)
