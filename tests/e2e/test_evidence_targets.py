"""Evidence on the records other than cases: a service order (the resident, the taker, staff), an
activity (staff, its volunteers) and a joint meeting (staff), each through its own service's attach
verb, with the same upload, scope check and signed links."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.cases_gateway import codes
from tests.cases_helpers import CasesClient
from tests.evidence_helpers import jpeg, pdf, upload, upload_input
from tests.org_helpers import start_org_stack

RESIDENT = {"role": "resident", "sub": "res-1"}
OTHER = {"role": "resident", "sub": "res-2"}
OFFICE = {"role": "operator", "region": "comm-a", "sub": "office"}
FAR_OFFICE = {"role": "operator", "region": "comm-b", "sub": "office-b"}
ADMIN = {"role": "admin", "region": "county-a", "sub": "admin-a"}
VOL = {"role": "volunteer", "region": "comm-a", "sub": "v1"}


@pytest.fixture
async def community(stack):
    client, ids = await start_org_stack(stack, volunteers=True)
    await client.close()
    vols = await CasesClient.connect(stack, "volunteers")
    await vols.wait_territory(["comm-a", "bldg-a1-1"])
    await vols.close()
    return ids


async def test_service_order_activity_and_meeting_evidence(community, stack):
    t = lambda who: stack.token(**who)  # noqa: E731
    order = (await stack.ok("""mutation { placeServiceOrder(input: {category: "助老", description: "换灯泡",
        buildingId: "bldg-a1-1"}) { id } }""", **RESIDENT))["placeServiceOrder"]["id"]
    mine = await upload(stack.http, t(RESIDENT), jpeg(), {"input": upload_input("SERVICE_ORDER", order)})
    assert mine["data"]["uploadAttachment"]["kind"] == "PHOTO", mine
    for who in (OTHER, FAR_OFFICE, VOL):
        body = await upload(stack.http, t(who), jpeg(), {"input": upload_input("SERVICE_ORDER", order)})
        assert codes(body) == ["FORBIDDEN"], (who, body)
    staff = await upload(stack.http, t(OFFICE), pdf(), {"input": upload_input("SERVICE_ORDER", order)})
    assert staff["data"]["uploadAttachment"]["kind"] == "DOCUMENT"
    got = await stack.ok('query($id: ID!) { serviceOrder(id: $id) { attachments { id kind url uploadedBy } } }',
                         {"id": order}, **RESIDENT)
    shown = got["serviceOrder"]["attachments"]
    assert [a["kind"] for a in shown] == ["PHOTO", "DOCUMENT"]
    assert shown[0]["uploadedBy"] == "res-1" and shown[1]["uploadedBy"] is None  # staff's name not shown to her
    assert (await stack.http.get(shown[1]["url"])).content == pdf()

    now = datetime.now(UTC)
    activity = (await stack.ok("""mutation($i: CreateActivityInput!) { createActivity(input: $i) { id } }""", {"i": {
        "title": "清洁家园", "regionId": "comm-a", "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(hours=2)).isoformat(), "capacity": 5, "withCode": False}}, **OFFICE)
    )["createActivity"]["id"]
    body = await upload(stack.http, t(VOL), jpeg(), {"input": upload_input("ACTIVITY", activity)})
    assert codes(body) == ["FORBIDDEN"]  # not signed up
    ok = await upload(stack.http, t(OFFICE), jpeg(), {"input": upload_input("ACTIVITY", activity, idempotencyKey="k")})
    again = await upload(stack.http, t(OFFICE), jpeg(), {"input": upload_input("ACTIVITY", activity, idempotencyKey="k")})
    assert again["data"]["uploadAttachment"]["id"] == ok["data"]["uploadAttachment"]["id"]
    got = await stack.ok('query($id: ID!) { activity(id: $id) { attachments { id thumbnailUrl } } }', {"id": activity},
                         **OFFICE)
    assert len(got["activity"]["attachments"]) == 1 and got["activity"]["attachments"][0]["thumbnailUrl"]

    town = (await stack.ok("""mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) { id } }""",
                           {"i": {"name": "街道党工委", "type": "TOWNSHIP_WORKING_COMMITTEE", "anchorId": "town-a"}},
                           **ADMIN))["createPartyOrganization"]["id"]
    comm = (await stack.ok("""mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) { id } }""",
                           {"i": {"name": "社区大党委", "type": "COMMUNITY_COMMITTEE", "anchorId": "comm-a",
                                  "parentId": town}}, **ADMIN))["createPartyOrganization"]["id"]
    unit = (await stack.ok("""mutation($i: RegisterCoBuildingUnitInput!) { registerCoBuildingUnit(input: $i) { id } }""",
                           {"i": {"name": "示例物业公司", "kind": "PROPERTY_COMPANY", "regionId": "comm-a",
                                  "contacts": []}}, **ADMIN))["registerCoBuildingUnit"]["id"]
    await stack.ok("mutation($c: ID!, $u: ID!) { addUnitToCommittee(committeeId: $c, unitId: $u) { id } }",
                   {"c": comm, "u": unit}, **ADMIN)
    meeting = (await stack.ok("""mutation($i: ScheduleJointMeetingInput!) { scheduleJointMeeting(input: $i) { id } }""",
                              {"i": {"committeeId": comm, "scheduledAt": (now + timedelta(days=1)).isoformat()}},
                              **ADMIN))["scheduleJointMeeting"]["id"]
    for who in (RESIDENT, FAR_OFFICE):
        body = await upload(stack.http, t(who), jpeg(), {"input": upload_input("JOINT_MEETING", meeting)})
        assert codes(body) == ["FORBIDDEN"], (who, body)
    ok = await upload(stack.http, t(OFFICE), jpeg(), {"input": upload_input("JOINT_MEETING", meeting)})
    assert ok["data"]["uploadAttachment"]["uploadedBy"] == "office"
    got = await stack.ok('query($id: ID!) { jointMeeting(id: $id) { attachments { id } } }', {"id": meeting}, **OFFICE)
    assert [a["id"] for a in got["jointMeeting"]["attachments"]] == [ok["data"]["uploadAttachment"]["id"]]
