"""`region.import` on real NATS and SecantusDB: a territory in batches through the rules of
`region.create` (levels, scope, boundaries inside their parents, grids that overlap no grid, in
the store or in the batch), rollups that equal a recount, one REGION_CREATED per region, the
locator answering for the new grids at once; a batch sent again imports nothing, and a bad one
is refused by index and id with nothing written."""

from __future__ import annotations

import nats
import pytest

from services.grids.replay import replay
from shared.errors import BadInput, Forbidden, NotFound
from shared.messaging.rpc import RpcClient
from tests.territory import square


@pytest.fixture
async def grids(stack):
    await stack.start_service("grids")
    nc = await nats.connect(stack.settings.nats_url)
    rpc = RpcClient(nc, timeout_s=60)

    async def call(verb: str, token: str | None = None, **payload):
        return await rpc.call("grids", verb, payload, token or stack.token("service"))

    yield stack, call
    await nc.close()


def territory() -> list[dict]:
    """A city down to buildings, parents first: two communities of three grids, two buildings each."""
    out = [{"id": "ri", "name": "青川市", "level": "CITY", "boundary": square(110, 30, 1)},
           {"id": "ri-k", "name": "东区", "level": "COUNTY", "parentId": "ri", "code": "429801000000"},
           {"id": "ri-t", "name": "东街道", "level": "TOWNSHIP", "parentId": "ri-k"}]
    for m in range(2):
        out.append({"id": f"ri-m{m}", "name": f"社区{m}", "level": "COMMUNITY", "parentId": "ri-t",
                    "boundary": square(110 + 0.1 * m, 30, 0.1)})
        for g in range(3):
            gid = f"ri-m{m}g{g}"
            out.append({"id": gid, "name": f"第{g}网格", "level": "GRID", "parentId": f"ri-m{m}",
                        "boundary": square(110 + 0.1 * m + 0.03 * g, 30, 0.03)})
            out += [{"id": f"{gid}b{b}", "name": f"{b + 1}栋", "level": "BUILDING", "parentId": gid,
                     "attrs": {"floors": 6}} for b in range(2)]
    return out


async def counts(stack) -> tuple[int, int, int]:
    db = stack.runtimes[0].db
    return (await db.regions.count_documents({}), await db.rollups.count_documents({}),
            await db.outbox.count_documents({"type": {"$regex": "REGION_CREATED"}}))


async def test_a_territory_imports_in_batches_once_with_its_figures_events_and_grids(grids):
    stack, call = grids
    regions = territory()
    first = await call("region.import", importId="t-1", regions=regions[:7])  # down to the first grid's buildings
    assert first["imported"] == 7 and first["skipped"] == [] and not first["replayed"]
    second = await call("region.import", importId="t-2", regions=regions[7:])
    assert second["imported"] == len(regions) - 7
    assert await counts(stack) == (len(regions), len(regions), len(regions))

    g = await call("region.get", id="ri-m1g2")
    assert g["path"] == ["ri", "ri-k", "ri-t", "ri-m1", "ri-m1g2"] and g["version"] == 1
    assert [a["name"] for a in g["ancestors"]] == ["青川市", "东区", "东街道", "社区1"]
    located = await call("locate", lng=110.1 + 0.06 + 0.015, lat=30.015)  # inside the last grid, imported just now
    assert located is not None and located["id"] == "ri-m1g2"
    city = (await call("stats.batch", ids=["ri", "ri-m0"]))["items"]
    assert (city["ri"]["gridCount"], city["ri"]["buildingCount"], city["ri"]["communityCount"]) == (6, 12, 2)
    assert (city["ri-m0"]["gridCount"], city["ri-m0"]["buildingCount"]) == (3, 6)
    report = await replay(stack.runtimes[0].db)
    assert report.clean, report.differences

    again = await call("region.import", importId="t-2", regions=regions[7:])  # the same batch: its first reply
    assert again["replayed"] and again["imported"] == second["imported"]
    renamed = await call("region.import", importId="t-3", regions=regions)  # the same regions under a new id
    assert renamed["imported"] == 0 and renamed["skipped"] == [r["id"] for r in regions]
    assert await counts(stack) == (len(regions), len(regions), len(regions))
    assert (await replay(stack.runtimes[0].db)).clean


async def test_a_bad_region_refuses_the_batch_by_index_and_id_and_writes_nothing(grids):
    stack, call = grids
    regions = territory()
    await call("region.import", importId="base", regions=regions[:4])  # city, county, street, community 0
    before = await counts(stack)

    async def refused(kind, rows, *words, token=None):
        with pytest.raises(kind) as e:
            await call("region.import", token=token, importId="bad", regions=rows)
        for w in words:
            assert w in e.value.message, e.value.message
        assert await counts(stack) == before
        return e.value

    grid = {"id": "x-g", "name": "网格", "level": "GRID", "parentId": "ri-m0", "boundary": square(110, 30, 0.03)}
    over = {**grid, "id": "x-g2", "name": "重叠网格", "boundary": square(110.01, 30.01, 0.03)}
    e = await refused(BadInput, [grid, over], "regions[1] (x-g2)", "overlaps grid 网格 (x-g)")
    assert e.details["index"] == 1 and e.details["conflictingGrids"][0]["id"] == "x-g"
    await refused(BadInput, [{**grid, "boundary": square(111, 30, 0.03)}], "regions[0] (x-g)", "must lie inside")
    building = {"id": "x-b", "name": "1栋", "level": "BUILDING", "parentId": "x-g"}
    await refused(BadInput, [building, grid], "regions[0] (x-b)", "comes later in the batch")
    await refused(BadInput, [{**building, "parentId": "ri-m0"}], "regions[0] (x-b)", "parent must be a GRID")
    await refused(NotFound, [{**grid, "parentId": "nowhere"}], "regions[0] (x-g)")
    await refused(BadInput, [grid, {**grid}], "regions[1] (x-g)", "twice")
    await refused(BadInput, [{**grid, "id": "Bad Id"}], "regions[0]")
    await refused(Forbidden, [grid], "import regions", token=stack.token("admin", "ri"))

    # a grid over one already stored: the locator's grids count as the batch's own do
    await call("region.import", importId="one-grid", regions=[grid])
    before = await counts(stack)
    await refused(BadInput, [{**over, "parentId": "ri-m0"}], "regions[0] (x-g2)", "overlaps grid 网格 (x-g)")
