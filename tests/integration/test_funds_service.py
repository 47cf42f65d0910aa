"""The community fund, the service catalogue and three-lists matching of the organizations service on
real NATS and SecantusDB: concurrent spendings never overdraw, retries happen once, the figures agree
with a recount, and nobody's sub travels in an event."""
from __future__ import annotations

import asyncio

import pytest

from shared.mongo import OUTBOX
from tests.cases_helpers import CasesClient, expect_error
from tests.org_helpers import assert_org_rollups_equal_recount, start_org_stack


@pytest.fixture
async def orgs(stack):
    client, _ = await start_org_stack(stack, fund_approval_above=5000.0)
    yield client
    await client.close()


def db(stack):
    return next(rt for rt in stack.runtimes if rt.name == "organizations").db


async def assert_fund_figures_equal_recount(stack) -> None:
    """Every figure equals a recount (`yiwang replay organizations`: region and fund figures, and
    each account's totals its spendings' sums); the balance never below zero."""
    await assert_org_rollups_equal_recount(stack)
    async for x in db(stack).fund_accounts.find():
        assert x["balance_fen"] >= 0


async def events(stack, *types: str) -> list[dict]:
    """The outbox's events of these types, oldest first, each with its short type."""
    full = [f"yiwang.organizations.{t}.v1" for t in types]
    found = [x["envelope"] async for x in db(stack)[OUTBOX].find({"type": {"$in": full}}).sort("oid", 1)]
    return [{**e, "type": e["type"].split(".")[2]} for e in found]


async def test_spend_below_and_above_the_threshold_approve_and_the_figures(orgs: CasesClient, stack):
    town = stack.token("admin", "town-a", sub="town-admin")
    comm = stack.token("admin", "comm-a", sub="comm-admin")
    a = await orgs("fund.open", town, communityId="comm-a", year=2026, granted=200000)
    assert (a["granted"], a["balance"], a["approvalAbove"]) == (200000.0, 200000.0, 5000.0)
    # one per community and year: the same grant again is a retry, another a conflict
    assert (await orgs("fund.open", comm, communityId="comm-a", year=2026, granted=200000))["id"] == a["id"]
    await expect_error(orgs("fund.open", town, communityId="comm-a", year=2026, granted=1), "CONFLICT")
    await expect_error(orgs("fund.open", town, communityId="grid-a1", year=2026, granted=1), "BAD_INPUT")
    await expect_error(orgs("fund.open", stack.token("admin", "county-b"), communityId="comm-a", year=2026,
                            granted=200000), "FORBIDDEN")
    # a community may be stricter than the deployment, never looser
    await expect_error(orgs("fund.open", town, communityId="comm-b", year=2026, granted=1, approvalAbove=6000),
                       "FORBIDDEN")
    await expect_error(orgs("fund.open", stack.token("admin", "town-b"), communityId="comm-b", year=2026, granted=1,
                            approvalAbove=6000), "BAD_INPUT")

    small = await orgs("fund.spend", comm, communityId="comm-a", year=2026, amount=5000, purpose="楼道照明",
                       target={"kind": "OTHER"}, idempotencyKey="s1")
    big = await orgs("fund.spend", comm, communityId="comm-a", year=2026, amount=8000.5, purpose="院落修缮",
                     target={"kind": "ACTIVITY", "id": "act-1"}, idempotencyKey="s2")
    assert (small["status"], big["status"]) == ("SPENT", "COMMITTED")
    acc = await orgs("fund.account", comm, communityId="comm-a", year=2026)
    assert (acc["committed"], acc["spent"], acc["balance"]) == (8000.5, 5000.0, 186999.5)

    # the community's own admins and the operators do not approve; the recorder never; an admin above does
    await expect_error(orgs("fund.approve", stack.token("admin", "comm-a", sub="other"), entryId=big["id"],
                            approve=True), "FORBIDDEN")
    await expect_error(orgs("fund.approve", stack.token("operator", "town-a"), entryId=big["id"], approve=True),
                       "FORBIDDEN")
    await expect_error(orgs("fund.approve", stack.token("admin", "town-b"), entryId=big["id"], approve=True),
                       "FORBIDDEN")
    await expect_error(orgs("fund.approve", town, entryId=small["id"], approve=True), "CONFLICT")  # spent already
    done = await orgs("fund.approve", town, entryId=big["id"], approve=True, note="同意")
    again = await orgs("fund.approve", town, entryId=big["id"], approve=True)  # a retry
    assert done["status"] == again["status"] == "SPENT" and again["version"] == done["version"]
    acc = await orgs("fund.account", comm, communityId="comm-a", year=2026)
    assert (acc["committed"], acc["spent"], acc["balance"]) == (0.0, 13000.5, 186999.5)

    # lists: the account's entries (a ledger: newest first), and the entries of one target
    page = await orgs("fund.list", comm, communityId="comm-a", year=2026)
    assert [e["id"] for e in page["items"]] == [big["id"], small["id"]] and page["totalCount"] == 2
    by_target = await orgs("fund.entries", town, kind="ACTIVITY", id="act-1")
    assert [e["id"] for e in by_target["items"]] == [big["id"]]
    assert (await orgs("fund.entries", stack.token("admin", "county-b"), kind="ACTIVITY", id="act-1"))["items"] == []
    await expect_error(orgs("fund.list", stack.token("resident", sub="r1"), communityId="comm-a", year=2026),
                       "FORBIDDEN")

    # the public summary: anyone, totals and purposes, nobody's sub
    summary = await orgs("fund.summary", stack.token("resident", sub="r1"), communityId="comm-a", year=2026)
    assert summary["account"]["spent"] == 13000.5
    assert {e["purpose"] for e in summary["entries"]["items"]} == {"楼道照明", "院落修缮"}
    assert "comm-admin" not in str(summary) and "town-admin" not in str(summary)

    # events: one each, no sub in their data
    evts = await events(stack, "FUND_ACCOUNT_CREATED", "SPENDING_RECORDED", "SPENDING_APPROVED")
    assert [e["type"] for e in evts] == ["FUND_ACCOUNT_CREATED", "SPENDING_RECORDED", "SPENDING_RECORDED",
                                         "SPENDING_APPROVED"]
    assert all("comm-admin" not in str(e["data"]) for e in evts)

    # figures: the town's funds block, and a recount agrees
    stats = (await orgs("stats.batch", stack.token(), ids=["town-a", "city"]))["items"]
    assert stats["town-a"]["funds"] == {"accountCount": 1, "granted": 200000.0, "committed": 0.0, "spent": 13000.5,
                                        "balance": 186999.5}
    assert stats["city"]["funds"]["spent"] == 13000.5
    await assert_fund_figures_equal_recount(stack)


async def test_concurrent_spendings_cannot_overdraw(orgs: CasesClient, stack):
    town = stack.token("admin", "town-a", sub="town-admin")
    await orgs("fund.open", town, communityId="comm-a", year=2027, granted=1000)
    comm = stack.token("admin", "comm-a", sub="comm-admin")

    async def spend(i: int):
        return await orgs("fund.spend", comm, communityId="comm-a", year=2027, amount=100, purpose=f"活动{i}",
                          target={"kind": "OTHER"}, idempotencyKey=f"c{i}")

    outcomes = await asyncio.gather(*(spend(i) for i in range(14)), return_exceptions=True)
    won = [o for o in outcomes if isinstance(o, dict)]
    lost = [o for o in outcomes if not isinstance(o, dict)]
    assert len(won) == 10, outcomes
    assert all(str(o.code) == "CONFLICT" for o in lost), lost
    acc = await orgs("fund.account", comm, communityId="comm-a", year=2027)
    assert (acc["spent"], acc["balance"]) == (1000.0, 0.0)
    # committed money (above the threshold) counts too: nothing more can be taken
    await expect_error(spend(99), "CONFLICT")
    await assert_fund_figures_equal_recount(stack)


async def test_retries_happen_once_and_bad_input_changes_nothing(orgs: CasesClient, stack):
    town = stack.token("admin", "town-a", sub="town-admin")
    comm = stack.token("admin", "comm-a", sub="comm-admin")
    await orgs("fund.open", town, communityId="comm-a", year=2028, granted=10000)
    body = dict(communityId="comm-a", year=2028, amount=6000, purpose="修缮", target={"kind": "OTHER"},
                idempotencyKey="same")
    first, *rest = await asyncio.gather(*(orgs("fund.spend", comm, **body) for _ in range(4)))
    assert {r["id"] for r in rest} == {first["id"]} and first["status"] == "COMMITTED"
    for bad in ({"amount": 1.005}, {"amount": 0}, {"purpose": ""}, {"target": {"kind": "PROJECT"}},
                {"target": {"kind": "PROJECT", "id": "pj-nowhere"}}, {"year": 2029}):
        code = "NOT_FOUND" if bad.get("year") else "BAD_INPUT"
        await expect_error(orgs("fund.spend", comm, **{**body, "amount": 100, "idempotencyKey": None, **bad}), code)
    await expect_error(orgs("fund.spend", stack.token("operator", "comm-a"), **body), "FORBIDDEN")
    await expect_error(orgs("fund.spend", stack.token("admin", "comm-b"), **body), "FORBIDDEN")
    acc = await orgs("fund.account", comm, communityId="comm-a", year=2028)
    assert (acc["committed"], acc["spent"], acc["balance"]) == (6000.0, 0.0, 4000.0)
    # a rejection needs a note and gives the money back
    await expect_error(orgs("fund.approve", town, entryId=first["id"], approve=False), "BAD_INPUT")
    await orgs("fund.approve", town, entryId=first["id"], approve=False, note="超出预算")
    assert (await orgs("fund.account", comm, communityId="comm-a", year=2028))["balance"] == 10000.0
    # a project of the community is a valid target; another community's is not
    su = stack.token()
    need = await orgs("need.post", su, communityId="comm-b", title="助餐")
    unit = await orgs("unit.register", su, name="食堂", kind="ENTERPRISE", regionId="comm-b", contacts=[])
    res = await orgs("resource.offer", su, unitId=unit["id"], title="食堂")
    project = await orgs("project.propose", su, needId=need["id"], resourceId=res["id"], title="助餐点")
    await expect_error(orgs("fund.spend", comm, **{**body, "amount": 100, "idempotencyKey": None,
                                                   "target": {"kind": "PROJECT", "id": project["id"]}}), "BAD_INPUT")
    own_need = await orgs("need.post", su, communityId="comm-a", title="院落")
    own_unit = await orgs("unit.register", su, name="物业", kind="ENTERPRISE", regionId="comm-a", contacts=[])
    own_res = await orgs("resource.offer", su, unitId=own_unit["id"], title="施工")
    own = await orgs("project.propose", su, needId=own_need["id"], resourceId=own_res["id"], title="院落修缮")
    ok = await orgs("fund.spend", comm, **{**body, "amount": 100, "idempotencyKey": None,
                                           "target": {"kind": "PROJECT", "id": own["id"]}})
    assert ok["target"] == {"kind": "PROJECT", "id": own["id"]} and ok["status"] == "SPENT"
    await assert_fund_figures_equal_recount(stack)


async def test_a_community_catalogue(orgs: CasesClient, stack):
    op = stack.token("operator", "comm-a", sub="op-a")
    unit = await orgs("unit.register", stack.token(), name="示例供电公司", kind="ENTERPRISE", regionId="comm-a",
                      contacts=[])
    body = dict(communityId="comm-a", kind="PUBLIC", title="上门抄表", description="每月",
                provider={"kind": "UNIT", "id": unit["id"], "name": "任意"},
                howToOrder={"channel": "热线", "contact": "0710-95598", "hours": "全天"}, idempotencyKey="k1")
    s = await orgs("catalogue.add", op, **body)
    assert (await orgs("catalogue.add", op, **body))["id"] == s["id"]
    assert s["provider"] == {"kind": "UNIT", "id": unit["id"], "name": "示例供电公司"}
    await expect_error(orgs("catalogue.add", op, **{**body, "idempotencyKey": None,
                                                    "provider": {"kind": "UNIT", "id": "un-none", "name": "x"}}),
                       "FORBIDDEN")  # a unit nobody sees
    await expect_error(orgs("catalogue.add", stack.token("operator", "comm-b"), **body), "FORBIDDEN")
    await expect_error(orgs("catalogue.add", stack.token("resident", sub="r1"), **body), "FORBIDDEN")
    care = await orgs("catalogue.add", op, **{**body, "idempotencyKey": None, "kind": "CARE", "title": "助餐",
                                               "provider": {"kind": "TEAM", "id": "t-1", "name": "银发服务队"}})
    resident = stack.token("resident", sub="r1")
    listed = (await orgs("catalogue.list", resident, communityId="comm-a"))["items"]
    assert [x["id"] for x in listed] == [s["id"], care["id"]]
    assert [x["id"] for x in (await orgs("catalogue.list", resident, communityId="comm-a", kind="CARE"))["items"]] \
        == [care["id"]]
    updated = await orgs("catalogue.update", op, id=care["id"], title="老年助餐", expectedVersion=care["version"])
    await expect_error(orgs("catalogue.update", op, id=care["id"], title="x", expectedVersion=care["version"]),
                       "CONFLICT")
    await orgs("catalogue.retire", op, id=updated["id"], reason="停办")
    assert [x["id"] for x in (await orgs("catalogue.list", resident, communityId="comm-a"))["items"]] == [s["id"]]
    staff_view = await orgs("catalogue.list", op, communityId="comm-a", includeRetired=True)
    assert len(staff_view["items"]) == 2
    assert len((await orgs("catalogue.list", resident, communityId="comm-a", includeRetired=True))["items"]) == 1
    evts = await events(stack, "SERVICE_LIST_ENTRY_ADDED", "SERVICE_LIST_ENTRY_UPDATED", "SERVICE_LIST_ENTRY_RETIRED")
    assert [e["type"] for e in evts] == ["SERVICE_LIST_ENTRY_ADDED", "SERVICE_LIST_ENTRY_ADDED",
                                         "SERVICE_LIST_ENTRY_UPDATED", "SERVICE_LIST_ENTRY_RETIRED"]
    assert "95598" not in str(evts)


async def test_three_lists_matching_nearest_first(orgs: CasesClient, stack):
    su = stack.token()
    units = {}
    for place in ("comm-a", "town-a", "county-a", "comm-b"):
        units[place] = await orgs("unit.register", su, name=f"单位{place}", kind="ENTERPRISE", regionId=place,
                                  contacts=[])
    res = {}
    for place in ("comm-b", "county-a", "town-a", "comm-a"):
        res[place] = await orgs("resource.offer", su, unitId=units[place]["id"], title=f"助老{place}",
                                category="ELDERLY_CARE")
    await orgs("resource.offer", su, unitId=units["comm-a"]["id"], title="培训", category="EDUCATION")
    need = await orgs("need.post", su, communityId="comm-a", title="老人助餐", category="ELDERLY_CARE")
    assert (need["status"], need["category"]) == ("OPEN", "ELDERLY_CARE")
    other = await orgs("need.post", su, communityId="comm-b", title="助老", category="ELDERLY_CARE")
    project = await orgs("project.propose", su, needId=other["id"], resourceId=res["comm-b"]["id"], title="助老点")
    assert project["category"] == "ELDERLY_CARE"
    got = await orgs("need.suggest", su, needId=need["id"], first=10)
    assert [r["id"] for r in got["resources"]] == [res[p]["id"] for p in ("comm-a", "town-a", "county-a", "comm-b")]
    assert [p["id"] for p in got["projects"]] == [project["id"]]
    assert [r["id"] for r in (await orgs("need.suggest", su, needId=need["id"], first=2))["resources"]] == \
        [res["comm-a"]["id"], res["town-a"]["id"]]
    await expect_error(orgs("need.suggest", stack.token("admin", "comm-b"), needId=need["id"]), "FORBIDDEN")
    moved = await orgs("need.move", su, id=need["id"], status="MATCHED")
    assert moved["status"] == "MATCHED"
    await expect_error(orgs("need.move", su, id=need["id"], status="CLOSED"), "BAD_INPUT")
    await expect_error(orgs("need.move", stack.token("operator", "comm-a"), id=need["id"], status="DONE"),
                       "FORBIDDEN")


async def test_replay_organizations_reports_and_corrects_a_figure_that_drifted(orgs: CasesClient, stack, capsys):
    """`yiwang replay organizations` recounts the region and fund figures from the records: a
    drifted counter is reported (exit 1) and left alone, corrected with --apply, clean after."""
    import argparse

    from ops.cli.replay import replay

    town = stack.token("admin", "town-a", sub="town-admin")
    await orgs("fund.open", town, communityId="comm-a", year=2027, granted=1000)
    await db(stack).fund_rollups.update_one({"_id": "town-a"}, {"$inc": {"c.fund_granted": 7}})
    await db(stack).rollups.update_one({"_id": "comm-a"}, {"$inc": {"c.proposals:COLLECTED": 2}}, upsert=True)

    def run(apply: bool) -> int:
        return replay(argparse.Namespace(service="organizations", apply=apply), stack.settings)

    assert await asyncio.to_thread(run, False) == 1
    said = capsys.readouterr().out
    assert "live fund figures differ: town-a fund_granted: live 100007, recount 100000" in said, said
    assert "live region figures differ: comm-a proposals.COLLECTED: live 2, recount 0" in said, said
    assert (await db(stack).fund_rollups.find_one({"_id": "town-a"}))["c"]["fund_granted"] == 100007
    assert await asyncio.to_thread(run, True) == 0
    assert "(corrected)" in capsys.readouterr().out
    assert await asyncio.to_thread(run, False) == 0
    assert "live figures and a recount of the records agree" in capsys.readouterr().out
    await assert_fund_figures_equal_recount(stack)
    # an account whose totals are not its spendings' sums is said, never "corrected"
    await db(stack).fund_accounts.update_one({}, {"$inc": {"spent_fen": 5}})
    assert await asyncio.to_thread(run, True) == 1
    assert "its spendings sum to 0 committed, 0 spent" in capsys.readouterr().out
