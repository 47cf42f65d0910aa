"""Figures recounted from the records: a service's rollup collections compared, counter by
counter, with a recount of the records that contribute to them (the domain's pure `recount`),
and corrected to it on request. `yiwang replay organizations|volunteers` runs it; the grids'
recount (services/grids/replay.py) and the cases' replay from the event log are their own.

Correct a live store when writes are quiet (after a maintenance stop, or run it again until it
reports no difference): a write between the two reads shows as a difference of one. The recount
reads every contributing record once, so it takes memory in proportion to the service's records
(a city's 50,000 members and their organisations are a few hundred MB at most).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.records import flatten

Recount = Callable[[list[Any]], dict[str, dict[str, int]]]


def _same(name: str) -> str:
    return name


def record_of(model: type[BaseModel]) -> Callable[[dict[str, Any]], Any]:
    """A stored record (`_id` its id) as its model."""
    return lambda doc: model.model_validate({**doc, "id": doc["_id"]})


@dataclass(frozen=True)
class Figures:
    """One rollup collection (`{_id: key, c: {counter: n}}`), the record kinds that contribute
    to it (collection, document → record) and the pure recount of those records; `stored`
    names a counter as the collection keeps it (`loaded` reads the name back)."""

    name: str
    collection: str
    kinds: Sequence[tuple[str, Callable[[dict[str, Any]], Any]]]
    recount: Recount
    stored: Callable[[str], str] = _same
    loaded: Callable[[str], str] = _same


@dataclass
class Report:
    keys: int = 0  # rollup documents read (regions, units)
    records: int = 0  # records recounted
    # figures name, key, counter, live, recount
    differences: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a recount cannot correct, said in words
    applied: bool = False

    @property
    def clean(self) -> bool:
        return not self.differences and not self.notes


async def live(db: AsyncDatabase, figures: Figures) -> dict[str, dict[str, int]]:
    """The live counters of every key, by their domain names, zeros left out."""
    out: dict[str, dict[str, int]] = {}
    async for doc in db[figures.collection].find({}):
        counters = {figures.loaded(k): v for k, v in flatten(doc.get("c") or {}).items() if v}
        out[str(doc["_id"])] = counters
    return out


async def recount(db: AsyncDatabase, figures: Figures) -> tuple[dict[str, dict[str, int]], int]:
    records: list[Any] = []
    for collection, of in figures.kinds:
        records += [of(doc) async for doc in db[collection].find({})]
    return figures.recount(records), len(records)


def differences(
    name: str, have: dict[str, dict[str, int]], want: dict[str, dict[str, int]]
) -> list[tuple[str, str, str, int, int]]:
    out = []
    for key in sorted(set(have) | set(want)):
        h, w = have.get(key, {}), want.get(key, {})
        for counter in sorted(set(h) | set(w)):
            if h.get(counter, 0) != w.get(counter, 0):
                out.append((name, key, counter, h.get(counter, 0), w.get(counter, 0)))
    return out


async def replay(db: AsyncDatabase, all_figures: Iterable[Figures], apply: bool = False) -> Report:
    """Compare every figures collection with its recount; `apply` adds the difference to each
    live counter that differs (an `$inc`, so a write that lands meanwhile is kept, not lost)."""
    report = Report()
    for figures in all_figures:
        have = await live(db, figures)
        want, n = await recount(db, figures)
        report.keys += len(set(have) | set(want))
        report.records += n
        diffs = differences(figures.name, have, want)
        report.differences += diffs
        if apply and diffs:
            inc: dict[str, dict[str, int]] = {}
            for _, key, counter, h, w in diffs:
                inc.setdefault(key, {})[f"c.{figures.stored(counter)}"] = w - h
            ops = [UpdateOne({"_id": key}, {"$inc": c}, upsert=True) for key, c in inc.items()]
            await db[figures.collection].bulk_write(ops, ordered=False)
            report.applied = True
    return report
