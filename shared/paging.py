"""Pages of a list in bounded work, whatever the list's size.

The embedded store answers a find by fetching and decoding every document the query matches,
then sorting and limiting in memory (~55 µs a document): a list of a city's 50,000 party
members read "the first 20 after X" by reading all 50,000. So a list is never asked for as a
whole. Every paged record carries a page key `k`: ten base32 characters of a hash of its id,
then the id (`page_key`). The keys spread every list, whatever its filter, evenly over the key
space, so a window of the key space holds about the list's size times the window's share of
it. A page is read window by window from the cursor on (each window one range on a compound
index `(equality fields…, k)`: only the window's documents are fetched), the first window
sized by what the list's earlier pages found (its density, remembered per list) or, unknown,
by the collection's size; each next window four times the last, until the page is full. The
work is about the page, however long the list: ~2 pages of documents in expectation and a
few round trips.

A query is split into its parts (its `$or` and `$in` alternatives, `$and` flattened) and each
part into the equality fields an index serves and the rest, checked here on the fetched
documents (`matches`, a small subset of MongoDB's query language; anything else is refused
as a programming error). Parts are read at once and merged by key. The index a part rides is
the one with the most of its equality fields (an index that names a field the part has no
equality for cannot serve it; the store needs exactly the index's fields). A collection
declares its paged indexes with `paged_index(...)`; `(k)` alone serves a list with no
equality at all (an unrestricted caller's whole list).

The order of a list is its keys' order: stable across pages and writes, unrelated to names or
times (lists that have a natural order, such as cases newest first, page their own way).

Totals are counted only as far as bounded: exact when the list turned out to be short (up to
`EXACT_UP_TO` records), else estimated from the share of the key space a sample of
`SAMPLE` records covered (±~10%), rounded to two significant figures; a caller with the
figure at hand (a region's rollup) gives it instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from shared.errors import BadInput
from shared.ids import ALPHABET, id_floor, id_time_ms

KEY = "k"
HASH_CHARS = 10  # 50 bits of the id's hash lead the key
SPACE = 32**HASH_CHARS
GROWTH = 4  # each next window of a page is this many times the last
EXACT_UP_TO = 250  # a list this short is counted exactly
SAMPLE = 100  # a longer one is estimated from about this many of its records
MAX_PARTS = 64  # alternatives a query may split into
_MEMORY = 4096  # lists whose density is remembered (per process)
_COUNT_TTL_S = 30.0  # a later page of a list reuses its first page's total this long
_SIZE_TTL_S = 300.0  # a collection's size, for the first window of a list never read before


def page_key(record_id: str) -> str:
    """The key a record is paged by: its id's hash (spread evenly) then its id (unique)."""
    n = int.from_bytes(hashlib.sha256(record_id.encode()).digest()[:8], "big") >> (64 - 5 * HASH_CHARS)
    return _b32(n) + record_id


def paged_index(*fields: str) -> IndexModel:
    """The index a list with equalities on `fields` pages on."""
    return IndexModel([*((f, ASCENDING) for f in fields), (KEY, ASCENDING)])


def _b32(n: int) -> str:
    out = []
    for _ in range(HASH_CHARS):
        out.append(ALPHABET[n & 31])
        n >>= 5
    return "".join(reversed(out))


def _position(k: str) -> int:
    n = 0
    for ch in k[:HASH_CHARS]:
        n = n * 32 + ALPHABET.index(ch)
    return n


# ---- queries: parts, equalities, the rest ---------------------------------------------------

Cond = tuple[str, Any]  # (field, condition): a value (equality) or an operator document


def alternatives(query: dict[str, Any]) -> list[list[Cond]]:
    """The query as alternatives (an `$or` of `$and`s) of field conditions."""
    out: list[list[Cond]] = [[]]
    for name, cond in query.items():
        if name == "$and":
            for sub in cond:
                out = [a + b for a in out for b in alternatives(sub)]
        elif name == "$or":
            alts = [alt for sub in cond for alt in alternatives(sub)]
            out = [a + b for a in out for b in alts]
        elif name.startswith("$"):
            raise ValueError(f"a paged list cannot be filtered by {name}")
        else:
            out = [a + [(name, cond)] for a in out]
        if len(out) > MAX_PARTS:
            raise ValueError(f"a paged list's query has more than {MAX_PARTS} alternatives")
    return out


def _equalities(cond: Any) -> list[Any] | None:
    """The values an index equality can take for this condition (several for `$in`), or None."""
    if isinstance(cond, dict):
        if set(cond) == {"$eq"}:
            cond = cond["$eq"]
        elif set(cond) == {"$in"} and all(_scalar(v) for v in cond["$in"]):
            return list(cond["$in"])
        else:
            return None
    return [cond] if _scalar(cond) else None


def _scalar(v: Any) -> bool:
    return v is not None and isinstance(v, str | int | float | bool | datetime | date)


@dataclass(frozen=True)
class Part:
    """One alternative: the equalities its index serves and the conditions checked after."""

    eq: tuple[Cond, ...]
    rest: tuple[Cond, ...]

    def query(self, lower: str | None, exclusive: bool, upper: str | None) -> dict[str, Any]:
        window: dict[str, str] = {}
        if lower is not None:
            window["$gt" if exclusive else "$gte"] = lower
        if upper is not None:
            window["$lt"] = upper
        return {**dict(self.eq), **({KEY: window} if window else {})}

    def admits(self, doc: dict[str, Any]) -> bool:
        return all(matches(doc, name, cond) for name, cond in self.rest)


def plan(query: dict[str, Any], combos: Sequence[tuple[str, ...]]) -> list[Part]:
    """The query's parts, each on the paged index with the most of its equality fields."""
    parts: list[Part] = []
    for alt in alternatives(query):
        options: dict[str, list[list[Any]]] = {}
        for name, cond in alt:
            values = _equalities(cond)
            if values is not None:
                options.setdefault(name, []).append(values)
        if any(not values for each in options.values() for values in each):
            continue  # an `$in` of nothing: this alternative matches nothing
        best: tuple[str, ...] | None = ("_id",) if "_id" in options else None  # read by id
        for combo in combos if best is None else ():
            if all(f in options for f in combo) and (best is None or len(combo) > len(best)):
                best = combo
        if best is None:
            raise ValueError(f"no paged index serves {sorted(options)}; the collection needs paged_index()")
        chosen = {f: options[f][0] for f in best}  # the first condition on a field rides the index
        used = {f: False for f in best}
        rest: list[Cond] = []
        for name, cond in alt:
            if name in used and not used[name] and _equalities(cond) == chosen[name]:
                used[name] = True
            else:
                rest.append((name, cond))
        for combination in itertools.product(*(chosen[f] for f in best)):
            parts.append(Part(tuple(zip(best, combination, strict=True)), tuple(rest)))
        if len(parts) > MAX_PARTS:
            raise ValueError(f"a paged list's query has more than {MAX_PARTS} alternatives")
    return parts


# ---- the conditions checked on fetched documents -------------------------------------------


def _values(doc: Any, path: str) -> list[Any]:
    """The values at a dotted path, descending into lists as MongoDB does."""
    current = [doc]
    for step in path.split("."):
        nxt: list[Any] = []
        for v in current:
            if isinstance(v, list):
                v = [x.get(step) if isinstance(x, dict) else None for x in v]
                nxt.extend(x for x in v if x is not None)
            elif isinstance(v, dict) and step in v:
                nxt.append(v[step])
        current = nxt
    return current


def _holds(stored: Any, value: Any) -> bool:
    if isinstance(stored, list) and not isinstance(value, list):
        return any(_holds(s, value) for s in stored)
    return bool(stored == value)


def _compare(stored: Any, op: str, bound: Any) -> bool:
    items = stored if isinstance(stored, list) else [stored]
    for s in items:
        try:
            if (
                (op == "$gt" and s > bound)
                or (op == "$gte" and s >= bound)
                or (op == "$lt" and s < bound)
                or (op == "$lte" and s <= bound)
            ):
                return True
        except TypeError:  # MongoDB compares within a type only
            continue
    return False


def matches(doc: dict[str, Any], name: str, cond: Any) -> bool:
    """Whether the document meets one field's condition (MongoDB's meaning, for the operators
    lists use: equality, $eq $ne $in $nin $exists $gt $gte $lt $lte)."""
    found = _values(doc, name)
    if not isinstance(cond, dict) or not any(k.startswith("$") for k in cond):
        return any(_holds(v, cond) for v in found) if cond is not None else (not found or None in found)
    for op, arg in cond.items():
        if op == "$eq":
            ok = matches(doc, name, arg)
        elif op == "$ne":
            ok = not matches(doc, name, arg)
        elif op == "$in":
            ok = any(matches(doc, name, v) for v in arg)
        elif op == "$nin":
            ok = not any(matches(doc, name, v) for v in arg)
        elif op == "$exists":
            ok = bool(found) == bool(arg)
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            ok = any(_compare(v, op, arg) for v in found)
        else:
            raise ValueError(f"a paged list cannot be filtered by {op}")
        if not ok:
            return False
    return True


# ---- reading -------------------------------------------------------------------------------


async def index_combos(coll: AsyncCollection, last: str) -> list[tuple[str, ...]]:
    """The fields before `last` of each of the collection's indexes that end with it."""
    found = []
    for spec in (await coll.index_information()).values():
        names = [name for name, _ in spec["key"]]
        if names and names[-1] == last:
            found.append(tuple(names[:-1]))
    return found


@dataclass
class Count:
    total: int
    exact: bool
    at: float = field(default_factory=time.monotonic)


class Pager:
    """Pages of one collection's lists (see the module docstring)."""

    def __init__(self, coll: AsyncCollection):
        self.coll = coll
        self._combos: list[tuple[str, ...]] | None = None
        self._density: OrderedDict[str, float] = OrderedDict()
        self._counts: OrderedDict[str, Count] = OrderedDict()
        self._size: tuple[float, int] | None = None
        self.fetched = 0  # documents read for pages and counts, since the start (tests, metrics)

    async def combos(self) -> list[tuple[str, ...]]:
        """The equality fields of the collection's paged indexes (read from the store once)."""
        if self._combos is None:
            self._combos = await index_combos(self.coll, KEY)
        return self._combos

    async def size(self) -> int:
        now = time.monotonic()
        if self._size is None or now - self._size[0] > _SIZE_TTL_S:
            self._size = (now, max(1, await self.coll.estimated_document_count()))
        return self._size[1]

    async def page(
        self, query: dict[str, Any], first: int, after_key: str | None, total: int | None = None
    ) -> tuple[list[dict[str, Any]], int, bool]:
        """The documents after `after_key` (a page key; None: from the start), `first` of them
        in key order, the list's total (given, counted or estimated) and whether more follow."""
        parts = plan(query, await self.combos())
        if not parts:
            return [], 0, False
        memo = _memo_key(self.coll.name, query)
        need = first + 1
        density = total if total is not None else self._density.get(memo)
        guess = density if density else await self.size()
        start = _position(after_key) if after_key else 0
        docs, end = await self._scan(parts, need, start, after_key, guess)
        if end > start:
            self._remember(self._density, memo, max(len(docs), 1) * SPACE / (end - start))
        more = len(docs) > need - 1
        items = docs[:first]
        if total is not None:
            if after_key is None:  # a rollup trails its writes: a first page bounds it
                total = max(total, need) if more else len(items)
            return items, total, more
        if after_key is None and end >= SPACE:
            count = Count(len(docs), True)  # the whole list was read
        else:
            cached = self._counts.get(memo)
            if after_key is not None and cached and time.monotonic() - cached.at < _COUNT_TTL_S:
                count = cached
            else:  # a first page's documents begin the count's reading
                seen, read_to = (docs, end) if after_key is None else ([], 0)
                count = await self._count(parts, self._density.get(memo) or guess, seen, read_to)
        self._remember(self._counts, memo, count)
        return items, count.total, more

    async def _scan(
        self,
        parts: list[Part],
        need: int,
        start: int,
        after_key: str | None,
        guess: float,
        seen: Sequence[dict[str, Any]] = (),
    ) -> tuple[list[dict[str, Any]], int]:
        """Windows from `start` until `need` documents are found (`seen`: those found before
        `start`) or the key space ends: the documents in key order and where the scan stopped."""
        width = max(1, int(SPACE * (need - len(seen)) * 1.25 / max(guess, 1.0)))
        found: dict[str, dict[str, Any]] = {d["_id"]: d for d in seen}
        lo = start
        while lo < SPACE:
            hi = min(SPACE, lo + width)
            lower = after_key if (after_key and lo == start) else (_b32(lo) if lo else None)
            window = await self._window(parts, lower, bool(after_key and lo == start), hi)
            for doc in window:
                found.setdefault(doc["_id"], doc)
            lo = hi
            if len(found) >= need:
                break
            width *= GROWTH
        docs = sorted(found.values(), key=lambda d: d[KEY])
        return docs, lo

    async def _window(self, parts: list[Part], lower: str | None, exclusive: bool, hi: int) -> list[dict[str, Any]]:
        upper = _b32(hi) if hi < SPACE else None

        async def one(part: Part) -> list[dict[str, Any]]:
            docs = await self.coll.find(part.query(lower, exclusive, upper)).to_list(None)
            self.fetched += len(docs)
            return [d for d in docs if part.admits(d)]

        if len(parts) == 1:
            return await one(parts[0])
        return [d for docs in await asyncio.gather(*(one(p) for p in parts)) for d in docs]

    async def _count(self, parts: list[Part], guess: float, seen: list[dict[str, Any]], read_to: int) -> Count:
        """The list's size: exact when short, else estimated from a sample's share of the keys;
        the reading goes on from `read_to`, the documents before it (`seen`) already read."""
        need = EXACT_UP_TO + 1 if guess <= EXACT_UP_TO else SAMPLE
        docs, end = seen, read_to
        if len(docs) < need and end < SPACE:
            docs, end = await self._scan(parts, need, end, None, guess, seen)
        if end >= SPACE:
            return Count(len(docs), True)
        return Count(_rounded(len(docs) * SPACE / max(end, 1)), False)

    @staticmethod
    def _remember(memory: OrderedDict, key: str, value: Any) -> None:
        memory[key] = value
        memory.move_to_end(key)
        while len(memory) > _MEMORY:
            memory.popitem(last=False)


def _rounded(n: float) -> int:
    """An estimate to two significant figures (it is not known better)."""
    if n < 100:
        return round(n)
    digits = int(math.floor(math.log10(n))) - 1
    return int(round(n, -digits))


def _memo_key(coll: str, query: dict[str, Any]) -> str:
    return coll + json.dumps(query, sort_keys=True, default=str)


async def backfill_keys(coll: AsyncCollection, batch: int = 500) -> int:
    """Give the records stored before lists paged by key (none of a fresh database) theirs,
    once per collection (recorded in the database's `migrations`): a record without a key is in
    no list. Idempotent (the key follows from the id), safe on several replicas at once."""
    marker = f"page-keys:{coll.name}"
    migrations = coll.database["migrations"]
    if await migrations.find_one({"_id": marker}):
        return 0
    if await coll.find_one({}, {"_id": 1}) is None:
        return 0  # an empty collection (a new database): every record it gets has its key
    changed = 0
    while True:  # one scan per batch, once in the collection's life
        ids = [d["_id"] async for d in coll.find({KEY: {"$exists": False}}, {"_id": 1}).limit(batch)]
        if not ids:
            break
        res = await coll.bulk_write([UpdateOne({"_id": i}, {"$set": {KEY: page_key(i)}}) for i in ids], ordered=False)
        changed += res.modified_count
    await migrations.update_one({"_id": marker}, {"$set": {"at": datetime.now(UTC)}}, upsert=True)
    return changed


# ---- newest first: records whose ids begin with their time -----------------------------------


class PageWindows:
    """How many hours of cases before the cursor a list reads first, learned per list: the
    window that filled its last page, halved each time the first window fills one again, so
    a city's busy list settles on minutes of cases and a quiet grid's on weeks. The windows
    after the first grow sixfold up to a year, then everything before. Pure: no I/O."""

    MIN_HOURS, START_HOURS, GROWTH, YEAR_HOURS, REMEMBERED = 1 / 12, 1.0, 6, 366 * 24, 10_000

    def __init__(self) -> None:
        self.first: dict[str, float] = {}

    def plan(self, key: str) -> list[float | None]:
        """The windows to read, in hours before the anchor (None: everything before)."""
        hours, out = self.first.get(key, self.START_HOURS), []
        while hours < self.YEAR_HOURS:
            out.append(hours)
            hours *= self.GROWTH
        return [*out, self.YEAR_HOURS, None]

    def learn(self, key: str, planned: list[float | None], filled: float | None) -> None:
        """`filled`: the window of `planned` that filled the page (None: none did)."""
        if len(self.first) >= self.REMEMBERED:
            self.first.clear()
        if filled is None:
            self.first[key] = self.YEAR_HOURS  # fewer than a page in a year: read it at once
        elif filled == planned[0]:
            self.first[key] = max(self.MIN_HOURS, filled / 2)
        else:
            self.first[key] = filled


class NewestPager:
    """Pages newest first of a collection whose ids begin with their time (`shared.ids.new_id`
    and ids made like it: cases, visits). A page is read from successive windows of ids before
    the cursor, each window one range of ids on the index of each part's equalities (indexes
    ending in `_id`), the parts' other conditions checked on the documents read, until the page
    is full; no record is read twice. The first window is sized by what filled this list's last
    page (`PageWindows`): a day of a city is thousands of cases, a grid's year a few dozen.
    The total is counted only when asked for (or given)."""

    def __init__(self, coll: AsyncCollection, prefix: str):
        self.coll, self.prefix = coll, prefix
        self.windows = PageWindows()
        self._combos: list[tuple[str, ...]] | None = None

    async def combos(self) -> list[tuple[str, ...]]:
        """The equality fields of the indexes a window of ids rides (read once); () is the ids'
        own range (an unrestricted caller's whole list)."""
        if self._combos is None:
            self._combos = [(), *(c for c in await index_combos(self.coll, "_id") if c)]
        return self._combos

    async def _window(self, parts: list[Part], ids: dict[str, str], need: int) -> list[dict[str, Any]]:
        """The newest `need` records of the parts in one window of ids (the store plans a query
        with a field its index lacks on one clause alone: a city's every record)."""

        def inside(record_id: str) -> bool:
            return ("$lt" not in ids or record_id < ids["$lt"]) and ("$gte" not in ids or record_id >= ids["$gte"])

        async def one(part: Part) -> list[dict[str, Any]]:
            eq = dict(part.eq)
            by_id = "_id" in eq  # a scope naming ids: read them, check the window here
            cur = self.coll.find(eq if by_id or not ids else {**eq, "_id": ids}).sort("_id", -1)
            if not part.rest and not by_id:
                cur = cur.limit(need)
            return [d for d in await cur.to_list(None) if part.admits(d) and inside(d["_id"])]

        if len(parts) == 1:
            return await one(parts[0])
        merged = {d["_id"]: d for docs in await asyncio.gather(*(one(x) for x in parts)) for d in docs}
        return [merged[i] for i in sorted(merged, reverse=True)[:need]]

    async def page(
        self, query: dict[str, Any], first: int, after: str | None, with_total: bool = True, total: int | None = None
    ) -> tuple[list[dict[str, Any]], int, bool]:
        """The records after the record `after` (None: the newest), `first` of them, the total
        (counted when `with_total`, or given: a rollup) and whether more follow."""
        try:
            anchor = id_time_ms(after, len(self.prefix)) if after else int(time.time() * 1000)
        except ValueError:
            raise BadInput("`after` is not a cursor of this list") from None
        parts = plan(query, await self.combos())
        key = json.dumps(query, sort_keys=True, default=str)
        planned = self.windows.plan(key)
        docs: list[dict[str, Any]] = []
        upper, filled = after, None  # upper: exclusive; the cursor, then the floor of the window before
        for hours in planned:
            ids: dict[str, str] = {"$lt": upper} if upper else {}
            floor = id_floor(self.prefix, anchor - int(hours * 3_600_000)) if hours is not None else None
            if floor:
                ids["$gte"] = floor
            docs += await self._window(parts, ids, first + 1 - len(docs))
            if len(docs) > first:
                filled = hours
                break
            if floor is None:
                break
            upper = floor
        self.windows.learn(key, planned, filled)
        more = len(docs) > first
        if total is None:
            total = await self.coll.count_documents(query) if with_total else -1
        elif after is None:
            # a given total (a rollup) trails the writes by a projector pass; a first page that
            # holds the whole list is its exact count, and a fuller one bounds it from below
            total = max(total, first + 1) if more else len(docs)
        return docs[:first], total, more
