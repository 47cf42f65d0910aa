"""Rollups kept with the writes equal a recount, under concurrent writes from two replicas."""
from __future__ import annotations

import asyncio
import random

import nats
import pytest

from services.grids.domain import FIGURES, Level, recount
from services.grids.store import region_from_doc
from shared.messaging.rpc import RpcClient
from tests.territory import square


@pytest.mark.long(30)  # seconds alone, about: started first (tests/conftest.py)
async def test_rollups_equal_recount_after_concurrent_writes(stack):
    await stack.start_service("grids")
    await stack.start_service("grids")  # a second replica on the same NATS and database
    nc = await nats.connect(stack.settings.nats_url)
    rpc, token = RpcClient(nc, stack.settings.rpc_timeout_s), stack.token()

    async def call(verb, **payload):
        return await rpc.call("grids", verb, payload, token)

    rnd = random.Random(7)
    await call("region.create", id="c", name="市", level="CITY")
    for k in range(2):
        await call("region.create", id=f"k{k}", name=f"区{k}", level="COUNTY", parentId="c")
        for t in range(2):
            await call("region.create", id=f"t{k}{t}", name=f"街道{k}{t}", level="TOWNSHIP", parentId=f"k{k}")
            await call("region.create", id=f"m{k}{t}", name=f"社区{k}{t}", level="COMMUNITY", parentId=f"t{k}{t}")
    communities = [f"m{k}{t}" for k in range(2) for t in range(2)]

    async def add_grid(i):
        await call("region.create", id=f"g{i}", name=f"网格{i}", level="GRID", parentId=rnd.choice(communities),
                   boundary=square(110 + i * 0.01, 30, 0.01))
        for b in range(rnd.randint(0, 3)):
            await call("region.create", name=f"{b}号楼", level="BUILDING", parentId=f"g{i}")
        await call("worker.register", sub=f"w{i}", name=f"网格员{i}", role="BASIC", gridId=f"g{i}")

    await asyncio.gather(*(add_grid(i) for i in range(16)))
    w0 = next(w for w in (await call("worker.list", regionId="c", first=20))["items"] if w["gridId"] != "g5")
    await asyncio.gather(
        call("region.move", id="t00", newParentId="k1"),
        call("region.move", id="g3", newParentId="m11"),
        call("worker.assign", id=w0["id"], gridId="g5"),
    )

    db = stack.runtimes[0].db
    regions = [region_from_doc(d) async for d in db.regions.find()]
    workers = [(w.get("gridId") is not None, w.get("gridId")) async for w in db.workers.find()]
    expected = recount(regions, workers)
    stats = (await call("stats.batch", ids=[r.id for r in regions]))["items"]
    for r in regions:
        assert stats[r.id] == {k: expected[r.id].get(k, 0) for k in FIGURES}, r.id
    city = stats["c"]
    assert city["gridCount"] == 16 and city["gridWorkerCount"] == 16
    assert city["buildingCount"] == sum(1 for r in regions if r.level is Level.BUILDING)
    # every stored path matches the parent chain
    by_id = {r.id: r for r in regions}
    for r in regions:
        assert r.path == ([*by_id[r.parent_id].path, r.id] if r.parent_id else [r.id])
    await nc.close()
