"""红色业委会, 三方联动 and non-territorial branches through the gateway: a community files, vets and elects
a red owners' committee; a three-party meeting's item becomes a case; an ENTERPRISE branch twins with
the community and its unit registers (单位报到); the county's figures; scope, masking and refusals."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import nats
import pytest

from tests.cases_gateway import eventually
from tests.e2e.test_bus_privacy import stream_messages
from tests.e2e.test_organizations import party_chain
from tests.org_helpers import start_org_stack

ADMIN = {"role": "admin", "region": "county-a", "sub": "admin-a"}
OC = """id estate status seats red partyShare partySeats termStart termEnd filedBy { name } community { id }
        buildings { id } candidates { id name phone idNumber qualified partyMember elected missing
        member { id } checks { check passed checkedBy note } } members { name } version"""


@pytest.fixture
async def county(stack):
    client, ids = await start_org_stack(stack)
    yield ids
    await client.close()


async def gql_error(stack, doc, variables=None, **who) -> str:
    body = await stack.gql(doc, variables, **who)
    return body["errors"][0]["extensions"]["code"]


async def a_member(stack, org_id, name, **who):
    return (await stack.ok("""mutation($i: RegisterPartyMemberInput!) { registerPartyMember(input: $i) { id } }""",
                           {"i": {"name": name, "gender": "FEMALE", "birthDate": "1980-01-01",
                                  "joinDate": "2005-07-01", "category": "IN_SERVICE", "organizationId": org_id,
                                  "homeBuildingId": "bldg-a1-1"}}, **who))["registerPartyMember"]["id"]


async def test_red_committee_three_party_meeting_and_its_case(county, stack):
    town, comm, grid, group = await party_chain(stack, **ADMIN)
    m1 = await a_member(stack, grid["id"], "张红", **ADMIN)
    create = """mutation($i: CreateOwnersCommitteeInput!) { createOwnersCommittee(input: $i) { %s } }""" % OC
    inp = {"communityId": "comm-a", "estate": "阳光小区", "buildingIds": ["bldg-a1-1", "bldg-a1-2"],
           "filedByOrgId": comm["id"], "filedOn": "2026-01-10", "seats": 3, "idempotencyKey": "e2e-oc",
           "candidates": [{"name": "张红", "memberId": m1, "phone": "13812345678", "idNumber": "420902198001011234"},
                          {"name": "钱多", "phone": "13900002222"}]}
    # Refusals first: a filer from outside the community, an operator, another county; nothing is created.
    assert await gql_error(stack, create, {"i": {**inp, "filedByOrgId": grid["id"], "idempotencyKey": None}},
                           **ADMIN) == "BAD_USER_INPUT"
    assert await gql_error(stack, create, {"i": inp}, role="operator", region="county-a") == "FORBIDDEN"
    assert await gql_error(stack, create, {"i": inp}, role="admin", region="county-b") == "FORBIDDEN"
    oc = (await stack.ok(create, {"i": inp}, **ADMIN))["createOwnersCommittee"]
    assert oc["status"] == "PROPOSED" and oc["filedBy"]["name"] == "示例社区党委" and len(oc["buildings"]) == 2
    c1, c2 = oc["candidates"]
    assert c1["phone"] == "138****5678" and c1["idNumber"] == "420***********1234" and c1["member"]["id"] == m1
    assert (await stack.ok(create, {"i": inp}, **ADMIN))["createOwnersCommittee"]["id"] == oc["id"]  # retry
    vet = """mutation($i: VetCommitteeCandidateInput!) { vetCommitteeCandidate(input: $i) { %s } }""" % OC
    for cid, member in (("c1", True), ("c2", False)):
        for check, passed in (("NO_ARREARS", True), ("RESIDENCY", True), ("PARTY_MEMBERSHIP", member)):
            done = (await stack.ok(vet, {"i": {"committeeId": oc["id"], "candidateId": cid, "check": check,
                                               "passed": passed, "note": "已核实"}}, **ADMIN))["vetCommitteeCandidate"]
    assert [c["qualified"] for c in done["candidates"]] == [True, True]
    assert done["candidates"][0]["checks"][0] == {"check": "NO_ARREARS", "passed": True, "checkedBy": "admin-a",
                                                  "note": "已核实"}
    assert await gql_error(stack, vet, {"i": {"committeeId": oc["id"], "candidateId": "c2",
                                              "check": "PARTY_MEMBERSHIP", "passed": True}}, **ADMIN) == "BAD_USER_INPUT"
    elect = """mutation($i: ElectOwnersCommitteeInput!) { electOwnersCommittee(input: $i) { %s } }""" % OC
    term = {"committeeId": oc["id"], "termStart": "2026-02-01", "termEnd": "2031-01-31"}
    assert await gql_error(stack, elect, {"i": {**term, "candidateIds": ["c1", "c2", "c9"]}},
                           **ADMIN) == "NOT_FOUND"
    elected = (await stack.ok(elect, {"i": {**term, "candidateIds": ["c1", "c2"]}}, **ADMIN))["electOwnersCommittee"]
    assert elected["status"] == "IN_OFFICE" and elected["red"] and elected["partyShare"] == 0.5
    assert [m["name"] for m in elected["members"]] == ["张红", "钱多"]
    # The 居委会 and the 物业, then the 三方联动 meeting: its first item becomes a case.
    await stack.ok("""mutation($i: RecordResidentsCommitteeInput!) { recordResidentsCommittee(input: $i) { id } }""",
                   {"i": {"communityId": "comm-a", "name": "示例社区居委会", "termStart": "2024-01-01",
                          "members": [{"name": "王主任", "role": "主任"}]}}, **ADMIN)
    rc = (await stack.ok('{ residentsCommittee(communityId: "comm-a") { name members { name role } } }',
                         role="operator", region="comm-a"))["residentsCommittee"]
    assert rc == {"name": "示例社区居委会", "members": [{"name": "王主任", "role": "主任"}]}
    pc = (await stack.ok("""mutation($i: RegisterCoBuildingUnitInput!) { registerCoBuildingUnit(input: $i) { id } }""",
                         {"i": {"name": "示例物业", "kind": "PROPERTY_COMPANY", "regionId": "comm-a"}},
                         **ADMIN))["registerCoBuildingUnit"]
    record = """mutation($i: ThreePartyMeetingInput!) { recordThreePartyMeeting(input: $i) { id estate
        attendees { side } ownersCommittee { red } propertyCompany { name }
        items { id title caseRequested proposalRequested proposalRef case { id channel status region { id } } } } }"""
    meeting_in = {"ownersCommitteeId": oc["id"], "propertyCompanyId": pc["id"], "minutes": "地库漏水，物业限期维修",
                  "heldAt": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                  "attendees": [{"name": "王主任", "side": "RESIDENTS_COMMITTEE"},
                                {"name": "物业经理", "side": "PROPERTY_COMPANY"},
                                {"name": "张红", "side": "OWNERS_COMMITTEE"}],
                  "items": [{"title": "地库漏水", "case": {"categoryCode": "FACILITY_STREETLIGHT", "gridId": "grid-a1"}},
                            {"title": "加装电梯", "proposal": True}]}
    assert await gql_error(stack, record, {"i": {**meeting_in, "attendees": meeting_in["attendees"][:1]}},
                           role="operator", region="comm-a") == "BAD_USER_INPUT"
    assert await gql_error(stack, record, {"i": meeting_in}, role="grid_worker", region="grid-a1") == "FORBIDDEN"
    meeting = (await stack.ok(record, {"i": meeting_in}, role="operator", region="comm-a"))["recordThreePartyMeeting"]
    case = meeting["items"][0]["case"]
    assert case["channel"] == "JOINT_MEETING" and case["region"]["id"] == "grid-a1"
    assert meeting["items"][1]["proposalRequested"] and meeting["ownersCommittee"]["red"]
    proposal = (await stack.ok("query($id: ID!) { proposal(id: $id) { stage source title proposer } }",
                               {"id": meeting["items"][1]["proposalRef"]}, **ADMIN))["proposal"]
    assert proposal == {"stage": "COLLECTED", "source": "THREE_PARTY", "title": "加装电梯", "proposer": "三方联动会议"}
    listed = (await stack.ok('{ threePartyMeetings(regionId: "comm-a") { totalCount } }', **ADMIN))
    assert listed["threePartyMeetings"]["totalCount"] == 1
    assert await gql_error(stack, '{ threePartyMeetings(regionId: "comm-a") { totalCount } }', role="admin",
                           region="county-b") == "FORBIDDEN"
    assert await gql_error(stack, "query($id: ID!) { ownersCommittee(id: $id) { id } }", {"id": oc["id"]},
                           role="volunteer", region="comm-a") == "FORBIDDEN"
    figures = (await stack.ok("""{ overview(regionId: "county-a") { organizations { ownersCommitteeCount
        redOwnersCommitteeCount redCommitteeShare partySeatShare residentsCommitteeCount threePartyMeetingCount } } }""",
                              **ADMIN))["overview"]["organizations"]
    assert figures == {"ownersCommitteeCount": 1, "redOwnersCommitteeCount": 1, "redCommitteeShare": 1.0,
                       "partySeatShare": 0.5, "residentsCommitteeCount": 1, "threePartyMeetingCount": 1}
    # 物业纠纷 per estate: a property dispute on one of the estate's buildings, and one elsewhere
    report = "mutation($i: ReportCaseInput!) { reportCase(input: $i) { id } }"
    for building in ("bldg-a1-2", "bldg-a2-1"):
        await stack.ok(report, {"i": {"categoryCode": "DISPUTE_PROPERTY", "title": "物业不作为", "channel": "HOTLINE",
                                      "reporterName": "张三", "reporterPhone": "13812345678",
                                      "regionId": building}}, role="operator", region="county-a")
    disputes = "query($id: ID!) { ownersCommittee(id: $id) { propertyDisputes { total open } } }"
    got = await eventually(lambda: stack.ok(disputes, {"id": oc["id"]}, **ADMIN),
                           lambda d: d["ownersCommittee"]["propertyDisputes"]["total"] == 1, timeout=60)
    assert got["ownersCommittee"]["propertyDisputes"] == {"total": 1, "open": 1}
    # the county's figure follows both reports as its projection catches up (the estate's above
    # may have seen the first before the second is counted)
    await eventually(lambda: stack.ok('{ overview(regionId: "county-a") { cases { propertyDisputes } } }', **ADMIN),
                     lambda d: d["overview"]["cases"]["propertyDisputes"] == 2, timeout=60)
    ended = (await stack.ok("""mutation($id: ID!, $end: Date!) { endOwnersCommitteeTerm(committeeId: $id, end: $end)
        { status red } }""", {"id": oc["id"], "end": date.today().isoformat()}, **ADMIN))["endOwnersCommitteeTerm"]
    assert ended == {"status": "TERM_ENDED", "red": False}
    # The bus carries no candidate's or attendee's name, phone or ID number.
    personal = ["钱多", "13812345678", "13900002222", "420902198001011234", "物业经理", "王主任"]
    nc = await nats.connect(stack.settings.nats_url)
    try:
        messages = await eventually(lambda: stream_messages(nc.jetstream(), "YIWANG_ORGANIZATIONS"),
                                    lambda ms: any(b"COMMITTEE_TERM_ENDED" in m.subject.encode() for m in ms))
    finally:
        await nc.close()
    for m in messages:
        text = m.subject + m.data.decode()
        assert not [p for p in personal if p in text], m.subject


async def test_enterprise_branch_twinned_and_its_unit_registered(county, stack):
    town, comm, grid, group = await party_chain(stack, **ADMIN)
    unit = (await stack.ok("""mutation($i: RegisterCoBuildingUnitInput!) { registerCoBuildingUnit(input: $i) { id } }""",
                           {"i": {"name": "示例科技公司", "kind": "ENTERPRISE", "regionId": "town-a"}},
                           **ADMIN))["registerCoBuildingUnit"]
    create = """mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) {
        id type territorial parent { id } unit { name } anchor { id } dualRegisteredCount idle } }"""
    branch_in = {"name": "示例科技公司党支部", "type": "ENTERPRISE", "anchorId": "town-a", "unitId": unit["id"]}
    assert await gql_error(stack, create, {"i": {**branch_in, "parentId": comm["id"]}}, **ADMIN) == "BAD_USER_INPUT"
    assert await gql_error(stack, create, {"i": {**branch_in, "unitId": None}}, **ADMIN) == "BAD_USER_INPUT"
    assert await gql_error(stack, create, {"i": branch_in}, role="admin", region="county-b") == "FORBIDDEN"
    branch = (await stack.ok(create, {"i": branch_in}, **ADMIN))["createPartyOrganization"]
    assert branch["territorial"] is False and branch["parent"] is None and branch["unit"]["name"] == "示例科技公司"
    # The chain refuses it as a parent.
    assert await gql_error(stack, create, {"i": {"name": "x", "type": "GRID_BRANCH", "anchorId": "grid-a2",
                                                 "parentId": branch["id"]}}, **ADMIN) == "BAD_USER_INPUT"
    twin = (await stack.ok("""mutation($b: ID!, $c: ID!) { twinUnitWithCommunity(branchId: $b, communityId: $c)
        { branch { id } community { id } } }""", {"b": branch["id"], "c": "comm-a"}, **ADMIN))["twinUnitWithCommunity"]
    assert twin == {"branch": {"id": branch["id"]}, "community": {"id": "comm-a"}}
    worker = await a_member(stack, branch["id"], "李工", **ADMIN)
    await stack.ok("""mutation($m: ID!) { dualRegister(memberId: $m, communityId: "comm-a") { id } }""",
                   {"m": worker}, **ADMIN)
    register = """mutation($i: RegisterUnitWithCommunityInput!) { registerUnitWithCommunity(input: $i) {
        id commitments unit { name } community { id } services { what at } version } }"""
    reg_in = {"unitId": unit["id"], "communityId": "comm-a", "commitments": ["义诊", "助老"], "idempotencyKey": "ur"}
    assert await gql_error(stack, register, {"i": reg_in}, role="operator", region="county-a") == "FORBIDDEN"
    assert await gql_error(stack, register, {"i": {**reg_in, "communityId": "grid-a1"}}, **ADMIN) == "BAD_USER_INPUT"
    reg = (await stack.ok(register, {"i": reg_in}, **ADMIN))["registerUnitWithCommunity"]
    assert reg["commitments"] == ["义诊", "助老"] and reg["unit"]["name"] == "示例科技公司"
    assert (await stack.ok(register, {"i": reg_in}, **ADMIN))["registerUnitWithCommunity"]["id"] == reg["id"]
    served = (await stack.ok("""mutation($id: ID!, $at: DateTime!) { recordUnitService(registrationId: $id,
        what: "社区义诊", at: $at) { services { what } } }""", {"id": reg["id"], "at": datetime.now(UTC).isoformat()},
                             **ADMIN))["recordUnitService"]
    assert served["services"] == [{"what": "社区义诊"}]
    got = (await stack.ok("query($id: ID!) { partyOrganization(id: $id) { dualRegisteredCount idle lastServiceAt } }",
                          {"id": branch["id"]}, **ADMIN))["partyOrganization"]
    assert got["dualRegisteredCount"] == 1 and got["idle"] is False and got["lastServiceAt"]
    figures = (await stack.ok("""{ overview(regionId: "county-a") { organizations { organizationCount
        nonTerritorialCount idleBranchCount branchDualRegisteredCount unitRegistrationCount unitServiceCount
        byType { type count } } } }""", **ADMIN))["overview"]["organizations"]
    by_type = {x["type"]: x["count"] for x in figures.pop("byType")}
    assert figures == {"organizationCount": 4, "nonTerritorialCount": 1, "idleBranchCount": 0,
                       "branchDualRegisteredCount": 1, "unitRegistrationCount": 1, "unitServiceCount": 1}
    assert by_type["ENTERPRISE"] == 1 and by_type["GRID_BRANCH"] == 1
    regs = (await stack.ok("""{ unitCommunityRegistrations(regionId: "comm-a") { totalCount } }""",
                           role="operator", region="comm-a"))["unitCommunityRegistrations"]
    assert regs["totalCount"] == 1
