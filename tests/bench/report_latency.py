"""Report latency through the gateway: N reports from C concurrent clients (HTTP, real stack).

Run against a running `make run` stack (demo data loaded):
    .venv/bin/python -m tests.bench.report_latency --clients 20 --reports 1000
Prints throughput and p50/p95/p99. A benchmark, not a test: it asserts nothing about speed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time

import httpx

from shared.identity import settings_token
from shared.settings import get_settings

REPORT = """mutation($i: ReportCaseInput!) { reportCase(input: $i) { id level } }"""
# Points spread over the demo city, whose grids tile 113.80-114.16 E, 30.80-30.92 N
# (ops/cli/demo.py); seeded, so every run reports the same places.
_rnd = random.Random(20261121)
POINTS = [(round(_rnd.uniform(113.8005, 114.1595), 6), round(_rnd.uniform(30.8005, 30.9195), 6)) for _ in range(5000)]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def run(url: str, clients: int, reports: int) -> dict:
    s = get_settings()
    latencies: list[float] = []
    errors = 0
    counter = iter(range(reports))
    run_id = int(time.time())

    async def client(c: int) -> None:
        nonlocal errors
        token = settings_token(s, sub=f"bench-resident-{c}", role="resident")
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            for i in counter:
                lng, lat = POINTS[i % len(POINTS)]
                body = {"query": REPORT, "variables": {"i": {
                    "title": "楼道杂物堆放", "categoryCode": "ENV_GARBAGE", "channel": "MINI_PROGRAM",
                    "reporterName": "测试居民", "reporterPhone": "13900000000", "lng": lng, "lat": lat,
                    "idempotencyKey": f"bench-{run_id}-{i}"}}}
                t = time.perf_counter()
                r = await http.post("/graphql", json=body)
                latencies.append(time.perf_counter() - t)
                if r.status_code != 200 or r.json().get("errors"):
                    errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    wall = time.perf_counter() - t0
    return {"clients": clients, "reports": reports, "errors": errors, "seconds": round(wall, 2),
            "throughput_per_s": round(reports / wall, 1),
            "p50_ms": round(pct(latencies, 50) * 1000, 1), "p95_ms": round(pct(latencies, 95) * 1000, 1),
            "p99_ms": round(pct(latencies, 99) * 1000, 1), "mean_ms": round(statistics.mean(latencies) * 1000, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=f"http://127.0.0.1:{get_settings().http_port}")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--reports", type=int, default=1000)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.clients, args.reports)), ensure_ascii=False))


if __name__ == "__main__":
    main()
