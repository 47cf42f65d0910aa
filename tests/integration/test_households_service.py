"""The grids service's household verbs over NATS: register and read in scope, masking, typed errors,
idempotency, rollups with the write."""
from __future__ import annotations

import nats
import pytest

from services.grids.domain import households as hh
from services.grids.replay import replay
from shared.errors import DomainError
from shared.messaging.rpc import RpcClient

ID = "11010519491231002X"


async def tree(call):
    await call("region.create", id="c", name="市", level="CITY")
    await call("region.create", id="k", name="区", level="COUNTY", parentId="c")
    await call("region.create", id="t", name="街道", level="TOWNSHIP", parentId="k")
    await call("region.create", id="m", name="社区", level="COMMUNITY", parentId="t")
    for g in ("g1", "g2"):
        await call("region.create", id=g, name=f"网格{g}", level="GRID", parentId="m")
        await call("region.create", id=f"{g}b1", name="1号楼", level="BUILDING", parentId=g)


def household(building="g1b1", room="101", **extra):
    return {"buildingId": building, "unit": "1", "room": room, "head": {"name": "张小三", "phone": "13812345678",
            "idNumber": ID}, "members": [{"relation": "SPOUSE", "name": "李四"}], "tags": ["LOW_INCOME"], **extra}


@pytest.fixture
async def grids(stack):
    await stack.start_service("grids")
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


async def test_register_and_read(grids, stack):
    worker = stack.token("grid_worker", region="g1", sub="w1")
    other = stack.token("grid_worker", region="g2", sub="w2")
    admin = stack.token("admin", region="m", sub="a1")
    township = stack.token("admin", region="t", sub="a2")
    h = await grids("household.register", worker, **household(idempotencyKey="k1"))
    assert h["gridId"] == "g1" and h["communityId"] == "m" and h["residentCount"] == 2
    assert h["head"]["name"] == "张小三" and h["head"]["phone"] == "13812345678"
    assert h["head"]["idNumber"] == "110***********002X" and h["head"]["gender"] == "FEMALE"
    again = await grids("household.register", worker, **household(idempotencyKey="k1"))
    assert again["id"] == h["id"]
    # stored encrypted
    doc = await stack.runtimes[0].db.households.find_one({"_id": h["id"]})
    assert "张小三" not in str(doc) and ID not in str(doc) and doc["head"]["nameEnc"].startswith("v2:")
    # masked to the community's admin, hidden from another grid, figures only above
    seen = await grids("household.get", admin, id=h["id"])
    assert seen["head"]["name"] == "张*三" and seen["head"]["phone"] == "138****5678"
    assert (await error_of(grids("household.get", other, id=h["id"]))).code == "FORBIDDEN"
    e = await error_of(grids("household.get", township, id=h["id"]))
    assert e.code == "FORBIDDEN" and "figures only" in e.message
    # typed errors, nothing written
    e = await error_of(grids("household.register", worker, **household()))
    assert e.code == "CONFLICT" and e.details["existingId"] == h["id"]
    e = await error_of(grids("household.register", worker, **household(room="102", gridId="g2")))
    assert e.code == "BAD_INPUT" and "another grid" in e.message
    e = await error_of(grids("household.register", other, **household(room="102")))
    assert e.code == "FORBIDDEN"
    bad = household(room="103")
    bad["head"]["idNumber"] = ID[:-1] + "1"
    assert "check digit" in (await error_of(grids("household.register", worker, **bad))).message
    e = await error_of(grids("household.register", worker, **household(building="g1", room="104")))
    assert "BUILDING" in e.message
    stats = (await grids("stats.batch", ids=["c", "g1", "g2"]))["items"]
    assert stats["g2"] == stats["g2"] | {"gridCount": 1}
    rollup = await stack.runtimes[0].db.rollups.find_one({"_id": "c"})
    assert hh.household_figures({"householdCount": rollup["counters"]["householdCount"],
                                 "residentCount": rollup["counters"]["residentCount"]})["householdCount"] == 1
    assert rollup["counters"]["residentCount"] == 2 and rollup["counters"]["tag"]["LOW_INCOME"] == 1


async def test_households_follow_their_building_when_regions_move(grids, stack):
    db = stack.runtimes[0].db
    await grids("region.create", id="m2", name="社区2", level="COMMUNITY", parentId="t")
    worker = stack.token("grid_worker", region="g1", sub="w1")
    h = await grids("household.register", worker, **household(tags=["LOW_INCOME", "TENANT"]))
    await grids("region.move", id="g1", newParentId="m2")  # the grid, its building and household with it
    doc = await db.households.find_one({"_id": h["id"]})
    assert doc["path"] == ["c", "k", "t", "m2", "g1", "g1b1"] and doc["communityId"] == "m2"
    await grids("region.create", id="g3", name="网格3", level="GRID", parentId="m")
    await grids("region.move", id="g1b1", newParentId="g3")  # the building alone: another grid
    doc = await db.households.find_one({"_id": h["id"]})
    assert (doc["gridId"], doc["communityId"], doc["path"][-2:]) == ("g3", "m", ["g3", "g1b1"])
    stats = (await grids("household.stats", ids=["m", "m2", "g1", "g3"]))["items"]
    assert [stats[r]["householdCount"] for r in ("m", "m2", "g1", "g3")] == [1, 0, 0, 1]
    assert {x["tag"]: x["count"] for x in stats["g3"]["byTag"] if x["count"]} == {"LOW_INCOME": 1, "TENANT": 1}
    assert (await replay(db)).clean
    # the grid worker of g1 no longer sees it; g3's does
    e = await error_of(grids("household.get", worker, id=h["id"]))
    assert e.code == "FORBIDDEN"
    assert (await grids("household.get", stack.token("grid_worker", region="g3", sub="w3"), id=h["id"]))["id"]
