"""GraphQL over HTTP as the spec (graphql.github.io/graphql-over-http) has it, on top of
Strawberry's view, which speaks only `application/json`.

- The response media type is negotiated from `Accept`: `application/graphql-response+json`
  when the client asks for it (and prefers it at least as much as `application/json`),
  else `application/json`; none of them acceptable: 406.
- With `application/graphql-response+json`, a request error (the document does not parse or
  validate, the variables do not fit, the operation is ambiguous: nothing was executed)
  answers 400, and 500 if the error is a fault of ours. With `application/json` every
  GraphQL response is 200, as the spec asks of legacy clients.
- A response to a request error has no `data` entry (GraphQL spec, "Response": nothing ran).
- A non-string `operationName` is a malformed request (400), like a non-string `query`.
- Every response carries `X-Request-ID` (the caller's, if it sent a plain one), which every
  log line of the request carries too, in the gateway and in the services it called.
"""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from gateway.context import Context
from shared.logs import REQUEST_ID, request_id

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or None when the client accepts neither of ours.
    Wildcards (`*/*`, `application/*`) stand for `application/json`, the default."""
    if not accept or not accept.strip():
        return JSON
    best: dict[str, tuple[int, float]] = {}  # media -> (specificity of the matching range, q)
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        for candidate in (GRAPHQL_RESPONSE_JSON, JSON):
            if media == candidate:
                rank = 2
            elif candidate == JSON and media in ("application/*", "*/*"):
                rank = 1 if media == "application/*" else 0
            else:
                continue
            if candidate not in best or rank > best[candidate][0]:
                best[candidate] = (rank, q)
    q_new, q_json = best.get(GRAPHQL_RESPONSE_JSON, (0, 0.0))[1], best.get(JSON, (0, 0.0))[1]
    if q_new > 0 and q_new >= q_json:
        return GRAPHQL_RESPONSE_JSON
    return JSON if q_json > 0 else None


def _request_error(result: ExecutionResult) -> bool:
    """Nothing was executed: every error came before execution (none has a path)."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(e.path is None for e in errors)


class GraphQLOverHTTP(GraphQL[Context, None]):
    """A layer of the Strawberry view (`gateway.app.Gateway`)."""

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        REQUEST_ID.set(request_id(request.headers.get("x-request-id")))
        return await super().run(request, context, root_value)

    async def get_sub_response(self, request: Any) -> Any:
        # Strawberry's sub-response (a Starlette Response) carries the negotiated media type to create_response
        sub_response: Any = await super().get_sub_response(request)
        sub_response.graphql_media = negotiate(request.headers.get("accept")) or JSON
        return sub_response

    async def parse_http_body(self, request_adapter: Any) -> Any:
        if negotiate(request_adapter.headers.get("accept")) is None:
            raise HTTPException(406, f"Accept {JSON} or {GRAPHQL_RESPONSE_JSON}")
        data = await super().parse_http_body(request_adapter)
        if not isinstance(data, list) and not isinstance(data.operation_name, (str, type(None))):
            raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null, if provided.")
        return data

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if _request_error(result):
            response.pop("data", None)
        return response

    def create_response(self, response_data: Any, sub_response: Any) -> Any:
        response = super().create_response(response_data, sub_response)
        if rid := REQUEST_ID.get():
            response.headers["x-request-id"] = rid
        if getattr(sub_response, "graphql_media", JSON) == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and "data" not in response_data and not sub_response.status_code:
                codes = {(e.get("extensions") or {}).get("code") for e in response_data.get("errors") or []}
                response.status_code = 500 if "INTERNAL_SERVER_ERROR" in codes else 400
        return response
