"""What durability costs the embedded store, measured side by side in one run.

Two scratch SecantusDB servers are started from `shared.embedded.mongo_command`, one as the
platform runs it (`durable=True`: `--sync-on-commit`, every commit's log record written and
fsynced before the commit returns) and one without (`durable=False`: the log record stays
in the server's log buffer until WiredTiger writes it; a `kill -9` loses what is there). Each
gets the same load in alternating slices (A, B, A, B, …), so a machine that is busier in one
moment than the next skews both alike: only the ratio between them means something on a
shared machine.

The load: C concurrent loops, each a transaction of two inserts (the shape of the platform's
writes: a session, `with_transaction`, one client-level `bulkWrite` with two documents of
~1 KB and the commit), as many as fit in the slice.

    .venv/bin/python -m tests.bench.store_sync [--clients 16] [--seconds 20] [--slices 4]

`make bench` runs it too (the `store_sync` entry of its JSON).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, InsertOne

from shared.embedded import free_port, mongo_command, wait_mongo

PAD = "x" * 1000


async def _slice(uri: str, clients: int, seconds: float, tag: str) -> tuple[int, list[float]]:
    client = AsyncMongoClient(uri, w="majority", journal=True)
    coll = f"bench.t_{tag}"
    done, latencies = 0, []

    async def loop(c: int, deadline: float) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            i += 1
            t = time.perf_counter()
            async with client.start_session(causal_consistency=False) as s:
                async def body(s: Any) -> None:
                    await client.bulk_write([InsertOne({"c": c, "i": i, "pad": PAD}, namespace=coll),
                                             InsertOne({"c": c, "i": i, "k": 2, "pad": PAD}, namespace=coll)],
                                            session=s, ordered=True)

                await s.with_transaction(body)
            latencies.append(time.perf_counter() - t)
            done += 1

    try:
        await loop(-1, time.perf_counter() + 0.5)  # warm-up: connections, the collection
        done, latencies = 0, []
        t0 = time.perf_counter()
        await asyncio.gather(*(loop(c, t0 + seconds) for c in range(clients)))
        return done, latencies
    finally:
        await client.close()


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


async def sync_cost(clients: int = 16, seconds: float = 20.0, slices: int = 4) -> dict[str, Any]:
    """Two-insert transactions per second with and without per-commit sync, and the ratio."""
    root = Path(tempfile.mkdtemp(prefix="yiwang-store-sync-"))
    procs: dict[str, subprocess.Popen] = {}
    uris: dict[str, str] = {}
    try:
        for name, durable in (("sync", True), ("nosync", False)):
            port = free_port()
            (root / name).mkdir()
            procs[name] = subprocess.Popen(mongo_command(port, root / name, durable=durable),
                                           stdout=open(root / f"{name}.log", "ab"), stderr=subprocess.STDOUT)
            uris[name] = f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
        for uri in uris.values():
            await wait_mongo(uri, timeout=120)
        totals = {name: [0, 0.0, []] for name in uris}  # count, seconds, latencies
        per_slice = seconds / slices
        for k in range(slices):
            order = ("sync", "nosync") if k % 2 == 0 else ("nosync", "sync")
            for name in order:
                n, lat = await _slice(uris[name], clients, per_slice, f"{k}")
                totals[name][0] += n
                totals[name][1] += per_slice
                totals[name][2].extend(lat)
        out: dict[str, Any] = {"clients": clients, "seconds_each": seconds, "slices": slices}
        for name, (n, secs, lat) in totals.items():
            out[name] = {"transactions": n, "per_s": round(n / secs, 1),
                         "p50_ms": round(_pct(lat, 50) * 1000, 1), "p99_ms": round(_pct(lat, 99) * 1000, 1)}
        out["ratio_sync_to_nosync"] = round(out["sync"]["per_s"] / out["nosync"]["per_s"], 3) \
            if out["nosync"]["per_s"] else None
        return out
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0, help="load per server, split into slices")
    ap.add_argument("--slices", type=int, default=4)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(sync_cost(args.clients, args.seconds, args.slices)), indent=2))


if __name__ == "__main__":
    main()
