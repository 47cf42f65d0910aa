"""Rebuild the cases figures from the event log and compare them with the live ones.

The figures are the region rollups, the day buckets trends read and the hotspot days. Each is
rebuilt as the `imported` share that imported history left in it (history never reaches the
outbox) plus what the outbox's events add, folded by the rollup projection's own `totals`.
Events still queued for the projector are left out, so the comparison is exact while the
service runs. A recount of the stored cases (`domain.recount`) says, for the rollups, whether
the log itself tells the truth; `apply` corrects the live figures only when it does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.cases import domain as d
from services.cases.projection import totals
from services.cases.store import HOTSPOT_DAYS, IMPORTED, case_from_doc, fold_hotspot_cells
from shared.ids import new_id
from shared.mongo import OUTBOX, PROJECTION_QUEUE, Transactor, UnitOfWork, now
from shared.records import flatten
from shared.trends import bucket_id

Counts = dict[str, dict[str, int]]  # document key -> counter -> value
MAX_RECORDED = 1000  # differences kept in a correction's record (the counts are always whole)


@dataclass
class ReplayReport:
    events: int = 0
    regions: int = 0
    differences: list[tuple[str, str, int, int]] = field(default_factory=list)  # region, counter, live, log
    recount_differences: list[tuple[str, str, int, int]] = field(default_factory=list)  # region, counter, log, recount
    day_differences: list[tuple[str, str, int, int]] = field(default_factory=list)  # "region|day", counter, live, log
    hotspot_differences: list[tuple[str, str, int, int]] = field(default_factory=list)  # "region|day", "grid|cat", ...
    applied: bool = False

    @property
    def clean(self) -> bool:
        return not (self.differences or self.recount_differences or self.day_differences or self.hotspot_differences)


def _diff(a: Counts, b: Counts) -> list[tuple[str, str, int, int]]:
    out = []
    for key in sorted(set(a) | set(b)):
        for k in sorted(set(a.get(key, {})) | set(b.get(key, {}))):
            x, y = a.get(key, {}).get(k, 0), b.get(key, {}).get(k, 0)
            if x != y:
                out.append((key, k, x, y))
    return out


def _nonzero(figures: Counts) -> Counts:
    return {key: nz for key, c in figures.items() if (nz := {k: v for k, v in c.items() if v})}


@dataclass
class Rebuilt:
    rollups: Counts
    days: Counts  # keyed by bucket id
    hotspots: Counts  # keyed by bucket id too (region|day)
    events: int


async def _shares(db: AsyncDatabase, coll: str, live_field: str) -> tuple[Counts, Counts]:
    """(live figures, imported share) of every document of a figures collection."""
    live: Counts = {}
    imported: Counts = {}
    async for doc in db[coll].find({}, {live_field: 1, IMPORTED: 1}):
        live[doc["_id"]] = flatten(doc.get(live_field, {}))
        imported[doc["_id"]] = flatten(doc.get(IMPORTED, {}))
    return _nonzero(live), _nonzero(imported)


async def rebuild(db: AsyncDatabase, imported: tuple[Counts, Counts, Counts] | None = None) -> Rebuilt:
    """The imported shares (rollups, days, hotspots) plus every projected event of the outbox."""
    rollups, days, hotspots = ({k: dict(v) for k, v in f.items()} for f in imported or ({}, {}, {}))
    # the grids' current paths from the service's territory copy (what the projector uses)
    paths = {t["_id"]: t["path"] async for t in db.territory.find({"level": "GRID"}, {"path": 1})}
    queued = {q["_id"].split(":", 1)[1] async for q in db[PROJECTION_QUEUE].find({"projection": "rollups"}, {"_id": 1})}
    docs = [
        doc
        async for doc in db[OUTBOX].find({"aggregate": {"$ne": "catalogue"}}, {"envelope": 1}).sort("oid", 1)
        if doc["_id"] not in queued
    ]
    acc, day_totals, cells = totals(docs, paths.get)

    def add(into: Counts, key: str, counters: dict[str, int]) -> None:
        c = into.setdefault(key, {})
        for k, v in flatten(counters).items():
            c[k] = c.get(k, 0) + v

    for region, counters in acc.items():
        add(rollups, region, counters)
    for (region, day), counters in day_totals.items():
        add(days, bucket_id(region, day), counters)
    for (region, day), h in fold_hotspot_cells(cells).items():
        add(hotspots, bucket_id(region, day), h)
    return Rebuilt(_nonzero(rollups), _nonzero(days), _nonzero(hotspots), len(docs))


def _corrections(live_field: str, differences: list[tuple[str, str, int, int]]) -> list[UpdateOne]:
    by_doc: dict[str, dict[str, int]] = defaultdict(dict)
    for key, counter, live_v, log_v in differences:
        by_doc[key][f"{live_field}.{counter}"] = log_v - live_v
    return [UpdateOne({"_id": key}, {"$inc": inc}, upsert=True) for key, inc in by_doc.items()]


async def _apply(db: AsyncDatabase, report: ReplayReport, by: str) -> None:
    """The corrections and their record (`figure_corrections`: when, by whom, what) in one
    transaction: all of them or none."""
    writes = [
        (coll, ops)
        for coll, ops in (
            ("rollups", _corrections("c", report.differences)),
            ("rollup_days", _corrections("c", report.day_differences)),
            (HOTSPOT_DAYS, _corrections("h", report.hotspot_differences)),
        )
        if ops
    ]
    if not writes:
        return
    record = {
        "_id": new_id("fc"),
        "at": now(),
        "by": by,
        "events": report.events,
        "counts": {
            "rollups": len(report.differences),
            "days": len(report.day_differences),
            "hotspots": len(report.hotspot_differences),
        },
        "differences": [
            list(x) for x in (report.differences + report.day_differences + report.hotspot_differences)[:MAX_RECORDED]
        ],
    }

    async def work(uow: UnitOfWork) -> None:
        for coll, ops in writes:
            await db[coll].bulk_write(ops, ordered=False, session=uow.session)
        await db.figure_corrections.insert_one(record, session=uow.session)

    await Transactor(db.client, db)(work)


async def replay(db: AsyncDatabase, apply: bool = False, by: str = "") -> ReplayReport:
    """Compare; with `apply`, correct the live figures to the rebuilt ones (`by`: who asked,
    for the record) unless the log disagrees with a recount of the cases."""
    live_rollups, imported_rollups = await _shares(db, "rollups", "c")
    live_days, imported_days = await _shares(db, "rollup_days", "c")
    live_hot, imported_hot = await _shares(db, HOTSPOT_DAYS, "h")
    rebuilt = await rebuild(db, (imported_rollups, imported_days, imported_hot))
    recounted = _nonzero(d.recount([case_from_doc(x) async for x in db.cases.find()]))
    report = ReplayReport(
        events=rebuilt.events,
        regions=len(rebuilt.rollups),
        differences=_diff(live_rollups, rebuilt.rollups),
        recount_differences=_diff(rebuilt.rollups, recounted),
        day_differences=_diff(live_days, rebuilt.days),
        hotspot_differences=_diff(live_hot, rebuilt.hotspots),
    )
    # Correct only figures the log accounts for: a log that disagrees with the cases themselves
    # (history imported before figures kept their imported share, a lost event) would replace
    # true figures with its own.
    if apply and not report.recount_differences:
        await _apply(db, report, by or "unknown")
        report.applied = True
    return report
