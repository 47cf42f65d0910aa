"""The grids service keeps a point in one grid, on real NATS and SecantusDB: overlapping creates
in different cities racing on two replicas cannot both win, and `yiwang check territory` reports
overlaps written to the store behind the service's back (and what `locate` does there)."""
from __future__ import annotations

import asyncio

import nats
import pytest

from ops.cli.check import check_territory
from ops.cli.main import COMMANDS
from shared.errors import BadInput, Forbidden
from shared.messaging.rpc import RpcClient
from shared.mongo import make_client, now
from tests.territory import square

RACE_TIMEOUT_S = 120  # an upper bound for a burst of conflicting transactions on a busy machine


@pytest.fixture
async def rpc(stack):
    nc = await nats.connect(stack.settings.nats_url)
    yield RpcClient(nc, timeout_s=RACE_TIMEOUT_S)
    await nc.close()


async def city(rpc: RpcClient, token: str, n: int, community_boundary: dict | None = None) -> str:
    """City n → county → street → community; the community's id."""
    async def create(**payload):
        return await rpc.call("grids", "region.create", payload, token)

    await create(id=f"c{n}", name=f"{n}市", level="CITY")
    await create(id=f"k{n}", name=f"{n}区", level="COUNTY", parentId=f"c{n}")
    await create(id=f"t{n}", name=f"{n}街道", level="TOWNSHIP", parentId=f"k{n}")
    await create(id=f"m{n}", name=f"{n}社区", level="COMMUNITY", parentId=f"t{n}", boundary=community_boundary)
    return f"m{n}"


async def test_overlapping_creates_in_different_cities_on_two_replicas_only_one_wins(stack, rpc):
    await stack.start_service("grids")
    await stack.start_service("grids")  # a second replica: its own grid index, the same database
    token = stack.token()
    cities = 6
    for n in range(cities):
        await city(rpc, token, n)

    for rnd in range(3):  # each round: every city draws a grid over the same spot at once
        x = 110 + rnd * 0.1
        results = await asyncio.gather(*(rpc.call("grids", "region.create", {
            "id": f"g{rnd}-{n}", "name": f"{n}网格{rnd}", "level": "GRID", "parentId": f"m{n}",
            "boundary": square(x + n * 0.001, 30, 0.01)}, token) for n in range(cities)), return_exceptions=True)
        won = [r for r in results if isinstance(r, dict)]
        lost = [r for r in results if isinstance(r, BadInput)]
        assert len(won) == 1 and len(lost) == cities - 1, results
        for e in lost:
            assert f"({won[0]['id']})" in e.message and e.details["conflictingGrids"][0]["id"] == won[0]["id"]
            assert e.details["conflictingGrids"][0]["name"] == won[0]["name"]
    # and a boundary change racing a create over the same spot
    await rpc.call("grids", "region.create", {"id": "h0", "name": "甲", "level": "GRID", "parentId": "m0",
                                              "boundary": square(115, 30, 0.01)}, token)
    results = await asyncio.gather(
        rpc.call("grids", "region.setBoundary", {"id": "h0", "boundary": square(116, 30, 0.01)}, token),
        rpc.call("grids", "region.create", {"id": "h1", "name": "乙", "level": "GRID", "parentId": "m1",
                                            "boundary": square(116.005, 30, 0.01)}, token),
        return_exceptions=True)
    assert sum(isinstance(r, dict) for r in results) == 1 and sum(isinstance(r, BadInput) for r in results) == 1
    report: list[str] = []
    assert await check_territory(stack.settings, 100, say=report.append) == 0, report


async def seed_overlap_behind_the_service(stack) -> None:
    """Two grids of different cities over each other, and a grid outside its community, written
    straight into the store (as data from before the rule, or an import that went around it)."""
    client = make_client(stack.settings.mongo_uri, "test-seed")
    db = client[stack.settings.db_name("grids")]

    def doc(i, level, path, boundary=None):
        return {"_id": i, "name": f"{i}名", "level": level, "path": path, "parentId": path[-2] if len(path) > 1 else None,
                "boundary": boundary, "attrs": {}, "version": 1, "createdAt": now(), "updatedAt": now(),
                "ancestors": [{"id": a, "name": f"{a}名", "level": "?", "code": None} for a in path[:-1]]}
    docs = []
    for c in ("old", "new"):
        docs += [doc(c, "CITY", [c]), doc(f"{c}-k", "COUNTY", [c, f"{c}-k"]),
                 doc(f"{c}-t", "TOWNSHIP", [c, f"{c}-k", f"{c}-t"])]
    old, new = ["old", "old-k", "old-t", "old-m"], ["new", "new-k", "new-t", "new-m"]
    await db.regions.insert_many([*docs, doc("old-m", "COMMUNITY", old, square(113.0, 30.0, 0.02)),
                                  doc("new-m", "COMMUNITY", new),
                                  doc("old-g", "GRID", [*old, "old-g"], square(113.0, 30.0, 0.02)),
                                  doc("new-g", "GRID", [*new, "new-g"], square(113.01, 30.01, 0.005)),  # in old-g
                                  doc("old-x", "GRID", [*old, "old-x"], square(113.019, 30.0, 0.005))])  # sticks out
    await client.close()


async def test_check_reports_overlaps_written_behind_the_service_and_locate_is_deterministic(stack, rpc):
    await seed_overlap_behind_the_service(stack)
    await stack.start_service("grids")
    token = stack.token()
    assert "check" in COMMANDS

    out: list[str] = []
    assert await check_territory(stack.settings, 100, say=out.append) == 1
    text = "\n".join(out)
    overlaps = [line for line in out if line.startswith("OVERLAP")]
    # new-g inside old-g (the whole of new-g: 0.005° x 0.005° at 30°N, ~27 ha), and old-x over old-g's edge
    assert len(overlaps) == 2, text
    pair = next(line for line in overlaps if "(new-g;" in line)
    assert "grid new-g名 (new-g; new名 / new-k名 / new-t名 / new-m名 / new-g名)" in pair and "grid old-g名 (old-g;" in pair
    assert "share about 267," in pair and "locate answers new-g there (the smaller)" in pair
    assert any(line.startswith("OUTSIDE  GRID old-x名 (old-x;") and "outside COMMUNITY old-m名 (old-m)" in line
               for line in out), text
    assert out[-1].startswith("pairs of overlapping grids: 2; boundaries outside their nearest bounded ancestor's: 1.")

    # locate in the overlap: the smaller grid, every time
    for _ in range(3):
        assert (await rpc.call("grids", "locate", {"lng": 113.0125, "lat": 30.0125}, token))["id"] == "new-g"
    assert (await rpc.call("grids", "locate", {"lng": 113.002, "lat": 30.002}, token))["id"] == "old-g"

    # writes that keep an overlap are refused, naming the other grid; one that ends it is not
    with pytest.raises(BadInput) as e:
        await rpc.call("grids", "region.setBoundary", {"id": "new-g", "boundary": square(113.011, 30.011, 0.004)}, token)
    assert "overlaps grid old-g名 (old-g)" in e.value.message
    await rpc.call("grids", "region.create", {"id": "new-c", "name": "新社区", "level": "COMMUNITY",
                                              "parentId": "new-t"}, token)
    with pytest.raises(BadInput) as e:
        await rpc.call("grids", "region.move", {"id": "new-g", "newParentId": "new-c"}, token)
    assert "overlaps grid old-g名 (old-g)" in e.value.message
    await rpc.call("grids", "region.setBoundary", {"id": "new-g", "boundary": square(113.03, 30.0, 0.005)}, token)
    with pytest.raises(BadInput) as e:  # old-x still lies over old-g's edge
        await rpc.call("grids", "region.setBoundary", {"id": "old-x", "boundary": square(113.015, 30.0, 0.005)}, token)
    assert "overlaps grid old-g名 (old-g)" in e.value.message
    await rpc.call("grids", "region.setBoundary", {"id": "old-g", "boundary": rect(113.0, 30.0, 0.01, 0.02)}, token)
    await rpc.call("grids", "region.setBoundary", {"id": "old-x", "boundary": square(113.015, 30.0, 0.005)}, token)
    out.clear()
    assert await check_territory(stack.settings, 100, say=out.append) == 0, out
    assert (await rpc.call("grids", "locate", {"lng": 113.0125, "lat": 30.0125}, token)) is None

    with pytest.raises(Forbidden):  # the whole territory is for a superadmin
        await rpc.call("grids", "territory.check", {}, stack.token("admin", region="old"))


async def test_check_says_when_it_cannot_ask(stack):
    out: list[str] = []
    assert await check_territory(stack.settings, 100, say=out.append) == 2  # no grids service running
    assert "cannot ask the grids service" in out[0]


def rect(x: float, y: float, w: float, h: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]]}
