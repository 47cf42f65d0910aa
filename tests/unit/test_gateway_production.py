"""Production mode: dev secrets refused, introspection and GraphiQL off, no schema hints."""
from __future__ import annotations

import pytest

from gateway.app import Gateway, check_production
from gateway.schema import build_schema
from shared.settings import Settings

PROD = {"env": "production", "jwt_secret": "a-production-secret-of-sufficient-length", "field_key": "a-real-field-key"}


def test_production_refuses_the_development_secrets():
    with pytest.raises(SystemExit, match="JWT secret"):
        check_production(Settings(env="production", field_key="a-real-field-key"))
    with pytest.raises(SystemExit, match="field key"):
        check_production(Settings(env="production", jwt_secret=PROD["jwt_secret"]))
    check_production(Settings(**PROD))
    check_production(Settings())  # development may use them


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
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT"}
