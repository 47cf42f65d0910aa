"""Cost of the SLA sweeper with many open cases, on a fresh embedded SecantusDB.

    .venv/bin/python -m tests.bench.sweeper_cost --open 100000 --due 200 [--closed 0]

Loads N open cases (built by the domain, bulk-inserted) and `--closed` closed ones (no clock:
`sweep_at` and the return-visit deadline null, as most of a city's cases are), then times (a) one
sweep query when nothing is due, the cost paid every `YIWANG_SLA_SWEEP_S` (the `sweep_at` range;
the earlier per-status `due` query and the return-visit range beside it), and (b) a sweep pass
that escalates `--due` cases and warns `--due` others (DUE_SOON), each in its own transaction.
A benchmark: it asserts nothing. (With closed cases, a range without a lower bound read every
one of them: 1.2 s for 47,500 closed cases before `shared.records.until`.)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from services.cases import domain as d
from services.cases.app import create_runtime
from services.cases.handlers import CaseContext
from services.cases.store import CaseStore, case_doc
from services.cases.sweeper import Sweeper
from shared.auth import Principal, Role
from shared.mongo import ensure_indexes, now
from shared.privacy import FieldCipher
from shared.settings import Settings
from tests.infra import make_settings, start_mongo

PATH = ["c", "k", "t", "m", "g"]


def synthetic(i: int, at) -> dict:
    p = Principal(sub=f"r{i}", role=Role.RESIDENT)
    category = d.DEFAULT_CATALOGUE.get("ENV_GARBAGE")
    case = d.Case.report(id=f"c{i:08d}", title="楼道杂物堆放", description="", category=category,
                         channel=d.CaseChannel.MINI_PROGRAM, region_path=PATH, by=p, now=at, sla=d.DEFAULT_SLA,
                         reporter_name="测试居民", location=d.GeoPoint(lng=114.0 + (i % 300) * 1e-4, lat=30.8))
    case.drain_events()
    return case_doc(case, {"possible_duplicates": []})


def closed(i: int, at) -> dict:
    doc = synthetic(i, at)
    return {**doc, "status": "CLOSED", "sweep_at": None, "return_visit_due_at": None, "return_visit_overdue": False}


async def run(n_open: int, n_due: int, n_closed: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_mongo(Path(tmp) / "mongo")
        try:
            settings: Settings = make_settings(nats_port=1, mongo_port=server.port)
            rt = create_runtime(settings)
            await ensure_indexes(rt.db, rt.indexes)
            store = CaseStore(rt.db)
            at = now()
            t0 = time.perf_counter()
            for start in range(0, n_open, 2000):
                await rt.db.cases.insert_many([synthetic(i, at) for i in range(start, min(start + 2000, n_open))],
                                              ordered=False)
            for start in range(n_open, n_open + n_closed, 2000):
                await rt.db.cases.insert_many(
                    [closed(i, at) for i in range(start, min(start + 2000, n_open + n_closed))], ordered=False
                )
            load_s = time.perf_counter() - t0
            await rt.sessions.start()  # the transactions' sessions (the runtime is not started: no NATS)
            await store.upgrade_sweep_at()  # every case has its sweep_at already: records that
            idle, legacy, visits = [], [], []
            for _ in range(5):
                t = time.perf_counter()
                assert await store.return_visits_due(now(), 200) == []
                visits.append(time.perf_counter() - t)
                t = time.perf_counter()
                assert await store.due_clocks(now(), 200) == []
                idle.append(time.perf_counter() - t)
                t = time.perf_counter()
                assert await store.due(now(), 200) == []
                legacy.append(time.perf_counter() - t)
            past = now() - timedelta(seconds=1)
            ids = [f"c{i:08d}" for i in range(n_due)]
            await rt.db.cases.update_many({"_id": {"$in": ids}}, {"$set": {"due_at": past, "sweep_at": past}})
            soon = [f"c{i:08d}" for i in range(n_due, 2 * n_due)]
            await rt.db.cases.update_many({"_id": {"$in": soon}}, {"$set": {"due_soon_at": past, "sweep_at": past}})
            cases = CaseContext(rt, store, _NoTerritory(), FieldCipher.from_settings(settings))
            sweeper = Sweeper(cases)
            t = time.perf_counter()
            while await sweeper.sweep_once():
                pass
            pass_s = time.perf_counter() - t
            escalated = await rt.db.cases.count_documents({"level": "COMMUNITY"})
            warned = await rt.db.cases.count_documents({"due_soon_sent": True})
            await rt.sessions.stop()
            await rt.mongo.close()
        finally:
            server.stop()
    return {"open_cases": n_open, "closed_cases": n_closed, "load_seconds": round(load_s, 1),
            "idle_return_visit_query_ms_median": round(statistics.median(visits) * 1000, 1),
            "idle_sweep_query_ms_median": round(statistics.median(idle) * 1000, 1),
            "idle_legacy_due_query_ms_median": round(statistics.median(legacy) * 1000, 1),
            "due": n_due, "escalated": escalated, "warned": warned, "sweep_pass_seconds": round(pass_s, 2),
            "per_case_ms": round(pass_s / max(2 * n_due, 1) * 1000, 1)}


class _NoTerritory:
    def get(self, region_id: str):
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--open", type=int, default=100_000)
    ap.add_argument("--due", type=int, default=200)
    ap.add_argument("--closed", type=int, default=0, help="closed cases beside the open ones")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.open, args.due, args.closed))))


if __name__ == "__main__":
    main()
