"""Visits (走访) end to end through the gateway: scope, the place check and its override, idempotency, the
plan, the sweeper's VISIT_OVERDUE, a case from a finding linked both ways, a photo on a visit, figures
and trends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import nats
import pytest

from tests.cases_gateway import IN_A1, IN_A2, codes, eventually, start_cases_stack
from tests.evidence_helpers import jpeg, upload, upload_input

GW = {"role": "grid_worker", "region": "grid-a1", "sub": "gw-a1"}
GW2 = {"role": "grid_worker", "region": "grid-a2", "sub": "gw-a2"}
COMMUNITY = {"role": "admin", "region": "comm-a", "sub": "comm-admin"}
TOWN = {"role": "operator", "region": "town-a", "sub": "op-a"}

REGISTER = """mutation($input: RegisterHouseholdInput!) { registerHousehold(input: $input) { id } }"""
RECORD = """mutation($input: RecordVisitInput!) { recordVisit(input: $input) {
  id kind findings flagged overrideReason visitor at location { lng lat } household { id } building { id }
  attachments { id } case { id } } }"""
VISITS = (
    """query($r: ID!, $first: Int) { visits(regionId: $r, first: $first) { totalCount edges { node { id kind } } } }"""
)
PLAN = """query($g: ID!, $w: Int) { visitPlan(gridId: $g, withinDays: $w) { household { id } rule { code name }
  dueAt overdue } }"""
REPORT = """mutation($v: ID!, $input: ReportCaseInput!) { reportFromVisit(visitId: $v, input: $input) {
  id channel visit { id case { id } } } }"""
VISIT = """query($id: ID!) { visit(id: $id) { id findings case { id channel } attachments { id kind } } }"""
FIGURES = """query($id: ID!) { overview(regionId: $id) { households { householdCount mustVisitCount overdueVisits
  visitCoverage } } }"""
TREND = """query($id: ID!, $m: TrendMetric!, $from: DateTime!, $to: DateTime!) {
  trend(regionId: $id, metric: $m, from: $from, to: $to) { kind points { value } } }"""


@pytest.fixture
async def grid(stack):
    await start_cases_stack(stack)
    b = await stack.ok(
        'mutation { createRegion(input: {name: "1号楼", level: BUILDING, parentId: "grid-a1", id: "bld-a1"}) { id } }'
    )
    assert b["createRegion"]["id"] == "bld-a1"
    return stack


async def register(stack, room: str, tags: list[str]) -> str:
    inp = {
        "buildingId": "bld-a1",
        "unit": "1",
        "room": room,
        "tags": tags,
        "head": {"name": "王秀英", "phone": "13812345678"},
    }
    hid = (await stack.ok(REGISTER, {"input": inp}, **GW))["registerHousehold"]["id"]
    db = stack.runtimes[0].db
    await eventually(
        lambda: db.households.find_one({"_id": hid}),
        lambda h: h.get("nextVisitDue") is not None or not tags,
        timeout=stack.settings.rpc_timeout_s,
    )
    return hid


def at(point):
    return {"lng": point[0], "lat": point[1]}


async def test_record_scope_place_idempotency_and_list(grid):
    hid = await register(grid, "101", ["ELDERLY_ALONE"])
    base = {"householdId": hid, "kind": "ELDERLY_ALONE", "findings": "独居，行动不便"}
    # outside the grid without a reason: a typed error, nothing written
    body = await grid.gql(RECORD, {"input": {**base, **at(IN_A2)}}, **GW)
    assert codes(body) == ["BAD_USER_INPUT"] and "outside the grid" in body["errors"][0]["message"]
    body = await grid.gql(RECORD, {"input": {**base, "kind": "NOPE", **at(IN_A1)}}, **GW)
    assert codes(body) == ["BAD_USER_INPUT"]
    # another grid's worker, and staff above the community, may not
    assert codes(await grid.gql(RECORD, {"input": {**base, **at(IN_A1)}}, **GW2)) == ["FORBIDDEN"]
    body = await grid.gql(RECORD, {"input": {**base, **at(IN_A1)}}, **TOWN)
    assert codes(body) == ["FORBIDDEN"] and "figures only" in body["errors"][0]["message"]
    assert (await grid.ok(VISITS, {"r": "grid-a1"}, **GW))["visits"]["totalCount"] == 0

    v = (await grid.ok(RECORD, {"input": {**base, **at(IN_A1), "idempotencyKey": "k1"}}, **GW))["recordVisit"]
    assert v["household"]["id"] == hid and v["building"]["id"] == "bld-a1" and not v["flagged"]
    assert v["visitor"] == "gw-a1" and v["findings"] == "独居，行动不便"
    again = (await grid.ok(RECORD, {"input": {**base, **at(IN_A1), "idempotencyKey": "k1"}}, **GW))["recordVisit"]
    assert again["id"] == v["id"]
    o = (await grid.ok(RECORD, {"input": {**base, **at(IN_A2), "overrideReason": "在社区卫生站碰面"}}, **GW))[
        "recordVisit"
    ]
    assert o["flagged"] and o["overrideReason"] == "在社区卫生站碰面"
    page = (await grid.ok(VISITS, {"r": "grid-a1"}, **GW))["visits"]
    assert page["totalCount"] == 2 and page["edges"][0]["node"]["id"] == o["id"]
    assert (await grid.ok(VISITS, {"r": "comm-a"}, **COMMUNITY))["visits"]["totalCount"] == 2
    assert codes(await grid.gql(VISITS, {"r": "grid-a1"}, **GW2)) == ["FORBIDDEN"]
    body = await grid.gql(VISITS, {"r": "town-a"}, **TOWN)
    assert codes(body) == ["FORBIDDEN"] and "figures only" in body["errors"][0]["message"]
    # a visit outside one's scope reads as missing-or-forbidden
    assert codes(await grid.gql(VISIT, {"id": v["id"]}, **GW2)) == ["FORBIDDEN"]
    # its nodeId reads it back through node(id:), with the scope of its own query
    node_id = (await grid.ok("query($id: ID!) { visit(id: $id) { nodeId } }", {"id": v["id"]}, **GW))["visit"]["nodeId"]
    node = "query($id: ID!) { node(id: $id) { __typename ... on Visit { id kind } } }"
    assert (await grid.ok(node, {"id": node_id}, **GW))["node"] == {"__typename": "Visit", "id": v["id"],
                                                                     "kind": "ELDERLY_ALONE"}
    assert codes(await grid.gql(node, {"id": node_id}, **GW2)) == ["FORBIDDEN"]
    assert codes(await grid.gql(node, {"id": node_id}, **TOWN)) == codes(await grid.gql(VISIT, {"id": v["id"]}, **TOWN))


async def test_plan_sweeper_event_and_figures(grid):
    lone = await register(grid, "101", ["ELDERLY_ALONE"])
    await register(grid, "102", ["VETERAN"])
    await register(grid, "103", [])
    plan = (await grid.ok(PLAN, {"g": "grid-a1", "w": 10}, **GW))["visitPlan"]
    assert [(d["household"]["id"], d["rule"]["code"], d["overdue"]) for d in plan] == [(lone, "ELDERLY_ALONE", False)]
    assert codes(await grid.gql(PLAN, {"g": "grid-a1"}, **GW2)) == ["FORBIDDEN"]

    nc = await nats.connect(grid.settings.nats_url)
    seen: list[dict] = []

    async def got(m):
        seen.append(json.loads(m.data))

    sub = await nc.subscribe("yiwang.evt.grids.VISIT_OVERDUE.>", cb=got)
    sweeper = next(
        h.__self__ for h in grid.runtimes[0]._shutdown if type(getattr(h, "__self__", None)).__name__ == "VisitSweeper"
    )
    await sweeper.sweep_once(datetime.now(UTC) + timedelta(days=8))
    await eventually(lambda: _len(seen), lambda n: n >= 1, timeout=grid.settings.rpc_timeout_s)
    await sub.unsubscribe()
    await nc.close()
    assert len({e["id"] for e in seen}) == 1  # one lapse, one event (a relay's retry may deliver it twice)
    event = seen[0]
    assert event["data"]["householdId"] == lone and event["data"]["rule"] == "ELDERLY_ALONE"
    assert "王" not in json.dumps(event) and "138" not in json.dumps(event)
    figures = (await grid.ok(FIGURES, {"id": "comm-a"}, **TOWN))["overview"]["households"]
    assert figures == {"householdCount": 3, "mustVisitCount": 2, "overdueVisits": 1, "visitCoverage": 0.5}
    plan = (await grid.ok(PLAN, {"g": "grid-a1"}, **GW))["visitPlan"]
    assert plan[0]["overdue"] is True

    await grid.ok(RECORD, {"input": {"householdId": lone, "kind": "ELDERLY_ALONE", **at(IN_A1)}}, **GW)
    figures = (await grid.ok(FIGURES, {"id": "comm-a"}, **TOWN))["overview"]["households"]
    assert figures["overdueVisits"] == 0 and figures["visitCoverage"] == 1.0
    span = {
        "from": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "to": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    flow = (await grid.ok(TREND, {"id": "comm-a", "m": "VISITS_RECORDED", **span}, **TOWN))["trend"]
    assert flow["kind"] == "FLOW" and sum(p["value"] for p in flow["points"]) == 1
    stock = (await grid.ok(TREND, {"id": "comm-a", "m": "HOUSEHOLDS", **span}, **TOWN))["trend"]
    assert stock["points"][-1]["value"] == 3
    overdue = (await grid.ok(TREND, {"id": "comm-a", "m": "OVERDUE_VISITS", **span}, **TOWN))["trend"]
    assert overdue["kind"] == "STOCK" and overdue["points"][-1]["value"] == 0


async def test_report_from_visit_links_both_ways_once_and_a_photo_on_the_visit(grid):
    hid = await register(grid, "101", ["ELDERLY_ALONE"])
    v = (
        await grid.ok(
            RECORD,
            {"input": {"householdId": hid, "kind": "ELDERLY_ALONE", "findings": "楼道灯坏了", **at(IN_A1)}},
            **GW,
        )
    )["recordVisit"]
    report = {
        "title": "楼道灯坏了",
        "categoryCode": "ENV_GARBAGE",
        "channel": "GRID_PATROL",
        "reporterName": "网格员甲",
    }
    body = await grid.gql(REPORT, {"v": v["id"], "input": report}, **GW2)
    assert codes(body) == ["FORBIDDEN"], body
    case = (await grid.ok(REPORT, {"v": v["id"], "input": report}, **GW))["reportFromVisit"]
    assert case["channel"] == "GRID_PATROL" and case["visit"]["id"] == v["id"]
    assert case["visit"]["case"]["id"] == case["id"]
    again = (await grid.ok(REPORT, {"v": v["id"], "input": report}, **GW))["reportFromVisit"]
    assert again["id"] == case["id"]
    seen = (await grid.ok(VISIT, {"id": v["id"]}, **GW))["visit"]
    assert seen["case"] == {"id": case["id"], "channel": "GRID_PATROL"}
    # nobody else names a visit for a case
    body = await grid.gql(
        "mutation($i: ReportCaseInput!) { reportCase(input: $i) { id } }",
        {"i": {**report, "lng": IN_A1[0], "lat": IN_A1[1]}},
        **GW,
    )
    assert not body.get("errors")

    photo = await upload(
        grid.http, grid.token(**GW), jpeg(), {"input": upload_input("VISIT", v["id"], idempotencyKey="p1")}
    )
    assert not photo.get("errors"), photo
    aid = photo["data"]["uploadAttachment"]["id"]
    again = await upload(
        grid.http, grid.token(**GW), jpeg(), {"input": upload_input("VISIT", v["id"], idempotencyKey="p1")}
    )
    assert again["data"]["uploadAttachment"]["id"] == aid
    assert (await grid.ok(VISIT, {"id": v["id"]}, **GW))["visit"]["attachments"] == [{"id": aid, "kind": "PHOTO"}]
    other = await upload(grid.http, grid.token(**GW2), jpeg(), {"input": upload_input("VISIT", v["id"])})
    assert codes(other) == ["FORBIDDEN"]


async def test_report_from_visit_finishes_after_the_case_service_was_down(grid):
    """The request is kept with the visit; the consumer of VISIT_CASE_REQUESTED reports and links it."""
    hid = await register(grid, "101", ["ELDERLY_ALONE"])
    v = (await grid.ok(RECORD, {"input": {"householdId": hid, "kind": "ELDERLY_ALONE", **at(IN_A1)}}, **GW))[
        "recordVisit"
    ]
    grids_rt = grid.runtimes[0]
    visits = next(
        h.__self__ for h in grids_rt._shutdown if type(getattr(h, "__self__", None)).__name__ == "VisitSweeper"
    ).plans.visits
    from services.grids.handlers.visits import case_payload
    from shared.auth import Principal, Role

    async def request(record, uow):
        record.request_case(
            case_payload(
                {"title": "t", "categoryCode": "ENV_GARBAGE", "reporterName": "x"},
                record,
                Principal(sub="gw-a1", role=Role.GRID_WORKER, region="grid-a1"),
            ),
            datetime.now(UTC),
        )

    await visits.change(visits.store.visits, v["id"], None, request, by=Principal(sub="grids", role=Role.SERVICE))
    linked = await eventually(
        lambda: grids_rt.db.visits.find_one({"_id": v["id"]}),
        lambda d: d.get("caseId"),
        timeout=grid.settings.rpc_timeout_s,
    )
    seen = (await grid.ok(VISIT, {"id": v["id"]}, **GW))["visit"]
    assert seen["case"]["id"] == linked["caseId"]


def _len(xs):
    async def n():
        return len(xs)

    return n()
