"""Observability as an operator's Prometheus and Kubernetes see it: a service's own port answers
/healthz, /readyz and /metrics (messages it handled, refusals by code, the outbox and its consumers'
backlog, its store's last write), and the gateway's /metrics times requests by route and counts
GraphQL errors by code, with no token, text or personal data in any series."""
from __future__ import annotations

import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cases_gateway import IN_A1, R1, report, report_input, start_cases_stack
from tests.infra import free_port

REPORT = "mutation($input: ReportCaseInput!) { reportCase(input: $input) { id } }"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels (the parser checks the format)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    hits = [v for (n, ls), v in found.items() if n == name and set(labels.items()) <= set(ls)]
    assert hits, f"no sample {name} {labels}; have {sorted({n for n, _ in found})}"
    return sum(hits)


@pytest.fixture
async def observed(stack):
    port = free_port()
    await start_cases_stack(stack, service_http_port=port)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield http


async def test_a_service_says_it_is_healthy_ready_and_what_it_handled(observed: httpx.AsyncClient, stack):
    assert (await observed.get("/healthz")).json() == {"status": "ok", "service": "cases"}
    ready = await observed.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    await report(stack, R1, IN_A1, reporterPhone="13812345678")
    bad = await stack.gql(REPORT, {"input": report_input(IN_A1, categoryCode="NO_SUCH")}, **R1)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    got = await observed.get("/metrics")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/plain")
    found = samples(got.text)
    # FastStream's middleware: the report verb's request was received and processed
    assert value(found, "yiwang_received_messages_total", handler="yiwang.cases.case.report") >= 2
    assert value(found, "yiwang_received_processed_messages_duration_seconds_count") >= 2
    assert value(found, "yiwang_rpc_errors_total", verb="case.report", code="BAD_INPUT") == 1
    assert value(found, "yiwang_store_write_age_seconds") >= 0
    assert value(found, "yiwang_outbox_backlog") >= 0
    assert value(found, "yiwang_dead_letters") == 0
    # a dead letter of this service's consumer shows (one of another service's does not)
    nc = await nats.connect(stack.settings.nats_url)
    try:
        for subject in ("yiwang.dlq.cases.territory", "yiwang.dlq.grids.x"):
            await nc.jetstream().publish(subject, b"{}")
    finally:
        await nc.close()
    assert value(samples((await observed.get("/metrics")).text), "yiwang_dead_letters") == 1
    assert [n for (n, ls) in found if n == "yiwang_consumer_pending"]  # one series per durable consumer
    handlers = {dict(ls).get("handler") for (n, ls) in found if n == "yiwang_received_messages_total"}
    assert "yiwang.evt.grids.REGION_CREATED" in handlers  # events by type, never by region path
    assert not [h for h in handlers if h and (h.count(".") > 4 or h.startswith("_INBOX."))], handlers
    assert "13812345678" not in got.text and "Bearer" not in got.text


async def test_the_gateway_times_requests_and_counts_errors_by_code(observed: httpx.AsyncClient, stack):
    await stack.gql(REPORT, {"input": report_input(IN_A1, categoryCode="NO_SUCH")}, **R1)
    await stack.gql("{ nope }", **R1)
    await stack.http.get("/healthz")
    got = await stack.http.get("/metrics")
    assert got.status_code == 200
    found = samples(got.text)
    assert value(found, "yiwang_http_request_duration_seconds_count", route="/graphql", method="POST",
                 status="200") >= 2
    assert value(found, "yiwang_http_request_duration_seconds_count", route="/healthz") >= 1
    assert value(found, "yiwang_graphql_errors_total", code="BAD_USER_INPUT") >= 1
    assert value(found, "yiwang_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") >= 1
    assert "nope" not in got.text
