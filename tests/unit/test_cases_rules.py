"""Rules of the cases domain that the request handlers used to hold: routing a report to its
grid, who may report, the list scope, "my" assignee keys, the expected version, a catalogue
edit and the hotspot window."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from services.cases import domain as d
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden, NotFound

NODES: dict[str, dict[str, Any]] = {
    "city": {"id": "city", "name": "市", "level": "CITY", "path": ["city"], "parentId": None},
    "comm": {"id": "comm", "name": "社区", "level": "COMMUNITY", "path": ["city", "comm"], "parentId": "city"},
    "g1": {"id": "g1", "name": "一网格", "level": "GRID", "path": ["city", "comm", "g1"], "parentId": "comm"},
    "b1": {"id": "b1", "name": "1号楼", "level": "BUILDING", "path": ["city", "comm", "g1", "b1"], "parentId": "g1"},
}


@dataclass
class Where:
    lng: float | None = None
    lat: float | None = None
    regionId: str | None = None


def locate(lng: float, lat: float) -> dict[str, Any] | None:
    return NODES["g1"] if (lng, lat) == (120.0, 30.0) else None


def route(where: Where) -> d.Routed:
    return d.route(where, lambda i: NODES.get(i), locate)


# -- routing ----------------------------------------------------------------------------------
def test_a_point_is_routed_to_the_grid_it_lies_in():
    routed = route(Where(lng=120.0, lat=30.0))
    assert routed.grid["id"] == "g1"
    assert routed.location == d.GeoPoint(lng=120.0, lat=30.0)


def test_a_named_grid_keeps_the_point_given_with_it():
    routed = route(Where(lng=121.0, lat=31.0, regionId="g1"))
    assert routed.grid["id"] == "g1" and routed.location == d.GeoPoint(lng=121.0, lat=31.0)
    assert route(Where(regionId="g1")).location is None


def test_a_building_is_routed_to_its_grid():
    assert route(Where(regionId="b1")).grid["id"] == "g1"


@pytest.mark.parametrize(("where", "error", "words"), [
    (Where(lng=120.0), BadInput, "give both lng and lat"),
    (Where(lat=30.0, regionId="g1"), BadInput, "give both lng and lat"),
    (Where(lng=200.0, lat=30.0), BadInput, "not a valid longitude/latitude"),
    (Where(regionId="nowhere"), NotFound, "region nowhere is not known here"),
    (Where(regionId="comm"), BadInput, "a case belongs to a GRID; 社区 is a COMMUNITY"),
    (Where(), BadInput, "say where"),
    (Where(lng=100.0, lat=10.0), BadInput, "no grid contains the point [100.0, 10.0]"),
])
def test_a_report_that_belongs_to_no_grid_is_refused(where, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        route(where)


# -- who may report -----------------------------------------------------------------------------
def test_who_may_report():
    for role in (Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.RESIDENT, Role.SUPERADMIN, Role.SERVICE):
        d.check_may_report(Principal(sub="u", role=role))
    for role in (Role.DEPARTMENT, Role.VOLUNTEER):
        with pytest.raises(Forbidden, match=f"role {role} may not report cases"):
            d.check_may_report(Principal(sub="u", role=role), "HOTLINE")


def test_a_service_reports_only_joint_meeting_action_items():
    service = Principal(sub="svc", role=Role.SERVICE)
    d.check_may_report(service, "JOINT_MEETING")
    with pytest.raises(BadInput, match="JOINT_MEETING"):
        d.check_may_report(service, "HOTLINE")
    d.check_may_report(Principal(sub="r", role=Role.RESIDENT), "HOTLINE")


# -- the list scope -----------------------------------------------------------------------------
ADMIN = Principal(sub="a", role=Role.ADMIN, region="comm")
WORKER = Principal(sub="w", role=Role.GRID_WORKER, region="g1")
DEPT = Principal(sub="d", role=Role.DEPARTMENT, region="city", dept="FIRE")
VOLUNTEER = Principal(sub="v", role=Role.VOLUNTEER, region="comm", member="m1")
RESIDENT = Principal(sub="r", role=Role.RESIDENT)
SUPER = Principal(sub="s", role=Role.SUPERADMIN)


def test_the_list_scope_per_role():
    assert d.list_scope(SUPER) == {}
    assert d.list_scope(ADMIN) == {"path": "comm"}
    assert d.list_scope(Principal(sub="o", role=Role.OPERATOR, region="city")) == {"path": "city"}
    assert d.list_scope(WORKER) == {"region_id": "g1"}
    assert d.list_scope(DEPT) == {"path": "city", "deptKeys": "city:FIRE"}
    assert d.list_scope(VOLUNTEER) == {"path": "comm", "assigneeKey": {"$in": ["VOLUNTEER:m1", "VOLUNTEER:v"]}}
    assert d.list_scope(RESIDENT) == {"reporterSubs": "r"}


def test_a_region_in_scope_narrows_the_list_to_its_subtree():
    assert d.list_scope(ADMIN, "g1", ["city", "comm", "g1"]) == {"path": "g1"}
    assert d.list_scope(SUPER, "g1", ["city", "comm", "g1"]) == {"path": "g1"}
    assert d.list_scope(WORKER, "g1", ["city", "comm", "g1"]) == {"region_id": "g1", "path": "g1"}
    assert d.list_scope(DEPT, "comm", ["city", "comm"]) == {"deptKeys": "city:FIRE", "path": "comm"}


def test_a_resident_narrows_their_own_reports_to_any_region():
    assert d.list_scope(RESIDENT, "g1", ["city", "comm", "g1"]) == {"reporterSubs": "r", "path": "g1"}


@pytest.mark.parametrize("p", [ADMIN, WORKER, DEPT, VOLUNTEER])
def test_a_region_outside_the_scope_or_unknown_is_hidden(p):
    with pytest.raises(Forbidden, match="region other does not exist or is outside your scope"):
        d.list_scope(p, "other", ["other"])
    with pytest.raises(Forbidden, match="region gone does not exist or is outside your scope"):
        d.list_scope(p, "gone", None)


def test_an_unknown_region_is_not_found_for_a_superadmin_and_hidden_from_a_resident():
    with pytest.raises(NotFound, match="region gone does not exist"):
        d.list_scope(SUPER, "gone", None)
    with pytest.raises(Forbidden):
        d.list_scope(RESIDENT, "gone", None)


def test_the_list_scope_agrees_with_in_scope():
    """Every role: a case the list filter keeps is a case `SCOPE` admits, and the other way round."""
    at = datetime(2026, 3, 1, tzinfo=UTC)
    cases = []
    for grid, path in (("g1", ("city", "cty", "comm", "g1")), ("g9", ("city", "cty", "other", "g9"))):
        for kind, who in ((d.AssigneeKind.DEPARTMENT, "FIRE"), (d.AssigneeKind.VOLUNTEER, "m1"),
                          (d.AssigneeKind.GRID_WORKER, "w"), (None, None)):
            for reporter in ("r", "someone"):
                case = d.Case.report(id=f"c-{grid}-{kind}-{reporter}", title="t", description="",
                                     category=d.DEFAULT_CATALOGUE.categories[0], channel=d.CaseChannel("HOTLINE"),
                                     region_path=path, by=Principal(sub=reporter, role=Role.RESIDENT), now=at,
                                     sla=d.DEFAULT_SLA, reporter_name="n", reporter_phone_enc=None,
                                     reporter_sub=reporter)
                if kind is not None:
                    case.assignee = d.Assignee(kind=kind, id=who, name=who)
                cases.append(case)

    def matches(query: dict, case: d.Case) -> bool:
        doc = {"path": list(case.region_path), "region_id": case.region_id,
               "assigneeKey": f"{case.assignee.kind}:{case.assignee.id}" if case.assignee else None,
               "reporterSubs": [r.sub for r in case.reporters], "_id": case.id, "deptKeys": case.dept_keys}
        for k, v in query.items():
            value = doc[k]
            wanted = v["$in"] if isinstance(v, dict) else [v]
            held = value if isinstance(value, list) else [value]
            if not set(wanted) & set(held):
                return False
        return True

    for p in (SUPER, ADMIN, WORKER, DEPT, VOLUNTEER, RESIDENT):
        query = d.list_scope(p)
        for case in cases:
            assert matches(query, case) == d.SCOPE.admits(p, case), (p.role, case.id)


def test_my_assignee_keys():
    assert d.assignee_keys(RESIDENT) == ["GRID_WORKER:r", "VOLUNTEER:r"]
    leader = Principal(sub="bl", role=Role.BUILDING_LEADER, region="b1")
    assert d.assignee_keys(leader) == ["GRID_WORKER:bl", "VOLUNTEER:bl", "BUILDING_LEADER:bl"]
    assert d.assignee_keys(VOLUNTEER) == ["GRID_WORKER:v", "VOLUNTEER:v", "VOLUNTEER:m1"]
    assert d.assignee_keys(DEPT) == ["GRID_WORKER:d", "VOLUNTEER:d", "DEPARTMENT:FIRE"]


# -- expected version, catalogue edits, the hotspot window ---------------------------------------
def test_an_expected_version_must_be_the_current_one():
    case = d.Case.report(id="c1", title="t", description="", category=d.DEFAULT_CATALOGUE.categories[0],
                         channel=d.CaseChannel("HOTLINE"), region_path=("city", "cty", "comm", "g1"), by=RESIDENT,
                         now=datetime(2026, 3, 1, tzinfo=UTC), sla=d.DEFAULT_SLA, reporter_name="n",
                         reporter_phone_enc=None)
    d.check_expected_version(case, None)
    d.check_expected_version(case, case.version)
    with pytest.raises(Conflict, match=f"case c1 is at version {case.version}, not 7") as e:
        d.check_expected_version(case, 7)
    assert e.value.details == {"currentVersion": case.version}


def test_a_new_category_is_checked_and_named_in_the_refusal():
    c = d.new_category("NEW_THING", " 新事 ", None, "GRID", "FIRE", 3600, "COMPLAINT")
    assert (c.name, c.group, c.default_level, c.kind, c.sla_seconds) == ("新事", "", "GRID", "COMPLAINT", 3600)
    assert d.new_category("OTHER", "别的", "大类", "COMMUNITY").kind == d.RequestKind.HELP
    with pytest.raises(BadInput, match="UPPER_SNAKE"):
        d.new_category("lower", "x", None, "GRID")
    with pytest.raises(BadInput, match="needs a name"):
        d.new_category("BLANK", "   ", None, "GRID")


CST = timezone(timedelta(hours=8))


def test_the_hotspot_window_in_local_days():
    since = datetime(2026, 2, 28, 17, 0, tzinfo=UTC)  # 1 March 01:00 in the city
    until = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 10 March 23:00
    assert d.window_days(since, until, CST) == (date(2026, 3, 1), date(2026, 3, 10))
    assert d.hotspots_windows(date(2026, 3, 1), date(2026, 3, 10)) == (date(2026, 2, 19), 10)


def test_a_hotspot_window_ends_after_it_starts_and_spans_at_most_a_year():
    at = datetime(2026, 3, 1, tzinfo=UTC)
    for until in (at, at - timedelta(seconds=1)):
        with pytest.raises(BadInput, match="`since` must be before `until`"):
            d.window_days(at, until, CST)
    d.window_days(at, at + timedelta(days=366), CST)
    with pytest.raises(BadInput, match="at most a year"):
        d.window_days(at, at + timedelta(days=367), CST)
