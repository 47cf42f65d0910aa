"""Acknowledged means durable: `kill -9` a process of a running stack in the middle of a burst
of reports sent with idempotency keys, then count what was acknowledged against what is
stored, and send every acknowledged key again (a retry must return the first result, never a
new case). A tool, not a test: it prints a table and exits non-zero when anything was lost or
duplicated.

    .venv/bin/python -m tests.faults.durability                         # own stack; store killed, 3 rounds
    .venv/bin/python -m tests.faults.durability --kill cases --during import --clients 30
    YIWANG_HTTP_PORT=… YIWANG_MONGO_PORT=… YIWANG_NATS_PORT=… YIWANG_DATA_DIR=… \\
      .venv/bin/python -m tests.faults.durability --running              # against a running `yiwang up`

`--kill mongo|nats|cases|gateway|…` names a process of `<data>/run/<name>.pid`; the launcher
restarts it. `--during reports` kills it once a share of the burst is acknowledged;
`--during import` kills it while a case-history import (the demo's, under a new import id)
is being written, then sends the burst. Each client retries an unanswered report with the
same key, as a real client does, for up to `--answer-within` seconds.

Columns: `acked` reports answered with a case, `stored` of those whose case and idempotency
record are in the store afterwards, `lost` = acked - stored, `retry→new` acknowledged keys
whose re-send answered a different case, `dups` cases of the round beyond one per key,
`unanswered` reports with no answer within `--answer-within`, `slowest` the longest a report
waited for its answer; `up` seconds from the restart (the new process's pid appearing) until
it serves (a service answers its ping; a server its port), `resume` from the restart to the
first acknowledgement of a report sent after it, `blocked` from `up` to the first
acknowledgement of a report sent after that (what a transaction the killed process left
open costs).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pymongo import AsyncMongoClient
from shapely.geometry import Point, shape

from shared.auth import service_token
from shared.identity import settings_token
from shared.embedded import port_open
from shared.settings import Settings

REPORT = ("mutation($i: ReportCaseInput!) { reportCase(input: $i) { id } }")
GRIDS: list = []  # the stack's grid polygons (shapely), loaded once: reports land all over the city


def report_input(run: str, n: int, key: str) -> dict:
    """A report at a random point of a random grid (the same for a key's every send): spread
    out, so that the possible-duplicate check of each report stays as small as a city's."""
    rnd = random.Random(key)
    grid = rnd.choice(GRIDS)
    x0, y0, x1, y1 = grid.bounds
    while not grid.contains(point := Point(rnd.uniform(x0, x1), rnd.uniform(y0, y1))):
        pass
    return {"title": f"durability {run} round {n}", "categoryCode": rnd.choice(CATEGORIES),
            "channel": "MINI_PROGRAM", "reporterName": "测试居民", "idempotencyKey": key,
            "lng": round(point.x, 6), "lat": round(point.y, 6)}


CATEGORIES = ("ENV_GARBAGE", "FACILITY_STREETLIGHT", "OTHER")


async def load_grids(target: Target) -> None:
    mongo = AsyncMongoClient(target.settings.mongo_uri, serverSelectionTimeoutMS=60_000)
    try:
        docs = await mongo[target.settings.db_name("grids")].regions.find(
            {"level": "GRID"}, {"boundary": 1}).to_list(None)
    finally:
        await mongo.close()
    GRIDS[:] = [shape(d["boundary"]) for d in docs if d.get("boundary")]
    if not GRIDS:
        raise RuntimeError("the stack has no grid with a boundary: load the demo (yiwang seed --demo)")


def client_errors(body: dict) -> list[str]:
    """The error codes of an answer that a retry cannot change (the request is wrong)."""
    codes = [(e.get("extensions") or {}).get("code", "") for e in body.get("errors") or []]
    return [c for c in codes if c in ("BAD_USER_INPUT", "FORBIDDEN", "UNAUTHENTICATED", "GRAPHQL_VALIDATION_FAILED",
                                      "GRAPHQL_PARSE_FAILED", "NOT_FOUND")]


def say(message: str) -> None:
    print(f"[durability] {message}", flush=True)


@dataclass
class Target:
    settings: Settings
    url: str
    data: Path

    def pid(self, name: str) -> int | None:
        try:
            return int((self.data / "run" / f"{name}.pid").read_text())
        except (OSError, ValueError):
            return None


@dataclass
class Round:
    n: int
    reports: int
    acked: dict[str, str] = field(default_factory=dict)  # key -> case id
    sub_of: dict[str, str] = field(default_factory=dict)
    waited: list[float] = field(default_factory=list)  # seconds each answered report waited
    unanswered: int = 0
    killed_at: float | None = None
    restarted_at: float | None = None
    up_at: float | None = None  # the restarted process answers (a service: its ping; a server: its port)
    first_ack_after_restart: float | None = None  # of a report sent after the restart
    first_ack_after_up: float | None = None  # of a report sent after it was up
    stored: int = 0
    retry_new: int = 0
    dups: int = 0


async def restarted(target: Target, name: str, old: int, port: int | None, timeout: float = 120) -> float:
    """When the launcher's new `name` process appeared (and, for a server, took its port)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = target.pid(name)
        if pid not in (None, old) and (port is None or port_open(port)):
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{name} was not restarted within {timeout:g}s")


def port_of(target: Target, name: str) -> int | None:
    s = target.settings
    return {"mongo": s.mongo_port, "nats": s.nats_port, "gateway": s.http_port}.get(name)


async def kill(target: Target, name: str, r: Round) -> None:
    pid = target.pid(name)
    if pid is None:
        raise RuntimeError(f"no {name}.pid in {target.data / 'run'}")
    os.kill(pid, signal.SIGKILL)
    r.killed_at = time.monotonic()
    say(f"round {r.n}: killed {name} (pid {pid}) with {len(r.acked)} reports acknowledged")
    r.restarted_at = await restarted(target, name, pid, port_of(target, name))
    r.up_at = r.restarted_at if port_of(target, name) else await answering(target, name)
    say(f"round {r.n}: {name} restarted {r.restarted_at - r.killed_at:.1f}s after the kill, "
        f"up {r.up_at - r.restarted_at:.1f}s later")


async def answering(target: Target, service: str, timeout: float = 180) -> float:
    """When `service` answers its ping again (it is serving)."""
    import nats

    from shared.messaging.rpc import RpcClient

    nc = await nats.connect(target.settings.nats_servers, name="durability-ping")
    token = service_token(target.settings.jwt_secret, "gateway", target.settings.jwt_issuer)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                await RpcClient(nc, 1.0).call(service, "ping", {}, token)
                return time.monotonic()
            except Exception:  # noqa: BLE001 - not yet
                await asyncio.sleep(0.1)
    finally:
        await nc.close()
    raise TimeoutError(f"{service} did not answer within {timeout:g}s of its restart")


async def burst(target: Target, r: Round, run: str, clients: int, answer_within: float,
                kill_after: int | None, kill_name: str) -> None:
    keys = [f"{run}-{r.n}-{i:04d}" for i in range(r.reports)]
    todo = iter(keys)

    async def client(c: int, http: httpx.AsyncClient) -> None:
        sub = f"durability-{run}-{c}"
        headers = {"Authorization": f"Bearer {settings_token(target.settings, sub=sub, role='resident')}"}
        for key in todo:
            r.sub_of[key] = sub
            t0 = time.monotonic()
            variables = {"i": report_input(run, r.n, key)}
            while time.monotonic() - t0 < answer_within:
                sent = time.monotonic()
                try:
                    resp = await http.post("/graphql", json={"query": REPORT, "variables": variables},
                                           headers=headers)
                    body = resp.json()
                    case = (body.get("data") or {}).get("reportCase")
                except (httpx.HTTPError, ValueError):
                    case, body = None, {}
                if not case and (codes := client_errors(body)):
                    raise RuntimeError(f"report {key} refused, not a fault: {codes}")
                if case:
                    r.acked[key] = case["id"]
                    r.waited.append(time.monotonic() - t0)
                    if r.restarted_at and sent >= r.restarted_at and r.first_ack_after_restart is None:
                        r.first_ack_after_restart = time.monotonic()
                    if r.up_at and sent >= r.up_at and r.first_ack_after_up is None:
                        r.first_ack_after_up = time.monotonic()
                    break
                await asyncio.sleep(0.2)
            else:
                r.unanswered += 1

    async def killer() -> None:
        while len(r.acked) < (kill_after or 0):
            await asyncio.sleep(0.005)
        await kill(target, kill_name, r)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=target.url, timeout=15, limits=limits) as http:
        tasks = [client(c, http) for c in range(clients)]
        if kill_after is not None:
            tasks.append(killer())
        await asyncio.gather(*tasks)


async def history_import(target: Target, run: str, count: int) -> asyncio.Task:
    """The demo's case history again, under new import ids (so new cases), in the background."""
    import nats

    from ops.cli.seed import Loader, history_for, load_cases, small_plan
    from services.cases.handlers.context import sla_of
    from shared.messaging.rpc import RpcClient

    nc = await nats.connect(target.settings.nats_servers, name="durability-import")
    token = service_token(target.settings.jwt_secret, "seed", target.settings.jwt_issuer)
    # the service's deadlines: its settings on the shipped calendar, moved with the history
    history = history_for(small_plan(), datetime.now(UTC), sla=sla_of(target.settings), count=count)
    items = history.cases()
    loader = Loader(RpcClient(nc, timeout_s=30), token, lambda m: None)

    async def run_it() -> None:
        try:
            await load_cases(loader, items, f"durability-{run}", shift_s=history.shift_s)
        except Exception as e:  # noqa: BLE001 - the kill makes batches fail; that is the point
            say(f"import: {type(e).__name__}: {e}")
        finally:
            await nc.close()

    return asyncio.create_task(run_it())


async def check(target: Target, r: Round, run: str) -> None:
    """Count the acknowledged reports the store holds, and send every acknowledged key again."""
    mongo = AsyncMongoClient(target.settings.mongo_uri, serverSelectionTimeoutMS=60_000)
    db = mongo[target.settings.db_name("cases")]
    sem = asyncio.Semaphore(16)

    async def stored(key: str, case_id: str) -> bool:
        async with sem:
            case = await db.cases.find_one({"_id": case_id}, {"_id": 1})
            memo = await db.idempotency.find_one({"_id": f"case.report:{r.sub_of[key]}:{key}"}, {"_id": 1})
            return case is not None and memo is not None

    r.stored = sum(await asyncio.gather(*(stored(k, v) for k, v in r.acked.items())))
    total = await db.cases.count_documents({"title": f"durability {run} round {r.n}"})
    r.dups = max(0, total - len(r.acked) - r.unanswered)
    await mongo.close()
    async with httpx.AsyncClient(base_url=target.url, timeout=30) as http:
        async def resend(key: str) -> bool:
            token = settings_token(target.settings, sub=r.sub_of[key], role="resident")
            variables = {"i": report_input(run, r.n, key)}
            async with sem:
                for _ in range(20):
                    body = (await http.post("/graphql", json={"query": REPORT, "variables": variables},
                                            headers={"Authorization": f"Bearer {token}"})).json()
                    if case := (body.get("data") or {}).get("reportCase"):
                        return case["id"] != r.acked[key]
                    await asyncio.sleep(0.5)
            raise RuntimeError(f"the re-send of {key} got no answer: {body}")

        r.retry_new = sum(await asyncio.gather(*(resend(k) for k in list(r.acked))))


async def wait_ready(target: Target, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=target.url, timeout=5) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.3)
    raise TimeoutError("the stack did not become ready")


async def main_async(args: argparse.Namespace, target: Target) -> int:
    run = uuid.uuid4().hex[:6]
    rounds: list[Round] = []
    await load_grids(target)
    for n in range(1, args.rounds + 1):
        await wait_ready(target)
        r = Round(n, args.reports)
        importing = None
        if args.during == "import":
            importing = await history_import(target, run, args.import_cases)
            await asyncio.sleep(random.uniform(*args.kill_window_s))
            await kill(target, args.kill, r)
            await burst(target, r, run, args.clients, args.answer_within, None, args.kill)
        else:
            share = random.uniform(0.25, 0.6)
            await burst(target, r, run, args.clients, args.answer_within, int(args.reports * share), args.kill)
        if importing:
            await importing
        await check(target, r, run)
        rounds.append(r)
        say(row(r))
    print()
    print(HEADER)
    for r in rounds:
        print(row(r))
    bad = sum(len(r.acked) - r.stored + r.retry_new + r.dups for r in rounds)
    return 1 if bad else 0


HEADER = ("round  reports  acked  stored  lost  retry→new  dups  unanswered  slowest_s  up_s  resume_s  "
          "blocked_s")


def row(r: Round) -> str:
    def since(a: float | None, b: float | None) -> str:
        return f"{a - b:.1f}" if a and b else "-"

    return (f"{r.n:>5}  {r.reports:>7}  {len(r.acked):>5}  {r.stored:>6}  {len(r.acked) - r.stored:>4}  "
            f"{r.retry_new:>9}  {r.dups:>4}  {r.unanswered:>10}  {max(r.waited, default=0):>9.1f}  "
            f"{since(r.up_at, r.restarted_at):>4}  {since(r.first_ack_after_restart, r.restarted_at):>8}  "
            f"{since(r.first_ack_after_up, r.up_at):>9}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--running", action="store_true",
                   help="use the stack the YIWANG_* environment points at (else start one, with the demo)")
    p.add_argument("--kill", default="mongo", help="the process to kill: mongo, nats, cases, gateway, …")
    p.add_argument("--during", choices=("reports", "import"), default="reports")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reports", type=int, default=300)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--answer-within", type=float, default=90.0, help="seconds a client retries one report")
    p.add_argument("--import-cases", type=int, default=2000, help="--during import: cases imported")
    p.add_argument("--kill-window-s", type=float, nargs=2, default=(2.0, 6.0),
                   help="--during import: kill at a random moment this many seconds into it")
    args = p.parse_args(argv)
    if args.running:
        settings = Settings()
        target = Target(settings, f"http://127.0.0.1:{settings.http_port}", settings.data_dir.resolve())
        return asyncio.run(main_async(args, target))
    from tests.bench.stack import BenchStack

    with BenchStack() as stack:
        stack.seed("small")
        return asyncio.run(main_async(args, Target(stack.settings, stack.url, stack.data)))


if __name__ == "__main__":
    sys.exit(main())
