"""Rules of the territory that the request handlers used to hold: the list scope, who may
create, move and audit, who reads a grid worker and their phone, what an update changes, what a
rename or move rewrites below a region, where a worker may be assigned, and where a boundary
may lie when it is set or its region moved."""
from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from services.grids import domain
from services.grids.domain import Level, Region
from shared.auth import Principal, Role
from shared.errors import BadInput, Forbidden

ADMIN = Principal(sub="a", role=Role.ADMIN, region="county")
OPERATOR = Principal(sub="o", role=Role.OPERATOR, region="comm")
WORKER = Principal(sub="w", role=Role.GRID_WORKER, region="g1")
DEPT = Principal(sub="d", role=Role.DEPARTMENT, region="county", dept="FIRE")
RESIDENT = Principal(sub="r", role=Role.RESIDENT)
SUPER = Principal(sub="s", role=Role.SUPERADMIN)
SERVICE = Principal(sub="svc", role=Role.SERVICE)


# -- the list scope -----------------------------------------------------------------------------
def test_without_a_parent_or_level_a_caller_lists_their_own_root():
    assert domain.list_scope(ADMIN) == {"_id": "county", "path": "county"}
    assert domain.list_scope(SUPER) == {}


def test_a_parent_or_level_lists_within_the_callers_subtree():
    assert domain.list_scope(ADMIN, "comm") == {"parentId": "comm", "path": "county"}
    assert domain.list_scope(ADMIN, None, "GRID") == {"level": "GRID", "path": "county"}
    assert domain.list_scope(ADMIN, "comm", "GRID") == {"parentId": "comm", "level": "GRID", "path": "county"}
    assert domain.list_scope(SUPER, None, "CITY") == {"level": "CITY"}


def test_a_resident_lists_no_region():
    assert domain.list_scope(RESIDENT, "comm") == {"parentId": "comm", "_id": {"$in": []}}


# -- who may ------------------------------------------------------------------------------------
def test_only_an_unrestricted_caller_creates_a_city():
    for p in (SUPER, SERVICE):
        domain.check_may_create(p, Level.CITY)
    domain.check_may_create(ADMIN, Level.COUNTY)
    with pytest.raises(Forbidden, match="only a superadmin may create a top-level CITY"):
        domain.check_may_create(ADMIN, Level.CITY)


def test_nobody_moves_the_root_of_their_own_scope():
    domain.check_may_move(ADMIN, "comm")
    with pytest.raises(Forbidden, match="the root of your own scope"):
        domain.check_may_move(ADMIN, "county")


def test_only_an_unrestricted_caller_audits_the_territory():
    domain.check_may_audit(SUPER)
    for p in (ADMIN, OPERATOR):
        with pytest.raises(Forbidden, match="only a superadmin may check the whole territory"):
            domain.check_may_audit(p)


GRID_PATH = ["city", "county", "comm", "g1"]


@pytest.mark.parametrize(("p", "reads", "phone"), [
    (SUPER, True, True),
    (ADMIN, True, True),
    (OPERATOR, True, True),
    (WORKER, True, False),  # a colleague of the grid: the name, a masked phone
    (Principal(sub="w9", role=Role.GRID_WORKER, region="g9"), False, False),
    (Principal(sub="x", role=Role.ADMIN, region="elsewhere"), False, False),
    (DEPT, False, False),
    (RESIDENT, False, False),
    (Principal(sub="worker-sub", role=Role.RESIDENT), True, True),  # the worker themself
])
def test_who_reads_a_grid_worker_and_their_phone(p, reads, phone):
    assert domain.may_read_worker(p, "worker-sub", GRID_PATH) is reads
    assert domain.sees_worker_phone(p, "worker-sub", GRID_PATH) is phone


# -- updates ------------------------------------------------------------------------------------
def test_an_update_sets_what_it_names_and_checks_it():
    assert domain.changed_fields(" 新名 ", None, False, None) == {"name": "新名"}
    assert domain.changed_fields(None, "", True, None) == {"code": None}
    assert domain.changed_fields(None, "3301", True, {"k": 1}) == {"code": "3301", "attrs": {"k": 1}}
    with pytest.raises(BadInput, match="nothing to change"):
        domain.changed_fields(None, None, False, None)
    with pytest.raises(BadInput, match="code must be"):
        domain.changed_fields(None, "no spaces", True, None)
    with pytest.raises(BadInput, match="name must not be empty"):
        domain.changed_fields("  ", None, False, None)


def test_only_a_new_name_or_code_rewrites_the_breadcrumbs_below():
    assert domain.renames({"name": "x"}) and domain.renames({"code": None})
    assert not domain.renames({"attrs": {}})


def r(i: str, level: Level, path: list[str], name: str | None = None) -> Region:
    return Region(id=i, name=name or f"{i}名", level=level, path=[*path, i], parent_id=path[-1] if path else None)


def test_a_rename_rewrites_the_breadcrumbs_below():
    root = r("comm", Level.COMMUNITY, ["city", "county"], name="新社区")
    root_ancestors = [domain.crumb(r("city", Level.CITY, [])), domain.crumb(r("county", Level.COUNTY, ["city"]))]
    below = [r("g1", Level.GRID, ["city", "county", "comm"]), r("b1", Level.BUILDING, ["city", "county", "comm", "g1"])]
    out = dict(domain.subtree_rewrites(root, root_ancestors, below))
    assert out["g1"]["path"] == ["city", "county", "comm", "g1"]
    assert [a["name"] for a in out["b1"]["ancestors"]] == ["city名", "county名", "新社区", "g1名"]
    assert out["b1"]["ancestors"][2] == {"id": "comm", "name": "新社区", "level": "COMMUNITY", "code": None}


def test_a_move_rewrites_paths_and_breadcrumbs_below():
    parent = r("comm2", Level.COMMUNITY, ["city", "county"])
    ancestors = domain.ancestors_below([domain.crumb(r("city", Level.CITY, [])),
                                        domain.crumb(r("county", Level.COUNTY, ["city"]))], parent)
    assert [a["id"] for a in ancestors] == ["city", "county", "comm2"]
    root = r("g1", Level.GRID, ["city", "county", "comm2"])
    below = [r("b1", Level.BUILDING, ["city", "county", "comm", "g1"])]
    out = domain.subtree_rewrites(root, ancestors, below, old_prefix=["city", "county", "comm", "g1"])
    assert out == [("b1", {"path": ["city", "county", "comm2", "g1", "b1"],
                            "ancestors": [*ancestors, domain.crumb(root)]})]


# -- workers ------------------------------------------------------------------------------------
def test_grid_workers_are_assigned_to_a_grid_somewhere_else():
    domain.check_worker_grid("GRID", "一网格")
    with pytest.raises(BadInput, match="grid workers are assigned to a GRID, and 某社区 is a COMMUNITY"):
        domain.check_worker_grid("COMMUNITY", "某社区")
    domain.check_reassignment("g1", "g2")
    domain.check_reassignment("g1", None)
    for same in ("g1", None):
        with pytest.raises(BadInput, match="already there"):
            domain.check_reassignment(same, same)


def test_figures_show_every_counter():
    assert domain.counters_view({"gridCount": 3}) == {k: (3 if k == "gridCount" else 0) for k in domain.FIGURES}


# -- where a boundary may lie ---------------------------------------------------------------------
def sq(x: float, y: float, w: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + w, y], [x + w, y + w], [x, y + w], [x, y]]]}


def doc(i: str, level: str, path: list[str], boundary: dict | None = None) -> dict[str, Any]:
    return {"_id": i, "name": f"{i}名", "level": level, "path": [*path, i], "boundary": boundary}


def no_overlaps(geom: BaseGeometry, exclude: str) -> list[tuple[dict, BaseGeometry]]:
    return []


COMM = doc("comm", "COMMUNITY", ["city", "county"], sq(0, 0, 10))


def test_a_boundary_lies_inside_its_nearest_bounded_ancestor():
    grid = r("g1", Level.GRID, ["city", "county", "comm"])
    domain.check_placed(grid, shape(sq(1, 1, 2)), COMM, [], no_overlaps)
    domain.check_placed(grid, shape(sq(1, 1, 2)), None, [], no_overlaps)  # no bounded ancestor
    with pytest.raises(BadInput, match="must lie inside its COMMUNITY comm名's boundary"):
        domain.check_placed(grid, shape(sq(9, 9, 2)), COMM, [], no_overlaps)


def test_a_boundary_contains_the_bounded_regions_below_it():
    grid = r("g1", Level.GRID, ["city", "county", "comm"])
    below = [doc("b1", "BUILDING", ["city", "county", "comm", "g1"], sq(1, 1, 1))]
    domain.check_placed(grid, shape(sq(0.5, 0.5, 3)), COMM, below, no_overlaps)
    with pytest.raises(BadInput, match="must contain the boundary of BUILDING b1名"):
        domain.check_placed(grid, shape(sq(3, 3, 3)), COMM, below, no_overlaps)


def test_a_region_losing_its_boundary_leaves_what_is_below_inside_the_one_above():
    grid = r("g1", Level.GRID, ["city", "county", "comm"])
    inside = [doc("b1", "BUILDING", ["city", "county", "comm", "g1"], sq(1, 1, 1))]
    domain.check_placed(grid, None, COMM, inside, no_overlaps)
    outside = [doc("b1", "BUILDING", ["city", "county", "comm", "g1"], sq(20, 20, 1))]
    with pytest.raises(BadInput, match="the boundary of BUILDING b1名"):
        domain.check_placed(grid, None, COMM, outside, no_overlaps)


def test_a_grid_boundary_overlaps_no_other_grid():
    grid = r("g1", Level.GRID, ["city", "county", "comm"])
    other = {"id": "g2", "name": "二网格"}
    seen: list[str] = []

    def overlaps(geom: BaseGeometry, exclude: str) -> list[tuple[dict, BaseGeometry]]:
        seen.append(exclude)
        return [(other, shape(sq(1, 1, 0.001)))]

    with pytest.raises(BadInput, match="overlaps grid 二网格 \\(g2\\)"):
        domain.check_placed(grid, shape(sq(1, 1, 2)), COMM, [], overlaps)
    assert seen == ["g1"]  # a grid is not compared with itself
    community = r("comm9", Level.COMMUNITY, ["city", "county"])
    domain.check_placed(community, shape(sq(1, 1, 2)), None, [], overlaps)  # only grids may not overlap


def test_a_moved_subtree_lies_inside_its_new_container_and_overlaps_no_grid():
    moved = doc("g1", "GRID", ["city", "county", "comm"], sq(1, 1, 2))
    domain.check_moved(moved, "comm", COMM, [], no_overlaps)
    with pytest.raises(BadInput, match="must lie inside its COMMUNITY comm名's boundary"):
        domain.check_moved(doc("g1", "GRID", ["city", "county", "old"], sq(20, 20, 2)), "comm", COMM, [],
                           no_overlaps)
    unbounded = doc("g1", "GRID", ["city", "county", "old"])
    building = doc("b1", "BUILDING", ["city", "county", "old", "g1"], sq(20, 20, 1))
    with pytest.raises(BadInput, match="the boundary of BUILDING b1名"):
        domain.check_moved(unbounded, "comm", COMM, [building], no_overlaps)
    with pytest.raises(BadInput, match="overlaps grid"):
        domain.check_moved(moved, "comm", COMM, [], lambda g, x: [({"id": "g2", "name": "二"}, shape(sq(1, 1, 1)))])
