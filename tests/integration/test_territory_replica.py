"""A service's territory replica on real SecantusDB: loaded whole at start, then refreshed
with only what changed since the last refresh (with an overlap for other replicas' clocks)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.messaging.envelope import make_event
from shared.mongo import now
from shared.service import ServiceRuntime
from shared.territory import REFRESH_OVERLAP, TerritoryReplica


def square(x: float, y: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]]}


def node(i: str, level: str, path: list[str], boundary: dict | None = None, **extra) -> dict:
    return {"_id": i, "name": i, "level": level, "path": path, "parentId": path[-2] if len(path) > 1 else None,
            "boundary": boundary, "version": 1, **extra}


@pytest.fixture
async def replica(settings):
    rt = ServiceRuntime("cases", settings)  # not started: the replica's store and memory only
    r = TerritoryReplica(rt)
    await r.coll.drop()
    await r.coll.create_index("at")
    await r.coll.insert_many([node("city", "CITY", ["city"]),  # written before nodes were stamped
                              node("g1", "GRID", ["city", "g1"], square(113.0, 30.0))])
    yield r
    await r.coll.drop()
    await rt.mongo.close()


async def test_refresh_reads_only_what_changed_since_the_last_one(replica):
    began = now()
    await replica.load()
    replica._synced = began
    assert set(replica.nodes) == {"city", "g1"} and replica.locate(113.005, 30.005)["_id"] == "g1"

    await replica.coll.insert_many([
        node("g2", "GRID", ["city", "g2"], square(113.02, 30.0), at=now()),  # written since
        node("g3", "GRID", ["city", "g3"], square(113.04, 30.0),  # by a replica whose clock is behind
             at=began - REFRESH_OVERLAP + timedelta(seconds=5)),
        node("g4", "GRID", ["city", "g4"], square(113.06, 30.0),  # long before: not read again
             at=began - REFRESH_OVERLAP - timedelta(minutes=5))])
    await replica.coll.update_one({"_id": "g1"}, {"$set": {"name": "一网格"}})  # unstamped: not read again
    await replica.refresh()
    assert set(replica.nodes) == {"city", "g1", "g2", "g3"}
    assert replica.locate(113.025, 30.005)["_id"] == "g2" and replica.locate(113.045, 30.005)["_id"] == "g3"
    assert replica.locate(113.065, 30.005) is None and replica.get("g1")["name"] == "g1"
    assert replica._synced is not None and replica._synced >= began


async def test_what_the_consumer_writes_is_stamped_for_the_next_refresh(replica):
    await replica.load()
    replica._synced = now()
    region = {"id": "g5", "name": "五网格", "level": "GRID", "path": ["city", "g5"], "parentId": "city",
              "boundary": square(113.08, 30.0), "version": 1}
    await replica.on_event(make_event("grids", "REGION_CREATED", "g5", {"region": region}, path=["city", "g5"]))
    stored = await replica.coll.find_one({"_id": "g5"})
    assert stored["at"] >= replica._synced - timedelta(seconds=1)
    replica.nodes.pop("g5")  # as if this process had missed it: another replica wrote it
    replica.index.remove("g5")
    await replica.refresh()
    assert replica.locate(113.085, 30.005)["_id"] == "g5"


async def test_the_grids_locator_refreshes_from_the_regions_written_since(settings):
    from services.grids.locator import GridLocator
    from services.grids.store import GridStore
    rt = ServiceRuntime("grids", settings)
    store = GridStore(rt.db)
    try:
        t0 = now()
        await store.regions.insert_one({**node("g1", "GRID", ["city", "g1"], square(113.0, 30.0)),
                                        "updatedAt": t0})
        locator = GridLocator(store, resync_s=3600)
        await locator.load()
        locator._synced = now()
        await store.regions.insert_many([
            {**node("g2", "GRID", ["city", "g2"], square(113.02, 30.0)), "updatedAt": now()},
            {**node("c2", "COMMUNITY", ["city", "c2"]), "updatedAt": now()},  # not a grid: not indexed
            {**node("g3", "GRID", ["city", "g3"], square(113.04, 30.0)),
             "updatedAt": locator._synced - REFRESH_OVERLAP - timedelta(minutes=5)}])
        await store.regions.update_one({"_id": "g1"}, {"$set": {"boundary": square(113.1, 30.0), "updatedAt": now()}})
        await locator.refresh()
        assert locator.locate(113.025, 30.005)["id"] == "g2" and locator.locate(113.045, 30.005) is None
        assert locator.locate(113.005, 30.005) is None and locator.locate(113.105, 30.005)["id"] == "g1"
        assert "c2" not in locator.nodes
    finally:
        await rt.db.client.drop_database(rt.db.name)
        await rt.mongo.close()


async def test_a_list_reads_the_region_asked_for_only_in_scope(replica):
    """`within`: the subtree of a region in the caller's scope; one outside it, or unknown,
    answers as `visible_path` (FORBIDDEN, NOT_FOUND to an unrestricted caller); no region: the
    caller's own scope."""
    await replica.load()
    replica.remember("c2", node("c2", "COUNTY", ["city2", "c2"]))
    admin = Principal(sub="a", role="admin", region="city")
    assert replica.within(admin, "g1").filter() == {"path": "g1"}
    assert replica.within(admin, None).filter() == {"path": "city"}
    for unseen in ("c2", "nowhere"):
        with pytest.raises(Forbidden, match="does not exist or is outside your scope"):
            replica.within(admin, unseen)
    root = Principal(sub="s", role="superadmin")
    assert replica.within(root, None).filter() == {} and replica.within(root, "c2").filter() == {"path": "c2"}
    with pytest.raises(NotFound):
        replica.within(root, "nowhere")
    assert replica.within(Principal(sub="r", role="resident"), None).empty
    with pytest.raises(Forbidden):
        replica.within(Principal(sub="r", role="resident"), "g1")
