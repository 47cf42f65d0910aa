"""Trends and hotspots of the cases service on real NATS and SecantusDB: day buckets and
hotspot cells are kept with the writes, and equal what the cases say."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.cases_helpers import REPORT, expect_error, start_cases_stack

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def cases(stack):
    client = await start_cases_stack(stack, sla_grid_s=3600)
    yield client
    await client.close()


async def test_trend_and_hotspots_follow_the_writes(cases, stack):
    res, admin = stack.token(role="resident", sub="r1"), stack.token()
    garbage = {**REPORT, "categoryCode": "ENV_GARBAGE"}
    made = [await cases("case.report", res, **garbage, regionId="grid-a1") for _ in range(4)]
    made += [await cases("case.report", res, **REPORT, regionId="grid-a2") for _ in range(2)]
    made.append(await cases("case.report", res, **REPORT, regionId="grid-b1"))
    op = stack.token(role="operator", region="city")
    await cases("case.accept", op, id=made[0]["id"])
    await cases("case.reject", op, id=made[1]["id"], reason="不属于受理范围")
    await cases.settled()

    today = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    span = {"from": (today - timedelta(days=6)).isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    reported = await cases("trend.series", admin, regionId="city", metric="reported", interval="DAY", **span)
    assert [p["value"] for p in reported["points"]] == [0, 0, 0, 0, 0, 0, 7]
    open_ = await cases("trend.series", admin, regionId="county-a", metric="open", interval="DAY", **span)
    # A stock: zero before today, then what is open now (6 in county-a, one rejected).
    assert [p["value"] for p in open_["points"]] == [0, 0, 0, 0, 0, 0, 5]
    weekly = await cases("trend.series", admin, regionId="city", metric="reported", interval="WEEK", **span)
    assert sum(p["value"] for p in weekly["points"]) == 7
    assert all(datetime.fromisoformat(p["start"]).weekday() == 0 for p in weekly["points"])
    rate = await cases("trend.series", admin, regionId="city", metric="response_rate", interval="MONTH", **span)
    assert rate["points"][-1]["value"] == pytest.approx(2 / 7, abs=1e-3)

    spots = await cases("hotspot.list", admin, regionId="city", since=(today - timedelta(days=6)).isoformat())
    assert [(h["gridId"], h["categoryCode"], h["count"], h["trend"]) for h in spots["items"]] == [
        ("grid-a1", "ENV_GARBAGE", 4, "NEW"), ("grid-a2", "FACILITY_STREETLIGHT", 2, "NEW")]
    assert spots["items"][0]["daily"][-1] == {"day": today.date().isoformat(), "count": 4}
    scoped = await cases("hotspot.list", stack.token(role="admin", region="county-b"), regionId="county-b",
                         since=(today - timedelta(days=6)).isoformat())
    assert scoped["items"] == []  # one report in grid-b1 is a case, not a cluster
    behind = await cases("hotspot.cases", admin, gridId="grid-a1", categoryCode="ENV_GARBAGE",
                         since=(today - timedelta(days=1)).isoformat())
    assert behind["total"] == 4 and set(behind["caseIds"]) == {c["id"] for c in made[:4]}


async def test_trend_and_hotspot_input_is_checked(cases, stack):
    admin, outsider = stack.token(), stack.token(role="admin", region="county-b")
    now = datetime.now(TZ)
    span = {"from": (now - timedelta(days=3)).isoformat(), "to": now.isoformat()}
    await expect_error(cases("trend.series", admin, regionId="city", metric="nope", **span), "BAD_INPUT")
    await expect_error(cases("trend.series", admin, regionId="city", metric="reported",
                             **{"from": span["to"], "to": span["from"]}), "BAD_INPUT")
    await expect_error(cases("trend.series", admin, regionId="city", metric="reported", interval="DAY",
                             **{"from": (now - timedelta(days=900)).isoformat(), "to": span["to"]}), "BAD_INPUT")
    await expect_error(cases("trend.series", outsider, regionId="county-a", metric="reported", **span), "FORBIDDEN")
    await expect_error(cases("trend.series", admin, regionId="nowhere", metric="reported", **span), "NOT_FOUND")
    await expect_error(cases("hotspot.list", outsider, regionId="county-a", since=span["from"]), "FORBIDDEN")
    await expect_error(cases("hotspot.cases", admin, gridId="comm-a", categoryCode="ENV_GARBAGE",
                             since=span["from"]), "BAD_INPUT")
    # a time without its offset is ambiguous: refused, not guessed (nor a crash)
    naive = (now - timedelta(days=3)).replace(tzinfo=None).isoformat()
    await expect_error(cases("hotspot.list", admin, regionId="city", since=naive), "BAD_INPUT")
    await expect_error(cases("trend.series", admin, regionId="city", metric="reported",
                             **{"from": naive, "to": span["to"]}), "BAD_INPUT")


async def test_hotspot_cells_of_the_earlier_layout_are_folded_in_once_on_start(cases, stack):
    """Cells kept one document per grid × category × day (the layout before `hotspot_days`)
    are folded into the per-region days by the next start of the service, and counted once."""
    res, admin = stack.token(role="resident", sub="r1"), stack.token()
    garbage = {**REPORT, "categoryCode": "ENV_GARBAGE"}
    for _ in range(2):
        await cases("case.report", res, **garbage, regionId="grid-a1")
    await cases.settled()
    rt = next(r for r in stack.runtimes if r.name == "cases")
    paths = {t["_id"]: t["path"] async for t in rt.db.territory.find({"_id": {"$in": ["grid-a1", "grid-a2"]}})}
    today = datetime.now(TZ).date()
    old = [("grid-a1", "ENV_GARBAGE", today - timedelta(days=2), 1),
           ("grid-a2", "FACILITY_STREETLIGHT", today - timedelta(days=1), 3),
           ("grid-a2", "FACILITY_STREETLIGHT", today - timedelta(days=30), 5)]  # the previous window
    await rt.db.hotspots.insert_many([{"_id": f"{g}|{c}|{d.isoformat()}", "g": g, "cat": c, "d": d.isoformat(), "n": n,
                                       "path": paths[g]} for g, c, d, n in old])

    await stack.stop_service(rt)
    rt = await stack.start_service("cases", sla_grid_s=3600)
    deadline = asyncio.get_running_loop().time() + 15
    while await rt.db.hotspots.count_documents({}):
        assert asyncio.get_running_loop().time() < deadline, "the earlier cells were not folded in"
        await asyncio.sleep(0.05)

    midnight = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    since = (midnight - timedelta(days=6)).isoformat()
    for region in ("city", "county-a", "comm-a"):  # every region on the grids' paths
        spots = await cases("hotspot.list", admin, regionId=region, since=since)
        assert [(h["gridId"], h["categoryCode"], h["count"], h["trend"]) for h in spots["items"]] == [
            ("grid-a1", "ENV_GARBAGE", 3, "NEW"), ("grid-a2", "FACILITY_STREETLIGHT", 3, "NEW")], region
    grid = await cases("hotspot.list", admin, regionId="grid-a2", since=since)
    assert [(h["gridId"], h["count"]) for h in grid["items"]] == [("grid-a2", 3)]
    month = await cases("hotspot.list", admin, regionId="city", since=(midnight - timedelta(days=20)).isoformat())
    streetlight = next(h for h in month["items"] if h["gridId"] == "grid-a2")
    assert (streetlight["count"], streetlight["previousCount"]) == (3, 5)
    # once only: folding again finds nothing, and the figures stay
    from services.cases.store import CaseStore
    assert await CaseStore(rt.db).upgrade_hotspot_cells(rt.transact) == 0
    again = await cases("hotspot.list", admin, regionId="city", since=since)
    assert [(h["gridId"], h["count"]) for h in again["items"]] == [("grid-a1", 3), ("grid-a2", 3)]


async def test_recent_cases_of_the_earlier_layout_get_their_near_cells_once_on_start(cases, stack):
    """Cases written before `near` (only their own `cell`) are found as possible duplicates
    again after the next start: the cases in the duplicate window get their near cells."""
    from services.cases.store import NEAR_MIGRATION, CaseStore
    res, admin = stack.token(role="resident", sub="r1"), stack.token()
    lng, lat = 113.005, 30.005  # in grid-a1
    first = await cases("case.report", res, **REPORT, lng=lng, lat=lat)
    old = await cases("case.report", res, **REPORT, regionId="grid-a2")  # no point: nothing to add
    rt = next(r for r in stack.runtimes if r.name == "cases")
    # as the earlier layout wrote them; one of them reported before the duplicate window
    await rt.db.cases.update_many({}, {"$unset": {"near": ""}})
    stale = await cases("case.report", res, **REPORT, lng=lng, lat=lat)
    await rt.db.cases.update_one({"_id": stale["id"]}, {"$unset": {"near": ""},
                                                         "$set": {"created_at": datetime.now(TZ) - timedelta(days=30)}})
    await rt.db.migrations.delete_many({})

    await stack.stop_service(rt)
    rt = await stack.start_service("cases", sla_grid_s=3600)
    deadline = asyncio.get_running_loop().time() + 15
    while not await rt.db.migrations.find_one({"_id": NEAR_MIGRATION}):
        assert asyncio.get_running_loop().time() < deadline, "the near cells were not added"
        await asyncio.sleep(0.05)
    docs = {d["_id"]: d.get("near") async for d in rt.db.cases.find({}, {"near": 1})}
    assert len(docs[first["id"]]) == 4 and docs[old["id"]] is None and docs[stale["id"]] is None
    assert (await rt.db.migrations.find_one({"_id": NEAR_MIGRATION}))["changed"] == 1

    # about 20 m east: the upgraded case is its possible duplicate; the one outside the window is not
    second = await cases("case.report", res, **REPORT, lng=lng + 0.0002, lat=lat)
    got = await cases("case.get", admin, id=second["id"])
    assert got["possibleDuplicates"] == [first["id"]]
    # once per database: a second run changes nothing, even with a case lacking its cells
    await rt.db.cases.update_one({"_id": first["id"]}, {"$unset": {"near": ""}})
    assert await CaseStore(rt.db).upgrade_near_cells(datetime.now(TZ) - timedelta(days=7)) == 0
