"""OpenTelemetry traces, on when `YIWANG_OTLP_ENDPOINT` names an OTLP/HTTP collector
(`http://collector:4318/v1/traces`): a GraphQL operation's span in the gateway, a client span per
request to a service with its context in the NATS headers (`traceparent`), the service's span
for the message (FastStream's `NatsTelemetryMiddleware`), and a span per store command under it
(the PyMongo instrumentation, which records the command's name and collection, never its
documents). Off, every call here costs a no-op.

`configure_tracing(process, settings)` in each process's `__main__` sets the global tracer
provider (batching, OTLP/HTTP) and instruments PyMongo; components take their tracer from the
global provider when they start, so tests install their own provider first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from faststream.nats.opentelemetry.provider import NatsTelemetrySettingsProvider
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from shared.messaging.subjects import bounded_subject

log = logging.getLogger("yiwang.tracing")
TRACER = "yiwang"


def configure_tracing(process: str, endpoint: str | None) -> bool:
    """The process's tracer provider exporting to `endpoint`, and store commands traced; False
    (and nothing set) without an endpoint."""
    if not endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"yiwang-{process}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    PymongoInstrumentor().instrument(tracer_provider=provider)
    log.info("traces go to %s", endpoint)
    return True


class BoundedNatsTelemetry(NatsTelemetrySettingsProvider):
    """FastStream's NATS span names by `bounded_subject` (its own: the full subject, one name per
    reply inbox and region path); the full subject stays an attribute."""

    __slots__ = ()

    def get_publish_destination_name(self, cmd: Any) -> str:
        return bounded_subject(super().get_publish_destination_name(cmd))

    def get_consume_destination_name(self, msg: Any) -> str:
        return bounded_subject(super().get_consume_destination_name(msg))


BOUNDED_TELEMETRY = BoundedNatsTelemetry()


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER)


@contextmanager
def client_span(name: str, headers: dict[str, str], **attributes: Any) -> Iterator[None]:
    """A span for a request this process sends, its context injected into `headers` (nothing,
    not even a no-op span, while no tracer provider is set)."""
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        yield
        return
    with tracer().start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes):
        propagate.inject(headers)
        yield


def trace_id() -> str | None:
    """The current trace's id (hex), for log lines; None outside a recorded span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
