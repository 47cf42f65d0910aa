"""The community fund, the service catalogue and three-lists matching through the gateway: open a
fund, spend below and above the threshold, approve, the balance moves, the county overview shows
it; refusals come back typed; residents read the public summary and the catalogue."""
from __future__ import annotations

import pytest

from tests.org_helpers import start_org_stack

TOWN = {"role": "admin", "region": "town-a", "sub": "town-admin"}
COMM = {"role": "admin", "region": "comm-a", "sub": "comm-admin"}
RESIDENT = {"role": "resident", "sub": "resident-1"}
ACCOUNT = "id year granted committed spent balance approvalAbove community { id name }"
ENTRY = "id amount purpose status target { kind id } recordedAt decidedAt note"
SPEND = "mutation($i: RecordSpendingInput!) { recordSpending(input: $i) { %s } }" % ENTRY


@pytest.fixture
async def county(stack):
    client, ids = await start_org_stack(stack, fund_approval_above=5000.0)
    yield ids
    await client.close()


def code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_fund_spend_approve_and_the_balance_moves(county, stack):
    opened = (await stack.ok(f"mutation {{ createFundAccount(communityId: \"comm-a\", year: 2026, granted: 200000) "
                             f"{{ {ACCOUNT} }} }}", **TOWN))["createFundAccount"]
    assert (opened["granted"], opened["balance"], opened["approvalAbove"]) == (200000.0, 200000.0, 5000.0)
    assert opened["community"]["id"] == "comm-a"

    base = {"communityId": "comm-a", "year": 2026, "target": {"kind": "OTHER"}}
    small = (await stack.ok(SPEND, {"i": {**base, "amount": 3000, "purpose": "楼道照明", "idempotencyKey": "e1"}},
                            **COMM))["recordSpending"]
    big = (await stack.ok(SPEND, {"i": {**base, "amount": 12000.5, "purpose": "院落修缮", "idempotencyKey": "e2"}},
                          **COMM))["recordSpending"]
    assert (small["status"], big["status"]) == ("SPENT", "COMMITTED")
    retry = (await stack.ok(SPEND, {"i": {**base, "amount": 12000.5, "purpose": "院落修缮", "idempotencyKey": "e2"}},
                            **COMM))["recordSpending"]
    assert retry["id"] == big["id"]

    q = "query { fundAccount(communityId: \"comm-a\", year: 2026) { %s entries { totalCount edges { node { id } } } } }"
    acc = (await stack.ok(q % ACCOUNT, **COMM))["fundAccount"]
    assert (acc["committed"], acc["spent"], acc["balance"]) == (12000.5, 3000.0, 184999.5)
    assert acc["entries"]["totalCount"] == 2

    # refusals, typed: too many decimals, overdrawing, the community's own admin approving, a resident spending
    body = await stack.gql(SPEND, {"i": {**base, "amount": 1.005, "purpose": "x"}}, **COMM)
    assert code(body) == "BAD_USER_INPUT"
    body = await stack.gql(SPEND, {"i": {**base, "amount": 190000, "purpose": "x"}}, **COMM)
    assert code(body) == "CONFLICT" and "overdraw" in body["errors"][0]["message"]
    approve = "mutation($id: ID!, $a: Boolean!, $n: String) { approveSpending(entryId: $id, approve: $a, note: $n) " \
              "{ %s } }" % ENTRY
    assert code(await stack.gql(approve, {"id": big["id"], "a": True}, **COMM)) == "FORBIDDEN"
    assert code(await stack.gql(SPEND, {"i": {**base, "amount": 1, "purpose": "x"}}, **RESIDENT)) == "FORBIDDEN"
    other = {"role": "admin", "region": "county-b", "sub": "admin-b"}
    assert code(await stack.gql(q % ACCOUNT, **other)) == "FORBIDDEN"
    assert code(await stack.gql(approve, {"id": big["id"], "a": True}, **other)) == "FORBIDDEN"

    done = (await stack.ok(approve, {"id": big["id"], "a": True, "n": "同意"}, **TOWN))["approveSpending"]
    assert done["status"] == "SPENT" and done["decidedAt"] and done["note"] == "同意"
    acc = (await stack.ok(q % ACCOUNT, **TOWN))["fundAccount"]
    assert (acc["committed"], acc["spent"], acc["balance"]) == (0.0, 15000.5, 184999.5)

    # the resident's public summary: totals and what was spent on what, nobody's name
    summary = (await stack.ok("""query { fundSummary(communityId: "comm-a", year: 2026) {
        communityName opened granted spent balance
        entries { totalCount edges { node { amount purpose status target { kind } } } } } }""",
                              **RESIDENT))["fundSummary"]
    assert summary["communityName"] == "a社区" and summary["opened"] and summary["spent"] == 15000.5
    assert summary["entries"]["totalCount"] == 2
    assert "comm-admin" not in str(summary)

    # the county overview carries the funds block
    overview = (await stack.ok("""query { overview(regionId: "county-a") { organizations {
        funds { accountCount granted committed spent balance } } } }""", role="admin", region="county-a"))
    assert overview["overview"]["organizations"]["funds"] == {"accountCount": 1, "granted": 200000.0,
                                                              "committed": 0.0, "spent": 15000.5,
                                                              "balance": 184999.5}


async def test_catalogue_and_matching(county, stack):
    op = {"role": "operator", "region": "comm-a", "sub": "op-a"}
    add = """mutation($i: AddServiceListEntryInput!) { addServiceListEntry(input: $i) {
        id kind title active provider { kind id name } howToOrder { channel contact hours } version } }"""
    entry = (await stack.ok(add, {"i": {"communityId": "comm-a", "kind": "CARE", "title": "老年助餐",
                                        "provider": {"kind": "TEAM", "id": "t-1", "name": "银发服务队"},
                                        "howToOrder": {"channel": "社区服务站", "contact": "0710-1234567",
                                                       "hours": "11:00-13:00"}}}, **op))["addServiceListEntry"]
    assert entry["provider"]["name"] == "银发服务队" and entry["howToOrder"]["hours"] == "11:00-13:00"
    bad = await stack.gql(add, {"i": {"communityId": "grid-a1", "kind": "CARE", "title": "x",
                                      "provider": {"kind": "TEAM", "id": "t", "name": "x"},
                                      "howToOrder": {"channel": "x"}}}, **op)
    assert code(bad) == "BAD_USER_INPUT"
    assert code(await stack.gql(add, {"i": {"communityId": "comm-a", "kind": "CARE", "title": "x",
                                            "provider": {"kind": "TEAM", "id": "t", "name": "x"},
                                            "howToOrder": {"channel": "x"}}}, **RESIDENT)) == "FORBIDDEN"
    listed = (await stack.ok('query { serviceCatalogue(communityId: "comm-a") { id title kind } }', **RESIDENT))
    assert listed["serviceCatalogue"] == [{"id": entry["id"], "title": "老年助餐", "kind": "CARE"}]
    upd = await stack.ok("""mutation($id: ID!, $v: Int) { updateServiceListEntry(id: $id, input: {title: "老年食堂"},
        expectedVersion: $v) { title version } }""", {"id": entry["id"], "v": entry["version"]}, **op)
    assert upd["updateServiceListEntry"]["title"] == "老年食堂"
    await stack.ok('mutation($id: ID!) { retireServiceListEntry(id: $id, reason: "停办") { active } }',
                   {"id": entry["id"]}, **op)
    assert (await stack.ok('query { serviceCatalogue(communityId: "comm-a") { id } }', **RESIDENT)) == \
        {"serviceCatalogue": []}

    su = {}
    need = (await stack.ok('mutation { postNeed(communityId: "comm-a", title: "老人助餐", category: ELDERLY_CARE) '
                           '{ id status category } }', **su))["postNeed"]
    assert (need["status"], need["category"]) == ("OPEN", "ELDERLY_CARE")
    unit = (await stack.ok("mutation($i: RegisterCoBuildingUnitInput!) { registerCoBuildingUnit(input: $i) { id } }",
                           {"i": {"name": "食堂", "kind": "ENTERPRISE", "regionId": "town-a", "contacts": []}}, **su))
    res = (await stack.ok('mutation($u: ID!) { offerResource(unitId: $u, title: "爱心食堂", category: ELDERLY_CARE) '
                          '{ id category } }', {"u": unit["registerCoBuildingUnit"]["id"]}, **su))["offerResource"]
    got = (await stack.ok('query($n: ID!) { needSuggestions(needId: $n) { need { id } resources { id title } '
                          'projects { id } } }', {"n": need["id"]}, **COMM))["needSuggestions"]
    assert [r["id"] for r in got["resources"]] == [res["id"]]
    moved = await stack.ok('mutation($n: ID!) { updateNeedStatus(id: $n, status: MATCHED) { status } }',
                           {"n": need["id"]}, **COMM)
    assert moved["updateNeedStatus"]["status"] == "MATCHED"
