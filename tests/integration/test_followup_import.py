"""`case.import` with follow-up steps on real NATS and SecantusDB: verification (failed once),
a return visit to a hotline caller, a correction to another grid and a comment; the figures equal
a recount, the comment is in its collection and a replay agrees."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.cases.replay import replay
from tests.cases_helpers import CasesClient, start_cases_stack
from tests.integration.test_importers import assert_rollups_equal_recount, runtime


@pytest.fixture
async def cases(stack):
    client = await start_cases_stack(stack, sla_sweep_s=3600)
    yield client
    await client.close()


def followup_history() -> list[dict]:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)

    def h(k: float) -> str:
        return (t0 + timedelta(hours=k)).isoformat()

    dept = {"kind": "DEPARTMENT", "id": "URBAN_MGMT"}
    base = {"description": "导入", "categoryCode": "ENV_GARBAGE", "reporterName": "王五", "reporterPhone": "13800000000",
            "reportedAt": h(0)}
    return [
        {**base, "id": "fu-001", "title": "热线：垃圾", "channel": "HOTLINE", "regionId": "grid-a1", "steps": [
            {"action": "accept", "at": h(1)}, {"action": "assign", "at": h(2), "assignee": dept},
            {"action": "comment", "at": h(2.1), "text": "请拍照上传", "visibility": "INTERNAL"},
            {"action": "start", "at": h(3)}, {"action": "resolve", "at": h(5), "resolution": "已清运"},
            {"action": "verify", "at": h(6), "passed": False, "note": "未清理干净"},
            {"action": "resolve", "at": h(8), "resolution": "再次清运"},
            {"action": "verify", "at": h(9), "passed": True},
            {"action": "return_visit", "at": h(10), "reached": False},
            {"action": "return_visit", "at": h(12), "reached": True, "satisfaction": "SATISFIED"}]},
        {**base, "id": "fu-002", "title": "定位错了", "channel": "MINI_PROGRAM", "reporterSub": "res-2",
         "regionId": "grid-a1", "steps": [
             {"action": "accept", "at": h(1)},
             {"action": "correct", "at": h(1.5), "regionId": "grid-a2", "categoryCode": "PROPERTY_FACILITY",
              "reason": "网格划错"}]},
    ]


async def test_imported_follow_up_steps_keep_the_figures_and_replay(cases: CasesClient, stack):
    su = stack.token()
    done = await cases("case.import", su, importId="fu-1", cases=followup_history())
    assert done["imported"] == 2
    live = await assert_rollups_equal_recount(cases, stack)
    assert live["grid-a1"]["total"] == 1 and live["grid-a2"]["total"] == 1
    city = live["city"]
    assert (city["verified"], city["reworked"], city["visited"], city["corrected"]) == (1, 1, 1, 1)
    hotline = next(x for x in city["satisfactionByChannel"] if x["channel"] == "HOTLINE")
    assert (hotline["evaluated"], hotline["satisfied"]) == (1, 1)
    case = await cases("case.get", su, id="fu-001")
    assert case["status"] == "CLOSED" and case["reworkCount"] == 1 and len(case["returnVisits"]) == 2
    moved = await cases("case.get", su, id="fu-002")
    assert moved["regionId"] == "grid-a2" and moved["categoryCode"] == "PROPERTY_FACILITY"
    comments = await cases("case.comments", su, caseId="fu-001")
    assert comments["totalCount"] == 1 and comments["items"][0]["text"] == "请拍照上传"
    # a later live correction moves an imported case back; the log still accounts for everything
    await cases("case.correct", su, id="fu-002", regionId="grid-a1", reason="核实后仍属第一网格")
    await cases.settled()
    live = await assert_rollups_equal_recount(cases, stack)
    assert live["grid-a1"]["total"] == 2 and "grid-a2" not in {r for r, c in live.items() if c["total"]}
    report = await replay(runtime(stack, "cases").db)
    assert report.clean, report


async def test_the_sweeper_waits_for_verification_and_flags_an_overdue_return_visit(stack):
    """Live sweeper: a department's resolution is not auto-closed before 核查; once verified, a
    hotline case's 回访 task is flagged when its time passes (once), and the case auto-closes."""
    from tests.cases_gateway import eventually
    from tests.cases_helpers import REPORT

    cases = await start_cases_stack(stack, sla_grid_s=1, sla_community_s=1, sla_sweep_s=0.2, auto_close_s=1,
                                    return_visit_s=1)
    try:
        op = stack.token(role="operator", region="town-a", sub="op-a")
        su = stack.token()
        dept = stack.token(role="department", region="city", dept="URBAN_MGMT", sub="dept-1")
        # a manhole case: its category's 4-hour SLA keeps it from escalating during the test
        case = await cases("case.report", op, **{**REPORT, "categoryCode": "FACILITY_MANHOLE", "channel": "HOTLINE"},
                           regionId="grid-a1")
        cid = case["id"]
        await cases("case.accept", op, id=cid)
        await cases("case.assign", op, id=cid, assignee={"kind": "DEPARTMENT", "id": "URBAN_MGMT"})
        await cases("case.start", dept, id=cid)
        resolved = await cases("case.resolve", dept, id=cid, resolution="已处理")
        assert resolved["verificationDue"] and resolved["returnVisitDueAt"] is None
        # A probe the sweeper escalates twice (1 s a level): the pass of its second escalation
        # came more than auto_close_s after the resolution, and looked for cases to auto-close.
        probe = await cases("case.report", op, **{**REPORT, "channel": "HOTLINE"}, regionId="grid-a1")
        await eventually(lambda: cases("case.get", su, id=probe["id"]), lambda c: c["level"] == "TOWNSHIP",
                         timeout=30)
        assert (await cases("case.get", op, id=cid))["status"] == "RESOLVED"  # waits for 核查
        verified = await cases("case.verify", op, id=cid, passed=True)
        assert verified["returnVisitDueAt"] is not None
        done = await eventually(lambda: cases("case.get", op, id=cid),
                                lambda c: c["status"] == "CLOSED" and c["returnVisitOverdue"], timeout=30)
        assert [t["type"] for t in done["timeline"]].count("CASE_RETURN_VISIT_OVERDUE") == 1
        await cases.settled()
        mine = (await cases("stats.batch", su, ids=["grid-a1"]))["items"]["grid-a1"]
        assert (mine["returnVisitPending"], mine["returnVisitOverdue"], mine["closed"]) == (1, 1, 1)
        # the caller is reached at last: the task closes, the case stays CLOSED, the answer counts
        await cases("case.returnVisit", op, caseId=cid, reached=True, satisfaction="DISSATISFIED")
        await cases.settled()
        mine = (await cases("stats.batch", su, ids=["grid-a1"]))["items"]["grid-a1"]
        assert (mine["returnVisitPending"], mine["visited"], mine["satisfactionRate"]) == (0, 1, 0.0)
        assert (await cases("case.get", op, id=cid))["status"] == "CLOSED"
    finally:
        await cases.close()
