"""Errors as the API promises them: `extensions.code`, no stack traces, no schema hints."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from shared.errors import DomainError, ErrorCode

GRAPHQL_CODES = {
    ErrorCode.BAD_INPUT: "BAD_USER_INPUT", ErrorCode.UNAUTHENTICATED: "UNAUTHENTICATED",
    ErrorCode.NOT_FOUND: "NOT_FOUND", ErrorCode.FORBIDDEN: "FORBIDDEN", ErrorCode.CONFLICT: "CONFLICT",
    ErrorCode.UNAVAILABLE: "UNAVAILABLE", ErrorCode.INTERNAL: "INTERNAL_SERVER_ERROR",
}


def _shape(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        code = GRAPHQL_CODES[original.code]
        message = original.message if code != "INTERNAL_SERVER_ERROR" else "Internal server error."
        ext = {"code": code, **({"details": original.details} if original.details and code != "INTERNAL_SERVER_ERROR" else {})}
        return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                            path=error.path, extensions=ext)
    if original is None:
        # Parse and validation errors: the caller's to fix; strip schema hints.
        message = error.message.split(" Did you mean")[0]
        return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                            path=error.path, extensions={"code": (error.extensions or {}).get("code", "BAD_USER_INPUT")})
    return GraphQLError("Internal server error.", nodes=error.nodes, positions=error.positions,
                        path=error.path, extensions={"code": "INTERNAL_SERVER_ERROR"})


class TypedErrors(SchemaExtension):
    """Every error leaves with a code; unexpected ones are masked (they are logged by graphql-core)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and getattr(result, "errors", None):
            result.errors = [_shape(e) for e in result.errors]
        pre = self.execution_context.pre_execution_errors
        if pre:
            self.execution_context.pre_execution_errors = [_shape(e) for e in pre]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result a subscription streams over graphql-transport-ws."""
        if getattr(result, "errors", None):
            result.errors = [_shape(e) for e in result.errors]
        yield
