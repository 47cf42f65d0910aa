"""The benchmark's ratios to the raw rates, and the loader's rate read from the seed's output."""
from __future__ import annotations

from tests.bench.ratios import RATIOS, ratios_to_raw
from tests.bench.stack import SEED_PART, loader_rate


def a_run() -> dict:
    return {
        "report_only": {"throughput_per_s": 36.0, "p50_ms": 400.0},
        "ceilings": {"nats_rr": {"throughput_per_s": 4000.0, "p50_ms": 2.0},
                     "mongo_report_writes": {"reports_per_s": 40.0}},
        "raw_rates": {"store": {"txn_two_inserts": {"throughput_per_s": 240.0, "p50_ms": 50.0},
                                "bulk_insert": {"documents_per_s": 3000.0}},
                      "js_publish": {"p50_ms": 2.5}},
        "service_requests": {"throughput_per_s": 1000.0, "p50_ms": 8.0},
        "event_publication": {"made_to_stream": {"p50_ms": 25.0}, "reply_to_stream": {"p50_ms": -1.0}},
        "loader": {"records_per_s": 600.0},
    }


def test_each_figure_is_divided_by_the_raw_rate_it_is_built_from():
    r = ratios_to_raw(a_run())
    assert set(r) == {x.name for x in RATIOS}
    assert r["report_throughput_vs_raw_txn"]["value"] == 0.15  # 36 ÷ 240
    assert r["report_throughput_vs_write_ceiling"]["value"] == 0.9  # 36 ÷ 40
    assert r["loader_vs_raw_bulk_insert"]["value"] == 0.2  # 600 ÷ 3000
    assert r["service_request_throughput_vs_nats_rr"]["value"] == 0.25
    assert r["service_request_p50_vs_nats_rr_p50"]["value"] == 4.0
    assert r["event_publication_p50_vs_js_publish_p50"]["value"] == 10.0
    assert r["event_after_reply_p50_vs_js_publish_p50"]["value"] == -0.4  # published before the reply arrived
    assert r["report_p50_vs_raw_txn_p50"] == {"value": 8.0, "figure": 400.0, "raw": 50.0, "kind": "latency",
                                              "what": r["report_p50_vs_raw_txn_p50"]["what"]}


def test_a_ratio_needs_both_figures_and_a_raw_rate_above_zero():
    run = a_run()
    del run["loader"]  # no seed in this run (--data, --skip-seed)
    run["raw_rates"]["store"]["txn_two_inserts"]["throughput_per_s"] = 0
    run["service_requests"]["p50_ms"] = None  # every request failed
    r = ratios_to_raw(run)
    assert "loader_vs_raw_bulk_insert" not in r
    assert "service_request_p50_vs_nats_rr_p50" not in r
    assert r["report_throughput_vs_raw_txn"]["value"] is None
    assert ratios_to_raw({}) == {}


def test_the_loaders_rate_is_its_records_over_the_whole_seed():
    lines = ["seed: loading the small demo", "seed: territory: 120 regions and grid workers in 12.5s",
             "seed: territory 3/10 regions; party 2/3 organisations (15s)",
             "seed: case history: 5000 cases in 40s", "seed: 党员联户: 12 communities in 1.0s",
             "seed: loaded 青川市 with 7 districts and counties: 16 streets (in 100s)"]
    parts = {}
    for line in lines:
        if m := SEED_PART.match(line):
            parts[m["name"]] = {"count": int(m["count"]), "unit": m["unit"], "seconds": float(m["seconds"])}
    assert list(parts) == ["territory", "case history", "党员联户"]
    rate = loader_rate(parts, 51.2)
    assert rate["records"] == 5120  # places ("communities") are not records
    assert rate["records_per_s"] == 100.0
    assert loader_rate({}, 0)["records_per_s"] is None
