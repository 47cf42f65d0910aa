"""Bulk import verbs on real NATS and SecantusDB: `case.import` (case history) and
`member.import` (a member roster). A batch imports, its rollups equal a recount, a re-sent
batch changes nothing, a bad item writes nothing, and only the right principals may import."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.cases import domain as cd
from services.cases.store import case_from_doc
from services.cases.views import CaseViews
from tests.cases_helpers import GRIDS, REPORT, CasesClient, expect_error, start_cases_stack
from tests.org_helpers import assert_org_rollups_equal_recount, party_tree, start_org_stack

REGIONS = ["city", "county-a", "county-b", "town-a", "town-b", "comm-a", "comm-b", *GRIDS]


def runtime(stack, name):
    return next(rt for rt in stack.runtimes if rt.name == name)


@pytest.fixture
async def cases(stack):
    client = await start_cases_stack(stack, sla_sweep_s=3600)  # the live sweeper stays out of the way
    yield client
    await client.close()


def iso(t: datetime) -> str:
    return t.isoformat()


def history(n: int = 24, prefix: str = "imp") -> list[dict]:
    """Cases over the last month with every kind of outcome."""
    now = datetime.now(UTC).replace(microsecond=0)
    out = []
    for i in range(n):
        grid = GRIDS[i % 4]
        kind = i % 8
        # a case the sweeper escalates starts a month back: its deadline is in working time, so
        # three weeks on it is past whatever weekends and holidays the month held (any date)
        t0 = now - timedelta(days=30 if kind == 3 else 30 - i, hours=3)
        h = lambda k: iso(t0 + timedelta(hours=k))  # noqa: E731
        sub = f"res-{i}" if kind != 5 else None
        steps: list[dict] = []
        if kind == 0:    # accepted, dispatched, handled, resolved, rated 5
            steps = [{"action": "accept", "at": h(1), "actor": "gw"},
                     {"action": "assign", "at": h(2), "assignee": {"kind": "GRID_WORKER", "id": f"gw-{grid}"}},
                     {"action": "start", "at": h(3)}, {"action": "resolve", "at": h(5), "resolution": "已清运"},
                     {"action": "rate", "at": h(9), "score": 5, "comment": "很及时"}]
        elif kind == 1:  # escalated by hand, resolved a level up, closed after a follow-up call
            steps = [{"action": "accept", "at": h(1)}, {"action": "escalate", "at": h(4), "reason": "需要社区协调"},
                     {"action": "resolve", "at": h(20), "resolution": "社区协调解决"},
                     {"action": "close", "at": h(50), "note": "电话回访满意"}]
        elif kind == 2:  # rejected
            steps = [{"action": "reject", "at": h(2), "reason": "不属于受理范围"}]
        elif kind == 3:  # nobody handled it: the sweeper escalated it at its deadline, then resolved late
            steps = [{"action": "accept", "at": h(1)}, {"action": "sweep", "at": h(24 * 21)},
                     {"action": "resolve", "at": h(24 * 21 + 11), "resolution": "已维修"}]
        elif kind == 4:  # rated 1: reopened, handled again, rated 4 and closed
            steps = [{"action": "accept", "at": h(1)}, {"action": "resolve", "at": h(3), "resolution": "已处理"},
                     {"action": "rate", "at": h(4), "score": 1}, {"action": "resolve", "at": h(8), "resolution": "返工"},
                     {"action": "rate", "at": h(9), "score": 4}]
        elif kind == 5:  # a hotline call still open, accepted
            steps = [{"action": "accept", "at": h(1)}]
        elif kind == 6:  # resolved, waiting for its rating
            steps = [{"action": "accept", "at": h(1)}, {"action": "resolve", "at": h(2), "resolution": "已处理"}]
        out.append({"id": f"{prefix}-{i:03d}", "title": f"历史案件{i}", "description": "导入的历史记录",
                    "categoryCode": ["ENV_GARBAGE", "DISPUTE_NEIGHBOR", "FACILITY_STREETLIGHT", "OTHER"][i % 4],
                    "channel": "HOTLINE" if kind == 5 else "MINI_PROGRAM", "reporterName": f"居民{i}",
                    "reporterPhone": "13800000000", "reporterSub": sub, "regionId": grid,
                    **({"lng": 113.001 + 0.001 * (i % 5), "lat": 30.001} if grid == "grid-a1" else {}),
                    "reportedAt": iso(t0), "steps": steps})
    return out


async def assert_rollups_equal_recount(cases: CasesClient, stack) -> dict:
    db = runtime(stack, "cases").db
    expected = cd.recount([case_from_doc(doc) async for doc in db.cases.find()])
    live = (await cases("stats.batch", stack.token(), ids=REGIONS))["items"]
    for r in REGIONS:
        assert live[r] == CaseViews.stats(expected.get(r, {})), r
    return live


async def test_case_import_folds_rollups_once_and_publishes_nothing(cases, stack):
    su, batch = stack.token(), history()
    first = await cases("case.import", su, importId="hist-1", cases=batch)
    assert first["imported"] == 24 and first["skipped"] == [] and not first["replayed"]
    live = await assert_rollups_equal_recount(cases, stack)
    city = live["city"]
    assert city["total"] == 24 and city["rejected"] == 3 and city["open"] == 6 and city["awaitingRating"] == 6
    assert city["resolvedByLevel"]["COMMUNITY"] >= 3 and city["resolvedOnTime"] < city["resolved"]

    case = await cases("case.get", su, id="imp-000")
    assert case["status"] == "CLOSED" and case["rating"] == 5 and case["assignee"]["id"] == "gw-grid-a1"
    assert [t["type"] for t in case["timeline"]] == ["REPORTED", "ACCEPTED", "ASSIGNED", "STARTED", "RESOLVED",
                                                    "RATED", "CLOSED"]
    assert datetime.fromisoformat(case["createdAt"]) == datetime.fromisoformat(batch[0]["reportedAt"])
    assert case["timeline"][1]["actor"] == "gw"
    swept = await cases("case.get", su, id="imp-003")
    assert swept["level"] == "COMMUNITY" and swept["timeline"][2]["actor"] == "system:cases"
    db = runtime(stack, "cases").db
    assert await db.outbox.count_documents({}) == 0  # history is not news

    # The same batch again, and the same cases under another import id: nothing twice.
    again = await cases("case.import", su, importId="hist-1", cases=batch)
    assert again["replayed"] and again["imported"] == 24
    other = await cases("case.import", stack.token(role="service", sub="svc:migrator"), importId="hist-2",
                        cases=batch)
    assert other["imported"] == 0 and len(other["skipped"]) == 24
    assert await db.cases.count_documents({}) == 24
    assert (await assert_rollups_equal_recount(cases, stack))["city"] == city

    # Imported open cases are live: a command on one publishes as usual, and rollups follow.
    await cases("case.resolve", su, id="imp-005", resolution="电话回复")
    await cases.settled()
    assert (await assert_rollups_equal_recount(cases, stack))["city"]["open"] == 5


async def test_replay_starts_from_imported_history_and_corrects_only_what_the_log_accounts_for(cases, stack):
    """`yiwang replay cases` on a city with imported history: rollups, day buckets and hotspot
    days rebuild to the live figures; drift in any is found and corrected in one recorded
    transaction; and when the log cannot account for the cases, nothing is corrected."""
    from services.cases.replay import replay
    from shared.records import flatten

    su = stack.token()
    await cases("case.import", su, importId="hist-r", cases=history())
    await cases("case.resolve", su, id="imp-005", resolution="电话回复")  # a live event on an imported case
    await cases("case.report", stack.token(role="resident", sub="r9"), **REPORT, regionId="grid-a1")
    await cases.settled()
    db = runtime(stack, "cases").db
    report = await replay(db)
    assert report.clean and report.events == 2, report
    assert report.regions >= len(REGIONS)

    bucket = await db.rollup_days.find_one({"r": "city", "imported.total": {"$gt": 0}})
    hot = await db.hotspot_days.find_one({"r": "town-a", "imported": {"$exists": True}})
    cell = next(iter(hot["h"]))
    await db.rollup_days.update_one({"_id": bucket["_id"]}, {"$inc": {"c.total": 2}})
    await db.hotspot_days.update_one({"_id": hot["_id"]}, {"$inc": {f"h.{cell}": -1}})
    await db.rollups.update_one({"_id": "comm-a"}, {"$inc": {"c.open": 1}})
    report = await replay(db)
    total, n = bucket["c"]["total"], hot["h"][cell]
    assert report.day_differences == [(bucket["_id"], "total", total + 2, total)]
    assert report.hotspot_differences == [(hot["_id"], cell, n - 1, n)]
    live_open = flatten((await db.rollups.find_one({"_id": "comm-a"}))["c"])["open"]
    assert report.differences == [("comm-a", "open", live_open, live_open - 1)]
    assert not report.recount_differences and not report.applied

    report = await replay(db, apply=True, by="ops@test")
    assert report.applied
    assert (await replay(db)).clean
    (record,) = await db.figure_corrections.find().to_list(None)
    assert record["by"] == "ops@test" and record["counts"] == {"rollups": 1, "days": 1, "hotspots": 1}
    assert await cases("stats.batch", su, ids=REGIONS) and await assert_rollups_equal_recount(cases, stack)

    # Figures without their imported share (history imported before they kept it): the log no
    # longer accounts for the cases, so --apply must not "correct" the history away.
    await db.rollups.update_many({}, {"$unset": {"imported": ""}})
    before = await db.rollups.find({}, {"c": 1}).sort("_id", 1).to_list(None)
    report = await replay(db, apply=True, by="ops@test")
    assert report.differences and report.recount_differences and not report.applied
    assert await db.rollups.find({}, {"c": 1}).sort("_id", 1).to_list(None) == before
    assert await db.figure_corrections.count_documents({}) == 1
    await assert_rollups_equal_recount(cases, stack)


async def test_a_moved_township_takes_its_figures_with_it(cases, stack):
    """moveRegion of a township: its rollup, trend day buckets and hotspot days (with their
    imported share) leave the county it left and join the one it joined; a replay agrees."""
    from services.cases.replay import replay
    from shared.records import flatten

    su = stack.token()
    await cases("case.import", su, importId="hist-m", cases=history())
    await cases("case.report", stack.token(role="resident", sub="r9"), **REPORT, regionId="grid-a1")
    await cases.settled()
    db = runtime(stack, "cases").db

    async def figures(region: str) -> tuple[dict, dict, dict]:
        rollup = flatten((await db.rollups.find_one({"_id": region}) or {}).get("c", {}))
        days = {x["d"]: {k: v for k, v in flatten(x.get("c", {})).items() if v}
                async for x in db.rollup_days.find({"r": region})}
        hot = {x["d"]: {k: v for k, v in x.get("h", {}).items() if v} async for x in db.hotspot_days.find({"r": region})}
        return ({k: v for k, v in rollup.items() if v}, {d: c for d, c in days.items() if c},
                {d: c for d, c in hot.items() if c})

    def plus(a: dict, b: dict) -> dict:  # nested sums, without the zeros `figures` leaves out
        out = {k: (plus(a.get(k, {}), b.get(k, {})) if isinstance(a.get(k, b.get(k)), dict) else a.get(k, 0) + b.get(k, 0))
               for k in set(a) | set(b)}
        return {k: v for k, v in out.items() if v}

    town_a, county_a, county_b = await figures("town-a"), await figures("county-a"), await figures("county-b")
    assert county_a == town_a and town_a[1] and town_a[2]  # county-a has one township
    await stack.ok("mutation { moveRegion(id: \"town-a\", newParentId: \"county-b\") { id } }")
    await cases.wait_moved("grid-a1", ["city", "county-b", "town-a", "comm-a", "grid-a1"])
    assert await figures("county-a") == ({}, {}, {})
    assert await figures("town-a") == town_a
    assert await figures("county-b") == tuple(plus(x, y) for x, y in zip(county_b, town_a, strict=True))
    assert await figures("city") != ({}, {}, {})
    assert (await replay(db)).clean
    await assert_rollups_equal_recount(cases, stack)


async def test_a_bad_case_writes_nothing(cases, stack):
    su, good = stack.token(), history(8)
    now = datetime.now(UTC)
    bad_batches = {
        "illegal step": [*good, {**good[0], "id": "bad-1", "steps": [{"action": "start", "at": good[0]["reportedAt"]}]}],
        "unknown category": [*good, {**good[0], "id": "bad-2", "categoryCode": "NOPE"}],
        "not a grid": [*good, {**good[0], "id": "bad-3", "regionId": "comm-a"}],
        "unknown region": [*good, {**good[0], "id": "bad-4", "regionId": "nowhere"}],
        "in the future": [*good, {**good[0], "id": "bad-5", "reportedAt": iso(now + timedelta(days=1))}],
        "out of order": [*good, {**good[0], "id": "bad-6", "steps": [
            {"action": "accept", "at": iso(now - timedelta(hours=1))},
            {"action": "resolve", "at": iso(now - timedelta(hours=2)), "resolution": "x"}]}],
        "sweep not due": [*good, {**good[0], "id": "bad-7", "steps": [
            {"action": "accept", "at": good[0]["reportedAt"]}, {"action": "sweep", "at": good[0]["reportedAt"]}]}],
        "rate without a reporter": [*good, {**good[5], "id": "bad-8", "steps": [
            {"action": "accept", "at": good[5]["reportedAt"]},
            {"action": "resolve", "at": good[5]["reportedAt"], "resolution": "x"},
            {"action": "rate", "at": good[5]["reportedAt"], "score": 5}]}],
        "twice in a batch": [*good, good[0]],
        "no timezone": [*good, {**good[0], "id": "bad-9", "reportedAt": "2026-01-01T08:00:00"}],
    }
    for why, batch in bad_batches.items():
        e = await expect_error(cases("case.import", su, importId=f"bad-{why}", cases=batch), "BAD_INPUT")
        assert e.message, why
    await expect_error(cases("case.import", su, importId="empty", cases=[]), "BAD_INPUT")
    await expect_error(cases("case.import", su, importId="too-many", cases=[good[0]] * 501), "BAD_INPUT")
    db = runtime(stack, "cases").db
    assert await db.cases.count_documents({}) == 0 and await db.rollups.count_documents({}) == 0
    assert await db.idempotency.count_documents({}) == 0
    # The fixed batch then imports (the failed import ids were not used up).
    ok = await cases("case.import", su, importId="bad-illegal step", cases=good)
    assert ok["imported"] == 8
    await assert_rollups_equal_recount(cases, stack)


async def test_only_superadmin_or_a_service_imports_cases(cases, stack):
    batch = history(2)
    for token in (stack.token(role="admin", region="city"), stack.token(role="operator", region="town-a"),
                  stack.token(role="resident", sub="r1")):
        await expect_error(cases("case.import", token, importId="x", cases=batch), "FORBIDDEN")
    assert await runtime(stack, "cases").db.cases.count_documents({}) == 0


# -- member.import -----------------------------------------------------------------------
@pytest.fixture
async def orgs(stack):
    client, _ = await start_org_stack(stack)
    yield client
    await client.close()


def roster(org_ids: dict[str, str], n: int = 30, prefix: str = "pm-imp") -> list[dict]:
    out = []
    for i in range(n):
        in_service = i % 3 == 0
        out.append({
            "id": f"{prefix}-{i:03d}", "name": f"党员{i}", "gender": "FEMALE" if i % 2 else "MALE",
            "birthDate": f"{1950 + i}-03-0{1 + i % 9}", "joinDate": f"{1975 + i}-07-01",
            "phone": f"1370000{i:04d}", "idNumber": f"42980119{50 + i}03010{i % 10}{i:02d}",
            "category": "IN_SERVICE" if in_service else ["RETIRED", "FLOATING"][i % 2],
            "organizationId": org_ids["group"] if i % 4 == 0 else org_ids["grid"],
            "homeBuildingId": "bldg-a1-1" if i % 2 else "bldg-a1-2",
            **({"dualCommunityId": "comm-a"} if in_service and i % 2 == 0 else {})})
    return out



async def test_member_import_registers_a_roster_once(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    ids = {k: v["id"] for k, v in t.items()}
    batch = roster(ids)
    county_admin = stack.token(role="admin", region="county-a", sub="county-admin")
    first = await orgs("member.import", county_admin, importId="roster-1", members=batch)
    assert first["imported"] == 30 and first["ids"] == [m["id"] for m in batch]
    await assert_org_rollups_equal_recount(stack)
    stats = (await orgs("stats.batch", su, ids=["comm-a"]))["items"]["comm-a"]
    assert stats["memberCount"] == 30 and stats["dualRegisteredCount"] == 5
    m = await orgs("member.get", su, id="pm-imp-003")
    assert m["name"] == "党员3" and m["homeBuildingId"] == "bldg-a1-1" and m["organizationId"] == ids["grid"]
    db = runtime(stack, "organizations").db
    assert await db.outbox.count_documents({"type": "yiwang.organizations.MEMBER_REGISTERED.v1"}) == 30
    assert await db.outbox.count_documents({"type": "yiwang.organizations.DUAL_REGISTERED.v1"}) == 5
    assert await db["keys"].count_documents({"_id": {"$regex": "^member-id-number:"}}) == 30

    again = await orgs("member.import", county_admin, importId="roster-1", members=batch)
    assert again["replayed"] and again["imported"] == 30
    other = await orgs("member.import", su, importId="roster-2", members=batch)
    assert other["imported"] == 0 and len(other["skipped"]) == 30
    assert await db.members.count_documents({}) == 30
    assert await db.outbox.count_documents({"type": "yiwang.organizations.MEMBER_REGISTERED.v1"}) == 30
    await assert_org_rollups_equal_recount(stack)
    # member.register keeps the ID-number rule against imported members.
    await expect_error(orgs("member.register", su, **{k: v for k, v in batch[0].items() if k not in ("id", "dualCommunityId")}),
                       "CONFLICT")


async def test_a_bad_member_writes_nothing(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    ids = {k: v["id"] for k, v in t.items()}
    good = roster(ids, 10)
    today = date.today()
    bad = {
        "joined before 18": {"joinDate": "1955-01-01"},
        "unknown organisation": {"organizationId": "po-nope"},
        "home not a building": {"homeBuildingId": "grid-a1"},
        "unknown home": {"homeBuildingId": "bldg-nowhere"},
        "dual for a retired member": {"category": "RETIRED", "dualCommunityId": "comm-a"},
        "born tomorrow": {"birthDate": (today + timedelta(days=1)).isoformat()},
        "bad id": {"id": "PM Upper"},
    }
    for why, change in bad.items():
        batch = [*good, {**good[0], "id": "pm-bad", "idNumber": "429801199001011111", **change}]
        await expect_error(orgs("member.import", su, importId=f"bad-{why}", members=batch), "BAD_INPUT")
    await expect_error(orgs("member.import", su, importId="same-number", members=[
        *good, {**good[1], "id": "pm-twin"}]), "BAD_INPUT")
    db = runtime(stack, "organizations").db
    assert await db.members.count_documents({}) == 0
    assert await db.outbox.count_documents({"type": "yiwang.organizations.MEMBER_REGISTERED.v1"}) == 0
    # An ID number registered before is a conflict for the whole batch.
    await orgs("member.register", su, name="李红", gender="FEMALE", birthDate="1985-04-02", joinDate="2010-07-01",
               idNumber=good[4]["idNumber"], category="RETIRED", organizationId=ids["grid"])
    await expect_error(orgs("member.import", su, importId="conflict", members=good), "CONFLICT")
    assert await db.members.count_documents({}) == 1
    await assert_org_rollups_equal_recount(stack)


async def test_only_admins_of_the_region_import_members(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    batch = roster({k: v["id"] for k, v in t.items()}, 4)
    for token, code in ((stack.token(role="operator", region="county-a"), "FORBIDDEN"),
                        (stack.token(role="grid_worker", region="grid-a1"), "FORBIDDEN"),
                        (stack.token(role="admin", region="county-b"), "FORBIDDEN"),   # not an ancestor
                        (stack.token(role="admin", region="grid-a2"), "FORBIDDEN")):  # below the organisations
        await expect_error(orgs("member.import", token, importId="x", members=batch), code)
    assert await runtime(stack, "organizations").db.members.count_documents({}) == 0
    done = await orgs("member.import", stack.token(role="service", sub="svc:hr"), importId="x", members=batch)
    assert done["imported"] == 4


# -- org.import --------------------------------------------------------------------------
def chain(prefix: str = "po-imp") -> list[dict]:
    """街道党工委 → 社区大党委 → two grid branches → a group in each of their buildings, parents first."""
    out = [{"id": f"{prefix}-t", "name": "示例街道党工委", "type": "TOWNSHIP_WORKING_COMMITTEE", "anchorId": "town-a"},
           {"id": f"{prefix}-m", "name": "示例社区党委", "type": "COMMUNITY_COMMITTEE", "anchorId": "comm-a",
            "parentId": f"{prefix}-t"}]
    for g in ("a1", "a2"):
        out.append({"id": f"{prefix}-{g}", "name": f"{g}网格党支部", "type": "GRID_BRANCH", "anchorId": f"grid-{g}",
                    "parentId": f"{prefix}-m"})
    out += [{"id": f"{prefix}-{b}", "name": f"{b}号楼党小组", "type": "BUILDING_GROUP", "anchorId": b,
             "parentId": f"{prefix}-{b.split('-')[1]}"} for b in ("bldg-a1-1", "bldg-a1-2", "bldg-a2-1")]
    return out


async def test_org_import_builds_a_party_chain_once_by_the_rules(orgs, stack):
    su = stack.token()
    db = runtime(stack, "organizations").db
    created = "yiwang.organizations.ORGANIZATION_CREATED.v1"
    rows = chain()
    county_admin = stack.token(role="admin", region="county-a", sub="county-admin")
    first = await orgs("org.import", county_admin, importId="chain-1", organizations=rows[:3])
    second = await orgs("org.import", county_admin, importId="chain-2", organizations=rows[3:])
    assert (first["imported"], second["imported"]) == (3, len(rows) - 3)
    group = await orgs("org.get", su, id="po-imp-bldg-a2-1")
    assert group["parentId"] == "po-imp-a2" and group["anchorPath"][-1] == "bldg-a2-1"
    assert (await orgs("org.list", su, regionId="comm-a", type="GRID_BRANCH"))["totalCount"] == 2
    assert await db.outbox.count_documents({"type": created}) == len(rows)
    await assert_org_rollups_equal_recount(stack)
    # a 党员中心户 of a member registered meanwhile; then one of a kind already stored is a conflict
    m = await orgs("member.register", su, name="李红", gender="FEMALE", birthDate="1985-04-02",
                   joinDate="2010-07-01", category="RETIRED", organizationId="po-imp-bldg-a1-1",
                   homeBuildingId="bldg-a1-1")
    home = {"id": "po-imp-home", "name": "李红党员中心户", "type": "CENTER_HOUSEHOLD", "anchorId": "bldg-a1-1",
            "parentId": "po-imp-bldg-a1-1", "householdMemberId": m["id"]}
    assert (await orgs("org.import", su, importId="home", organizations=[home]))["imported"] == 1
    await expect_error(orgs("org.import", su, importId="home-twice", organizations=[{**home, "id": "po-imp-home2"}]),
                       "CONFLICT")

    again = await orgs("org.import", county_admin, importId="chain-2", organizations=rows[3:])
    assert again["replayed"] and again["imported"] == second["imported"]
    other = await orgs("org.import", su, importId="chain-3", organizations=rows)
    assert other["imported"] == 0 and other["skipped"] == [r["id"] for r in rows]
    assert await db.outbox.count_documents({"type": created}) == len(rows) + 1
    await assert_org_rollups_equal_recount(stack)


async def test_a_bad_organisation_refuses_the_batch_and_writes_nothing(orgs, stack):
    su = stack.token()
    db = runtime(stack, "organizations").db
    rows = chain("po-bad")
    cases = [
        ("BAD_INPUT", [rows[1], rows[0]], "comes later in the batch"),
        ("BAD_INPUT", [rows[0], {**rows[2], "parentId": "po-bad-t"}], "organizations[1] (po-bad-a1)"),  # branch under a 党工委
        ("BAD_INPUT", [{**rows[2], "parentId": "po-nowhere"}], "does not exist"),
        ("BAD_INPUT", [{**rows[0], "id": "Upper Case"}], "organizations[0]"),
        ("BAD_INPUT", [rows[0], rows[0]], "twice"),
        ("CONFLICT", [rows[0], {**rows[0], "id": "po-bad-t2"}], "organizations[1] (po-bad-t2)"),
        ("NOT_FOUND", [{**rows[0], "anchorId": "town-nowhere"}], "town-nowhere"),
    ]
    for code, batch, words in cases:
        e = await expect_error(orgs("org.import", su, importId=f"bad-{words}", organizations=batch), code)
        assert words in e.message, e.message
    county_b = stack.token(role="admin", region="county-b")
    await expect_error(orgs("org.import", county_b, importId="elsewhere", organizations=rows[:1]), "FORBIDDEN")
    operator = stack.token(role="operator", region="county-a")
    await expect_error(orgs("org.import", operator, importId="operator", organizations=rows[:1]), "FORBIDDEN")
    assert await db.organizations.count_documents({}) == 0
    assert await db.outbox.count_documents({"type": "yiwang.organizations.ORGANIZATION_CREATED.v1"}) == 0
    await assert_org_rollups_equal_recount(stack)
