"""`yiwang replay grids`: every rollup counter of the territory recounted from the records (regions,
grid workers, households, and what each part appends to RECOUNTS), compared with the live rollups;
`apply` sets the live counters to the recount.

Each part owns some counters (`Recount.owns`) and counts them from its records with a pure function
of its domain module. A counter nobody owns is reported, never changed. Correct a live store when
writes are quiet (`--apply` after a maintenance stop, or run it again until it reports no
difference): a write between the two reads shows as a difference of one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.grids import domain
from services.grids.domain import cadres as cadre_rules
from services.grids.domain import households as hh
from services.grids.domain import links as link_rules
from services.grids.domain import visits as vd
from services.grids.store import region_from_doc
from services.grids.visit_store import recount_visits
from shared.records import flatten

Totals = dict[str, Counter]


@dataclass(frozen=True)
class Recount:
    """One part's counters: which names it owns, and their totals per region from its records."""

    name: str
    owns: Callable[[str], bool]
    count: Callable[[AsyncDatabase], Awaitable[Totals]]


async def regions_and_workers(db: AsyncDatabase) -> Totals:
    regions = [region_from_doc(d) async for d in db.regions.find({})]
    workers = [(w.get("gridId") is not None, w.get("gridId")) async for w in db.workers.find({}, {"gridId": 1})]
    return domain.recount(regions, workers)


async def households(db: AsyncDatabase) -> Totals:
    docs = db.households.find({"movedOutAt": None}, {"path": 1, "residentCount": 1, "tags": 1, "movedOutAt": 1})
    return hh.recount_households([d async for d in docs])


async def cadres(db: AsyncDatabase) -> Totals:  # links:
    regions = [region_from_doc(d) async for d in db.regions.find({})]
    active = [d["regionId"] async for d in db.cadres.find({"active": True}, {"regionId": 1})]
    return cadre_rules.recount_cadres(regions, active)


async def links(db: AsyncDatabase) -> Totals:  # links:
    docs = db.households.find(
        {"linkedMemberIds.0": {"$exists": True}}, {"path": 1, "movedOutAt": 1, "linkedMemberIds": 1}
    )
    return link_rules.recount_links([d async for d in docs])


RECOUNTS: list[Recount] = [
    Recount("regions and grid workers", lambda k: k in domain.COUNTERS, regions_and_workers),
    Recount("households", lambda k: k in hh.COUNTERS or k.startswith(hh.TAG_PREFIX), households),
    # visits and links append their recount here, one line each
    Recount("cadre coverage", lambda k: k in cadre_rules.CADRE_COUNTERS, cadres),  # links:
    Recount("member links", lambda k: k in link_rules.LINK_COUNTERS, links),  # links:
    Recount("visits", lambda k: k in vd.VISIT_COUNTERS, recount_visits),  # visits
]


@dataclass
class Report:
    regions: int = 0
    differences: list[tuple[str, str, int, int]] = field(default_factory=list)  # region, counter, live, recount
    unowned: list[tuple[str, str, int]] = field(default_factory=list)  # region, counter, live
    applied: bool = False

    @property
    def clean(self) -> bool:
        return not self.differences


def owner(name: str, recounts: list[Recount]) -> Recount | None:
    return next((r for r in recounts if r.owns(name)), None)


def compare(live: dict[str, Counter], expected: dict[str, Counter], recounts: list[Recount]) -> Report:
    """Every owned counter of every region, live against recount (a zero is no entry)."""
    report = Report(regions=len(live))
    for region in sorted(set(live) | set(expected)):
        have, want = live.get(region, Counter()), expected.get(region, Counter())
        for name in sorted(set(have) | set(want)):
            if owner(name, recounts) is None:
                if have[name]:
                    report.unowned.append((region, name, have[name]))
            elif have[name] != want[name]:
                report.differences.append((region, name, have[name], want[name]))
    return report


async def replay(db: AsyncDatabase, apply: bool = False, recounts: list[Recount] | None = None) -> Report:
    recounts = RECOUNTS if recounts is None else recounts
    live = {d["_id"]: Counter(flatten(d.get("counters") or {})) async for d in db.rollups.find({})}
    expected: dict[str, Counter] = {}
    for r in recounts:
        for region, c in (await r.count(db)).items():
            expected.setdefault(region, Counter()).update({k: v for k, v in c.items() if r.owns(k)})
    report = compare(live, expected, recounts)
    if apply and report.differences:
        ops: dict[str, dict[str, int]] = {}
        for region, name, have, want in report.differences:
            ops.setdefault(region, {})[f"counters.{name}"] = want - have
        await db.rollups.bulk_write([UpdateOne({"_id": r}, {"$inc": inc}) for r, inc in ops.items()], ordered=False)
        report.applied = True
    return report
