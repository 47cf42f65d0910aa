"""MongoDB access for the territory: regions, rollups, grid workers."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateMany, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.grids.domain import Level, Region, ancestors_below
from services.grids.domain.households import household_place, level_of_path
from shared.errors import NotFound
from shared.mongo import UnitOfWork, now
from shared.paging import paged_index
from shared.records import DAY_BUCKET_INDEXES, add_day_buckets, flatten, read_days
from shared.trends import city_tz, day_of, fold_days

INDEXES = {
    "regions": [
        IndexModel([("path", ASCENDING)]),
        IndexModel([("parentId", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("level", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("updatedAt", ASCENDING)]),
        IndexModel([("code", ASCENDING)]),
        IndexModel([("geomSeq", ASCENDING)]),
    ],
    "workers": [IndexModel([("path", ASCENDING), ("_id", ASCENDING)]), IndexModel([("sub", ASCENDING)], unique=True)],
    "rollups": [],
    # visits: the day buckets of the rollups (trends)
    "rollup_days": DAY_BUCKET_INDEXES,
    # links:
    "cadres": [
        IndexModel([("activeKey", ASCENDING)], unique=True),
        IndexModel([("path", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("sub", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("regionId", ASCENDING)]),
    ],
    "people": [],  # per-person figures: visitor:<sub>, member:<memberId>
    "memberLinks": [
        IndexModel([("memberId", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("householdId", ASCENDING)]),
    ],
    # households: a region's households by id (lists, recounts, a building's on a move), the live
    # household of a unit and room (unique; unset on moving out), a member's (联户).
    "households": [
        # lists page on (filter, k): bounded at any level (shared/paging)
        paged_index("path"),
        IndexModel([("placeKey", ASCENDING)], unique=True, sparse=True),
        paged_index("linkedMemberIds"),
        paged_index("tags", "path"),
    ],
}
SEQUENCES, GEOMETRY = "sequences", "geometry"
# What a boundary check reads of a region.
SHAPE_FIELDS = {"name": 1, "level": 1, "path": 1, "boundary": 1, "ancestors": 1}


def region_from_doc(d: dict) -> Region:
    return Region(
        id=d["_id"],
        name=d["name"],
        level=Level(d["level"]),
        path=d["path"],
        parent_id=d.get("parentId"),
        code=d.get("code"),
        boundary=d.get("boundary"),
        attrs=d.get("attrs") or {},
        version=d["version"],
    )


def region_doc(r: Region, ancestors: list[dict]) -> dict:
    return {
        "_id": r.id,
        "name": r.name,
        "level": str(r.level),
        "path": r.path,
        "parentId": r.parent_id,
        "code": r.code,
        "boundary": r.boundary,
        "attrs": r.attrs,
        "version": r.version,
        "ancestors": ancestors,
    }


class GridStore:
    def __init__(self, db: AsyncDatabase):
        self.db = db
        self.regions, self.rollups, self.workers = db.regions, db.rollups, db.workers
        self.days = db.rollup_days

    # -- regions ---------------------------------------------------------------------------
    async def get_doc(self, region_id: str, uow: UnitOfWork | None = None) -> dict | None:
        return await self.regions.find_one({"_id": region_id}, session=uow.session if uow else None)

    async def stored(self, region_id: str) -> dict:
        """A region known to exist (one this service created)."""
        d = await self.get_doc(region_id)
        if d is None:
            raise NotFound(f"region {region_id} does not exist")
        return d

    async def get(self, region_id: str, uow: UnitOfWork | None = None) -> Region | None:
        d = await self.get_doc(region_id, uow)
        return region_from_doc(d) if d else None

    async def get_docs(self, ids: list[str]) -> dict[str, dict]:
        return {d["_id"]: d async for d in self.regions.find({"_id": {"$in": ids}})}

    async def insert(self, uow: UnitOfWork, r: Region, parent_doc: dict | None, geom_seq: int | None = None) -> dict:
        ancestors = ancestors_below(parent_doc.get("ancestors", []), region_from_doc(parent_doc)) if parent_doc else []
        doc = {
            **region_doc(r, ancestors),
            "createdAt": now(),
            "updatedAt": now(),
            **({"geomSeq": geom_seq} if geom_seq is not None else {}),
        }
        await self.regions.insert_one(doc, session=uow.session)
        await self.rollups.insert_one(
            {"_id": r.id, "level": str(r.level), "path": r.path, "counters": {}}, session=uow.session
        )
        return doc

    async def insert_many(self, uow: UnitOfWork, docs: list[dict], counters: dict[str, Counter]) -> None:
        """Bulk: regions built by `region_doc` (with their times), each with its rollup holding
        `counters` of it (what it and the regions of its batch below it count), as a create's
        `bump` would have added to an empty one."""
        await self.regions.insert_many(docs, ordered=False, session=uow.session)
        rollups = [
            {
                "_id": d["_id"],
                "level": d["level"],
                "path": d["path"],
                "counters": {k: v for k, v in counters.get(d["_id"], Counter()).items() if v},
            }
            for d in docs
        ]
        await self.rollups.insert_many(rollups, ordered=False, session=uow.session)

    async def docs_in(self, ids: list[str], uow: UnitOfWork) -> dict[str, dict]:
        """These regions, whole, by id (in the caller's transaction)."""
        if not ids:
            return {}
        return {d["_id"]: d async for d in self.regions.find({"_id": {"$in": ids}}, session=uow.session)}

    async def replace_fields(self, uow: UnitOfWork, region_id: str, version: int, fields: dict) -> dict | None:
        """Set fields if the stored version is still `version`; bumps it. None: lost a race."""
        return await self.regions.find_one_and_update(
            {"_id": region_id, "version": version},
            {"$set": {**fields, "updatedAt": now()}, "$inc": {"version": 1}},
            session=uow.session,
            return_document=True,
        )

    async def descendants(self, region_id: str, uow: UnitOfWork | None = None) -> list[dict]:
        return await self.regions.find(
            {"path": region_id, "_id": {"$ne": region_id}}, session=uow.session if uow else None
        ).to_list(None)

    async def rewrite_subtree(self, uow: UnitOfWork, updates: list[tuple[str, dict]]) -> None:
        if updates:
            await self.regions.bulk_write(
                [UpdateOne({"_id": i}, {"$set": {**f, "updatedAt": now()}}) for i, f in updates],
                session=uow.session,
                ordered=False,
            )
            await self.rollups.bulk_write(
                [UpdateOne({"_id": i}, {"$set": {"path": f["path"]}}) for i, f in updates if "path" in f],
                session=uow.session,
                ordered=False,
            )
            await self.workers.bulk_write(
                [UpdateOne({"gridId": i}, {"$set": {"path": f["path"]}}) for i, f in updates if "path" in f],
                session=uow.session,
                ordered=False,
            )
            # households: those of a building that moved (or whose ancestors did) take its path.
            moved = [
                UpdateMany({"path": i}, {"$set": household_place(f["path"])})
                for i, f in updates
                if "path" in f and level_of_path(f["path"]) == "BUILDING"
            ]
            if moved:
                await self.db.households.bulk_write(moved, session=uow.session, ordered=False)

    async def chain(self, ids: list[str], uow: UnitOfWork) -> list[dict]:
        """These regions (an ancestor path), in the order given."""
        found = {d["_id"]: d async for d in self.regions.find({"_id": {"$in": ids}}, SHAPE_FIELDS, session=uow.session)}
        return [found[i] for i in ids if i in found]

    async def below(self, region_id: str, uow: UnitOfWork) -> list[dict]:
        """The regions below one, with what a boundary check needs (the path index; a match on
        `boundary` too would not use it)."""
        return await self.regions.find(
            {"path": region_id, "_id": {"$ne": region_id}}, SHAPE_FIELDS, session=uow.session
        ).to_list(None)

    async def all_shapes(self) -> list[dict]:
        return await self.regions.find({}, SHAPE_FIELDS).to_list(None)

    # -- boundary writes, one at a time ------------------------------------------------------
    async def geometry_seq(self) -> int:
        """The number of the last boundary write (the counter is made on first use)."""
        try:
            await self.db[SEQUENCES].update_one({"_id": GEOMETRY}, {"$setOnInsert": {"seq": 0}}, upsert=True)
        except DuplicateKeyError:
            pass  # another replica made it at the same moment
        doc = await self.db[SEQUENCES].find_one({"_id": GEOMETRY})
        return doc["seq"] if doc else 0

    async def take_geometry_turn(self, uow: UnitOfWork) -> int:
        """This transaction's number among boundary writes. Every transaction that writes or
        moves a boundary writes this one document, so two of them never commit side by side:
        the second conflicts and runs again, and then sees what the first wrote."""
        d = await self.db[SEQUENCES].find_one_and_update(
            {"_id": GEOMETRY},
            {"$inc": {"seq": 1}},
            upsert=True,
            session=uow.session,
            return_document=ReturnDocument.AFTER,
        )
        assert d is not None  # an upsert returning the document after it
        return d["seq"]

    async def boundaries_since(self, seq: int, uow: UnitOfWork) -> list[dict]:
        return await self.regions.find({"geomSeq": {"$gt": seq}}, session=uow.session).to_list(None)

    async def page(self, query: dict, first: int, after: str | None) -> tuple[list[dict], int, bool]:
        total = await self.regions.count_documents(query)
        q = {**query, **({"_id": {"$gt": after}} if after else {})}
        docs = await self.regions.find(q).sort("_id", 1).limit(first + 1).to_list(first + 1)
        return docs[:first], total, len(docs) > first

    async def grids_with_boundary(self) -> list[dict]:
        return await self.regions.find({"level": "GRID"}).to_list(None)

    async def changed_since(self, since: datetime) -> list[dict]:
        """Regions of every level written at or after `since`: a range on the `updatedAt` index
        alone (with `level` too the embedded store scans the collection)."""
        return await self.regions.find({"updatedAt": {"$gte": since}}).to_list(None)

    async def grids_below(self, region_id: str) -> list[dict]:
        return await self.regions.find({"level": "GRID", "path": region_id}).to_list(None)

    # -- rollups ---------------------------------------------------------------------------
    async def bump(
        self, uow: UnitOfWork, path: list[str], delta: Counter, sign: int = 1, at: datetime | None = None
    ) -> None:
        """Add `delta` to the rollups of every node on `path`, and to their day buckets of the day
        of `at` (default now: trends read them), in the transaction, at its flush."""
        inc = {f"counters.{k}": sign * v for k, v in delta.items() if v}
        if inc and path:
            uow.update(self.rollups.name, {"_id": {"$in": path}}, {"$inc": inc}, many=True)
            days: dict[tuple[str, str], dict[str, int]] = {}
            fold_days(days, path, day_of(at or now(), city_tz()), {k: sign * v for k, v in delta.items() if v})
            await add_day_buckets(self.days, uow, days)

    async def bump_nodes(self, uow: UnitOfWork, totals: dict[str, Counter], days: dict[tuple[str, str], dict]) -> None:
        """Bulk: per-node rollup changes and per-(node, day) bucket changes summed over a batch."""
        ops = [
            UpdateOne({"_id": node}, {"$inc": {f"counters.{k}": v for k, v in c.items() if v}})
            for node, c in totals.items()
            if any(c.values())
        ]
        if ops:
            await self.rollups.bulk_write(ops, ordered=False, session=uow.session)
        await add_day_buckets(self.days, uow, days)

    async def trend_days(self, region: str, first: str, last: str | None) -> dict[str, dict[str, int]]:
        return await read_days(self.days, region, first, last)

    async def counters(self, region_id: str) -> Counter:
        """One region's rollup counters (the region's own and everything below it)."""
        return Counter(flatten((await self.rollup_docs([region_id]))[region_id]["counters"]))

    async def rollup_docs(self, ids: list[str]) -> dict[str, dict]:
        return {d["_id"]: d async for d in self.rollups.find({"_id": {"$in": ids}})}

    # -- workers ---------------------------------------------------------------------------
    async def worker(self, worker_id: str, uow: UnitOfWork | None = None) -> dict | None:
        return await self.workers.find_one({"_id": worker_id}, session=uow.session if uow else None)

    async def stored_worker(self, worker_id: str) -> dict:
        """A grid worker known to exist (one this service registered)."""
        w = await self.worker(worker_id)
        if w is None:
            raise NotFound(f"grid worker {worker_id} does not exist")
        return w

    async def insert_worker(self, uow: UnitOfWork, worker: dict) -> None:
        await self.workers.insert_one(worker, session=uow.session)

    async def place_worker(self, uow: UnitOfWork, worker_id: str, grid_id: str | None, path: list[str]) -> dict:
        """Put a grid worker on a grid (None: off every grid, keeping the path of the last one)."""
        w = await self.workers.find_one_and_update(
            {"_id": worker_id}, {"$set": {"gridId": grid_id, "path": path}}, session=uow.session, return_document=True
        )
        if w is None:
            raise NotFound(f"grid worker {worker_id} does not exist")
        return w

    async def worker_by_sub(self, sub: str) -> dict | None:
        return await self.workers.find_one({"sub": sub})

    async def worker_page(self, query: dict, first: int, after: str | None) -> tuple[list[dict], int, bool]:
        total = await self.workers.count_documents(query)
        q = {**query, **({"_id": {"$gt": after}} if after else {})}
        docs = await self.workers.find(q).sort("_id", 1).limit(first + 1).to_list(first + 1)
        return docs[:first], total, len(docs) > first
