"""The unified view through the gateway: a county platform ranks its children, follows a trend,
finds a hotspot, raises it to the community's joint meeting and sees the resolution link back
to the cases; scope and typed errors on every path."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.cases_gateway import RequestCounter, eventually
from tests.cases_helpers import REPORT
from tests.org_helpers import member, party_tree, start_org_stack

ADMIN_A = {"role": "admin", "region": "county-a", "sub": "admin-a"}
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def county(stack):
    orgs, ids = await start_org_stack(stack, volunteers=True)
    yield orgs
    await orgs.close()


async def report(stack, grid: str, category: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        data = await stack.ok("mutation($i: ReportCaseInput!) { reportCase(input: $i) { id } }", {"i": {
            **REPORT, "categoryCode": category, "regionId": grid}}, role="resident", sub=f"res-{grid}-{i}")
        ids.append(data["reportCase"]["id"])
    return ids


def code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_county_session_rank_trend_hotspot_to_meeting(county, stack):
    admin = stack.token(**ADMIN_A)
    tree = await party_tree(county, admin)
    unit = await county("unit.register", admin, name="示例物业公司", kind="PROPERTY_COMPANY", regionId="comm-a",
                        contacts=[{"name": "联系人", "title": "经理", "phone": "13700001111"}])
    await county("org.addUnit", admin, id=tree["comm"]["id"], unitId=unit["id"])
    # Two meetings: the next one coming up (where a raised hotspot goes by default), and one
    # scheduled a minute ago that is held during the test (no wait for a clock to pass).
    upcoming = await county("meeting.schedule", admin, committeeId=tree["comm"]["id"],
                            scheduledAt=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    meeting = await county("meeting.schedule", admin, committeeId=tree["comm"]["id"],
                           scheduledAt=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())

    garbage = await report(stack, "grid-a1", "ENV_GARBAGE", 3)
    await report(stack, "grid-a2", "FACILITY_STREETLIGHT", 1)
    await report(stack, "grid-b1", "FACILITY_STREETLIGHT", 2)

    # Rankings: the community's grids by open cases, from the rollups once the projector caught up.
    # (the projector may fold grid-a2's report in a later batch than grid-a1's: wait for both)
    ranked = await eventually(lambda: stack.ok("""{ rankings(regionId: "comm-a", metric: OPEN_CASES) {
        rank value region { id name } } }""", **ADMIN_A), lambda d: [r["value"] for r in d["rankings"]] == [3, 1])
    assert [(r["rank"], r["region"]["id"], r["value"]) for r in ranked["rankings"]] == [
        (1, "grid-a1", 3.0), (2, "grid-a2", 1.0)]
    # (the projector may fold the last reports, county-b's, in a later batch than grid-a1's)
    asc = await eventually(lambda: stack.ok("""{ rankings(regionId: "city", metric: OPEN_CASES, order: ASC,
        first: 1) { rank value region { id } } }"""), lambda d: d["rankings"][0]["value"] == 2)
    assert [(r["region"]["id"], r["value"]) for r in asc["rankings"]] == [("county-b", 2.0)]
    coverage = await stack.ok("""{ rankings(regionId: "comm-a", metric: BRANCH_COVERAGE) { value region { id } } }""",
                              **ADMIN_A)
    assert [(r["region"]["id"], r["value"]) for r in coverage["rankings"]] == [("grid-a1", 1.0), ("grid-a2", 0.0)]

    # Drill-down: the children and their overviews in the same query, one figures call per service
    # (counted by a bystander on the request subjects).
    async with RequestCounter(stack, "yiwang.*.stats.batch") as seen:
        drill = await stack.ok("""{ region(id: "county-a") { children { edges { node { id overview {
            cases { total } organizations { branchCoverage } volunteers { volunteerCount } } children { edges { node {
            id overview { cases { total } organizations { branchCoverage } volunteers { volunteerCount } } } } } } } } } }""",
                               **ADMIN_A)
        calls = await seen.settle()
    assert sorted(calls) == ["yiwang.cases.stats.batch", "yiwang.cases.stats.batch", "yiwang.organizations.stats.batch",
                             "yiwang.organizations.stats.batch", "yiwang.volunteers.stats.batch",
                             "yiwang.volunteers.stats.batch"]  # one per service and level of the tree
    town = drill["region"]["children"]["edges"][0]["node"]
    totals = {e["node"]["id"]: e["node"]["overview"]["cases"]["total"] for e in town["children"]["edges"]}
    assert town["overview"]["cases"]["total"] == 4 and totals == {"comm-a": 4}

    # Trend: today's reports in the county, per day for a week.
    today = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    trend = await stack.ok("""query($f: DateTime!, $t: DateTime!) { trend(regionId: "county-a",
        metric: CASES_REPORTED, from: $f, to: $t, interval: DAY) { kind points { start value } } }""",
                           {"f": (today - timedelta(days=6)).isoformat(), "t": (today + timedelta(days=1)).isoformat()},
                           **ADMIN_A)
    assert trend["trend"]["kind"] == "FLOW" and [p["value"] for p in trend["trend"]["points"]] == [0] * 6 + [4]
    # A stock of another service: party members at the end of each day (one registered today).
    await member(county, admin, tree["grid"]["id"])
    members = await stack.ok("""query($f: DateTime!, $t: DateTime!) { trend(regionId: "county-a",
        metric: PARTY_MEMBERS, from: $f, to: $t, interval: WEEK) { kind points { value } } }""",
                             {"f": (today - timedelta(days=13)).isoformat(), "t": (today + timedelta(days=1)).isoformat()},
                             **ADMIN_A)
    assert members["trend"]["kind"] == "STOCK" and members["trend"]["points"][-1]["value"] == 1
    assert all(p["value"] == 0 for p in members["trend"]["points"][:-1])

    # Hotspots: the cluster in grid-a1; the single report in grid-a2 is not one.
    since = (today - timedelta(days=6)).isoformat()
    spots = await stack.ok("""query($s: DateTime!) { hotspots(regionId: "county-a", since: $s) {
        id count previousCount trend categoryCode region { id } category { name } } }""", {"s": since}, **ADMIN_A)
    assert [(h["region"]["id"], h["categoryCode"], h["count"], h["trend"]) for h in spots["hotspots"]] == [
        ("grid-a1", "ENV_GARBAGE", 3, "NEW")]

    # Raise it to the next joint meeting of the community's 大党委; raising it again changes nothing.
    raise_ = """mutation($i: RaiseHotspotInput!) { raiseHotspotToJointMeeting(input: $i) {
        id agenda { id source title caseIds hotspot { count categoryCode grid { id } } cases { id } } } }"""
    by_default = (await stack.ok(raise_, {"i": {"gridId": "grid-a1", "categoryCode": "ENV_GARBAGE", "since": since}},
                                 **ADMIN_A))["raiseHotspotToJointMeeting"]
    assert by_default["id"] == upcoming["id"]  # the next meeting; the one already due is not "coming up"
    into = {"gridId": "grid-a1", "categoryCode": "ENV_GARBAGE", "since": since, "meetingId": meeting["id"]}
    raised = (await stack.ok(raise_, {"i": into}, **ADMIN_A))["raiseHotspotToJointMeeting"]
    assert raised["id"] == meeting["id"]
    item = raised["agenda"][-1]
    assert item["source"] == "CASE_HOTSPOT" and item["hotspot"]["count"] == 3
    assert sorted(item["caseIds"]) == sorted(garbage) and len(item["cases"]) == 3
    again = (await stack.ok(raise_, {"i": into}, **ADMIN_A))["raiseHotspotToJointMeeting"]
    assert len(again["agenda"]) == len(raised["agenda"])

    # The meeting is held and resolves the item: the resolution links back to the cases.
    await stack.ok("""mutation($m: ID!) { recordMeetingMinutes(meetingId: $m, input: {minutes: "议定垃圾清运",
        attendedUnitIds: []}) { id } }""", {"m": meeting["id"]}, **ADMIN_A)
    resolved = (await stack.ok("""mutation($m: ID!, $a: [ID!]) { addResolution(meetingId: $m,
        text: "增设垃圾清运班次", actionItems: ["物业每日两次清运"], agendaItemIds: $a) {
        resolutions { agendaItemIds caseIds cases { id title } } } }""", {"m": meeting["id"], "a": [item["id"]]},
                               **ADMIN_A))["addResolution"]["resolutions"][0]
    assert sorted(resolved["caseIds"]) == sorted(garbage) and len(resolved["cases"]) == 3
    # ... and each case shows the meeting's decision on its timeline (from the RESOLUTION_ADDED event).
    noted = await eventually(lambda: stack.ok("""query($id: ID!) { case(id: $id) { status timeline { type note } } }""",
                                              {"id": garbage[0]}, **ADMIN_A),
                             lambda d: any(t["type"] == "DELIBERATED" for t in d["case"]["timeline"]))
    entry = next(t for t in noted["case"]["timeline"] if t["type"] == "DELIBERATED")
    assert "增设垃圾清运班次" in entry["note"] and noted["case"]["status"] == "REPORTED"


async def test_unified_view_scope_and_bad_input(county, stack):
    admin_b = {"role": "admin", "region": "county-b", "sub": "admin-b"}
    now = datetime.now(UTC)
    for q in ['{ rankings(regionId: "county-a", metric: OPEN_CASES) { rank } }',
              '{ hotspots(regionId: "county-a", since: "%s") { count } }' % (now - timedelta(days=3)).isoformat(),
              '{ trend(regionId: "county-a", metric: PARTY_MEMBERS, from: "%s", to: "%s") { kind } }' % (
                  (now - timedelta(days=3)).isoformat(), now.isoformat())]:
        assert code(await stack.gql(q, **admin_b)) == "FORBIDDEN", q
    body = await stack.gql('{ trend(regionId: "county-b", metric: SERVICE_HOURS, from: "%s", to: "%s") { kind } }' % (
        now.isoformat(), (now - timedelta(days=2)).isoformat()), **admin_b)
    assert code(body) == "BAD_USER_INPUT"
    body = await stack.gql('{ rankings(regionId: "county-b", metric: OPEN_CASES, first: 0) { rank } }', **admin_b)
    assert code(body) == "BAD_USER_INPUT"
    # No 大党委 in comm-b: raising a hotspot there says so and changes nothing.
    body = await stack.gql("""mutation { raiseHotspotToJointMeeting(input: {gridId: "grid-b1",
        categoryCode: "ENV_GARBAGE", since: "%s"}) { id } }""" % (now - timedelta(days=1)).isoformat(), **admin_b)
    assert code(body) == "NOT_FOUND"
    assert code(await stack.gql('{ rankings(regionId: "city", metric: OPEN_CASES) { rank } }',
                                role="resident", sub="r")) == "FORBIDDEN"


async def test_rankings_degrade_per_service(county, stack):
    cases = next(rt for rt in stack.runtimes if rt.name == "cases")
    await stack.stop_service(cases)
    body = await stack.gql('{ rankings(regionId: "city", metric: OPEN_CASES) { rank } }')
    assert code(body) == "UNAVAILABLE"
    ok = await stack.ok('{ rankings(regionId: "city", metric: GRIDS) { value region { id } } }')
    assert [(r["region"]["id"], r["value"]) for r in ok["rankings"]] == [("county-a", 2.0), ("county-b", 2.0)]
