"""Deliberation (一征三议两公开) in the organizations service on real NATS and SecantusDB: a resident's
proposal through every stage to its result, with a case reported for it; exact support under
concurrency; refusals that change nothing; scope; retries; events; figures equal a recount."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.cases_gateway import eventually
from tests.cases_helpers import CasesClient, expect_error
from tests.org_helpers import assert_org_rollups_equal_recount, start_org_stack

ROLL = [f"代表{i}" for i in range(1, 10)]


@pytest.fixture
async def orgs(stack):
    client, _ = await start_org_stack(stack, notice_period_s=1)
    yield client
    await client.close()


def db(stack):
    return next(rt for rt in stack.runtimes if rt.name == "organizations").db


async def events(stack, kind: str) -> list[dict]:
    return await db(stack).outbox.find({"type": f"yiwang.organizations.{kind}.v1"}).to_list(None)


async def assert_figures_equal_recount(stack) -> None:
    await assert_org_rollups_equal_recount(stack)


async def test_a_proposal_from_collection_to_its_published_result(orgs, stack):
    resident = stack.token(role="resident", sub="wx-zhang")
    admin = stack.token(role="admin", region="town-a", sub="admin-a")
    p = await orgs("proposal.submit", resident, communityId="comm-a", title="修缮3号院", body="路面破损积水",
                   proposerName="张三丰", idempotencyKey="k1")
    assert p["stage"] == "COLLECTED" and p["mine"] and p["proposer"] == "张三丰"
    again = await orgs("proposal.submit", resident, communityId="comm-a", title="修缮3号院", body="路面破损积水",
                       proposerName="张三丰", idempotencyKey="k1")
    assert again["id"] == p["id"] and await db(stack).proposals.count_documents({}) == 1
    # Another resident with the id supports it, once; they see the proposer masked.
    other = stack.token(role="resident", sub="wx-li")
    s = await orgs("proposal.support", other, id=p["id"])
    assert s["supportCount"] == 1 and s["proposer"] == "张**" and s["supported"] and s["ref"] is None
    assert (await orgs("proposal.support", other, id=p["id"]))["supportCount"] == 1
    await expect_error(orgs("proposal.support", admin, id=p["id"]), "FORBIDDEN")
    # Staff move it: 提议, 商议 (minutes required), 决议 by a vote that meets the quorum.
    await expect_error(orgs("proposal.advance", admin, id=p["id"], to="DISCUSSED", minutes="x"), "CONFLICT")
    p = await orgs("proposal.advance", admin, id=p["id"], to="PROPOSED")
    await expect_error(orgs("proposal.advance", admin, id=p["id"], to="DISCUSSED"), "BAD_INPUT")
    await expect_error(orgs("proposal.advance", admin, id=p["id"], to="DISCUSSED", minutes="纪要",
                            expectedVersion=p["version"] - 1), "CONFLICT")
    p = await orgs("proposal.advance", admin, id=p["id"], to="DISCUSSED", minutes="两委同意提交居民代表会议",
                   expectedVersion=p["version"])
    await expect_error(orgs("proposal.advance", admin, id=p["id"], to="DECIDED"), "BAD_INPUT")
    for bad, why in ((dict(attendees=ROLL[:5], votesFor=5), "no quorum"),
                     (dict(attendees=[*ROLL[:6], "路人"], votesFor=7), "not on the roll"),
                     (dict(attendees=ROLL[:7], votesFor=5), "add up")):
        e = await expect_error(orgs("proposal.vote", admin, id=p["id"], roll=ROLL, **bad), "BAD_INPUT")
        assert why in e.message
    assert (await orgs("proposal.get", admin, id=p["id"]))["version"] == p["version"]  # nothing changed
    voted = await orgs("proposal.vote", admin, id=p["id"], roll=ROLL, attendees=ROLL[:7], votesFor=6,
                       votesAgainst=1, idempotencyKey="v1")
    assert voted["stage"] == "DECIDED" and voted["decision"]["passed"] and voted["decision"]["requiredAttendance"] == 6
    assert (await orgs("proposal.vote", admin, id=p["id"], roll=ROLL, attendees=ROLL[:7], votesFor=6,
                       votesAgainst=1, idempotencyKey="v1"))["version"] == voted["version"]
    # Not public yet: a resident who is neither proposer nor supporter is refused.
    stranger = stack.token(role="resident", sub="wx-wang")
    await expect_error(orgs("proposal.get", stranger, id=p["id"]), "FORBIDDEN")
    # 公开: a notice period shorter than the configured minimum is refused; the community may set longer.
    await expect_error(orgs("rule.set", admin, communityId="comm-a", noticePeriodSeconds=0), "BAD_INPUT")
    rule = await orgs("rule.set", admin, communityId="comm-a", noticePeriodSeconds=2)
    assert rule["noticePeriodSeconds"] == 2
    e = await expect_error(orgs("proposal.advance", admin, id=p["id"], to="NOTICED", noticeText="决议：修缮",
                                noticePeriodSeconds=1), "BAD_INPUT")
    assert "shorter" in e.message
    n = await orgs("proposal.advance", admin, id=p["id"], to="NOTICED", noticeText="决议：修缮3号院路面",
                   idempotencyKey="n1")
    assert n["stage"] == "NOTICED" and n["notices"][0]["open"]
    notice_id = n["notices"][0]["id"]
    assert (await orgs("proposal.advance", admin, id=p["id"], to="NOTICED", noticeText="x",
                       idempotencyKey="n1"))["version"] == n["version"]
    # Residents object during the period; others do not learn who objected.
    obj = await orgs("notice.object", stranger, noticeId=notice_id, text="施工期间请保证出行")
    assert obj["objections"][0]["mine"] and obj["objections"][0]["author"] == "wx-wang"
    seen = await orgs("notice.list", other, regionId="comm-a")
    assert seen["items"][0]["objections"][0]["author"] is None and not seen["items"][0]["objections"][0]["mine"]
    assert (await orgs("notice.list", admin, regionId="comm-a"))["items"][0]["objections"][0]["author"] == "wx-wang"
    assert (await orgs("proposal.get", stranger, id=p["id"]))["stage"] == "NOTICED"  # public now
    # 实施: after the period, with every objection answered; a case is reported for it.
    e = await expect_error(orgs("proposal.advance", admin, id=p["id"], to="IMPLEMENTING"), "CONFLICT")
    assert "notice period runs until" in e.message

    async def implement():
        try:
            return await orgs("proposal.advance", admin, id=p["id"], to="IMPLEMENTING",
                              responses=[{"objectionId": "o1", "text": "分段施工"}],
                              case={"categoryCode": "FACILITY_STREETLIGHT", "gridId": "grid-a1"},
                              projectIds=["pj-1"])
        except Exception as err:  # the period still runs: CONFLICT, nothing changed
            assert getattr(err, "code", None) == "CONFLICT", err
            return None

    implemented = await eventually(implement, bool, timeout=30)
    assert implemented["stage"] == "IMPLEMENTING" and implemented["projectIds"] == ["pj-1"]
    linked = await eventually(lambda: orgs("proposal.get", admin, id=p["id"]), lambda r: r["caseIds"], timeout=20)
    cases = await eventually(lambda: db(stack).client[db(stack).name.replace("organizations", "cases")]
                             .cases.find_one({"_id": linked["caseIds"][0]}), bool)
    assert cases["channel"] == "JOINT_MEETING" and cases.get("source") == f"proposal:{p['id']}"
    done = await orgs("proposal.advance", admin, id=p["id"], to="RESULT_PUBLISHED", resultText="3号院路面已修缮")
    assert done["stage"] == "RESULT_PUBLISHED" and [x["kind"] for x in done["notices"]] == ["DECISION", "RESULT"]
    await expect_error(orgs("proposal.advance", admin, id=p["id"], to="REJECTED", reason="x"), "CONFLICT")
    # Every step is an event, none with a resident's sub or name.
    for kind in ("PROPOSAL_SUBMITTED", "PROPOSAL_SUPPORTED", "PROPOSAL_ADVANCED", "PROPOSAL_VOTED",
                 "NOTICE_PUBLISHED", "NOTICE_OBJECTED", "OBJECTION_ANSWERED", "RESULT_PUBLISHED",
                 "PROPOSAL_CASE_LINKED", "DELIBERATION_RULE_SET"):
        found = await events(stack, kind)
        assert found, kind
        assert not any(s in str(x) for x in found for s in ("wx-zhang", "wx-li", "wx-wang", "张三丰"))
    await assert_figures_equal_recount(stack)
    stats = (await orgs("stats.batch", stack.token(), ids=["county-a"]))["items"]["county-a"]
    assert stats["proposalCount"] == 1
    assert {x["stage"]: x["count"] for x in stats["proposalsByStage"]}["RESULT_PUBLISHED"] == 1


async def test_support_is_exact_under_concurrency_and_scope_holds(orgs, stack):
    admin = stack.token(role="admin", region="town-a", sub="admin-a")
    admin_b = stack.token(role="admin", region="town-b", sub="admin-b")
    operator = stack.token(role="operator", region="comm-a", sub="op-a")
    p = await orgs("proposal.submit", operator, communityId="comm-a", title="加装电梯", body="老旧小区加装电梯",
                   source="RESIDENT", proposerName="李四")
    residents = [stack.token(role="resident", sub=f"wx-r{i}") for i in range(8)]
    await asyncio.gather(*(orgs("proposal.support", r, id=p["id"]) for r in residents for _ in range(2)))
    got = await orgs("proposal.get", admin, id=p["id"])
    assert got["supportCount"] == 8 == await db(stack).supports.count_documents({})
    assert len(await events(stack, "PROPOSAL_SUPPORTED")) == 8
    # Staff of another township neither read, list nor move it; a volunteer has no part in it.
    await expect_error(orgs("proposal.get", admin_b, id=p["id"]), "FORBIDDEN")
    await expect_error(orgs("proposal.list", admin_b, regionId="comm-a"), "FORBIDDEN")
    assert (await orgs("proposal.list", admin_b, regionId="town-b"))["totalCount"] == 0
    await expect_error(orgs("proposal.advance", admin_b, id=p["id"], to="PROPOSED"), "FORBIDDEN")
    volunteer = stack.token(role="volunteer", region="comm-a", sub="v1")
    await expect_error(orgs("proposal.submit", volunteer, communityId="comm-a", title="x", body="y"), "FORBIDDEN")
    await expect_error(orgs("proposal.list", volunteer, regionId="comm-a"), "FORBIDDEN")
    # Staff record a unit's proposal only for a unit they see, in a community they hold.
    unit = await orgs("unit.register", admin, name="示例物业", kind="PROPERTY_COMPANY", regionId="comm-a", contacts=[])
    await expect_error(orgs("proposal.submit", admin, communityId="comm-a", title="x", body="y", source="UNIT"),
                       "BAD_INPUT")
    from_unit = await orgs("proposal.submit", admin, communityId="comm-a", title="更换路灯", body="小区路灯老化",
                           source="UNIT", ref=unit["id"])
    assert from_unit["proposer"] == "示例物业" and from_unit["ref"] == unit["id"]
    await expect_error(orgs("proposal.submit", admin_b, communityId="comm-a", title="x", body="y", source="UNIT",
                            ref=unit["id"]), "FORBIDDEN")
    # Residents list their own, and the public ones; staff list by stage.
    mine = await orgs("proposal.list", stack.token(role="resident", sub="wx-r0"), regionId="comm-a", mine=True)
    assert mine["totalCount"] == 0
    assert (await orgs("proposal.list", residents[0], regionId="city"))["totalCount"] == 0
    page = await orgs("proposal.list", admin, regionId="town-a", stage="COLLECTED")
    assert page["totalCount"] == 2
    rejected = await orgs("proposal.advance", operator, id=from_unit["id"], to="REJECTED", reason="已由物业自行处理")
    assert rejected["stage"] == "REJECTED" and rejected["rejectedReason"] == "已由物业自行处理"
    await expect_error(orgs("proposal.support", residents[0], id=from_unit["id"]), "CONFLICT")
    await expect_error(orgs("rule.set", operator, communityId="comm-a", noticePeriodSeconds=5), "FORBIDDEN")
    await expect_error(orgs("rule.set", admin_b, communityId="comm-a", noticePeriodSeconds=5), "FORBIDDEN")
    assert (await orgs("rule.get", residents[0], id="comm-a"))["attendanceDenominator"] == 3
    await assert_figures_equal_recount(stack)


@pytest.fixture
async def orgs_week(stack):
    """The stack with the default notice period (a week): the seed's notices stay open."""
    client, _ = await start_org_stack(stack)
    yield client
    await client.close()


async def test_the_demo_seed_loads_proposals_at_every_stage_once(orgs_week, stack):
    orgs = orgs_week
    from ops.cli.progress import Progress
    from ops.cli.seed import Loader
    from ops.cli.seed_proposals import PROPOSALS, seed_proposals
    from shared.messaging.rpc import RpcClient

    async with Progress(lambda m: None, 60) as progress:
        loader = Loader(RpcClient(orgs.rpc.nc, timeout_s=60), stack.token("service"), progress)
        s = stack.settings
        said = await seed_proposals(loader, "demo", s)
        assert said.startswith(f"{2 * len(PROPOSALS)} residents' proposals in 2 communities")
        again = await seed_proposals(loader, "demo", s)  # idempotent: nothing more
    assert again == said and await db(stack).proposals.count_documents({}) == 2 * len(PROPOSALS)
    stats = (await orgs("stats.batch", stack.token(), ids=["city"]))["items"]["city"]
    by_stage = {x["stage"]: x["count"] for x in stats["proposalsByStage"]}
    assert by_stage == {"COLLECTED": 2, "PROPOSED": 2, "DISCUSSED": 2, "DECIDED": 2, "NOTICED": 2, "IMPLEMENTING": 0,
                        "RESULT_PUBLISHED": 0, "REJECTED": 2}
    notices = await orgs("notice.list", stack.token(role="resident", sub="anyone"), regionId="city")
    assert notices["totalCount"] == 2 and all(len(n["objections"]) == 1 for n in notices["items"])
    await assert_figures_equal_recount(stack)


async def test_taking_part_earns_residents_points_even_when_the_volunteers_service_was_away(stack):
    """参与议事: raising, supporting or objecting to a proposal credits the resident's DELIBERATION
    points through the volunteers service, once per proposal, up to the rule's monthly cap; an act
    while that service is away is kept pending and credited after it is back."""
    orgs, _ = await start_org_stack(stack, volunteers=True, notice_period_s=1)
    vols = await CasesClient.connect(stack, "volunteers")
    try:
        await vols.wait_territory(["comm-a"])
        raiser, fan = stack.token(role="resident", sub="wx-raise"), stack.token(role="resident", sub="wx-fan")
        operator = stack.token(role="operator", region="comm-a", sub="op-a")
        p = await orgs("proposal.submit", raiser, communityId="comm-a", title="修缮3号院", body="路面积水")
        await orgs("proposal.support", raiser, id=p["id"])  # the same proposal: one occasion
        others = [await orgs("proposal.submit", operator, communityId="comm-a", title=f"议题{i}", body="x",
                             source="RESIDENT", proposerName="王五") for i in range(4)]  # staff earn nothing
        for x in (p, *others):
            await orgs("proposal.support", fan, id=x["id"])

        async def balance(token):
            return (await vols("resident.balance", token))["balance"]

        await eventually(lambda: balance(raiser), lambda b: b == 5, timeout=60)
        await eventually(lambda: balance(fan), lambda b: b == 20, timeout=60)  # 4 a month: the cap
        await eventually(lambda: db(stack).participation.count_documents({"pending": True}), lambda n: n == 0, timeout=60)
        rows = await db(stack).participation.find({}).to_list(None)
        assert len(rows) == 7
        outcomes = sorted(r["outcome"] for r in rows)
        assert outcomes == ["AWARDED"] * 6 + ["CAP_REACHED"], outcomes
        history = (await vols("resident.history", raiser))["items"]
        assert [(e["ruleCode"], e["regionId"], e["delta"]) for e in history] == [("DELIBERATION", "comm-a", 5)]
        assert len(await events(stack, "PARTICIPATION_RECORDED")) == 7
        assert not [e for e in await events(stack, "PARTICIPATION_RECORDED") if "wx-" in str(e)]  # nobody named

        # the volunteers service away: the act is recorded, its points wait, then arrive
        volunteers = next(rt for rt in stack.runtimes if rt.name == "volunteers")
        await stack.stop_service(volunteers)
        late = stack.token(role="resident", sub="wx-late")
        await orgs("proposal.support", late, id=p["id"])
        assert await db(stack).participation.count_documents({"pending": True}) == 1
        await stack.start_service("volunteers")
        sweeper = next(rt for rt in stack.runtimes if rt.name == "organizations").sweeper
        await sweeper.credit_participation(datetime.now(UTC) + timedelta(minutes=10))  # or the event's redelivery
        await eventually(lambda: balance(late), lambda b: b == 5, timeout=60)
        assert await db(stack).participation.count_documents({"pending": True}) == 0
    finally:
        await vols.close()
        await orgs.close()
