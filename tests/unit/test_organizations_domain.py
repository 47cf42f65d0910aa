"""Unit tests of the organizations domain: tree rules, committee terms, members and 双报到,
units and linkage, joint meetings and rotation, organisational life and the weak flag, the
three lists, events, policy and rollups."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from services.organizations.domain import (
    COUNTER_KEYS, EVENT_TYPES, AgendaSource, Contact, FeedbackRecord, JointMeeting, LifeKind,
    Linkage, MemberCategory, MemberStatus, Need, Organization, OrgType, Position, PositionRole,
    Project, ProjectStatus, Quarter, Resource, Term, Unit, UnitKind, UnitTwinning, authorize,
    counters_of, coverage, deltas, dual_register, event_from_wire, is_allowed, is_weak,
    mask_id_number, next_chair, recount, record_life, request_transfer, approve_transfer,
    uniqueness_key, Action)
from shared.errors import BadInput, Conflict, Forbidden, NotFound
from tests.unit.org_fixtures import (ADMIN_K, ADMIN_T1, ADMIN_T2, N, OPERATOR_M1, RESIDENT,
                                     SUPER, T0, VOLUNTEER, member, tree)

O = OrgType
DAY = timedelta(days=1)
# the right parent of each (type, anchor) in the fixture tree
RIGHT_PARENT = {(O.TOWNSHIP_WORKING_COMMITTEE, "t1"): None,
                (O.COMMUNITY_COMMITTEE, "m1"): "twc-t1", (O.GRID_BRANCH, "g2"): "cc-m1",
                (O.BUILDING_GROUP, "b1x"): "gb-g1", (O.CENTER_HOUSEHOLD, "b1"): "bg-b1"}


def create(t: OrgType, anchor: str, parent: Organization | None, **kw) -> Organization:
    hh = kw.pop("household_member_id", "p9" if t is O.CENTER_HOUSEHOLD else None)
    return Organization.create(id=f"new-{anchor}", name="新党组织", type=t, anchor=N[anchor],
                               parent=parent, by=kw.pop("by", ADMIN_K), now=T0,
                               household_member_id=hh, **kw)


# ---- tree rules --------------------------------------------------------------------------
@pytest.mark.parametrize("t", [t for t in O if t.territorial])  # the chain; outside it: test_committees_domain
@pytest.mark.parametrize("anchor", ["t1", "m1", "g2", "b1x", "b1"])
@pytest.mark.parametrize("parent_id", [None, "twc-t1", "twc-t2", "cc-m1", "cc-m2", "gb-g1",
                                       "gb-g2", "gb-g3", "bg-b1", "bg-b2"])
def test_every_type_anchor_parent_combination(t, anchor, parent_id):
    orgs = tree()
    parent = orgs[parent_id] if parent_id else None
    right = N[anchor].level is t.anchor_level and RIGHT_PARENT.get((t, anchor), "x") == parent_id
    if t is O.BUILDING_GROUP and anchor == "b1" and parent_id == "gb-g1":
        right = True  # placement is fine; uniqueness is a separate check
    if right:
        org = create(t, anchor, parent)
        assert org.parent_id == parent_id and org.anchor_path == N[anchor].path
    else:
        with pytest.raises(BadInput):
            create(t, anchor, parent)


def test_parent_must_be_the_nearest_ancestor_not_a_cousin():
    orgs = tree()
    with pytest.raises(BadInput, match="must be the GRID_BRANCH of g1"):
        create(O.BUILDING_GROUP, "b1x", orgs["gb-g2"])
    with pytest.raises(BadInput, match="needs its"):
        create(O.GRID_BRANCH, "g2", None)


def test_center_household_names_a_member_and_several_per_building():
    orgs = tree()
    with pytest.raises(BadInput):
        create(O.CENTER_HOUSEHOLD, "b1", orgs["bg-b1"], household_member_id=None)
    with pytest.raises(BadInput):
        create(O.BUILDING_GROUP, "b1x", orgs["gb-g1"], household_member_id="p1")
    a = Organization.create(id="h1", name="中心户1", type=O.CENTER_HOUSEHOLD, anchor=N["b1"],
                            parent=orgs["bg-b1"], by=ADMIN_K, now=T0, household_member_id="p1")
    b = Organization.create(id="h2", name="中心户2", type=O.CENTER_HOUSEHOLD, anchor=N["b1"],
                            parent=orgs["bg-b1"], by=ADMIN_K, now=T0, household_member_id="p2")
    b.check_unique([a, *orgs.values()])
    dup = Organization.create(id="h3", name="中心户3", type=O.CENTER_HOUSEHOLD, anchor=N["b1"],
                              parent=orgs["bg-b1"], by=ADMIN_K, now=T0, household_member_id="p1")
    with pytest.raises(Conflict):
        dup.check_unique([a, b])


def test_one_organisation_per_type_and_anchor():
    orgs = tree()
    again = create(O.GRID_BRANCH, "g1", orgs["cc-m1"])
    with pytest.raises(Conflict, match="already has a GRID_BRANCH"):
        again.check_unique(orgs.values())
    orgs["gb-g1"].check_unique(orgs.values())  # itself is no conflict
    assert uniqueness_key(O.GRID_BRANCH, "g1") == "GRID_BRANCH:g1"
    assert uniqueness_key(O.CENTER_HOUSEHOLD, "b1", "p1") == "CENTER_HOUSEHOLD:b1:p1"


def test_create_records_event_on_the_anchor_path_and_needs_scope():
    org = create(O.GRID_BRANCH, "g2", tree()["cc-m1"])
    (e,) = org.pending_events
    assert e.type == "ORGANIZATION_CREATED" and e.region_path == ("c", "k", "t1", "m1", "g2")
    assert e.subject == "yiwang.evt.organizations.ORGANIZATION_CREATED.c.k.t1.m1.g2"
    assert e.version == 1 and e.data["parentId"] == "cc-m1"
    assert event_from_wire(e.to_wire()) == e
    with pytest.raises(Forbidden):
        create(O.GRID_BRANCH, "g2", tree()["cc-m1"], by=ADMIN_T2)
    with pytest.raises(Forbidden):
        create(O.GRID_BRANCH, "g2", tree()["cc-m1"], by=OPERATOR_M1)


def test_rename_bumps_version_and_noop_does_not():
    org = tree()["gb-g1"]
    org.rename("第一网格党支部", ADMIN_T1, T0)
    assert (org.version, org.name, org.pending_events[-1].type) == (
        2, "第一网格党支部", "ORGANIZATION_UPDATED")
    org.rename("第一网格党支部", ADMIN_T1, T0)
    assert org.version == 2
    with pytest.raises(BadInput):
        org.rename("  ", ADMIN_T1, T0)


# ---- committee positions -----------------------------------------------------------------
def pos(name, role=PositionRole.COMMITTEE_MEMBER, start=date(2025, 1, 1), end=None, **kw):
    return Position(holder_name=name, member_id=kw.pop("member_id", name), role=role,
                    term=Term(start=start, end=end), **kw)


def test_one_secretary_at_a_time_and_no_overlapping_terms_of_a_role():
    org = tree()["cc-m1"]
    S = PositionRole.SECRETARY
    org.appoint(pos("王书记", S, end=date(2025, 12, 31)), ADMIN_K, T0)
    with pytest.raises(Conflict, match="already has a SECRETARY"):
        org.appoint(pos("李", S, start=date(2025, 6, 1)), ADMIN_K, T0)
    org.appoint(pos("李", S, start=date(2026, 1, 1)), ADMIN_K, T0)  # after the term ends
    with pytest.raises(Conflict, match="overlapping"):
        org.appoint(pos("李", S, start=date(2027, 1, 1)), ADMIN_K, T0)
    org.appoint(pos("李", PositionRole.DEPUTY_SECRETARY, start=date(2030, 1, 1)), ADMIN_K, T0)
    org.appoint(pos("赵", PositionRole.COMMITTEE_MEMBER), ADMIN_K, T0)
    org.appoint(pos("钱", PositionRole.COMMITTEE_MEMBER), ADMIN_K, T0)  # many members
    org.appoint(pos("孙", PositionRole.FIRST_SECRETARY), ADMIN_K, T0)
    assert [p.holder_name for p in org.holders(S, date(2026, 6, 1))] == ["李"]
    org.end_position(S, "李", date(2026, 6, 30), ADMIN_K, T0)
    assert org.holders(S, date(2026, 7, 1)) == []
    org.appoint(pos("周", S, start=date(2026, 7, 1)), ADMIN_K, T0)
    with pytest.raises(NotFound):
        org.end_position(S, "无名", date(2026, 7, 1), ADMIN_K, T0)
    with pytest.raises(BadInput):
        Term(start=date(2026, 1, 2), end=date(2026, 1, 1))


def test_part_time_members_sit_for_a_unit_of_the_enlarged_committee():
    orgs = tree()
    cc = orgs["cc-m1"]
    ptm = pos("单位代表", PositionRole.PART_TIME_MEMBER, member_id=None, unit_id="u1")
    with pytest.raises(BadInput, match="not on the"):
        cc.appoint(ptm, ADMIN_K, T0)
    with pytest.raises(BadInput, match="COMMUNITY_COMMITTEE"):
        orgs["gb-g1"].add_unit("u1", ADMIN_K, T0)
    cc.add_unit("u1", ADMIN_K, T0)
    with pytest.raises(Conflict):
        cc.add_unit("u1", ADMIN_K, T0)
    cc.appoint(ptm, ADMIN_K, T0)
    with pytest.raises(BadInput):
        orgs["gb-g1"].appoint(ptm, ADMIN_K, T0)
    cc.remove_unit("u1", ADMIN_K, T0)
    assert [e.type for e in cc.pending_events] == [
        "UNIT_JOINED_COMMITTEE", "POSITION_APPOINTED", "UNIT_LEFT_COMMITTEE"]


# ---- members -----------------------------------------------------------------------------
def test_register_member_validates_dates_and_home():
    org = tree()["gb-g1"]
    m = member(org)
    assert (m.org_path, m.home_building_id, m.status) == (org.anchor_path, "b1",
                                                          MemberStatus.ACTIVE)
    assert m.pending_events[0].type == "MEMBER_REGISTERED"
    assert "enc:" not in str(m.pending_events[0].to_wire())  # no personal data in events
    with pytest.raises(BadInput, match="18"):
        member(org, birth_date=date(2000, 3, 2), join_date=date(2018, 3, 1))
    member(org, birth_date=date(2000, 3, 1), join_date=date(2018, 3, 1))  # the birthday
    member(org, birth_date=date(2000, 2, 29), join_date=date(2018, 3, 1))
    with pytest.raises(BadInput, match="18"):
        member(org, birth_date=date(2000, 2, 29), join_date=date(2018, 2, 28))
    with pytest.raises(BadInput, match="future"):
        member(org, join_date=(T0 + DAY).date())
    with pytest.raises(BadInput, match="BUILDING"):
        member(org, home=N["g1"])
    with pytest.raises(BadInput, match="CENTER_HOUSEHOLD"):
        hh = Organization.create(id="h1", name="中心户", type=O.CENTER_HOUSEHOLD, anchor=N["b1"],
                                 parent=tree()["bg-b1"], by=ADMIN_K, now=T0,
                                 household_member_id="p1")
        member(hh)
    with pytest.raises(Forbidden):
        member(org, by=ADMIN_T2)


def test_mask_id_number():
    assert mask_id_number("110101199001011234") == "110***********1234"
    assert mask_id_number("1234567") == "*******"
    assert mask_id_number(None) is None


def test_member_update_and_self_access():
    m = member(tree()["gb-g1"])
    m.update(ADMIN_K, T0, category=MemberCategory.IN_SERVICE)
    assert m.version == 1  # nothing changed
    m.update(ADMIN_K, T0, home=N["b2"], phone_enc="enc:new", phone_index="bi:new")
    assert (m.version, m.home_building_id, m.phone_index) == (2, "b2", "bi:new")
    authorize(RESIDENT, Action.VIEW, m)
    authorize(VOLUNTEER, Action.VIEW, m)
    with pytest.raises(Forbidden):
        m.update(RESIDENT, T0, category=MemberCategory.RETIRED)
    other = member(tree()["gb-g1"], id="p2")
    assert not is_allowed(RESIDENT, Action.VIEW, other)
    assert is_allowed(OPERATOR_M1, Action.VIEW, other)
    assert not is_allowed(OPERATOR_M1, Action.MANAGE_MEMBER, other)


# ---- 双报到 --------------------------------------------------------------------------------
def test_dual_register_in_service_only_once_and_under_the_community_path():
    orgs = tree()
    m = member(orgs["gb-g3"])  # works in t2, lives in m1
    dual_register(m, N["m1"], ADMIN_K, T0)
    e = m.pending_events[-1]
    assert e.type == "DUAL_REGISTERED" and e.region_path == N["m1"].path
    with pytest.raises(Conflict):
        m.dual_register(N["m2"], ADMIN_K, T0)
    m.end_dual_registration(ADMIN_K, T0, "搬家")
    m.dual_register(N["m2"], RESIDENT, T0)  # the member themself
    for cat in (MemberCategory.RETIRED, MemberCategory.FLOATING, MemberCategory.OTHER):
        with pytest.raises(BadInput, match="in-service"):
            member(orgs["gb-g1"], id="p2", category=cat).dual_register(N["m1"], ADMIN_K, T0)
    with pytest.raises(BadInput, match="not a COMMUNITY"):
        member(orgs["gb-g1"], id="p3").dual_register(N["g1"], ADMIN_K, T0)
    m.update(ADMIN_K, T0, category=MemberCategory.RETIRED)
    assert not m.dual_active and m.pending_events[-1].type == "DUAL_REGISTRATION_ENDED"
    with pytest.raises(Conflict):
        m.end_dual_registration(ADMIN_K, T0, "again")


def test_unit_twinning_is_for_branches_outside_the_community():
    orgs = tree()
    tw = UnitTwinning.register(branch=orgs["gb-g3"], community=N["m1"], by=ADMIN_K, now=T0)
    assert tw.id == "gb-g3:m1" and tw.pending_events[0].region_path == N["m1"].path
    with pytest.raises(BadInput, match="inside"):
        UnitTwinning.register(branch=orgs["gb-g1"], community=N["m1"], by=ADMIN_K, now=T0)
    with pytest.raises(BadInput):
        UnitTwinning.register(branch=orgs["gb-g3"], community=N["g1"], by=ADMIN_K, now=T0)


def test_quarter_and_idempotent_feedback():
    assert str(Quarter.of(date(2026, 11, 3))) == "2026Q4"
    assert str(Quarter.of(T0)) == "2026Q1"
    assert Quarter.parse("2026Q2") == Quarter(year=2026, q=2)
    for bad in ("2026Q5", "2026-Q1", ""):
        with pytest.raises(BadInput):
            Quarter.parse(bad)
    m = member(tree()["gb-g3"])
    m.dual_register(N["m1"], ADMIN_K, T0)
    fb = FeedbackRecord.open(m, Quarter.of(T0))
    assert (fb.id, fb.community_id) == ("p1:2026Q1", "m1")
    assert fb.add("vol-evt-1", 2.5, 1, T0) and fb.add("case-evt-9", 1.0, 1, T0)
    assert not fb.add("vol-evt-1", 2.5, 1, T0)
    assert (fb.hours, fb.services, fb.version) == (3.5, 2, 3)
    with pytest.raises(BadInput):
        fb.add("x", -1, 0, T0)


# ---- units and three-party linkage -------------------------------------------------------
def unit(uid, kind=UnitKind.ENTERPRISE, region="m1", by=ADMIN_K):
    return Unit.register(id=uid, name=f"单位{uid}", kind=kind, region=N[region],
                         contacts=[Contact(name="联系人", phone_enc="enc:1")], by=by, now=T0)


def test_units_and_linkage_need_the_right_kinds():
    cc = tree()["cc-m1"]
    prop, owners = unit("pc", UnitKind.PROPERTY_COMPANY), unit("oc", UnitKind.OWNERS_COMMITTEE)
    link = Linkage.record(id="l1", estate="阳光小区", committee=cc, property_company=prop,
                          owners_committee=owners, by=ADMIN_K, now=T0)
    assert link.pending_events[0].type == "LINKAGE_RECORDED"
    with pytest.raises(BadInput):
        Linkage.record(id="l2", estate="x", committee=cc, property_company=owners,
                       owners_committee=prop, by=ADMIN_K, now=T0)
    with pytest.raises(BadInput):
        Linkage.record(id="l3", estate="x", committee=tree()["gb-g1"], property_company=prop,
                       owners_committee=owners, by=ADMIN_K, now=T0)
    with pytest.raises(Forbidden):
        unit("u9", by=OPERATOR_M1)
    prop.set_contacts([Contact(name="新联系人")], ADMIN_K, T0)
    assert prop.version == 2


# ---- joint meetings and the rotating chair ----------------------------------------------
@pytest.mark.parametrize("history,skipped,chair,passed", [
    ([], set(), "a", ()),
    (["a"], set(), "b", ()),
    (["a", "b", "c"], set(), "d", ()),
    (["d"], set(), "a", ()),                        # wrap-around
    (["a"], {"b"}, "c", ("b",)),                    # skip noted
    (["c"], {"d", "a"}, "b", ("d", "a")),           # skip across the wrap
    (["b"], {"c", "d", "a"}, "b", ("c", "d", "a")),  # only the last chair is free
    (["gone", "c"], set(), "d", ()),
    (["c", "gone"], set(), "d", ()),                # a unit that left is ignored
    (["gone"], {"a"}, "b", ("a",)),
])
def test_next_chair(history, skipped, chair, passed):
    pick = next_chair(["a", "b", "c", "d"], history, skipped)
    assert (pick.chair, pick.skipped) == (chair, passed)


def test_next_chair_with_nobody_available():
    with pytest.raises(BadInput):
        next_chair(["a", "b"], ["a"], {"a", "b"})
    with pytest.raises(BadInput):
        next_chair([], [], set())


def test_rotation_visits_every_unit_once_per_round():
    order, history = ["a", "b", "c"], []
    for _ in range(6):
        history.append(next_chair(order, history).chair)
    assert history == order * 2


def meeting(units=("u1", "u2", "u3"), history=(), unavailable=()):
    cc = tree()["cc-m1"]
    for u in units:
        cc.add_unit(u, ADMIN_K, T0)
    return JointMeeting.schedule(id="jm1", committee=cc, scheduled_at=T0 + DAY,
                                 chair_history=list(history), unavailable=set(unavailable),
                                 by=ADMIN_K, now=T0)


def test_joint_meeting_agenda_minutes_resolution_and_case_flow():
    m = meeting(history=["u1"], unavailable={"u2"})
    assert (m.chair_unit_id, m.skipped_units) == ("u3", ["u2"])
    assert m.pending_events[0].data["skippedUnits"] == ["u2"]
    m.add_agenda_item(AgendaSource.UNIT, "u1", "停车难", OPERATOR_M1, T0)
    m.add_agenda_item(AgendaSource.CASE_HOTSPOT, "hotspot-parking", "投诉热点", OPERATOR_M1, T0)
    m.add_agenda_item(AgendaSource.RESIDENT, "居民王某", "加装电梯", OPERATOR_M1, T0)
    with pytest.raises(BadInput):
        m.add_agenda_item(AgendaSource.UNIT, "u9", "x", OPERATOR_M1, T0)
    with pytest.raises(Conflict, match="no minutes"):
        m.add_resolution("决议", ["整治停车"], ADMIN_K, T0)
    with pytest.raises(BadInput, match="after"):
        m.record_minutes("纪要", ["u1"], ["p1"], OPERATOR_M1, T0)
    with pytest.raises(BadInput):
        m.record_minutes("纪要", ["u9"], [], OPERATOR_M1, T0 + DAY)
    m.record_minutes("纪要", ["u1", "u3", "u1"], ["p1", "p2"], OPERATOR_M1, T0 + DAY)
    assert m.attended_units == ["u1", "u3"]
    with pytest.raises(Forbidden):
        m.add_resolution("决议", ["整治停车"], OPERATOR_M1, T0 + DAY)
    res = m.add_resolution("决议", ["整治停车", "加装电梯调研"], ADMIN_K, T0 + DAY)
    assert [i.id for i in res.items] == ["r1-1", "r1-2"]
    req = m.request_case("r1-1", "PARKING", "小区停车秩序", ADMIN_K, T0 + DAY)
    assert req == {"title": "整治停车", "description": "小区停车秩序", "categoryCode": "PARKING",
                   "regionId": "m1", "channel": "JOINT_MEETING",
                   "idempotencyKey": "meeting:jm1:r1-1"}
    with pytest.raises(Conflict):
        m.request_case("r1-1", "PARKING", "", ADMIN_K, T0 + DAY)
    with pytest.raises(NotFound):
        m.request_case("r9-9", "PARKING", "", ADMIN_K, T0 + DAY)
    with pytest.raises(Conflict):
        m.link_case("r1-2", "case-x", T0 + DAY)
    assert m.link_case("r1-1", "case-1", T0 + DAY)
    assert not m.link_case("r1-1", "case-1", T0 + DAY)
    with pytest.raises(Conflict):
        m.link_case("r1-1", "case-2", T0 + DAY)
    assert m.update_case_status("case-1", "RESOLVED", T0 + 2 * DAY)
    assert not m.update_case_status("case-1", "RESOLVED", T0 + 2 * DAY)
    assert m.item("r1-1").case_status == "RESOLVED"
    with pytest.raises(NotFound):
        m.update_case_status("case-zz", "CLOSED", T0)
    assert all(e.region_path == N["m1"].path for e in m.pending_events)
    versions = [e.version for e in m.pending_events]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


def test_meetings_only_for_a_community_committee_with_units():
    with pytest.raises(BadInput):
        meeting(units=())
    with pytest.raises(BadInput):
        JointMeeting.schedule(id="x", committee=tree()["gb-g1"], scheduled_at=T0,
                              chair_history=[], unavailable=set(), by=ADMIN_K, now=T0)


# ---- organisational life and the weak flag -----------------------------------------------
@pytest.mark.parametrize("last,now_days,weak", [
    (None, 89, False), (None, 90, True), (0, 89, False), (0, 90, True), (30, 100, False),
    (30, 120, True),
])
def test_is_weak(last, now_days, weak):
    org = tree()["gb-g1"]
    last_at = T0 + timedelta(days=last) if last is not None else None
    assert is_weak(org, last_at, T0 + timedelta(days=now_days)) is weak


def test_is_weak_period_is_configurable_and_households_never_weak():
    org = tree()["gb-g1"]
    assert is_weak(org, None, T0 + timedelta(days=30), period_days=30)
    assert not is_weak(org, None, T0 + timedelta(days=29), period_days=30)
    with pytest.raises(BadInput):
        is_weak(org, None, T0, period_days=0)
    hh = Organization.create(id="h1", name="中心户", type=O.CENTER_HOUSEHOLD, anchor=N["b1"],
                             parent=tree()["bg-b1"], by=ADMIN_K, now=T0,
                             household_member_id="p1")
    assert not is_weak(hh, None, T0 + timedelta(days=999))


def test_sweep_flags_weak_once_and_life_recovers():
    org = tree()["gb-g1"]
    assert not org.sweep_weak(T0 + timedelta(days=89))
    assert org.sweep_weak(T0 + timedelta(days=90))
    assert not org.sweep_weak(T0 + timedelta(days=91))
    assert org.weak and org.pending_events[-1].type == "ORGANIZATION_WEAK"
    now = T0 + timedelta(days=95)
    for kind in LifeKind:
        rec = record_life(org, id=f"life-{kind}", kind=kind, held_at=now - DAY, topic="学习",
                          attendance=["p1", "p2", "p1"], by=OPERATOR_M1, now=now)
        assert rec.attendance == ("p1", "p2")
    assert not org.weak and org.last_life_at == now - DAY
    assert [e.type for e in org.pending_events].count("ORGANIZATION_RECOVERED") == 1
    assert not org.sweep_weak(now + timedelta(days=88))
    with pytest.raises(BadInput, match="after it was held"):
        record_life(org, id="f", kind=LifeKind.PARTY_LECTURE, held_at=now + DAY, topic="t",
                    attendance=[], by=OPERATOR_M1, now=now)
    with pytest.raises(Forbidden):
        record_life(org, id="f", kind=LifeKind.PARTY_LECTURE, held_at=now, topic="t",
                    attendance=[], by=VOLUNTEER, now=now)


# ---- three lists -------------------------------------------------------------------------
def project():
    need = Need.post(id="n1", community=N["m1"], title="老人助餐", description="",
                     by=ADMIN_K, now=T0)
    res = Resource.offer(id="r1", unit=unit("u1"), title="食堂", description="", by=ADMIN_K,
                         now=T0)
    return Project.propose(id="pj1", need=need, resource=res, title="助餐点", by=ADMIN_K, now=T0)


PS = ProjectStatus
LEGAL = {(PS.PROPOSED, PS.AGREED), (PS.AGREED, PS.IN_PROGRESS), (PS.IN_PROGRESS, PS.DONE),
         (PS.PROPOSED, PS.CANCELLED), (PS.AGREED, PS.CANCELLED), (PS.IN_PROGRESS, PS.CANCELLED)}
PATH_TO = {PS.PROPOSED: [], PS.AGREED: [PS.AGREED], PS.IN_PROGRESS: [PS.AGREED, PS.IN_PROGRESS],
           PS.DONE: [PS.AGREED, PS.IN_PROGRESS, PS.DONE], PS.CANCELLED: [PS.CANCELLED]}


@pytest.mark.parametrize("src,dst", list(itertools.product(PS, PS)))
def test_project_transitions(src, dst):
    p = project()
    for s in PATH_TO[src]:
        p.move_to(s, ADMIN_K, T0, note="原因")
    assert p.status is src
    if (src, dst) in LEGAL:
        p.move_to(dst, ADMIN_K, T0, note="原因")
        assert p.status is dst and p.pending_events[-1].data["fromStatus"] == src
    else:
        with pytest.raises(Conflict):
            p.move_to(dst, ADMIN_K, T0, note="原因")


def test_cancelling_a_project_needs_a_reason_and_lists_need_an_admin():
    p = project()
    with pytest.raises(BadInput):
        p.move_to(PS.CANCELLED, ADMIN_K, T0)
    with pytest.raises(Forbidden):
        p.move_to(PS.AGREED, OPERATOR_M1, T0)
    with pytest.raises(Forbidden):
        Need.post(id="n", community=N["m1"], title="t", description="", by=ADMIN_T2, now=T0)


# ---- events and policy -------------------------------------------------------------------
def test_every_emitted_event_type_is_documented():
    with pytest.raises(BadInput):
        event_from_wire({"type": "NOPE", "aggregate": "x", "aggregate_id": "1", "version": 1,
                         "at": T0.isoformat(), "actor": None, "region_path": ["c"]})
    assert all(k.isupper() for k in EVENT_TYPES)


def test_an_event_field_of_any_name_stays_in_data_and_never_moves_the_event():
    org = tree()["gb-g1"]
    org.drain_events()
    event = org._emit("ORGANIZATION_UPDATED", ADMIN_K, T0, path=["elsewhere"], type="x", now="y")
    assert event.region_path == org.scope_path
    assert event.type == "ORGANIZATION_UPDATED"
    assert event.data == {"path": ["elsewhere"], "type": "x", "now": "y"}


@pytest.mark.parametrize("principal,action,allowed", [
    (SUPER, Action.MANAGE_ORG, True), (ADMIN_K, Action.MANAGE_ORG, True),
    (ADMIN_T1, Action.MANAGE_ORG, True), (ADMIN_T2, Action.MANAGE_ORG, False),
    (OPERATOR_M1, Action.VIEW, True), (OPERATOR_M1, Action.RECORD_LIFE, True),
    (OPERATOR_M1, Action.RECORD_MEETING, True), (OPERATOR_M1, Action.MANAGE_ORG, False),
    (VOLUNTEER, Action.VIEW, False), (RESIDENT, Action.VIEW, False),
])
def test_policy_on_an_organisation(principal, action, allowed):
    assert is_allowed(principal, action, tree()["gb-g1"]) is allowed


# ---- rollups -----------------------------------------------------------------------------
def test_counters_and_coverage():
    orgs = tree()
    figures = recount(orgs.values())
    assert figures["k"]["organizations"] == 10
    assert figures["m1"]["grids_with_branch"] == 2 and figures["t2"]["grids_with_branch"] == 1
    assert figures["k"]["buildings_with_group"] == 3
    assert coverage(figures["k"], grid_count=3, building_count=4) == {
        "grid_branch_coverage": 1.0, "building_group_coverage": 0.75}
    assert coverage({}, 0, 0) == {"grid_branch_coverage": None,
                                  "building_group_coverage": None}
    assert all(k in COUNTER_KEYS for _, c in counters_of(orgs["gb-g1"]) for k in c)


def test_deltas_follow_every_change_and_match_recount():
    orgs = tree()
    records = {o.id: o for o in orgs.values()}
    live = recount(records.values())

    def step(rec_id, fn):
        before = records[rec_id].model_copy(deep=True) if rec_id in records else None
        after = fn()
        records[after.id] = after
        for d in deltas(before, after):
            d.apply_to(live)
        assert live == recount(records.values())

    step("p1", lambda: member(orgs["gb-g3"]))
    step("p2", lambda: member(orgs["gb-g1"], id="p2", category=MemberCategory.RETIRED))
    p1 = records["p1"]

    def change(rec, fn):
        before = rec.model_copy(deep=True)
        fn()
        for d in deltas(before, rec):
            d.apply_to(live)
        assert live == recount(records.values())

    change(p1, lambda: p1.dual_register(N["m1"], ADMIN_K, T0))
    assert live["m1"]["dual_registered"] == 1 and "dual_registered" not in live["m2"]
    tr = None

    def request():
        nonlocal tr
        tr = request_transfer(id="tr1", member=p1, from_org=orgs["gb-g3"],
                              to_org=orgs["gb-g2"], by=ADMIN_K, now=T0)
    change(p1, request)
    assert live["t2"]["members_transferring"] == 1
    change(p1, lambda: approve_transfer(tr, p1, orgs["gb-g2"], ADMIN_K, T0))
    assert live["m1"]["members"] == 2 and "members" not in live["t2"]
    assert live["m1"]["dual_registered"] == 1
    gb = records["gb-g1"]
    change(gb, lambda: gb.sweep_weak(T0 + timedelta(days=90)))
    assert live["k"]["weak_organizations"] == 1
    step("tw", lambda: UnitTwinning.register(branch=orgs["gb-g3"], community=N["m1"],
                                             by=ADMIN_K, now=T0).model_copy(update={"id": "tw"}))
    assert live["m1"]["twinned_units"] == 1
    assert all(k in COUNTER_KEYS for c in live.values() for k in c)
