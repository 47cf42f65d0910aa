"""Relay global object identification through the real gateway: a record's `nodeId` reads it back by
`node(id:)` and `nodes(ids:)`, with the same scope answer as the record's own query."""
from __future__ import annotations

import base64

import pytest

from tests.cases_gateway import ADMIN_A, IN_A1, IN_B1, OP_A, R1, R2, codes, report, start_cases_stack

ADMIN_B = {"role": "admin", "region": "county-b", "sub": "admin-b"}
NODE = "query($id: ID!) { node(id: $id) { __typename nodeId ... on Case { id title status } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Case { id } ... on Region { id name } } }"
OWN = "query($id: ID!) { case(id: $id) { id nodeId } }"


@pytest.fixture
async def cases(stack):
    await start_cases_stack(stack)
    return stack


async def test_a_cases_node_id_reads_it_back_and_id_keeps_its_meaning(cases):
    case = await report(cases, R1, IN_A1)
    own = (await cases.ok(OWN, {"id": case["id"]}, **OP_A))["case"]
    assert own["id"] == case["id"]  # the record's own id, as before
    assert base64.b64decode(own["nodeId"]).decode() == f"Case:{case['id']}"
    node = (await cases.ok(NODE, {"id": own["nodeId"]}, **OP_A))["node"]
    assert node == {"__typename": "Case", "nodeId": own["nodeId"], "id": case["id"], "title": case["title"],
                    "status": "REPORTED"}
    region = (await cases.ok('{ region(id: "grid-a1") { nodeId } }', {}, **OP_A))["region"]
    both = (await cases.ok(NODES, {"ids": [own["nodeId"], region["nodeId"]]}, **OP_A))["nodes"]
    assert both == [{"__typename": "Case", "id": case["id"]}, {"__typename": "Region", "id": "grid-a1",
                                                              "name": both[1]["name"]}]


async def test_a_node_outside_your_scope_is_refused_as_its_own_query_refuses_it(cases):
    mine, theirs = await report(cases, R1, IN_A1), await report(cases, R2, IN_B1)
    node_id = (await cases.ok(OWN, {"id": theirs["id"]}, **ADMIN_B))["case"]["nodeId"]
    mine_id = (await cases.ok(OWN, {"id": mine["id"]}, **ADMIN_A))["case"]["nodeId"]
    for who in (ADMIN_A, OP_A, R1):  # an admin and an operator of the other county, another resident
        own = await cases.gql(OWN, {"id": theirs["id"]}, **who)
        node = await cases.gql(NODE, {"id": node_id}, **who)
        assert codes(node) == codes(own) == ["FORBIDDEN"], who
        assert node["data"]["node"] is None
        listed = await cases.gql(NODES, {"ids": [mine_id, node_id]}, **who)
        if who is R1:  # the resident's own report reads back; the other entry alone is null
            assert listed["data"]["nodes"] == [{"__typename": "Case", "id": mine["id"]}, None]
            assert [e["path"] for e in listed["errors"]] == [["nodes", 1]] and codes(listed) == ["FORBIDDEN"]


async def test_an_id_this_api_did_not_make_is_bad_user_input(cases):
    for bad in ("not-base64!", base64.b64encode(b"Nothing:1").decode(), base64.b64encode(b"no colon").decode()):
        assert codes(await cases.gql(NODE, {"id": bad}, **OP_A)) == ["BAD_USER_INPUT"], bad
    too_many = await cases.gql(NODES, {"ids": ["x"] * 101}, **OP_A)
    assert codes(too_many) == ["BAD_USER_INPUT"]
