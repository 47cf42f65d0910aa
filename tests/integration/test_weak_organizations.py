"""The weak-organisation score (软弱涣散) and rectification (整顿) in the organizations service on
real NATS and SecantusDB, with grids and cases answering the cross-service figures: the sweeper
flags and clears (once each, whatever it is run again), plans move through their steps, overdue
tasks are raised, and the figures agree with a recount."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.organizations.replay import replay as replay_organizations
from tests.cases_helpers import expect_error
from tests.org_helpers import member, party_tree, start_org_stack

EVT = "yiwang.organizations.{}.v1"


@pytest.fixture
async def orgs(stack):
    client, _ = await start_org_stack(stack)
    yield client
    await client.close()


def runtime(stack):
    return next(rt for rt in stack.runtimes if rt.name == "organizations")


async def events(rt, name: str) -> int:
    return await rt.db.outbox.count_documents({"type": EVT.format(name)})


async def cycle(rt) -> None:
    """One whole rating cycle of the sweeper, batch by batch from its cursor."""
    while await rt.sweeper.sweep_once():
        pass


async def backdate(rt, org_id: str, days: int) -> None:
    """The organisation was set up `days` ago and has held no organisational life since."""
    at = datetime.now(UTC) - timedelta(days=days)
    await rt.db.organizations.update_one({"_id": org_id}, {"$set": {"created_at": at, "last_active_at": at}})


async def assert_recount(rt) -> None:
    report = await replay_organizations(rt.db)
    assert report.clean, (report.differences, report.notes)


async def flagged_branch(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    await member(orgs, su, t["grid"]["id"])  # in service, no 双报到, no visits
    rt = runtime(stack)
    await backdate(rt, t["grid"]["id"], 120)
    await cycle(rt)
    return t, rt


async def test_the_sweeper_flags_and_clears_once_and_the_figures_recount(orgs, stack):
    su = stack.token()
    t, rt = await flagged_branch(orgs, stack)
    page = await orgs("weak.list", su, regionId="comm-a")
    assert page["totalCount"] == 1 and [x["organizationId"] for x in page["items"]] == [t["grid"]["id"]]
    grid = page["items"][0]
    signals = {s["signal"]: s for s in grid["signals"]}
    assert signals["LIFE_RECENCY"]["points"] == 50 and signals["LIFE_RECENCY"]["value"] == 120
    assert signals["LIFE_FREQUENCY"]["points"] == 20
    assert signals["DUAL_SHARE"]["value"] == 0 and signals["DUAL_SHARE"]["points"] == 10
    # cases and grids answered: no overdue cases in the grid; no visits by its one member
    assert signals["OVERDUE_CASES"]["value"] == 0 and signals["OVERDUE_CASES"]["points"] == 0
    assert signals["MEMBER_VISITS"]["value"] == 0 and signals["MEMBER_VISITS"]["points"] == 10
    assert signals["FENGQIAO_SHARE"]["value"] is None and "Not counted" in signals["FENGQIAO_SHARE"]["reason"]
    assert grid["score"] == 90 and grid["flagged"] and grid["plan"] is None
    assert await rt.db.weak_standings.count_documents({}) == 4  # every organisation is scored
    assert await events(rt, "WEAK_ORGANIZATION_FLAGGED") == 1
    stats = (await orgs("stats.batch", su, ids=["county-a"]))["items"]["county-a"]
    assert stats["weakFlaggedCount"] == 1
    # Again: the same scores, nothing written, no second event
    await cycle(rt)
    assert await events(rt, "WEAK_ORGANIZATION_FLAGGED") == 1
    await assert_recount(rt)
    # Organisational life again: the next cycle clears it
    await orgs("life.record", stack.token(role="operator", region="comm-a"), organizationId=t["grid"]["id"],
               kind="PARTY_LECTURE", heldAt=datetime.now(UTC).isoformat(), topic="党课")
    await cycle(rt)
    assert (await orgs("weak.list", su, regionId="county-a"))["totalCount"] == 0
    assert await events(rt, "WEAK_ORGANIZATION_CLEARED") == 1
    assert (await orgs("stats.batch", su, ids=["county-a"]))["items"]["county-a"]["weakFlaggedCount"] == 0
    await assert_recount(rt)
    # Scope: another county's admin does not list this one; a resident nothing
    await expect_error(orgs("weak.list", stack.token(role="admin", region="county-b"), regionId="comm-a"), "FORBIDDEN")
    await expect_error(orgs("weak.list", stack.token(role="resident", sub="r1"), regionId="comm-a"), "FORBIDDEN")


async def test_a_rectification_plan_from_start_to_a_passed_review(orgs, stack):
    su = stack.token()
    t, rt = await flagged_branch(orgs, stack)
    branch = t["grid"]["id"]
    soon = datetime.now(UTC) + timedelta(days=10)
    plan_in = dict(organizationId=branch, tasks=[{"title": "按月召开支部委员会", "responsible": "支部书记",
                                                  "dueAt": soon.isoformat()},
                                                 {"title": "党员双报到全覆盖", "responsible": "组织委员",
                                                  "dueAt": (soon + timedelta(days=5)).isoformat()}],
                   reviewAt=(soon + timedelta(days=20)).isoformat(), note="软弱涣散整顿")
    community_admin = stack.token(role="admin", region="comm-a", sub="admin-comm-a")
    # who may not: another township's admin, an operator, the grid's own admin, a grid worker
    for who in (stack.token(role="admin", region="town-b"), stack.token(role="operator", region="comm-a"),
                stack.token(role="admin", region="grid-a1"), stack.token(role="grid_worker", region="grid-a1")):
        await expect_error(orgs("rectification.start", who, **plan_in), "FORBIDDEN")
    # bad input changes nothing
    await expect_error(orgs("rectification.start", community_admin, **{
        **plan_in, "reviewAt": (datetime.now(UTC) - timedelta(days=1)).isoformat()}), "BAD_INPUT")
    assert await rt.db.rectifications.count_documents({}) == 0
    # a calm organisation has no plan; a community's own admins do not rectify their own committee
    await expect_error(orgs("rectification.start", su, **{**plan_in, "organizationId": t["comm"]["id"]}), "CONFLICT")
    await expect_error(orgs("rectification.start", community_admin, **{**plan_in, "organizationId": t["comm"]["id"]}),
                       "FORBIDDEN")
    plan = await orgs("rectification.start", community_admin, **plan_in, idempotencyKey="plan-1")
    again = await orgs("rectification.start", community_admin, **plan_in, idempotencyKey="plan-1")
    assert again["id"] == plan["id"] and plan["status"] == "OPEN" and [x["id"] for x in plan["tasks"]] == ["t1", "t2"]
    assert await events(rt, "RECTIFICATION_STARTED") == 1
    await expect_error(orgs("rectification.start", community_admin, **plan_in), "CONFLICT")  # one open plan
    listed = (await orgs("weak.list", su, regionId="comm-a"))["items"][0]
    assert listed["planId"] == plan["id"] and listed["plan"]["tasks"][0]["responsible"] == "支部书记"
    stats = (await orgs("stats.batch", su, ids=["town-a"]))["items"]["town-a"]
    assert (stats["weakFlaggedCount"], stats["underRectificationCount"]) == (1, 1)
    # the sweeper raises a task past its deadline, once
    late = datetime.now(UTC) - timedelta(hours=1)
    await rt.db.rectifications.update_one({"_id": plan["id"]}, {"$set": {"tasks.0.due_at": late, "next_due_at": late}})
    await cycle(rt)
    await cycle(rt)
    assert await events(rt, "RECTIFICATION_TASK_OVERDUE") == 1
    assert (await orgs("rectification.get", su, id=plan["id"]))["tasks"][0]["overdue"] is True
    # tasks done by the community's operator; a task done twice is refused
    operator = stack.token(role="operator", region="comm-a")
    await expect_error(orgs("rectification.completeTask", stack.token(role="grid_worker", region="grid-a1"),
                            planId=plan["id"], taskId="t1"), "FORBIDDEN")
    done = await orgs("rectification.completeTask", operator, planId=plan["id"], taskId="t1", note="已召开",
                      idempotencyKey="t1-done")
    assert (await orgs("rectification.completeTask", operator, planId=plan["id"], taskId="t1",
                       idempotencyKey="t1-done"))["version"] == done["version"]
    await expect_error(orgs("rectification.completeTask", operator, planId=plan["id"], taskId="t1"), "CONFLICT")
    await orgs("rectification.completeTask", operator, planId=plan["id"], taskId="t2")
    assert await events(rt, "RECTIFICATION_TASK_COMPLETED") == 2
    # still over the threshold: a passed review is refused with the reason; a failed one is recorded
    err = await expect_error(orgs("rectification.review", community_admin, planId=plan["id"], passed=True), "CONFLICT")
    assert "at or above the threshold" in err.message
    await expect_error(orgs("rectification.review", operator, planId=plan["id"], passed=False), "FORBIDDEN")
    failed = await orgs("rectification.review", community_admin, planId=plan["id"], passed=False, note="整改未到位")
    assert failed["status"] == "OPEN" and failed["reviews"][0]["passed"] is False
    # organisational life and 双报到 again; the sweeper scores it below the threshold, the flag stays
    await orgs("life.record", operator, organizationId=branch, kind="BRANCH_GENERAL_MEETING",
               heldAt=datetime.now(UTC).isoformat(), topic="支部党员大会")
    await cycle(rt)
    standing = (await orgs("weak.list", su, regionId="comm-a"))["items"][0]
    assert standing["score"] < standing["threshold"] and standing["flagged"]
    passed = await orgs("rectification.review", community_admin, planId=plan["id"], passed=True, note="整改到位")
    assert passed["status"] == "PASSED" and passed["closedAt"]
    assert (await orgs("weak.list", su, regionId="comm-a"))["totalCount"] == 0
    stats = (await orgs("stats.batch", su, ids=["town-a"]))["items"]["town-a"]
    assert (stats["weakFlaggedCount"], stats["underRectificationCount"], stats["rectifiedCount"]) == (0, 0, 1)
    assert await events(rt, "WEAK_ORGANIZATION_CLEARED") == 1
    await assert_recount(rt)
    trend = await orgs("trend.series", su, regionId="town-a", metric="rectified", interval="DAY",
                       **{"from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                          "to": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
    assert trend["points"][-1]["value"] == 1


async def test_settings_are_a_city_admins_and_audited(orgs, stack):
    await expect_error(orgs("weak.setSettings", stack.token(role="admin", region="county-a"), threshold=30),
                       "FORBIDDEN")
    city = stack.token(role="admin", region="city", sub="city-admin")
    await expect_error(orgs("weak.setSettings", city, threshold=0), "BAD_INPUT")
    s = await orgs("weak.setSettings", city, threshold=30, windowDays=60,
                   rules=[{"signal": "MEMBER_VISITS", "threshold": 2, "points": 5}])
    assert s["version"] == 1 and s["threshold"] == 30
    assert {r["signal"]: r["points"] for r in s["rules"]}["MEMBER_VISITS"] == 5
    read = await orgs("weak.settings", stack.token(role="operator", region="comm-a"))
    assert {k: v for k, v in read.items() if k != "updatedAt"} == {k: v for k, v in s.items() if k != "updatedAt"}
    rt = runtime(stack)
    assert await events(rt, "WEAK_SETTINGS_CHANGED") == 1
    await expect_error(orgs("weak.rate", city, ids=["x"]), "FORBIDDEN")
