"""`caseEvents(regionId)` over graphql-transport-ws, and the SLA sweeper, end to end."""
from __future__ import annotations

import pytest

from tests.cases_gateway import (GET, GW_A1, IN_A1, IN_B1, OP_A, R1, R2, Subscriber, act, case_stats, consumer_count,
                         eventually, init_answer, report, start_cases_stack, wait_consumers)

EVENTS = """subscription($r: ID!) { caseEvents(regionId: $r) {
  type caseId at actor level status note case { id title status } } }"""


async def subscribed(stack, who: dict, region: str) -> Subscriber:
    """Open a subscription and return once its JetStream consumer is in place."""
    before = await consumer_count(stack)
    sub = await Subscriber(stack, stack.token(**who)).__aenter__()
    await sub.subscribe(EVENTS, {"r": region})
    await wait_consumers(stack, before + 1)
    return sub


async def test_subscription_receives_reported_and_escalated_in_its_subtree_only(stack):
    await start_cases_stack(stack)
    sub = await subscribed(stack, OP_A, "town-a")
    try:
        mine = await report(stack, R1, IN_A1)
        other = await report(stack, R2, IN_B1)  # the sibling township: must never arrive
        await act(stack, "escalateCase", GW_A1, id=mine["id"], reason="涉及多户, 需社区协调")
        got = [d["caseEvents"] for d in await sub.events_until(lambda d: d["caseEvents"]["type"] == "ESCALATED")]
    finally:
        await sub.__aexit__()
    assert {e["caseId"] for e in got} == {mine["id"]} and other["id"] not in str(got)
    assert [e["type"] for e in got] == ["REPORTED", "ESCALATED"]
    reported, escalated = got
    assert reported["level"] == "GRID" and reported["status"] == "REPORTED" and reported["actor"] == "resident"  # a resident acts by role on the bus
    assert escalated["level"] == "COMMUNITY" and escalated["actor"] == "gw-a1"
    assert escalated["note"] == "涉及多户, 需社区协调"
    assert escalated["case"] == {"id": mine["id"], "title": mine["title"], "status": "ACCEPTED"}
    # the consumer goes away with the client
    await eventually(lambda: consumer_count(stack), lambda n: n == 0, timeout=15)


async def test_grid_worker_watches_own_grid_and_nobody_watches_outside_scope(stack):
    await start_cases_stack(stack)
    sub = await subscribed(stack, GW_A1, "grid-a1")
    try:
        case = await report(stack, R1, IN_A1)
        await act(stack, "acceptCase", GW_A1, id=case["id"])
        got = await sub.events_until(lambda d: d["caseEvents"]["type"] == "ACCEPTED")
        assert [d["caseEvents"]["type"] for d in got] == ["REPORTED", "ACCEPTED"]
    finally:
        await sub.__aexit__()

    refused = [(OP_A, "town-b"), (GW_A1, "comm-a"), (GW_A1, "grid-a2"), (R1, "grid-a1"),
               # a department watches the cases it handles in its own region only (test_department_events.py)
               ({"role": "department", "region": "county-a", "dept": "URBAN_MGMT"}, "county-b")]
    for who, region in refused:
        async with Subscriber(stack, stack.token(**who)) as ws:
            await ws.subscribe(EVENTS, {"r": region})
            message = await ws.receive()
            assert message["type"] in ("next", "error"), message
            errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
            assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"], (who, region, message)

    assert await init_answer(stack, {}) == "closed 4403"  # no token: refused at connection_init


# due_soon_share 0: the escalation alone (a 1 s deadline may or may not be seen in its last fifth)
@pytest.mark.parametrize("sla", [{"sla_grid_s": 1, "sla_sweep_s": 0.3, "due_soon_share": 0}])
async def test_sweeper_escalates_an_unhandled_case(stack, sla):
    await start_cases_stack(stack, **sla)
    sub = await subscribed(stack, OP_A, "comm-a")
    try:
        case = await report(stack, R1, IN_A1)
        assert case["level"] == "GRID"
        got = await sub.events_until(lambda d: d["caseEvents"]["type"] == "ESCALATED", timeout=20)
    finally:
        await sub.__aexit__()
    assert [d["caseEvents"]["type"] for d in got] == ["REPORTED", "OVERDUE", "ESCALATED"]
    assert {d["caseEvents"]["actor"] for d in got[1:]} == {"system:cases"}

    after = (await stack.ok(GET, {"id": case["id"]}, **OP_A))["case"]
    assert after["level"] == "COMMUNITY" and after["status"] == "ACCEPTED" and after["escalations"] == 1
    assert not after["overdue"] and after["dueAt"] > case["dueAt"]
    assert [e["type"] for e in after["timeline"]] == ["REPORTED", "OVERDUE", "ESCALATED"]
    assert [e["level"] for e in after["timeline"]] == ["GRID", "GRID", "COMMUNITY"]
    stats = await eventually(lambda: case_stats(stack, "comm-a"), lambda s: s["total"] == 1)
    assert stats["open"] == 1 and stats["responded"] == 0 and stats["responseRate"] == 0.0
