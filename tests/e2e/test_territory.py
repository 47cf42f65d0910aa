from __future__ import annotations

from tests.territory import build_tree, create, square

LOCATE = "query($lng: Float!, $lat: Float!) { locate(lng: $lng, lat: $lat) { id name level path { id } } }"


async def test_readme_example_city_to_grid_then_locate(gateway):
    ids = await build_tree(gateway)
    data = await gateway.ok(LOCATE, {"lng": 113.005, "lat": 30.005})
    assert data["locate"]["id"] == ids["grid_a1"]
    assert [p["id"] for p in data["locate"]["path"]] == ["city", "county-a", "town-a", "comm-a", "grid-a1"]
    data = await gateway.ok(LOCATE, {"lng": 113.015, "lat": 30.005})
    assert data["locate"]["id"] == ids["grid_a2"]
    data = await gateway.ok(LOCATE, {"lng": 120.0, "lat": 30.0})
    assert data["locate"] is None


async def test_overview_grids_part_counts_the_subtree(gateway):
    ids = await build_tree(gateway)
    await create(gateway, name="1号楼", level="BUILDING", parentId=ids["grid_a1"])
    q = "query($id: ID!) { overview(regionId: $id) { region { name } grids { gridCount buildingCount communityCount countyCount gridWorkerCount } } }"
    city = (await gateway.ok(q, {"id": "city"}))["overview"]["grids"]
    assert city == {"gridCount": 4, "buildingCount": 1, "communityCount": 2, "countyCount": 2, "gridWorkerCount": 0}
    county = (await gateway.ok(q, {"id": "county-b"}))["overview"]["grids"]
    assert county["gridCount"] == 2 and county["buildingCount"] == 0
