"""A span per GraphQL operation (`graphql <operationName>`), when traces are on (shared/tracing.py):
the requests its resolvers send to the services are its children, and theirs the services' own
spans and store commands. The span names the operation and its type and the error codes of the
answer, never its variables or text."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from opentelemetry.trace import SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from gateway.errors import INTERNAL, code_of
from shared.tracing import tracer


class TracedOperation(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        with tracer().start_as_current_span("graphql", kind=SpanKind.SERVER) as span:
            yield
            try:  # known once the document is parsed
                span.update_name(f"graphql {(ctx.operation_name or '(unnamed)')[:80]}")
            except Exception:  # noqa: BLE001 - a document that does not parse, or several operations
                pass
            try:
                span.set_attribute("graphql.operation.type", str(ctx.operation_type.value))
            except Exception:  # noqa: BLE001 - a document that did not parse has no type
                pass
            errors = list(ctx.pre_execution_errors or []) + list(getattr(ctx.result, "errors", None) or [])
            codes = sorted({code_of(e) for e in errors if isinstance(e, GraphQLError)})
            if codes:
                span.set_attribute("graphql.error_codes", codes)
                if INTERNAL in codes or "UNAVAILABLE" in codes:
                    span.set_status(Status(StatusCode.ERROR))
