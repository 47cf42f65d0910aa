"""Deliberation (一征三议两公开) through the gateway: residents propose and support fixing a courtyard;
the community's staff move it through 提议, 商议 and a representatives' vote with quorum to a public
notice, wait out its short notice period (set for the test stack), implement it with a case and
publish the result; refusals change nothing; scope, masking and the county's figures."""
from __future__ import annotations

import json

import nats
import pytest

from shared.messaging.streams import stream_name
from tests.cases_gateway import eventually
from tests.e2e.test_bus_privacy import stream_messages
from tests.org_helpers import start_org_stack

ROLL = ["王代表", "李代表", "赵代表", "钱代表", "孙代表", "周代表"]
PROPOSAL = """id stage supportCount proposer mine supported version community { id name }
    decision { passed rollCount attended votesFor requiredAttendance requiredFor roll }
    notices { id kind open endsAt objections { id text mine author response } }
    cases { id channel } projectIds history { stage }"""
ADVANCE = "mutation($id: ID!, $i: AdvanceProposalInput!) { advanceProposal(id: $id, input: $i) { %s } }" % PROPOSAL
SPEND = "mutation($i: RecordSpendingInput!) { recordSpending(input: $i) { id status target { kind id } } }"
VOTE = """mutation($id: ID!, $i: VoteInput!) { recordRepresentativesVote(proposalId: $id, input: $i) { %s } }""" % PROPOSAL


@pytest.fixture
async def county(stack):
    client, ids = await start_org_stack(stack, notice_period_s=1)
    yield ids
    await client.close()


def code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_residents_propose_and_the_community_decides_publishes_and_implements(county, stack):
    zhang = {"role": "resident", "sub": "wx-zhang"}
    li = {"role": "resident", "sub": "wx-li"}
    staff = {"role": "admin", "region": "comm-a", "sub": "secretary-a"}
    submitted = (await stack.ok("""mutation($i: SubmitProposalInput!) { submitProposal(input: $i) { %s } }""" % PROPOSAL,
                                {"i": {"communityId": "comm-a", "title": "修缮3号院", "body": "3号院路面破损，雨天积水",
                                       "proposerName": "张三丰", "idempotencyKey": "p-1"}}, **zhang))["submitProposal"]
    pid = submitted["id"]
    assert submitted["stage"] == "COLLECTED" and submitted["mine"] and submitted["proposer"] == "张三丰"
    assert submitted["community"]["id"] == "comm-a"
    support = "mutation($id: ID!) { supportProposal(id: $id) { supportCount supported proposer } }"
    for _ in range(2):  # twice: counted once
        s = (await stack.ok(support, {"id": pid}, **li))["supportProposal"]
    assert s == {"supportCount": 1, "supported": True, "proposer": "张**"}
    await stack.ok(support, {"id": pid}, **zhang)
    # Only staff move it, only forward, and only a vote decides it.
    assert code(await stack.gql(ADVANCE, {"id": pid, "i": {"to": "PROPOSED"}}, **zhang)) == "FORBIDDEN"
    other_staff = {"role": "admin", "region": "comm-b", "sub": "secretary-b"}
    assert code(await stack.gql(ADVANCE, {"id": pid, "i": {"to": "PROPOSED"}}, **other_staff)) == "FORBIDDEN"
    p = (await stack.ok(ADVANCE, {"id": pid, "i": {"to": "PROPOSED"}}, **staff))["advanceProposal"]
    refused = await stack.gql(ADVANCE, {"id": pid, "i": {"to": "DISCUSSED"}}, **staff)
    assert code(refused) == "BAD_USER_INPUT" and "minutes" in refused["errors"][0]["message"]
    p = (await stack.ok(ADVANCE, {"id": pid, "i": {"to": "DISCUSSED", "minutes": "两委联席会议：同意提交居民代表会议",
                                                 "expectedVersion": p["version"]}}, **staff))["advanceProposal"]
    assert code(await stack.gql(ADVANCE, {"id": pid, "i": {"to": "DECIDED"}}, **staff)) == "BAD_USER_INPUT"
    no_quorum = await stack.gql(VOTE, {"id": pid, "i": {"roll": ROLL, "attendees": ROLL[:3], "votesFor": 3}}, **staff)
    assert code(no_quorum) == "BAD_USER_INPUT" and "no quorum" in no_quorum["errors"][0]["message"]
    stranger = await stack.gql(VOTE, {"id": pid, "i": {"roll": ROLL, "attendees": [*ROLL[:4], "路人"], "votesFor": 5}},
                               **staff)
    assert "not on the roll" in stranger["errors"][0]["message"]
    p = (await stack.ok(VOTE, {"id": pid, "i": {"roll": ROLL, "attendees": ROLL[:5], "votesFor": 4, "votesAgainst": 1,
                                                 "idempotencyKey": "v-1"}}, **staff))["recordRepresentativesVote"]
    assert p["stage"] == "DECIDED" and p["decision"]["passed"] and p["decision"]["requiredAttendance"] == 4
    assert p["decision"]["roll"] == ROLL
    # The community fund (费随事转) pays for a decision only once it is carried out (实施).
    year = 2026
    await stack.ok("mutation($y: Int!) { createFundAccount(communityId: \"comm-a\", year: $y, granted: 200000) { id } }",
                   {"y": year}, **{"role": "admin", "region": "county-a"})
    spend = {"communityId": "comm-a", "year": year, "amount": 4500, "purpose": "3号院路面修缮材料",
             "target": {"kind": "PROPOSAL", "id": pid}, "idempotencyKey": "courtyard-spend"}
    early = await stack.gql(SPEND, {"i": spend}, **staff)
    assert code(early) == "BAD_USER_INPUT" and "IMPLEMENTING" in early["errors"][0]["message"]
    elsewhere = await stack.gql(SPEND, {"i": {**spend, "target": {"kind": "PROPOSAL", "id": "pp-none"}}}, **staff)
    assert code(elsewhere) == "BAD_USER_INPUT"
    # 决议公开: not shorter than the configured period; residents read the notice and object during it.
    short = await stack.gql(ADVANCE, {"id": pid, "i": {"to": "NOTICED", "noticeText": "决议：修缮3号院",
                                                      "noticePeriodSeconds": 0}}, **staff)
    assert code(short) == "BAD_USER_INPUT"
    rule = await stack.ok("""mutation { setDeliberationRule(communityId: "comm-a", input: {noticePeriodSeconds: 2})
        { noticePeriodSeconds community { id } } }""", **staff)
    assert rule["setDeliberationRule"]["noticePeriodSeconds"] == 2
    short = await stack.gql(ADVANCE, {"id": pid, "i": {"to": "NOTICED", "noticeText": "决议：修缮3号院",
                                                      "noticePeriodSeconds": 1}}, **staff)
    assert "shorter than this community's minimum of 2 s" in short["errors"][0]["message"]
    p = (await stack.ok(ADVANCE, {"id": pid, "i": {"to": "NOTICED", "noticeText": "决议：修缮3号院路面，经费由社区承担",
                                                 "idempotencyKey": "n-1"}}, **staff))["advanceProposal"]
    notice = p["notices"][0]
    assert p["stage"] == "NOTICED" and notice["kind"] == "DECISION"
    wang = {"role": "resident", "sub": "wx-wang"}
    objected = await stack.gql("""mutation($n: ID!) { objectToNotice(noticeId: $n, text: "施工期间请保证出行") {
        objections { id mine author } } }""", {"n": notice["id"]}, **wang)
    if objected.get("errors"):  # the 2 s period ran out on a busy machine before the objection came
        assert code(objected) == "CONFLICT"
        objections = []
    else:
        objections = objected["data"]["objectToNotice"]["objections"]
        assert objections == [{"id": "o1", "mine": True, "author": "wx-wang"}]
    listed = (await stack.ok("""{ publicNotices(regionId: "county-a") { totalCount edges { node {
        id title community { name } objections { mine author } } } } }""", **li))["publicNotices"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["community"]["name"] == "a社区"
    assert all(o["author"] is None and not o["mine"] for o in listed["edges"][0]["node"]["objections"])
    public = (await stack.ok("""{ proposals(regionId: "comm-a") { totalCount edges { node { id proposer } } } }""",
                             **wang))["proposals"]
    assert public["totalCount"] == 1 and public["edges"][0]["node"]["proposer"] == "张**"
    # 实施: after the period, every objection answered; a case reported for it.
    responses = [{"objectionId": o["id"], "text": "分段施工，保留通道"} for o in objections]

    async def implement() -> dict:
        return await stack.gql(ADVANCE, {"id": pid, "i": {
            "to": "IMPLEMENTING", "responses": responses, "projectIds": ["pj-courtyard"],
            "case": {"categoryCode": "FACILITY_STREETLIGHT", "gridId": "grid-a1", "description": "3号院路面修缮"}}},
            **staff)

    done = await eventually(implement, lambda b: not b.get("errors") or code(b) != "CONFLICT", timeout=30)
    assert "errors" not in done, done
    assert done["data"]["advanceProposal"]["stage"] == "IMPLEMENTING"
    with_case = await eventually(lambda: stack.ok("query($id: ID!) { proposal(id: $id) { cases { id channel } } }",
                                                  {"id": pid}, **staff),
                                 lambda d: d["proposal"]["cases"], timeout=30)
    assert with_case["proposal"]["cases"][0]["channel"] == "JOINT_MEETING"
    spent = (await stack.ok(SPEND, {"i": spend}, **staff))["recordSpending"]
    assert spent["status"] == "SPENT" and spent["target"] == {"kind": "PROPOSAL", "id": pid}
    paid = (await stack.ok("""query($id: ID!) { proposal(id: $id) { spending { id amount status } } fundAccount(
        communityId: "comm-a", year: 2026) { spent balance } }""", {"id": pid}, **staff))
    assert paid["proposal"]["spending"] == [{"id": spent["id"], "amount": 4500.0, "status": "SPENT"}]
    assert paid["fundAccount"] == {"spent": 4500.0, "balance": 195500.0}
    residents_view = (await stack.ok("query($id: ID!) { proposal(id: $id) { spending { id } } }", {"id": pid},
                                     **zhang))["proposal"]
    assert residents_view == {"spending": []}  # residents read spendings in the fund's public summary
    result = (await stack.ok(ADVANCE, {"id": pid, "i": {"to": "RESULT_PUBLISHED", "resultText": "3号院路面已修缮完毕"}},
                             **staff))["advanceProposal"]
    assert result["stage"] == "RESULT_PUBLISHED" and [n["kind"] for n in result["notices"]] == ["DECISION", "RESULT"]
    assert [h["stage"] for h in result["history"]] == ["COLLECTED", "PROPOSED", "DISCUSSED", "DECIDED", "NOTICED",
                                                        "IMPLEMENTING", "RESULT_PUBLISHED"]
    # The proposer follows it; the representatives' names stay with staff.
    own = (await stack.ok("query($id: ID!) { proposal(id: $id) { stage proposer decision { roll votesFor } } }",
                          {"id": pid}, **zhang))["proposal"]
    assert own == {"stage": "RESULT_PUBLISHED", "proposer": "张三丰", "decision": {"roll": [], "votesFor": 4}}
    overview = (await stack.ok("""{ overview(regionId: "county-a") { deliberation { proposalCount
        byStage { stage count } } } }""", **{"role": "admin", "region": "county-a"}))["overview"]["deliberation"]
    assert overview["proposalCount"] == 1
    assert {x["stage"]: x["count"] for x in overview["byStage"]}["RESULT_PUBLISHED"] == 1
    # On the bus: every step, and no resident's login, name or words.
    nc = await nats.connect(stack.settings.nats_url)
    try:
        messages = await stream_messages(nc.jetstream(), stream_name("organizations"))
    finally:
        await nc.close()
    bodies = [json.dumps(json.loads(m.data), ensure_ascii=False) for m in messages]
    kinds = {json.loads(b)["type"].split(".")[2] for b in bodies}
    assert {"PROPOSAL_SUBMITTED", "PROPOSAL_SUPPORTED", "PROPOSAL_ADVANCED", "PROPOSAL_VOTED", "NOTICE_PUBLISHED",
            "RESULT_PUBLISHED", "PROPOSAL_CASE_LINKED"} <= kinds
    for secret in ("wx-zhang", "wx-li", "wx-wang", "张三丰", "施工期间请保证出行", *ROLL):
        assert not any(secret in b for b in bodies), secret


async def test_refusals_and_scope(county, stack):
    staff = {"role": "operator", "region": "comm-a", "sub": "op-a"}
    resident = {"role": "resident", "sub": "wx-zhao"}
    p = (await stack.ok("""mutation { submitProposal(input: {communityId: "comm-a", title: "增设充电桩",
        body: "电动车充电难"}) { id } }""", **resident))["submitProposal"]
    # Not public yet: another resident, a volunteer and another community's staff are refused.
    get = "query($id: ID!) { proposal(id: $id) { id } }"
    assert code(await stack.gql(get, {"id": p["id"]}, role="resident", sub="wx-qian")) == "FORBIDDEN"
    assert code(await stack.gql(get, {"id": p["id"]}, role="volunteer", region="comm-a")) == "FORBIDDEN"
    assert code(await stack.gql(get, {"id": p["id"]}, role="admin", region="comm-b")) == "FORBIDDEN"
    assert code(await stack.gql('{ proposals(regionId: "comm-a") { totalCount } }', role="admin",
                                region="comm-b")) == "FORBIDDEN"
    mine = await stack.ok('{ proposals(regionId: "city", mine: true) { totalCount } }', **resident)
    assert mine["proposals"]["totalCount"] == 1
    # A grid is no community; a resident cannot speak for a unit; a reason is needed to reject.
    bad = await stack.gql("""mutation { submitProposal(input: {communityId: "grid-a1", title: "x", body: "y"})
        { id } }""", **resident)
    assert code(bad) == "BAD_USER_INPUT"
    bad = await stack.gql("""mutation { submitProposal(input: {communityId: "comm-a", title: "x", body: "y",
        source: UNIT, ref: "u-1"}) { id } }""", **resident)
    assert code(bad) == "BAD_USER_INPUT"
    assert code(await stack.gql(ADVANCE, {"id": p["id"], "i": {"to": "REJECTED"}}, **staff)) == "BAD_USER_INPUT"
    rejected = (await stack.ok(ADVANCE, {"id": p["id"], "i": {"to": "REJECTED", "reason": "已纳入区级规划"}},
                               **staff))["advanceProposal"]
    assert rejected["stage"] == "REJECTED"
    assert code(await stack.gql("mutation($id: ID!) { supportProposal(id: $id) { id } }", {"id": p["id"]},
                                role="resident", sub="wx-qian")) == "CONFLICT"
    assert code(await stack.gql("mutation($id: ID!) { supportProposal(id: $id) { id } }", {"id": p["id"]},
                                **staff)) == "FORBIDDEN"
    assert code(await stack.gql("""mutation { setDeliberationRule(communityId: "comm-a", input: {}) {
        noticePeriodSeconds } }""", **staff)) == "FORBIDDEN"
    rule = await stack.ok('{ deliberationRule(communityId: "comm-a") { attendanceNumerator attendanceDenominator '
                          'majorityNumerator majorityDenominator noticePeriodSeconds } }', **resident)
    assert rule["deliberationRule"] == {"attendanceNumerator": 2, "attendanceDenominator": 3, "majorityNumerator": 1,
                                        "majorityDenominator": 2, "noticePeriodSeconds": 1}
