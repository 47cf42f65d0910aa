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
