"""The gateway's Prometheus metrics (`/metrics`): HTTP requests by route, method and status with
their latency, GraphQL errors by code, and open subscriptions. One registry per process (tests
run several gateways in one; they add up). The route label is the route's template, never the
path a client sent, so a scraper's series stay bounded; no label carries a token, an operation's
text or anything personal."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from shared.metrics import metrics_response

REGISTRY = CollectorRegistry()
REQUESTS = Histogram(
    "yiwang_http_request_duration_seconds",
    "HTTP requests to the gateway by route, method and status, with their duration",
    ["route", "method", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
GRAPHQL_ERRORS = Counter(
    "yiwang_graphql_errors",
    "Errors in GraphQL answers by code (BAD_USER_INPUT, FORBIDDEN, …)",
    ["code"],
    registry=REGISTRY,
)
SOCKETS = Gauge("yiwang_websockets_open", "graphql-transport-ws connections open", registry=REGISTRY)
ROUTES = ("/graphql", "/healthz", "/readyz", "/metrics", "/asyncapi/", "/files/", "/graphiql")


def route_of(path: str) -> str:
    return next((r for r in ROUTES if path == r or (r.endswith("/") and path.startswith(r))), "other")


def graphql_error(code: str) -> None:
    GRAPHQL_ERRORS.labels(code=code).inc()


class RequestMetrics:
    """ASGI middleware (outermost): every HTTP request timed with the status it got, every
    websocket counted while open."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "websocket":
            SOCKETS.inc()
            try:
                return await self.app(scope, receive, send)
            finally:
                SOCKETS.dec()
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            REQUESTS.labels(route=route_of(scope["path"]), method=scope["method"], status=str(status)).observe(
                time.perf_counter() - started
            )


async def metrics_endpoint(request: Request) -> Response:
    return metrics_response(generate_latest(REGISTRY))
