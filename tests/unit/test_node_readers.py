"""Every type of the schema that implements Node can be read back by `node(id:)` and `nodes(ids:)`: a
`nodeId` the API hands out that `node` refuses as "no global id" is a broken promise of the interface."""
from __future__ import annotations

from graphql import GraphQLObjectType

from gateway.schema import build_schema
from gateway.schema.nodes import READERS
from shared.settings import Settings


def test_every_node_type_has_a_reader():
    schema = build_schema(Settings())._schema
    nodes = {
        name for name, t in schema.type_map.items()
        if isinstance(t, GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)
    }
    assert "Case" in nodes and "Visit" in nodes  # the walk finds them
    missing = sorted(nodes - READERS.keys())
    assert not missing, f"types implementing Node without a reader in gateway/schema/nodes.py READERS: {missing}"
    assert not READERS.keys() - nodes, "a reader for a type that does not implement Node"
