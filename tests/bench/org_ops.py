"""Organisations through the gateway on the demo city: the county overview's organisation
figures, a member list, and member registration from C concurrent clients (real stack).

Run against a running `make run` stack (demo data loaded):
    .venv/bin/python -m tests.bench.org_ops --clients 10 --members 500
Prints JSON with throughput and p50/p95/p99 per operation. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx

from shared.identity import settings_token
from shared.settings import get_settings
from tests.bench.report_latency import pct

OVERVIEW = '{ overview(regionId: "demo-k0") { organizations { organizationCount memberCount branchCoverage } } }'
MEMBERS = '{ partyMembers(regionId: "demo-k0t0m0", first: 20) { totalCount edges { node { id name phone } } } }'
REGISTER = """mutation($i: RegisterPartyMemberInput!) { registerPartyMember(input: $i) { id } }"""
GRID_ORG = '{ partyOrganizations(regionId: "demo-k0t0m0g0", type: GRID_BRANCH) { edges { node { id } } } }'


def summary(latencies: list[float], wall: float, errors: int) -> dict:
    return {"n": len(latencies), "errors": errors, "throughput_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1), "p95_ms": round(pct(latencies, 95) * 1000, 1),
            "p99_ms": round(pct(latencies, 99) * 1000, 1)}


async def timed(http: httpx.AsyncClient, body: dict, out: list[float]) -> bool:
    t = time.perf_counter()
    r = await http.post("/graphql", json=body)
    out.append(time.perf_counter() - t)
    return r.status_code == 200 and not r.json().get("errors")


async def sequential(http: httpx.AsyncClient, query: str, n: int) -> dict:
    lat: list[float] = []
    t0 = time.perf_counter()
    errors = sum([not await timed(http, {"query": query}, lat) for _ in range(n)])
    return summary(lat, time.perf_counter() - t0, errors)


async def run(url: str, clients: int, members: int, reads: int) -> dict:
    s = get_settings()
    token = settings_token(s, sub="bench-admin", role="admin", region="demo-k0")
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        org_id = (await http.post("/graphql", json={"query": GRID_ORG})).json()[
            "data"]["partyOrganizations"]["edges"][0]["node"]["id"]
        out = {"overview_county_organizations": await sequential(http, OVERVIEW, reads),
               "party_members_page": await sequential(http, MEMBERS, reads)}
        lat: list[float] = []
        errors = 0
        counter = iter(range(members))
        run_id = int(time.time())

        async def client() -> None:
            nonlocal errors
            for i in counter:
                ok = await timed(http, {"query": REGISTER, "variables": {"i": {
                    "name": "测试党员", "gender": "MALE", "birthDate": "1980-01-01", "joinDate": "2005-07-01",
                    "phone": "13700000000", "category": "RETIRED", "organizationId": org_id,
                    "idempotencyKey": f"bench-{run_id}-{i}"}}}, lat)
                errors += not ok

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        out[f"register_member_{clients}_clients"] = summary(lat, time.perf_counter() - t0, errors)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--members", type=int, default=500)
    ap.add_argument("--reads", type=int, default=300)
    a = ap.parse_args()
    print(json.dumps(asyncio.run(run(a.url, a.clients, a.members, a.reads)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
