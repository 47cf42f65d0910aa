"""Rebuild the cases rollups from the event log and compare them with the live counters.

The outbox is the event log. Events still queued for the projector are left out, so the
comparison is exact while the service runs. A third figure, a recount of the stored cases
(`domain.recount`), says whether the log itself tells the truth.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pymongo.asynchronous.database import AsyncDatabase

from services.cases import domain as d
from services.cases.store import case_from_doc
from shared.records import flatten
from shared.mongo import OUTBOX, PROJECTION_QUEUE


@dataclass
class ReplayReport:
    events: int = 0
    regions: int = 0
    differences: list[tuple[str, str, int, int]] = field(default_factory=list)  # region, counter, live, log
    recount_differences: list[tuple[str, str, int, int]] = field(default_factory=list)  # region, counter, log, recount

    @property
    def clean(self) -> bool:
        return not self.differences and not self.recount_differences


def _diff(a: dict[str, dict[str, int]], b: dict[str, dict[str, int]]) -> list[tuple[str, str, int, int]]:
    out = []
    for region in sorted(set(a) | set(b)):
        for k in sorted(set(a.get(region, {})) | set(b.get(region, {}))):
            x, y = a.get(region, {}).get(k, 0), b.get(region, {}).get(k, 0)
            if x != y:
                out.append((region, k, x, y))
    return out


async def rebuild(db: AsyncDatabase) -> tuple[dict[str, dict[str, int]], int]:
    paths = {t["_id"]: t["path"] async for t in db.territory.find({"level": "GRID"}, {"path": 1})}
    queued = {q["_id"].split(":", 1)[1] async for q in db[PROJECTION_QUEUE].find({"projection": "rollups"}, {"_id": 1})}
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    n = 0
    async for doc in db[OUTBOX].find({"aggregate": {"$ne": "catalogue"}}, {"envelope.data": 1}).sort("oid", 1):
        if doc["_id"] in queued:
            continue
        n += 1
        data = doc["envelope"]["data"]
        event_path = data.get("region_path") or []
        for region in paths.get(event_path[-1], event_path) if event_path else []:
            for k, v in (data.get("delta") or {}).items():
                totals[region][k] += v
    return {r: {k: v for k, v in c.items() if v} for r, c in totals.items()}, n


async def replay(db: AsyncDatabase, apply: bool = False) -> ReplayReport:
    rebuilt, n = await rebuild(db)
    live = {r["_id"]: {k: v for k, v in flatten(r.get("c", {})).items() if v} async for r in db.rollups.find()}
    recounted = {r: {k: v for k, v in c.items() if v}
                 for r, c in d.recount([case_from_doc(x) async for x in db.cases.find()]).items()}
    report = ReplayReport(events=n, regions=len(rebuilt), differences=_diff(live, rebuilt),
                          recount_differences=_diff(rebuilt, recounted))
    if apply and report.differences:
        for region, counter, live_v, log_v in report.differences:
            await db.rollups.update_one({"_id": region}, {"$inc": {f"c.{counter}": log_v - live_v}}, upsert=True)
    return report
