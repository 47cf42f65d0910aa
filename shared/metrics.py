"""Prometheus metrics and health endpoints of a service process.

Each service keeps its own registry: FastStream's Prometheus middleware (`NatsPrometheusMiddleware`)
counts and times every message its subscribers handle (request-reply verbs and event consumers,
labelled by subject), `rpc_errors` counts the verbs' refusals and failures by error code, and a
scrape reads the work waiting: the outbox not yet published, each durable consumer's pending and
unacknowledged events, the service's dead letters, and how long ago its store last took a write.

`ServiceHttp` serves them, with `/healthz` (the process runs) and `/readyz` (it can write to its
store, as its `ping` verb answers), on `YIWANG_SERVICE_HTTP_PORT` (off when unset; `yiwang up`
gives each service the gateway's port + 1, + 2, …). Kubernetes probes and Prometheus scrape that
port; it carries no personal data and no write, and is meant for the cluster network only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import uvicorn
from faststream.nats.prometheus.provider import NatsMetricsSettingsProvider
from faststream.prometheus import ConsumeAttrs
from faststream.prometheus.middleware import PrometheusMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.messaging.subjects import bounded_subject, dlq_subject

if TYPE_CHECKING:
    from shared.service import ServiceRuntime

log = logging.getLogger("yiwang.metrics")
PREFIX = "yiwang"
SCRAPE_TIMEOUT_S = 5.0  # a scrape answers with what it has by then
BACKLOG_CAP = 100_000  # the outbox backlog is counted up to this (a count reads every match)


class BoundedNatsProvider(NatsMetricsSettingsProvider):
    """FastStream's NATS provider, labelling by `bounded_subject`s (FastStream's own label is the
    full subject: one series per region path and per reply inbox)."""

    __slots__ = ()

    def get_consume_attrs_from_message(self, msg: Any) -> ConsumeAttrs:
        attrs = super().get_consume_attrs_from_message(msg)
        attrs["destination_name"] = bounded_subject(attrs["destination_name"])
        return attrs

    def get_publish_destination_name_from_cmd(self, cmd: Any) -> str:
        return bounded_subject(super().get_publish_destination_name_from_cmd(cmd))


BOUNDED = BoundedNatsProvider()


class ServiceMetrics:
    def __init__(self, service: str):
        self.service = service
        self.registry = CollectorRegistry()
        self.middleware: PrometheusMiddleware[Any, Any] = PrometheusMiddleware(
            settings_provider_factory=lambda msg: BOUNDED,
            registry=self.registry,
            app_name=f"{PREFIX}-{service}",
            metrics_prefix=PREFIX,
        )
        r = self.registry
        self.rpc_errors = Counter(
            f"{PREFIX}_rpc_errors",
            "Requests answered with an error, by verb and error code",
            ["verb", "code"],
            registry=r,
        )
        self.outbox_backlog = Gauge(f"{PREFIX}_outbox_backlog", "Committed events not yet published", registry=r)
        self.consumer_pending = Gauge(
            f"{PREFIX}_consumer_pending", "Events a durable consumer has not yet received", ["consumer"], registry=r
        )
        self.consumer_unacked = Gauge(
            f"{PREFIX}_consumer_unacknowledged",
            "Events a durable consumer received and has not yet acknowledged",
            ["consumer"],
            registry=r,
        )
        self.dead_letters = Gauge(f"{PREFIX}_dead_letters", "Events this service's consumers dead-lettered", registry=r)
        self.store_write_age = Gauge(
            f"{PREFIX}_store_write_age_seconds",
            "Seconds since the service's heartbeat write to its store last succeeded (-1: never)",
            registry=r,
        )

    def refused(self, verb: str, code: str) -> None:
        self.rpc_errors.labels(verb=verb, code=code).inc()

    async def refresh(self, rt: ServiceRuntime) -> None:
        """Read the waiting work now: the outbox, the consumers, the dead letters, the store."""
        age = rt.sessions.writable_age()
        self.store_write_age.set(-1 if age is None else age)
        with contextlib.suppress(Exception):  # a store that is down leaves the last figure
            self.outbox_backlog.set(await rt.db.outbox.count_documents({"published": False}, limit=BACKLOG_CAP))
        js = rt.broker.config.connection_state.stream
        for stream, config in rt.consumers:
            with contextlib.suppress(Exception):
                info = await js.consumer_info(stream, config.durable_name)
                self.consumer_pending.labels(consumer=config.durable_name).set(info.num_pending or 0)
                self.consumer_unacked.labels(consumer=config.durable_name).set(info.num_ack_pending or 0)
        with contextlib.suppress(Exception):
            prefix = dlq_subject(self.service, "")
            info = await js.stream_info("YIWANG_DLQ", subjects_filter=f"{prefix}>")
            self.dead_letters.set(sum((info.state.subjects or {}).values()))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def metrics_response(payload: bytes) -> Response:
    return Response(payload, media_type=CONTENT_TYPE_LATEST)


class QuietServer(uvicorn.Server):
    """Serves inside the service's process: its signals stay the service's (FastStream's), which
    stops this server on its way down."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServiceHttp:
    """`/healthz`, `/readyz` and `/metrics` of one service process, on its own port."""

    def __init__(self, rt: ServiceRuntime, port: int, host: str, ready: Callable[[], Awaitable[str | None]]):
        self.rt, self.ready = rt, ready
        app = Starlette(
            routes=[
                Route("/healthz", self.healthz),
                Route("/readyz", self.readyz),
                Route("/metrics", self.metrics),
            ]
        )
        # log_config=None: uvicorn's own lines (a port it cannot bind) go through the service's
        # logging (JSON, masked), not a plain-text handler of uvicorn's.
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, log_level="warning", lifespan="off", access_log=False
        )
        self.server = QuietServer(config)
        self.task: asyncio.Task[Any] | None = None

    async def healthz(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": self.rt.name})

    async def readyz(self, request: Request) -> JSONResponse:
        problem = await self.ready()
        body = {"status": "ready" if problem is None else "unavailable", "service": self.rt.name}
        if problem is not None:
            body["reason"] = problem
        return JSONResponse(body, status_code=200 if problem is None else 503)

    async def metrics(self, request: Request) -> Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.rt.metrics.refresh(self.rt), SCRAPE_TIMEOUT_S)
        return metrics_response(self.rt.metrics.exposition())

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()  # it could not listen: say why
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await self.task
