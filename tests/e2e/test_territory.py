from __future__ import annotations

import asyncio
from datetime import datetime

import nats
from nats.js.api import DeliverPolicy

from tests.asyncapi_check import mismatches
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


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


CREATE_RAW = "mutation($input: CreateRegionInput!) { createRegion(input: $input) { id } }"


async def test_level_rules_are_enforced(gateway):
    ids = await build_tree(gateway)
    for input_, reason in [
        ({"name": "x", "level": "GRID", "parentId": ids["town_a"]}, "COMMUNITY"),
        ({"name": "x", "level": "COUNTY"}, "needs a parent"),
        ({"name": "x", "level": "CITY", "parentId": ids["city"]}, "top-level"),
        ({"name": "x", "level": "BUILDING", "parentId": ids["comm_a"]}, "GRID"),
        ({"name": "  ", "level": "COUNTY", "parentId": ids["city"]}, "name"),
        ({"name": "x", "level": "COUNTY", "parentId": ids["city"], "id": "Bad.Id"}, "id must be"),
    ]:
        body = await gateway.gql(CREATE_RAW, {"input": input_})
        assert codes(body) == ["BAD_USER_INPUT"], body
        assert reason in body["errors"][0]["message"]
    body = await gateway.gql(CREATE_RAW, {"input": {"name": "x", "level": "COUNTY", "parentId": "nope"}})
    assert codes(body) == ["NOT_FOUND"]


async def test_boundary_validation_errors_name_the_reason(gateway):
    ids = await build_tree(gateway)
    not_closed = {"type": "Polygon", "coordinates": [[[113, 30], [113.01, 30], [113.01, 30.01], [113, 30.01]]]}
    bowtie = {"type": "Polygon", "coordinates": [[[113, 30], [113.01, 30.01], [113.01, 30], [113, 30.01], [113, 30]]]}
    bad_lat = {"type": "Polygon", "coordinates": [[[113, 30], [113.01, 95], [113.01, 30.01], [113, 30]]]}
    cases = [
        (not_closed, "not closed"), (bowtie, "Self-intersection"), (bad_lat, "longitude/latitude"),
        ({"type": "Point", "coordinates": [113, 30]}, "Polygon or MultiPolygon"),
        (square(113.5, 30.5, 0.01), "inside its COMMUNITY"),  # outside comm-a
        (square(113.005, 30.0, 0.01), "overlaps grid"),  # overlaps grid-a1 and a2
    ]
    for boundary, reason in cases:
        body = await gateway.gql(CREATE_RAW, {"input": {"name": "新网格", "level": "GRID", "parentId": ids["comm_a"],
                                                        "boundary": boundary}})
        assert codes(body) == ["BAD_USER_INPUT"], (reason, body)
        assert reason in body["errors"][0]["message"], (reason, body["errors"][0]["message"])
    # nothing was written
    q = "query($id: ID!) { region(id: $id) { children { totalCount } } }"
    assert (await gateway.ok(q, {"id": ids["comm_a"]}))["region"]["children"]["totalCount"] == 2
    # a community boundary that would leave its grids outside is refused
    body = await gateway.gql("mutation($id: ID!, $b: JSON) { setRegionBoundary(id: $id, boundary: $b) { id } }",
                             {"id": ids["comm_a"], "b": square(113.0, 30.0, 0.015)})
    assert codes(body) == ["BAD_USER_INPUT"] and "lies below it" in body["errors"][0]["message"]
    # leaving the boundary out is a mistake, not a request to clear it (it crashed the resolver)
    body = await gateway.gql("mutation($id: ID!) { setRegionBoundary(id: $id) { id } }", {"id": ids["comm_a"]})
    assert codes(body) == ["BAD_USER_INPUT"] and "null to clear" in body["errors"][0]["message"]
    assert (await gateway.ok("query($id: ID!) { region(id: $id) { boundary } }", {"id": ids["comm_a"]}))["region"]["boundary"]


async def test_region_times_are_datetimes(gateway):
    ids = await build_tree(gateway)
    await gateway.ok('mutation { updateRegion(input: {id: "grid-a1", name: "一网格"}) { id } }')
    region = (await gateway.ok("query($id: ID!) { region(id: $id) { createdAt updatedAt } }", {"id": ids["grid_a1"]}))["region"]
    assert datetime.fromisoformat(region["createdAt"]) <= datetime.fromisoformat(region["updatedAt"])


SET_BOUNDARY = "mutation($id: ID!, $b: JSON) { setRegionBoundary(id: $id, boundary: $b) { id } }"


async def chain(gateway, prefix: str, boundaries: dict[str, dict] | None = None) -> None:
    """City → county → street → community `prefix`-…, boundaries on the levels given."""
    parent = None
    for level, suffix in (("CITY", "city"), ("COUNTY", "k"), ("TOWNSHIP", "t"), ("COMMUNITY", "m")):
        i = f"{prefix}-{suffix}"
        await create(gateway, id=i, name=f"{prefix}{suffix}", level=level, parentId=parent,
                     **({"boundary": (boundaries or {})[suffix]} if suffix in (boundaries or {}) else {}))
        parent = i


async def test_a_grid_of_another_city_may_not_overlap_but_may_touch(gateway):
    await build_tree(gateway)  # 示例市: grid-a1 113.00-113.01, grid-a2 113.01-113.02 (30.00-30.01)
    await chain(gateway, "two")
    admin = {"role": "admin", "region": "two-city"}
    body = await gateway.gql(CREATE_RAW, {"input": {"id": "two-g1", "name": "二网格", "level": "GRID", "parentId": "two-m",
                                                    "boundary": square(113.005, 30.0, 0.01)}}, **admin)
    assert codes(body) == ["BAD_USER_INPUT"], body
    error = body["errors"][0]
    assert "overlaps grid a社区第1网格 (grid-a1)" in error["message"] and "and 1 more" in error["message"]
    assert [g["id"] for g in error["extensions"]["details"]["conflictingGrids"]] == ["grid-a1", "grid-a2"]
    q = "query($id: ID!) { region(id: $id) { children { totalCount } } }"
    assert (await gateway.ok(q, {"id": "two-m"}))["region"]["children"]["totalCount"] == 0  # nothing written
    # edges and corners may touch; a sliver of float noise (~0.5 cm) is no overlap
    for i, boundary in enumerate([square(113.02, 30.0, 0.01), square(113.02, 30.01, 0.01),
                                  square(112.99 + 5e-8, 30.0, 0.01)]):
        await create(gateway, id=f"two-t{i}", name=f"相邻{i}", level="GRID", parentId="two-m", boundary=boundary,
                     token=gateway.token(**admin))
    located = (await gateway.ok(LOCATE, {"lng": 113.025, "lat": 30.005}))["locate"]
    assert located["id"] == "two-t0" and [p["id"] for p in located["path"]][0] == "two-city"
    assert (await gateway.ok(LOCATE, {"lng": 113.005, "lat": 30.005}))["locate"]["id"] == "grid-a1"
    # a boundary moved over another city's grid is refused too, and the grid keeps its old one
    body = await gateway.gql(SET_BOUNDARY, {"id": "two-t0", "b": square(113.015, 30.0, 0.01)}, **admin)
    assert codes(body) == ["BAD_USER_INPUT"] and "overlaps grid a社区第2网格 (grid-a2)" in body["errors"][0]["message"]
    assert (await gateway.ok(LOCATE, {"lng": 113.025, "lat": 30.005}))["locate"]["id"] == "two-t0"
    # and so is one in the same community
    body = await gateway.gql(SET_BOUNDARY, {"id": "two-t1", "b": square(113.02, 30.005, 0.01)}, **admin)
    assert codes(body) == ["BAD_USER_INPUT"] and "(two-t0)" in body["errors"][0]["message"]


async def test_a_boundary_lies_inside_its_nearest_ancestor_that_has_one(gateway):
    await chain(gateway, "x", {"city": square(120.0, 30.0, 1.0)})  # county, street, community: no boundary
    body = await gateway.gql(CREATE_RAW, {"input": {"id": "x-g0", "name": "外", "level": "GRID", "parentId": "x-m",
                                                    "boundary": square(120.95, 30.5, 0.1)}})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "inside its CITY xcity's boundary (x-city, its nearest ancestor with a boundary)" in body["errors"][0]["message"]
    await create(gateway, id="x-g1", name="一", level="GRID", parentId="x-m", boundary=square(120.1, 30.1, 0.1))
    # the street's new boundary must hold the grid below its boundary-less community
    body = await gateway.gql(SET_BOUNDARY, {"id": "x-t", "b": square(120.5, 30.5, 0.4)})
    assert codes(body) == ["BAD_USER_INPUT"] and "GRID 一 (x-g1)" in body["errors"][0]["message"]
    await gateway.ok(SET_BOUNDARY, {"id": "x-t", "b": square(120.0, 30.0, 0.5)})
    body = await gateway.gql(CREATE_RAW, {"input": {"name": "外", "level": "GRID", "parentId": "x-m",
                                                    "boundary": square(120.6, 30.1, 0.1)}})
    assert codes(body) == ["BAD_USER_INPUT"] and "inside its TOWNSHIP xt's boundary" in body["errors"][0]["message"]
    # clearing a boundary puts what lies below under the next one up, which must hold it
    await gateway.ok(SET_BOUNDARY, {"id": "x-t", "b": None})
    await create(gateway, id="x-k2", name="二区", level="COUNTY", parentId="x-city", boundary=square(120.5, 30.5, 0.4))
    await gateway.ok(SET_BOUNDARY, {"id": "x-g1", "b": None})
    await gateway.ok(SET_BOUNDARY, {"id": "x-g1", "b": square(120.1, 30.1, 0.1)})
    # a moved street with no boundary of its own: its grid must lie inside the new county's
    body = await gateway.gql(MOVE, {"id": "x-t", "to": "x-k2"})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert "GRID 一 (x-g1) must lie inside its COUNTY 二区's boundary (x-k2, its nearest" in body["errors"][0]["message"]
    await gateway.ok(SET_BOUNDARY, {"id": "x-g1", "b": square(120.6, 30.6, 0.1)})
    assert (await gateway.ok(MOVE, {"id": "x-t", "to": "x-k2"}))["moveRegion"]["path"][1]["id"] == "x-k2"
    body = await gateway.gql(SET_BOUNDARY, {"id": "x-k2", "b": square(120.0, 30.0, 0.4)})
    assert codes(body) == ["BAD_USER_INPUT"] and "(x-g1)" in body["errors"][0]["message"]


MOVE = "mutation($id: ID!, $to: ID!) { moveRegion(id: $id, newParentId: $to) { id path { id } } }"
PATHS = "query($id: ID!) { region(id: $id) { path { id } children { edges { node { id path { id } } } } } }"


async def test_move_keeps_paths_and_rollups_right(gateway):
    ids = await build_tree(gateway)
    await create(gateway, id="bldg-1", name="1号楼", level="BUILDING", parentId=ids["grid_a1"])
    await gateway.ok("mutation { registerGridWorker(input: {sub: \"gw1\", name: \"王伟\", role: BASIC, gridId: \"grid-a1\", phone: \"13812345678\"}) { id } }")
    moved = (await gateway.ok(MOVE, {"id": ids["town_a"], "to": ids["county_b"]}))["moveRegion"]
    assert [p["id"] for p in moved["path"]] == ["city", "county-b", "town-a"]
    located = (await gateway.ok(LOCATE, {"lng": 113.005, "lat": 30.005}))["locate"]
    for _ in range(50):  # the locator follows the move through the event
        if [p["id"] for p in located["path"]][1] == "county-b":
            break
        await asyncio.sleep(0.05)
        located = (await gateway.ok(LOCATE, {"lng": 113.005, "lat": 30.005}))["locate"]
    assert [p["id"] for p in located["path"]] == ["city", "county-b", "town-a", "comm-a", "grid-a1"]
    grid = (await gateway.ok(PATHS, {"id": "grid-a1"}))["region"]
    assert [p["id"] for p in grid["path"]] == ["city", "county-b", "town-a", "comm-a", "grid-a1"]
    assert [p["id"] for p in grid["children"]["edges"][0]["node"]["path"]] == [
        "city", "county-b", "town-a", "comm-a", "grid-a1", "bldg-1"]
    q = "query($id: ID!) { overview(regionId: $id) { grids { gridCount buildingCount gridWorkerCount townshipCount } } }"
    assert (await gateway.ok(q, {"id": "county-a"}))["overview"]["grids"] == {
        "gridCount": 0, "buildingCount": 0, "gridWorkerCount": 0, "townshipCount": 0}
    assert (await gateway.ok(q, {"id": "county-b"}))["overview"]["grids"] == {
        "gridCount": 4, "buildingCount": 1, "gridWorkerCount": 1, "townshipCount": 2}
    # moving under one's own descendant, or to the wrong level, is refused
    body = await gateway.gql(MOVE, {"id": ids["town_a"], "to": ids["comm_a"]})
    assert codes(body) == ["BAD_USER_INPUT"]
    body = await gateway.gql(MOVE, {"id": ids["grid_a1"], "to": ids["town_b"]})
    assert codes(body) == ["BAD_USER_INPUT"]
    # a grid cannot move into a community whose boundary does not contain it
    body = await gateway.gql(MOVE, {"id": ids["grid_a1"], "to": ids["comm_b"]})
    assert codes(body) == ["BAD_USER_INPUT"] and "inside" in body["errors"][0]["message"]
    # a township admin sees the moved subtree under its new county
    data = await gateway.ok(PATHS, {"id": "grid-a2"}, role="admin", region="town-a")
    assert [p["id"] for p in data["region"]["path"]] == ["city", "county-b", "town-a", "comm-a", "grid-a2"]


async def test_rename_updates_breadcrumbs_below(gateway):
    ids = await build_tree(gateway)
    await gateway.ok('mutation { updateRegion(input: {id: "comm-a", name: "幸福社区"}) { name version } }')
    data = await gateway.ok(PATHS, {"id": ids["grid_a1"]})
    body = await gateway.gql("query { region(id: \"grid-a1\") { path { name } } }")
    assert [p["name"] for p in body["data"]["region"]["path"]][3] == "幸福社区"
    assert data["region"]["path"][3]["id"] == "comm-a"
    stale = await gateway.gql('mutation { updateRegion(input: {id: "comm-a", name: "x", expectedVersion: 1}) { id } }')
    assert codes(stale) == ["CONFLICT"]


SCOPE_Q = "query($id: ID!) { region(id: $id) { id name } }"


async def test_scope_township_cannot_read_sibling(gateway):
    ids = await build_tree(gateway)
    town_a = {"role": "admin", "region": ids["town_a"]}
    assert (await gateway.ok(SCOPE_Q, {"id": ids["grid_a1"]}, **town_a))["region"]["id"] == ids["grid_a1"]
    body = await gateway.gql(SCOPE_Q, {"id": ids["town_b"]}, **town_a)
    assert codes(body) == ["FORBIDDEN"] and body["data"]["region"] is None
    body = await gateway.gql("query($id: ID!) { overview(regionId: $id) { grids { gridCount } } }", {"id": ids["comm_b"]}, **town_a)
    assert codes(body) == ["FORBIDDEN"]
    # ancestors show as breadcrumbs only
    body = await gateway.gql("query { region(id: \"county-a\") { name boundary } }", **town_a)
    assert body["data"]["region"] is None or body["data"]["region"]["boundary"] is None
    assert codes(body) == ["FORBIDDEN"]
    # lists are filtered, not refused
    data = await gateway.ok("query { regions(level: GRID) { totalCount edges { node { id } } } }", **town_a)
    assert {e["node"]["id"] for e in data["regions"]["edges"]} == {"grid-a1", "grid-a2"}
    data = await gateway.ok("query { regions(parentId: \"city\") { edges { node { id } } } }", **town_a)
    assert data["regions"]["edges"] == []
    data = await gateway.ok("query { regions { edges { node { id } } } }", **town_a)
    assert [e["node"]["id"] for e in data["regions"]["edges"]] == ["town-a"]
    # writes outside scope are refused and change nothing
    body = await gateway.gql(CREATE_RAW, {"input": {"name": "x", "level": "COMMUNITY", "parentId": ids["town_b"]}}, **town_a)
    assert codes(body) == ["FORBIDDEN"]
    body = await gateway.gql(MOVE, {"id": ids["comm_a"], "to": ids["town_b"]}, **town_a)
    assert codes(body) == ["FORBIDDEN"]
    # an operator reads but may not create
    body = await gateway.gql(CREATE_RAW, {"input": {"name": "x", "level": "COMMUNITY", "parentId": ids["town_a"]}},
                             role="operator", region=ids["town_a"])
    assert codes(body) == ["FORBIDDEN"]
    # a resident has no territory scope
    body = await gateway.gql(SCOPE_Q, {"id": ids["grid_a1"]}, role="resident", sub="r1")
    assert codes(body) == ["FORBIDDEN"]
    assert (await gateway.ok(LOCATE, {"lng": 113.005, "lat": 30.005}, role="resident", sub="r1"))["locate"]["id"] == "grid-a1"


async def test_authentication_and_limits(gateway):
    body = await gateway.gql("{ me { sub } }", token="")
    assert codes(body) == ["UNAUTHENTICATED"]
    body = await gateway.gql("{ me { sub } }", token="not-a-jwt")
    assert codes(body) == ["UNAUTHENTICATED"]
    assert (await gateway.ok("{ me { sub role region { id } } }", role="superadmin"))["me"]["role"] == "superadmin"
    body = await gateway.gql("{ regions(first: 101) { totalCount } }")
    assert codes(body) == ["BAD_USER_INPUT"]
    body = await gateway.gql("{ regionz { totalCount } }")
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"] and "Did you mean" not in body["errors"][0]["message"]
    body = await gateway.gql("{ regions(firts: 1) { totalCount } }")
    assert "Did you mean" not in body["errors"][0]["message"]
    deep = "{ me { region { " + "parent { " * 14 + "id" + " }" * 14 + " } } }"
    body = await gateway.gql(deep)
    assert body["errors"] and "depth" in body["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: me {{ sub }}" for i in range(40)) + " }"
    body = await gateway.gql(aliases)
    assert body["errors"] and "aliases" in body["errors"][0]["message"].lower()


async def test_grid_workers_masking_and_idempotency(gateway):
    ids = await build_tree(gateway)
    m = """mutation($k: String) { registerGridWorker(input: {sub: "gw-li", name: "李娜", role: CONVENIENCE,
           gridId: "grid-b1", phone: "13912345678", idempotencyKey: $k}) { id phone roleName } }"""
    first = (await gateway.ok(m, {"k": "k1"}))["registerGridWorker"]
    again = (await gateway.ok(m, {"k": "k1"}))["registerGridWorker"]
    assert first["id"] == again["id"] and first["roleName"] == "便民服务员"
    body = await gateway.gql(m, {"k": "k2"})
    assert codes(body) == ["CONFLICT"]
    q = "query($id: ID!) { gridWorker(id: $id) { phone } }"
    assert (await gateway.ok(q, {"id": first["id"]}, role="admin", region=ids["town_b"]))["gridWorker"]["phone"] == "13912345678"
    assert (await gateway.ok(q, {"id": first["id"]}, role="grid_worker", region=ids["grid_b1"], sub="other"))["gridWorker"]["phone"] == "139****5678"
    assert (await gateway.ok(q, {"id": first["id"]}, role="grid_worker", region=ids["grid_b1"], sub="gw-li"))["gridWorker"]["phone"] == "13912345678"
    body = await gateway.gql(q, {"id": first["id"]}, role="admin", region=ids["town_a"])
    assert codes(body) == ["FORBIDDEN"]
    data = await gateway.ok("query { overview(regionId: \"county-b\") { grids { gridWorkerCount } } }")
    assert data["overview"]["grids"]["gridWorkerCount"] == 1
    await gateway.ok('mutation($id: ID!) { unassignGridWorker(id: $id) { active } }', {"id": first["id"]})
    data = await gateway.ok("query { overview(regionId: \"county-b\") { grids { gridWorkerCount } } }")
    assert data["overview"]["grids"]["gridWorkerCount"] == 0
    # idempotent region creation
    r1 = await create(gateway, name="2号楼", level="BUILDING", parentId="grid-b1", idempotencyKey="b2")
    r2 = await create(gateway, name="2号楼", level="BUILDING", parentId="grid-b1", idempotencyKey="b2")
    assert r1["id"] == r2["id"]


async def test_asyncapi_documents_are_served_by_the_gateway(gateway):
    assert (await gateway.http.get("/asyncapi/grids.json")).status_code == 401
    auth = {"Authorization": f"Bearer {gateway.token(role='department', region='city', dept='URBAN_MGMT')}"}
    r = await gateway.http.get("/asyncapi/grids.json", headers=auth)
    assert r.status_code == 200 and r.json()["asyncapi"].startswith("3.")
    assert any("REGION_MOVED" in c["address"] for c in r.json()["channels"].values())
    assert (await gateway.http.get("/asyncapi/nope.json", headers=auth)).status_code == 404


async def test_the_events_on_the_bus_are_those_the_document_describes(gateway):
    """Regions of every depth (city 1 … building 6 path ids): each event in the stream is on a
    channel of the served document, with the documented fields."""
    auth = {"Authorization": f"Bearer {gateway.token(role='department', region='city', dept='URBAN_MGMT')}"}
    doc = (await gateway.http.get("/asyncapi/grids.json", headers=auth)).json()
    ids = await build_tree(gateway)
    building = (await create(gateway, id="b-1", name="1号楼", level="BUILDING", parentId=ids["grid_a1"]))["id"]
    nc = await nats.connect(gateway.settings.nats_url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe("yiwang.evt.grids.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        got: list[tuple[str, bytes]] = []
        # committed writes are published by the relay within a poll; generous, it only bounds a failure
        patience = 3 * (gateway.settings.rpc_timeout_s + gateway.settings.relay_poll_s)
        while not any(s.endswith(f".{building}") for s, _ in got):  # the last write's event is in
            msg = await sub.next_msg(timeout=patience)
            got.append((msg.subject, msg.data))
    finally:
        await nc.close()
    assert {len(s.split(".")) - 4 for s, _ in got} == {1, 2, 3, 4, 5, 6}
    assert [p for s, body in got for p in mismatches(doc, s, body)] == []
