"""Building-level handling (小事不出楼栋) end to end through the gateway: a case of a BUILDING-level
category reported in a building starts there, the building's leader (楼栋长) handles it, the figures
count it, it escalates to the grid by hand and by the SLA sweeper, and the event log still replays
to the live figures."""
from __future__ import annotations

import asyncio

import pytest

from services.cases.replay import replay
from tests.cases_gateway import (ADMIN_A, GET, GW_A1, IN_A1, IN_A2, LIST, OP_A, R1, act, case_stats, codes, eventually,
                                 report, start_cases_stack, try_act)
from tests.territory import create

BL_1 = {"role": "building_leader", "region": "bld-a1-1", "sub": "bl-a1-1"}  # 楼栋长 of building 1 of grid a1
BL_2 = {"role": "building_leader", "region": "bld-a1-2", "sub": "bl-a1-2"}  # of another building of the same grid
NEIGHBOURS = {"categoryCode": "DISPUTE_NEIGHBOR", "title": "楼上深夜噪音", "channel": "MINI_PROGRAM"}
BUILDING_FIELDS = "id level status building { id name level } assignee { kind id } resolvedAtLevel reporter { phone }"
BUILDING_GET = f"query($id: ID!) {{ case(id: $id) {{ {BUILDING_FIELDS} }} }}"
BUILDING_REPORT = f"mutation($input: ReportCaseInput!) {{ reportCase(input: $input) {{ {BUILDING_FIELDS} }} }}"


async def buildings_stack(stack, **case_settings) -> None:
    await start_cases_stack(stack, **case_settings)
    for bid, name, grid in (("bld-a1-1", "1号楼", "grid-a1"), ("bld-a1-2", "2号楼", "grid-a1"),
                            ("bld-a2-1", "3号楼", "grid-a2")):
        await create(stack, id=bid, name=name, level="BUILDING", parentId=grid)

    async def known() -> bool:  # the cases service's own copy of the territory has them
        bodies = [await stack.gql(LIST, {"f": {"regionId": b}, "first": 0}) for b in ("bld-a1-1", "bld-a2-1")]
        return all(not b.get("errors") for b in bodies)

    await eventually(known, bool, timeout=4 * stack.settings.rpc_timeout_s)


async def report_in(stack, who: dict, building: str | None, point=IN_A1, **extra) -> dict:
    body = {"description": "", "reporterName": "张三", "reporterPhone": "13812345678", **NEIGHBOURS, **extra}
    if point:
        body |= {"lng": point[0], "lat": point[1]}
    if building:
        body["buildingId"] = building
    return (await stack.ok(BUILDING_REPORT, {"input": body}, **who))["reportCase"]


async def settled_replay(stack) -> None:
    """Every event folded into the figures, then `yiwang replay cases` finds nothing to correct."""
    db = next(rt for rt in stack.runtimes if rt.name == "cases").db
    deadline = asyncio.get_running_loop().time() + 4 * stack.settings.rpc_timeout_s
    while await db.projection_queue.count_documents({"projection": "rollups"}):
        assert asyncio.get_running_loop().time() < deadline, "the rollup projector did not catch up"
        await asyncio.sleep(0.05)
    result = await replay(db)
    assert result.clean, result


async def test_a_building_matter_is_settled_in_the_building(stack):
    await buildings_stack(stack)
    case = await report_in(stack, R1, "bld-a1-1")
    assert case["level"] == "BUILDING" and case["building"] == {"id": "bld-a1-1", "name": "1号楼", "level": "BUILDING"}
    assert case["reporter"]["phone"] == "13812345678"  # the reporter themself

    # without a building, or of a category settled higher up, it starts at the grid or its own level
    assert (await report_in(stack, R1, None))["level"] == "GRID"
    garbage = await report_in(stack, R1, "bld-a1-1", categoryCode="ENV_GARBAGE")
    assert garbage["level"] == "GRID" and garbage["building"]["id"] == "bld-a1-1"
    # a building named as the region keeps the building
    as_region = await report_in(stack, R1, None, point=None, regionId="bld-a1-2")
    assert as_region["level"] == "BUILDING" and as_region["building"]["id"] == "bld-a1-2"
    # a building of another grid than the point's is refused, and nothing is stored
    wrong = await stack.gql(BUILDING_REPORT, {"input": {"description": "", "reporterName": "张三", **NEIGHBOURS,
                                                        "lng": IN_A1[0], "lat": IN_A1[1], "buildingId": "bld-a2-1"}},
                            **R1)
    assert codes(wrong) == ["BAD_USER_INPUT"] and "not in grid" in wrong["errors"][0]["message"]
    not_a_building = await stack.gql(BUILDING_REPORT, {"input": {"description": "", "reporterName": "张三",
                                                                 **NEIGHBOURS, "buildingId": "grid-a1"}}, **R1)
    assert codes(not_a_building) == ["BAD_USER_INPUT"]

    # the leader of the building sees it (the phone, while the case is theirs to settle) and handles it
    seen = (await stack.ok(BUILDING_GET, {"id": case["id"]}, **BL_1))["case"]
    assert seen["reporter"]["phone"] == "13812345678"
    listed = (await stack.ok(LIST, {}, **BL_1))["cases"]
    assert {e["node"]["id"] for e in listed["edges"]} == {case["id"], garbage["id"]}
    # the leader of another building does not see it nor act on it
    assert codes(await stack.gql(GET, {"id": case["id"]}, **BL_2)) == ["FORBIDDEN"]
    assert codes(await try_act(stack, "acceptCase", BL_2, id=case["id"])) == ["FORBIDDEN"]
    assert (await stack.ok(LIST, {}, **BL_2))["cases"]["totalCount"] == 1  # only its own (as_region)
    # nor does the leader act on a case of its building handled at the grid
    refused = await try_act(stack, "acceptCase", BL_1, id=garbage["id"])
    assert codes(refused) == ["FORBIDDEN"] and "BUILDING level" in refused["errors"][0]["message"]

    assert (await act(stack, "acceptCase", BL_1, id=case["id"]))["status"] == "ACCEPTED"
    started = await act(stack, "startCase", BL_1, id=case["id"])
    assert started["status"] == "IN_PROGRESS" and started["assignee"] == {"kind": "BUILDING_LEADER", "id": "bl-a1-1",
                                                                          "name": "bl-a1-1"}
    resolved = await act(stack, "resolveCase", BL_1, id=case["id"], resolution="楼栋长上门调解，双方和解")
    assert resolved["status"] == "RESOLVED" and resolved["resolvedAtLevel"] == "BUILDING"
    assert [e["type"] for e in resolved["timeline"]] == ["REPORTED", "ACCEPTED", "ASSIGNED", "STARTED", "RESOLVED"]
    assert {e["actor"] for e in resolved["timeline"][1:]} == {"bl-a1-1"}

    # the figures of the building, the grid and above count it at BUILDING level
    for region in ("bld-a1-1", "grid-a1", "county-a"):
        stats = await eventually(lambda r=region: case_stats(stack, r, **ADMIN_A), lambda s: s["resolved"] == 1)
        by_level = {x["level"]: x["count"] for x in stats["resolvedByLevel"]}
        assert by_level == {"BUILDING": 1, "GRID": 0, "COMMUNITY": 0, "TOWNSHIP": 0, "COUNTY": 0}, region
        assert stats["fengqiaoShare"] == 1.0
    building = await case_stats(stack, "bld-a1-1", **BL_1)  # a leader reads its building's figures
    assert building["total"] == 2 and building["resolved"] == 1
    assert codes(await stack.gql("query($id: ID!) { overview(regionId: $id) { cases { total } } }",
                                 {"id": "bld-a1-1"}, **BL_2)) == ["FORBIDDEN"]
    await settled_replay(stack)


async def test_escalation_from_the_building_to_the_grid_by_hand(stack):
    await buildings_stack(stack)
    case = await report_in(stack, BL_1, None, channel="GRID_PATROL")  # a leader reports in its own building
    assert case["level"] == "BUILDING" and case["building"]["id"] == "bld-a1-1"
    await act(stack, "acceptCase", BL_1, id=case["id"])
    # the centre may give it to the building's leader (at BUILDING level only)
    assigned = await act(stack, "assignCase", OP_A, id=case["id"],
                         assignee={"kind": "BUILDING_LEADER", "id": "bl-a1-1", "name": "王阿姨"})
    assert assigned["status"] == "ASSIGNED" and assigned["assignee"]["kind"] == "BUILDING_LEADER"
    up = await act(stack, "escalateCase", BL_1, id=case["id"], reason="调解不成，请网格员处理")
    assert up["level"] == "GRID" and up["status"] == "ACCEPTED" and up["assignee"] is None and up["escalations"] == 1
    assert [e["level"] for e in up["timeline"]][-1] == "GRID"
    # now the grid's: the leader still sees it (masked phone), but no longer acts on it
    seen = (await stack.ok(BUILDING_GET, {"id": case["id"]}, **BL_1))["case"]
    assert seen["level"] == "GRID" and seen["reporter"]["phone"] != "13812345678"
    for mutation, args in (("startCase", {}), ("escalateCase", {"reason": "再上报"}),
                           ("resolveCase", {"resolution": "已处理"})):
        assert codes(await try_act(stack, mutation, BL_1, id=case["id"], **args)) == ["FORBIDDEN"], mutation
    bad = await try_act(stack, "assignCase", OP_A, id=case["id"], assignee={"kind": "BUILDING_LEADER", "id": "bl-a1-1"})
    assert codes(bad) == ["BAD_USER_INPUT"]
    resolved = await act(stack, "resolveCase", GW_A1, id=case["id"], resolution="网格员协调解决")
    assert resolved["resolvedAtLevel"] == "GRID"
    stats = await eventually(lambda: case_stats(stack, "grid-a1", **ADMIN_A), lambda s: s["resolved"] == 1)
    assert {x["level"]: x["count"] for x in stats["resolvedByLevel"]}["GRID"] == 1 and stats["fengqiaoShare"] == 1.0
    # a leader's report outside its building is refused
    outside = await stack.gql(BUILDING_REPORT, {"input": {"description": "", "reporterName": "王阿姨", **NEIGHBOURS,
                                                          "lng": IN_A2[0], "lat": IN_A2[1]}}, **BL_1)
    assert codes(outside) == ["BAD_USER_INPUT"]
    await settled_replay(stack)


SWEEP = {"sla_building_s": 1, "sla_grid_s": 3600, "sla_sweep_s": 0.3, "due_soon_share": 0}


@pytest.mark.parametrize("sla", [SWEEP])
async def test_the_sweeper_escalates_from_the_building_to_the_grid(stack, sla):
    await buildings_stack(stack, **sla)
    case = await report_in(stack, R1, "bld-a1-1")
    assert case["level"] == "BUILDING"
    # past its building deadline the sweeper moves it to the grid, with the grid's deadline
    after = await eventually(lambda: stack.ok(GET, {"id": case["id"]}, **OP_A),
                             lambda d: d["case"]["level"] == "GRID",
                             timeout=20 * (sla["sla_building_s"] + sla["sla_sweep_s"]) + stack.settings.rpc_timeout_s)
    c = after["case"]
    assert c["status"] == "ACCEPTED" and c["escalations"] == 1 and not c["overdue"]
    assert [e["type"] for e in c["timeline"]] == ["REPORTED", "OVERDUE", "ESCALATED"]
    assert [e["level"] for e in c["timeline"]] == ["BUILDING", "BUILDING", "GRID"]
    assert {e["actor"] for e in c["timeline"][1:]} == {"system:cases"}
    assert codes(await try_act(stack, "startCase", BL_1, id=case["id"])) == ["FORBIDDEN"]
    started = await act(stack, "startCase", GW_A1, id=case["id"])  # the grid worker takes it on
    assert started["level"] == "GRID" and started["assignee"]["kind"] == "GRID_WORKER"
    await settled_replay(stack)
