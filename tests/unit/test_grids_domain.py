from __future__ import annotations

import pytest

from services.grids.domain import (PARENT_LEVEL, Level, Region, check_move, check_parent, check_version,
                                   moved_path, new_region, recount)
from shared.errors import BadInput, Conflict


def node(i: str, level: Level, parent: Region | None = None) -> Region:
    return new_region(i, i, level, parent)


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize("parent_level", [*Level, None])
def test_parent_must_be_one_level_up(level, parent_level):
    parent = Region(id="p", name="p", level=parent_level, path=["p"]) if parent_level else None
    if PARENT_LEVEL[level] == parent_level:
        check_parent(level, parent)
    else:
        with pytest.raises(BadInput):
            check_parent(level, parent)


def test_new_region_builds_path_and_checks_fields():
    city = node("c", Level.CITY)
    county = node("k", Level.COUNTY, city)
    assert county.path == ["c", "k"] and county.parent_id == "c"
    for bad in [dict(region_id="A.b"), dict(name=" "), dict(name="x" * 65), dict(code="12 34")]:
        args = dict(region_id="t", name="t", level=Level.TOWNSHIP, parent=county) | bad
        with pytest.raises(BadInput):
            new_region(**args)


def test_move_rules_and_path_rewrite():
    c = node("c", Level.CITY)
    k1, k2 = node("k1", Level.COUNTY, c), node("k2", Level.COUNTY, c)
    t = node("t", Level.TOWNSHIP, k1)
    check_move(t, k2)
    with pytest.raises(BadInput):
        check_move(t, k1)  # already there
    with pytest.raises(BadInput):
        check_move(k1, node("t2", Level.TOWNSHIP, k1))  # under its own descendant
    with pytest.raises(BadInput):
        check_move(t, c)  # wrong level
    assert moved_path(["c", "k1", "t", "m", "g"], ["c", "k1", "t"], ["c", "k2", "t"]) == ["c", "k2", "t", "m", "g"]
    with pytest.raises(ValueError):
        moved_path(["c", "k2", "x"], ["c", "k1", "t"], ["c", "k2", "t"])


def test_version_check():
    check_version(3, None)
    check_version(3, 3)
    with pytest.raises(Conflict):
        check_version(3, 2)


def test_recount_counts_each_node_at_every_ancestor():
    c = node("c", Level.CITY)
    k = node("k", Level.COUNTY, c)
    t = node("t", Level.TOWNSHIP, k)
    m = node("m", Level.COMMUNITY, t)
    g1, g2 = node("g1", Level.GRID, m), node("g2", Level.GRID, m)
    b = node("b", Level.BUILDING, g1)
    totals = recount([c, k, t, m, g1, g2, b], [(True, "g1"), (False, None), (True, "g2")])
    assert totals["c"] == {"countyCount": 1, "townshipCount": 1, "communityCount": 1, "gridCount": 2,
                           "buildingCount": 1, "gridWorkerCount": 2}
    assert totals["g1"] == {"gridCount": 1, "buildingCount": 1, "gridWorkerCount": 1}
    assert totals["g2"] == {"gridCount": 1, "gridWorkerCount": 1}
