"""包联: cadres assigned to communities, grids and buildings — roles, levels, limits, coverage. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from shared.errors import BadInput, Conflict
from shared.vocabulary.territory import CadreRole

from .regions import Level, Region

CADRE_LEVEL: dict[CadreRole, Level] = {
    CadreRole.STREET_CADRE: Level.COMMUNITY,
    CadreRole.COMMUNITY_CADRE: Level.GRID,
    CadreRole.MEMBER_BUILDING: Level.BUILDING,
    CadreRole.BUILDING_LEADER: Level.BUILDING,
    CadreRole.FIRST_SECRETARY: Level.COMMUNITY,
}
CADRE_ROLE_NAMES: dict[CadreRole, str] = {
    CadreRole.STREET_CADRE: "街道干部联社区",
    CadreRole.COMMUNITY_CADRE: "社区干部联网格",
    CadreRole.MEMBER_BUILDING: "党员联楼栋",
    CadreRole.BUILDING_LEADER: "楼栋长",
    CadreRole.FIRST_SECRETARY: "第一书记",
}
# Bounds that keep every list of assignments short: one person is tied to a few places, one
# place has a few cadres. Past them an assignment is refused (CONFLICT), never truncated.
MAX_ASSIGNMENTS_PER_SUB = 30
MAX_ASSIGNMENTS_PER_REGION = 20
CADRE_COUNTERS = ("communitiesWithCadre", "gridsWithCadre")
_COVERAGE_KEY = {Level.COMMUNITY: "communitiesWithCadre", Level.GRID: "gridsWithCadre"}


def check_cadre_role(role: str) -> CadreRole:
    try:
        return CadreRole(role)
    except ValueError:
        raise BadInput(f"unknown cadre role {role!r}; one of {', '.join(CadreRole)}", {"role": role}) from None


def check_cadre_region(role: CadreRole, level: str, name: str) -> None:
    """Each role is tied to one level: a street cadre to a COMMUNITY, a community cadre to a GRID …"""
    want = CADRE_LEVEL[role]
    if level != want:
        raise BadInput(f"a {role} is assigned to a {want}, and {name} is a {level}", {"role": str(role)})


def check_cadre_sub(sub: str) -> str:
    sub = sub.strip()
    if not sub or len(sub) > 64 or any(c.isspace() for c in sub):
        raise BadInput("sub must be 1-64 characters without spaces: the cadre's principal subject")
    return sub


def active_key(sub: str, region_id: str, role: str) -> str:
    """What makes an active assignment unique (a unique index): one person, one place, one role."""
    return f"{sub}|{region_id}|{role}"


def check_new_assignment(held_by_sub: int, held_in_region: int) -> None:
    if held_by_sub >= MAX_ASSIGNMENTS_PER_SUB:
        raise Conflict(f"a cadre holds at most {MAX_ASSIGNMENTS_PER_SUB} assignments; unassign one first")
    if held_in_region >= MAX_ASSIGNMENTS_PER_REGION:
        raise Conflict(f"a region has at most {MAX_ASSIGNMENTS_PER_REGION} cadre assignments; unassign one first")


def counters_of_cadres(level: str, before: int, after: int) -> Counter:
    """What a region's assignment count going from `before` to `after` adds to the coverage
    counters of the region and its ancestors: +1 when the first arrives, −1 when the last leaves."""
    key = _COVERAGE_KEY.get(Level(level))
    if key is None or (before > 0) == (after > 0):
        return Counter()
    return Counter({key: 1 if after > 0 else -1})


def coverage(covered: int, total: int) -> float | None:
    """A share, null when there is nothing to cover."""
    return covered / total if total else None


def recount_cadres(regions: Iterable[Region], active_region_ids: Iterable[str]) -> dict[str, Counter]:
    """Coverage counters from scratch: every community and grid holding an active assignment
    counts once in its own rollup and every ancestor's."""
    by_id = {r.id: r for r in regions}
    totals: dict[str, Counter] = {i: Counter() for i in by_id}
    for region_id in set(active_region_ids):
        r = by_id.get(region_id)
        if r is None:
            continue
        delta = counters_of_cadres(str(r.level), 0, 1)
        for anc in r.path:
            if anc in totals:
                totals[anc].update(delta)
    return totals
