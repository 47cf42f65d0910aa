"""Unit tests of the volunteers rules that the handlers call: the community a region lies in,
who a command acts for, linking a member record, redeeming, where an order is placed and
whom it may go to, the check-in point and an activity's area, what a `cases` event means to
a volunteer's task, what an `organizations` event changes in the member replica."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.volunteers import domain as d
from shared.auth import Principal, Role
from shared.errors import BadInput, Forbidden, NotFound

T0 = datetime(2026, 10, 10, 8, 0, tzinfo=UTC)
PATH = ("c", "k", "t1", "m1")
OPERATOR = Principal(sub="op-m1", role=Role.OPERATOR, region="m1")
ADMIN = Principal(sub="admin-k", role=Role.ADMIN, region="k")
GRID_WORKER = Principal(sub="gw", role=Role.GRID_WORKER, region="m1")
RESIDENT = Principal(sub="res1", role=Role.RESIDENT)
SERVICE = Principal(sub="svc", role=Role.SERVICE)
SUPERADMIN = Principal(sub="root", role=Role.SUPERADMIN)
LEVELS = ["CITY", "DISTRICT", "TOWNSHIP", "COMMUNITY", "GRID", "BUILDING"]


def volunteer(sub: str = "v1", vid: str = "vol1", path: tuple[str, ...] = PATH) -> d.Volunteer:
    return d.Volunteer.register(id=vid, sub=sub, name="志愿者", home_path=path, by=OPERATOR, now=T0)


# -- the community a region lies in ----------------------------------------------------------
@given(depth=st.integers(min_value=4, max_value=6))
def test_community_path_ends_at_the_community(depth: int) -> None:
    path = [f"r{i}" for i in range(depth)]
    assert d.community_path(path[-1], path, LEVELS[:depth]) == path[:4]


@given(levels=st.lists(st.sampled_from([*LEVELS, None]), min_size=1, max_size=8))
def test_community_path_is_a_prefix_ending_in_the_first_community(levels: list[str | None]) -> None:
    path = [f"r{i}" for i in range(len(levels))]
    if "COMMUNITY" not in levels:
        with pytest.raises(BadInput, match="is not in a community"):
            d.community_path(path[-1], path, levels)
        return
    out = d.community_path(path[-1], path, levels)
    assert out == path[: len(out)]
    assert levels[len(out) - 1] == "COMMUNITY" and "COMMUNITY" not in levels[: len(out) - 1]


def test_community_path_names_the_region_when_there_is_none() -> None:
    with pytest.raises(BadInput, match="region g9 is not in a community"):
        d.community_path("g9", ["c", "k", "g9"], ["CITY", "DISTRICT", None])


# -- who a command acts for ------------------------------------------------------------------
@pytest.mark.parametrize(
    "p,others",
    [
        (OPERATOR, True),
        (ADMIN, True),
        (SERVICE, True),
        (SUPERADMIN, True),
        (GRID_WORKER, False),
        (RESIDENT, False),
        (Principal(sub="v1", role=Role.VOLUNTEER), False),
    ],
)
def test_only_staff_and_the_service_act_for_others(p: Principal, others: bool) -> None:
    assert d.acts_for_others(p) is others


def test_a_volunteer_acts_for_their_own_record() -> None:
    own = volunteer()
    me = Principal(sub="v1", role=Role.VOLUNTEER)
    assert d.own_volunteer(me, None, own) is own
    assert d.own_volunteer(me, "vol1", own) is own


def test_naming_someone_else_is_refused_before_registration_is_asked() -> None:
    me = Principal(sub="v1", role=Role.VOLUNTEER)
    with pytest.raises(Forbidden, match="you may only act for yourself"):
        d.own_volunteer(me, "vol2", volunteer())
    with pytest.raises(Forbidden, match="you may only act for yourself"):
        d.own_volunteer(me, "vol2", None)  # unregistered and naming someone: FORBIDDEN, not NOT_FOUND


def test_an_unregistered_caller_is_told_to_register() -> None:
    with pytest.raises(NotFound, match="call registerVolunteer first"):
        d.own_volunteer(Principal(sub="v9", role=Role.VOLUNTEER), None, None)


# -- linking a party member record -----------------------------------------------------------
def test_a_resident_links_only_their_own_member_record() -> None:
    mine = Principal(sub="res1", role=Role.RESIDENT, member="mem-7")
    d.authorize_member_link(mine, "mem-7")
    d.authorize_member_link(mine, None)
    with pytest.raises(Forbidden, match="only your own member record"):
        d.authorize_member_link(mine, "mem-8")
    with pytest.raises(Forbidden):
        d.authorize_member_link(RESIDENT, "mem-7")  # a token without `member`


def test_staff_link_any_member_record() -> None:
    for p in (OPERATOR, ADMIN, SERVICE):
        d.authorize_member_link(p, "mem-8")


# -- redeeming points ------------------------------------------------------------------------
def test_redeemers_are_volunteers_and_staff() -> None:
    assert d.REDEEMERS == frozenset({Role.VOLUNTEER, Role.ADMIN, Role.OPERATOR})


def test_a_volunteer_redeems_in_scope_staff_for_whom_they_named() -> None:
    v = volunteer()
    d.authorize_redeem(Principal(sub="v1", role=Role.VOLUNTEER, region="m1"), v)
    with pytest.raises(Forbidden, match="outside your scope"):
        d.authorize_redeem(Principal(sub="v1", role=Role.VOLUNTEER, region="m2"), v)
    d.authorize_redeem(Principal(sub="op-m2", role=Role.OPERATOR, region="m2"), v)  # scope checked on loading


def test_residents_do_not_list_volunteers() -> None:
    with pytest.raises(Forbidden, match="residents do not list volunteers"):
        d.authorize_volunteer_list(RESIDENT)
    for p in (OPERATOR, GRID_WORKER, SERVICE, Principal(sub="v1", role=Role.VOLUNTEER)):
        d.authorize_volunteer_list(p)


# -- a resident sees who serves them ---------------------------------------------------------
@given(refused=st.sets(st.sampled_from(["a", "b", "c", "d"])), takers=st.lists(st.sampled_from(["a", "b", "x", None])))
def test_a_resident_sees_only_the_takers_of_their_orders(refused: set[str], takers: list[str | None]) -> None:
    shown = d.takers_shown_to_resident(refused, takers)
    assert shown == sorted(shown)
    assert set(shown) == {t for t in takers if t} & refused


# -- where an order is placed, and whom it goes to -------------------------------------------
@given(
    building=st.one_of(st.none(), st.just(""), st.just("b1")),
    lng=st.one_of(st.none(), st.floats(-180, 180)),
    lat=st.one_of(st.none(), st.floats(-90, 90)),
)
def test_an_order_is_placed_at_a_building_else_at_a_point(
    building: str | None, lng: float | None, lat: float | None
) -> None:
    if building:
        assert d.placement(building, lng, lat) == "BUILDING"
    elif lng is not None and lat is not None:
        assert d.placement(building, lng, lat) == "POINT"
    else:
        with pytest.raises(BadInput, match="say where"):
            d.placement(building, lng, lat)


def order(path: tuple[str, ...]) -> d.ServiceOrder:
    return d.ServiceOrder.place(
        id="so1", category="维修", description="水管", path=path, by=RESIDENT, now=T0, building_id=path[-1]
    )


def test_an_order_goes_only_to_someone_in_its_area() -> None:
    o = order((*PATH, "g1", "b1"))
    d.require_in_area(o, "volunteer", "vol1", PATH)  # the community above the order
    d.require_in_area(o, "team", "t", (*PATH, "g1"))  # its grid
    d.require_in_area(o, "post", "p", (*PATH, "g2"))  # a sibling grid: shares the community
    with pytest.raises(BadInput, match="volunteer vol2 is not in the order's area"):
        d.require_in_area(o, "volunteer", "vol2", ("x", "y"))


# -- the check-in point and an activity's area -----------------------------------------------
@given(lng=st.one_of(st.none(), st.floats(-180, 180)), lat=st.one_of(st.none(), st.floats(-90, 90)))
def test_a_check_in_point_has_both_coordinates_or_none(lng: float | None, lat: float | None) -> None:
    if (lng is None) != (lat is None):
        with pytest.raises(BadInput, match="give both lng and lat"):
            d.check_point(lng, lat)
    else:
        assert d.check_point(lng, lat) == (None if lng is None else (lng, lat))


def test_only_an_activity_in_a_grid_has_an_area() -> None:
    boundary = {"type": "Polygon", "coordinates": []}
    assert d.activity_area("GRID", boundary) is boundary
    assert d.activity_area("COMMUNITY", boundary) is None
    assert d.activity_area(None, boundary) is None


# -- what a `cases` event means to a task ----------------------------------------------------
def test_a_case_assigned_to_a_volunteer_is_a_task_step() -> None:
    step = d.case_step("ASSIGNED", {"assignee": {"kind": "VOLUNTEER", "id": "mem-7"}})
    assert step == d.CaseStep("ASSIGN", "mem-7")
    assert d.case_step("RESOLVED", {}) == d.CaseStep("RESOLVE")


@given(
    event=st.sampled_from(["REPORTED", "ASSIGNED", "ACCEPTED", "CLOSED", "REOPENED"]),
    kind=st.sampled_from(["DEPARTMENT", "GRID_WORKER", "ORGANIZATION", None]),
)
def test_other_case_events_are_no_concern_of_volunteers(event: str, kind: str | None) -> None:
    data = {"assignee": {"kind": kind, "id": "x"}} if kind else {"assignee": None}
    assert d.case_step(event, data) is None


# -- what an `organizations` event changes in the member replica -----------------------------
def test_a_registered_member_is_recorded_once() -> None:
    change = d.member_change("MEMBER_REGISTERED", "mem-7", {"orgId": "org-1", "category": "IN_SERVICE"})
    assert change == d.MemberChange("mem-7", {"org_id": "org-1", "in_service": True}, on_insert=True)
    change = d.member_change("MEMBER_REGISTERED", "mem-8", {"orgId": "org-1", "category": "RETIRED"})
    assert change is not None and change.fields["in_service"] is False


def test_a_category_change_sets_in_service_and_a_transfer_the_organisation() -> None:
    assert d.member_change("MEMBER_UPDATED", "mem-7", {"category": "IN_SERVICE"}) == d.MemberChange(
        "mem-7", {"in_service": True}
    )
    assert d.member_change("MEMBER_UPDATED", "mem-7", {"name": "x"}) is None  # nothing the replica keeps
    assert d.member_change("TRANSFER_APPROVED", "tr-1", {"memberId": "mem-7", "toOrgId": "org-2"}) == d.MemberChange(
        "mem-7", {"org_id": "org-2"}
    )
    assert d.member_change("MEETING_HELD", "mt-1", {}) is None
