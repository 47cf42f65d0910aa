"""How long seeding households takes: `python -m tests.bench.households_seed [--scale small|city] [--share F]
[--buildings N]`. Starts NATS, SecantusDB and the grids service on free ports in a temp dir, loads the
territory of the scale (down to `--buildings` buildings, all by default), then times the households phase
of the seed (ops/cli/seed_households.py through `household.import`) and prints households a second, and
what the whole scale's households would take at that rate. The store is the limit, so this is the phase
without the other parts of the seed running beside it."""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import nats

from ops.cli.progress import Progress
from ops.cli.seed import Loader, city_plan, load_territory, small_plan
from ops.cli.seed_households import load_households, plan_households
from shared.auth import service_token
from shared.messaging.rpc import RpcClient
from tests.infra import Stack, make_settings, start_mongo, start_nats


async def main(args: argparse.Namespace) -> None:
    plan = small_plan() if args.scale == "small" else city_plan()
    today = datetime.now(UTC).date()
    everything = len(plan_households(plan, today, share=args.share))  # before the stack: it takes a while
    if args.buildings:
        plan.levels[5] = plan.levels[5][: args.buildings]
    with tempfile.TemporaryDirectory() as tmp:
        nats_server, mongo = start_nats(Path(tmp) / "nats"), start_mongo(Path(tmp) / "mongo")
        stack = Stack(make_settings(nats_server.port, mongo.port))
        try:
            await stack.start_service("grids")
            nc = await nats.connect(stack.settings.nats_url)
            token = service_token(stack.settings.jwt_secret, "bench", stack.settings.jwt_issuer)
            async with Progress(print, 15.0) as progress:
                loader = Loader(RpcClient(nc, timeout_s=120), token, progress)
                await loader.phase("territory", sum(map(len, plan.levels)), "regions",
                                   lambda tick: load_territory(loader, plan.levels, plan.prefix, tick))
                items = plan_households(plan, today, share=args.share)
                started = time.monotonic()
                await loader.phase("households", len(items), "households",
                                   lambda tick: load_households(loader, items, tick))
                took = time.monotonic() - started
            rate = len(items) / took
            print(f"[bench] {len(items)} households in {took:.1f}s: {rate:.0f} a second; "
                  f"the {args.scale} scale's {everything} would take about {everything / rate / 60:.1f} min")
            await nc.close()
        finally:
            for rt in list(stack.runtimes):
                await stack.stop_service(rt)
            nats_server.stop()
            mongo.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", choices=("small", "city"), default="small")
    p.add_argument("--share", type=float, default=None, help="of each building's households (default: the scale's)")
    p.add_argument("--buildings", type=int, default=0, help="only the first N buildings (0: all)")
    asyncio.run(main(p.parse_args()))
