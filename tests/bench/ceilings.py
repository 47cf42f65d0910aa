"""The stack's ceilings, measured on its own servers with no application code in the way.

`nats_rr`: raw NATS request-reply. A bare nats-py responder in a process of its own (as a
service is) answers a ~1.5 KB reply to a ~0.5 KB request carrying a bearer header (the size
of a gateway → service call); C concurrent requesters in this process call it for N seconds.

`mongo_report_writes`: the MongoDB-wire work one `reportCase` causes, done by bare PyMongo
(`AsyncMongoClient`) into a scratch database on the stack's server (dropped afterwards), with
the cases service's indexes (`services.cases.store.INDEXES` + `shared.mongo.KERNEL_INDEXES`).
Documents are built once, before the clock starts, by the service's own code (`Case.report`,
`case_doc`, `case_envelopes`, the outbox and queue shapes of `UnitOfWork.flush`), so each write
carries a document of the real size. The work is shaped as the service shapes it:

  C report loops (C = the workload's clients), each report one transaction (`CaseCommands.report`
  under `Transactor`: a session + `with_transaction`):
     - `idempotency.find_one({_id: key})`                        (`recall`)
     - `cases.find({category_code, near: cell, created_at >= now - dup_window}, DUPLICATE_FIELDS)`
       (`CaseStore.duplicate_candidates`: the cases whose 2×2 block of near cells holds the point's)
     - one client-level `bulkWrite`, ordered (`UnitOfWork.flush`): the case (`CaseStore.insert`),
       the idempotency record (`remember`), the event into the outbox and one projection-queue
       entry per projection
  one relay loop (`OutboxRelay.publish_pending`, no transaction), woken after each commit:
     - `outbox.find({published: false}).sort(oid).to_list(256)`
     - `outbox.update_many({_id: {$in: ids}}, {$set: {published, publishedAt}})`
  one projector loop (`OutboxProjector.project_pending`), woken after each commit, one
  transaction per batch:
     - `projection_queue.find({projection}).sort(oid).to_list(200)`
     - the projection's own writes, by the service's own `RollupProjection.apply` on the scratch
       database (a stub territory answers the grid's path): today the rollup `$inc` upserts per
       ancestor region, the day-bucket and hotspot-day upserts per ancestor region;
       whatever it writes when the code changes
     - `projection_queue.delete_many({_id: {$in: ids}})`

A report counts once its events are marked published and projected; the clock runs until the
loops have drained what was reported in the window. Left out: lease renewals (one per pass of
a loop), JetStream publication (not a MongoDB write; the NATS ceiling covers the bus), and the
consumers of cases events in other services (not part of the report's writes).

These two show how close the platform comes to the calls and writes its design chose. How
close that design comes to what the store and the bus can do is in `tests/bench/raw_rates.py`
(insert_one, a two-insert transaction, insert_many of 1,000, an indexed find_one, a `$inc`
upsert, JetStream publish, on the same servers); `tests/bench/ratios.py` divides each of the
platform's figures by the raw rate it is built from.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
from bson import ObjectId
from pymongo import AsyncMongoClient, InsertOne

ROOT = Path(__file__).resolve().parents[2]
NATS_REQUEST = b'{"regionId":"bench-region","first":20,"after":null,"filter":{"status":["REPORTED","ACCEPTED"]},' \
               b'"pad":"' + b"x" * 380 + b'"}'
NATS_REPLY = b'{"ok":true,"result":{"items":' + b'{"id":"c01m7ymeq39b6vc10k82gww","status":"REPORTED"},' * 28 + b'{}}}'


def pct(values: Sequence[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(latencies: list[float], count: int, errors: int, wall: float, unit: str = "per_s") -> dict[str, Any]:
    out: dict[str, Any] = {"count": count, "errors": errors, "seconds": round(wall, 2),
                           f"throughput_{unit}": round(count / wall, 1) if wall > 0 else 0.0}
    if latencies:
        out |= {"p50_ms": round(pct(latencies, 50) * 1000, 2), "p95_ms": round(pct(latencies, 95) * 1000, 2),
                "p99_ms": round(pct(latencies, 99) * 1000, 2)}
    return out


# -- raw NATS request-reply ------------------------------------------------------------------
async def responder(url: str, subject: str) -> None:
    nc = await nats.connect(url, name="bench-responder")

    async def answer(msg) -> None:
        await msg.respond(NATS_REPLY)

    await nc.subscribe(subject, cb=answer)
    await nc.flush()
    print("ready", flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    finally:
        await nc.close()


async def nats_rr(url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    subject = f"bench.rr.{os.getpid()}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.bench.ceilings", "responder", url, subject,
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if line.strip() != b"ready":
            raise RuntimeError(f"the NATS responder did not start: {line!r}")
        nc = await nats.connect(url, name="bench-requester")
        headers = {"Authorization": "Bearer " + "t" * 300}
        latencies: list[float] = []
        errors = 0
        for _ in range(200):  # warm-up
            await nc.request(subject, NATS_REQUEST, timeout=5, headers=headers)

        async def requester(deadline: float) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    await nc.request(subject, NATS_REQUEST, timeout=5, headers=headers)
                    latencies.append(time.perf_counter() - t)
                except Exception:  # noqa: BLE001 - counted
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(requester(t0 + seconds) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
        await nc.close()
        return {"concurrency": concurrency, "request_bytes": len(NATS_REQUEST), "reply_bytes": len(NATS_REPLY),
                **summary(latencies, len(latencies), errors, wall)}
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# -- raw MongoDB writes of one report --------------------------------------------------------
def case_projections() -> tuple[str, ...]:
    """The projections every cases event is queued for, as the service wires them."""
    try:
        from services.cases.app import create_runtime
        from shared.settings import Settings

        return tuple(create_runtime(Settings()).transact.projections) or ("rollups",)
    except Exception:  # noqa: BLE001 - fall back to what the service had when this was written
        return ("rollups",)


def templates(grids: list[dict], n: int = 256) -> list[dict[str, Any]]:
    """`n` reports as the service would write them, at random points of `grids`
    (each {"path": [...root..grid], "points": [(lng, lat), ...]})."""
    from services.cases import domain as d
    from services.cases.handlers import sla_of
    from services.cases.store import case_doc, cell_of
    from services.cases.views import case_envelopes
    from shared.auth import Principal, Role
    from shared.ids import new_id
    from shared.messaging.subjects import event_subject
    from shared.settings import Settings

    settings, rnd = Settings(), random.Random(7)
    category = d.DEFAULT_CATALOGUE.get("ENV_GARBAGE")
    out = []
    for i in range(n):
        g = rnd.choice(grids)
        lng, lat = rnd.choice(g["points"])
        by = Principal(sub=f"bench-resident-{i % 16}", role=Role.RESIDENT)
        case = d.Case.report(id=new_id("c"), title="楼道杂物堆放", description="", category=category,
                             channel=d.CaseChannel("MINI_PROGRAM"), region_path=g["path"], by=by,
                             now=datetime.now(UTC), sla=sla_of(settings), reporter_name="测试居民",
                             reporter_phone_enc="x" * 120, location=d.GeoPoint(lng=lng, lat=lat))
        events = [{"_id": e.id, "subject": event_subject(e), "aggregate": e.subject, "type": e.type,
                   "published": False, "envelope": e.model_dump(mode="json")} for e in case_envelopes(case, None)]
        out.append({"case": case_doc(case, {"possible_duplicates": [], "source": None}), "events": events,
                    "cell": cell_of(lng, lat), "path": list(g["path"]),
                    "delta": events[0]["envelope"]["data"]["delta"]})  # what the projector adds up
    return out


class _Territory:
    """Just enough of TerritoryReplica for the projection: a grid's current path."""

    def __init__(self, grids: list[dict]):
        self.paths = {g["path"][-1]: list(g["path"]) for g in grids}

    def path(self, region_id: str) -> list[str] | None:
        return self.paths.get(region_id)

    def get(self, region_id: str) -> dict | None:
        path = self.paths.get(region_id)
        return {"id": region_id, "path": path, "level": "GRID"} if path else None


async def mongo_report_writes(uri: str, grids: list[dict], concurrency: int, seconds: float,
                              db_name: str | None = None) -> dict[str, Any]:
    from services.cases.projection import RollupProjection
    from services.cases.store import DUPLICATE_FIELDS, INDEXES, CaseStore
    from shared.messaging.outbox import BATCH as RELAY_BATCH
    from shared.messaging.projector import BATCH as PROJECTOR_BATCH
    from shared.mongo import IDEMPOTENCY, OUTBOX, PROJECTION_QUEUE, UnitOfWork, ensure_indexes
    from shared.settings import Settings

    settings = Settings()
    projections = case_projections()
    pool = templates(grids)
    client: AsyncMongoClient = AsyncMongoClient(uri, tz_aware=True, appname="bench-ceiling",
                                                serverSelectionTimeoutMS=10_000)
    name = db_name or f"bench_ceiling_{os.getpid()}_{int(time.time())}"
    db = client[name]
    await ensure_indexes(db, INDEXES)
    projection = RollupProjection(CaseStore(db), _Territory(grids))  # type: ignore[arg-type]
    txn_latencies: list[float] = []
    batches = {"relay": [], "projector": []}  # batch sizes
    errors, seq, reported, projected = 0, 0, 0, 0
    error_samples: list[str] = []
    attempts = {"report": 0, "projector": 0}  # transaction bodies run, retries included
    passes = {"projector": 0}
    relay_wake, projector_wake = asyncio.Event(), asyncio.Event()
    stopping = False

    def fail(e: Exception) -> None:
        nonlocal errors
        errors += 1
        if len(error_samples) < 3:
            error_samples.append(f"{type(e).__name__}: {e}"[:200])

    def fresh() -> dict[str, Any]:
        nonlocal seq
        seq += 1
        t = pool[seq % len(pool)]
        at = datetime.now(UTC)
        cid = f"cbench{os.getpid()}x{seq:09d}"
        case = {**t["case"], "_id": cid, "created_at": at, "updated_at": at}
        events = []
        for e in t["events"]:
            eid = e["_id"].replace(t["case"]["_id"], cid)
            envelope = {**e["envelope"], "id": eid, "subject": cid, "time": at.isoformat(),
                        "data": {**e["envelope"]["data"], "at": at.isoformat(), "case_id": cid}}
            events.append({**e, "_id": eid, "oid": ObjectId(), "aggregate": cid, "envelope": envelope})
        return {"case": case, "events": events, "cell": t["cell"], "key": f"case.report:bench:{cid}", "at": at}

    async def one_report() -> None:
        nonlocal reported
        r = fresh()
        since = r["at"] - timedelta(seconds=settings.dup_window_s)
        t0 = time.perf_counter()
        async with client.start_session() as session:
            async def report_txn(s) -> None:
                attempts["report"] += 1
                await db[IDEMPOTENCY].find_one({"_id": r["key"]}, session=s)
                await db.cases.find({"category_code": r["case"]["category_code"], "near": r["cell"],
                                     "created_at": {"$gte": since}}, DUPLICATE_FIELDS, session=s).to_list(400)
                await client.bulk_write([
                    InsertOne(r["case"], namespace=f"{name}.cases"),
                    InsertOne({"_id": r["key"], "result": r["case"]["_id"], "at": r["at"]},
                              namespace=f"{name}.{IDEMPOTENCY}"),
                    *(InsertOne(e, namespace=f"{name}.{OUTBOX}") for e in r["events"]),
                    *(InsertOne({"_id": f"{p}:{e['_id']}", "projection": p, "oid": e["oid"], "envelope": e["envelope"]},
                                namespace=f"{name}.{PROJECTION_QUEUE}") for e in r["events"] for p in projections),
                ], session=s, ordered=True)

            await session.with_transaction(report_txn)
        txn_latencies.append(time.perf_counter() - t0)
        reported += 1
        relay_wake.set()
        projector_wake.set()

    async def reporter(deadline: float) -> None:
        while time.perf_counter() < deadline:
            try:
                await one_report()
            except Exception as e:  # noqa: BLE001 - counted
                fail(e)

    async def relay_pass() -> int:
        docs = await db[OUTBOX].find({"published": False}).sort("oid", 1).to_list(RELAY_BATCH)
        if docs:
            await db[OUTBOX].update_many({"_id": {"$in": [d["_id"] for d in docs]}},
                                         {"$set": {"published": True, "publishedAt": datetime.now(UTC)}})
        return len(docs)

    async def projector_pass(name: str) -> int:
        async with client.start_session() as session:
            async def work(s) -> int:
                attempts["projector"] += 1
                docs = await db[PROJECTION_QUEUE].find({"projection": name}, session=s).sort("oid", 1) \
                    .to_list(PROJECTOR_BATCH)
                if docs:
                    if name == "rollups":
                        await projection.apply(UnitOfWork(db, s, projections), docs)
                    await db[PROJECTION_QUEUE].delete_many({"_id": {"$in": [d["_id"] for d in docs]}}, session=s)
                return len(docs)

            n = await session.with_transaction(work)
            passes["projector"] += 1
            return n

    async def loop(kind: str, wake: asyncio.Event, step) -> None:
        nonlocal projected
        while True:
            wake.clear()
            try:
                n = await step()
            except Exception as e:  # noqa: BLE001 - counted, as the service's loop survives it
                fail(e)
                n = 0
            if n:
                batches[kind].append(n)
                if kind == "projector":
                    projected += n
                continue
            if stopping:
                return
            try:
                await asyncio.wait_for(wake.wait(), 0.05)
            except TimeoutError:
                pass

    async def project_all() -> int:
        return sum([await projector_pass(p) for p in projections])

    try:
        for _ in range(20):  # warm-up: connections, collections, plans
            await one_report()
        await relay_pass()
        while await project_all():
            pass
        txn_latencies.clear()
        reported, projected = 0, 0
        attempts.update(report=0, projector=0)
        passes.update(projector=0)
        per_report = len(projections)  # queue entries per report (one event each)
        loops = [asyncio.create_task(loop("relay", relay_wake, relay_pass)),
                 asyncio.create_task(loop("projector", projector_wake, project_all))]
        t0 = time.perf_counter()
        await asyncio.gather(*(reporter(t0 + seconds) for _ in range(concurrency)))
        window = time.perf_counter() - t0
        stopping = True
        relay_wake.set()
        projector_wake.set()
        await asyncio.gather(*loops)
        wall = time.perf_counter() - t0
        written = {c: await db[c].estimated_document_count() for c in sorted(await db.list_collection_names())}
    finally:
        await client.drop_database(name)
        await client.close()
    done = projected // per_report
    out = {"concurrency": concurrency, "database": "scratch (dropped)", "projections": list(projections),
           "ancestor_regions": len(pool[0]["path"]), "reports": done, "errors": errors,
           "seconds": round(wall, 2), "window_s": round(window, 2), "drain_s": round(wall - window, 2),
           "reports_per_s": round(done / wall, 1) if wall else 0.0,
           "report_txn_p50_ms": round(pct(txn_latencies, 50) * 1000, 2) if txn_latencies else None,
           "report_txn_p99_ms": round(pct(txn_latencies, 99) * 1000, 2) if txn_latencies else None,
           "relay_batch_mean": round(sum(batches["relay"]) / len(batches["relay"]), 1) if batches["relay"] else 0,
           "projector_batch_mean": round(sum(batches["projector"]) / len(batches["projector"]), 1)
           if batches["projector"] else 0,
           "transaction_retries": {"report": max(0, attempts["report"] - reported),
                                   "projector": max(0, attempts["projector"] - passes["projector"])},
           "documents_written": written}
    if error_samples:
        out["error_samples"] = error_samples
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="benchmark ceilings (normally run from tests.bench.city)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("responder")
    r.add_argument("url")
    r.add_argument("subject")
    args = ap.parse_args()
    if args.cmd == "responder":
        asyncio.run(responder(args.url, args.subject))


if __name__ == "__main__":
    main()
