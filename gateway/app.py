"""The ASGI app: `/graphql` (HTTP and graphql-transport-ws), `/healthz`, `/readyz`."""
from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import nats
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

from gateway.context import Context
from gateway.readiness import readiness
from gateway.schema import build_schema
from shared.auth import service_token, verify_token
from shared.errors import DomainError
from shared.heap import freeze_long_lived
from shared.messaging.rpc import RpcClient
from shared.messaging.streams import SERVICES
from shared.settings import DEV_FIELD_KEY, DEV_JWT_SECRET, Settings

log = logging.getLogger("yiwang.gateway")


class Gateway(GraphQL):
    def __init__(self, settings: Settings, state: dict[str, Any]):
        super().__init__(build_schema(settings), graphql_ide=None if settings.production else "graphiql",
                         allow_queries_via_get=False, keep_alive=True, keep_alive_interval=15)
        self.settings, self.state = settings, state

    def encode_json(self, data: object) -> str:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(self.settings, self.state["rpc"], request, response, nc=self.state["nc"])


def check_production(settings: Settings) -> None:
    if settings.production and settings.jwt_secret == DEV_JWT_SECRET:
        raise SystemExit("refusing to start: YIWANG_ENV=production with the development JWT secret; "
                         "set YIWANG_JWT_SECRET")
    if settings.production and settings.field_key == DEV_FIELD_KEY:
        raise SystemExit("refusing to start: YIWANG_ENV=production with the development field key; "
                         "set YIWANG_FIELD_KEY")


def create_app(settings: Settings, services: tuple[str, ...] = ("grids", "cases", "organizations", "volunteers")) -> Starlette:
    check_production(settings)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        nc = await nats.connect(settings.nats_servers, name="yiwang-gateway", max_reconnect_attempts=-1)
        state["nc"], state["rpc"] = nc, RpcClient(nc, settings.rpc_timeout_s)
        freeze_long_lived()
        try:
            yield
        finally:
            await nc.drain()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        ready, body = await readiness(state.get("nc"), state.get("rpc"), settings,
                                      [s for s in SERVICES if s in services])
        return JSONResponse(body, status_code=200 if ready else 503)

    async def asyncapi(request: Request) -> JSONResponse:
        """The AsyncAPI document of a service's events, from the running service itself."""
        try:
            verify_token(request.headers.get("authorization", "").removeprefix("Bearer ").strip(),
                         settings.jwt_secret, settings.jwt_issuer)
        except DomainError as e:
            return JSONResponse({"error": e.message}, status_code=401)
        name = request.path_params["service"]
        if name not in services:
            return JSONResponse({"error": f"no events documented for {name!r}"}, status_code=404)
        token = service_token(settings.jwt_secret, "gateway", settings.jwt_issuer)
        try:
            return JSONResponse(await state["rpc"].call(name, "asyncapi", {}, token))
        except Exception:  # noqa: BLE001 - the service is down or did not answer
            return JSONResponse({"error": f"the {name} service is not available"}, status_code=503)

    graphql = Gateway(settings, state)
    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"]),
                             WebSocketRoute("/graphql", graphql),
                             Route("/healthz", healthz), Route("/readyz", readyz),
                             Route("/asyncapi/{service}.json", asyncapi)],
                     lifespan=lifespan)
