"""Records of one kind in their own collection: pydantic models stored as documents with a
`path` field (the record's region path, for subtree queries), optimistic version checks and
Relay-style pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.domain import RollupDelta
from shared.errors import Conflict, LostRace, NotFound
from shared.mongo import UnitOfWork, now
from shared.paging import KEY, NewestPager, Pager, page_key
from shared.trends import bucket_id, city_tz, day_of, fold_days

R = TypeVar("R", bound=BaseModel)


class Keyed(Protocol):
    """A stored record: every record model has its id (the document's `_id`)."""

    id: str


def key(record: BaseModel) -> str:
    """A record's id; the models differ in everything else, so `R` is bound to BaseModel."""
    return cast(Keyed, record).id


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

    def __init__(
        self,
        db: AsyncDatabase,
        name: str,
        model: type[R],
        what: str,
        path_of: Callable[[R], Sequence[str]] = lambda r: r.region_path,  # type: ignore[attr-defined]
        extra: Callable[[R], dict[str, Any]] = lambda r: {},
        newest: str | None = None,
    ):
        """`newest`: the id prefix of records whose ids begin with their time (`new_id`), for
        a kind listed newest first (a ledger); others page in their keys' order."""
        self.coll, self.model, self.what = db[name], model, what
        self.path_of, self.extra = path_of, extra
        self.pager = Pager(self.coll)
        self.newest = NewestPager(self.coll, newest) if newest else None

    def to_doc(self, record: R) -> dict[str, Any]:
        doc = bsonable(record.model_dump(mode="python"))
        doc["_id"] = doc.pop("id")
        doc["path"] = list(self.path_of(record))
        doc[KEY] = page_key(doc["_id"])
        doc.update(self.extra(record))
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
            raise Conflict(f"{self.what} {key(record)} already exists", {"id": key(record)}) from None

    async def save(self, uow: UnitOfWork, record: R, expected_version: int) -> None:
        """Replace the record if nobody changed it since it was read (optimistic check)."""
        res = await self.coll.replace_one(
            {"_id": key(record), "version": expected_version},
            self.to_doc(record),
            session=uow.session,
        )
        if res.matched_count != 1:
            raise LostRace(
                f"{self.what} {key(record)} changed while you were working on it; read it again",
                {"id": key(record)},
            )

    async def page(
        self, query: dict, first: int, after: str | None, total: int | None = None
    ) -> tuple[list[R], int, bool]:
        """One page of the records matching `query` after the record `after`, in bounded work
        (shared.paging); `total`, when the caller has it (a rollup), instead of a count."""
        if self.newest is not None:
            docs, total, more = await self.newest.page(query, first, after, total=total)
        else:
            docs, total, more = await self.pager.page(query, first, page_key(after) if after else None, total)
        return [self.of(x) for x in docs], total, more

    async def page_by_id(self, query: dict, first: int, after: str | None) -> tuple[list[R], int, bool]:
        """One page in id order (oldest first for time-made ids), reading every match: only for
        lists small by nature whose order is their meaning (a community's wish wall)."""
        total = await self.coll.count_documents(query)
        q = {**query, **({"_id": {"$gt": after}} if after else {})}
        docs = await self.coll.find(q).sort("_id", 1).limit(first + 1).to_list(first + 1)
        return [self.of(x) for x in docs[:first]], total, len(docs) > first

    async def find(
        self, query: dict, limit: int = 0, sort: str | None = None, uow: UnitOfWork | None = None
    ) -> list[R]:
        cur = self.coll.find(query, session=uow.session if uow else None)
        if sort:
            cur = cur.sort(sort, 1)
        return [self.of(x) for x in await cur.to_list(limit or None)]


async def claim_key(
    keys: AsyncCollection, uow: UnitOfWork, key: str, owner: str, message: str, also: Sequence[str] = ()
) -> None:
    """Take a unique key inside the transaction; an earlier or concurrent twin conflicts, and
    so does another owner of any key in `also` (the same value under an earlier blind-index
    key, until `yiwang rekey` has moved it)."""
    existing = await keys.find_one({"_id": key}, session=uow.session)
    if existing is not None and existing["owner"] != owner:
        raise Conflict(message, {"existingId": existing["owner"]})
    if also:
        async for other in keys.find({"_id": {"$in": list(also)}}, session=uow.session):
            if other["owner"] != owner:
                raise Conflict(message, {"existingId": other["owner"]})
    if existing is None:
        await keys.insert_one({"_id": key, "owner": owner}, session=uow.session)


async def add_rollups(
    rollups: AsyncCollection,
    uow: UnitOfWork,
    deltas: Iterable[RollupDelta],
    field: Callable[[str], str] = lambda k: k,
    days: AsyncCollection | None = None,
    at: datetime | None = None,
) -> None:
    """Add the deltas to every region on their paths, in the transaction (`$inc`, upsert),
    and, given `days`, to those regions' buckets of the day of `at` (default: now). Written
    with the unit of work's other writes at its flush (one round trip): nothing reads them back
    in the transaction."""
    deltas = list(deltas)
    if days is not None:
        await add_day_buckets(days, uow, deltas_by_day(deltas, day_of(at or now(), city_tz())), field)
    totals: dict[str, dict[str, int]] = {}
    for delta in deltas:
        delta.apply_to(totals)  # net changes per region, none that sum to 0
    for region, c in totals.items():
        if any(c.values()):
            inc = {f"c.{field(k)}": v for k, v in c.items() if v}
            uow.update(rollups.name, {"_id": region}, {"$inc": inc}, upsert=True)


async def add_day_buckets(
    days: AsyncCollection,
    uow: UnitOfWork,
    totals: dict[tuple[str, str], dict[str, int]],
    field: Callable[[str], str] = lambda k: k,
    also: str | None = None,
) -> None:
    """Add net counter changes to (region, local day) buckets, in the transaction: what
    trends are read from (shared/trends). With `also`, the same changes go to that field of
    the bucket too (imported history keeps its own share, `imported`, for a replay). Written at
    the unit of work's flush, with its other writes."""
    prefixes = ["c", also] if also else ["c"]
    for (region, day), c in totals.items():
        if any(c.values()):
            inc = {f"{p}.{field(k)}": v for p in prefixes for k, v in c.items() if v}
            uow.update(
                days.name,
                {"_id": bucket_id(region, day)},
                {"$inc": inc, "$setOnInsert": {"r": region, "d": day}},
                upsert=True,
            )


def deltas_by_day(deltas: Iterable[RollupDelta], day: str) -> dict[tuple[str, str], dict[str, int]]:
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for delta in deltas:
        fold_days(totals, delta.region_path, day, delta.changes)
    return totals


# Day buckets are read by region and a range of days on this index. Not by a range on `_id`:
# the embedded store scans the whole collection for a range on `_id` (a city's year of
# buckets, 250,000 documents: 3.9 s instead of 10 ms).
DAY_BUCKET_INDEXES = [IndexModel([("r", ASCENDING), ("d", ASCENDING)])]


async def read_days(
    days: AsyncCollection,
    region: str,
    first_day: str,
    last_day: str | None,
    unfield: Callable[[str], str] = lambda k: k,
) -> dict[str, dict[str, int]]:
    """Day buckets of one region from `first_day` to `last_day` (None: up to today), by
    one walk of the (r, d) index, however many regions there are."""
    out: dict[str, dict[str, int]] = {}
    days_range = {"$gte": first_day, **({"$lte": last_day} if last_day else {})}
    async for doc in days.find({"r": region, "d": days_range}, {"d": 1, "c": 1}):
        out[doc["d"]] = {unfield(k): v for k, v in flatten(doc.get("c", {})).items()}
    return out


def flat_and(*parts: dict[str, Any]) -> dict[str, Any]:
    """The conjunction of query parts as one flat document where the keys allow: the embedded
    store plans a flat query on its indexes, but scans the collection for an `$and`."""
    out: dict[str, Any] = {}
    rest: list[dict[str, Any]] = []
    for part in parts:
        for k, v in part.items():
            if k in out:
                rest.append({k: v})
            else:
                out[k] = v
    return {**out, "$and": rest} if rest else out


# The earliest instant a stored date can hold: the lower bound of `until()`.
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)


def until(t: datetime, *, inclusive: bool = True) -> dict[str, datetime]:
    """A range on a date field "at or before `t`" (strictly before when not `inclusive`), with
    a lower bound. The embedded store walks a range without one from the start of the index,
    where every document that has no value there (null) sorts: the cases sweeper's
    `{sweep_at: {$lte: now}}`, whose closed cases have none, read every case (277 ms on 2,400
    cases against 5.7 ms bounded; ~12 s on a city's 100,000). The bound changes no answer: a
    date range matches dates only."""
    return {"$gte": EARLIEST, "$lte" if inclusive else "$lt": t}


def flatten(nested: dict, prefix: str = "") -> dict[str, int]:
    """Counters stored nested by their dotted names (`c.resolved_by_level.GRID`), flat again."""
    out: dict[str, int] = {}
    for k, v in nested.items():
        if isinstance(v, dict):
            out |= flatten(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = int(v)
    return out
