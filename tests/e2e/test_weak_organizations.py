"""Weak organisations through the gateway: the sweeper flags a branch; a township's admin starts
its rectification plan, the community's operator does the tasks, the review is refused while the
score is high and passes once it is below the threshold; the county overview shows the figures.
Scope: a grid worker and a resident cannot, nor another township's admin."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.org_helpers import start_org_stack

WEAK = """query($r: ID!) { weakOrganizations(regionId: $r, first: 10) { totalCount edges { node {
    organizationId score threshold flagged organization { name }
    signals { signal value threshold points maxPoints reason }
    rectification { id status tasks { id title responsible dueAt doneAt overdue } } } } } }"""
START = """mutation($o: ID!, $i: RectificationInput!) { startRectification(organizationId: $o, input: $i) {
    id status reviewAt tasks { id title responsible dueAt } } }"""
DONE = """mutation($p: ID!, $t: ID!) { completeRectificationTask(planId: $p, taskId: $t, note: "已完成") {
    id tasks { id doneAt } } }"""
REVIEW = """mutation($p: ID!, $ok: Boolean!) { reviewRectification(planId: $p, passed: $ok, note: "复查") {
    id status reviews { passed score threshold } } }"""
FIGURES = """query { overview(regionId: "county-a") { organizations {
    weakFlaggedCount underRectificationCount rectifiedCount } } }"""


@pytest.fixture
async def county(stack):
    client, ids = await start_org_stack(stack)
    yield client
    await client.close()


def errors(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_flag_plan_tasks_review_and_scope(county, stack):
    admin = {"role": "admin", "region": "county-a", "sub": "admin-a"}
    create = "mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) { id } }"
    town = (await stack.ok(create, {"i": {"name": "示例街道党工委", "type": "TOWNSHIP_WORKING_COMMITTEE",
                                          "anchorId": "town-a"}}, **admin))["createPartyOrganization"]
    comm = (await stack.ok(create, {"i": {"name": "示例社区党委", "type": "COMMUNITY_COMMITTEE", "anchorId": "comm-a",
                                          "parentId": town["id"]}}, **admin))["createPartyOrganization"]
    branch = (await stack.ok(create, {"i": {"name": "第一网格党支部", "type": "GRID_BRANCH", "anchorId": "grid-a1",
                                            "parentId": comm["id"]}}, **admin))["createPartyOrganization"]
    rt = next(r for r in stack.runtimes if r.name == "organizations")
    # the branch has held no organisational life for four months; the sweeper scores every organisation
    months = datetime.now(UTC) - timedelta(days=120)
    await rt.db.organizations.update_one({"_id": branch["id"]}, {"$set": {"created_at": months, "last_active_at": months}})
    while await rt.sweeper.sweep_once():
        pass
    township = {"role": "admin", "region": "town-a", "sub": "admin-town-a"}
    page = (await stack.ok(WEAK, {"r": "town-a"}, **township))["weakOrganizations"]
    assert page["totalCount"] == 1
    node = page["edges"][0]["node"]
    assert node["organization"]["name"] == "第一网格党支部" and node["flagged"] and node["score"] >= node["threshold"]
    recency = next(s for s in node["signals"] if s["signal"] == "LIFE_RECENCY")
    assert recency["value"] == 120 and recency["points"] == 50 and "120 days" in recency["reason"]
    # scope: another township's admin sees none of it, a grid worker and a resident may not ask
    other = {"role": "admin", "region": "town-b", "sub": "admin-town-b"}
    assert errors(await stack.gql(WEAK, {"r": "town-a"}, **other)) == ["FORBIDDEN"]
    assert (await stack.ok(WEAK, {"r": "town-b"}, **other))["weakOrganizations"]["totalCount"] == 0
    for who in ({"role": "grid_worker", "region": "grid-a1", "sub": "gw"}, {"role": "resident", "sub": "r1"}):
        assert errors(await stack.gql(WEAK, {"r": "grid-a1"}, **who)) == ["FORBIDDEN"]
    due = datetime.now(UTC) + timedelta(days=14)
    plan_in = {"tasks": [{"title": "恢复三会一课", "responsible": "支部书记", "dueAt": due.isoformat()},
                         {"title": "在职党员双报到", "responsible": "组织委员", "dueAt": due.isoformat()}],
               "reviewAt": (due + timedelta(days=16)).isoformat(), "note": "整顿", "idempotencyKey": "e2e-plan"}
    for who in (other, {"role": "grid_worker", "region": "grid-a1", "sub": "gw"}, {"role": "resident", "sub": "r1"},
                {"role": "operator", "region": "comm-a", "sub": "op"}):
        assert errors(await stack.gql(START, {"o": branch["id"], "i": plan_in}, **who)) == ["FORBIDDEN"]
    bad = {**plan_in, "tasks": [], "idempotencyKey": None}
    assert errors(await stack.gql(START, {"o": branch["id"], "i": bad}, **township)) == ["BAD_USER_INPUT"]
    plan = (await stack.ok(START, {"o": branch["id"], "i": plan_in}, **township))["startRectification"]
    again = (await stack.ok(START, {"o": branch["id"], "i": plan_in}, **township))["startRectification"]
    assert again["id"] == plan["id"] and plan["status"] == "OPEN" and len(plan["tasks"]) == 2
    figures = (await stack.ok(FIGURES, **admin))["overview"]["organizations"]
    assert figures == {"weakFlaggedCount": 1, "underRectificationCount": 1, "rectifiedCount": 0}
    # tasks: the community's operator; not a grid worker, not the other township
    operator = {"role": "operator", "region": "comm-a", "sub": "op-comm-a"}
    for who in (other, {"role": "grid_worker", "region": "grid-a1", "sub": "gw"}):
        assert errors(await stack.gql(DONE, {"p": plan["id"], "t": "t1"}, **who)) == ["FORBIDDEN"]
    for task in ("t1", "t2"):
        await stack.ok(DONE, {"p": plan["id"], "t": task}, **operator)
    # the review: refused while the score is still over the threshold (with the reason)
    body = await stack.gql(REVIEW, {"p": plan["id"], "ok": True}, **township)
    assert errors(body) == ["CONFLICT"] and "threshold" in body["errors"][0]["message"]
    assert errors(await stack.gql(REVIEW, {"p": plan["id"], "ok": True}, **other)) == ["FORBIDDEN"]
    await stack.ok("""mutation($i: RecordOrganizationalLifeInput!) { recordOrganizationalLife(input: $i) { id } }""",
                   {"i": {"organizationId": branch["id"], "kind": "BRANCH_GENERAL_MEETING", "topic": "支部党员大会",
                          "heldAt": datetime.now(UTC).isoformat(), "attendance": []}}, **operator)
    while await rt.sweeper.sweep_once():
        pass
    reviewed = (await stack.ok(REVIEW, {"p": plan["id"], "ok": True}, **township))["reviewRectification"]
    assert reviewed["status"] == "PASSED" and reviewed["reviews"][-1]["score"] < reviewed["reviews"][-1]["threshold"]
    assert (await stack.ok(WEAK, {"r": "town-a"}, **township))["weakOrganizations"]["totalCount"] == 0
    figures = (await stack.ok(FIGURES, **admin))["overview"]["organizations"]
    assert figures == {"weakFlaggedCount": 0, "underRectificationCount": 0, "rectifiedCount": 1}


async def test_settings_through_the_gateway(county, stack):
    q = "mutation($i: WeakScoreSettingsInput!) { setWeakScoreSettings(input: $i) { threshold version rules { signal points } } }"
    i = {"threshold": 40, "rules": [{"signal": "LIFE_FREQUENCY", "threshold": 2, "points": 15}]}
    county_admin = {"role": "admin", "region": "county-a", "sub": "admin-a"}
    assert errors(await stack.gql(q, {"i": i}, **county_admin)) == ["FORBIDDEN"]
    s = (await stack.ok(q, {"i": i}, role="admin", region="city", sub="city-admin"))["setWeakScoreSettings"]
    assert s["threshold"] == 40 and s["version"] == 1
    assert {r["signal"]: r["points"] for r in s["rules"]}["LIFE_FREQUENCY"] == 15
    read = await stack.ok("query { weakScoreSettings { threshold version } }", **county_admin)
    assert read["weakScoreSettings"] == {"threshold": 40, "version": 1}
