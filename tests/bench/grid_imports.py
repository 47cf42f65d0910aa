"""How fast grid work loads: `python -m tests.bench.grid_imports [--scale small|city] [--buildings N]
[--profile] [--live]`. Starts NATS, SecantusDB and the grids service on free ports in a temp dir, loads the
territory of the scale (down to `--buildings` buildings), then the seed's households
(`household.import`) and their year of visits (`visit.import`), batch by batch, and prints each
phase's rate and the median time of a batch of 500. `--profile` adds where a batch's time went
(the import's steps, summed over the phase); `--live`, how long a grid worker's `visit.record` takes
while the visits load (the import's writes to the same ancestors' rollups). Checks at the end that
`yiwang replay grids` agrees."""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nats

from ops.cli.progress import Progress
from ops.cli.seed import Loader, city_plan, load_territory, small_plan
from ops.cli.seed_households import plan_households
from ops.cli.seed_visits import plan_visits
from shared.auth import service_token
from shared.messaging.rpc import RpcClient
from tests.infra import Stack, make_settings, start_mongo, start_nats

BATCH = 500
SPENT: dict[str, float] = defaultdict(float)
OPS: dict[str, int] = defaultdict(int)


def timed(owner: Any, name: str, label: str) -> None:
    """Sum the time spent in `owner.name` under `label` (an async method or function)."""
    fn = getattr(owner, name, None)
    if fn is None:  # an older version of the code
        return

    @functools.wraps(fn)
    async def wrapper(*a: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*a, **kw)
        finally:
            SPENT[label] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def by_collection(owner: Any, name: str) -> None:
    """Sum the time and the operations of `owner.name` (a collection's bulk write) per collection."""
    fn = getattr(owner, name)

    @functools.wraps(fn)
    async def wrapper(self: Any, ops: Any, *a: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(self, ops, *a, **kw)
        finally:
            label = f"{self.name}.{name} ({{}} ops)"
            SPENT[label] += time.perf_counter() - started
            OPS[label] += len(ops)

    setattr(owner, name, wrapper)


def profile() -> None:
    from pymongo.asynchronous.client_session import AsyncClientSession
    from pymongo.asynchronous.collection import AsyncCollection

    from services.grids import household_import as hi
    from services.grids.handlers import visit_plans as vp
    from services.grids.household_store import HouseholdStore
    from services.grids.store import GridStore
    from services.grids.store_links import LinkStore
    from shared import mongo

    for method in ("bulk_write", "insert_many"):
        by_collection(AsyncCollection, method)
    timed(vp.VisitPlans, "plan_import", "visits: plan (reads)")
    timed(GridStore, "bump_nodes", "rollups + day buckets")
    timed(LinkStore, "bump_visitor", "visits: per-visitor bumps")
    timed(HouseholdStore, "insert_many", "households: insert_many")
    timed(HouseholdStore, "add_rollups", "households: rollups")
    timed(hi, "run_hooks", "households: change hooks")
    timed(hi, "run_import_hooks", "households: batch hooks")
    timed(hi, "run_hooks_after_import", "households: change hooks")
    if hasattr(vp, "StagedCounts"):
        timed(vp.StagedCounts, "apply", "visits: staged counters applied")
    timed(mongo.UnitOfWork, "flush", "flush (outbox)")
    timed(AsyncClientSession, "commit_transaction", "commit")


async def batches(name: str, items: list[dict], send: Any, size: int = BATCH) -> list[Any]:
    times, replies = [], []
    started = time.monotonic()
    for i in range(0, len(items), size):
        t = time.monotonic()
        replies.append(await send(items[i : i + size]))
        times.append(time.monotonic() - t)
    took = time.monotonic() - started
    print(
        f"[bench] {name}: {len(items)} in {took:.1f}s, {len(items) / took:.0f} a second; "
        f"a batch of {size}: median {statistics.median(times):.2f}s "
        f"({size / statistics.median(times):.0f} a second), max {max(times):.2f}s over {len(times)} batches"
    )
    if SPENT:
        for label, s in sorted(SPENT.items(), key=lambda x: -x[1]):
            print(f"[bench]   {label.format(OPS.get(label, '')):44s} {s:7.2f}s  {100 * s / took:4.0f}%")
        SPENT.clear()
        OPS.clear()
    return replies


async def live_visits(loader: Loader, stack: Stack, h: dict, ids: dict[str, str]) -> list[float]:
    """A grid worker's visits recorded one after another while the import runs: each one's time."""
    token = stack.token("grid_worker", region=h["gridId"], sub="bench-live")
    took: list[float] = []
    n = 0
    try:
        while True:
            n += 1
            started = time.monotonic()
            payload = {
                "householdId": ids[h["key"]],
                "kind": "ROUTINE",
                "overrideReason": "bench",
                "idempotencyKey": f"live{n}",
            }
            await loader.call("grids", "visit.record", payload, token=token, timeout_s=300)
            took.append(time.monotonic() - started)
            await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        return took


async def main(args: argparse.Namespace) -> None:
    if args.profile:
        profile()
    plan = small_plan() if args.scale == "small" else city_plan()
    today = datetime.now(UTC).date()
    if args.buildings:
        plan.levels[5] = plan.levels[5][: args.buildings]
    with tempfile.TemporaryDirectory() as tmp:
        nats_server, mongo = start_nats(Path(tmp) / "nats"), start_mongo(Path(tmp) / "mongo")
        stack = Stack(make_settings(nats_server.port, mongo.port))
        try:
            rt = await stack.start_service("grids", visit_sweep_s=3600.0)
            nc = await nats.connect(stack.settings.nats_url)
            token = service_token(stack.settings.jwt_secret, "bench", stack.settings.jwt_issuer)
            async with Progress(print, 30.0) as progress:
                loader = Loader(RpcClient(nc, timeout_s=300), token, progress)
                await loader.phase(
                    "territory",
                    sum(map(len, plan.levels)),
                    "regions",
                    lambda tick: load_territory(loader, plan.levels, plan.prefix, tick),
                )
            households = plan_households(plan, today)

            async def import_households(batch: list[dict]) -> dict:
                return await loader.call("grids", "household.import", {"households": batch}, timeout_s=300)

            ids: dict[str, str] = {}
            for reply in await batches("household.import", households, import_households):
                ids |= reply["ids"]
            visits = plan_visits(plan, households, ids, today, ZoneInfo(stack.settings.timezone))
            visits.sort(key=lambda i: i["at"])  # as ops/cli/seed_visits.py loads them

            async def import_visits(batch: list[dict]) -> dict:
                return await loader.call("grids", "visit.import", {"items": batch}, timeout_s=300)

            live = asyncio.create_task(live_visits(loader, stack, households[0], ids)) if args.live else None
            await batches("visit.import", visits[: args.visits or None], import_visits, args.batch)
            if live:
                live.cancel()
                took = await live
                print(
                    f"[bench] visit.record meanwhile (one at a time, same city): {len(took)} visits, "
                    f"median {statistics.median(took):.2f}s, max {max(took):.2f}s"
                )
            from services.grids.replay import replay
            from services.grids.sweeper import VisitSweeper

            sweeper = next(h.__self__ for h in rt._shutdown if isinstance(getattr(h, "__self__", None), VisitSweeper))
            while await sweeper.sweep_once():  # what the imports left overdue, marked before the recount
                pass
            report = await replay(rt.db)
            print(f"[bench] replay grids: {'clean' if report.clean else report.differences[:5]}")
            await nc.close()
        finally:
            for r in list(stack.runtimes):
                await stack.stop_service(r)
            nats_server.stop()
            mongo.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=("small", "city"), default="small")
    p.add_argument("--buildings", type=int, default=300, help="only the first N buildings (0: all)")
    p.add_argument("--visits", type=int, default=10000, help="at most this many visits (0: all)")
    p.add_argument("--profile", action="store_true", help="where the time went")
    p.add_argument("--batch", type=int, default=BATCH, help="visits sent in one visit.import (at most 500; fewer to compare)")
    p.add_argument("--live", action="store_true", help="a grid worker records visits meanwhile: their latency")
    asyncio.run(main(p.parse_args()))
