"""Where boundaries may lie, without I/O: the overlap rule and its tolerance, the grid `locate`
answers in an overlap kept from before, the nearest bounded ancestor, and the audit that
`yiwang check territory` prints (the demo and city seeds pass it)."""
from __future__ import annotations

import logging
import math

import pytest
from shapely.geometry import shape

from ops.cli import demo, seed
from services.grids.domain import boundaries as b
from shared.errors import BadInput
from shared.geo import EPS_DEG, PolygonIndex, area_m2, overlap


def sq(x: float, y: float, w: float, h: float | None = None) -> dict:
    h = w if h is None else h
    return {"type": "Polygon", "coordinates": [[[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]]}


def region(i: str, level: str, path: list[str], boundary: dict | None = None) -> dict:
    return {"_id": i, "name": f"{i}名", "level": level, "path": [*path, i], "boundary": boundary,
            "ancestors": [{"id": a, "name": f"{a}名"} for a in path]}


@pytest.mark.parametrize("other, overlaps", [
    (sq(2, 0, 1), False),                           # apart
    (sq(1, 0, 1), False),                           # a shared edge
    (sq(1, 1, 1), False),                           # a shared corner
    (sq(1 - EPS_DEG / 2, 0, 1), False),             # a sliver narrower than the tolerance: float noise
    (sq(1 - 3 * EPS_DEG, 0, 1), True),              # a sliver wider than it (~3 cm)
    (sq(0.5, 0.5, 1), True),                        # corners across each other
    (sq(0.25, 0.25, 0.5), True),                    # one inside the other
    (sq(0, 0, 1), True),                            # the same polygon
])
def test_overlap_tolerates_touching_and_float_noise_only(other, overlaps):
    a = shape(sq(0, 0, 1))
    assert (overlap(a, shape(other)) is not None) is overlaps
    assert (overlap(shape(other), a) is not None) is overlaps  # symmetric


def test_overlap_is_the_shared_part_and_area_is_in_square_metres():
    common = overlap(shape(sq(0, 30, 0.02)), shape(sq(0.01, 30, 0.02)))
    assert common is not None and math.isclose(common.area, 0.01 * 0.02)
    # 0.01° x 0.01° at 30°N: 1,112 m north-south by 963 m east-west
    assert 1.06e6 < area_m2(shape(sq(0, 30, 0.01))) < 1.08e6


def test_index_names_the_grids_a_boundary_would_overlap():
    idx = PolygonIndex()
    idx.replace_all([("a", sq(0, 0, 1)), ("b", sq(1, 0, 1)), ("c", sq(5, 5, 1))])
    assert idx.conflicts(shape(sq(2, 0, 1))) == []  # touches b only
    assert [k for k, _ in idx.conflicts(shape(sq(0.5, 0, 1)))] == ["a", "b"]
    assert idx.conflicts(shape(sq(0, 0, 1)), exclude="a") == []  # a grid does not conflict with itself
    idx.put("d", sq(5.5, 5.5, 1))
    assert [(x, y) for x, y, _ in idx.overlapping_pairs()] == [("c", "d")]


def test_locate_in_an_overlap_answers_the_smaller_grid_then_the_smaller_id(caplog):
    big, small = ("big", sq(0, 0, 2)), ("small", sq(0.5, 0.5, 1))
    for order in ([big, small], [small, big]):
        idx = PolygonIndex()
        idx.replace_all(order)
        with caplog.at_level(logging.WARNING, logger="yiwang.geo"):
            assert idx.locate(1, 1) == "small" and idx.locate(0.2, 0.2) == "big"
            assert idx.locate(1.2, 1.2) == "small"  # logged once per pair, not per point
    warnings = [r for r in caplog.records if "overlapping" in r.getMessage()]
    assert len(warnings) == 2 and "big, small" in warnings[0].getMessage()
    same = PolygonIndex()
    same.replace_all([("z", sq(0, 0, 1)), ("y", sq(0.5, 0, 1))])
    assert same.locate(0.75, 0.5) == "y" and same.winner(["z", "y"]) == "y"
    caplog.clear()
    edge = PolygonIndex()  # neighbours sharing an edge: no warning, the smaller answers
    edge.replace_all([("a", sq(0, 0, 1)), ("b", sq(1, 0, 0.5))])
    with caplog.at_level(logging.WARNING, logger="yiwang.geo"):
        assert edge.locate(1, 0.25) == "b"
    assert not caplog.records


def test_nearest_bounded_ancestor_skips_levels_without_a_boundary():
    chain = [region("c", "CITY", [], sq(0, 0, 10)), region("k", "COUNTY", ["c"]),
             region("t", "TOWNSHIP", ["c", "k"])]
    assert b.nearest_bounded(chain)["_id"] == "c"
    assert b.nearest_bounded(chain[1:]) is None
    with pytest.raises(BadInput) as e:
        b.check_inside("this COMMUNITY", shape(sq(9, 9, 2)), chain[0], parent_id="t")
    assert "inside its CITY c名's boundary (c, its nearest ancestor with a boundary)" in e.value.message
    assert "m² lie outside" in e.value.message and e.value.details == {"container": "c"}
    b.check_inside("this COMMUNITY", shape(sq(9, 9, 1)), chain[0], parent_id="t")  # edges on the border
    b.check_inside("this COMMUNITY", shape(sq(9, 9, 1 + EPS_DEG / 2)), chain[0], parent_id="t")  # within tolerance
    b.check_inside("this COMMUNITY", shape(sq(20, 20, 1)), None, parent_id="t")  # nothing above has one


def test_frontier_is_the_nearest_bounded_regions_below():
    below = [region("t", "TOWNSHIP", ["k"]),  # no boundary: look through it
             region("m1", "COMMUNITY", ["k", "t"], sq(0, 0, 2)),
             region("g1", "GRID", ["k", "t", "m1"], sq(0, 0, 1)),  # under a bounded community
             region("m2", "COMMUNITY", ["k", "t"]),
             region("g2", "GRID", ["k", "t", "m2"], sq(3, 0, 1))]  # its community has none
    assert [d["_id"] for d in b.frontier("k", below)] == ["m1", "g2"]
    b.check_contains(shape(sq(0, 0, 4)), b.frontier("k", below))
    with pytest.raises(BadInput) as e:
        b.check_contains(shape(sq(0, 0, 3)), b.frontier("k", below))
    assert "GRID g2名 (g2)" in e.value.message


def test_an_overlap_is_refused_naming_the_grids():
    g = {"id": "demo-k0t1m2g3", "name": "第四网格"}
    common = shape(sq(113.90, 30.91, 0.01))
    with pytest.raises(BadInput) as e:
        b.check_no_overlap("this GRID", [(g, common), ({"id": "x", "name": "X"}, common)])
    assert "overlaps grid 第四网格 (demo-k0t1m2g3) by about" in e.value.message and "and 1 more" in e.value.message
    assert [c["id"] for c in e.value.details["conflictingGrids"]] == ["demo-k0t1m2g3", "x"]
    assert 1.0e6 < e.value.details["conflictingGrids"][0]["overlapM2"] < 1.1e6
    b.check_no_overlap("this GRID", [])


def test_audit_lists_overlaps_outside_and_invalid_boundaries():
    bowtie = {"type": "Polygon", "coordinates": [[[5, 0], [6, 1], [6, 0], [5, 1], [5, 0]]]}
    regions = [region("c1", "CITY", [], sq(0, 0, 1)), region("m1", "COMMUNITY", ["c1"], sq(0, 0, 1)),
               region("a", "GRID", ["c1", "m1"], sq(0, 0, 0.5)),
               region("b", "GRID", ["c1", "m1"], sq(0.5, 0, 0.5)),  # a's neighbour: fine
               region("c2", "CITY", []), region("m2", "COMMUNITY", ["c2"]),
               region("z", "GRID", ["c2", "m2"], sq(0.4, 0.1, 0.2)),  # another city's grid over a and b
               region("y", "GRID", ["c1", "m1"], sq(0.9, 0.9, 0.2)),  # sticks out of m1
               region("x", "GRID", ["c2", "m2"], bowtie)]
    report = b.audit(regions, limit=10)
    pairs = {(o["a"]["id"], o["b"]["id"]): o for o in report["overlaps"]}
    assert set(pairs) == {("a", "z"), ("b", "z")} and report["overlapCount"] == 2
    assert pairs[("a", "z")]["locatedTo"] == "z" and pairs[("a", "z")]["overlapM2"] > 0
    assert pairs[("a", "z")]["b"]["path"] == "c2名 / m2名 / z名"
    assert [(o["region"]["id"], o["container"]["id"]) for o in report["outside"]] == [("y", "m1")]
    assert [o["id"] for o in report["invalid"]] == ["x"] and "Self-intersection" in report["invalid"][0]["reason"]
    assert b.audit(regions, limit=1)["overlaps"] == report["overlaps"][:1]


def plan_regions(levels: list[list[dict]]) -> list[dict]:
    parents = {r["id"]: r.get("parentId") for level in levels for r in level}
    out = []
    for level in levels:
        for r in level:
            path, node = [], r["id"]
            while node:
                path.insert(0, node)
                node = parents[node]
            out.append(region(r["id"], r["level"], path[:-1], r.get("boundary")))
    return out


@pytest.mark.parametrize("levels", [demo.plan(), seed.city_plan().levels], ids=["demo", "city"])
def test_the_seeds_keep_every_rule(levels):
    report = b.audit(plan_regions(levels), limit=5)
    assert report["grids"] == len(levels[4])
    assert (report["overlapCount"], report["outsideCount"], report["invalidCount"]) == (0, 0, 0), report


def test_the_demo_and_the_city_do_not_overlap_each_other():
    assert b.audit(plan_regions(demo.plan()) + plan_regions(seed.city_plan().levels), limit=5)["overlapCount"] == 0


def test_the_grid_index_keeps_the_newest_version_of_a_grid():
    from services.grids.locator import GridLocator

    loc = GridLocator(store=None, resync_s=30)  # put and locate touch no store

    def grid(version: int, boundary: dict | None) -> dict:
        return {"id": "g", "name": "g", "level": "GRID", "path": ["g"], "version": version, "boundary": boundary}

    loc.put(grid(2, sq(0, 0, 1)))
    loc.put(grid(1, sq(5, 5, 1)))  # a late event of the version before: ignored
    assert loc.locate(0.5, 0.5)["version"] == 2 and loc.locate(5.5, 5.5) is None
    loc.put(grid(3, None))  # its boundary cleared
    assert loc.locate(0.5, 0.5) is None and loc.conflicts(shape(sq(0, 0, 1))) == []
    loc.put({**grid(9, sq(0, 0, 1)), "level": "COMMUNITY", "id": "m"})  # not a grid: not indexed
    assert loc.locate(0.5, 0.5) is None
