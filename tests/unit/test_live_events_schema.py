"""The live feed's allowlist against an example of every event type each service emits, its cursors,
and its argument rules."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.schema.live_events import (
    ALLOWED,
    allowed_spec,
    chosen_services,
    chosen_types,
    decode_cursor,
    encode_cursor,
    filters_for,
    public_data,
)
from services.cases.domain import events as case_events
from services.organizations.domain.events import EVENT_TYPES as ORG_TYPES
from services.volunteers.domain.events import EVENT_TYPES as VOLUNTEER_TYPES
from shared.auth import Principal, Role
from shared.errors import BadInput, Forbidden

# Personal data planted in the examples: none of it may leave.
PHONE, ID_NUMBER, PERSON, SUB = "13812345678", "420902198504021234", "张三丰", "wx-openid-zhangsanfeng"
FREE_TEXT = "住3栋502的王阿姨"
LNG, LAT = 113.00123, 30.00456
PLANTED = [PHONE, ID_NUMBER, PERSON, SUB, FREE_TEXT, str(LNG), str(LAT)]

AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
PATH = ("city", "county-a", "town-a", "comm-a", "grid-a1")
ASSIGNEE = {"kind": "GRID_WORKER", "id": "gw-a1", "name": PERSON}


def case_examples() -> dict[str, dict]:
    """One event of each class, built by the class itself and put on the wire as the service does."""
    extra = {
        "REPORTED": dict(title="楼下垃圾堆放三天未清运", category_code="ENV_GARBAGE", kind="COMPLAINT",
                         channel="MINI_PROGRAM", region_id="grid-a1", location={"lng": LNG, "lat": LAT}, due_at=AT),
        "ACCEPTED": dict(due_at=AT), "ASSIGNED": dict(assignee=ASSIGNEE), "STARTED": dict(assignee=ASSIGNEE),
        "RESOLVED": dict(resolution=FREE_TEXT, on_time=True),
        "RATED": dict(score=2, reporter_sub=SUB, comment=FREE_TEXT), "CLOSED": dict(rating=5),
        "REOPENED": dict(due_at=AT), "REJECTED": dict(reason=FREE_TEXT),
        "ESCALATED": dict(from_level="GRID", reason=FREE_TEXT, due_at=AT, by_sweeper=False),
        "OVERDUE": dict(due_at=AT), "RETURNED": dict(reason=FREE_TEXT, returned_by=ASSIGNEE),
        "MERGED": dict(from_id="c-2", into_id="c-1"), "CONTACT_REVEALED": dict(reporter_index=0, reason=FREE_TEXT),
        "DELIBERATED": dict(meeting_id="jm-1", resolution_id="r1"),
        # clocks
        "DUE_SOON": dict(due_at=AT),
        # follow-up
        "CASE_VERIFIED": dict(passed=False, rework_count=1, attachment_ids=["att-1"], due_at=AT),
        "CASE_RETURN_VISITED": dict(visit_id="rv-1", reached=True, satisfaction="SATISFIED", channel="HOTLINE"),
        "CASE_RETURN_VISIT_OVERDUE": dict(return_visit_due_at=AT),
        "CASE_CORRECTED": dict(reason=FREE_TEXT, from_category="OTHER", to_category="ENV_GARBAGE",
                               from_region_id="grid-a2", to_region_id="grid-a1", from_region_path=PATH,
                               point_changed=True, from_level="GRID"),
        "CASE_COMMENTED": dict(comment_id="cm-1", visibility="INTERNAL", author_role="operator"),
        # departments
        "CASE_DISPATCHED": dict(lead="county-a:HOUSING", cooperating=["county-a:URBAN_MGMT"], due_at=AT),
        "CASE_REPLIED": dict(dept="county-a:URBAN_MGMT", role="COOPERATING", attachment_count=1),
        "CASE_REQUEST_RAISED": dict(request_id="c-1:r1", kind="EXTENSION", dept="county-a:HOUSING", until=AT),
        "CASE_REQUEST_DECIDED": dict(request_id="c-1:r1", kind="RETURN", approved=False, dept="county-a:HOUSING"),
        "CASE_SUSPENDED": dict(request_id="c-1:r2"), "CASE_RESUMED": dict(paused_s=3600, due_at=AT),
        "CASE_URGED": dict(urge_count=2, by_region="city", lead="county-a:HOUSING"),
        "ATTACHMENT_ADDED": dict(attachment_id="att-1", kind="PHOTO", stage="REPORT", size=1000),
    }
    assert set(extra) == set(case_events.EVENT_TYPES), "an example for every case event type"
    out = {}
    for name, cls in case_events.EVENT_TYPES.items():
        e = cls(case_id="c-1", version=3, at=AT, actor=SUB, status="ACCEPTED", level="GRID", region_path=PATH,
                note=f"{PERSON} {PHONE} {FREE_TEXT}", counters={"open": 1}, **extra[name])
        data = e.to_wire() | {"delta": {"open": 1, "total": 1}}
        data.pop("counters", None)  # as CaseCommands.record does
        out[name] = data
    out["CATALOGUE_CHANGED"] = {"version": 4}
    out["WORK_CALENDAR_CHANGED"] = {"year": 2027, "version": 2, "source": "EDITED", "holidays": 33, "workdays": 6}
    return out


REGION = {"id": "bldg-1", "name": "3号楼", "level": "BUILDING", "code": None, "parentId": "grid-a1",
          "path": [*PATH, "bldg-1"], "ancestors": [{"id": "city", "name": "示例市", "level": "CITY", "code": "42"}],
          "version": 2, "partial": False, "boundary": {"type": "Polygon", "coordinates": [[[LNG, LAT]]]},
          "attrs": {"contactPhone": PHONE, "manager": PERSON}, "createdAt": "2025-03-01T08:00:00+00:00",
          "updatedAt": "2025-03-01T08:00:00+00:00"}
WORKER = {"worker": {"id": "w-1", "sub": SUB, "name": PERSON, "role": "GRID_WORKER", "gridId": "grid-a1"}}
CADRE = {"assignment": {"id": "ca-1", "sub": SUB, "regionId": "grid-a1", "level": "GRID", "role": "COMMUNITY_CADRE",
                        "active": True}}
ROLE = {"assignment": {"subKey": "sk-AbCdEfGhIjKlMnOpQrStUvWx", "role": "operator", "regionId": "town-a", "dept": None, "member": None},
        "previousRole": "grid_worker"}
MEMBER_LINK = {"memberId": "pm-1", "communityId": "comm-a", "householdIds": ["hh-1", "hh-2"], "linkedCount": 2}
GRID_EXAMPLES = {
    "REGION_CREATED": {"region": REGION}, "REGION_UPDATED": {"region": REGION, "changed": ["attrs", "name"]},
    "REGION_MOVED": {"region": REGION, "oldPath": list(PATH), "newPath": list(PATH)},
    "BOUNDARY_SET": {"region": REGION},
    "WORKER_REGISTERED": WORKER, "WORKER_ASSIGNED": WORKER, "WORKER_UNASSIGNED": WORKER,
    # links:
    "CADRE_ASSIGNED": CADRE, "CADRE_UNASSIGNED": CADRE, "MEMBER_LINKED": MEMBER_LINK, "MEMBER_UNLINKED": MEMBER_LINK,
    "ROLE_ASSIGNED": ROLE, "ROLE_REVOKED": ROLE,
}


def org(aggregate: str, **data) -> dict:
    return {"aggregate": aggregate, "aggregateId": f"{aggregate}-1", **data}


TRANSFER = dict(memberId="m-1", fromOrgId="o-1", toOrgId="o-2", toPath=list(PATH))
ORG_EXAMPLES = {
    "ORGANIZATION_CREATED": org("organization", name="第一网格党支部", orgType="GRID_BRANCH", anchorId="grid-a1",
                                parentId="o-0", householdMemberId=None),
    "ORGANIZATION_UPDATED": org("organization", name="第一网格党支部"),
    "POSITION_APPOINTED": org("organization", holder_name=PERSON, member_id="m-1", unit_id=None, role="SECRETARY",
                              term={"start": "2025-01-01", "end": None}),
    "POSITION_ENDED": org("organization", role="SECRETARY", holderName=PERSON, end="2025-06-30"),
    "UNIT_JOINED_COMMITTEE": org("organization", unitId="u-1"),
    "UNIT_LEFT_COMMITTEE": org("organization", unitId="u-1"),
    "ORGANIZATION_WEAK": org("organization", periodDays=90, lastLifeAt=None),
    "ORGANIZATION_RECOVERED": org("organization"),
    "LIFE_RECORDED": org("organization", recordId="l-1", kind="BRANCH_MEETING", heldAt=AT.isoformat(), attendance=12),
    "MEMBER_REGISTERED": org("member", orgId="o-1", category="IN_SERVICE", homeBuildingId="bldg-1"),
    "MEMBER_UPDATED": org("member", category="RETIRED", homeBuildingId="bldg-1", phone="changed"),
    "MEMBER_CONTACT_REVEALED": org("member", reason=FREE_TEXT),
    "TRANSFER_REQUESTED": org("transfer", **TRANSFER, reason=FREE_TEXT, deadlineAt=AT.isoformat()),
    "TRANSFER_APPROVED": org("transfer", **TRANSFER),
    "TRANSFER_REJECTED": org("transfer", **TRANSFER, reason=FREE_TEXT),
    "TRANSFER_CANCELLED": org("transfer", **TRANSFER, reason=FREE_TEXT),
    "TRANSFER_OVERDUE": org("transfer", **TRANSFER, deadlineAt=AT.isoformat()),
    "DUAL_REGISTERED": org("member", memberOrgId="o-9", communityId="comm-a", orgPath=list(PATH)),
    "DUAL_REGISTRATION_ENDED": org("member", communityId="comm-a", reason=FREE_TEXT),
    "UNIT_TWINNED": org("twin", branchId="o-9", branchPath=list(PATH), communityId="comm-a"),
    "FEEDBACK_RECORDED": org("feedback", memberId="m-1", quarter="2025Q1", sourceEventId="e-1", hours=2.5,
                             services=1, totalHours=7.5, totalServices=3),
    "UNIT_REGISTERED": org("unit", name="示例供电公司", kind="STATE_OWNED"),
    "UNIT_UPDATED": org("unit", contacts=2),
    "LINKAGE_RECORDED": org("linkage", estate="阳光小区", committeeId="o-1", propertyCompanyId="u-2",
                            ownersCommitteeId="u-3"),
    "MEETING_SCHEDULED": org("meeting", committeeId="o-1", scheduledAt=AT.isoformat(), chairUnitId="u-1",
                             skippedUnits=["u-2"]),
    "AGENDA_ITEM_ADDED": org("meeting", id="i-1", source="CASE_HOTSPOT", ref=f"{PERSON} {PHONE}", title="加装电梯",
                             caseIds=["c-1"], hotspot={"gridId": "grid-a1", "categoryCode": "ENV_GARBAGE",
                                                       "since": AT.isoformat(), "until": AT.isoformat(), "count": 3}),
    "MEETING_HELD": org("meeting", units=["u-1", "u-2"], members=5),
    "RESOLUTION_ADDED": org("meeting", resolutionId="r-1", text=FREE_TEXT, items=["i-1"], agendaItemIds=["1"],
                            caseIds=["c-1"], communityId="comm-a"),
    "CASE_REQUESTED": org("meeting", itemId="i-1", title="加装电梯", description=FREE_TEXT, categoryCode="OTHER",
                          regionId="grid-a1", channel="JOINT_MEETING", idempotencyKey="meeting:1:i-1"),
    "CASE_LINKED": org("meeting", itemId="i-1", caseId="c-1", status="REPORTED"),
    "CASE_STATUS_UPDATED": org("meeting", itemId="i-1", caseId="c-1", status="RESOLVED"),
    "NEED_POSTED": org("need", title="老人助餐"),
    "RESOURCE_OFFERED": org("resource", unitId="u-1", title="食堂"),
    "PROJECT_PROPOSED": org("project", needId="n-1", resourceId="r-1", title="助餐点"),
    "PROJECT_STATUS_CHANGED": org("project", fromStatus="PROPOSED", status="AGREED", note=FREE_TEXT),
    "MEETING_ATTACHMENT_ADDED": org("meeting", attachment_id="att-1", attachment_kind="PHOTO", stage=None, size=1000),
    # deliberation
    "PROPOSAL_SUBMITTED": org("proposal", communityId="comm-a", proposalSource="RESIDENT", title="修缮3号院"),
    "PROPOSAL_SUPPORTED": org("proposal", supportCount=3),
    "PROPOSAL_ADVANCED": org("proposal", fromStage="NOTICED", toStage="IMPLEMENTING", noticeId=None, caseIds=["c-1"],
                             orderIds=[], projectIds=["pj-1"], caseRequested=True),
    "PROPOSAL_VOTED": org("proposal", fromStage="DISCUSSED", toStage="DECIDED", passed=True, roll=9, attended=7,
                          votesFor=6, votesAgainst=1, abstentions=0),
    "PROPOSAL_REJECTED": org("proposal", fromStage="COLLECTED", byVote=False),
    "NOTICE_PUBLISHED": org("notice", proposalId="pp-1", noticeKind="DECISION", endsAt=AT.isoformat()),
    "NOTICE_OBJECTED": org("notice", proposalId="pp-1", objectionId="o1", objections=1),
    "PARTICIPATION_RECORDED": org("proposal", proposalId="pp-1", act="SUPPORTED", ruleCode="DELIBERATION"),
    "OBJECTION_ANSWERED": org("notice", proposalId="pp-1", objectionIds=["o1"]),
    "RESULT_PUBLISHED": org("proposal", fromStage="IMPLEMENTING", noticeId="nt-2", caseIds=["c-1"]),
    "PROPOSAL_CASE_LINKED": org("proposal", caseId="c-1"),
    "DELIBERATION_RULE_SET": org("deliberation_rule", quorum="2/3", majority="1/2", noticePeriodS=604800),
    # weak organisations
    "WEAK_ORGANIZATION_FLAGGED": org("weak_standing", organizationId="o-1", score=70, threshold=50,
                                     signals=["LIFE_RECENCY"]),
    "WEAK_ORGANIZATION_CLEARED": org("weak_standing", organizationId="o-1", score=0, threshold=50, clearedBy="SCORE"),
    "WEAK_SETTINGS_CHANGED": org("weak_settings", threshold=50, windowDays=90, minCases=5, settingsVersion=1,
                                 rules=[{"signal": "LIFE_RECENCY", "threshold": 90, "points": 50}]),
    "RECTIFICATION_STARTED": org("rectification", organizationId="o-1", tasks=2, reviewAt=AT.isoformat(), score=70),
    "RECTIFICATION_TASK_COMPLETED": org("rectification", organizationId="o-1", taskId="t1", late=False, open=1),
    "RECTIFICATION_TASK_OVERDUE": org("rectification", organizationId="o-1", taskId="t1", dueAt=AT.isoformat()),
    "RECTIFICATION_REVIEWED": org("rectification", organizationId="o-1", passed=True, score=0, threshold=50),
    # funds and service lists
    "FUND_ACCOUNT_CREATED": org("fund_account", communityId="comm-a", year=2026, granted=200000.0),
    "SPENDING_RECORDED": org("fund_entry", accountId="fa:comm-a:2026", year=2026, amount=6000.0, purpose="修缮院落",
                             targetKind="PROJECT", targetId="pj-1", status="COMMITTED"),
    "SPENDING_APPROVED": org("fund_entry", accountId="fa:comm-a:2026", amount=6000.0),
    "SPENDING_REJECTED": org("fund_entry", accountId="fa:comm-a:2026", amount=6000.0),
    "SERVICE_LIST_ENTRY_ADDED": org("service_entry", communityId="comm-a", kind="CARE", title="助餐",
                                    providerKind="UNIT", providerId="u-1"),
    "SERVICE_LIST_ENTRY_UPDATED": org("service_entry", communityId="comm-a", kind="CARE", title="助餐",
                                      providerKind="UNIT", providerId="u-1", changed=["title"]),
    "SERVICE_LIST_ENTRY_RETIRED": org("service_entry", communityId="comm-a", kind="CARE"),
    "NEED_STATUS_CHANGED": org("need", fromStatus="OPEN", status="MATCHED", note=FREE_TEXT),
}
# committees: 红色业委会, 居委会, 三方联动, non-territorial branches, 单位报到
ORG_EXAMPLES["ORGANIZATION_CREATED"] = {**ORG_EXAMPLES["ORGANIZATION_CREATED"], "unitId": None}
ORG_EXAMPLES.update({
    "OWNERS_COMMITTEE_CREATED": org("owners_committee", communityId="comm-a", estate="阳光小区", buildingIds=["b-1"],
                                    filedByOrgId="o-1", filedOn="2025-03-01", seats=5, candidates=3),
    "COMMITTEE_CANDIDATE_ADDED": org("owners_committee", candidateId="c4"),
    "COMMITTEE_CANDIDATE_VETTED": org("owners_committee", candidateId="c1", check="NO_ARREARS", passed=True,
                                      qualified=False),
    "COMMITTEE_ELECTED": org("owners_committee", seatsHeld=5, partySeats=2, red=True, termStart="2025-03-01",
                             termEnd="2030-02-28"),
    "COMMITTEE_TERM_ENDED": org("owners_committee", end="2030-02-28"),
    "RESIDENTS_COMMITTEE_RECORDED": org("residents_committee", communityId="comm-a", name="阳光社区居委会", members=7,
                                        termStart="2025-01-01", termEnd=None),
    "THREE_PARTY_MEETING_RECORDED": org("three_party_meeting", communityId="comm-a", estate="阳光小区",
                                        ownersCommitteeId="oc-1", residentsCommitteeId="rc:comm-a",
                                        propertyCompanyId="u-2", heldAt=AT.isoformat(), attendees=6, items=2),
    "THREE_PARTY_CASE_REQUESTED": org("three_party_meeting", itemId="1", title="地库漏水", description=FREE_TEXT,
                                      categoryCode="OTHER", regionId="grid-a1", channel="JOINT_MEETING",
                                      idempotencyKey="three-party:tp-1:1", buildingId="bldg-a1-1"),
    "THREE_PARTY_CASE_LINKED": org("three_party_meeting", itemId="1", caseId="c-1", status="REPORTED"),
    "THREE_PARTY_PROPOSAL_REQUESTED": org("three_party_meeting", itemId="2", title="加装电梯", communityId="comm-a"),
    "UNIT_REGISTERED_WITH_COMMUNITY": org("unit_registration", unitId="u-1", communityId="comm-a", commitments=3),
    "UNIT_SERVICE_RECORDED": org("unit_registration", unitId="u-1", communityId="comm-a", what="义诊",
                                 deliveredAt=AT.isoformat(), serviceCount=1),
    "BRANCH_IDLE": org("organization", periodDays=60, lastActivityAt=AT.isoformat()),
    "BRANCH_ACTIVE": org("organization", lastActivityAt=AT.isoformat()),
})


def vol(kind: str, **data) -> dict:
    return {"kind": kind, **data}


LEDGER = dict(volunteerId="v-1", delta=2, sourceKind="ORDER", sourceId="so-1", expiresAt=None)
VOLUNTEER_EXAMPLES = {
    "VOLUNTEER_REGISTERED": vol("RESIDENT", sub=SUB, member_id=None, skills=[FREE_TEXT]),
    "VOLUNTEER_UPDATED": vol("volunteer", skills=[FREE_TEXT], availability=[FREE_TEXT]),
    "TEAM_CREATED": vol("team", name="银发服务队", leader_id="v-1"),
    "TEAM_MEMBER_ADDED": vol("team", volunteer_id="v-2"),
    "TEAM_MEMBER_REMOVED": vol("team", volunteer_id="v-2"),
    "POST_CREATED": vol("post", title="楼栋长", post_type="BUILDING_LEADER", capacity=2),
    "POST_CLOSED": vol("post", released=["v-1"]),
    "POST_CLAIMED": vol("post", volunteer_id="v-1", member_id="m-1", claimed_count=1),
    "POST_RELEASED": vol("post", volunteer_id="v-1", claimed_count=0),
    "ORDER_PLACED": vol("order", category="助老", wished_at=None),
    "ORDER_APPROVED": vol("order"),
    "ORDER_REJECTED": vol("order", reason=FREE_TEXT),
    "ORDER_DISPATCHED": vol("order", target={"kind": "TEAM", "id": "t-1", "post_type": None}, previous_taker=None),
    "ORDER_TAKEN": vol("order", volunteer_id="v-1", grabbed=True),
    "ORDER_STARTED": vol("order", volunteer_id="v-1"),
    "ORDER_COMPLETED": vol("order", volunteer_id="v-1", hours=2.5),
    "ORDER_RATED": vol("order", score=5, volunteer_id="v-1"),
    "ORDER_CANCELLED": vol("order", reason=FREE_TEXT, volunteer_id=None),
    "ORDER_ATTACHMENT_ADDED": vol("order", attachment_id="att-1", attachment_kind="PHOTO", stage=None, size=1000),
    "ACTIVITY_ATTACHMENT_ADDED": vol("activity", attachment_id="att-1", attachment_kind="DOCUMENT", stage=None, size=10),
    "TASK_ASSIGNED": vol("task", case_id="c-1", volunteer_id="v-1"),
    "TASK_RESOLVED": vol("task", case_id="c-1", volunteer_id="v-1", hours=1.0),
    "ACTIVITY_CREATED": vol("activity", title="清洁家园", capacity=20, starts_at=AT.isoformat(), ends_at=AT.isoformat()),
    "ACTIVITY_SIGNED_UP": vol("activity", volunteer_id="v-1", signed_count=1),
    "ACTIVITY_SIGNUP_CANCELLED": vol("activity", volunteer_id="v-1", signed_count=0),
    "ACTIVITY_CHECKED_IN": vol("activity", volunteer_id="v-1", method="CODE"),
    "ACTIVITY_CHECKED_OUT": vol("activity", volunteer_id="v-1", method="CODE", hours=2.0, backfilled=False),
    "HOURS_BACKFILLED": vol("activity", volunteer_id="v-1", hours=2.0, reason=FREE_TEXT, backfilled=True),
    "POINTS_AWARDED": vol("ledger", **LEDGER),
    "POINTS_REDEEMED": vol("ledger", **LEDGER, itemCode="SOAP"),
    "POINTS_EXPIRED": vol("ledger", **LEDGER),
    "QUARTERLY_FEEDBACK": vol("feedback", member_id="m-1", org_id="o-1", work_unit_id=None, volunteer_id="v-1",
                              quarter="2025Q1", hours=3.0, hours_backfilled=0.0, orders=1, activities=1, cases=0,
                              feedbackVersion=2),
    # residents' points
    "RESIDENT_POINTS_AWARDED": vol("ledger", accountId="ra-1", delta=5, sourceKind="RULE", ruleCode="DELIBERATION",
                                   expiresAt=None, firstHere=True),
    "RESIDENT_POINTS_REDEEMED": vol("ledger", accountId="ra-1", delta=-2, sourceKind="REDEMPTION", itemCode="SOAP"),
    "RESIDENT_POINTS_EXPIRED": vol("ledger", accountId="ra-1", delta=-1, sourceKind="EXPIRY"),
    "RESIDENT_POINTS_RULES_SET": vol("rules", codes=["DELIBERATION"], tableVersion=2),
}


def grid_event_types() -> set[str]:
    """What services/grids/handlers/ emits: the names in its `region_event(`/`worker_event(` calls."""
    handlers = Path(__file__).parents[2] / "services" / "grids" / "handlers"
    source = "\n".join(f.read_text() for f in sorted(handlers.glob("*.py")))
    return {name for line in source.splitlines() if "_event(p, " in line for name in re.findall(r'"([A-Z_]+)"', line)}


EXAMPLES = {"cases": case_examples(), "grids": GRID_EXAMPLES, "organizations": ORG_EXAMPLES,
            "volunteers": VOLUNTEER_EXAMPLES}
ALL = [(s, t) for s, by_type in EXAMPLES.items() for t in by_type]


def test_every_event_type_of_every_service_has_an_example_and_an_allowlist():
    emitted = {"cases": set(case_events.EVENT_TYPES) | {"CATALOGUE_CHANGED", "WORK_CALENDAR_CHANGED"}, "grids": grid_event_types(),
               "organizations": set(ORG_TYPES), "volunteers": set(VOLUNTEER_TYPES)}
    assert len(emitted["grids"]) == 13  # links: 4 of them; sign-in: 2
    for service, types in emitted.items():
        assert set(EXAMPLES[service]) == types, service
        assert set(ALLOWED[service]) == types, service


@pytest.mark.parametrize(("service", "event_type"), ALL)
def test_no_personal_data_leaves(service, event_type):
    out = public_data(service, event_type, EXAMPLES[service][event_type])
    text = json.dumps(out, ensure_ascii=False)
    for value in PLANTED:
        assert value not in text, (service, event_type, value, out)
    assert not re.search(r"\d{11}", text), out  # nothing that looks like a phone or an ID number
    forbidden = re.compile(r"phone|idnumber|id_number|reporter_sub|holder|^sub$|comment|reason|note|description|"
                           r"^text$|location|attrs|boundary|^ref$|skills|availability|homebuilding", re.I)

    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)

    assert not [k for k in keys(out) if forbidden.search(k)], out


def test_case_event_fields_are_each_kept_or_dropped_on_purpose():
    """A new field on a case event must be put on the allowlist or here."""
    dropped = {"actor", "note", "counters", "location", "resolution", "reporter_sub", "comment", "reason"}
    dropped |= {"comment_id", "from_region_path"}  # follow-up: the feed has the case's region_path and no comments
    dropped |= {"from_building_id"}  # building: as from_region_path
    for name, cls in case_events.EVENT_TYPES.items():
        spec = allowed_spec("cases", name)
        unclassified = set(cls.model_fields) - set(spec) - dropped
        assert not unclassified, (name, unclassified)


def test_what_the_feed_keeps():
    reported = public_data("cases", "REPORTED", EXAMPLES["cases"]["REPORTED"])
    assert reported == {"type": "REPORTED", "case_id": "c-1", "version": 3, "at": "2025-03-01T08:00:00Z",
                        "status": "ACCEPTED", "level": "GRID", "region_path": list(PATH), "building_id": None,
                        "delta": {"open": 1, "total": 1}, "title": "楼下垃圾堆放三天未清运",
                        "category_code": "ENV_GARBAGE", "kind": "COMPLAINT", "channel": "MINI_PROGRAM",
                        "region_id": "grid-a1", "due_at": "2025-03-01T08:00:00Z"}
    assert public_data("cases", "ASSIGNED", EXAMPLES["cases"]["ASSIGNED"])["assignee"] == {"kind": "GRID_WORKER",
                                                                                            "id": "gw-a1"}
    region = public_data("grids", "REGION_CREATED", GRID_EXAMPLES["REGION_CREATED"])["region"]
    assert region["name"] == "3号楼" and region["ancestors"] == [{"id": "city", "name": "示例市", "level": "CITY",
                                                                  "code": "42"}]
    assert public_data("grids", "WORKER_REGISTERED", WORKER) == {"worker": {"id": "w-1", "role": "GRID_WORKER",
                                                                            "gridId": "grid-a1"}}
    assert public_data("organizations", "MEMBER_REGISTERED", ORG_EXAMPLES["MEMBER_REGISTERED"]) == {
        "aggregate": "member", "aggregateId": "member-1", "orgId": "o-1", "category": "IN_SERVICE"}
    assert public_data("volunteers", "QUARTERLY_FEEDBACK", VOLUNTEER_EXAMPLES["QUARTERLY_FEEDBACK"])["hours"] == 3.0


def test_unknown_types_and_unexpected_shapes_keep_only_what_is_safe():
    assert public_data("organizations", "SOMETHING_NEW", org("member", phone=PHONE)) == {
        "aggregate": "member", "aggregateId": "member-1"}
    assert public_data("grids", "SOMETHING_NEW", {"worker": WORKER["worker"]}) == {}
    # an allowed key holding a map (or a map of non-numbers under COUNTS) is dropped
    assert public_data("cases", "MERGED", {"from_id": {"name": PERSON}, "delta": {"who": PERSON}}) == {}
    assert public_data(None, "X", None) == {}  # type: ignore[arg-type]


def test_cursors_round_trip_and_refuse_other_regions_and_tampering():
    cursor = encode_cursor("s3cret", "town-a", {"cases": 12, "grids": 3})
    assert decode_cursor("s3cret", "town-a", cursor) == {"cases": 12, "grids": 3}
    assert "=" not in cursor and "town-a" not in cursor.split(".")[1]
    with pytest.raises(BadInput, match="another region"):
        decode_cursor("s3cret", "comm-a", cursor)
    head, mac = cursor.split(".")
    forged = encode_cursor("s3cret", "town-a", {"cases": 2, "grids": 3}).split(".")[0] + "." + mac
    for bad in (forged, "garbage", "", cursor + "x", head, "a.b.c", "é.é"):
        with pytest.raises(BadInput, match="not a cursor"):
            decode_cursor("s3cret", "town-a", bad)
    with pytest.raises(BadInput, match="not a cursor"):
        decode_cursor("another secret", "town-a", cursor)


def test_services_types_and_filters():
    gw = Principal(sub="gw", role=Role.GRID_WORKER, region="grid-a1")
    op = Principal(sub="op", role=Role.OPERATOR, region="town-a")
    assert chosen_services(gw, None) == ["grids", "cases", "volunteers"]  # party records are not theirs
    assert chosen_services(op, None) == ["grids", "cases", "organizations", "volunteers"]
    assert chosen_services(op, ["volunteers", "cases", "cases"]) == ["cases", "volunteers"]
    with pytest.raises(Forbidden):
        chosen_services(gw, ["cases", "organizations"])
    for bad in (["parties"], []):
        with pytest.raises(BadInput):
            chosen_services(op, bad)
    assert chosen_types(None) is None and chosen_types(["REPORTED", "ACCEPTED", "REPORTED"]) == ["ACCEPTED", "REPORTED"]
    for bad in ([], ["*"], [">"], ["REPORTED.city"], ["reported"], [f"T{i}" for i in range(21)]):
        with pytest.raises(BadInput):
            chosen_types(bad)
    path = ["city", "county-a"]
    assert filters_for(path, "cases", None) == ["yiwang.evt.cases.*.city.county-a", "yiwang.evt.cases.*.city.county-a.>"]
    assert filters_for(path, "cases", ["ACCEPTED", "REPORTED"]) == [
        "yiwang.evt.cases.ACCEPTED.city.county-a", "yiwang.evt.cases.ACCEPTED.city.county-a.>",
        "yiwang.evt.cases.REPORTED.city.county-a", "yiwang.evt.cases.REPORTED.city.county-a.>"]


@pytest.mark.parametrize("executor_class", ["PerEventExecutor", "graphql-core's own"])
def test_each_subscription_event_collects_its_fields_afresh(executor_class):
    """A subscription runs every event on a copy of one executor; with graphql-core's own,
    each event leaves its collected fields in the shared memo for the life of the feed."""
    from graphql import build_schema, parse
    from graphql.execution import Executor, execute_subscription_event

    from gateway.schema import PerEventExecutor

    schema = build_schema("type Query { a: Int } type Subscription { e: E } type E { x: Int, y: [E] }")
    cls = PerEventExecutor if executor_class == "PerEventExecutor" else Executor
    executor = cls.build(schema, parse("subscription { e { x y { x } } }"))
    for i in range(5):
        event = executor.build_per_event_executor({"e": {"x": i, "y": [{"x": i}]}})
        assert execute_subscription_event(event).data == {"e": {"x": i, "y": [{"x": i}]}}
    kept = len(executor._relevant_sub_fields)
    assert kept == 0 if cls is PerEventExecutor else kept >= 5
