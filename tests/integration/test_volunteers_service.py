"""The volunteers service on real NATS and SecantusDB: posts never over capacity, first taker
wins, sign-ups never overbooked, redemptions never below zero; cases handed to volunteers,
points and their expiry, feedback to 双报到, masking and scope."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.volunteers import domain as d
from shared.errors import NotFound
from tests.cases_gateway import eventually
from tests.cases_helpers import CasesClient, expect_error
from tests.org_helpers import member, party_tree, start_org_stack


@pytest.fixture
async def vols(stack):
    orgs, _ = await start_org_stack(stack, volunteers=True)
    await orgs.close()
    client = await CasesClient.connect(stack, "volunteers")
    await client.wait_territory(["comm-a", "grid-a1", "bldg-a1-1", "comm-b"])
    yield client
    await client.close()


def runtime(stack, name):
    return next(rt for rt in stack.runtimes if rt.name == name)


async def register(vols, stack, n: int, community: str = "comm-a", prefix: str = "v") -> list[tuple[str, dict]]:
    """n volunteers who registered themselves; returns (token, record) pairs."""
    out = []
    for i in range(n):
        sub = f"{prefix}{i}"
        token = stack.token(role="volunteer", region=community, sub=sub)
        v = await vols("volunteer.register", token, name=f"志愿者{i}", homeRegionId=community,
                       phone=f"1380000{i:04d}", skills=["维修"])
        out.append((token, v))
    return out


async def test_claims_never_exceed_capacity_and_show_on_the_member(vols, stack):
    admin = stack.token(role="admin", region="comm-a")
    post = await vols("post.create", admin, title="政策宣传岗", type="POLICY_OUTREACH", regionId="comm-a", capacity=3)
    people = await register(vols, stack, 10)
    outcomes = await asyncio.gather(*(vols("post.claim", t, id=post["id"]) for t, _ in people),
                                    return_exceptions=True)
    assert len([o for o in outcomes if isinstance(o, dict)]) == 3, outcomes
    assert all(str(o.code) == "CONFLICT" for o in outcomes if not isinstance(o, dict))
    post = await vols("post.get", admin, id=post["id"])
    assert post["claimedCount"] == 3 and len(post["claimants"]) == 3
    holder = post["claimants"][0]["volunteerId"]
    held = await vols("post.list", admin, volunteerId=holder)
    assert [x["id"] for x in held["items"]] == [post["id"]]
    stats = (await vols("stats.batch", admin, ids=["comm-a"]))["items"]["comm-a"]
    assert stats["volunteerCount"] == 10 and stats["activePosts"] == 1 and stats["claimedPosts"] == 1


async def test_order_from_resident_to_rated_completion_first_taker_wins(vols, stack):
    resident = stack.token(role="resident", sub="res-1")
    admin = stack.token(role="admin", region="comm-a")
    people = await register(vols, stack, 6)
    order = await vols("order.place", resident, category="助老", description="帮忙换灯泡", buildingId="bldg-a1-1",
                       idempotencyKey="o-1")
    again = await vols("order.place", resident, category="助老", description="帮忙换灯泡", buildingId="bldg-a1-1",
                       idempotencyKey="o-1")
    assert again["id"] == order["id"] and order["status"] == "PENDING_REVIEW"
    await expect_error(vols("order.take", people[0][0], id=order["id"]), "CONFLICT")
    await vols("order.review", admin, id=order["id"], approve=True)
    wall = await vols("order.wishWall", people[0][0], communityId="comm-a")
    assert [o["id"] for o in wall["items"]] == [order["id"]] and wall["items"][0]["residentSub"] is None
    outcomes = await asyncio.gather(*(vols("order.take", t, id=order["id"]) for t, _ in people),
                                    return_exceptions=True)
    wins = [o for o in outcomes if isinstance(o, dict)]
    assert len(wins) == 1, outcomes
    taker = next(t for (t, v) in people if v["id"] == wins[0]["takerId"])
    other = next(t for (t, v) in people if v["id"] != wins[0]["takerId"])
    await expect_error(vols("order.start", other, id=order["id"]), "FORBIDDEN")
    await vols("order.start", taker, id=order["id"])
    await expect_error(vols("order.complete", taker, id=order["id"], hours=30), "BAD_INPUT")
    done = await vols("order.complete", taker, id=order["id"], hours=2)
    assert done["status"] == "COMPLETED" and done["hours"] == 2
    rated = await vols("order.rate", resident, id=order["id"], score=5, comment="很好")
    assert rated["status"] == "RATED"
    assert (await vols("points.balance", taker))["balance"] == 2
    history = await vols("points.history", taker)
    assert [(e["sourceKind"], e["delta"]) for e in history["items"]] == [("ORDER", 2)]
    stats = (await vols("stats.batch", stack.token(), ids=["city"]))["items"]["city"]
    assert stats["completedOrders"] == 1 and stats["openOrders"] == 0 and stats["serviceHours"] == 2
    assert stats["pointsIssued"] == 2
    assert (await vols("order.wishWall", admin, communityId="comm-a"))["totalCount"] == 0

    # Trends from the day buckets kept with those writes: flows land on today, stocks end at
    # today's figure and are 0 before anything was registered.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, second=0, microsecond=0)
    span = {"from": (today - timedelta(days=2)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    series = {m: [p["value"] for p in (await vols("trend.series", admin, regionId="comm-a", metric=m, **span))["points"]]
              for m in ("service_hours", "completed_orders", "points_issued", "volunteers", "open_orders")}
    assert series == {"service_hours": [0, 0, 2], "completed_orders": [0, 0, 1], "points_issued": [0, 0, 2],
                      "volunteers": [0, 0, 6], "open_orders": [0, 0, 0]}
    assert [p["value"] for p in (await vols("trend.series", stack.token(), regionId="comm-b", metric="service_hours",
                                            **span))["points"]] == [0, 0, 0]
    await expect_error(vols("trend.series", admin, regionId="comm-b", metric="service_hours", **span), "FORBIDDEN")


async def test_dispatch_to_a_post_only_its_holders_take_it(vols, stack):
    admin = stack.token(role="admin", region="comm-a")
    (holder_t, holder), (other_t, _) = await register(vols, stack, 2)
    post = await vols("post.create", admin, title="法律援助岗", type="LEGAL_AID", regionId="grid-a1", capacity=2)
    await vols("post.claim", holder_t, id=post["id"])
    order = await vols("order.place", stack.token(role="resident", sub="res-2"), category="法律咨询",
                       description="租房合同纠纷", lng=113.005, lat=30.005)
    await vols("order.review", admin, id=order["id"], approve=True)
    order = await vols("order.dispatch", admin, id=order["id"], target={"kind": "POST", "id": post["id"]})
    assert order["status"] == "DISPATCHED"
    await expect_error(vols("order.take", other_t, id=order["id"]), "FORBIDDEN")
    assert (await vols("order.take", holder_t, id=order["id"]))["takerId"] == holder["id"]


async def test_activity_sign_up_never_overbooks_and_hours_come_from_check_in(vols, stack):
    admin = stack.token(role="admin", region="comm-a")
    start = datetime.now(UTC) - timedelta(minutes=10)
    act = await vols("activity.create", admin, title="垃圾分类宣传", regionId="grid-a1", startsAt=start.isoformat(),
                     endsAt=(start + timedelta(hours=3)).isoformat(), capacity=2)
    assert len(act["checkCode"]) == 6 and act["hasArea"]
    people = await register(vols, stack, 5)
    outcomes = await asyncio.gather(*(vols("activity.signUp", t, id=act["id"]) for t, _ in people),
                                    return_exceptions=True)
    signed = [o for o in outcomes if isinstance(o, dict)]
    assert len(signed) == 2 and all(str(o.code) == "CONFLICT" for o in outcomes if not isinstance(o, dict))
    assert signed[0]["checkCode"] is None and len(signed[0]["attendance"]) == 1  # a volunteer sees their own line
    tokens = [t for t, v in people if any(a["volunteerId"] == v["id"] for s in signed for a in s["attendance"])]
    await expect_error(vols("activity.checkIn", tokens[0], id=act["id"], code="000000" if act["checkCode"] != "000000"
                            else "111111"), "BAD_INPUT")
    await vols("activity.checkIn", tokens[0], id=act["id"], code=act["checkCode"])
    await expect_error(vols("activity.checkIn", tokens[1], id=act["id"], lng=114.5, lat=30.5), "BAD_INPUT")
    await vols("activity.checkIn", tokens[1], id=act["id"], lng=113.005, lat=30.005)
    # Two and a half hours pass for the first volunteer.
    rt = runtime(stack, "volunteers")
    await rt.db.activities.update_one({"_id": act["id"], "signups.sub": "v" + tokens_sub(people, tokens[0])},
                                      {"$set": {"signups.$.checked_in_at": datetime.now(UTC) - timedelta(hours=2.6)}})
    out = await vols("activity.checkOut", tokens[0], id=act["id"], code=act["checkCode"])
    mine = out["attendance"][0]
    assert mine["hours"] == 2.5 and mine["backfilled"] is False
    assert (await vols("points.balance", tokens[0]))["balance"] == 2
    # An admin back-fills hours for someone who was there without checking in: marked, no points.
    late = people[4][1]
    filled = await vols("activity.backfill", admin, id=act["id"], volunteerId=late["id"], hours=1.5, reason="现场登记")
    line = next(a for a in filled["attendance"] if a["volunteerId"] == late["id"])
    assert line["backfilled"] and line["hours"] == 1.5
    assert (await vols("points.balance", admin, volunteerId=late["id"]))["balance"] == 0
    await expect_error(vols("activity.backfill", stack.token(role="operator", region="comm-a"), id=act["id"],
                            volunteerId=late["id"], hours=1, reason="x"), "FORBIDDEN")
    stats = (await vols("stats.batch", admin, ids=["comm-a"]))["items"]["comm-a"]
    assert stats["serviceHours"] == 4.0


def tokens_sub(people, token) -> str:
    return next(v["sub"] for t, v in people if t == token)[1:]


async def test_redemptions_never_go_below_zero_and_retries_redeem_once(vols, stack):
    await expect_error(vols("catalogue.upsert", stack.token(role="admin", region="county-a"), code="SOAP",
                            name="洗衣液", cost=2, stock=10), "FORBIDDEN")  # rewards of every region: a city's admins
    await vols("catalogue.upsert", stack.token(role="admin", region="city"), code="SOAP", name="洗衣液", cost=2, stock=10)
    [(token, v)] = await register(vols, stack, 1)
    rt = runtime(stack, "volunteers")
    at = datetime.now(UTC) - timedelta(days=1)
    entry = d.LedgerEntry(id="seed-1", volunteer_id=v["id"], delta=5, source_kind=d.SourceKind.ORDER,
                          source_id="seed-order", at=at, expires_at=at + timedelta(days=365),
                          region_path=tuple(v["regionPath"]))
    from services.volunteers.store import ledger_doc
    await rt.db.ledger.insert_one(ledger_doc(entry))
    outcomes = await asyncio.gather(*(vols("points.redeem", token, itemCode="SOAP", redemptionId=f"r{i}")
                                      for i in range(6)), return_exceptions=True)
    ok = [o for o in outcomes if isinstance(o, dict)]
    assert len(ok) == 2, outcomes
    assert all(str(o.code) == "CONFLICT" for o in outcomes if not isinstance(o, dict))
    assert (await vols("points.balance", token))["balance"] == 1
    again = await vols("points.redeem", token, itemCode="SOAP", redemptionId=ok[0]["entry"]["sourceId"])
    assert again["entry"]["id"] == ok[0]["entry"]["id"] and again["balance"] == 1
    items = (await vols("catalogue.list", token))["items"]
    assert items == [{"code": "SOAP", "name": "洗衣液", "cost": 2, "stock": 8}]
    # A year later the last point expires.
    await rt.sweeper.sweep_once(datetime.now(UTC) + timedelta(days=366))
    history = (await vols("points.history", token))["items"]
    assert sorted(e["sourceKind"] for e in history) == ["EXPIRY", "ORDER", "REDEMPTION", "REDEMPTION"]
    assert sum(e["delta"] for e in history) == 0


async def test_case_handed_to_a_member_volunteer_credits_hours_and_feeds_dual_registration(vols, stack):
    su = stack.token()
    orgs = await CasesClient.connect(stack, "organizations")
    tree = await party_tree(orgs, su, town="town-b", comm="comm-b", grid="grid-b1", building="bldg-b1-1")
    m = await member(orgs, su, tree["grid"]["id"])
    token = stack.token(role="volunteer", region="comm-a", sub="li-hong", member=m["id"])
    async def link() -> dict | None:  # once the members replica has the member
        try:
            return await vols("volunteer.register", token, name="李红", homeRegionId="bldg-a1-1", memberId=m["id"])
        except NotFound:
            return None

    v = await eventually(link, bool, timeout=10)
    assert v["kind"] == "PARTY_MEMBER" and v["inServiceMember"] and v["homeRegionId"] == "comm-a"
    await expect_error(vols("volunteer.register", stack.token(role="volunteer", region="comm-a", sub="x"),
                            name="冒名", homeRegionId="comm-a", memberId=m["id"]), "FORBIDDEN")
    cases = await CasesClient.connect(stack)
    op = stack.token(role="operator", region="comm-a")
    case = await cases("case.report", stack.token(role="resident", sub="r9"), title="楼道堆物",
                       categoryCode="FACILITY_STREETLIGHT", channel="MINI_PROGRAM", reporterName="王五",
                       regionId="grid-a1")
    await cases("case.accept", op, id=case["id"])
    await cases("case.assign", op, id=case["id"], assignee={"kind": "VOLUNTEER", "id": v["sub"], "name": "李红"})
    tasks = await eventually(lambda: vols("task.list", token), lambda p: p["totalCount"] == 1)
    assert tasks["items"][0]["caseId"] == case["id"] and tasks["items"][0]["status"] == "OPEN"
    await cases("case.start", token, id=case["id"])
    await cases("case.resolve", token, id=case["id"], resolution="已清理")
    await cases.close()
    await eventually(lambda: vols("points.balance", token), lambda b: b["balance"] == 1)
    feedback = await eventually(lambda: orgs("feedback.list", su, memberId=m["id"]), lambda p: p["totalCount"] == 1)
    assert feedback["items"][0]["hours"] == 1.0 and feedback["items"][0]["services"] == 1
    assert feedback["items"][0]["communityId"] is None  # no 双报到 registration yet
    await orgs.close()


async def test_masking_and_scope(vols, stack):
    [(token, v), (other, _)] = await register(vols, stack, 2)
    assert v["phone"] == "13800000000"
    seen = await vols("volunteer.get", other, id=v["id"])
    assert seen["phone"] == "138****0000"
    assert (await vols("volunteer.get", stack.token(role="operator", region="comm-a"), id=v["id"]))["phone"] \
        == "13800000000"
    await expect_error(vols("volunteer.get", stack.token(role="admin", region="county-b"), id=v["id"]), "FORBIDDEN")
    await expect_error(vols("volunteer.list", stack.token(role="resident", sub="r1")), "FORBIDDEN")
    await expect_error(vols("post.create", token, title="x", type="SAFETY", regionId="comm-a", capacity=1), "FORBIDDEN")
    await expect_error(vols("volunteer.register", token, name="again", homeRegionId="comm-a"), "CONFLICT")
    events = await runtime(stack, "volunteers").db.outbox.find().to_list(None)
    assert events and not any("1380000" in str(e) or "志愿者" in str(e) for e in events)
