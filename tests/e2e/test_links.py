"""包联 and 党员联户 through the gateway: scope, conflicts, limits, coverage figures and rankings."""
from __future__ import annotations

from services.grids.domain.cadres import CADRE_COUNTERS
from services.grids.replay import replay
from tests.territory import build_tree, create

ASSIGN = """mutation($sub: String!, $region: ID!, $role: String!, $key: String) {
  assignCadre(sub: $sub, regionId: $region, role: $role, name: "王干部", idempotencyKey: $key) {
    id sub role roleName level active visitCount region { id } } }"""
UNASSIGN = "mutation($id: ID!) { unassignCadre(id: $id) { id active endedAt } }"
LIST = """query($region: ID, $sub: String, $ended: Boolean) {
  cadreAssignments(regionId: $region, sub: $sub, includeEnded: $ended) { totalCount edges { node { id sub role region { id } } } } }"""
COVERAGE = """query($id: ID!) { overview(regionId: $id) {
  grids { communitiesWithCadre gridsWithCadre }
  cadres { communitiesWithCadre gridsWithCadre communityCoverage gridCoverage coverage } } }"""
RANK = """query($id: ID!) { rankings(regionId: $id, metric: CADRE_COVERAGE) { rank value region { id } } }"""


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_cadre_assignments_count_coverage_and_end(gateway):
    ids = await build_tree(gateway)
    a = (await gateway.ok(ASSIGN, {"sub": "cadre-1", "region": ids["comm_a"], "role": "STREET_CADRE"}))["assignCadre"]
    assert a["level"] == "COMMUNITY" and a["roleName"] == "街道干部联社区" and a["active"] and a["visitCount"] == 0
    # a second cadre in the same community does not count the community twice
    b = (await gateway.ok(ASSIGN, {"sub": "cadre-2", "region": ids["comm_a"], "role": "FIRST_SECRETARY"}))["assignCadre"]
    g = (await gateway.ok(ASSIGN, {"sub": "cadre-3", "region": ids["grid_a1"], "role": "COMMUNITY_CADRE"}))["assignCadre"]
    city = (await gateway.ok(COVERAGE, {"id": "city"}))["overview"]
    assert city["grids"] == {"communitiesWithCadre": 1, "gridsWithCadre": 1}
    assert city["cadres"] == {"communitiesWithCadre": 1, "gridsWithCadre": 1, "communityCoverage": 0.5,
                              "gridCoverage": 0.25, "coverage": 2 / 6}
    comm = (await gateway.ok(COVERAGE, {"id": ids["comm_a"]}))["overview"]["cadres"]
    assert comm["gridCoverage"] == 0.5 and comm["communityCoverage"] == 1.0
    ranked = (await gateway.ok(RANK, {"id": "city"}))["rankings"]
    assert [(r["region"]["id"], r["value"]) for r in ranked] == [("county-a", 2 / 3), ("county-b", 0.0)]
    # lists: by region (the subtree), by person
    listed = (await gateway.ok(LIST, {"region": ids["comm_a"]}))["cadreAssignments"]
    assert listed["totalCount"] == 3
    assert (await gateway.ok(LIST, {"region": ids["grid_a1"]}))["cadreAssignments"]["totalCount"] == 1
    assert (await gateway.ok(LIST, {"sub": "cadre-2"}))["cadreAssignments"]["edges"][0]["node"]["id"] == b["id"]
    # ending the last cadre of a community uncounts it; ending one twice is a conflict
    await gateway.ok(UNASSIGN, {"id": a["id"]})
    assert (await gateway.ok(COVERAGE, {"id": "city"}))["overview"]["grids"]["communitiesWithCadre"] == 1
    await gateway.ok(UNASSIGN, {"id": b["id"]})
    await gateway.ok(UNASSIGN, {"id": g["id"]})
    assert (await gateway.ok(COVERAGE, {"id": "city"}))["overview"]["grids"] == {"communitiesWithCadre": 0,
                                                                                "gridsWithCadre": 0}
    assert codes(await gateway.gql(UNASSIGN, {"id": a["id"]})) == ["CONFLICT"]
    assert (await gateway.ok(LIST, {"region": "city"}))["cadreAssignments"]["totalCount"] == 0
    assert (await gateway.ok(LIST, {"region": "city", "ended": True}))["cadreAssignments"]["totalCount"] == 3
    # once ended, the same person may be assigned there again
    await gateway.ok(ASSIGN, {"sub": "cadre-1", "region": ids["comm_a"], "role": "STREET_CADRE"})
    assert (await gateway.ok(COVERAGE, {"id": "city"}))["overview"]["grids"]["communitiesWithCadre"] == 1
    # the live coverage counters equal a recount from the assignments (yiwang replay grids)
    db = next(rt for rt in gateway.runtimes if rt.name == "grids").db
    report = await replay(db)
    assert not [d for d in report.differences if d[1] in CADRE_COUNTERS], report.differences
    await db.rollups.update_one({"_id": "city"}, {"$inc": {"counters.gridsWithCadre": 3}})  # a drift
    assert [d[:2] for d in (await replay(db, apply=True)).differences] == [("city", "gridsWithCadre")]
    assert (await gateway.ok(COVERAGE, {"id": "city"}))["overview"]["grids"]["gridsWithCadre"] == 0


async def test_cadre_rules_conflicts_and_idempotency(gateway):
    ids = await build_tree(gateway)
    v = {"sub": "cadre-1", "region": ids["comm_a"], "role": "STREET_CADRE", "key": "k-1"}
    first = (await gateway.ok(ASSIGN, v))["assignCadre"]
    assert (await gateway.ok(ASSIGN, v))["assignCadre"]["id"] == first["id"]  # a retry: the first result
    body = await gateway.gql(ASSIGN, {**v, "key": "k-2"})  # the same person, place and role again
    assert codes(body) == ["CONFLICT"] and "already assigned" in body["errors"][0]["message"]
    body = await gateway.gql(ASSIGN, {**v, "key": None})
    assert codes(body) == ["CONFLICT"]
    # the role decides the level
    for region, role in ((ids["grid_a1"], "STREET_CADRE"), (ids["comm_a"], "COMMUNITY_CADRE"),
                         (ids["grid_a1"], "BUILDING_LEADER")):
        body = await gateway.gql(ASSIGN, {"sub": "cadre-9", "region": region, "role": role})
        assert codes(body) == ["BAD_USER_INPUT"], body
    body = await gateway.gql(ASSIGN, {"sub": "cadre-9", "region": ids["comm_a"], "role": "MAYOR"})
    assert codes(body) == ["BAD_USER_INPUT"] and "unknown cadre role" in body["errors"][0]["message"]
    body = await gateway.gql(ASSIGN, {"sub": "has space", "region": ids["comm_a"], "role": "STREET_CADRE"})
    assert codes(body) == ["BAD_USER_INPUT"]
    building = await create(gateway, name="1号楼", level="BUILDING", parentId=ids["grid_a1"])
    leader = (await gateway.ok(ASSIGN, {"sub": "leader-1", "region": building["id"], "role": "BUILDING_LEADER"}))
    assert leader["assignCadre"]["level"] == "BUILDING"
    # nothing refused was written
    assert (await gateway.ok(LIST, {"region": "city"}))["cadreAssignments"]["totalCount"] == 2
    assert (await gateway.ok(COVERAGE, {"id": "city"}))["overview"]["grids"]["communitiesWithCadre"] == 1


async def test_cadre_scope(gateway):
    ids = await build_tree(gateway)
    admin_a = gateway.token("admin", region=ids["town_a"], sub="admin-a")
    # an administrator assigns inside their subtree only, and cannot tell what lies outside
    mine = (await gateway.ok(ASSIGN, {"sub": "c-1", "region": ids["comm_a"], "role": "STREET_CADRE"},
                             token=admin_a))["assignCadre"]
    body = await gateway.gql(ASSIGN, {"sub": "c-1", "region": ids["comm_b"], "role": "STREET_CADRE"}, token=admin_a)
    assert codes(body) == ["FORBIDDEN"]
    other = (await gateway.ok(ASSIGN, {"sub": "c-2", "region": ids["comm_b"], "role": "STREET_CADRE"}))["assignCadre"]
    assert codes(await gateway.gql(UNASSIGN, {"id": other["id"]}, token=admin_a)) == ["FORBIDDEN"]
    # operators and grid workers read; they do not assign
    for role, region in (("operator", ids["town_a"]), ("grid_worker", ids["grid_a1"]), ("volunteer", ids["comm_a"])):
        tok = gateway.token(role, region=region)
        body = await gateway.gql(ASSIGN, {"sub": "c-3", "region": ids["grid_a1"], "role": "COMMUNITY_CADRE"}, token=tok)
        assert codes(body) == ["FORBIDDEN"], (role, body)
    op = gateway.token("operator", region=ids["town_a"])
    assert (await gateway.ok(LIST, {"region": ids["town_a"]}, token=op))["cadreAssignments"]["totalCount"] == 1
    assert codes(await gateway.gql(LIST, {"region": ids["town_b"]}, token=op)) == ["FORBIDDEN"]
    # by person: only what lies in the caller's scope
    assert (await gateway.ok(LIST, {"sub": "c-2"}, token=op))["cadreAssignments"]["totalCount"] == 0
    # a volunteer or resident lists nobody's by region; a cadre reads their own
    vol = gateway.token("volunteer", region=ids["comm_a"])
    assert codes(await gateway.gql(LIST, {"region": ids["comm_a"]}, token=vol)) == ["FORBIDDEN"]
    own = gateway.token("volunteer", region=ids["comm_b"], sub="c-1")
    mine_listed = (await gateway.ok(LIST, {"sub": "c-1"}, token=own))["cadreAssignments"]
    assert [e["node"]["id"] for e in mine_listed["edges"]] == [mine["id"]]
    body = await gateway.gql(LIST, {}, token=op)
    assert codes(body) == ["BAD_USER_INPUT"]
