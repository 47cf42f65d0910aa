"""Production mode: dev secrets refused, introspection and GraphiQL off, no schema hints."""
from __future__ import annotations

import pytest

from gateway.app import Gateway, create_app
from gateway.schema import build_schema
from shared.settings import Settings

PROD = {"env": "production", "jwks_url": "https://sso.example.gov.cn/jwks", "jwt_secret": "TK2In4fNCy8-B1lQFD1nOWzi_2EAQCQei-iLffOqDmk"}


def test_production_refuses_the_development_secrets():
    with pytest.raises(SystemExit, match="YIWANG_JWT_SECRET"):
        create_app(Settings(env="production"))
    create_app(Settings(**PROD))  # no field key: the gateway decrypts nothing
    create_app(Settings())  # development may use them


def test_introspection_and_graphiql_are_off_in_production():
    prod, dev = build_schema(Settings(**PROD)), build_schema(Settings())
    query = "{ __schema { types { name } } }"
    assert dev.execute_sync(query).errors is None
    result = prod.execute_sync(query)
    assert result.errors and "introspection" in result.errors[0].message.lower()
    assert Gateway(Settings(**PROD), {}).graphql_ide is None
    assert Gateway(Settings(), {}).graphql_ide == "graphiql"


def test_validation_errors_carry_a_code_and_no_hints():
    result = build_schema(Settings(**PROD)).execute_sync("{ regon(id: 1) { id } }")
    assert result.errors and "Did you mean" not in result.errors[0].message
    assert result.errors[0].extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}


def test_a_query_text_is_validated_once_and_its_limits_still_hold(monkeypatch):
    import gateway.schema as gs
    calls: list[str] = []
    real = gs.validate_document
    monkeypatch.setattr(gs, "validate_document", lambda schema, doc, rules: calls.append("v") or real(schema, doc, rules))
    schema = build_schema(Settings(graphql_max_depth=3))  # its own document cache
    for _ in range(3):
        assert schema.execute_sync("{ __typename }").errors is None
    assert calls == ["v"]  # once for the text, whatever the operation's fresh limiter classes
    deep = "{ me { sub } regions(level: CITY) { items { children { items { children { items { id } } } } } } }"
    for _ in range(2):
        result = schema.execute_sync(deep)
        assert result.errors and "depth" in result.errors[0].message
    assert calls == ["v", "v"]
    other = build_schema(Settings(graphql_max_depth=10))  # another schema, its own outcome
    assert "depth" not in str(other.execute_sync(deep).errors or "")
