"""The grids service's visit verbs over NATS: schedules from household tags, recording in scope with the
place check, idempotency, the plan, the sweeper's VISIT_OVERDUE, the rules, the bulk import, rollups."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import nats
import pytest

from services.grids.domain.visits import VISIT_COUNTERS
from services.grids.replay import replay
from shared.errors import DomainError
from shared.messaging.rpc import RpcClient
from tests.cases_gateway import eventually
from tests.territory import square

ID = "11010519491231002X"
IN_G1 = {"lng": 113.005, "lat": 30.005}
IN_G2 = {"lng": 113.015, "lat": 30.005}


async def tree(call):
    await call("region.create", id="c", name="市", level="CITY")
    await call("region.create", id="k", name="区", level="COUNTY", parentId="c")
    await call("region.create", id="t", name="街道", level="TOWNSHIP", parentId="k")
    await call("region.create", id="m", name="社区", level="COMMUNITY", parentId="t")
    for i, g in enumerate(("g1", "g2")):
        await call(
            "region.create",
            id=g,
            name=f"网格{g}",
            level="GRID",
            parentId="m",
            boundary=square(113 + i * 0.01, 30, 0.01),
        )
        await call("region.create", id=f"{g}b1", name="1号楼", level="BUILDING", parentId=g)


def household(building="g1b1", room="101", tags=("ELDERLY_ALONE",), **extra):
    return {
        "buildingId": building,
        "unit": "1",
        "room": room,
        "head": {"name": "张小三", "phone": "13812345678", "idNumber": ID},
        "members": [],
        "tags": list(tags),
        **extra,
    }


@pytest.fixture
async def grids(stack):
    await stack.start_service("grids", visit_sweep_s=3600.0)
    nc = await nats.connect(stack.settings.nats_url)
    rpc = RpcClient(nc, stack.settings.rpc_timeout_s)

    async def call(verb, token=None, **payload):
        return await rpc.call("grids", verb, payload, token or stack.token("service"))

    await tree(call)
    yield call
    await nc.close()


async def error_of(coro) -> DomainError:
    with pytest.raises(DomainError) as e:
        await coro
    return e.value


def db(stack):
    return stack.runtimes[0].db


async def scheduled(stack, household_id):
    return await eventually(
        lambda: db(stack).households.find_one({"_id": household_id}),
        lambda h: h.get("nextVisitDue") is not None,
        timeout=stack.settings.rpc_timeout_s,
    )


async def counters(stack, region):
    doc = await db(stack).rollups.find_one({"_id": region})
    return {k: v for k, v in doc["counters"].items() if k in ("mustVisitCount", "overdueVisits", "visitCount")}


async def test_record_in_scope_place_check_idempotency_and_rollups(grids, stack):
    worker = stack.token("grid_worker", region="g1", sub="w1")
    other = stack.token("grid_worker", region="g2", sub="w2")
    township = stack.token("admin", region="t", sub="a2")
    h = await grids("household.register", worker, **household())
    doc = await scheduled(stack, h["id"])
    assert doc["mustVisit"] and doc["visitRule"] == "ELDERLY_ALONE" and doc["visitOverdue"] is False
    assert await counters(stack, "m") == {"mustVisitCount": 1}

    # outside the grid without a reason, and with no place: refused, nothing written
    e = await error_of(grids("visit.record", worker, householdId=h["id"], kind="ELDERLY_ALONE", **IN_G2))
    assert e.code == "BAD_INPUT" and "outside the grid" in e.message
    e = await error_of(grids("visit.record", worker, householdId=h["id"], kind="ELDERLY_ALONE"))
    assert e.code == "BAD_INPUT" and "no place" in e.message
    e = await error_of(grids("visit.record", worker, householdId=h["id"], kind="PICNIC", **IN_G1))
    assert e.code == "BAD_INPUT"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    e = await error_of(grids("visit.record", worker, householdId=h["id"], kind="ROUTINE", at=future, **IN_G1))
    assert e.code == "BAD_INPUT" and "future" in e.message
    # another grid's worker does not see the household; the township's admin sees figures only
    assert (
        await error_of(grids("visit.record", other, householdId=h["id"], kind="ROUTINE", **IN_G1))
    ).code == "FORBIDDEN"
    e = await error_of(grids("visit.record", township, householdId=h["id"], kind="ROUTINE", **IN_G1))
    assert e.code == "FORBIDDEN" and "figures only" in e.message
    assert await db(stack).visits.count_documents({}) == 0

    v = await grids(
        "visit.record",
        worker,
        householdId=h["id"],
        kind="ELDERLY_ALONE",
        findings="腿脚不便，需送餐",
        idempotencyKey="v1",
        **IN_G1,
    )
    assert v["flagged"] is False and v["visitor"] == "w1" and v["findings"] == "腿脚不便，需送餐"
    again = await grids("visit.record", worker, householdId=h["id"], kind="ELDERLY_ALONE", idempotencyKey="v1", **IN_G1)
    assert again["id"] == v["id"]
    # twins sent at once: one visit, every answer its id (a twin's `remember` fails, and it reads the first)
    twins = await asyncio.gather(*(
        grids("visit.record", worker, householdId=h["id"], kind="ROUTINE", idempotencyKey="v-twin", **IN_G1)
        for _ in range(4)
    ))
    assert len({t["id"] for t in twins}) == 1
    assert await db(stack).visits.count_documents({"_id": twins[0]["id"]}) == 1
    stored = await db(stack).visits.find_one({"_id": v["id"]})
    assert "送餐" not in str(stored) and stored["path"] == ["c", "k", "t", "m", "g1", "g1b1"]
    flagged = await grids(
        "visit.record", worker, householdId=h["id"], kind="ROUTINE", overrideReason="在社区卫生站碰面", **IN_G2
    )
    assert flagged["flagged"] and flagged["overrideReason"] == "在社区卫生站碰面"
    by_building = await grids("visit.record", worker, buildingId="g1b1", kind="ROUTINE", **IN_G1)
    assert by_building["householdId"] is None and by_building["buildingId"] == "g1b1"
    assert await counters(stack, "c") == {"mustVisitCount": 1, "visitCount": 4}  # the twins' one visit counted once
    hd = await db(stack).households.find_one({"_id": h["id"]})
    assert hd["nextVisitDue"] > datetime.now(UTC) + timedelta(days=6)

    # lists: the worker's grid, newest first; another grid's worker sees none; the township is refused
    page = await grids("visit.list", worker, regionId="g1", first=2)
    assert page["totalCount"] == 4 and [x["id"] for x in page["items"]] == [by_building["id"], flagged["id"]]
    assert (await error_of(grids("visit.list", other, regionId="g1"))).code == "FORBIDDEN"
    assert "figures only" in (await error_of(grids("visit.list", township, regionId="t"))).message
    assert (await error_of(grids("visit.get", other, id=v["id"]))).code == "FORBIDDEN"


async def test_plan_sweeper_and_rules(grids, stack):
    worker = stack.token("grid_worker", region="g1", sub="w1")
    h1 = await grids("household.register", worker, **household(room="101"))
    h2 = await grids("household.register", worker, **household(room="102", tags=["VETERAN"]))
    h3 = await grids("household.register", worker, **household(room="103", tags=["TENANT"]))
    for h in (h1, h2):
        await scheduled(stack, h["id"])
    plan = await grids("visit.plan", worker, gridId="g1", withinDays=10)
    assert [d["householdId"] for d in plan["items"]] == [h1["id"]]
    plan = await grids("visit.plan", worker, gridId="g1", withinDays=31)
    assert [d["householdId"] for d in plan["items"]] == [h1["id"]]
    assert (await error_of(grids("visit.plan", worker, gridId="g2"))).code == "FORBIDDEN"

    # the sweeper marks the lapse once, with its event and the counter
    sweeper = stack.runtimes[0]
    visiting = sweeper_of(stack)
    later = datetime.now(UTC) + timedelta(days=8)
    sub = await nats.connect(stack.settings.nats_url)
    seen = []

    async def got(m):
        seen.append(m)

    s = await sub.subscribe("yiwang.evt.grids.VISIT_OVERDUE.>", cb=got)
    await visiting.sweep_once(later)
    await visiting.sweep_once(later)
    await eventually(lambda: _n(seen), lambda n: n >= 1, timeout=stack.settings.rpc_timeout_s)
    assert await counters(stack, "c") == {"mustVisitCount": 2, "overdueVisits": 1}
    assert (await db(stack).households.find_one({"_id": h1["id"]}))["visitOverdue"] is True
    # a visit clears it
    await grids("visit.record", worker, householdId=h1["id"], kind="ELDERLY_ALONE", **IN_G1)
    assert await counters(stack, "c") == {"mustVisitCount": 2, "overdueVisits": 0, "visitCount": 1}
    await s.unsubscribe()
    await sub.close()
    assert len({json.loads(m.data)["id"] for m in seen}) == 1 and sweeper is not None

    # the rules: a city admin changes them, households follow
    rules = (await grids("visit.rules", worker))["rules"]
    city_admin = stack.token("admin", region="c", sub="ca")
    e = await error_of(grids("visit.setRules", stack.token("admin", region="m", sub="ma"), rules=rules))
    assert e.code == "FORBIDDEN"
    bad = [*rules, {**rules[0]}]
    assert (await error_of(grids("visit.setRules", city_admin, rules=bad))).code == "BAD_INPUT"
    tenant_rule = {"code": "TENANT", "name": "租户 每月走访", "kind": "MUST_VISIT", "tag": "TENANT", "intervalDays": 30}
    done = await grids("visit.setRules", city_admin, rules=[*rules, tenant_rule])
    assert done["version"] == 2
    await visiting.sweep_once()
    h3d = await db(stack).households.find_one({"_id": h3["id"]})
    assert h3d["mustVisit"] and h3d["visitRule"] == "TENANT"
    assert (await counters(stack, "c"))["mustVisitCount"] == 3

    # moving out takes the household's schedule and its counters away, once
    await grids("household.moveOut", worker, id=h1["id"], reason="搬走")
    assert await counters(stack, "c") == {"mustVisitCount": 2, "overdueVisits": 0, "visitCount": 1}
    gone = await db(stack).households.find_one({"_id": h1["id"]})
    assert gone["mustVisit"] is False and gone["nextVisitDue"] is None
    # replay: the live counters equal the recount from the records; a wrong one is found and corrected
    assert (await replay(db(stack))).clean
    await db(stack).rollups.update_one({"_id": "g1"}, {"$inc": {"counters.overdueVisits": 2, "counters.visitCount": -1}})
    report = await replay(db(stack))
    assert sorted((r, n) for r, n, _, _ in report.differences) == [("g1", "overdueVisits"), ("g1", "visitCount")]
    assert (await replay(db(stack), apply=True)).applied and (await replay(db(stack))).clean


async def test_import_is_idempotent_and_buckets_by_day(grids, stack):
    worker = stack.token("grid_worker", region="g1", sub="w1")
    h = await grids("household.register", worker, **household())
    await scheduled(stack, h["id"])
    base = datetime.now(UTC) - timedelta(days=100)
    items = [
        {
            "key": f"k{i}",
            "householdId": h["id"],
            "kind": "ELDERLY_ALONE",
            "at": (base + timedelta(days=7 * i)).isoformat(),
            "visitor": "w1",
            **IN_G1,
        }
        for i in range(10)
    ]
    assert (await error_of(grids("visit.import", worker, items=items))).code == "FORBIDDEN"
    r = await grids("visit.import", items=items)
    assert r == {"imported": 10, "skipped": 0}
    r = await grids("visit.import", items=items)
    assert r == {"imported": 0, "skipped": 10}
    assert (await counters(stack, "m"))["visitCount"] == 10
    hd = await db(stack).households.find_one({"_id": h["id"]})
    assert abs((hd["lastVisitAt"] - (base + timedelta(days=63))).total_seconds()) < 1
    buckets = await db(stack).rollup_days.count_documents({"r": "m", "c.visitCount": {"$gt": 0}})
    assert buckets == 10
    # the household's last visit was 37 days ago: overdue at the next sweep
    await sweeper_of(stack).sweep_once()
    assert (await counters(stack, "m"))["overdueVisits"] == 1


def _n(xs):
    async def n():
        return len(xs)

    return n()


def sweeper_of(stack):
    from services.grids.sweeper import VisitSweeper

    rt = stack.runtimes[0]
    found = [h for h in rt._shutdown if getattr(getattr(h, "__self__", None), "__class__", None) is VisitSweeper]
    return found[0].__self__


async def test_work_visits_for_a_worker_a_linked_member_and_a_cadre(grids, stack):
    worker = stack.token("grid_worker", region="g1", sub="w1")
    lone = await grids("household.register", worker, **household(room="101"))
    vet = await grids("household.register", worker, **household(room="102", tags=["VETERAN"]))
    other = await grids("household.register", stack.token("grid_worker", region="g2", sub="w2"),
                        **household(building="g2b1", room="101"))
    for h in (lone, vet, other):
        await scheduled(stack, h["id"])
    # lone is due within the week, not today: nothing due today; once past due it shows, overdue
    assert (await grids("work.visits", worker))["items"] == []
    past = datetime.now(UTC) - timedelta(days=1)
    await db(stack).households.update_many({"_id": {"$in": [lone["id"], other["id"]]}}, {"$set": {"nextVisitDue": past}})
    items = (await grids("work.visits", worker))["items"]
    assert [(d["householdId"], d["rule"], d["overdue"]) for d in items] == [(lone["id"], "ELDERLY_ALONE", True)]
    # a volunteer sees the households linked to their member record
    await db(stack).households.update_one({"_id": other["id"]}, {"$set": {"linkedMemberIds": ["pm1"]}})
    vol = stack.token("volunteer", region="m", sub="v1", member="pm1")
    assert [d["householdId"] for d in (await grids("work.visits", vol))["items"]] == [other["id"]]
    # a cadre, the regions assigned to them
    await grids("cadre.assign", sub="cadre1", regionId="m", role="STREET_CADRE")
    cadre = stack.token("operator", region="m", sub="cadre1")
    got = (await grids("work.visits", cadre))["items"]
    assert sorted(d["householdId"] for d in got) == sorted([lone["id"], other["id"]])
    # a member's visit counts for the visitor and the member
    await grids("visit.import", items=[{"key": "m1", "householdId": other["id"], "kind": "ROUTINE", "visitor": "v1",
                                        "visitorMember": "pm1", "at": datetime.now(UTC).isoformat()}])
    people = {d["_id"]: d["visitCount"] async for d in db(stack).people.find({})}
    assert people == {"visitor:v1": 1, "member:pm1": 1}
    # (the link was written here by hand, not by member.link: only the visit counters are compared;
    # the sweeper the import kicked marks `lone` overdue meanwhile: done before the recount reads)
    await sweeper_of(stack).sweep_once()
    assert not [d for d in (await replay(db(stack))).differences if d[1] in VISIT_COUNTERS]


async def test_import_counters_staged_then_applied_once(grids, stack, monkeypatch):
    """An import's counters are applied by a second transaction; cut off before it, the batch's visits
    are stored with their counters staged, and the next import (or a start) applies them, once."""
    from services.grids.staged_counts import StagedCounts

    worker = stack.token("grid_worker", region="g1", sub="w1")
    h = await grids("household.register", worker, **household())
    await scheduled(stack, h["id"])
    base = datetime.now(UTC) - timedelta(days=20)
    items = [{"key": f"s{i}", "householdId": h["id"], "kind": "ELDERLY_ALONE", "at": (base + timedelta(days=i)).isoformat(),
              "visitor": "w1", "visitorMember": "pm9", **IN_G1} for i in range(3)]
    applied = StagedCounts.apply

    async def cut_off(self, rt, batch_id):
        raise RuntimeError("cut off between the two transactions")

    monkeypatch.setattr(StagedCounts, "apply", cut_off)
    with pytest.raises(DomainError):
        await grids("visit.import", items=items)
    assert await db(stack).visits.count_documents({"householdId": h["id"]}) == 3
    assert (await counters(stack, "c")).get("visitCount", 0) == 0  # staged, not yet applied
    assert await db(stack).stagedCounts.count_documents({}) == 1
    monkeypatch.setattr(StagedCounts, "apply", applied)
    # sent again: nothing imported twice, the staged counters applied first
    assert await grids("visit.import", items=items) == {"imported": 0, "skipped": 3}
    assert (await counters(stack, "c"))["visitCount"] == 3
    assert await db(stack).stagedCounts.count_documents({}) == 0
    people = {d["_id"]: d["visitCount"] async for d in db(stack).people.find({})}
    assert people == {"visitor:w1": 3, "member:pm9": 3}
    assert await StagedCounts(db(stack)).apply_pending(stack.runtimes[0]) == 0  # once only
    # the import kicked the sweeper, which marks the household overdue (its last visit 18 days ago,
    # weekly rule) in a transaction of its own: done before the recount, which reads the rollups
    # and the households one after the other
    await sweeper_of(stack).sweep_once()
    report = await replay(db(stack))
    assert not [d for d in report.differences if d[1] in VISIT_COUNTERS] and not report.people, report
