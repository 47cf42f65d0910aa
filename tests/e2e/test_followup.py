"""A case's follow-up end to end through the gateway, on real NATS and SecantusDB: verification
(核查, failed once then passed), a return visit (回访) to a hotline caller, the 三率 and handling
figures, corrections that move a case's figures (and still replay), and comments."""
from __future__ import annotations

from typing import Any

import pytest

from services.cases.replay import replay
from tests.cases_gateway import (ADMIN_A, DEPT, GW_A1, IN_A1, IN_A2, OP_A, OP_B, R1, R2, act, codes, eventually,
                                 report, start_cases_stack, try_act)

FOLLOWUP = """id status level version assignee { kind id } region { id } category { code }
  verificationDue reworkCount verification { passed note by at } verifications { passed }
  returnVisitDueAt returnVisitOverdue returnVisits { reached satisfaction note by } corrections
  timeline { type note }"""
VERIFY = f"""mutation($id: ID!, $passed: Boolean!, $note: String) {{
  verifyCase(id: $id, passed: $passed, note: $note) {{ {FOLLOWUP} }} }}"""
VISIT = f"""mutation($id: ID!, $s: ReturnVisitSatisfaction, $reached: Boolean!, $note: String, $key: String) {{
  recordReturnVisit(caseId: $id, satisfaction: $s, reached: $reached, note: $note, idempotencyKey: $key) {{
    {FOLLOWUP} }} }}"""
CORRECT = f"""mutation($id: ID!, $i: CorrectCaseInput!) {{ correctCase(id: $id, input: $i) {{ {FOLLOWUP} }} }}"""
COMMENT = """mutation($id: ID!, $text: String!, $v: CommentVisibility!) {
  commentOnCase(id: $id, text: $text, visibility: $v) { id caseId text visibility author authorRole } }"""
COMMENTS = """query($id: ID!, $first: Int, $after: String) { case(id: $id) { timeline { type note }
  comments(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { node { text visibility author } } } } }"""
GET = f"query($id: ID!) {{ case(id: $id) {{ {FOLLOWUP} }} }}"
STATS = """query($id: ID!) { overview(regionId: $id) { cases { total resolved rated visited visitSatisfied
  verified reworked awaitingVerification returnVisitPending dispatched returned corrected
  responseRate resolutionRate satisfactionRate onTimeRate returnRate reworkRate extensionCount urgeCount
  satisfactionByChannel { channel evaluated satisfied rate } } } }"""


@pytest.fixture
async def cases(stack):
    await start_cases_stack(stack)
    return stack


async def gql(stack, query: str, who: dict, **variables: Any) -> dict:
    return await stack.gql(query, variables, **who)


async def ok(stack, query: str, who: dict, **variables: Any) -> dict:
    body = await gql(stack, query, who, **variables)
    assert not body.get("errors"), body["errors"]
    return next(iter(body["data"].values()))


async def stats(stack, region: str) -> dict:
    return (await ok(stack, STATS, ADMIN_A, id=region))["cases"]


def cases_db(stack):
    return next(rt for rt in stack.runtimes if rt.name == "cases").db


async def a_hotline_case_handled_by_a_department(stack) -> str:
    case = await report(stack, OP_A, IN_A1, channel="HOTLINE")
    await act(stack, "acceptCase", OP_A, id=case["id"])
    await act(stack, "assignCase", OP_A, id=case["id"], assignee={"kind": "DEPARTMENT", "id": "URBAN_MGMT"})
    await act(stack, "startCase", DEPT, id=case["id"])
    await act(stack, "resolveCase", DEPT, id=case["id"], resolution="已清运")
    return case["id"]


async def test_verification_fails_once_then_passes_and_a_return_visit_closes_the_case(cases):
    cid = await a_hotline_case_handled_by_a_department(cases)
    case = await ok(cases, GET, OP_A, id=cid)
    assert case["status"] == "RESOLVED" and case["verificationDue"] and case["returnVisitDueAt"] is None
    body = await try_act(cases, "closeCase", OP_A, id=cid)
    assert codes(body) == ["CONFLICT"] and "核查" in body["errors"][0]["message"]
    assert codes(await gql(cases, VERIFY, DEPT, id=cid, passed=True)) == ["FORBIDDEN"]  # not the handler
    assert codes(await gql(cases, VERIFY, GW_A1, id=cid, passed=True)) == ["FORBIDDEN"]
    assert codes(await gql(cases, VERIFY, OP_B, id=cid, passed=True)) == ["FORBIDDEN"]  # another township
    assert codes(await gql(cases, VERIFY, OP_A, id=cid, passed=False)) == ["BAD_USER_INPUT"]  # say why
    failed = await ok(cases, VERIFY, OP_A, id=cid, passed=False, note="路面仍有垃圾")
    assert failed["status"] == "IN_PROGRESS" and failed["reworkCount"] == 1
    assert failed["assignee"] == {"kind": "DEPARTMENT", "id": "URBAN_MGMT"}
    assert failed["verification"]["passed"] is False and failed["verification"]["by"] == "op-a"
    await act(cases, "resolveCase", DEPT, id=cid, resolution="已再次清运")
    passed = await ok(cases, VERIFY, ADMIN_A, id=cid, passed=True, note="现场核实")
    assert passed["status"] == "RESOLVED" and not passed["verificationDue"] and passed["returnVisitDueAt"]
    assert [v["passed"] for v in passed["verifications"]] == [False, True]
    assert codes(await gql(cases, VERIFY, OP_A, id=cid, passed=True)) == ["CONFLICT"]  # verified already
    # the 回访: nobody answers first (the task stays open), then the caller is satisfied
    bad = await gql(cases, VISIT, OP_A, id=cid, reached=True)
    assert codes(bad) == ["BAD_USER_INPUT"]
    assert codes(await gql(cases, VISIT, GW_A1, id=cid, s="SATISFIED", reached=True)) == ["FORBIDDEN"]
    missed = await ok(cases, VISIT, OP_A, id=cid, reached=False, note="无人接听")
    assert missed["status"] == "RESOLVED" and missed["returnVisitDueAt"]
    visited = await ok(cases, VISIT, OP_A, id=cid, s="BASICALLY_SATISFIED", reached=True, key="rv-1")
    again = await ok(cases, VISIT, OP_A, id=cid, s="BASICALLY_SATISFIED", reached=True, key="rv-1")
    assert visited["status"] == again["status"] == "CLOSED" and visited["returnVisitDueAt"] is None
    assert len(again["returnVisits"]) == 2  # the retry recorded nothing
    types = [t["type"] for t in visited["timeline"]]
    assert types.count("CASE_VERIFIED") == 2 and types.count("CASE_RETURN_VISITED") == 2 and types[-1] == "CLOSED"
    # the figures: the hotline caller's answer counts in 满意率 with its channel
    s = await eventually(lambda: stats(cases, "county-a"), lambda s: s["visited"] == 1)
    assert (s["verified"], s["reworked"], s["reworkRate"], s["satisfactionRate"]) == (1, 1, 1.0, 1.0)
    assert (s["dispatched"], s["returned"], s["returnRate"], s["awaitingVerification"]) == (1, 0, 0.0, 0)
    hotline = next(x for x in s["satisfactionByChannel"] if x["channel"] == "HOTLINE")
    assert hotline == {"channel": "HOTLINE", "evaluated": 1, "satisfied": 1, "rate": 1.0}
    assert s["resolutionRate"] == 1.0 and s["onTimeRate"] == 1.0
    report_ = await replay(cases_db(cases))
    assert report_.clean, report_


async def test_a_resident_sees_verification_and_visits_without_staff_names(cases):
    case = await report(cases, R1, IN_A1)
    await act(cases, "acceptCase", OP_A, id=case["id"])
    await act(cases, "assignCase", OP_A, id=case["id"], assignee={"kind": "DEPARTMENT", "id": "URBAN_MGMT"})
    await act(cases, "startCase", DEPT, id=case["id"])
    await act(cases, "resolveCase", DEPT, id=case["id"], resolution="已清运")
    assert codes(await try_act(cases, "rateCase", R1, id=case["id"], score=5)) == ["CONFLICT"]
    await ok(cases, VERIFY, OP_A, id=case["id"], passed=True, note="核实")
    seen = await ok(cases, GET, R1, id=case["id"])
    assert seen["verification"]["passed"] and seen["verification"]["by"] is None
    assert seen["returnVisitDueAt"] is None  # a resident with an account rates themself
    assert (await act(cases, "rateCase", R1, id=case["id"], score=5))["status"] == "CLOSED"


async def test_a_correction_moves_the_case_and_its_figures_and_replays(cases):
    case = await report(cases, R1, IN_A1)
    await eventually(lambda: stats(cases, "grid-a1"), lambda s: s["total"] == 1)
    cid = case["id"]
    for bad, code in (({"reason": "无"}, "BAD_USER_INPUT"),  # nothing to correct
                      ({"reason": "改", "categoryCode": "ENV_GARBAGE", "regionId": "grid-a1"}, "BAD_USER_INPUT"),
                      ({"reason": "改", "categoryCode": "NO_SUCH"}, "BAD_USER_INPUT"),
                      ({"reason": "改", "lng": 120.0, "lat": 30.0}, "BAD_USER_INPUT"),  # outside every grid
                      ({"reason": "改", "regionId": "comm-a"}, "BAD_USER_INPUT"),  # not a grid
                      ({"reason": "改", "regionId": "grid-b1"}, "FORBIDDEN")):  # outside the caller's scope
        assert codes(await gql(cases, CORRECT, OP_A, id=cid, i=bad)) == [code], bad
    assert codes(await gql(cases, CORRECT, GW_A1, id=cid, i={"reason": "改", "regionId": "grid-a2"})) == ["FORBIDDEN"]
    moved = await ok(cases, CORRECT, OP_A, id=cid,
                     i={"reason": "定位有误", "lng": IN_A2[0], "lat": IN_A2[1], "categoryCode": "ENV_NOISE"})
    assert moved["region"]["id"] == "grid-a2" and moved["category"]["code"] == "ENV_NOISE"
    assert moved["level"] == "COMMUNITY" and moved["corrections"] == 1  # the new category's level, before handling
    assert moved["timeline"][-1] == {"type": "CASE_CORRECTED", "note": "更正: 定位有误"}
    a1, a2 = await eventually(lambda: _both(cases), lambda x: x[0]["total"] == 0 and x[1]["total"] == 1)
    assert a2["corrected"] == 1 and (await stats(cases, "comm-a"))["total"] == 1
    # the event log, the live figures and a recount of the cases agree
    report_ = await eventually(lambda: replay(cases_db(cases)), lambda r: r.clean)
    assert report_.events >= 2
    # a closed case is not corrected
    await act(cases, "rejectCase", OP_A, id=cid, reason="不属于受理范围")
    assert codes(await gql(cases, CORRECT, OP_A, id=cid, i={"reason": "改", "regionId": "grid-a1"})) == ["CONFLICT"]


async def _both(stack) -> tuple[dict, dict]:
    return await stats(stack, "grid-a1"), await stats(stack, "grid-a2")


async def test_comments_residents_see_and_write_public_ones_only(cases):
    case = await report(cases, R1, IN_A1)
    cid = case["id"]
    assert codes(await gql(cases, COMMENT, R1, id=cid, text="内部", v="INTERNAL")) == ["FORBIDDEN"]
    assert codes(await gql(cases, COMMENT, R2, id=cid, text="路过", v="PUBLIC")) == ["FORBIDDEN"]
    assert codes(await gql(cases, COMMENT, OP_A, id=cid, text="x" * 2001, v="PUBLIC")) == ["BAD_USER_INPUT"]
    mine = await ok(cases, COMMENT, R1, id=cid, text="垃圾还在", v="PUBLIC")
    assert mine["author"] == "r1" and mine["authorRole"] == "resident"
    await ok(cases, COMMENT, OP_A, id=cid, text="已通知环卫，注意与居民沟通", v="INTERNAL")
    await ok(cases, COMMENT, GW_A1, id=cid, text="明早清运", v="PUBLIC")
    staff = (await ok(cases, COMMENTS, OP_A, id=cid))["comments"]
    assert staff["totalCount"] == 3 and [e["node"]["visibility"] for e in staff["edges"]] == [
        "PUBLIC", "INTERNAL", "PUBLIC"]
    page = (await ok(cases, COMMENTS, OP_A, id=cid, first=1))["comments"]
    rest = (await ok(cases, COMMENTS, OP_A, id=cid, first=5, after=page["pageInfo"]["endCursor"]))["comments"]
    assert page["pageInfo"]["hasNextPage"] and len(rest["edges"]) == 2
    resident = await ok(cases, COMMENTS, R1, id=cid)
    assert resident["comments"]["totalCount"] == 2
    assert [(e["node"]["text"], e["node"]["author"]) for e in resident["comments"]["edges"]] == [
        ("垃圾还在", "r1"), ("明早清运", None)]
    assert [t["note"] for t in resident["timeline"] if t["type"] == "CASE_COMMENTED"] == ["PUBLIC", "PUBLIC"]
    staff_timeline = (await ok(cases, COMMENTS, OP_A, id=cid))["timeline"]
    assert [t["note"] for t in staff_timeline if t["type"] == "CASE_COMMENTED"] == ["PUBLIC", "INTERNAL", "PUBLIC"]
    assert codes(await cases.gql(COMMENTS, {"id": cid}, **R2)) == ["FORBIDDEN"]
