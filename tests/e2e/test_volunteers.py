"""Volunteers through the gateway: a resident's order from 点单 to a rated completion with
points credited; masking and scope; the volunteers part of the overview degrading alone."""
from __future__ import annotations

import asyncio

import pytest

from tests.cases_helpers import CasesClient
from tests.org_helpers import start_org_stack


@pytest.fixture
async def community(stack):
    client, ids = await start_org_stack(stack, volunteers=True)
    await client.close()
    vols = await CasesClient.connect(stack, "volunteers")
    await vols.wait_territory(["comm-a", "bldg-a1-1"])
    await vols.close()
    return ids


REGISTER = """mutation($i: RegisterVolunteerInput!) { registerVolunteer(input: $i) { id name phone kind homeRegion { id } } }"""


async def volunteer(stack, sub: str, phone: str) -> dict:
    who = {"role": "volunteer", "region": "comm-a", "sub": sub}
    data = await stack.ok(REGISTER, {"i": {"name": f"志愿者{sub}", "homeRegionId": "comm-a", "phone": phone}}, **who)
    return {"who": who, **data["registerVolunteer"]}


async def test_order_from_resident_to_rated_completion_with_points(community, stack):
    resident = {"role": "resident", "sub": "res-1"}
    office = {"role": "operator", "region": "comm-a", "sub": "office"}
    people = [await volunteer(stack, f"v{i}", f"1350000000{i}") for i in range(4)]
    assert people[0]["phone"] == "13500000000" and people[0]["homeRegion"]["id"] == "comm-a"
    placed = (await stack.ok("""mutation { placeServiceOrder(input: {category: "助老", description: "换灯泡",
        buildingId: "bldg-a1-1"}) { id status region { name } regionName } }""", **resident))["placeServiceOrder"]
    assert placed["status"] == "PENDING_REVIEW" and placed["region"]["name"] == "bldg-a1-1号楼"
    oid = placed["id"]
    await stack.ok('mutation($id: ID!) { reviewServiceOrder(id: $id, approve: true) { status } }', {"id": oid}, **office)
    wall = await stack.ok('{ wishWall(communityId: "comm-a") { totalCount edges { node { id residentSub } } } }',
                          **people[0]["who"])
    assert wall["wishWall"]["totalCount"] == 1 and wall["wishWall"]["edges"][0]["node"]["residentSub"] is None
    take = 'mutation($id: ID!) { takeServiceOrder(id: $id) { status taker { id } } }'
    bodies = await asyncio.gather(*(stack.gql(take, {"id": oid}, **p["who"]) for p in people))
    winners = [b["data"]["takeServiceOrder"]["taker"]["id"] for b in bodies if not b.get("errors")]
    assert len(winners) == 1
    assert {b["errors"][0]["extensions"]["code"] for b in bodies if b.get("errors")} == {"CONFLICT"}
    taker = next(p for p in people if p["id"] == winners[0])
    await stack.ok('mutation($id: ID!) { startServiceOrder(id: $id) { status } }', {"id": oid}, **taker["who"])
    done = await stack.ok('mutation($id: ID!) { completeServiceOrder(id: $id, hours: 2.5) { status hours } }',
                          {"id": oid}, **taker["who"])
    assert done["completeServiceOrder"] == {"status": "COMPLETED", "hours": 2.5}
    rated = await stack.ok('mutation($id: ID!) { rateServiceOrder(id: $id, score: 5) { status rating taker { name phone } } }',
                           {"id": oid}, **resident)
    assert rated["rateServiceOrder"]["status"] == "RATED"
    assert rated["rateServiceOrder"]["taker"]["phone"].count("*") == 4  # masked to the resident
    points = await stack.ok('{ myVolunteer { points { balance history { edges { node { delta sourceKind } } } } } }',
                            **taker["who"])
    assert points["myVolunteer"]["points"]["balance"] == 2
    assert [e["node"] for e in points["myVolunteer"]["points"]["history"]["edges"]] == [
        {"delta": 2, "sourceKind": "ORDER"}]
    overview = await stack.ok('{ overview(regionId: "comm-a") { volunteers { volunteerCount openOrders '
                              'completedOrders serviceHours pointsIssued } } }', **office)
    assert overview["overview"]["volunteers"] == {"volunteerCount": 4, "openOrders": 0, "completedOrders": 1,
                                                  "serviceHours": 2.5, "pointsIssued": 2}


async def test_scope_masking_and_typed_errors(community, stack):
    a = await volunteer(stack, "va", "13500001111")
    query = 'query($id: ID!) { volunteer(id: $id) { phone } }'
    other = await volunteer(stack, "vb", "13500002222")
    seen = await stack.ok(query, {"id": a["id"]}, **other["who"])
    assert seen["volunteer"]["phone"] == "135****1111"
    body = await stack.gql(query, {"id": a["id"]}, role="admin", region="county-b")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await stack.gql('mutation { createVolunteerPost(input: {title: "x", type: SAFETY, regionId: "comm-a", '
                           'capacity: 0}) { id } }', role="admin", region="comm-a")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    posts = await stack.ok('{ volunteerPosts(regionId: "comm-a") { totalCount } }', role="admin", region="comm-a")
    assert posts["volunteerPosts"]["totalCount"] == 0


async def test_overview_volunteers_part_degrades_alone(community, stack):
    vols = next(rt for rt in stack.runtimes if rt.name == "volunteers")
    await stack.stop_service(vols)
    body = await stack.gql('{ overview(regionId: "county-a") { grids { gridCount } volunteers { volunteerCount } } }')
    assert body["data"]["overview"]["grids"]["gridCount"] == 2 and body["data"]["overview"]["volunteers"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAVAILABLE"]
