"""包联 and 党员联户 rules: roles and levels, limits, coverage transitions, the recount."""
from __future__ import annotations

from collections import Counter

import pytest

from services.grids.domain import Level, Region
from services.grids.domain import cadres as c
from shared.errors import BadInput, Conflict


def test_each_role_takes_one_level():
    assert c.CADRE_LEVEL[c.CadreRole.STREET_CADRE] is Level.COMMUNITY
    assert c.CADRE_LEVEL[c.CadreRole.COMMUNITY_CADRE] is Level.GRID
    assert c.CADRE_LEVEL[c.CadreRole.BUILDING_LEADER] is Level.BUILDING
    c.check_cadre_region(c.CadreRole.FIRST_SECRETARY, "COMMUNITY", "x")
    with pytest.raises(BadInput, match="is assigned to a GRID"):
        c.check_cadre_region(c.CadreRole.COMMUNITY_CADRE, "COMMUNITY", "x")
    with pytest.raises(BadInput, match="unknown cadre role"):
        c.check_cadre_role("MAYOR")
    assert set(c.CADRE_ROLE_NAMES) == set(c.CadreRole) == set(c.CADRE_LEVEL)


@pytest.mark.parametrize("sub", ["", "  ", "a b", "x" * 65])
def test_a_sub_is_one_word(sub):
    with pytest.raises(BadInput):
        c.check_cadre_sub(sub)


def test_limits_refuse_rather_than_truncate():
    c.check_new_assignment(c.MAX_ASSIGNMENTS_PER_SUB - 1, c.MAX_ASSIGNMENTS_PER_REGION - 1)
    with pytest.raises(Conflict, match="at most"):
        c.check_new_assignment(c.MAX_ASSIGNMENTS_PER_SUB, 0)
    with pytest.raises(Conflict, match="at most"):
        c.check_new_assignment(0, c.MAX_ASSIGNMENTS_PER_REGION)


def test_coverage_counts_a_region_once():
    assert c.counters_of_cadres("COMMUNITY", 0, 1) == Counter({"communitiesWithCadre": 1})
    assert c.counters_of_cadres("COMMUNITY", 1, 2) == Counter()
    assert c.counters_of_cadres("GRID", 1, 0) == Counter({"gridsWithCadre": -1})
    assert c.counters_of_cadres("GRID", 2, 1) == Counter()
    assert c.counters_of_cadres("BUILDING", 0, 1) == Counter()  # buildings are not a coverage figure
    assert c.coverage(1, 0) is None and c.coverage(1, 4) == 0.25


def test_recount_cadres_matches_live_transitions():
    def r(i: str, level: Level, path: list[str]) -> Region:
        return Region(id=i, name=i, level=level, path=path, parent_id=path[-2] if len(path) > 1 else None,
                      code=None, boundary=None, attrs={}, version=1)

    regions = [r("t", Level.TOWNSHIP, ["t"]), r("m", Level.COMMUNITY, ["t", "m"]), r("g", Level.GRID, ["t", "m", "g"]),
               r("g2", Level.GRID, ["t", "m", "g2"]), r("b", Level.BUILDING, ["t", "m", "g", "b"])]
    totals = c.recount_cadres(regions, ["m", "m", "g", "b", "gone"])
    assert totals["t"] == Counter({"communitiesWithCadre": 1, "gridsWithCadre": 1})
    assert totals["g2"] == Counter()
