"""Working-day clocks end to end: the work calendar through GraphQL (read by anyone, set by a
city's administrators, checked, audited), every cases replica following an edit, deadlines on
it, and CASE_DUE_SOON from the sweeper once per deadline."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.cases_gateway import (GET, IN_A1, OP_A, R1, Subscriber, codes, consumer_count, eventually, report,
                                 start_cases_stack, wait_consumers)
from tests.cases_helpers import REPORT, CasesClient
from tests.territory import build_tree

CALENDAR = """query($y: Int!) { workCalendar(year: $y) {
  year source note holidays workdays workingDays officeHours timezone version updatedAt } }"""
SET = """mutation($y: Int!, $h: [Date!]!, $w: [Date!]!) { setWorkCalendar(year: $y, holidays: $h, workdays: $w) {
  year source holidays workdays workingDays version updatedAt } }"""
CITY_ADMIN = {"role": "admin", "region": "city", "sub": "city-admin"}
COUNTY_ADMIN = {"role": "admin", "region": "county-a", "sub": "county-admin"}


async def test_the_calendar_is_read_by_anyone_and_set_by_a_city_administrator_only(stack):
    await start_cases_stack(stack)
    y26 = (await stack.ok(CALENDAR, {"y": 2026}, **R1))["workCalendar"]
    assert y26["source"] == "PUBLISHED" and "国务院办公厅" in y26["note"]
    assert "2026-10-01" in y26["holidays"] and "2026-02-14" in y26["workdays"]
    assert y26["workingDays"] == 248 and y26["officeHours"] == "08:30-12:00,14:00-17:30"
    assert y26["timezone"] == "Asia/Shanghai" and y26["version"] == 1
    empty = (await stack.ok(CALENDAR, {"y": 2031}, **R1))["workCalendar"]
    assert empty["source"] == "WEEKENDS_ONLY" and empty["holidays"] == [] and empty["version"] == 0

    edit = {"y": 2031, "h": ["2031-01-01", "2031-01-02"], "w": ["2031-01-04"]}  # Sat 1/4 worked
    for who in (COUNTY_ADMIN, OP_A, R1):
        assert codes(await stack.gql(SET, edit, **who)) == ["FORBIDDEN"], who
    refused = [
        {"y": 2031, "h": ["2031-01-04"], "w": ["2031-01-04"]},  # both a holiday and a workday
        {"y": 2031, "h": ["2030-12-31"], "w": []},  # outside the year
        {"y": 2031, "h": [], "w": ["2031-01-06"]},  # a Monday is no 调休 workday
        {"y": 1999, "h": [], "w": []},
        {"y": 2031, "h": ["2031-02-30"], "w": []},  # no such day
    ]
    for bad in refused:
        body = await stack.gql(SET, bad, **CITY_ADMIN)
        assert codes(body) == ["BAD_USER_INPUT"], (bad, body)
    assert (await stack.ok(CALENDAR, {"y": 2031}, **R1))["workCalendar"]["version"] == 0  # nothing changed

    done = (await stack.ok(SET, edit, **CITY_ADMIN))["setWorkCalendar"]
    assert done["source"] == "EDITED" and done["version"] == 1 and done["updatedAt"]
    assert done["holidays"] == ["2031-01-01", "2031-01-02"] and done["workdays"] == ["2031-01-04"]
    weekdays_2031 = sum((date(2031, 1, 1) + timedelta(days=i)).weekday() < 5 for i in range(365))
    assert done["workingDays"] == weekdays_2031 - 2 + 1
    again = (await stack.ok(SET, {**edit, "w": []}, token=stack.token()))["setWorkCalendar"]  # superadmin
    assert again["version"] == 2 and again["workdays"] == []

    # audited: the history keeps who changed what; the event carries no more than counts
    rt = next(r for r in stack.runtimes if r.name == "cases")
    history = await rt.db.work_calendar_history.find({"year": 2031}).sort("version", 1).to_list(10)
    assert [(h["version"], h["actor"]) for h in history] == [(1, "city-admin"), (2, "test-superadmin")]
    assert history[1]["before"]["workdays"] == ["2031-01-04"] and history[1]["after"]["workdays"] == []
    events = await rt.db.outbox.find({"type": "yiwang.cases.WORK_CALENDAR_CHANGED.v1"}).to_list(10)
    assert sorted(e["envelope"]["data"]["version"] for e in events) == [1, 2]
    assert {e["envelope"]["actor"] for e in events} == {"city-admin", "test-superadmin"}


def local_days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


async def test_every_replica_follows_an_edit_and_deadlines_count_it(stack):
    """Two cases replicas: whichever serves the edit, the other picks it up within its refresh
    period; a report's deadline then skips the new holidays."""
    settings = {"calendar_refresh_s": 0.2}
    await stack.start_service("grids")
    await stack.start_service("cases", **settings)
    await stack.start_service("cases", **settings)
    await stack.start_gateway(services=("grids", "cases"))
    await build_tree(stack)
    client = await CasesClient.connect(stack)
    try:
        await client.wait_territory(["grid-a1"])

        async def known_everywhere() -> bool:  # each call lands on either replica: ask both, many times
            for _ in range(16):
                items = (await client("stats.batch", stack.token(), ids=["grid-a1"]))["items"]
                if "error" in items["grid-a1"]:
                    return False
            return True

        await eventually(known_everywhere, bool, timeout=30)
        zone = ZoneInfo("Asia/Shanghai")
        today = datetime.now(zone).date()
        off = local_days(today, 6)  # today and the five days after it: all off
        by_year: dict[int, list[date]] = {}
        for day in off:
            by_year.setdefault(day.year, []).append(day)
        versions = {}
        for year, days in by_year.items():
            current = await client("calendar.get", stack.token(), year=year)
            holidays = sorted({*current["holidays"], *(d.isoformat() for d in days)})
            workdays = [w for w in current["workdays"] if w not in holidays]
            done = await client("calendar.set", stack.token(), year=year, holidays=holidays, workdays=workdays)
            versions[year] = done["version"]

        async def answers() -> list[int]:
            out = []
            for _ in range(24):  # each replica answers about half: both are asked
                for year, version in versions.items():
                    out.append(int((await client("calendar.get", stack.token(), year=year))["version"] == version))
            return out

        await eventually(answers, lambda a: all(a), timeout=30)
        for _ in range(6):  # reports land on either replica
            case = await client("case.report", stack.token(), **REPORT, lng=IN_A1[0], lat=IN_A1[1])
            due = datetime.fromisoformat(case["dueAt"]).astimezone(zone)
            assert due.date() > off[-1], (due, off)
    finally:
        await client.close()


SWEEP_S = 0.2


async def test_the_sweeper_warns_once_per_deadline(stack):
    # 30 wall-clock seconds at the grid, warned when 90 % of it is left: from 3 s on
    clocks = {"sla_grid_s": 30, "due_soon_share": 0.9, "sla_sweep_s": SWEEP_S}
    await start_cases_stack(stack, **clocks)
    await stack.start_service("cases", **clocks)  # a second replica, and sweeper
    before = await consumer_count(stack)
    async with Subscriber(stack, stack.token(**OP_A)) as sub:
        await sub.subscribe("subscription($r: ID!) { caseEvents(regionId: $r) { type caseId actor } }",
                            {"r": "comm-a"})
        await wait_consumers(stack, before + 1)
        case = await report(stack, R1, IN_A1)
        got = await sub.events_until(lambda d: d["caseEvents"]["type"] == "DUE_SOON", timeout=60)
    assert [d["caseEvents"]["type"] for d in got][-1] == "DUE_SOON"
    assert got[-1]["caseEvents"]["actor"] == "system:cases"
    seen = (await stack.ok(GET.replace("timeline {", "dueSoon timeline {"), {"id": case["id"]}, **OP_A))["case"]
    if seen["level"] == "GRID":  # (not yet past its 30 s, which only a very slow machine would be)
        assert seen["dueSoon"] is True and not seen["overdue"]
    # ten more sweep periods of both replicas (one holds the lease at a time) add nothing
    rt = next(r for r in stack.runtimes if r.name == "cases")
    await asyncio.sleep(10 * SWEEP_S)
    doc = await rt.db.cases.find_one({"_id": case["id"]})
    assert [t["type"] for t in doc["timeline"]].count("DUE_SOON") == 1
    if doc["level"] == "GRID":  # (not yet escalated, on a very slow machine)
        assert doc["due_soon_sent"] and doc["sweep_at"] == doc["due_at"]


async def test_open_cases_of_the_earlier_layout_are_swept_and_given_their_sweep_time(stack):
    """Cases stored before `sweep_at`: read by status and deadline until the start-up upgrade
    has given them theirs, then by `sweep_at` like any other."""
    from pymongo import AsyncMongoClient

    from services.cases import domain as d
    from services.cases.store import SWEEP_AT_MIGRATION, case_doc
    from shared.auth import Principal, Role

    past = datetime.now(ZoneInfo("UTC")) - timedelta(hours=1)
    old = d.Case.report(id="c-old-layout", title="路灯不亮", description="", category=d.DEFAULT_CATALOGUE.get("OTHER"),
                        channel=d.CaseChannel.HOTLINE, region_path=("city", "county-a", "town-a", "comm-a", "grid-a1"),
                        by=Principal(sub="op", role=Role.SUPERADMIN), now=past - timedelta(days=30),
                        sla=d.DEFAULT_SLA, reporter_name="王先生")
    old.drain_events()
    doc = case_doc(old, {"possible_duplicates": []})
    for field in ("sweep_at", "due_from", "due_working", "due_soon_at", "due_soon_sent", "sla_work", "sla_work_levels"):
        doc.pop(field)
    mongo = AsyncMongoClient(stack.settings.mongo_uri)
    try:
        db = mongo[stack.settings.db_name("cases")]
        await db.cases.insert_one(doc)
        rt = await stack.start_service("cases", sla_sweep_s=SWEEP_S)
        swept = await eventually(lambda: rt.db.cases.find_one({"_id": "c-old-layout"}),
                                 lambda x: x["level"] == "COMMUNITY", timeout=30)
        assert [t["type"] for t in swept["timeline"]] == ["REPORTED", "OVERDUE", "ESCALATED"]
        assert swept["sweep_at"] is not None  # the new deadline's warning, or the deadline
        await eventually(lambda: db.migrations.find_one({"_id": SWEEP_AT_MIGRATION}), bool, timeout=30)
    finally:
        await mongo.close()
