"""Errors as the API promises them: a code on every error, no stack traces, no schema hints,
and logs that tell faults from mistakes.

Codes (`extensions.code`):
- `GRAPHQL_PARSE_FAILED`: the document is not GraphQL (syntax, too many tokens).
- `GRAPHQL_VALIDATION_FAILED`: it is GraphQL but not valid against the schema (unknown
  fields, wrong argument types in the document, depth and alias limits).
- `BAD_USER_INPUT`: the variables do not fit their types (wrong type, unknown enum value,
  missing or null where required, an impossible date), the operation to run is ambiguous or
  unknown, or a service refused the input.
- The services' codes (`UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, `UNAVAILABLE`).
- `INTERNAL_SERVER_ERROR`: a fault of ours, and only that; its message is masked.

Strawberry logs every error at ERROR with its traceback (`Schema.process_errors`), and
graphql-core's coercion messages quote the variables. Here a client's mistake is logged at
INFO with its code and path only; UNAVAILABLE at WARNING; a fault at ERROR with its
traceback (masked by `shared.logs`). No variable value is ever logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, OperationDefinitionNode
from strawberry.exceptions import MissingQueryError, StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionContext

from gateway.metrics import graphql_error
from shared.errors import DomainError, ErrorCode

log = logging.getLogger("yiwang.gateway.errors")

GRAPHQL_CODES = {
    ErrorCode.BAD_INPUT: "BAD_USER_INPUT",
    ErrorCode.UNAUTHENTICATED: "UNAUTHENTICATED",
    ErrorCode.NOT_FOUND: "NOT_FOUND",
    ErrorCode.FORBIDDEN: "FORBIDDEN",
    ErrorCode.CONFLICT: "CONFLICT",
    ErrorCode.UNAVAILABLE: "UNAVAILABLE",
    ErrorCode.INTERNAL: "INTERNAL_SERVER_ERROR",
}
PARSE_FAILED, VALIDATION_FAILED = "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT, INTERNAL = "BAD_USER_INPUT", "INTERNAL_SERVER_ERROR"
# Raised by Strawberry before execution for a request it cannot run as asked.
_REQUEST_ERRORS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    """The error and the errors it wraps (`original_error`), outermost first."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = getattr(error, "original_error", None)


def code_of(error: GraphQLError) -> str:
    if code := (error.extensions or {}).get("code"):
        return code
    chain = list(_chain(error))
    if domain := next((e for e in chain if isinstance(e, DomainError)), None):
        return GRAPHQL_CODES[domain.code]
    if isinstance(error, GraphQLSyntaxError):
        return PARSE_FAILED
    if any(isinstance(e, (StrawberryInputCoercionError, *_REQUEST_ERRORS)) for e in chain):
        return BAD_USER_INPUT
    if error.path is not None:
        return INTERNAL  # a resolver failed with something other than a typed error
    # Before execution, graphql-core refuses variables and operation names with GraphQLErrors of
    # its own; anything else that escaped (an extension's crash) is a fault.
    return BAD_USER_INPUT if isinstance(chain[-1], GraphQLError) else INTERNAL


def shape(error: GraphQLError) -> GraphQLError:
    """The error as the client sees it: a code; for a fault, no message or details of ours."""
    code = code_of(error)
    if code == INTERNAL:
        return GraphQLError(
            "Internal server error.",
            nodes=error.nodes,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL},
        )
    domain = next((e for e in _chain(error) if isinstance(e, DomainError)), None)
    details = {"details": domain.details} if domain is not None and domain.details else {}
    message = error.message.split(" Did you mean")[0]
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code, **details},
    )


def _mark(errors: list[GraphQLError] | None, code: str) -> None:
    """Give errors of a known phase their code, unless they carry one (or a scalar's
    refusal of a value, which is the client's input: BAD_USER_INPUT)."""
    for e in errors or []:
        if not (e.extensions or {}).get("code"):
            scalar = any(isinstance(x, StrawberryInputCoercionError) for x in _chain(e))
            e.extensions = {**(e.extensions or {}), "code": BAD_USER_INPUT if scalar else code}


def mark_validation_errors(errors: list[GraphQLError] | None) -> None:
    """For whoever validates: Strawberry's synchronous path logs validation errors before the
    extensions' `on_validate` has seen them."""
    _mark(errors, VALIDATION_FAILED)


def report(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """Log each error by what it is, then replace it (in place) with what the client sees."""
    operation = None
    if execution_context is not None and execution_context.graphql_document is not None:
        try:
            operation = execution_context.operation_name
        except Exception:  # noqa: BLE001 - an unnamed or ambiguous operation
            operation = None
    for i, error in enumerate(errors):
        code = code_of(error)
        graphql_error(code)
        where = ".".join(str(p) for p in error.path) if error.path else "(document)"
        name = (operation or "(unnamed)")[:80]  # the client's to choose: bounded, and masked like all else
        if code == INTERNAL:
            cause = next((e for e in reversed(list(_chain(error))) if not isinstance(e, GraphQLError)), error)
            log.error(
                "%s in operation %s at %s: %s",
                code,
                name,
                where,
                type(cause).__name__,
                exc_info=(type(cause), cause, cause.__traceback__),
            )
        elif code == "UNAVAILABLE":
            log.warning("%s in operation %s at %s: %s", code, name, where, error.message)
        else:
            log.info("%s in operation %s at %s", code, name, where)
        errors[i] = shape(error)


class TypedErrors(SchemaExtension):
    """Codes by phase, one operation per request, and every error shaped on its way out."""

    def on_parse(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        _mark(ctx.pre_execution_errors, PARSE_FAILED)
        if ctx.graphql_document is not None and not ctx.pre_execution_errors:
            self._one_operation(ctx, ctx.graphql_document)

    @staticmethod
    def _one_operation(ctx: ExecutionContext, document: DocumentNode) -> None:
        """Which operation to run must be unambiguous: Strawberry runs the first of several
        when no `operationName` is given (and answers a name it cannot find with a bare 400)."""
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        wanted = ctx._provided_operation_name  # noqa: SLF001 - as the client sent it (`operation_name` guesses)
        if wanted is None and len(ops) > 1 and all(op.name for op in ops):  # else validation says it
            raise GraphQLError(
                "The document holds several operations: say which to run with `operationName`.",
                extensions={"code": BAD_USER_INPUT},
            )
        if wanted is not None and not any(op.name and op.name.value == wanted for op in ops):
            raise GraphQLError(f"The document has no operation named {wanted!r}.", extensions={"code": BAD_USER_INPUT})

    def on_validate(self) -> Iterator[None]:
        yield
        _mark(self.execution_context.pre_execution_errors, VALIDATION_FAILED)

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [shape(e) for e in errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result a subscription streams over graphql-transport-ws."""
        if getattr(result, "errors", None):
            result.errors = [shape(e) for e in result.errors]
        yield


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        report(errors, execution_context)
