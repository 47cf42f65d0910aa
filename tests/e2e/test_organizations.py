"""Organisations through the gateway: a community's 大党委 with its units, a joint meeting whose
resolution becomes a case, the county's coverage figures; scope and masking on every path."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.cases_gateway import eventually
from tests.org_helpers import start_org_stack

ORG = "id name type anchor { id level } parent { name }"


@pytest.fixture
async def county(stack):
    client, ids = await start_org_stack(stack)
    yield ids
    await client.close()


async def create_org(stack, name, type_, anchor, parent=None, **who):
    data = await stack.ok("""mutation($i: CreatePartyOrganizationInput!) {
        createPartyOrganization(input: $i) { %s } }""" % ORG,
        {"i": {"name": name, "type": type_, "anchorId": anchor, "parentId": parent}}, **who)
    return data["createPartyOrganization"]


async def party_chain(stack, **who):
    town = await create_org(stack, "示例街道党工委", "TOWNSHIP_WORKING_COMMITTEE", "town-a", **who)
    comm = await create_org(stack, "示例社区党委", "COMMUNITY_COMMITTEE", "comm-a", town["id"], **who)
    grid = await create_org(stack, "第一网格党支部", "GRID_BRANCH", "grid-a1", comm["id"], **who)
    group = await create_org(stack, "1号楼党小组", "BUILDING_GROUP", "bldg-a1-1", grid["id"], **who)
    return town, comm, grid, group


async def test_committee_meeting_case_and_county_coverage(county, stack):
    admin = {"role": "admin", "region": "county-a", "sub": "admin-a"}
    town, comm, grid, group = await party_chain(stack, **admin)
    assert grid["parent"]["name"] == "示例社区党委" and group["anchor"]["level"] == "BUILDING"
    units = []
    for name, kind in (("示例物业公司", "PROPERTY_COMPANY"), ("示例小学", "SCHOOL")):
        unit = (await stack.ok("""mutation($i: RegisterCoBuildingUnitInput!) {
            registerCoBuildingUnit(input: $i) { id name contacts { name phone } } }""", {"i": {
            "name": name, "kind": kind, "regionId": "comm-a",
            "contacts": [{"name": "联系人", "title": "负责人", "phone": "13700002222"}]}}, **admin)
        )["registerCoBuildingUnit"]
        assert unit["contacts"][0]["phone"] == "13700002222"  # the admin who manages it sees it
        await stack.ok("mutation($c: ID!, $u: ID!) { addUnitToCommittee(committeeId: $c, unitId: $u) { id } }",
                       {"c": comm["id"], "u": unit["id"]}, **admin)
        units.append(unit)
    at = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    meeting = (await stack.ok("""mutation($i: ScheduleJointMeetingInput!) {
        scheduleJointMeeting(input: $i) { id chairUnit { name } } }""", {"i": {"committeeId": comm["id"],
                                                                             "scheduledAt": at}}, **admin)
               )["scheduleJointMeeting"]
    assert meeting["chairUnit"]["name"] == "示例物业公司"
    await stack.ok("""mutation($m: ID!, $i: MeetingMinutesInput!) { recordMeetingMinutes(meetingId: $m, input: $i)
        { id } }""", {"m": meeting["id"], "i": {"minutes": "议定整治楼道照明", "attendedUnitIds": [u["id"] for u in units]}},
                   **admin)
    res = (await stack.ok("""mutation($m: ID!) { addResolution(meetingId: $m, text: "整治楼道照明",
        actionItems: ["更换1号楼楼道灯"]) { resolutions { items { id } } } }""", {"m": meeting["id"]}, **admin)
           )["addResolution"]
    item_id = res["resolutions"][0]["items"][0]["id"]
    made = (await stack.ok("""mutation($m: ID!, $i: ID!) { createCaseFromActionItem(meetingId: $m, itemId: $i,
        categoryCode: "FACILITY_STREETLIGHT", gridId: "grid-a1") {
        resolutions { items { caseId caseStatus case { id channel status region { id } } } } } }""",
                            {"m": meeting["id"], "i": item_id}, **admin))["createCaseFromActionItem"]
    item = made["resolutions"][0]["items"][0]
    assert item["case"]["channel"] == "JOINT_MEETING" and item["case"]["region"]["id"] == "grid-a1"
    # The grid worker handles it as any case; the meeting shows the progress.
    worker = {"role": "grid_worker", "region": "grid-a1", "sub": "gw-1"}
    await stack.ok('mutation($id: ID!) { acceptCase(id: $id) { status } }', {"id": item["caseId"]}, **worker)
    progress = await eventually(lambda: stack.ok("""query($id: ID!) { jointMeeting(id: $id) {
        resolutions { items { caseStatus } } } }""", {"id": meeting["id"]}, **admin),
                                lambda d: d["jointMeeting"]["resolutions"][0]["items"][0]["caseStatus"] == "ACCEPTED")
    assert progress
    overview = (await stack.ok("""{ overview(regionId: "county-a") { organizations {
        organizationCount memberCount branchCoverage buildingGroupCoverage gridCount buildingCount } } }""",
                               **admin))["overview"]["organizations"]
    assert overview == {"organizationCount": 4, "memberCount": 0, "branchCoverage": 0.5,
                        "buildingGroupCoverage": pytest.approx(1 / 3), "gridCount": 2, "buildingCount": 3}
    listed = (await stack.ok("""{ region(id: "comm-a") { partyOrganizations { totalCount edges { node { type } } } } }""",
                             **admin))["region"]["partyOrganizations"]
    assert listed["totalCount"] == 3  # the committee, the grid branch and the building group under comm-a


async def test_member_masking_scope_and_audited_reveal(county, stack):
    admin = {"role": "admin", "region": "county-a", "sub": "admin-a"}
    _, _, grid, _ = await party_chain(stack, **admin)
    member = (await stack.ok("""mutation($i: RegisterPartyMemberInput!) { registerPartyMember(input: $i) {
        id phone idNumber category organization { name } homeBuilding { id } } }""", {"i": {
        "name": "赵敏", "gender": "FEMALE", "birthDate": "1988-03-01", "joinDate": "2012-06-30",
        "phone": "13611112222", "idNumber": "420902198803011234", "category": "IN_SERVICE",
        "organizationId": grid["id"], "homeBuildingId": "bldg-a1-2"}}, **admin))["registerPartyMember"]
    assert member["phone"] == "136****2222" and member["idNumber"] == "420***********1234"
    query = "query($id: ID!) { partyMember(id: $id) { id phone idNumber } }"
    own = await stack.ok(query, {"id": member["id"]}, role="volunteer", region="comm-a", member=member["id"])
    assert own["partyMember"]["phone"] == "13611112222"
    for who in ({"role": "admin", "region": "county-b"}, {"role": "resident", "sub": "r1"},
                {"role": "grid_worker", "region": "grid-a1"}):
        body = await stack.gql(query, {"id": member["id"]}, **who)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (who, body)
    listed = await stack.ok("{ partyMembers(regionId: \"county-a\") { totalCount edges { node { phone } } } }",
                            role="operator", region="county-a")
    assert listed["partyMembers"]["edges"][0]["node"]["phone"] == "136****2222"
    reveal = """mutation($id: ID!) { revealPartyMemberContact(memberId: $id, reason: "组织关系核实") { phone idNumber } }"""
    body = await stack.gql(reveal, {"id": member["id"]}, role="operator", region="county-a")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    plain = await stack.ok(reveal, {"id": member["id"]}, **admin)
    assert plain["revealPartyMemberContact"] == {"phone": "13611112222", "idNumber": "420902198803011234"}
    # Bad input is typed and changes nothing.
    body = await stack.gql("""mutation { createPartyOrganization(input: {name: "x", type: GRID_BRANCH,
        anchorId: "bldg-a1-1"}) { id } }""", **admin)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    count = await stack.ok('{ partyOrganizations(regionId: "county-a") { totalCount } }', **admin)
    assert count["partyOrganizations"]["totalCount"] == 4


async def test_overview_part_degrades_alone_when_organizations_is_down(county, stack):
    await party_chain(stack)
    orgs = next(rt for rt in stack.runtimes if rt.name == "organizations")
    await stack.stop_service(orgs)
    body = await stack.gql('{ overview(regionId: "county-a") { cases { total } grids { gridCount } '
                           'organizations { organizationCount } } }')
    assert body["data"]["overview"]["grids"]["gridCount"] == 2 and body["data"]["overview"]["cases"]["total"] == 0
    assert body["data"]["overview"]["organizations"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAVAILABLE"]


async def test_out_of_scope_looks_the_same_whatever_the_version_or_existence(county, stack):
    """Scope is checked before the version and before existence: a caller outside a record's
    scope learns neither its version nor whether it exists."""
    su = {"role": "superadmin"}
    _, comm, _, _ = await party_chain(stack, **su)
    member = (await stack.ok("""mutation($i: RegisterPartyMemberInput!) { registerPartyMember(input: $i) { id } }""",
                             {"i": {"name": "李红", "gender": "FEMALE", "birthDate": "1985-04-02", "joinDate": "2010-07-01",
                                    "category": "IN_SERVICE", "organizationId": comm["id"]}}, **su))["registerPartyMember"]
    update = """mutation($i: UpdatePartyMemberInput!) { updatePartyMember(input: $i) { id version } }"""
    bumped = (await stack.ok(update, {"i": {"id": member["id"], "category": "RETIRED"}}, **su))["updatePartyMember"]
    assert bumped["version"] == 2
    outsiders = [{"role": "resident", "sub": "someone"}, {"role": "admin", "region": "county-b", "sub": "admin-b"},
                 {"role": "volunteer", "region": "comm-a", "sub": "v1"}]
    for who in outsiders:
        answers = []
        for member_id, version in ((member["id"], 1), (member["id"], 2), (member["id"], None), ("pm-no-such", 1)):
            body = await stack.gql(update, {"i": {"id": member_id, "category": "FLOATING", "expectedVersion": version}},
                                   **who)
            error = body["errors"][0]
            answers.append((error["extensions"], error["message"].replace(member_id, "X")))
        assert {a[0]["code"] for a in answers} == {"FORBIDDEN"}, (who, answers)
        assert len(set(map(str, answers))) == 1, (who, answers)  # no version, no existence
    # the admin in scope is told of the version
    admin = {"role": "admin", "region": "county-a", "sub": "admin-a"}
    body = await stack.gql(update, {"i": {"id": member["id"], "category": "FLOATING", "expectedVersion": 1}}, **admin)
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
