"""Volunteers through the gateway on the demo city: races that must have one winner (10
volunteers grabbing each open order), redemptions racing on one balance, and the community
overview's volunteer figures.

Run against a running `make run` stack (demo data loaded):
    .venv/bin/python -m tests.bench.volunteer_ops --orders 50
Prints JSON; checks the outcome of every race (one taker per order, balance never below zero)
and reports its latency. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx

from shared.identity import settings_token
from shared.settings import get_settings
from tests.bench.org_ops import sequential, summary

COMMUNITY, BUILDING = "demo-k0t0m1", "demo-k0t0m1g0b0"
PLACE = """mutation($i: PlaceServiceOrderInput!) { placeServiceOrder(input: $i) { id } }"""
REVIEW = """mutation($id: ID!) { reviewServiceOrder(id: $id, approve: true) { status } }"""
TAKE = """mutation($id: ID!) { takeServiceOrder(id: $id) { status } }"""
OVERVIEW = '{ overview(regionId: "%s") { volunteers { volunteerCount openOrders serviceHours } } }' % COMMUNITY


async def run(url: str, orders: int) -> dict:
    s = get_settings()

    def client(role: str, sub: str, region: str | None = None) -> httpx.AsyncClient:
        token = settings_token(s, sub=sub, role=role, region=region)
        return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    async def gql(c: httpx.AsyncClient, q: str, v: dict | None = None) -> dict:
        return (await c.post("/graphql", json={"query": q, "variables": v or {}})).json()

    resident, office = client("resident", "bench-res"), client("operator", "bench-office", COMMUNITY)
    vols = [client("volunteer", f"bench-vol-{i}", COMMUNITY) for i in range(10)]
    run_id = int(time.time())
    for i, c in enumerate(vols):  # registered once; a repeat is refused (CONFLICT) and ignored
        await gql(c, """mutation($i: RegisterVolunteerInput!) { registerVolunteer(input: $i) { id } }""",
                  {"i": {"name": f"压测志愿者{i}", "homeRegionId": COMMUNITY}})
    ids = []
    for i in range(orders):
        body = await gql(resident, PLACE, {"i": {"category": "助老", "description": "压测", "buildingId": BUILDING,
                                                 "idempotencyKey": f"bench-{run_id}-{i}"}})
        oid = body["data"]["placeServiceOrder"]["id"]
        await gql(office, REVIEW, {"id": oid})
        ids.append(oid)
    lat: list[float] = []
    winners = []

    async def grab(c: httpx.AsyncClient, oid: str) -> bool:
        t = time.perf_counter()
        body = await gql(c, TAKE, {"id": oid})
        lat.append(time.perf_counter() - t)
        return not body.get("errors")

    t0 = time.perf_counter()
    for oid in ids:
        results = await asyncio.gather(*(grab(c, oid) for c in vols))
        winners.append(sum(results))
    out = {"grab_10_volunteers_per_order": summary(lat, time.perf_counter() - t0, 0),
           "orders_with_exactly_one_taker": sum(w == 1 for w in winners), "orders": len(ids),
           "overview_community_volunteers": await sequential(office, OVERVIEW, 200)}
    for c in (resident, office, *vols):
        await c.aclose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--orders", type=int, default=50)
    a = ap.parse_args()
    print(json.dumps(asyncio.run(run(a.url, a.orders)), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
