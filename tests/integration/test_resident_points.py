"""Residents' points and units' service orders in the volunteers service, on real NATS and SecantusDB:
awards by staff in scope and by a service, caps, idempotent retries, a resident's own balance,
history and redemption, expiry by the sweeper, the audited rule table; orders dispatched to a
co-building unit checked against the organizations service; figures equal to a recount."""
from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.cases_helpers import CasesClient, expect_error
from tests.org_helpers import assert_volunteer_rollups_equal_recount, start_org_stack

SORTING = dict(ruleCode="RUBBISH_SORTING", regionId="grid-a1")


@pytest.fixture
async def vols(stack):
    orgs, _ = await start_org_stack(stack, volunteers=True)
    await orgs.close()
    client = await CasesClient.connect(stack, "volunteers")
    await client.wait_territory(["comm-a", "grid-a1", "bldg-a1-1", "comm-b", "grid-b1"])
    yield client
    await client.close()


def db(stack):
    return next(rt for rt in stack.runtimes if rt.name == "volunteers").db


async def assert_figures_equal_recount(stack) -> None:
    await assert_volunteer_rollups_equal_recount(stack)


async def test_staff_award_residents_read_their_own_and_redeem(vols, stack):
    gw = stack.token(role="grid_worker", region="grid-a1", sub="gw-a1")
    other_gw = stack.token(role="grid_worker", region="grid-b1", sub="gw-b1")
    op_b = stack.token(role="operator", region="comm-b", sub="op-b")
    res, res2 = stack.token(role="resident", sub="res-pts-1"), stack.token(role="resident", sub="res-pts-2")
    # happy path, and an idempotent retry
    first = await vols("resident.award", gw, sub="res-pts-1", occasion="2026-10-07", idempotencyKey="k1", **SORTING)
    again = await vols("resident.award", gw, sub="res-pts-1", occasion="2026-10-07", idempotencyKey="k1", **SORTING)
    assert first == again and first["balance"] == 1 and first["entry"]["ruleCode"] == "RUBBISH_SORTING"
    # the same occasion under another key: still the first award; a second occasion that day: over the cap
    same = await vols("resident.award", gw, sub="res-pts-1", occasion="2026-10-07", idempotencyKey="k2", **SORTING)
    assert same["entry"]["id"] == first["entry"]["id"]
    await expect_error(vols("resident.award", gw, sub="res-pts-1", occasion="evening", **SORTING), "CONFLICT")
    # bad input and scope change nothing
    await expect_error(vols("resident.award", gw, sub="res-pts-1", ruleCode="NO_SUCH", regionId="grid-a1",
                            occasion="x"), "BAD_INPUT")
    await expect_error(vols("resident.award", other_gw, sub="res-pts-1", occasion="x", **SORTING), "FORBIDDEN")
    await expect_error(vols("resident.award", res2, sub="res-pts-1", occasion="x", **SORTING), "FORBIDDEN")
    await expect_error(vols("resident.award", stack.token(role="admin", region="county-a"), sub="res-pts-1",
                            ruleCode="ACTIVITY", regionId="county-a", occasion="x"), "BAD_INPUT")  # not a community
    op_a = stack.token(role="operator", region="comm-a", sub="op-a")
    await vols("resident.award", op_a, sub="res-pts-1", ruleCode="DELIBERATION", regionId="comm-a",
               occasion="proposal-1")
    # other services award automatically, with their own token only
    service = stack.token(role="service")
    await vols("points.residentAward", service, sub="res-pts-1", ruleCode="DELIBERATION", regionId="comm-b",
               occasion="pp-1")
    await expect_error(vols("points.residentAward", stack.token(role="admin", region="city"), sub="res-pts-1",
                            ruleCode="DELIBERATION", regionId="comm-b", occasion="pp-2"), "FORBIDDEN")
    # the resident reads their own; another resident cannot; staff see their scope
    assert (await vols("resident.balance", res))["balance"] == 11
    await expect_error(vols("resident.balance", res2, sub="res-pts-1"), "FORBIDDEN")
    assert (await vols("resident.balance", res2))["balance"] == 0
    history = await vols("resident.history", res)
    assert history["totalCount"] == 3 and {e["regionId"] for e in history["items"]} == {"grid-a1", "comm-a", "comm-b"}
    seen_b = await vols("resident.history", op_b, sub="res-pts-1")
    assert [e["regionId"] for e in seen_b["items"]] == ["comm-b"]
    assert (await vols("resident.balance", op_b, sub="res-pts-1"))["earnedHere"] == 5
    await expect_error(vols("resident.history", op_b, sub="res-pts-2"), "FORBIDDEN")
    await expect_error(vols("resident.history", stack.token(role="volunteer", region="comm-a"), sub="res-pts-1"),
                       "FORBIDDEN")
    # redemption: once per redemptionId, never below zero
    await vols("catalogue.upsert", stack.token(role="admin", region="city"), code="BAG", name="环保袋", cost=4, stock=9)
    outcomes = await asyncio.gather(*(vols("resident.redeem", res, itemCode="BAG", redemptionId=f"r{i}")
                                      for i in range(4)), return_exceptions=True)
    ok = [o for o in outcomes if isinstance(o, dict)]
    assert len(ok) == 2 and all(str(o.code) == "CONFLICT" for o in outcomes if not isinstance(o, dict)), outcomes
    retry = await vols("resident.redeem", res, itemCode="BAG", redemptionId=ok[0]["entry"]["sourceId"])
    assert retry["entry"]["id"] == ok[0]["entry"]["id"] and retry["balance"] == 3
    await expect_error(vols("resident.redeem", res2, itemCode="BAG", redemptionId="x"), "NOT_FOUND")
    await expect_error(vols("resident.redeem", gw, itemCode="BAG", redemptionId="x"), "FORBIDDEN")
    # figures by region
    stats = (await vols("stats.batch", stack.token(role="admin", region="city"), ids=["city", "comm-a", "comm-b"]))
    city = stats["items"]["city"]
    assert (city["residentsWithPoints"], city["residentPointsAwarded"], city["residentPointsRedeemed"]) == (2, 11, 8)
    assert stats["items"]["comm-a"]["residentsWithPoints"] == 1 and city["pointsIssued"] == 0
    # a year later the rest lapses where it was earned
    rt = next(rt for rt in stack.runtimes if rt.name == "volunteers")
    await rt.sweeper.sweep_once(datetime.now(UTC) + timedelta(days=366))
    assert (await vols("resident.balance", res))["balance"] == 0
    history = (await vols("resident.history", res, first=50))["items"]
    assert sum(e["delta"] for e in history) == 0 and "EXPIRY" in {e["sourceKind"] for e in history}
    # the bus: events name the ledger account, never the resident
    events = [x async for x in db(stack).outbox.find({"type": {"$regex": "RESIDENT_POINTS"}})]
    assert {e["type"].split(".")[2] for e in events} == {"RESIDENT_POINTS_AWARDED", "RESIDENT_POINTS_REDEEMED",
                                                        "RESIDENT_POINTS_EXPIRED"}
    assert not [e for e in events if "res-pts-1" in json.dumps(e, default=str)]
    await assert_figures_equal_recount(stack)


async def test_the_rule_table_is_set_by_a_city_admin_and_audited(vols, stack):
    city, county = stack.token(role="admin", region="city", sub="city-admin"), stack.token(role="admin",
                                                                                          region="county-a")
    table = await vols("resident.rules", stack.token(role="resident", sub="r"))
    assert table["version"] == 0 and "DELIBERATION" in {r["code"] for r in table["rules"]}
    rules = [{"code": "TREE", "description": "植树", "points": 3, "cap": 1, "period": "YEAR"}]
    await expect_error(vols("resident.setRules", county, rules=rules), "FORBIDDEN")
    await expect_error(vols("resident.setRules", city, rules=rules * 2), "BAD_INPUT")
    assert (await vols("resident.rules", city))["version"] == 0
    done = await vols("resident.setRules", city, rules=rules)
    assert done["version"] == 1 and [r["code"] for r in done["rules"]] == ["TREE"]
    audit = await db(stack).outbox.find_one({"type": {"$regex": "RESIDENT_POINTS_RULES_SET"}})
    assert audit["envelope"]["actor"] == "city-admin" and audit["envelope"]["data"]["codes"] == ["TREE"]
    op = stack.token(role="operator", region="comm-a")
    await vols("resident.award", op, sub="r", ruleCode="TREE", regionId="comm-a", occasion="arbor day")
    await expect_error(vols("resident.award", op, sub="r", ruleCode="TREE", regionId="comm-a", occasion="again"),
                       "CONFLICT")
    await expect_error(vols("resident.award", op, sub="r", ruleCode="DELIBERATION", regionId="comm-a",
                            occasion="x"), "BAD_INPUT")  # no longer in the table


async def unit(stack, region: str, name: str) -> str:
    orgs = await CasesClient.connect(stack, "organizations")
    try:
        u = await orgs("unit.register", stack.token(role="admin", region="city"), name=name, kind="PROPERTY_COMPANY",
                       regionId=region, contacts=[{"name": "王经理", "title": "经理", "phone": "13800001111"}])
    finally:
        await orgs.close()
    return u["id"]


async def test_an_order_dispatched_to_a_unit_is_accepted_and_completed_by_staff(vols, stack):
    resident = stack.token(role="resident", sub="res-unit")
    op = stack.token(role="operator", region="comm-a", sub="op-a")
    op_b = stack.token(role="operator", region="comm-b", sub="op-b")
    here, street, there = (await unit(stack, "comm-a", "阳光物业"), await unit(stack, "town-a", "街道驻区单位"),
                           await unit(stack, "comm-b", "别处物业"))
    order = await vols("order.place", resident, category="维修", description="楼道灯坏了", buildingId="bldg-a1-1")
    await vols("order.review", op, id=order["id"], approve=True)
    unit_target = {"kind": "UNIT", "id": here}
    await expect_error(vols("order.dispatch", op, id=order["id"], target={"kind": "UNIT", "id": there}), "BAD_INPUT")
    await expect_error(vols("order.dispatch", op, id=order["id"], target={"kind": "UNIT", "id": "un-none"}),
                       "BAD_INPUT")
    await expect_error(vols("order.dispatch", op_b, id=order["id"], target=unit_target), "FORBIDDEN")
    await vols("order.dispatch", op, id=order["id"], target={"kind": "UNIT", "id": street})  # the street's unit may
    o = await vols("order.dispatch", op, id=order["id"], target=unit_target)
    assert o["status"] == "DISPATCHED" and o["target"] == {"kind": "UNIT", "id": here, "name": "阳光物业"}
    volunteer = stack.token(role="volunteer", region="comm-a", sub="v-unit")
    await vols("volunteer.register", volunteer, name="志愿者", homeRegionId="comm-a")
    await expect_error(vols("order.take", volunteer, id=order["id"]), "FORBIDDEN")
    await expect_error(vols("order.acceptForUnit", op_b, id=order["id"], handler="王师傅"), "FORBIDDEN")
    await expect_error(vols("order.acceptForUnit", volunteer, id=order["id"], handler="王师傅"), "FORBIDDEN")
    o = await vols("order.acceptForUnit", op, id=order["id"], handler="物业维修班 王师傅")
    assert (o["status"], o["takerId"], o["unitHandler"]) == ("TAKEN", here, "物业维修班 王师傅")
    await expect_error(vols("order.acceptForUnit", op, id=order["id"], handler="again"), "CONFLICT")
    other_desk = stack.token(role="admin", region="comm-a", sub="admin-a")
    await expect_error(vols("order.start", op_b, id=order["id"]), "FORBIDDEN")
    await vols("order.start", other_desk, id=order["id"])
    await vols("order.complete", op, id=order["id"], hours=1.5)
    rated = await vols("order.rate", resident, id=order["id"], score=4)
    assert rated["status"] == "RATED" and rated["unitHandler"] == "物业维修班 王师傅"  # who serves the resident
    stats = await vols("unit.orderStats", op, ids=[here, street])
    assert stats["items"][here] == {"orders": 1, "openOrders": 0, "completedOrders": 1, "hours": 1.5,
                                    "ratedOrders": 1, "averageRating": 4.0}
    assert stats["items"][street]["orders"] == 0
    await expect_error(vols("unit.orderStats", volunteer, ids=[here]), "FORBIDDEN")
    figures = (await vols("stats.batch", op, ids=["comm-a"]))["items"]["comm-a"]
    assert figures["unitOrdersCompleted"] == 1 and figures["serviceHours"] == 0
    events = [x async for x in db(stack).outbox.find({"aggregate": order["id"]})]
    assert not [e for e in events if "王师傅" in json.dumps(e, ensure_ascii=False, default=str)]
    assert next(e for e in events if ".ORDER_COMPLETED." in e["type"])["envelope"]["data"]["unit_id"] == here
    await assert_figures_equal_recount(stack)


async def test_the_demo_seed_awards_residents_and_has_a_unit_complete_an_order(vols, stack):
    """ops/cli/seed_points.py on the test territory, through the same verbs as the demo city."""
    import nats

    from ops.cli.seed import Loader
    from ops.cli.seed_points import seed_points
    from shared.messaging.rpc import RpcClient

    await unit(stack, "comm-a", "阳光物业")
    await vols("catalogue.upsert", stack.token(role="service"), code="HAIRCUT", name="理发券", cost=3, stock=10)
    nc = await nats.connect(stack.settings.nats_url)
    try:
        said = await seed_points(Loader(RpcClient(nc, timeout_s=30), stack.token(role="service"), None), stack.settings)
    finally:
        await nc.close()
    assert said.startswith("10 residents with points") and "2 service orders" in said, said
    admin = stack.token(role="admin", region="city")
    figures = (await vols("stats.batch", admin, ids=["city"]))["items"]["city"]
    assert figures["residentsWithPoints"] == 10 and figures["residentPointsRedeemed"] == 3
    assert (figures["unitOrdersCompleted"], figures["unitOrdersOpen"]) == (1, 1)
    await assert_figures_equal_recount(stack)


async def test_replay_volunteers_corrects_region_and_unit_figures(vols, stack, capsys):
    """`yiwang replay volunteers`: drifted region and unit-order counters reported, then corrected."""
    import argparse

    from ops.cli.replay import replay

    here = await unit(stack, "comm-a", "阳光物业")
    await db(stack).rollups.update_one({"_id": "comm-a"}, {"$inc": {"c.residents_with_points": 3}}, upsert=True)
    await db(stack).unit_rollups.update_one({"_id": here}, {"$inc": {"c.completed": 1}}, upsert=True)

    def run(apply: bool) -> int:
        return replay(argparse.Namespace(service="volunteers", apply=apply), stack.settings)

    assert await asyncio.to_thread(run, False) == 1
    said = capsys.readouterr().out
    assert f"live unit order figures differ: {here} completed: live 1, recount 0" in said, said
    assert "comm-a residents_with_points: live 3, recount 0" in said, said
    assert await asyncio.to_thread(run, True) == 0
    assert await asyncio.to_thread(run, False) == 0
    await assert_figures_equal_recount(stack)
