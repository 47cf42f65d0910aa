"""Unit tests of the organizations rules that used to live in the request handlers: the area a
大党委's units come from, which meeting deliberates a hotspot, which grid an action item's case
may go to, what `cases` is sent for it, grids and buildings per region, a need's community,
and what a quarter's feedback counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.grids.domain import Level
from services.organizations.domain import (
    JointMeeting,
    Need,
    Node,
    Unit,
    UnitKind,
    case_report,
    check_case_grid,
    check_held_by,
    committee_area,
    hotspot_community,
    join_committee,
    next_meeting,
    region_counts,
    services_in_quarter,
)
from shared.errors import BadInput, Conflict
from tests.unit.org_fixtures import ADMIN_K, SUPER, T0, N, tree

DAY = timedelta(days=1)


def unit(region: str, id: str = "u1") -> Unit:
    return Unit.register(
        id=id, name=f"单位{id}", kind=UnitKind.ENTERPRISE, region=N[region], contacts=[], by=SUPER, now=T0
    )


def meeting(id: str = "jm1", at: int = 1, held: bool = False, committee: str = "cc-m1") -> JointMeeting:
    cc = tree()[committee]
    cc.add_unit("u1", ADMIN_K, T0)
    m = JointMeeting.schedule(
        id=id, committee=cc, scheduled_at=T0 + at * DAY, chair_history=[], unavailable=set(), by=ADMIN_K, now=T0
    )
    if held:
        m.record_minutes("纪要", ["u1"], [], ADMIN_K, T0 + at * DAY)
    return m


# ---- a 大党委's units: from its street or township -------------------------------------------
def test_committee_area_is_the_level_above_the_anchor():
    orgs = tree()
    assert committee_area(orgs["cc-m1"]) == "t1"  # community committee: its township
    assert committee_area(orgs["twc-t1"]) == "k"
    top = orgs["twc-t1"].model_copy(update={"anchor_path": ("t1",), "anchor_id": "t1"})
    assert committee_area(top) == "t1"  # nothing above: the anchor itself


@pytest.mark.parametrize(
    ("region", "joins"),
    [("t1", True), ("m1", True), ("g2", True), ("b1", True), ("t2", False), ("m2", False), ("k", False), ("c", False)],
)
def test_a_unit_joins_the_committee_of_its_area_only(region, joins):
    cc = tree()["cc-m1"]
    u = unit(region)
    if joins:
        join_committee(cc, u, ADMIN_K, T0)
        assert cc.unit_ids == ["u1"] and cc.pending_events[-1].type == "UNIT_JOINED_COMMITTEE"
    else:
        with pytest.raises(BadInput, match="not in the area") as e:
            join_committee(cc, u, ADMIN_K, T0)
        assert e.value.details == {"unitId": "u1", "regionId": region}
        assert cc.unit_ids == [] and cc.pending_events == []


def test_the_area_rule_comes_before_the_organisations_own():
    orgs = tree()
    with pytest.raises(BadInput, match="not in the area"):  # a branch, but first: the unit is elsewhere
        join_committee(orgs["gb-g1"], unit("t2"), ADMIN_K, T0)
    with pytest.raises(BadInput, match="COMMUNITY_COMMITTEE"):
        join_committee(orgs["gb-g1"], unit("m1"), ADMIN_K, T0)
    cc = orgs["cc-m1"]
    join_committee(cc, unit("m1"), ADMIN_K, T0)
    with pytest.raises(Conflict):
        join_committee(cc, unit("m1"), ADMIN_K, T0)


# ---- which meeting deliberates a hotspot --------------------------------------------------
def test_a_hotspot_is_in_a_grid_and_goes_to_its_community():
    assert hotspot_community(N["g1"]) == "m1"
    for not_grid in ("m1", "b1", "t1"):
        with pytest.raises(BadInput, match="a hotspot is in a GRID") as e:
            hotspot_community(N[not_grid])
        assert e.value.details == {"gridId": not_grid}
    lone = Node(id="g", level=Level.GRID, path=("g",))
    with pytest.raises(BadInput):
        hotspot_community(lone)


def test_a_named_meeting_must_be_held_by_the_grids_community():
    m = meeting()
    check_held_by(m, "m1")
    with pytest.raises(BadInput, match="not held by this grid's community"):
        check_held_by(m, "m2")


def test_the_next_meeting_is_the_earliest_not_held_and_not_past():
    past, held, later, soon = meeting("a", at=-1), meeting("b", at=2, held=True), meeting("c", at=5), meeting("d", 3)
    assert next_meeting([past, held, later, soon], T0, "cc-m1").id == "d"
    assert next_meeting([later], T0 + 5 * DAY, "cc-m1").id == "c"  # one starting now still counts
    with pytest.raises(Conflict, match="no joint meeting coming up") as e:
        next_meeting([past, held], T0, "cc-m1")
    assert e.value.details == {"committeeId": "cc-m1"}
    with pytest.raises(Conflict):
        next_meeting([], T0, "cc-m1")


@given(st.lists(st.tuples(st.integers(-5, 5), st.booleans()), max_size=8), st.integers(-5, 5))
def test_next_meeting_is_the_minimum_of_the_upcoming(specs, now_day):
    ms = [meeting(f"m{i}", at=at, held=held) for i, (at, held) in enumerate(specs)]
    now = T0 + now_day * DAY
    upcoming = [m for m in ms if m.held_at is None and m.scheduled_at >= now]
    if not upcoming:
        with pytest.raises(Conflict):
            next_meeting(ms, now, "cc-m1")
    else:
        got = next_meeting(ms, now, "cc-m1")
        assert got in upcoming and got.scheduled_at == min(m.scheduled_at for m in upcoming)


# ---- action items that become cases --------------------------------------------------------
def test_an_action_items_case_goes_to_a_grid_of_the_community():
    m = meeting()
    check_case_grid(m, N["g1"])
    check_case_grid(m, N["g2"])
    for wrong in ("g3", "m1", "b1"):
        with pytest.raises(BadInput, match="is not a grid of community m1") as e:
            check_case_grid(m, N[wrong])
        assert e.value.details == {"gridId": wrong}


def test_what_cases_is_sent_for_an_action_item():
    orgs = tree()
    m = meeting(held=True)
    m.add_resolution("决议", ["整治停车"], ADMIN_K, T0 + DAY)
    item = m.item("r1-1")
    assert not item.awaits_case
    with pytest.raises(Conflict, match="no case request"):
        case_report(item, orgs["cc-m1"])
    m.request_case("r1-1", "PARKING", "停车", ADMIN_K, T0 + DAY, grid_id="g1")
    assert item.awaits_case
    sent = case_report(item, orgs["cc-m1"])
    assert sent == {**item.case_request, "reporterName": orgs["cc-m1"].name, "source": "meeting:jm1:r1-1"}
    assert sent["regionId"] == "g1" and sent["channel"] == "JOINT_MEETING"
    assert case_report(item, None)["reporterName"] == "党建联席会议"  # the committee is gone
    m.link_case("r1-1", "case-1", T0 + DAY)
    assert not item.awaits_case


# ---- grids and buildings per region --------------------------------------------------------
def nodes_of(names: list[str]) -> list[dict]:
    return [{"_id": n, "level": str(N[n].level), "path": list(N[n].path)} for n in names]


def test_region_counts_of_the_fixture_territory():
    counts = region_counts(nodes_of(list(N)))
    assert counts["k"] == (3, 4) and counts["c"] == (3, 4)
    assert counts["t1"] == (2, 3) and counts["m2"] == (1, 1)
    assert counts["g1"] == (1, 2) and counts["b2"] == (0, 1)
    assert region_counts([]) == {}
    assert region_counts(nodes_of(["c", "k", "t1", "m1"])) == {}  # other levels count nothing


@given(st.lists(st.sampled_from(sorted(N)), unique=True))
def test_region_counts_match_a_count_per_region(names):
    nodes = nodes_of(names)
    counts = region_counts(nodes)
    for region in N:
        grids = sum(1 for n in nodes if n["level"] == "GRID" and region in n["path"])
        buildings = sum(1 for n in nodes if n["level"] == "BUILDING" and region in n["path"])
        assert counts.get(region, (0, 0)) == (grids, buildings)
    assert all(g + b > 0 for g, b in counts.values())


# ---- the three lists, feedback ---------------------------------------------------------------
@pytest.mark.parametrize("node", ["t1", "g1", "b1", "k"])
def test_needs_are_posted_by_a_community(node):
    with pytest.raises(BadInput, match="needs are posted by a COMMUNITY"):
        Need.post(id="n", community=N[node], title="t", description="", by=ADMIN_K, now=T0)
    assert Need.post(id="n", community=N["m1"], title="t", description="", by=ADMIN_K, now=T0).community_id == "m1"


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000))
def test_a_quarters_services_are_orders_activities_and_cases(orders, activities, cases):
    assert services_in_quarter(orders, activities, cases) == orders + activities + cases
