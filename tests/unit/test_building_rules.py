"""Building-level handling (小事不出楼栋): the BUILDING level below GRID, where a case starts, the
building leader's scope and actions (also on random records), escalation to the grid by hand and by
the sweeper, routing a report to its building, and the figures that count it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cases import domain as d
from services.cases.projection import totals
from services.cases.store import case_doc
from services.cases.views import case_envelopes
from shared.auth import REGIONAL_ROLES, Principal, Role
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.cases import FENGQIAO_LEVELS
from shared.workdays import WorkCalendar
from tests.unit.test_scope import matches
from tests.tokens import local_issuer

L, S, A = d.HandlingLevel, d.CaseStatus, d.Action
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
SLA = {L.BUILDING: 1800, L.GRID: 3600, L.COMMUNITY: 7200, L.TOWNSHIP: 10800, L.COUNTY: 14400}
GRID_PATH = ("c", "k", "t", "m", "g1")
NEIGHBOURS = d.DEFAULT_CATALOGUE.get("DISPUTE_NEIGHBOR")
GARBAGE = d.DEFAULT_CATALOGUE.get("ENV_GARBAGE")
RESIDENT = Principal(sub="r1", role=Role.RESIDENT)
LEADER = Principal(sub="bl1", role=Role.BUILDING_LEADER, region="b1")
OTHER_LEADER = Principal(sub="bl2", role=Role.BUILDING_LEADER, region="b2")
GW = Principal(sub="gw1", role=Role.GRID_WORKER, region="g1")
OPERATOR = Principal(sub="op", role=Role.OPERATOR, region="t")
TO_LEADER = d.Assignee(kind=d.AssigneeKind.BUILDING_LEADER, id="bl1", name="王阿姨")


def report(building: str | None = "b1", category: d.Category = NEIGHBOURS, by: Principal = RESIDENT,
           case_id: str = "c1") -> d.Case:
    return d.Case.report(id=case_id, title="楼上深夜噪音", description="", category=category,
                         channel=d.CaseChannel.MINI_PROGRAM, region_path=GRID_PATH, by=by, now=T0, sla=SLA,
                         reporter_name="张三", building_id=building)


# -- the level ---------------------------------------------------------------------------------
def test_building_is_the_lowest_level_and_escalates_to_the_grid():
    assert list(L)[0] is L.BUILDING and L.BUILDING.next_level() is L.GRID
    assert [lvl.above_grid for lvl in L] == [-1, 0, 1, 2, 3]
    assert FENGQIAO_LEVELS == (L.BUILDING, L.GRID, L.COMMUNITY)
    assert f"resolved_by_level.{L.BUILDING}" in d.COUNTER_KEYS


def test_a_case_starts_at_building_only_with_a_building_and_a_building_category():
    assert d.start_level(NEIGHBOURS, "b1") is L.BUILDING
    assert d.start_level(NEIGHBOURS, None) is L.GRID
    assert d.start_level(GARBAGE, "b1") is GARBAGE.default_level
    case = report()
    assert (case.level, case.building_id, case.region_id) == (L.BUILDING, "b1", "g1")
    assert case.scope_path == (*GRID_PATH, "b1") and case.region_path == GRID_PATH
    assert case.due_at == T0 + timedelta(seconds=SLA[L.BUILDING])
    assert (case.region_at(L.BUILDING), case.region_at(L.GRID), case.region_at(L.COMMUNITY)) == ("b1", "g1", "m")
    assert case.handling_path() == (*GRID_PATH, "b1") and case.handling_path(L.TOWNSHIP) == ("c", "k", "t")
    assert report(None).level is L.GRID and report(None).region_at(L.BUILDING) == "g1"
    with pytest.raises(BadInput):
        report("g1")  # a building is below the grid, not on its path


# -- the building leader -----------------------------------------------------------------------
def test_the_leader_settles_a_case_of_its_building_at_building_level():
    case = report()
    assert d.SCOPE.admits(LEADER, case) and not d.SCOPE.admits(OTHER_LEADER, case)
    assert d.may_see_contact(LEADER, case) and not d.may_see_contact(OTHER_LEADER, case)
    for action in (A.ACCEPT, A.START, A.RESOLVE, A.ESCALATE):
        with pytest.raises(Forbidden):
            d.authorize(OTHER_LEADER, action, case)
    for action in (A.ASSIGN, A.REJECT, A.CLOSE, A.VERIFY, A.REVEAL_CONTACT, A.DISPATCH):
        assert not d.is_allowed(LEADER, action, case), action
    case.accept(LEADER, T0, SLA)
    case.start(LEADER, T0 + timedelta(minutes=5))
    assert case.assignee == d.Assignee(kind=d.AssigneeKind.BUILDING_LEADER, id="bl1", name="bl1")
    assert d.is_assignee(LEADER, case) and case.assignee_key == "BUILDING_LEADER:bl1"
    case.resolve(LEADER, "上门调解，双方和解", T0 + timedelta(minutes=20))
    assert (case.status, case.resolved_at_level, case.resolved_on_time) == (S.RESOLVED, L.BUILDING, True)
    counters = d.counters_of(case)
    assert counters["resolved_by_level.BUILDING"] == 1 and d.rates(counters)["fengqiao_share"] == 1.0


def test_the_leader_reports_as_itself_and_only_in_its_building():
    case = report(by=LEADER)
    assert case.reporters[0].sub == "bl1"
    with pytest.raises(Forbidden):
        report("b2", by=LEADER)
    with pytest.raises(Forbidden):
        report(None, by=LEADER)


def test_escalation_by_hand_from_the_building_to_the_grid():
    case = report()
    case.accept(LEADER, T0, SLA)
    case.assign(OPERATOR, TO_LEADER, T0)
    case.escalate(LEADER, "调解不成", T0 + timedelta(minutes=10), SLA)
    assert (case.level, case.status, case.assignee, case.escalations) == (L.GRID, S.ACCEPTED, None, 1)
    assert case.due_at == T0 + timedelta(minutes=10, seconds=SLA[L.GRID])
    assert not d.may_see_contact(LEADER, case) and d.SCOPE.admits(LEADER, case)  # sees it, masked
    for action in (A.ACCEPT, A.START, A.RESOLVE, A.ESCALATE):
        with pytest.raises(Forbidden, match="BUILDING level"):
            d.authorize(LEADER, action, case)
    with pytest.raises(BadInput, match="BUILDING level"):
        case.assign(OPERATOR, TO_LEADER, T0 + timedelta(minutes=11))
    case.start(GW, T0 + timedelta(minutes=12))
    case.resolve(GW, "网格员协调", T0 + timedelta(minutes=30))
    assert case.resolved_at_level is L.GRID


def test_a_case_assigned_to_someone_else_is_not_the_leaders():
    case = report()
    case.accept(OPERATOR, T0, SLA)
    case.assign(OPERATOR, d.Assignee(kind=d.AssigneeKind.GRID_WORKER, id="gw1", name="gw1"), T0)
    with pytest.raises(Forbidden, match="assigned to"):
        case.resolve(LEADER, "已处理", T0)


def test_the_sweeper_escalates_from_the_building_to_the_grid():
    case = report()
    assert not case.sweep(case.due_at - timedelta(seconds=1), SLA)
    assert case.sweep(case.due_at, SLA)
    assert (case.level, case.status, case.overdue_count) == (L.GRID, S.ACCEPTED, 1)
    assert [(e.type, e.level) for e in case.timeline] == [("REPORTED", L.BUILDING), ("OVERDUE", L.BUILDING),
                                                         ("ESCALATED", L.GRID)]


def test_working_time_sla_at_building_level():
    clock = d.Clock.of(WorkCalendar())
    assert clock.levels[L.BUILDING].working and clock.levels[L.BUILDING].seconds < clock.levels[L.GRID].seconds
    cat = d.new_category("X_CAT", "x", None, "BUILDING", sla_levels=[("BUILDING", "4h"), ("GRID", "1d")])
    assert cat.working_at(L.BUILDING) == "4h" and cat.default_level is L.BUILDING


def test_a_correction_to_another_grid_leaves_the_building_behind():
    case = report()
    case.accept(LEADER, T0, SLA)
    d.correct(case, OPERATOR, "报错网格", T0, SLA, None, ("c", "k", "t", "m", "g2"))
    assert (case.building_id, case.level, case.region_id) == (None, L.GRID, "g2")
    event = case.pending_events[-1]
    assert event.from_building_id == "b1" and event.building_id is None


# -- the leader's scope on random records --------------------------------------------------------
BUILDINGS = ["b1", "b2", "b3"]


@st.composite
def cases(draw) -> d.Case:
    building = draw(st.none() | st.sampled_from(BUILDINGS))
    category = draw(st.sampled_from(d.DEFAULT_CATALOGUE.categories))
    case = report(building, category, case_id=f"c{draw(st.integers(0, 999))}")
    if draw(st.booleans()):
        case.accept(OPERATOR, T0, SLA)
        if draw(st.booleans()) and case.level is L.BUILDING:
            who = draw(st.sampled_from(["bl1", "bl2", "gw1"]))
            kind = d.AssigneeKind.GRID_WORKER if who == "gw1" else d.AssigneeKind.BUILDING_LEADER
            case.assign(OPERATOR, d.Assignee(kind=kind, id=who, name=who), T0)
    for _ in range(draw(st.integers(0, 2))):
        if case.level.next_level() and case.status in d.OPEN_STATUSES:
            case.escalate(OPERATOR, "上报", T0, SLA)
    return case


leaders = st.builds(lambda sub, region: Principal(sub=sub, role=Role.BUILDING_LEADER, region=region),
                    st.sampled_from(["bl1", "bl2"]), st.none() | st.sampled_from([*BUILDINGS, "g1", "m"]))


@settings(max_examples=300, deadline=None)
@given(p=leaders, case=cases())
def test_a_leader_sees_and_handles_exactly_its_buildings_cases(p, case):
    ours = p.region is not None and case.building_id == p.region
    assert d.SCOPE.admits(p, case) == ours
    assert matches(d.SCOPE.filter(p), case_doc(case)) == ours
    mine = case.assignee is None or (case.assignee.kind is d.AssigneeKind.BUILDING_LEADER
                                     and case.assignee.id == p.sub)
    for action in (A.ACCEPT, A.START, A.RESOLVE, A.ESCALATE):
        assert d.is_allowed(p, action, case) == (ours and case.level is L.BUILDING and mine), action
    assert d.is_allowed(p, A.VIEW, case) == ours and d.is_allowed(p, A.COMMENT, case) == ours
    assert d.may_see_contact(p, case) == ((ours and case.level is L.BUILDING) or (mine and case.assignee is not None))


def test_the_role_is_regional_and_needs_its_building():
    assert Role.BUILDING_LEADER in REGIONAL_ROLES
    issuer = local_issuer()
    assert issuer.verifier.person(issuer.token(sub="bl1", role="building_leader", region="b1")).region == "b1"
    with pytest.raises(Exception, match="must name a region"):
        issuer.verifier.person(issuer.token(sub="bl1", role="building_leader"))


# -- routing -----------------------------------------------------------------------------------
NODES: dict[str, dict[str, Any]] = {
    "g1": {"_id": "g1", "name": "一网格", "level": "GRID", "path": ["m", "g1"], "parentId": "m"},
    "g2": {"_id": "g2", "name": "二网格", "level": "GRID", "path": ["m", "g2"], "parentId": "m"},
    "b1": {"_id": "b1", "name": "1号楼", "level": "BUILDING", "path": ["m", "g1", "b1"], "parentId": "g1"},
    "b2": {"_id": "b2", "name": "2号楼", "level": "BUILDING", "path": ["m", "g2", "b2"], "parentId": "g2"},
}


@dataclass
class Where:
    lng: float | None = None
    lat: float | None = None
    regionId: str | None = None
    buildingId: str | None = None


def route(where: Where) -> d.Routed:
    return d.route(where, NODES.get, lambda lng, lat: NODES["g1"] if (lng, lat) == (120.0, 30.0) else None)


def test_a_report_is_routed_to_its_building():
    assert route(Where(120.0, 30.0, buildingId="b1")).building_id == "b1"
    assert route(Where(regionId="b1")).building_id == "b1" and route(Where(regionId="b1")).grid["_id"] == "g1"
    assert route(Where(regionId="g1", buildingId="b1")).building_id == "b1"
    assert route(Where(buildingId="b2")).grid["_id"] == "g2"  # the building alone says where
    assert route(Where(regionId="g1")).building_id is None
    for bad in (Where(120.0, 30.0, buildingId="b2"), Where(regionId="g1", buildingId="b2"),
                Where(regionId="b1", buildingId="b2"), Where(regionId="g1", buildingId="g2")):
        with pytest.raises(BadInput):
            route(bad)


# -- the figures -------------------------------------------------------------------------------
def test_the_building_counts_its_cases_and_the_log_agrees_with_a_recount():
    case = report()
    envelopes = case_envelopes(case, None)
    for command in (lambda: case.accept(LEADER, T0, SLA),
                    lambda: case.resolve(LEADER, "当场调解", T0 + timedelta(minutes=3))):
        before = d.counters_of(case)
        command()
        envelopes += case_envelopes(case, before)  # each command's events, as a write records them
    other = report(None, case_id="c2")
    envelopes += case_envelopes(other, None)
    acc, _, hot = totals([{"envelope": e.model_dump(mode="json")} for e in envelopes], lambda grid: None)
    figures = {r: {k: v for k, v in c.items() if v} for r, c in acc.items()}
    assert figures == d.recount([case, other])
    assert figures["b1"]["resolved_by_level.BUILDING"] == 1 and figures["b1"]["total"] == 1
    assert figures["g1"]["total"] == 2 and "b1" not in {k[0] for k in hot}  # hotspots stay per grid
    with pytest.raises(Conflict):
        case.escalate(LEADER, "已办结", T0, SLA)


def test_property_disputes_count_on_the_building_while_open_and_not_when_merged():
    """物业纠纷 per estate: the property categories count, open ones apart; a merged duplicate does not."""
    dispute = report(category=d.DEFAULT_CATALOGUE.get("DISPUTE_PROPERTY"), by=OPERATOR)
    c = d.counters_of(dispute)
    assert (c["property_disputes"], c["property_disputes_open"]) == (1, 1)
    assert d.recount([dispute])["b1"]["property_disputes"] == 1
    assert d.counters_of(report())["property_disputes"] == 0  # a neighbours' dispute is not one
    dispute.merged_into = "c0"
    assert d.counters_of(dispute)["property_disputes"] == 0
