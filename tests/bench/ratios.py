"""Each of the platform's figures as a ratio to the raw rate it is built from (pure: no I/O).

A throughput ratio is the platform's rate ÷ the raw rate (1: as fast as the bare store or
bus; the targets ask ≥ 0.5 of the two writes-bound ones); a latency ratio is the platform's
p50 ÷ the raw p50 (×: how many raw round trips' time it takes).
"""
from __future__ import annotations

from typing import Any, NamedTuple


class Ratio(NamedTuple):
    name: str
    kind: str  # "throughput" (figure ÷ raw, higher is better) or "latency" (figure p50 ÷ raw p50)
    figure: tuple[str, ...]  # path into the result
    raw: tuple[str, ...]
    what: str


RATIOS = (
    Ratio("report_throughput_vs_raw_txn", "throughput", ("report_only", "throughput_per_s"),
          ("raw_rates", "store", "txn_two_inserts", "throughput_per_s"),
          "gateway reports/s (report-only phase) ÷ raw two-insert transactions/s"),
    Ratio("report_throughput_vs_write_ceiling", "throughput", ("report_only", "throughput_per_s"),
          ("ceilings", "mongo_report_writes", "reports_per_s"),
          "gateway reports/s ÷ the same writes by bare PyMongo, reports/s"),
    Ratio("report_p50_vs_raw_txn_p50", "latency", ("report_only", "p50_ms"),
          ("raw_rates", "store", "txn_two_inserts", "p50_ms"),
          "reportCase p50 (report-only phase) ÷ raw two-insert transaction p50"),
    Ratio("loader_vs_raw_bulk_insert", "throughput", ("loader", "records_per_s"),
          ("raw_rates", "store", "bulk_insert", "documents_per_s"),
          "seeder records/s ÷ raw insert_many documents/s"),
    Ratio("service_request_throughput_vs_nats_rr", "throughput", ("service_requests", "throughput_per_s"),
          ("ceilings", "nats_rr", "throughput_per_s"),
          "service requests/s (ping through RpcClient) ÷ raw NATS request-replies/s"),
    Ratio("service_request_p50_vs_nats_rr_p50", "latency", ("service_requests", "p50_ms"),
          ("ceilings", "nats_rr", "p50_ms"), "service request p50 ÷ raw NATS request-reply p50"),
    Ratio("event_publication_p50_vs_js_publish_p50", "latency", ("event_publication", "made_to_stream", "p50_ms"),
          ("raw_rates", "js_publish", "p50_ms"),
          "event made → in the stream, p50 (report-only phase; the report's transaction included) "
          "÷ raw JetStream publish p50"),
    Ratio("event_after_reply_p50_vs_js_publish_p50", "latency", ("event_publication", "reply_to_stream", "p50_ms"),
          ("raw_rates", "js_publish", "p50_ms"),
          "reporter's reply → event in the stream, p50 (report-only phase; the commit came before the reply) "
          "÷ raw JetStream publish p50"),
)


def _at(result: dict[str, Any], path: tuple[str, ...]) -> float | None:
    v: Any = result
    for k in path:
        if not isinstance(v, dict):
            return None
        v = v.get(k)
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def ratios_to_raw(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """name → {value, figure, raw, kind, what} for every ratio whose two figures the run has
    (value None when the raw figure is 0)."""
    out: dict[str, dict[str, Any]] = {}
    for r in RATIOS:
        figure, raw = _at(result, r.figure), _at(result, r.raw)
        if figure is None or raw is None:
            continue
        digits = 3 if r.kind == "throughput" else 2
        out[r.name] = {"value": round(figure / raw, digits) if raw else None, "figure": figure, "raw": raw,
                       "kind": r.kind, "what": r.what}
    return out
