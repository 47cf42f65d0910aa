"""A service's runtime: FastStream app, Mongo, outbox relay, request-reply routes, consumers.

`ServiceRuntime(name, settings)` builds everything and connects nothing; the app's start
hooks connect, declare streams and indexes, and start the relay. Replicas share request
subjects through the queue group `<name>` and JetStream work through durable consumers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from faststream import FastStream
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig
from pymongo import IndexModel

from shared.auth import service_token
from shared.errors import BadInput, Unavailable
from shared.heap import freeze_long_lived
from shared.identity import Verifier
from shared.jsonutil import loads
from shared.limits import Bounds
from shared.messaging.consumer import EventHandler, prepare_consumer, register_consumer
from shared.messaging.envelope import CloudEvent
from shared.messaging.outbox import OutboxRelay
from shared.messaging.projector import Apply, OutboxProjector
from shared.messaging.rpc import Handler, Request, RpcClient, caller_gone, dispatch, fail
from shared.messaging.streams import ensure_streams
from shared.messaging.subjects import EVT, rpc_subject
from shared.metrics import ServiceHttp, ServiceMetrics
from shared.mongo import SessionLedger, Transactor, ensure_indexes, make_client, require_mongo_8
from shared.production import check_production
from shared.settings import Settings

Hook = Callable[[], Awaitable[None]]
REPLY_HEADROOM = 4096  # bytes of a reply's max_payload left for the headers FastStream adds
FAILED = b'{"ok":false'  # how a failed reply starts (shared.messaging.rpc.fail)
WRITABLE_WITHIN_S = 10.0  # a service whose last write is older than this is not ready (beats are 1 s apart)


def telemetry(settings: Settings) -> list[Any]:
    """FastStream's OpenTelemetry middleware when traces are on: a span per message, in the
    trace its sender's `traceparent` header names (shared/tracing.py)."""
    if not settings.otlp_endpoint:
        return []
    from faststream.opentelemetry.middleware import TelemetryMiddleware

    from shared.tracing import BOUNDED_TELEMETRY

    return [TelemetryMiddleware(settings_provider_factory=lambda msg: BOUNDED_TELEMETRY)]


def quiet_logger() -> logging.Logger:
    logger = logging.getLogger("yiwang.faststream")
    logger.setLevel(logging.WARNING)  # FastStream logs every message otherwise
    return logger


async def the_message(message: NatsMessage) -> NatsMessage:
    """The decoder every subscriber here uses: a handler is given the message itself (it reads
    the body and headers it needs). With it, and `apply_types=False`, FastStream neither
    decodes each body as JSON for nothing nor resolves the message through its dependency
    injection, whose context field fast-depends runs in a worker thread for every message (a
    thread hop per request, ~5% of a busy service's loop)."""
    return message


class ServiceRuntime:
    def __init__(self, name: str, settings: Settings):
        check_production(settings, f"the {name} service")
        self.name, self.settings = name, settings
        self.metrics = ServiceMetrics(name)  # Prometheus: handled messages, refusals, waiting work
        self.http: ServiceHttp | None = None  # /healthz, /readyz, /metrics on its own port, when set
        self.broker = NatsBroker(
            settings.nats_servers,
            logger=quiet_logger(),
            graceful_timeout=15,
            name=f"yiwang-{name}",
            max_reconnect_attempts=-1,
            apply_types=False,
            decoder=the_message,
            middlewares=[self.metrics.middleware, *telemetry(settings)],
        )
        self.verifier = Verifier(settings)  # people's tokens by the issuer's public keys
        self.mongo = make_client(settings.mongo_uri, f"yiwang-{name}")
        self.db = self.mongo[settings.db_name(name)]
        self.relay: OutboxRelay | None = None
        self.projectors: list[OutboxProjector] = []
        self.consumers: list[tuple[str, ConsumerConfig]] = []
        self._relay_nc: NatsClient | None = None
        # Its transactions run on these sessions (at most this many at once), which a successor
        # ends should this process die with one open.
        self.sessions = SessionLedger(self.db, size=settings.rpc_workers)
        self.transact = Transactor(
            self.mongo,
            self.db,
            on_commit=self._kick,
            fault=settings.fault,
            timeout_s=settings.txn_timeout_s,
            ledger=self.sessions,
        )
        self.indexes: dict[str, list[IndexModel]] = {}
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self.app = FastStream(self.broker, logger=quiet_logger())
        self.app.on_startup(self._on_startup)
        self.app.after_startup(self._after_startup)
        self.app.on_shutdown(self._on_shutdown)
        self.app.after_shutdown(self._after_shutdown)
        self.route("ping", self._ping)

    # -- wiring --------------------------------------------------------------------------
    def route(self, verb: str, handler: Handler) -> None:
        verifier = self.verifier
        bounds = Bounds(self.settings.json_max_depth, self.settings.rpc_max_string_length, self.settings.rpc_max_items)

        async def endpoint(message: NatsMessage) -> bytes:
            if caller_gone(message.headers):  # queued past its caller's patience: nobody will read it
                return fail(Unavailable("the caller stopped waiting before the request was served"))
            reply = await dispatch(handler, message.body, message.headers, verifier, bounds)
            if reply.startswith(FAILED):  # a refusal or a failure: counted by its code
                self.metrics.refused(verb, str(loads(reply).get("error", {}).get("code", "?")))
            limit = self.broker.config.connection_state.connection.max_payload - REPLY_HEADROOM
            if len(reply) > limit:  # would fail to publish, and the caller wait for its timeout
                reply = fail(
                    BadInput(
                        f"the answer would be {len(reply)} bytes, more than the message bus carries "
                        f"({limit}); ask for fewer items",
                        {"limit": "payload"},
                    )
                )
            return reply

        endpoint.__name__ = f"{self.name}_{verb}"
        # Requests run concurrently (nats-py runs one subscription's callbacks one after the
        # other): a verb that waits on a transaction must not hold up every request behind it.
        self.broker.subscriber(
            rpc_subject(self.name, verb),
            queue=self.name,
            title=endpoint.__name__,
            max_workers=self.settings.rpc_workers,
        )(endpoint)

    def routes(self, table: dict[str, Handler]) -> None:
        for verb, handler in table.items():
            self.route(verb, handler)

    def consume(self, source: str, name: str, handler: EventHandler, events: str = ">", max_workers: int = 1) -> None:
        self.consumers.append(
            register_consumer(
                self.broker,
                service=self.name,
                source=source,
                name=name,
                handler=handler,
                max_deliver=self.settings.max_deliver,
                events=events,
                ack_wait_s=self.settings.ack_wait_s,
                max_workers=max_workers,
            )
        )

    def broadcast(self, source: str, handler: EventHandler) -> None:
        """Every replica sees every event of `source` (core NATS, no queue group): for
        in-memory indexes that each replica keeps; they also resync from the store."""

        async def on_event(message: NatsMessage) -> None:
            await handler(CloudEvent.model_validate_json(message.body))

        on_event.__name__ = f"{self.name}_watch_{source}"
        # no_reply: these messages are JetStream publishes whose reply subject waits for the
        # stream's ack; an answer from here would race it and reach the publisher instead.
        self.broker.subscriber(f"{EVT}.{source}.>", title=on_event.__name__, no_reply=True)(on_event)

    def project(self, name: str, apply: Apply) -> OutboxProjector:
        """Fold every event this service commits into a read model, exactly once."""
        projector = OutboxProjector(
            self.transact, name, apply, self.settings.relay_poll_s, self.settings.projector_settle_s
        )
        self.projectors.append(projector)
        self.transact.projections = tuple(p.projection for p in self.projectors)
        return projector

    def on_start(self, hook: Hook) -> None:
        self._startup.append(hook)

    def on_stop(self, hook: Hook) -> None:
        self._shutdown.append(hook)

    @property
    def rpc(self) -> RpcClient:
        return RpcClient(self.broker.config.connection_state.connection, self.settings.rpc_timeout_s)

    def token(self) -> str:
        return service_token(self.settings.jwt_secret, self.name, self.settings.jwt_issuer)

    # -- lifecycle -----------------------------------------------------------------------
    def _kick(self) -> None:
        if self.relay:
            self.relay.kick()
        for p in self.projectors:
            p.kick()

    async def _ping(self, req: Request) -> dict:
        """Alive, and able to write: its session ledger's heartbeat, a write to its database
        every second (with the platform's write concern), succeeded recently."""
        if (problem := await self.not_ready()) is not None:
            raise Unavailable(problem, {"service": self.name})
        return {"service": self.name, "writable": True}

    async def not_ready(self) -> str | None:
        """Why the service cannot serve writes now, or None (its ping and its `/readyz`)."""
        age = self.sessions.writable_age()
        if age is None or age > WRITABLE_WITHIN_S:
            since = "never" if age is None else f"not for {age:.0f}s"
            return f"the {self.name} service cannot write to its database ({since})"
        return None

    async def _on_startup(self) -> None:
        await self.broker.connect()
        js = self.broker.config.connection_state.stream
        await ensure_streams(js, self.settings.duplicate_window_s, self.settings.stream_replicas)
        for stream, config in self.consumers:
            await prepare_consumer(js, stream, config)
        await require_mongo_8(self.mongo)
        await ensure_indexes(self.db, self.indexes)
        # Before serving: end the transactions a predecessor killed on this host left open.
        await self.sessions.start()
        # The relay has its own connection: on shutdown it publishes what in-flight handlers
        # committed after the broker's connection has drained and closed.
        self._relay_nc = await nats.connect(
            self.settings.nats_servers, name=f"yiwang-{self.name}-relay", max_reconnect_attempts=-1
        )
        self.relay = OutboxRelay(
            self.db, self._relay_nc.jetstream(), self.settings.relay_poll_s, name=f"{self.name}-relay"
        )
        for hook in self._startup:
            await hook()

    async def _after_startup(self) -> None:
        assert self.relay is not None
        self.relay.start()
        for p in self.projectors:
            p.start()
        if self.settings.service_http_port:
            self.http = ServiceHttp(self, self.settings.service_http_port, self.settings.http_host, self.not_ready)
            await self.http.start()
        freeze_long_lived()

    async def _on_shutdown(self) -> None:
        if self.http is not None:
            await self.http.stop()
        for hook in reversed(self._shutdown):
            await hook()

    async def _after_shutdown(self) -> None:
        # The broker has drained in-flight handlers; publish what they committed, then close.
        for p in self.projectors:
            await p.stop()
        if self.relay:
            await self.relay.stop()
        if self._relay_nc:
            await self._relay_nc.close()
        await self.sessions.stop()
        await self.mongo.close()

    async def start(self) -> None:
        """Start without signal handling (tests, embedding)."""
        await self.app.start()

    async def stop(self) -> None:
        await self.app.stop()
