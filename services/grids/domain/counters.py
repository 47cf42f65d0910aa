"""What regions and grid workers add to the rollups of their region and every ancestor. Pure."""

from __future__ import annotations

from collections import Counter

from .cadres import CADRE_COUNTERS
from .regions import Level, Region

COUNTERS: tuple[str, ...] = (
    "countyCount",
    "townshipCount",
    "communityCount",
    "gridCount",
    "buildingCount",
    "gridWorkerCount",
)


def counters_of_node(level: Level) -> Counter:
    """What one node contributes to its own rollup and every ancestor's."""
    key = {
        Level.COUNTY: "countyCount",
        Level.TOWNSHIP: "townshipCount",
        Level.COMMUNITY: "communityCount",
        Level.GRID: "gridCount",
        Level.BUILDING: "buildingCount",
    }.get(level)
    return Counter({key: 1}) if key else Counter()


def counters_of_worker(active: bool, grid_id: str | None) -> Counter:
    return Counter({"gridWorkerCount": 1}) if active and grid_id else Counter()


def counters_view(stored: dict[str, int]) -> dict[str, int]:
    """A region's figures as callers see them: every counter, zero when none was counted."""
    return {k: int(stored.get(k, 0)) for k in (*COUNTERS, *CADRE_COUNTERS)}  # links: cadre coverage too


def recount(regions: list[Region], workers: list[tuple[bool, str | None]]) -> dict[str, Counter]:
    """Rollups from scratch: the reference that live counters must equal."""
    by_id = {r.id: r for r in regions}
    totals: dict[str, Counter] = {r.id: Counter() for r in regions}
    for r in regions:
        for anc in r.path:
            totals[anc].update(counters_of_node(r.level))
    for active, grid_id in workers:
        if grid_id in by_id:
            for anc in by_id[grid_id].path:
                totals[anc].update(counters_of_worker(active, grid_id))
    return totals
