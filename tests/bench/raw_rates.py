"""The raw rates of what the platform is built from, measured on the stack's own servers.

`ceilings.mongo_report_writes` shows how close the platform comes to the writes its design
chose; these show how close that design comes to what the store and the bus can do. Every
one is C concurrent loops (C = the workload's `--clients`) for N seconds (`--ceiling-seconds`),
after a warm-up of a second or so that is not counted; each gives its count, errors,
throughput a second and its p50/p95/p99 latency (each call, timed around the call alone).

The store: the stack's own SecantusDB (started with the durability the platform ships with,
`--sync-on-commit`, `shared/embedded.py`), reached as the services reach it: the settings' URI
(`directConnection=true&retryWrites=false`), the platform's client (`shared.mongo.make_client`:
`w: majority, j: true`). Into a scratch database, dropped afterwards; the collections have no
index but `_id` unless said. The documents are a case as the cases service writes it
(`ceilings.templates`, `case_doc`: ~1.7 KB of BSON, each with an `_id` of its own) and, for the
second write of a transaction, its CASE_REPORTED outbox entry (~1 KB):

  `insert_one`       one case per call.
  `txn_two_inserts`  one transaction per call, as the services run theirs (`Transactor`: a
                     session without causal consistency, kept by its loop, `with_transaction`):
                     `insert_one` of the case into `cases`, `insert_one` of its event into
                     `outbox`, the commit (fsynced by `--sync-on-commit`).
  `bulk_insert`      `insert_many` of 1,000 cases, `ordered=False`, per call (the batch is built
                     before the timer starts); `documents_per_s` and `batches_per_s`.
  `point_read`       `find_one({key: k})` on an indexed field, k at random, over a collection
                     pre-filled with 20,000 cases (by `insert_many` batches before the clock;
                     `prefill_s` says how long that took).
  `inc_upsert`       `update_one({_id: k}, {$inc: {...4 counters}}, upsert=True)`, k at random
                     among 300 keys: the shape of a rollup's write, without its transaction.

The bus: the stack's own nats-server (JetStream with `sync_interval: always`):

  `js_publish`       publish with ack of a CASE_REPORTED envelope (~1 KB of JSON, with a
                     `Nats-Msg-Id` as the outbox relay sends) to a scratch stream configured as
                     the platform's are (`shared.messaging.streams.stream_config`: file storage,
                     limits retention, the duplicate window), deleted afterwards; each loop
                     waits for its ack before the next publish.

Raw NATS request-reply is `ceilings.nats_rr`. `tests/bench/ratios.py` divides the platform's
figures by these.

    .venv/bin/python -m tests.bench.raw_rates [--clients 16] [--seconds 5]   # scratch servers of its own
    .venv/bin/python -m tests.bench.raw_rates --mongo URI --nats URL          # servers already running
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import bson
import nats

from tests.bench.ceilings import nats_rr, summary, templates

# name → what the table calls it
STORE_RATES = {"insert_one": "insert_one", "txn_two_inserts": "two-insert txn", "bulk_insert": "insert_many 1,000",
               "point_read": "indexed find_one", "inc_upsert": "$inc upsert"}
BULK = 1_000
PREFILL = 20_000
KEYS = 300
PATH = ["bench-city", "bench-district", "bench-street", "bench-community", "bench-grid"]
GRID = {"path": PATH, "points": [(116.40, 39.90), (116.41, 39.91)]}


def samples() -> tuple[dict[str, Any], dict[str, Any]]:
    """A case document and its CASE_REPORTED outbox entry, as the cases service writes them."""
    t = templates([GRID], 1)[0]
    event = {k: v for k, v in t["events"][0].items() if k != "_id"}
    return t["case"], event


async def timed(clients: int, seconds: float, prepare: Callable[[int], Any],
                call: Callable[[int, Any], Awaitable[object]], warmup_s: float = 1.0) -> dict[str, Any]:
    """C loops of `prepare(c)` (untimed) then `call(c, prepared)` (timed), first for
    `warmup_s` uncounted, then for `seconds`."""
    latencies: list[float] = []
    errors, error_samples = 0, list[str]()

    async def loop(c: int, deadline: float, count: bool) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            arg = prepare(c)
            t = time.perf_counter()
            try:
                await call(c, arg)
            except Exception as e:  # noqa: BLE001 - counted, with a few samples
                if count:
                    errors += 1
                    if len(error_samples) < 3:
                        error_samples.append(f"{type(e).__name__}: {e}"[:200])
                await asyncio.sleep(0.01)
                continue
            if count:
                latencies.append(time.perf_counter() - t)

    warm = time.perf_counter() + warmup_s
    await asyncio.gather(*(loop(c, warm, False) for c in range(clients)))
    t0 = time.perf_counter()
    await asyncio.gather(*(loop(c, t0 + seconds, True) for c in range(clients)))
    wall = time.perf_counter() - t0
    out = {"concurrency": clients, **summary(latencies, len(latencies), errors, wall)}
    if error_samples:
        out["error_samples"] = error_samples
    return out


async def store_rates(uri: str, clients: int, seconds: float, prefill: int = PREFILL, keys: int = KEYS,
                      say: Callable[[str], None] = print) -> dict[str, Any]:
    """The store's raw rates (see the module's docstring), into a scratch database dropped afterwards."""
    from shared.mongo import make_client

    case, event = samples()
    ids = itertools.count()
    tag = f"{os.getpid()}x{int(time.time())}"
    client = make_client(uri, "bench-raw")
    name = f"bench_raw_{tag}"
    db = client[name]
    rnd = random.Random(21)

    def a_case(_: int) -> dict[str, Any]:
        return {**case, "_id": f"c{tag}x{next(ids)}"}

    async def insert_one(_: int, doc: dict[str, Any]) -> None:
        await db.cases.insert_one(doc)

    sessions: dict[int, Any] = {}
    retries = [0]  # transaction bodies run again (a write conflict), the warm-up's included

    def a_pair(c: int) -> tuple[dict[str, Any], dict[str, Any]]:
        doc = a_case(c)
        return doc, {**event, "_id": f"e{doc['_id']}", "aggregate": doc["_id"]}

    async def txn(c: int, pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
        if c not in sessions:
            sessions[c] = client.start_session(causal_consistency=False)
        s, runs = sessions[c], 0

        async def body(s: Any) -> None:
            nonlocal runs
            runs += 1
            await db.cases.insert_one(pair[0], session=s)
            await db.outbox.insert_one(pair[1], session=s)

        await s.with_transaction(body)
        retries[0] += runs - 1

    def a_batch(c: int) -> list[dict[str, Any]]:
        return [a_case(c) for _ in range(BULK)]

    async def bulk(_: int, docs: list[dict[str, Any]]) -> None:
        await db.bulk.insert_many(docs, ordered=False)

    async def point_read(_: int, k: int) -> None:
        if await db.points.find_one({"key": k}) is None:
            raise LookupError(f"key {k} not found")

    async def upsert(_: int, k: str) -> None:
        await db.rollups.update_one({"_id": k}, {"$inc": {"count": 1, "open": 1, "by_status.REPORTED": 1,
                                                          "by_category.ENV_GARBAGE": 1}}, upsert=True)

    out: dict[str, Any] = {"database": "scratch (dropped)", "write_concern": "w=majority, j=true (the platform's)",
                           "case_bytes": len(bson.encode(case)), "event_bytes": len(bson.encode(event)),
                           "clients": clients, "seconds_each": seconds}
    try:
        say(f"  raw insert_one, {clients} concurrent, {seconds:g}s ...")
        out["insert_one"] = await timed(clients, seconds, a_case, insert_one)
        say(f"  raw two-insert transaction, {clients} concurrent, {seconds:g}s ...")
        out["txn_two_inserts"] = {**await timed(clients, seconds, a_pair, txn),
                                  "retries_with_warmup": retries[0]}
        say(f"  raw insert_many of {BULK:,}, {clients} concurrent, {seconds:g}s ...")
        b = await timed(clients, seconds, a_batch, bulk)
        b |= {"batch": BULK, "batches_per_s": b["throughput_per_s"],
              "documents_per_s": round(b["count"] * BULK / b["seconds"], 1) if b["seconds"] else 0.0}
        out["bulk_insert"] = b
        await db.drop_collection("bulk")  # its documents would slow what follows
        say(f"  raw indexed find_one over {prefill:,} cases (filling them first), {clients} concurrent, "
            f"{seconds:g}s ...")
        await db.points.create_index("key")
        t = time.perf_counter()
        for start in range(0, prefill, BULK):
            await db.points.insert_many([{**a_case(0), "key": k} for k in range(start, min(prefill, start + BULK))],
                                        ordered=False)
        filled = time.perf_counter() - t
        out["point_read"] = {**await timed(clients, seconds, lambda _: rnd.randrange(prefill), point_read),
                             "documents": prefill, "prefill_s": round(filled, 1)}
        say(f"  raw $inc upsert over {keys} keys, {clients} concurrent, {seconds:g}s ...")
        out["inc_upsert"] = {**await timed(clients, seconds, lambda _: f"k{rnd.randrange(keys)}", upsert),
                             "keys": keys}
    finally:
        for s in sessions.values():
            await s.end_session()
        await client.drop_database(name)
        await client.close()
    return out


async def js_publish(url: str, clients: int, seconds: float, duplicate_window_s: float = 600.0) -> dict[str, Any]:
    """JetStream publish with ack to a scratch stream configured as the platform's are."""
    from shared.jsonutil import dumps
    from shared.messaging.streams import stream_config

    _, event = samples()
    payload = dumps(event["envelope"])
    tag = f"{os.getpid()}x{int(time.time())}"
    stream = f"BENCH_RAW_{tag}"
    subject = f"bench.raw.{tag}.cases.REPORTED." + ".".join(PATH)
    config = dataclasses.replace(stream_config("cases", duplicate_window_s), name=stream,
                                 subjects=[f"bench.raw.{tag}.>"], description="the benchmark's scratch stream",
                                 max_age=3600)
    nc = await nats.connect(url, name="bench-raw-publish")
    js = nc.jetstream()
    ids = itertools.count()
    try:
        await js.add_stream(config)

        async def publish(_: int, msg_id: str) -> None:
            await js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})

        out = await timed(clients, seconds, lambda _: f"e{tag}x{next(ids)}", publish)
        return {**out, "payload_bytes": len(payload), "stream": "file storage, as the platform's (deleted)"}
    finally:
        try:
            await js.delete_stream(stream)
        finally:
            await nc.close()


# -- alone: scratch servers of its own ----------------------------------------------------------
async def alone(args: argparse.Namespace) -> dict[str, Any]:
    from shared.embedded import free_port, mongo_command, nats_command, wait_mongo, wait_nats

    procs: list[subprocess.Popen] = []
    root = Path(tempfile.mkdtemp(prefix="yiwang-raw-rates-"))
    try:
        mongo, url = args.mongo, args.nats
        if not mongo:
            port = free_port()
            procs.append(subprocess.Popen(mongo_command(port, root, durable=True),
                                          stdout=open(root / "mongo.log", "ab"), stderr=subprocess.STDOUT))
            mongo = f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
        if not url:
            port = free_port()
            procs.append(subprocess.Popen(nats_command(port, root), stdout=open(root / "nats.log", "ab"),
                                          stderr=subprocess.STDOUT))
            url = f"nats://127.0.0.1:{port}"
        await wait_mongo(mongo, timeout=120)
        await wait_nats(url, timeout=60)
        out: dict[str, Any] = {"servers": "scratch, as `yiwang up` starts them" if not (args.mongo or args.nats)
                               else {"mongo": mongo, "nats": url}}
        print(f"raw NATS request-reply, {args.clients} concurrent, {args.seconds:g}s ...", flush=True)
        out["nats_rr"] = await nats_rr(url, args.clients, args.seconds)
        print(f"raw JetStream publish, {args.clients} concurrent, {args.seconds:g}s ...", flush=True)
        out["js_publish"] = await js_publish(url, args.clients, args.seconds)
        out["store"] = await store_rates(mongo, args.clients, args.seconds, args.prefill,
                                         say=lambda m: print(m.strip(), flush=True))
        return out
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=5.0, help="each rate's length (default 5)")
    ap.add_argument("--prefill", type=int, default=PREFILL, help=f"cases under the point reads (default {PREFILL:,})")
    ap.add_argument("--mongo", help="a running store's URI (default: start a scratch SecantusDB, --sync-on-commit)")
    ap.add_argument("--nats", help="a running nats-server's URL (default: start a scratch one)")
    print(json.dumps(asyncio.run(alone(ap.parse_args())), indent=2))


if __name__ == "__main__":
    main()
