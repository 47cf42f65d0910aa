"""红色业委会, 居委会, 三方联动 and non-territorial branches: the pure rules (domain/committees.py,
domain/three_party.py, domain/branches.py, placement in domain/organization.py)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.organizations.domain import (
    Action, NewCandidate, NewItem, CaseAsk, Organization, OrgType, OwnersCommittee, ResidentsCommittee, Term,
    ThreePartyMeeting, Unit, UnitKind, UnitRegistration, UnitTwinning, count_dual, deltas, is_idle, note_activity,
    recount, sweep_idle, uniqueness_key, authorize,
)
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.committees import MeetingSide, QualificationCheck as Q
from tests.unit.org_fixtures import ADMIN_K, ADMIN_T1, ADMIN_T2, N, OPERATOR_M1, SUPER, T0, VOLUNTEER, tree

O = OrgType
NON_TERRITORIAL = [O.AGENCY, O.ENTERPRISE, O.NEW_ECONOMIC, O.PROPERTY_COMPANY, O.MARKET]
DAY = timedelta(days=1)
TERM = Term(start=date(2026, 3, 1), end=date(2031, 2, 28))


def unit(kind: UnitKind = UnitKind.ENTERPRISE, uid: str = "u1", at: str = "t1") -> Unit:
    u = Unit.register(id=uid, name="示例单位", kind=kind, region=N[at], contacts=[], by=SUPER, now=T0)
    u.drain_events()
    return u


def branch(t: OrgType = O.ENTERPRISE, anchor: str = "m1", unit_id: str | None = "u1", parent=None, **kw):
    return Organization.create(id=f"nt-{anchor}", name="企业党支部", type=t, anchor=N[anchor], parent=parent,
                               by=kw.pop("by", ADMIN_K), now=kw.pop("now", T0), unit_id=unit_id, **kw)


# ---- placement of the non-territorial kinds ---------------------------------------------------
@pytest.mark.parametrize("t", NON_TERRITORIAL)
@pytest.mark.parametrize("anchor", ["k", "t1", "m1", "g1", "b1"])
def test_a_branch_outside_the_chain_anchors_to_a_unit_and_any_region_without_a_parent(t, anchor):
    org = branch(t, anchor)
    assert not org.type.territorial and org.parent_id is None and org.unit_id == "u1"
    assert org.anchor_path == N[anchor].path
    assert org.pending_events[0].data["unitId"] == "u1"


@pytest.mark.parametrize("t", NON_TERRITORIAL)
def test_a_branch_outside_the_chain_refuses_a_parent_and_needs_its_unit(t):
    orgs = tree()
    with pytest.raises(BadInput, match="has no parent"):
        branch(t, "m1", parent=orgs["cc-m1"])
    with pytest.raises(BadInput, match="unitId"):
        branch(t, "m1", unit_id=None)


@pytest.mark.parametrize("t", [t for t in O if t.territorial])
def test_the_chain_refuses_a_unit_and_a_parent_from_outside_it(t):
    orgs = tree()
    outside = branch(O.AGENCY, "t1")
    anchors = {O.TOWNSHIP_WORKING_COMMITTEE: "t1", O.COMMUNITY_COMMITTEE: "m1", O.GRID_BRANCH: "g2",
               O.BUILDING_GROUP: "b1x", O.CENTER_HOUSEHOLD: "b1"}
    right_parent = {O.TOWNSHIP_WORKING_COMMITTEE: None, O.COMMUNITY_COMMITTEE: "twc-t1", O.GRID_BRANCH: "cc-m1",
                    O.BUILDING_GROUP: "gb-g1", O.CENTER_HOUSEHOLD: "bg-b1"}
    hh = "p9" if t is O.CENTER_HOUSEHOLD else None
    with pytest.raises(BadInput, match="outside the territorial chain"):
        Organization.create(id="x", name="x", type=t, anchor=N[anchors[t]], parent=outside, by=ADMIN_K, now=T0,
                            household_member_id=hh)
    parent = orgs[right_parent[t]] if right_parent[t] else None
    with pytest.raises(BadInput, match="unitId"):
        Organization.create(id="x", name="x", type=t, anchor=N[anchors[t]], parent=parent, by=ADMIN_K, now=T0,
                            household_member_id=hh, unit_id="u1")


def test_one_branch_per_type_and_unit_many_per_region():
    assert uniqueness_key(O.ENTERPRISE, "m1", unit_id="u1") != uniqueness_key(O.ENTERPRISE, "m1", unit_id="u2")
    assert uniqueness_key(O.ENTERPRISE, "m1", unit_id="u1") == uniqueness_key(O.ENTERPRISE, "k", unit_id="u1")
    assert branch().key == "ENTERPRISE:unit:u1"


def test_branches_count_apart_from_the_chain():
    orgs = tree()
    before = recount(orgs.values())
    nt = branch(O.MARKET, "g1")
    after = recount([*orgs.values(), nt])
    for region in ("c", "k", "t1", "m1", "g1"):
        assert after[region]["organizations"] == before[region]["organizations"]  # the chain's count is unchanged
        assert after[region]["non_territorial_organizations"] == 1
        assert after[region]["organizations.MARKET"] == 1
    assert "non_territorial_organizations" not in after.get("t2", {})


def test_a_branch_outside_the_chain_twins_even_with_the_community_it_is_in():
    twin = UnitTwinning.register(branch=branch(anchor="m1"), community=N["m1"], by=ADMIN_K, now=T0)
    assert twin.community_id == "m1"
    with pytest.raises(BadInput, match="inside community"):
        UnitTwinning.register(branch=tree()["gb-g1"], community=N["m1"], by=ADMIN_K, now=T0)


# ---- 双报到 activity and the idle signal (空转) ------------------------------------------------
def test_members_dual_registration_counts_for_their_branch_and_is_activity():
    org = branch(now=T0)
    org.drain_events()
    assert count_dual(org, 1, T0 + DAY) and org.dual_registered == 1 and org.last_service_at == T0 + DAY
    assert count_dual(org, -1, T0 + 2 * DAY) and org.dual_registered == 0
    assert org.last_service_at == T0 + DAY  # an end is no activity
    chain = tree()["gb-g1"]
    assert not count_dual(chain, 1, T0) and chain.dual_registered == 0


def test_a_branch_without_activity_for_the_period_is_idle_once_and_recovers_with_activity():
    org = branch(now=T0)
    org.drain_events()
    assert not is_idle(org, T0 + 59 * DAY, 60)
    assert not sweep_idle(org, T0 + 59 * DAY, 60)
    before = org.model_copy(deep=True)
    assert sweep_idle(org, T0 + 60 * DAY, 60) and org.idle
    assert not sweep_idle(org, T0 + 61 * DAY, 60)  # once
    assert [e.type for e in org.drain_events()] == ["BRANCH_IDLE"]
    assert {d.changes.get("idle_branches") for d in deltas(before, org)} == {1}
    assert note_activity(org, T0 + 61 * DAY, T0 + 61 * DAY) and not org.idle
    assert [e.type for e in org.drain_events()] == ["BRANCH_ACTIVE"]
    assert not sweep_idle(tree()["gb-g1"], T0 + 900 * DAY, 60)  # the chain is never idle


def test_unit_registration_with_commitments_and_services():
    reg = UnitRegistration.register(unit=unit(), community=N["m1"], commitments=["义诊", "义诊", "助老"],
                                    by=ADMIN_T1, now=T0)
    assert reg.id == "ur:u1:m1" and reg.commitments == ["义诊", "助老"]
    assert recount([reg])["m1"] == {"unit_registrations": 1}
    reg.record_service("社区义诊", T0, ADMIN_T1, T0 + DAY)
    assert recount([reg])["k"] == {"unit_registrations": 1, "unit_services": 1}
    with pytest.raises(BadInput, match="not ahead"):
        reg.record_service("明天的义诊", T0 + 3 * DAY, ADMIN_T1, T0 + DAY)
    with pytest.raises(BadInput, match="not a COMMUNITY"):
        UnitRegistration.register(unit=unit(), community=N["g1"], commitments=[], by=ADMIN_T1, now=T0)
    with pytest.raises(Forbidden):
        UnitRegistration.register(unit=unit(), community=N["m1"], commitments=[], by=ADMIN_T2, now=T0)
    with pytest.raises(Forbidden):
        reg.record_service("x", T0, OPERATOR_M1, T0)
    assert [e.type for e in reg.drain_events()] == ["UNIT_REGISTERED_WITH_COMMUNITY", "UNIT_SERVICE_RECORDED"]


# ---- 红色业委会 ---------------------------------------------------------------------------------
def committee(seats: int = 3, n: int = 4, **kw) -> OwnersCommittee:
    orgs = tree()
    cands = [NewCandidate(name=f"候选人{i}", member_id=f"p{i}" if i <= 2 else None, phone_enc=None) for i in range(1, n + 1)]
    c = OwnersCommittee.create(id="oc-1", community=N["m1"], estate="阳光小区", buildings=[N["b1"], N["b2"]],
                               filed_by=kw.pop("filed_by", orgs["cc-m1"]), filed_on=date(2026, 2, 20), seats=seats,
                               candidates=cands, by=kw.pop("by", ADMIN_T1), now=T0)
    return c


def qualify(c: OwnersCommittee, cid: str, member: bool) -> None:
    c.vet(cid, Q.NO_ARREARS, True, "", ADMIN_T1, T0)
    c.vet(cid, Q.RESIDENCY, True, "房产证", ADMIN_T1, T0)
    c.vet(cid, Q.PARTY_MEMBERSHIP, member, "", ADMIN_T1, T0, member_on_record=member)


def test_the_party_organisation_files_the_committee_and_proposes_its_structure():
    c = committee()
    assert c.status == "PROPOSED" and [x.id for x in c.candidates] == ["c1", "c2", "c3", "c4"]
    assert c.filing.org_id == "cc-m1" and c.building_ids == ["b1", "b2"]
    e = c.drain_events()[0]
    assert e.type == "OWNERS_COMMITTEE_CREATED" and e.data["candidates"] == 4
    assert "候选人1" not in str(e.data)  # no names on the bus
    assert committee(filed_by=tree()["twc-t1"]).filing.org_id == "twc-t1"  # the street's 党工委 may file too
    with pytest.raises(BadInput, match="may not file"):
        committee(filed_by=tree()["cc-m2"])
    with pytest.raises(BadInput, match="seats"):
        committee(seats=2)
    with pytest.raises(BadInput, match="buildings of the community"):
        OwnersCommittee.create(id="x", community=N["m1"], estate="x", buildings=[N["b3"]], filed_by=tree()["cc-m1"],
                               filed_on=date(2026, 2, 1), seats=3, candidates=[], by=ADMIN_T1, now=T0)
    with pytest.raises(Forbidden):
        committee(by=ADMIN_T2)
    with pytest.raises(Forbidden):
        committee(by=OPERATOR_M1)


def test_vetting_records_each_check_with_who_and_party_membership_needs_a_member_on_record():
    c = committee()
    c.vet("c1", Q.NO_ARREARS, True, "已缴清", ADMIN_T1, T0)
    check = c.candidate("c1").checks[Q.NO_ARREARS]
    assert check.passed and check.checked_by == "admin-t1" and check.note == "已缴清"
    assert c.candidate("c1").missing() == ["RESIDENCY", "PARTY_MEMBERSHIP"]
    with pytest.raises(BadInput, match="member on record"):
        c.vet("c3", Q.PARTY_MEMBERSHIP, True, "", ADMIN_T1, T0, member_on_record=False)
    c.vet("c3", Q.PARTY_MEMBERSHIP, False, "群众", ADMIN_T1, T0, member_on_record=False)  # recorded: not a member
    qualify(c, "c1", True)
    assert c.candidate("c1").qualified and c.candidate("c1").party_member
    vetted = [e for e in c.drain_events() if e.type == "COMMITTEE_CANDIDATE_VETTED"]
    assert vetted[-1].data == {"candidateId": "c1", "check": "PARTY_MEMBERSHIP", "passed": True, "qualified": True}


def test_only_qualified_candidates_are_elected_and_no_more_than_the_seats():
    c = committee(seats=3)
    qualify(c, "c1", True)
    qualify(c, "c3", False)
    c.vet("c2", Q.NO_ARREARS, False, "欠费", ADMIN_T1, T0)
    with pytest.raises(BadInput, match="c2 lacks NO_ARREARS"):
        c.elect(["c1", "c2"], TERM, ADMIN_T1, T0)
    with pytest.raises(BadInput, match="4 elected for 3 seats"):
        c.elect(["c1", "c2", "c3", "c4"], TERM, ADMIN_T1, T0)
    with pytest.raises(BadInput, match="termEnd"):
        c.elect(["c1"], Term(start=TERM.start), ADMIN_T1, T0)
    assert c.status == "PROPOSED"
    c.elect(["c1", "c3"], TERM, ADMIN_T1, T0)
    assert c.status == "IN_OFFICE" and c.red and c.party_seats == 1 and c.party_share == 0.5
    with pytest.raises(Conflict):
        c.vet("c4", Q.RESIDENCY, True, "", ADMIN_T1, T0)
    assert recount([c])["m1"] == {"owners_committees": 1, "red_owners_committees": 1, "owners_committee_seats": 2,
                                  "owners_committee_party_seats": 1}
    elected = [e for e in c.drain_events() if e.type == "COMMITTEE_ELECTED"][0]
    assert elected.data["red"] is True and elected.data["partySeats"] == 1
    before = c.model_copy(deep=True)
    c.end_term(date(2030, 1, 1), ADMIN_T1, T0)
    assert c.status == "TERM_ENDED" and not c.red
    assert recount([c]) == {}
    assert {k: v for d in deltas(before, c) for k, v in d.changes.items()}["red_owners_committees"] == -1


def test_a_committee_without_party_members_is_not_red():
    c = committee()
    qualify(c, "c3", False)
    qualify(c, "c4", False)
    c.elect(["c3", "c4"], TERM, ADMIN_T1, T0)
    assert not c.red and c.party_share == 0.0
    assert recount([c])["m1"] == {"owners_committees": 1, "owners_committee_seats": 2}


# ---- 居委会 and 三方联动 -------------------------------------------------------------------------
def residents() -> ResidentsCommittee:
    rc = ResidentsCommittee.open(N["m1"], "阳光社区居委会", TERM, T0)
    rc.record("阳光社区居委会", [("王主任", "主任"), ("李委员", "委员")], TERM, ADMIN_T1, T0)
    return rc


def test_a_residents_committee_per_community_recorded_again_replaces_it():
    rc = residents()
    assert rc.id == "rc:m1" and rc.version == 1 and len(rc.members) == 2
    rc.record("阳光社区居委会", [("王主任", "主任")], TERM, ADMIN_T1, T0)
    assert rc.version == 2 and len(rc.members) == 1
    events = rc.drain_events()
    assert events[-1].data["members"] == 1 and "王主任" not in str(events[-1].data)
    with pytest.raises(BadInput):
        rc.record("x", [], TERM, ADMIN_T1, T0)
    with pytest.raises(Forbidden):
        rc.record("x", [("a", "b")], TERM, OPERATOR_M1, T0)


def meeting(items=(), attendees=None, **kw) -> ThreePartyMeeting:
    c = committee()
    qualify(c, "c1", True)
    c.elect(["c1"], TERM, ADMIN_T1, T0)
    sides = attendees if attendees is not None else [("王主任", MeetingSide.RESIDENTS_COMMITTEE),
                                                      ("物业经理", MeetingSide.PROPERTY_COMPANY),
                                                      ("业委会主任", MeetingSide.OWNERS_COMMITTEE)]
    return ThreePartyMeeting.record(id="tp-1", owners_committee=c, residents_committee=residents(),
                                    property_company=kw.pop("company", unit(UnitKind.PROPERTY_COMPANY, "u2", "m1")),
                                    held_at=T0, attendees=sides, minutes="议定：地库漏水报修；加装电梯提议",
                                    items=list(items), by=kw.pop("by", OPERATOR_M1), now=T0 + DAY)


def test_a_three_party_meeting_with_items_that_become_a_case_or_a_proposal():
    m = meeting([NewItem(title="地库漏水", case=CaseAsk(category_code="OTHER", grid=N["g1"])),
                 NewItem(title="加装电梯", proposal=True), NewItem(title="通报")])
    assert m.estate == "阳光小区" and m.community_id == "m1"
    assert m.items[0].case_request["idempotencyKey"] == "three-party:tp-1:1"
    assert m.items[0].case_request["channel"] == "JOINT_MEETING" and m.items[0].awaits_case
    assert m.items[1].proposal_requested and m.items[2].case_request is None
    types = [e.type for e in m.drain_events()]
    assert types == ["THREE_PARTY_MEETING_RECORDED", "THREE_PARTY_CASE_REQUESTED", "THREE_PARTY_PROPOSAL_REQUESTED"]
    assert m.case_report("1", "三方联动")["source"] == "three-party:tp-1:1"
    assert m.link_case("1", "case-1", T0) and not m.link_case("1", "case-1", T0)
    with pytest.raises(Conflict):
        m.link_case("1", "case-2", T0)
    assert recount([m])["m1"] == {"three_party_meetings": 1}


def test_a_three_party_meeting_refuses_what_breaks_the_rules():
    with pytest.raises(BadInput, match="each attend"):
        meeting(attendees=[("王主任", MeetingSide.RESIDENTS_COMMITTEE)])
    with pytest.raises(BadInput, match="not a grid of community"):
        meeting([NewItem(title="x", case=CaseAsk(category_code="OTHER", grid=N["g3"]))])
    with pytest.raises(BadInput, match="not both"):
        meeting([NewItem(title="x", proposal=True, case=CaseAsk(category_code="OTHER", grid=N["g1"]))])
    with pytest.raises(BadInput, match="PROPERTY_COMPANY"):
        meeting(company=unit(UnitKind.ENTERPRISE))
    with pytest.raises(Forbidden):
        meeting(by=VOLUNTEER)


def test_who_may_do_what():
    c = committee()
    for p in (OPERATOR_M1, VOLUNTEER):
        with pytest.raises(Forbidden):
            authorize(p, Action.MANAGE_COMMITTEE, c)
    authorize(OPERATOR_M1, Action.RECORD_THREE_PARTY, c)
    authorize(ADMIN_K, Action.MANAGE_COMMITTEE, c)


def test_an_estates_linkage_names_its_owners_committee_record_of_the_same_estate():
    from services.organizations.domain import Linkage

    orgs, c = tree(), committee()
    args = dict(committee=orgs["cc-m1"], property_company=unit(UnitKind.PROPERTY_COMPANY, "u2", "m1"),
                owners_committee=unit(UnitKind.OWNERS_COMMITTEE, "u3", "m1"), by=ADMIN_T1, now=T0)
    link = Linkage.record(id="lk-1", estate="阳光小区", owners_committee_record=c, **args)
    assert link.owners_committee_record_id == "oc-1"
    assert link.pending_events[0].data["ownersCommitteeRecordId"] == "oc-1"
    assert Linkage.record(id="lk-2", estate="阳光小区", **args).owners_committee_record_id is None
    with pytest.raises(BadInput, match="not of this estate"):
        Linkage.record(id="lk-3", estate="别的小区", owners_committee_record=c, **args)
