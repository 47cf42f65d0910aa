"""moveRegion across services, on real NATS and SecantusDB: a township moved to another county
takes its party organisations, members and volunteers with it. Scope follows at once (the old
county's admin no longer reads them, the new one does) and so do the figures (rollups and the
day buckets trends read), which stay equal to a recount."""
from __future__ import annotations

import asyncio

import pytest

from services.volunteers.store import INDEXES
from shared.mongo import PROCESSED
from shared.moves import ROLLUPS_AND_DAYS, follow_moves
from shared.records import flatten
from tests.cases_helpers import CasesClient, expect_error
from tests.org_helpers import assert_org_rollups_equal_recount, member, party_tree, start_org_stack

MOVE = 'mutation { moveRegion(id: "town-a", newParentId: "county-b") { id } }'
NEW_PATH = ["city", "county-b", "town-a", "comm-a"]


@pytest.fixture
async def services(stack):
    orgs, _ = await start_org_stack(stack, volunteers=True)
    vols = await CasesClient.connect(stack, "volunteers")
    await vols.wait_territory(["comm-a", "grid-a1"])
    yield orgs, vols
    await vols.close()
    await orgs.close()


def runtime(stack, name):
    return next(rt for rt in stack.runtimes if rt.name == name)


async def figures(stack, service: str, region: str) -> tuple[dict, dict]:
    """A region's rollup and its day buckets (without zeros)."""
    db = runtime(stack, service).db
    rollup = {k: v for k, v in flatten((await db.rollups.find_one({"_id": region}) or {}).get("c", {})).items() if v}
    days = {x["d"]: nz async for x in db.rollup_days.find({"r": region})
            if (nz := {k: v for k, v in flatten(x.get("c", {})).items() if v})}
    return rollup, days


def plus(a: dict, b: dict) -> dict:
    out = {k: (plus(a.get(k, {}), b.get(k, {})) if isinstance(a.get(k, b.get(k)), dict) else a.get(k, 0) + b.get(k, 0))
           for k in set(a) | set(b)}
    return {k: v for k, v in out.items() if v}


async def until_moved(stack, service: str, coll: str, record_id: str, timeout: float = 15) -> None:
    db = runtime(stack, service).db
    deadline = asyncio.get_running_loop().time() + timeout
    while (await db[coll].find_one({"_id": record_id}, {"path": 1}))["path"][:4] != NEW_PATH:
        assert asyncio.get_running_loop().time() < deadline, f"{service} never re-pathed {record_id}"
        await asyncio.sleep(0.05)


async def test_a_moved_township_takes_its_records_scope_and_figures(services, stack):
    orgs, vols = services
    su = stack.token()
    tree = await party_tree(orgs, su)
    m = await member(orgs, su, tree["grid"]["id"])
    token = stack.token(role="volunteer", region="comm-a", sub="v-move")
    v = await vols("volunteer.register", token, name="志愿者甲", homeRegionId="comm-a", phone="13800001234",
                   skills=["维修"])
    county_a, county_b = stack.token(role="admin", region="county-a"), stack.token(role="admin", region="county-b")
    assert (await orgs("member.get", county_a, id=m["id"]))["id"] == m["id"]
    assert (await vols("volunteer.get", county_a, id=v["id"]))["id"] == v["id"]
    await expect_error(orgs("member.get", county_b, id=m["id"]), "FORBIDDEN")
    await expect_error(vols("volunteer.get", county_b, id=v["id"]), "FORBIDDEN")
    before = {s: {r: await figures(stack, s, r) for r in ("town-a", "county-a", "county-b")}
              for s in ("organizations", "volunteers")}
    for s in before:
        assert before[s]["county-a"] == before[s]["town-a"] and before[s]["town-a"][0], s

    await stack.ok(MOVE)
    await until_moved(stack, "organizations", "members", m["id"])
    await until_moved(stack, "volunteers", "volunteers", v["id"])

    assert (await orgs("member.get", county_b, id=m["id"]))["id"] == m["id"]
    assert (await vols("volunteer.get", county_b, id=v["id"]))["id"] == v["id"]
    await expect_error(orgs("member.get", county_a, id=m["id"]), "FORBIDDEN")
    await expect_error(vols("volunteer.get", county_a, id=v["id"]), "FORBIDDEN")
    org = runtime(stack, "organizations").db
    moved = await org.organizations.find({"path": "town-a"}).to_list(None)
    assert len(moved) == 4 and all(x["path"][:3] == NEW_PATH[:3] for x in moved)
    doc = await org.members.find_one({"_id": m["id"]})
    assert doc["org_path"][:3] == doc["path"][:3] == NEW_PATH[:3]
    for s in before:
        assert await figures(stack, s, "county-a") == ({}, {}), s
        assert await figures(stack, s, "town-a") == before[s]["town-a"], s
        want = tuple(plus(x, y) for x, y in zip(before[s]["county-b"], before[s]["town-a"], strict=True))
        assert await figures(stack, s, "county-b") == want, s
    stats = (await vols("stats.batch", su, ids=["county-a", "county-b"]))["items"]
    assert stats["county-a"]["volunteerCount"] == 0 and stats["county-b"]["volunteerCount"] == 1
    await assert_org_rollups_equal_recount(stack)

    # The same event again (a redelivery) changes nothing.
    rt = runtime(stack, "volunteers")
    (mark,) = await rt.db[PROCESSED].find({"_id": {"$regex": "^volunteers-region-moved:"}}).to_list(None)
    event_id = mark["_id"].split(":", 1)[1]
    after = {r: await figures(stack, "volunteers", r) for r in ("county-a", "county-b", "town-a")}
    again = follow_moves("volunteers", rt.db, rt.transact, INDEXES, ROLLUPS_AND_DAYS)
    await again(event_id, "town-a", ["city", "county-a", "town-a"], ["city", "county-b", "town-a"])
    assert {r: await figures(stack, "volunteers", r) for r in after} == after
