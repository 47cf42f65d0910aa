"""The ASGI app: `/graphql` (HTTP and graphql-transport-ws), `/healthz`, `/readyz`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import nats
from cross_web.request._starlette import StarletteRequestAdapter
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from gateway import multipart
from gateway.context import Context
from gateway.downloads import download_endpoint
from gateway.exports.jobs import ExportJobs
from gateway.exports.route import export_endpoint
from gateway.http import GraphQLOverHTTP
from gateway.ide import LocalGraphiQL, ide_routes
from gateway.imports import ImportJobs, template_endpoint
from gateway.job_leases import sweep_forever as sweep_jobs_forever
from gateway.limits import LimitedGraphQL, RequestLimits
from gateway.metrics import RequestMetrics, metrics_endpoint
from gateway.readiness import readiness
from gateway.schema import build_schema
from gateway.uploads import Uploads, sweep_forever
from shared.auth import service_token
from shared.blobs import blob_store
from shared.errors import DomainError, NotFound
from shared.heap import freeze_long_lived
from shared.identity import Verifier, ensure_dev_issuer, issuer_key_file
from shared.messaging.rpc import RpcClient
from shared.messaging.streams import STREAMS
from shared.mongo import make_client
from shared.production import check_production
from shared.settings import Settings

log = logging.getLogger("yiwang.gateway")


class StreamingRequest(StarletteRequestAdapter):
    """Strawberry's request adapter with the body as a stream (for a multipart upload)."""

    def stream(self) -> AsyncIterator[bytes]:
        return self._request.stream()


class Gateway(LocalGraphiQL, GraphQLOverHTTP, LimitedGraphQL):
    request_adapter_class = StreamingRequest

    def __init__(self, settings: Settings, state: dict[str, Any]):
        # Queries may come by GET (GraphQL over HTTP); mutations only by POST.
        super().__init__(
            build_schema(settings),
            graphql_ide=None if settings.production else "graphiql",
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=15,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            # Uploads (GraphQL multipart requests) need a bearer token, which a cross-site form
            # cannot send: RequestLimits answers 401 to one without (the CSRF case of uploads).
            multipart_uploads_enabled=True,
        )  # not the legacy graphql-ws
        self.settings, self.state = settings, state

    async def on_ws_connect(self, context: Context) -> None:
        """`connection_init` must carry a valid token (`Authorization` in its payload); else the
        socket closes with 4403 before anything else is served on it."""
        try:
            await context.verifier.person_async(context.token)  # loads a rotated-in key
            context.principal  # noqa: B018 - verifies the token
        except DomainError as e:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": e.message}) from None

    def encode_json(self, data: object) -> str:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    async def parse_multipart(self, request: Any) -> Any:
        """The multipart request read as a stream, its file left unread for the resolver."""
        return await multipart.parse(request.stream(), request.content_type or "")

    async def get_context(self, request: Any, response: Any) -> Context:
        context = Context(
            self.settings, self.state["rpc"], request, response, nc=self.state["nc"], verifier=self.state["verifier"]
        )
        context.uploads = self.state.get("uploads")
        context.exports = self.state.get("exports")
        context.imports = self.state.get("imports")
        return context


class GridsAssignments:
    """People signed in by `sub` alone: the gateway asks grids, the keeper of role assignments."""

    def __init__(self, rpc: RpcClient, settings: Settings):
        self.rpc, self.settings = rpc, settings

    async def claims(self, sub: str) -> dict[str, str] | None:
        token = service_token(self.settings.jwt_secret, "gateway", self.settings.jwt_issuer)
        try:
            found = await self.rpc.call("grids", "role.get", {"sub": sub}, token)
        except NotFound:
            return None
        return found.get("claims")


def issuer_routes(settings: Settings) -> list[Route]:
    """The development issuer's discovery document and JWKS, so any OIDC-aware tool verifies
    `yiwang token`'s tokens as it would a real issuer's. None where a real issuer is configured."""
    if settings.jwks_url is not None:
        return []
    jwks_file = issuer_key_file(settings).parent / "jwks.json"

    async def jwks(request: Request) -> Response:
        return Response(
            jwks_file.read_bytes(),
            media_type="application/json",
            headers={"cache-control": f"max-age={int(settings.jwks_refresh_s)}"},
        )

    async def discovery(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": settings.jwt_issuer,
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "id_token_signing_alg_values_supported": ["ES256"],
                "subject_types_supported": ["public"],
                "response_types_supported": ["id_token"],
            }
        )

    ensure_dev_issuer(settings)
    return [Route("/.well-known/jwks.json", jwks), Route("/.well-known/openid-configuration", discovery)]


def create_app(settings: Settings, services: tuple[str, ...] = STREAMS) -> Starlette:
    check_production(settings, "the gateway", uses_field_key=False)
    verifier = Verifier(settings)
    state: dict[str, Any] = {"verifier": verifier}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        nc = await nats.connect(settings.nats_servers, name="yiwang-gateway", max_reconnect_attempts=-1)
        state["nc"], state["rpc"] = nc, RpcClient(nc, settings.rpc_timeout_s)
        verifier.assignments = GridsAssignments(state["rpc"], settings)
        try:
            await verifier.keys.refresh()
        except DomainError as e:  # the issuer may come up later: each request tries again
            log.warning("%s (%s)", e.message, verifier.keys.url)
        state["blobs"] = blobs = blob_store(settings)
        state["uploads"] = uploads = Uploads(settings, blobs)
        token = service_token(settings.jwt_secret, "gateway", settings.jwt_issuer)

        async def attach(service: str, verb: str, body: Any) -> Any:
            return await state["rpc"].call(service, verb, body.model_dump(mode="json", exclude_unset=True), token)

        sweeper = asyncio.create_task(sweep_forever(uploads, attach, settings.orphan_sweep_s))
        # exports: job records in the gateway's own database, written with the platform's write concern
        mongo = make_client(settings.mongo_uri, "yiwang-gateway")
        state["exports"] = exports = ExportJobs(settings, blobs, mongo[settings.db_name("gateway")]["jobs"])
        await exports.prepare()
        export_sweeper = asyncio.create_task(sweep_jobs_forever("exports", exports.sweep, settings.export_sweep_s))
        # onboarding imports: jobs beside the exports', rows sent with each caller's own token
        state["imports"] = imports = ImportJobs(settings, blobs, mongo[settings.db_name("gateway")], state["rpc"])
        await imports.prepare()
        import_sweeper = asyncio.create_task(sweep_jobs_forever("imports", imports.sweep, settings.export_sweep_s))
        freeze_long_lived()
        try:
            yield
        finally:
            sweeper.cancel()
            export_sweeper.cancel()
            import_sweeper.cancel()
            await exports.close()
            await imports.close()
            await nc.drain()
            await blobs.close()
            await mongo.close()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        ready, body = await readiness(
            state.get("nc"), state.get("rpc"), settings, [s for s in STREAMS if s in services]
        )
        return JSONResponse(body, status_code=200 if ready else 503)

    async def asyncapi(request: Request) -> JSONResponse:
        """The AsyncAPI document of a service's events, from the running service itself."""
        try:
            await verifier.person_async(request.headers.get("authorization", "").removeprefix("Bearer ").strip())
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
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/asyncapi/{service}.json", asyncapi),
            *issuer_routes(settings),
            Route("/files/{id:str}/{variant:str}", download_endpoint(settings, state), methods=["GET"]),
            Route("/exports/{id:str}", export_endpoint(settings, state), methods=["GET"]),
            Route("/imports/templates/{name:str}", template_endpoint, methods=["GET"]),
            *ide_routes(graphql.graphql_ide is not None),
        ],
        middleware=[Middleware(RequestMetrics), Middleware(RequestLimits, settings=settings, verifier=verifier)],
        lifespan=lifespan,
    )
