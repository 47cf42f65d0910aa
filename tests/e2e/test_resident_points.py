"""Residents' points and units' service orders through the gateway: staff award a resident, the resident
reads their own balance and redeems; another resident and staff elsewhere cannot read it; an order
dispatched to a co-building unit is accepted, completed and rated, and the figures show both."""
from __future__ import annotations

import pytest

from tests.cases_helpers import CasesClient
from tests.org_helpers import start_org_stack


@pytest.fixture
async def community(stack):
    client, ids = await start_org_stack(stack, volunteers=True)
    await client.close()
    vols = await CasesClient.connect(stack, "volunteers")
    await vols.wait_territory(["comm-a", "grid-a1", "bldg-a1-1", "comm-b"])
    await vols.close()
    return ids


AWARD = """mutation($i: AwardResidentPointsInput!) {
  awardResidentPoints(input: $i) { balance entry { delta sourceKind ruleCode regionId expiresAt } } }"""
MINE = "{ residentPoints { balance earnedHere } residentPointsHistory { totalCount edges { node { delta ruleCode } } } }"
RESIDENT = {"role": "resident", "sub": "e2e-res-1"}
GRID_WORKER = {"role": "grid_worker", "region": "grid-a1", "sub": "e2e-gw"}


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_award_read_own_balance_redeem_and_nobody_else_reads_it(community, stack):
    award = {"sub": RESIDENT["sub"], "ruleCode": "DELIBERATION", "regionId": "grid-a1", "occasion": "议事会 10月",
             "idempotencyKey": "e2e-1"}
    first = (await stack.ok(AWARD, {"i": award}, **GRID_WORKER))["awardResidentPoints"]
    assert first["balance"] == 5 and first["entry"]["sourceKind"] == "RULE" and first["entry"]["regionId"] == "grid-a1"
    again = (await stack.ok(AWARD, {"i": award}, **GRID_WORKER))["awardResidentPoints"]
    assert again == first
    await stack.ok(AWARD, {"i": {**award, "ruleCode": "RUBBISH_SORTING", "occasion": "2026-10-07",
                                 "idempotencyKey": "e2e-2"}}, **GRID_WORKER)
    mine = await stack.ok(MINE, **RESIDENT)
    assert mine["residentPoints"] == {"balance": 6, "earnedHere": 6}
    assert [e["node"]["ruleCode"] for e in mine["residentPointsHistory"]["edges"]] == ["RUBBISH_SORTING",
                                                                                        "DELIBERATION"]
    # a resident cannot read another's; staff elsewhere cannot; a grid worker of another grid cannot award here
    other = {"role": "resident", "sub": "e2e-res-2"}
    read = 'query($s: String) { residentPoints(sub: $s) { balance } }'
    assert codes(await stack.gql(read, {"s": RESIDENT["sub"]}, **other)) == ["FORBIDDEN"]
    assert codes(await stack.gql(read, {"s": RESIDENT["sub"]}, role="operator", region="comm-b")) == ["FORBIDDEN"]
    assert codes(await stack.gql(read, {"s": RESIDENT["sub"]}, role="volunteer", region="comm-a")) == ["FORBIDDEN"]
    staff = await stack.ok(read, {"s": RESIDENT["sub"]}, role="operator", region="comm-a")
    assert staff["residentPoints"]["balance"] == 6
    elsewhere = await stack.gql(AWARD, {"i": {**award, "idempotencyKey": "e2e-3", "occasion": "x"}},
                                role="grid_worker", region="grid-b1", sub="e2e-gw-b")
    assert codes(elsewhere) == ["FORBIDDEN"]
    # the resident redeems from the catalogue
    await stack.ok('mutation { upsertRewardItem(input: {code: "E2E_BAG", name: "环保袋", cost: 4, stock: 3}) { code } }',
                   role="admin", region="city")
    redeem = 'mutation($r: String!) { redeemResidentPoints(itemCode: "E2E_BAG", redemptionId: $r) { balance item { stock } entry { delta regionId } } }'
    spent = (await stack.ok(redeem, {"r": "bag-1"}, **RESIDENT))["redeemResidentPoints"]
    assert spent == {"balance": 2, "item": {"stock": 2}, "entry": {"delta": -4, "regionId": "grid-a1"}}
    assert (await stack.ok(redeem, {"r": "bag-1"}, **RESIDENT))["redeemResidentPoints"]["balance"] == 2  # retry
    assert codes(await stack.gql(redeem, {"r": "bag-2"}, **RESIDENT)) == ["CONFLICT"]  # 2 left, 4 needed
    assert codes(await stack.gql(redeem, {"r": "bag-3"}, **GRID_WORKER)) == ["FORBIDDEN"]
    over = (await stack.ok('{ overview(regionId: "comm-a") { volunteers { residentsWithPoints '
                           'residentPointsAwarded residentPointsRedeemed } } }', role="admin", region="county-a"))
    assert over["overview"]["volunteers"] == {"residentsWithPoints": 1, "residentPointsAwarded": 6,
                                              "residentPointsRedeemed": 4}


ORDER = """fragment O on ServiceOrder { id status version target { kind id name } unitHandler taker { id } rating }"""


async def test_an_order_dispatched_to_a_unit_and_completed(community, stack):
    office = {"role": "operator", "region": "comm-a", "sub": "e2e-office"}
    resident = {"role": "resident", "sub": "e2e-res-unit"}
    unit = (await stack.ok("""mutation { registerCoBuildingUnit(input: {name: "阳光物业", kind: PROPERTY_COMPANY,
        regionId: "comm-a", contacts: [{name: "王经理", title: "经理", phone: "13800001111"}]}) { id } }""",
                           role="admin", region="city"))["registerCoBuildingUnit"]["id"]
    placed = (await stack.ok("""mutation { placeServiceOrder(input: {category: "维修", description: "楼道灯坏了",
        buildingId: "bldg-a1-1"}) { id } }""", **resident))["placeServiceOrder"]["id"]
    await stack.ok('mutation($id: ID!) { reviewServiceOrder(id: $id, approve: true) { status } }', {"id": placed},
                   **office)
    dispatch = ORDER + 'mutation($id: ID!, $u: ID!) { dispatchServiceOrder(id: $id, target: {kind: UNIT, id: $u}) { ...O } }'
    elsewhere = await stack.gql(dispatch, {"id": placed, "u": unit}, role="operator", region="comm-b")
    assert codes(elsewhere) == ["FORBIDDEN"]
    assert codes(await stack.gql(dispatch, {"id": placed, "u": "un-nowhere"}, **office)) == ["BAD_USER_INPUT"]
    o = (await stack.ok(dispatch, {"id": placed, "u": unit}, **office))["dispatchServiceOrder"]
    assert o["status"] == "DISPATCHED" and o["target"] == {"kind": "UNIT", "id": unit, "name": "阳光物业"}
    accept = ORDER + 'mutation($id: ID!) { acceptServiceOrderForUnit(id: $id, handler: "物业维修班 王师傅") { ...O } }'
    assert codes(await stack.gql(accept, {"id": placed}, role="volunteer", region="comm-a")) == ["FORBIDDEN"]
    o = (await stack.ok(accept, {"id": placed}, **office))["acceptServiceOrderForUnit"]
    assert (o["status"], o["unitHandler"], o["taker"]) == ("TAKEN", "物业维修班 王师傅", None)
    await stack.ok('mutation($id: ID!) { startServiceOrder(id: $id) { status } }', {"id": placed}, **office)
    done = await stack.ok('mutation($id: ID!) { completeServiceOrder(id: $id, hours: 1.5) { status hours } }',
                          {"id": placed}, **office)
    assert done["completeServiceOrder"] == {"status": "COMPLETED", "hours": 1.5}
    await stack.ok('mutation($id: ID!) { rateServiceOrder(id: $id, score: 5) { status } }', {"id": placed}, **resident)
    stats = await stack.ok('query($u: ID!) { unitOrderStats(unitIds: [$u]) { unitName orders completedOrders hours '
                           'averageRating } }', {"u": unit}, **office)
    assert stats["unitOrderStats"] == [{"unitName": "阳光物业", "orders": 1, "completedOrders": 1, "hours": 1.5,
                                        "averageRating": 5.0}]
    assert codes(await stack.gql('query($u: ID!) { unitOrderStats(unitIds: [$u]) { orders } }', {"u": unit},
                                 role="operator", region="comm-b")) == ["FORBIDDEN"]
    over = await stack.ok('{ overview(regionId: "comm-a") { volunteers { unitOrdersCompleted unitOrdersOpen } } }',
                          **office)
    assert over["overview"]["volunteers"] == {"unitOrdersCompleted": 1, "unitOrdersOpen": 0}
