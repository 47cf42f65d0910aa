"""A trace of `reportCase` as a collector would receive it: the gateway's operation span, its
request to the cases service (context in the NATS `traceparent` header), the service's span for
the message, and the store commands under it, all one trace; and log lines carry its id. The
spans name operations, verbs and collections, never a variable or a document."""
from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

from shared.logs import JsonLines
from tests.cases_gateway import IN_A1, R1, report_input, start_cases_stack
from tests.infra import make_settings


class Switch(Sampler):
    """Records while the test runs; afterwards this process's later tests make no spans (a
    process has one global tracer provider for good)."""

    on = True

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None):
        return SamplingResult(Decision.RECORD_AND_SAMPLE if self.on else Decision.DROP, attributes)

    def get_description(self) -> str:
        return "test switch"


@pytest.fixture
def spans():
    exporter, switch = InMemorySpanExporter(), Switch()
    provider = TracerProvider(sampler=switch)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    if trace.get_tracer_provider() is not provider:
        pytest.fail("another test set this process's tracer provider first")
    PymongoInstrumentor().instrument(tracer_provider=provider)
    yield exporter
    switch.on = False
    PymongoInstrumentor().uninstrument()
    exporter.clear()


@pytest.fixture
def settings(nats_server, mongo_server):
    # traces on (nothing exports to this address: the test's provider keeps the spans)
    return make_settings(nats_server.port, mongo_server.port, otlp_endpoint="http://127.0.0.1:9/v1/traces")


async def test_report_case_is_one_trace_from_the_gateway_to_the_store(spans, stack, caplog):
    await start_cases_stack(stack)
    spans.clear()
    doc = "mutation Report($input: ReportCaseInput!) { reportCase(input: $input) { id } }"
    with caplog.at_level(logging.INFO):
        body = await stack.gql(doc, {"input": report_input(IN_A1, reporterPhone="13812345678")}, **R1)
    assert not body.get("errors"), body
    finished = spans.get_finished_spans()
    names = sorted({s.name for s in finished})
    assert "graphql Report" in names, names
    (operation,) = [s for s in finished if s.name == "graphql Report"]
    assert operation.attributes["graphql.operation.type"] == "mutation"
    in_trace = [s for s in finished if s.context.trace_id == operation.context.trace_id]
    by_id = {s.context.span_id: s for s in in_trace}

    def ancestors(s):
        while s.parent is not None and s.parent.span_id in by_id:
            s = by_id[s.parent.span_id]
            yield s

    (request,) = [s for s in in_trace if s.name == "cases case.report"]
    assert operation in ancestors(request) and request.kind is trace.SpanKind.CLIENT
    handled = [s for s in in_trace if s.kind is trace.SpanKind.CONSUMER and request in ancestors(s)]
    assert handled, sorted(s.name for s in in_trace)
    store = [s for s in in_trace if s.attributes.get("db.system") == "mongodb" and handled[0] in ancestors(s)]
    assert store, sorted((s.name, dict(s.attributes)) for s in in_trace)
    text = json.dumps([{"name": s.name, **dict(s.attributes)} for s in in_trace], ensure_ascii=False, default=str)
    assert "13812345678" not in text and "张三" not in text and "reporterName" not in text
    # a log line written inside a span names its trace
    with trace.get_tracer("test").start_as_current_span("a step") as span:
        record = logging.LogRecord("yiwang.test", logging.INFO, __file__, 1, "within", None, None)
        line = json.loads(JsonLines("test").format(record))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
