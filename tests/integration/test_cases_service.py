"""The cases service on real NATS and SecantusDB: workflow, concurrency, rollups, sweeper."""
from __future__ import annotations

import asyncio
import random

import pytest

from services.cases import domain as d
from services.cases.store import case_from_doc
from tests.cases_helpers import GRIDS, REPORT, CasesClient, expect_error, start_cases_stack
from tests.territory import build_tree



@pytest.fixture
async def cases(stack):
    client = await start_cases_stack(stack, sla_grid_s=3600, sla_sweep_s=0.2)
    yield client
    await client.close()


async def test_concurrent_commands_on_one_case_cannot_both_win(cases, stack):
    res = stack.token(role="resident", sub="r1")
    case = await cases("case.report", res, **REPORT, regionId="grid-a1")
    op = stack.token(role="operator", region="town-a")
    outcomes = await asyncio.gather(*(cases("case.accept", op, id=case["id"]) for _ in range(8)),
                                    return_exceptions=True)
    wins = [o for o in outcomes if isinstance(o, dict)]
    assert len(wins) == 1 and all(str(o.code) == "CONFLICT" for o in outcomes if not isinstance(o, dict))
    assert (await cases("case.get", op, id=case["id"]))["version"] == 2


async def test_idempotent_report_under_concurrency(cases, stack):
    res = stack.token(role="resident", sub="r2")
    results = await asyncio.gather(*(cases("case.report", res, **REPORT, lng=113.005, lat=30.005,
                                           idempotencyKey="k-1") for _ in range(20)))
    assert len({r["id"] for r in results}) == 1
    page = await cases("case.list", res, first=10)
    assert page["totalCount"] == 1


async def test_intake_routes_while_grids_is_down(cases, stack):
    grids = next(rt for rt in stack.runtimes if rt.name == "grids")
    await stack.stop_service(grids)
    case = await cases("case.report", stack.token(role="resident", sub="r3"), **REPORT, lng=114.015, lat=30.005)
    assert case["regionId"] == "grid-b2" and case["regionPath"] == ["city", "county-b", "town-b", "comm-b", "grid-b2"]


async def test_bad_input_changes_nothing(cases, stack):
    res = stack.token(role="resident", sub="r4")
    await expect_error(cases("case.report", res, **{**REPORT, "categoryCode": "NOPE"}, regionId="grid-a1"), "BAD_INPUT")
    await expect_error(cases("case.report", res, **REPORT, lng=100.0, lat=10.0), "BAD_INPUT")
    await expect_error(cases("case.report", res, **REPORT, regionId="comm-a"), "BAD_INPUT")
    await expect_error(cases("case.report", res, **{**REPORT, "title": " "}, regionId="grid-a1"), "BAD_INPUT")
    await expect_error(cases("case.report", res, **REPORT, lng=113.0), "BAD_INPUT")
    assert (await cases("case.list", stack.token(), first=5))["totalCount"] == 0


async def test_sweeper_escalates_overdue_cases(stack):
    await stack.start_service("grids")
    await stack.start_service("cases", sla_grid_s=1, sla_community_s=3600, sla_sweep_s=0.2)
    await stack.start_gateway(services=("grids", "cases"))
    await build_tree(stack)
    cases = await CasesClient.connect(stack)
    await cases.wait_territory(GRIDS)
    res = stack.token(role="resident", sub="r5")
    case = await cases("case.report", res, **{**REPORT, "categoryCode": "ENV_GARBAGE"}, regionId="grid-a1")
    assert case["level"] == "GRID"
    for _ in range(100):
        case = await cases("case.get", stack.token(), id=case["id"])
        if case["level"] == "COMMUNITY":
            break
        await asyncio.sleep(0.1)
    assert case["level"] == "COMMUNITY" and case["status"] == "ACCEPTED"
    assert [t["type"] for t in case["timeline"]][-2:] == ["OVERDUE", "ESCALATED"]
    await cases.settled()
    stats = (await cases("stats.batch", stack.token(), ids=["city"]))["items"]["city"]
    assert stats["open"] == 1 and stats["overdue"] == 0  # escalated with a new deadline
    await cases.close()


async def test_rollups_equal_recount_after_random_workflows(cases, stack):
    rnd = random.Random(11)
    tokens = {
        "op_a": stack.token(role="operator", region="town-a"), "op_b": stack.token(role="operator", region="town-b"),
        **{f"gw_{g}": stack.token(role="grid_worker", region=g, sub=f"gw-{g}") for g in GRIDS},
        "dept": stack.token(role="department", region="city", dept="URBAN_MGMT"),
    }
    residents = [f"res{i}" for i in range(6)]
    ids = []
    for i in range(24):
        sub = rnd.choice(residents)
        cat = rnd.choice(["ENV_GARBAGE", "FACILITY_STREETLIGHT", "DISPUTE_NEIGHBOR"])
        grid = rnd.choice(GRIDS)
        c = await cases("case.report", stack.token(role="resident", sub=sub),
                        **{**REPORT, "categoryCode": cat}, regionId=grid)
        ids.append((c["id"], sub, grid))

    async def step(case_id, sub, grid):
        op = tokens["op_a"] if grid.startswith("grid-a") else tokens["op_b"]
        actions = [
            ("case.accept", op, {}), ("case.assign", op, {"assignee": {"kind": "DEPARTMENT", "id": "URBAN_MGMT"}}),
            ("case.start", tokens["dept"], {}), ("case.start", tokens[f"gw_{grid}"], {}),
            ("case.resolve", tokens[f"gw_{grid}"], {"resolution": "已处理"}),
            ("case.resolve", tokens["dept"], {"resolution": "已处理"}),
            ("case.return", tokens["dept"], {"reason": "不属本部门"}),
            ("case.escalate", op, {"reason": "需要上级协调"}), ("case.reject", op, {"reason": "重复"}),
            ("case.rate", stack.token(role="resident", sub=sub), {"score": rnd.randint(1, 5)}),
        ]
        for _ in range(8):
            verb, tok, extra = rnd.choice(actions)
            try:
                await cases(verb, tok, id=case_id, **extra)
            except Exception as e:  # noqa: BLE001 - illegal moves are part of the test
                assert str(getattr(e, "code", "")) in ("CONFLICT", "FORBIDDEN", "BAD_INPUT"), e

    await asyncio.gather(*(step(*x) for x in ids))
    await cases.settled()
    db = next(rt for rt in stack.runtimes if rt.name == "cases").db
    all_cases = [case_from_doc(doc) async for doc in db.cases.find()]
    expected = d.recount(all_cases)
    regions = ["city", "county-a", "county-b", "town-a", "town-b", "comm-a", "comm-b", *GRIDS]
    live = (await cases("stats.batch", stack.token(), ids=regions))["items"]
    from services.cases.views import CaseViews
    for r in regions:
        assert live[r] == CaseViews.stats(expected.get(r, {})), r
    assert live["city"]["total"] == 24


async def test_replay_rebuilds_rollups_and_finds_drift(cases, stack):
    from services.cases.replay import replay

    res = stack.token(role="resident", sub="r9")
    for grid in GRIDS:
        await cases("case.report", res, **REPORT, regionId=grid)
    c = await cases("case.report", res, **REPORT, regionId="grid-a1")
    gw = stack.token(role="grid_worker", region="grid-a1", sub="gw")
    await cases("case.accept", gw, id=c["id"])
    await cases("case.resolve", gw, id=c["id"], resolution="已修复")
    await cases("case.rate", res, id=c["id"], score=4)
    await cases.settled()
    db = next(rt for rt in stack.runtimes if rt.name == "cases").db
    report = await replay(db)
    assert report.clean and report.events == 9 and report.regions == 11, report
    await db.rollups.update_one({"_id": "town-a"}, {"$inc": {"c.total": 5}})  # drift
    report = await replay(db)
    assert report.differences == [("town-a", "total", 8, 3)]
    report = await replay(db, apply=True)
    assert (await replay(db)).clean


async def test_pages_walk_every_case_newest_first_across_windows_of_any_age(cases, stack):
    """Lists read windows of ids before the cursor, sized by what filled the list's last page:
    paging through cases minutes to years old returns each once, newest first, however the
    windows were learned."""
    from datetime import UTC, datetime, timedelta

    from services.cases.importer import history_id
    res, admin = stack.token(role="resident", sub="r9"), stack.token()
    case = await cases("case.report", res, **REPORT, regionId="grid-a1")
    rt = next(r for r in stack.runtimes if r.name == "cases")
    doc = await rt.db.cases.find_one({"_id": case["id"]})
    at = datetime.now(UTC)
    ages = [timedelta(minutes=m) for m in (2, 3, 30, 70)] + [timedelta(hours=h) for h in (3, 7, 30)] + \
        [timedelta(days=d) for d in (2, 9, 40, 200, 500, 501)]
    older = [{**doc, "_id": history_id(at - age, f"k{i}"), "created_at": at - age} for i, age in enumerate(ages)]
    await rt.db.cases.insert_many(older)
    want = [case["id"], *(d["_id"] for d in older)]
    assert want == sorted(want, reverse=True)

    for first in (2, 5, 2, 3, 14, 20):
        seen, after = [], None
        while True:
            page = await cases("case.list", admin, regionId="grid-a1", first=first, after=after, withTotal=False)
            seen += [c["id"] for c in page["items"]]
            if not page["hasNextPage"]:
                break
            after = page["endCursor"]
        assert seen == want, first
