"""`make bench`: a load generator over the real gateway on the `city` dataset. A benchmark,
not a test: it measures and reports, it asserts nothing.

    .venv/bin/python -m tests.bench.city [--scale city|small] [--seconds 60] [--clients 16]
                                         [--out bench-results] [--skip-seed] [--url URL]
                                         [--keep] [--data DIR] [--skip-small]

One run:
  1. A fresh stack (`yiwang up` in a temp data dir on free ports), seeded with the `small`
     demo; the city node's overview, 200 sequential requests after a warm-up; stopped.
     (Skipped when the run itself is on `small`: that stack gives the baseline.)
  2. A fresh stack seeded at `--scale` (`yiwang seed --demo --scale city`; the small demo when
     this checkout cannot seed a city yet, said in the JSON's `dataset`). The territory is
     discovered through GraphQL (roots by `regions(level: CITY)`, a random descent for grids,
     points inside their boundaries, their workers); the city node's overview measured as in 1.
     The seed's output gives the loader's rate (`loader`: the records its parts say they loaded
     ÷ the seed's wall time, tests/bench/stack.py `loader_rate`).
  3. Ceilings on this stack's own servers, nothing else running (tests/bench/ceilings.py):
     raw NATS request-reply, and the raw MongoDB writes one report needs by a bare PyMongo loop.
     Beside them a service request with nothing behind it (the cases service's ping,
     tests/bench/paths.py), and the raw rates the design is made of (tests/bench/raw_rates.py):
     JetStream publish with ack; on the store, insert_one, a two-insert transaction, insert_many
     of 1,000, an indexed find_one and a `$inc` upsert.
     Then what durability costs the store (tests/bench/store_sync.py): two-insert transactions
     on two scratch stores, one with and one without `--sync-on-commit`, in alternating slices.
  4. K websocket subscribers (tests/bench/subscribers.py, its own process) on `caseEvents` /
     `events` of the root; report → subscriber latency = receipt − the moment the `reportCase`
     request was sent (matched on the case id). Beside them, `--inbox-subscribers` residents
     follow their own `notificationAdded` inbox (tests/bench/inbox.py): event → inbox latency =
     receipt of CASE_ACCEPTED (CASE_RESOLVED) − the moment `acceptCase` (`resolveCase`) was sent.
  5. Report-only phase: reports through the gateway from C clients, nothing else: the report
     throughput compared with the raw two-insert transaction rate and with the raw write
     ceiling; its CASE_REPORTED events read back from the stream (made → in the stream).
  6. Mixed phase: C closed-loop clients over HTTP, weighted (`--mix`): residents report, the
     workflow (accept, assign by the operator; start, resolve by the grid's worker; rate by the
     resident; every third case a hotline call handled by a department, then verified (核查) and
     called back (回访) by the operator; a third of the followed cases dispatched to a county
     department with a co-handler), overviews at every level, drill-downs, case lists,
     rankings, trends, hotspots; a grid worker's `myWork` (a part named `unavailable` counts
     as an error), their grid's `visitPlan`, and a visit recorded to a household of that plan
     (targets: myWork p99 ≤ 100 ms, visitPlan p99 ≤ 150 ms, recordVisit p50 within 2× of
     reportCase p50).
  7. Evidence (tests/bench/evidence.py): one 50 MB video against the gateway's idle memory, then
     `--evidence-uploads` 2 MB photo uploads and their downloads beside the mixed load, with the
     gateway's and the store's memory before and after.
     Webhooks (tests/bench/webhooks.py, `--webhooks N`, default 3): N receivers registered for
     every case event of the city, one more that never answers from halfway through the phase;
     event → delivered latency, and the others' with one endpoint hanging.
  8. JSON + PNG into `--out` (bench-<timestamp>.json/.png), and a table on stdout; every figure
     with its ratio to the raw rate it is built from (`ratios_to_raw`, tests/bench/ratios.py).

Operations the gateway's schema refuses (rankings, trend, hotspots, the `events` subscription
while they were being built) are recorded under `unavailable` and left out of the mix; one
that fails otherwise (a timeout) stays in and counts errors. Each phase also records the CPU
cores every process used (the stack's, the load generator's, and all other processes on the
machine, which skew every figure on a shared 2-core box). A step that fails still leaves the
JSON of what was measured, with `error`, and exit code 1.

With `--url`, the stack at that address is used instead (its NATS and MongoDB from the
`YIWANG_*` environment, as for `yiwang`), seeded at `--scale` unless `--skip-seed` (seeding only
loads into an empty database); there is no small baseline then.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.identity import settings_token
from shared.settings import Settings, get_settings
from tests.bench import inbox
from tests.bench.ceilings import mongo_report_writes, nats_rr
from tests.bench.chart import draw
from tests.bench.paths import event_publication, service_requests
from tests.bench.ratios import ratios_to_raw
from tests.bench.raw_rates import STORE_RATES, js_publish, store_rates
from tests.bench.stack import ROOT, BenchStack, cpu_seconds, say, seed, seed_knows_scale, stop_child
from tests.bench.store_sync import sync_cost
from tests.bench.webhooks import WebhookBench  # webhooks:
from tests.bench.workload import (
    DEFAULT_MIX,
    OVERVIEW,
    REGIONS,
    Gql,
    Recorder,
    Territory,
    Workload,
    discover,
    latency_summary,
    sequential,
)

TARGETS = {
    "overview_city_vs_small": (1.5, "max", "city node overview p50 on city ÷ on small"),
    "report_to_subscriber_p99_ms": (250.0, "max", "caseEvents/events subscriber sees a report, p99, mixed load"),
    "report_throughput_vs_write_ceiling": (0.5, "min", "gateway reports/s ÷ raw write ceiling reports/s"),
    # issue 21: against the store's raw rates, not only against the writes the design chose
    "report_throughput_vs_raw_txn": (0.5, "min", "gateway reports/s ÷ raw two-insert transactions/s"),
    "loader_vs_raw_bulk_insert": (0.5, "min", "seeder records/s ÷ raw insert_many documents/s"),
    # mywork / visits (issue 17)
    "my_work_p99_ms": (100.0, "max", "myWork of a grid worker, p99, mixed load"),
    "visit_plan_p99_ms": (150.0, "max", "visitPlan of a grid, p99, mixed load"),
    "household_figures_p99_ms": (150.0, "max", "the city's household figures, p99, mixed load"),
    "record_visit_vs_report_p50": (2.0, "max", "recordVisit p50 ÷ reportCase p50, mixed load"),
}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform(), "load_avg_1m_at_start": round(os.getloadavg()[0], 2)}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        info["memory_gb"] = round(kb / 1024 / 1024, 1)
    return info


def parse_mix(text: str | None) -> dict[str, float]:
    mix = dict(DEFAULT_MIX)
    for part in filter(None, (text or "").split(",")):
        name, _, weight = part.partition("=")
        if name.strip() not in DEFAULT_MIX:
            raise SystemExit(f"--mix: unknown operation {name!r}; choose from {', '.join(DEFAULT_MIX)}")
        mix[name.strip()] = float(weight)
    return mix


# -- subscribers ------------------------------------------------------------------------------
class Subscribers:
    """The subscriber process and what it reported."""

    def __init__(self, url: str, token: str, region: str, kinds: list[str], inbox_tokens: list[str] | None = None):
        self.args = ["--url", url.replace("http://", "ws://").rstrip("/") + "/graphql", "--token", token,
                     "--region", region, "--kinds", ",".join(kinds)]
        if inbox_tokens:  # notifications: one resident's token per notificationAdded subscriber
            self.args += ["--inbox-tokens", ",".join(inbox_tokens)]
        self.kinds = kinds
        self.status: dict[int, dict[str, Any]] = {i: {"kind": k, "status": "starting"} for i, k in enumerate(kinds)}
        self.recv: dict[int, dict[str, float]] = {i: {} for i in range(len(kinds))}
        self.proc: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task | None = None

    async def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.bench.subscribers", *self.args, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env=env, limit=1 << 20)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc and self.proc.stdout
        async for line in self.proc.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            i = m.get("sub")
            if i not in self.status:
                continue
            if "case" in m:
                self.recv[i].setdefault(m["case"], m["t"])
                continue
            s = self.status[i]
            if m.get("status") == "unavailable":
                s["unavailable"] = {m["kind"]: m.get("error")}
                s["kind"] = m.get("fallback", s["kind"])
            elif m.get("status") == "subscribed":
                s["status"], s["kind"] = "subscribed", m["kind"]
            elif m.get("status") == "error":
                s["status"], s["error"] = "error", m.get("error")
            elif m.get("status") == "closed":
                s["events"] = m.get("events", 0)
                if s["status"] != "error":
                    s["status"] = "closed"

    def live(self) -> list[int]:
        """The region feeds receiving (not the residents' inbox feeds, which see no reports)."""
        return [i for i, s in self.status.items() if s["status"] == "subscribed" and s["kind"] != inbox.KIND]

    async def wait_subscribed(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(s["status"] != "starting" for s in self.status.values()):
                return
            await asyncio.sleep(0.05)

    def seen_by_all(self, case_id: str, subs: list[int]) -> bool:
        return all(case_id in self.recv[i] for i in subs)

    async def stop(self) -> None:
        await stop_child(self.proc, self.reader)


def subscriber_latency(work: Workload, subs: Subscribers, active: list[int], phase: str) -> dict[str, Any]:
    """From the moment the report was sent (the target's measure), and, apart, how long after
    the reporter's own reply the subscriber had it (the event path alone; below 0: before it)."""
    lat: list[float] = []
    after_reply: list[float] = []
    by_kind: dict[str, list[float]] = {}
    missed = 0
    cases = [(c, t) for c, (t, ph) in work.sent.items() if ph == phase]
    for i in active:
        kind = subs.status[i]["kind"]
        for case, sent in cases:
            got = subs.recv[i].get(case)
            if got is None:
                missed += 1
                continue
            lat.append(got - sent)
            after_reply.append(got - work.replied[case])
            by_kind.setdefault(kind, []).append(got - sent)
    out = {**latency_summary(lat), "reports": len(cases), "subscribers": len(active), "missed": missed,
           "after_reply": latency_summary(after_reply)}
    if len(by_kind) > 1:
        out["by_kind"] = {k: latency_summary(v) for k, v in by_kind.items()}
    return out


class CpuMeter:
    """Cores each process used during a phase: the stack's (by name), this load generator and
    the subscriber process; on 2 shared cores the load generator's share matters."""

    def __init__(self, stack: BenchStack | None, subs: Subscribers | None):
        self.stack, self.subs = stack, subs

    @staticmethod
    def _machine() -> tuple[float, float]:
        """(busy, total) CPU seconds of the whole machine, every core."""
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        return (sum(v[:8]) - v[3] - v[4]) / hz, sum(v[:8]) / hz

    def _now(self) -> dict[str, float]:
        out = {name: cpu_seconds(pid) for name, pid in (self.stack.named_pids() if self.stack else {}).items()
               if name != "launcher"}
        out["bench (load generator)"] = time.process_time()
        if self.subs and self.subs.proc and self.subs.proc.returncode is None:
            out["bench (subscribers)"] = cpu_seconds(self.subs.proc.pid)
        return out

    def __enter__(self) -> CpuMeter:
        self.t0, self.before, self.machine0 = time.perf_counter(), self._now(), self._machine()
        return self

    def __exit__(self, *exc: object) -> None:
        wall, after, (busy, _) = time.perf_counter() - self.t0, self._now(), self._machine()
        cores = {k: round((after[k] - self.before.get(k, 0.0)) / wall, 2) for k in after if wall > 0}
        cores = dict(sorted(cores.items(), key=lambda kv: -kv[1]))
        ours = sum(cores.values())
        machine = (busy - self.machine0[0]) / wall if wall > 0 else 0.0
        # anything else on the machine (another test run, ...) skews every figure: say so
        self.cores = {"total": round(ours, 2), "other processes": round(max(0.0, machine - ours), 2),
                      **cores, "load_avg_1m": round(os.getloadavg()[0], 2)}


# -- one stack ---------------------------------------------------------------------------------
async def city_overview(url: str, token: str, root: str, n: int) -> dict[str, Any]:
    gql = Gql(url, token)
    try:
        return await sequential(gql, OVERVIEW, {"r": root}, n)
    finally:
        await gql.close()


async def quiet(stack: BenchStack | None) -> None:
    if stack is None:
        await asyncio.sleep(2)
        return
    waited = await asyncio.to_thread(stack.wait_quiet)
    if waited > 3:
        say(f"  (waited {waited:.0f}s for the stack to go quiet)")


async def baseline(stack: BenchStack, settings: Settings, samples: int) -> dict[str, Any]:
    """The city node's overview on this stack, nothing else running."""
    token = settings_token(settings, sub="bench-superadmin", role="superadmin")
    gql = Gql(stack.url, token)
    try:
        roots = [e["node"]["id"] for e in (await gql(REGIONS, {"l": "CITY"}))["regions"]["edges"]]
    finally:
        await gql.close()
    if not roots:
        raise RuntimeError("the small stack has no CITY region")
    await quiet(stack)
    return {"root": roots[0], **await city_overview(stack.url, token, roots[0], samples)}


async def measure(url: str, settings: Settings, stack: BenchStack | None, args: argparse.Namespace,
                  result: dict[str, Any]) -> None:
    run_id = datetime.now().strftime("%H%M%S")
    superadmin = settings_token(settings, sub="bench-superadmin", role="superadmin")
    gql = Gql(url, superadmin)
    try:
        say("discovering the territory ...")
        t0 = time.perf_counter()
        territory: Territory = await discover(gql, max_grids=args.grids, log=say)
    finally:
        await gql.close()
    result["territory"] = {
        "root": territory.root, "roots": territory.roots, "regions": territory.region_count,
        "sampled_grids": len(territory.grids), "grids_with_points": sum(1 for g in territory.grids if g.points),
        "grids_with_workers": sum(1 for g in territory.grids if g.workers),
        "sampled_nodes": {k: len(v) for k, v in territory.nodes.items()},
        "discovery_s": round(time.perf_counter() - t0, 1)}
    say(f"root {territory.root}: {territory.region_count} regions; sampled {len(territory.grids)} grids "
        f"and {sum(len(v) for v in territory.nodes.values())} nodes for reads")

    await quiet(stack)
    say(f"city node overview, {args.overview_samples} sequential requests ...")
    city = await city_overview(url, superadmin, territory.root, args.overview_samples)
    result["overview_city"]["city"] = city

    say(f"ceiling: raw NATS request-reply, {args.clients} concurrent, {args.ceiling_seconds:g}s ...")
    await quiet(stack)
    with CpuMeter(stack, None) as cpu_nats:
        nats = await nats_rr(settings.nats_servers[0], args.clients, args.ceiling_seconds)
    say(f"service requests: the cases service's ping, {args.clients} concurrent, {args.ceiling_seconds:g}s ...")
    await quiet(stack)
    with CpuMeter(stack, None) as cpu_service:
        result["service_requests"] = await service_requests(settings.nats_servers[0], superadmin, args.clients,
                                                            args.ceiling_seconds)
    say(f"ceiling: raw JetStream publish, {args.clients} concurrent, {args.ceiling_seconds:g}s ...")
    await quiet(stack)
    with CpuMeter(stack, None) as cpu_js:
        js = await js_publish(settings.nats_servers[0], args.clients, args.ceiling_seconds,
                              settings.duplicate_window_s)
    say(f"ceiling: raw MongoDB writes of a report, {args.clients} concurrent, {args.ceiling_seconds:g}s ...")
    await quiet(stack)
    grids = [{"path": g.path, "points": g.points or [(0.0, 0.0)]} for g in territory.grids if g.path]
    with CpuMeter(stack, None) as cpu_mongo:
        mongo = await mongo_report_writes(settings.mongo_uri, grids, args.clients, args.ceiling_seconds)
    result["ceilings"] = {"nats_rr": nats, "mongo_report_writes": mongo}
    say(f"  NATS rr {nats['throughput_per_s']:g}/s (p50 {nats.get('p50_ms')} ms); service ping "
        f"{result['service_requests']['throughput_per_s']:g}/s (p50 {result['service_requests'].get('p50_ms')} ms); "
        f"JetStream publish {js['throughput_per_s']:g}/s (p50 {js.get('p50_ms')} ms); "
        f"report writes {mongo['reports_per_s']:g} reports/s")
    say(f"ceiling: the store's raw rates, {args.clients} concurrent, {args.ceiling_seconds:g}s each ...")
    await quiet(stack)
    with CpuMeter(stack, None) as cpu_raw:
        store = await store_rates(settings.mongo_uri, args.clients, args.ceiling_seconds, say=say)
    result["raw_rates"] = {"store": store, "js_publish": js}
    result["cpu_cores"] = {"ceiling_nats_rr": cpu_nats.cores, "service_requests": cpu_service.cores,
                           "ceiling_js_publish": cpu_js.cores, "ceiling_mongo_report_writes": cpu_mongo.cores,
                           "ceiling_raw_store": cpu_raw.cores}
    say("  " + "; ".join(f"{k} {store[k]['throughput_per_s']:g}/s (p50 {store[k].get('p50_ms')} ms)"
                         for k in STORE_RATES) + f"; bulk {store['bulk_insert']['documents_per_s']:g} documents/s")
    say(f"durability's cost: two-insert transactions on two scratch stores, with and without "
        f"--sync-on-commit, {args.clients} concurrent, {args.ceiling_seconds:g}s each, alternating ...")
    await quiet(stack)
    sync = await sync_cost(args.clients, args.ceiling_seconds)
    result["store_sync"] = sync
    say(f"  {sync['sync']['per_s']:g}/s synced, {sync['nosync']['per_s']:g}/s not: "
        f"ratio {sync['ratio_sync_to_nosync']}")

    work = Workload(url, settings, territory, args.clients, parse_mix(args.mix), run_id)
    kinds = [args.subscription_kinds[i % len(args.subscription_kinds)] for i in range(args.subscribers)]
    n_inbox = min(args.inbox_subscribers, len(work.residents))  # notifications: residents' inbox feeds
    kinds += [inbox.KIND] * n_inbox
    feeds = inbox.inbox_subscribers(kinds)
    subs = Subscribers(url, work.operator, territory.root, kinds, work.residents[:n_inbox])
    await quiet(stack)
    try:
        if kinds:
            await subs.start()
            await subs.wait_subscribed()
        probe = Gql(url)
        try:
            await work.probe_new_ops(probe)
            # Subscriptions deliver once their JetStream consumer exists: report until every
            # subscriber has seen one.
            active: list[int] = []
            if args.subscribers:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    case = await work.report(probe, Recorder(), 0, "probe", follow=False)
                    t = time.monotonic()
                    while case and time.monotonic() - t < 3 and not subs.seen_by_all(case, subs.live()):
                        await asyncio.sleep(0.05)
                    if case and subs.live() and subs.seen_by_all(case, subs.live()):
                        break
                active = subs.live()
                say(f"{len(active)} of {args.subscribers} subscribers receiving "
                    f"({', '.join(subs.status[i]['kind'] for i in active)})")
        finally:
            await probe.close()
        for op, why in work.unavailable.items():
            say(f"  unavailable: {op}: {why[:120]}")
        for op, why in work.probe_errors.items():
            say(f"  {op} failed its first call (kept in the mix): {why[:120]}")

        await quiet(stack)
        say(f"report-only phase: {args.clients} clients, {args.report_seconds:g}s ...")
        with CpuMeter(stack, subs) as cpu:
            rec, wall = await work.run_phase("report_only", args.report_seconds)
        result["cpu_cores"]["report_only"] = cpu.cores
        result["report_only"] = {**rec.summary(wall).get("report_case", {"count": 0}), "seconds": round(wall, 1)}
        say(f"  {result['report_only'].get('throughput_per_s', 0):g} reports/s")
        try:
            result["event_publication"] = await event_publication(settings.nats_servers[0], work.sent, work.replied)
        except Exception as e:  # noqa: BLE001 - a detail: never lose the run over it
            result["event_publication"] = {"error": f"{type(e).__name__}: {e}"[:300]}

        await quiet(stack)
        # webhooks: N answering receivers for the whole mixed phase, one that never answers from halfway
        hooks = WebhookBench(url, superadmin, territory.root, args.webhooks) if args.webhooks else None
        hanging: asyncio.Task | None = None
        if hooks:
            try:
                await hooks.start()
                hanging = asyncio.create_task(hooks.hang(args.seconds / 2))
                say(f"webhooks: {args.webhooks} receivers; one that never answers from {args.seconds / 2:g}s")
            except Exception as e:  # noqa: BLE001 - a stack without webhooks: recorded, the rest goes on
                result.setdefault("unavailable", {})["webhooks"] = f"{type(e).__name__}: {e}"[:300]
                await hooks.stop()
                hooks = None
        say(f"mixed phase: {args.clients} clients, {args.seconds:g}s, mix {work.mix} ...")
        with CpuMeter(stack, subs) as cpu:
            rec, wall = await work.run_phase(
                "mixed", args.seconds, args.think_ms / 1000,
                on_tick=lambda t, r: say(f"  {t:.0f}s: {sum(len(s.latencies) for s in r.ops.values())} ops, "
                                         f"{len(work.pending)} cases in the workflow"))
        result["cpu_cores"]["mixed"] = cpu.cores
        result["ops"] = rec.summary(wall)
        result["workload"]["mixed_wall_s"] = round(wall, 1)
        # stragglers: give the subscribers a few seconds to catch up
        deadline = time.monotonic() + args.drain_seconds
        tracked = [c for c, (_, ph) in work.sent.items() if ph in ("mixed", "report_only")]
        while time.monotonic() < deadline and active and not all(
                subs.seen_by_all(c, active) for c in tracked[-200:]):
            await asyncio.sleep(0.2)
        while time.monotonic() < deadline and feeds and inbox.pending_notifications(work, subs, feeds):
            await asyncio.sleep(0.2)
        if hooks:
            if hanging:
                await hanging
            await hooks.drain(args.drain_seconds)
            result["webhooks"] = hooks.summary()
    finally:
        await subs.stop()
        if hooks:
            await hooks.stop()
    result["unavailable"] = {**result.get("unavailable", {}), **work.unavailable}
    if work.probe_errors:
        result["probe_errors"] = dict(work.probe_errors)
    result["subscribers"] = {str(i): s for i, s in subs.status.items()}
    for s in subs.status.values():
        for kind, why in (s.get("unavailable") or {}).items():
            result["unavailable"][f"subscription:{kind}"] = why
    if feeds:
        result["event_to_inbox"] = inbox.inbox_latency(work, subs, feeds)
        sent = [t for step in work.step_sent.values() for t in step.values()]
        if sent and result["event_to_inbox"]["subscribers"]:
            with contextlib.suppress(Exception):  # the split is a detail: never lose the run over it
                added = await inbox.added_times(settings.nats_servers[0], min(sent) - 1)
                result["event_to_inbox"]["split"] = inbox.split_latency(work, subs, feeds, added)
        refused = [subs.status[i].get("error") for i in feeds if subs.status[i]["status"] == "error"]
        if refused and not result["event_to_inbox"]["subscribers"]:
            result["unavailable"][f"subscription:{inbox.KIND}"] = str(refused[0])[:300]
    if args.subscribers:
        result["report_to_subscriber"] = subscriber_latency(work, subs, active, "mixed")
        result["report_to_subscriber_report_only"] = subscriber_latency(work, subs, active, "report_only")
        if args.timings:  # the raw times behind the report → subscriber figures, to study a tail
            args.timings.write_text(json.dumps({
                "sent": work.sent, "replied": work.replied,
                "received": {str(i): subs.recv[i] for i in active}}))
    result["workload"]["cases_left_in_workflow"] = len(work.pending)
    if args.evidence_uploads:  # uploads and downloads of a 2 MB photo beside the same mixed load
        from tests.bench.evidence import measure as evidence

        await quiet(stack)
        result["evidence"] = await evidence(url, settings, stack.data if stack else None, work,
                                            args.evidence_uploads, args.evidence_clients, args.evidence_video_mb)


# -- results ----------------------------------------------------------------------------------
def finish(result: dict[str, Any]) -> None:
    """Ratios to the ceilings and the targets."""
    nats = result.get("ceilings", {}).get("nats_rr", {})
    mongo = result.get("ceilings", {}).get("mongo_report_writes", {})
    write_ceiling, rr = mongo.get("reports_per_s") or 0, nats.get("throughput_per_s") or 0
    raw_txn = result.get("raw_rates", {}).get("store", {}).get("txn_two_inserts", {}).get("throughput_per_s") or 0
    for op, s in result.get("ops", {}).items():
        if not s.get("count"):
            continue
        if op == "report_case" and write_ceiling:
            s["vs_ceiling"] = {"ceiling": "mongo_report_writes",
                               "throughput": round(s["throughput_per_s"] / write_ceiling, 3)}
            if raw_txn:
                s["vs_ceiling"]["raw_txn"] = round(s["throughput_per_s"] / raw_txn, 3)
        elif rr:
            s["vs_ceiling"] = {"ceiling": "nats_rr", "throughput": round(s["throughput_per_s"] / rr, 4),
                               "p50_x": round(s["p50_ms"] / nats["p50_ms"], 1) if nats.get("p50_ms") else None}
    ratios: dict[str, Any] = {}
    ro = result.get("report_only", {})
    if write_ceiling and ro.get("throughput_per_s") is not None:
        ratios["report_throughput_vs_write_ceiling"] = round(ro["throughput_per_s"] / write_ceiling, 3)
    mixed_reports = result.get("ops", {}).get("report_case", {}).get("throughput_per_s")
    if write_ceiling and mixed_reports is not None:
        ratios["mixed_reports_vs_write_ceiling"] = round(mixed_reports / write_ceiling, 3)
    total = sum(s.get("throughput_per_s", 0) for s in result.get("ops", {}).values())
    if rr:
        ratios["rpc_vs_nats_ceiling"] = round(total / rr, 4)  # gateway operations/s ÷ raw request-replies/s
        if ro.get("p50_ms") and nats.get("p50_ms"):
            ratios["report_p50_vs_nats_rr_p50"] = round(ro["p50_ms"] / nats["p50_ms"], 1)
        city = result.get("overview_city", {}).get("city", {})
        if city.get("p50_ms") and nats.get("p50_ms"):
            ratios["overview_city_p50_vs_nats_rr_p50"] = round(city["p50_ms"] / nats["p50_ms"], 1)
    if ro.get("p50_ms") and mongo.get("report_txn_p50_ms"):
        ratios["report_p50_vs_raw_report_txn_p50"] = round(ro["p50_ms"] / mongo["report_txn_p50_ms"], 2)
    oc = result.get("overview_city", {})
    small, city = oc.get("small", {}).get("p50_ms"), oc.get("city", {}).get("p50_ms")
    if small and city:
        oc["small_p50_ms"], oc["city_p50_ms"], oc["ratio"] = small, city, round(city / small, 3)
        ratios["overview_city_vs_small"] = oc["ratio"]
    result["ratios"] = ratios
    raw = result["ratios_to_raw"] = ratios_to_raw(result)
    ops = result.get("ops", {})
    visit, report = ops.get("record_visit", {}), ops.get("report_case", {})
    if visit.get("p50_ms") and report.get("p50_ms"):
        ratios["record_visit_vs_report_p50"] = round(visit["p50_ms"] / report["p50_ms"], 2)
        ratios["record_visit_vs_report_p99"] = round(visit["p99_ms"] / report["p99_ms"], 2)
    values = {"my_work_p99_ms": ops.get("my_work", {}).get("p99_ms"),
              "visit_plan_p99_ms": ops.get("visit_plan", {}).get("p99_ms"),
              "household_figures_p99_ms": ops.get("household_figures", {}).get("p99_ms"),
              "record_visit_vs_report_p50": ratios.get("record_visit_vs_report_p50"),
              "overview_city_vs_small": oc.get("ratio"),
              "report_to_subscriber_p99_ms": result.get("report_to_subscriber", {}).get("p99_ms"),
              "report_throughput_vs_write_ceiling": ratios.get("report_throughput_vs_write_ceiling"),
              "report_throughput_vs_raw_txn": raw.get("report_throughput_vs_raw_txn", {}).get("value"),
              "loader_vs_raw_bulk_insert": raw.get("loader_vs_raw_bulk_insert", {}).get("value")}
    targets = {}
    for name, (target, direction, what) in TARGETS.items():
        v = values[name]
        met = None if v is None else (v <= target if direction == "max" else v >= target)
        targets[name] = {"value": v, "target": target, "direction": direction, "met": met, "what": what}
    if result["dataset"] != "city":
        targets["overview_city_vs_small"]["note"] = f"dataset {result['dataset']}: not the city target"
    result["targets"] = targets


def table(result: dict[str, Any]) -> str:
    lines = [f"Yiwang bench {result['started']}  dataset={result['dataset']}  clients={result['workload']['clients']}"
             f"  mixed {result['workload'].get('mixed_wall_s', result['workload']['seconds'])}s"
             f"  machine: {result['machine'].get('nproc')} cores, Python {result['machine'].get('python')}", ""]
    head = f"{'operation':<22}{'count':>7}{'err':>5}{'ops/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  vs ceiling"
    lines += [head, "-" * len(head)]

    def row(name: str, s: dict[str, Any], note: str = "") -> str:
        def f(k: str) -> str:
            v = s.get(k)
            return "-" if v is None else f"{v:g}"
        return (f"{name:<22}{s.get('count', 0):>7}{s.get('errors', 0):>5}{f('throughput_per_s'):>9}"
                f"{f('p50_ms'):>9}{f('p95_ms'):>9}{f('p99_ms'):>9}  {note}")

    for op, s in result.get("ops", {}).items():
        vc = s.get("vs_ceiling") or {}
        if vc.get("ceiling") == "mongo_report_writes":
            note = f"{vc['throughput']:.0%} of the write ceiling" + (
                f", {vc['raw_txn']:.0%} of raw two-insert txns" if vc.get("raw_txn") is not None else "")
        elif vc.get("p50_x"):
            note = f"p50 = {vc['p50_x']:g}× raw NATS rr p50"
        else:
            note = ""
        lines.append(row(op, s, note))
    for op, why in result.get("unavailable", {}).items():
        lines.append(f"{op:<22}  unavailable: {why[:80]}")
    lines.append("")
    ro = result.get("report_only", {})
    raw = result.get("ratios_to_raw", {})
    if ro:
        vs_txn = (raw.get("report_throughput_vs_raw_txn") or {}).get("value")
        of_txn = f"{vs_txn:.1%} of raw two-insert txns, " if vs_txn is not None else ""
        of_writes = result["ratios"].get("report_throughput_vs_write_ceiling", 0)
        lines.append(row("report_only phase", ro, f"{of_txn}{of_writes:.1%} of the write ceiling"))
    ep = result.get("event_publication", {})
    if ep.get("made_to_stream", {}).get("count"):
        lines.append(row("  event made→stream", {**ep["made_to_stream"], "errors": ep.get("missed", 0)},
                         "CASE_REPORTED: envelope time → stream timestamp, err = missed"))
        if ep.get("reply_to_stream", {}).get("count"):
            lines.append(row("  reply→stream", ep["reply_to_stream"], "stream timestamp − the reporter's reply"))
    c = result.get("ceilings", {})
    if c:
        n, m = c["nats_rr"], c["mongo_report_writes"]
        lines.append(row("ceiling nats_rr", n, f"bare nats-py, {n['concurrency']} concurrent"))
        if result.get("service_requests"):
            lines.append(row("service ping", result["service_requests"], "RpcClient → the cases service's ping"))
        lines.append(row("ceiling report writes", {"count": m["reports"], "errors": m["errors"],
                                                   "throughput_per_s": m["reports_per_s"],
                                                   "p50_ms": m.get("report_txn_p50_ms"),
                                                   "p99_ms": m.get("report_txn_p99_ms")},
                         "bare PyMongo (p50/p99: the report transaction)"))
    rr = result.get("raw_rates", {})
    if rr.get("js_publish"):
        lines.append(row("raw JetStream publish", rr["js_publish"], f"{rr['js_publish'].get('payload_bytes')} B, "
                                                                   f"file stream, ack awaited"))
    store = rr.get("store", {})
    for k, label in STORE_RATES.items():
        if store.get(k):
            extra = f", {store[k]['documents_per_s']:g} documents/s" if k == "bulk_insert" else ""
            lines.append(row(f"raw {label}", store[k], f"{store.get('clients')} concurrent, scratch db{extra}"))
    loader = result.get("loader", {})
    if loader.get("records_per_s"):
        lines.append(row("loader (seed)", {"count": loader["records"], "throughput_per_s": loader["records_per_s"]},
                         f"records in {loader['seconds']:g}s, {len(loader.get('parts', {}))} parts"))
    sync = result.get("store_sync")
    if sync:
        for k, label in (("sync", "store txn, synced"), ("nosync", "store txn, unsynced")):
            lines.append(row(label, {"count": sync[k]["transactions"], "throughput_per_s": sync[k]["per_s"],
                                     "p50_ms": sync[k]["p50_ms"], "p99_ms": sync[k]["p99_ms"]},
                             f"two inserts, scratch store; synced/unsynced = {sync['ratio_sync_to_nosync']}"
                             if k == "sync" else "same load, alternating slices"))
    for key, label in (("report_to_subscriber", "report→subscriber"),
                       ("report_to_subscriber_report_only", "report→sub (rep.only)")):
        s = result.get(key)
        if s:
            lines.append(row(label, {**s, "count": s.get("count", 0), "errors": s.get("missed", 0)},
                             f"{s.get('subscribers')} subscribers, {s.get('reports')} reports, err = missed"))
            if s.get("after_reply", {}).get("count"):
                lines.append(row("  after the reply", s["after_reply"], "subscriber's receipt − reportCase reply"))
    lines += inbox.table_rows(result, row)
    wh = result.get("webhooks")  # webhooks:
    if wh:
        for key, label, note in (
                ("event_to_delivered", "event→webhook", f"{wh['receivers']} receivers, {wh['events']} events, "
                                                        f"err = missed"),
                ("event_to_delivered_before_hang", "  before the hang", "the same, nothing hanging"),
                ("event_to_delivered_with_one_hanging", "  one hanging", f"the others, while one endpoint never "
                                                                         f"answers ({wh['hanging_requests_held']} "
                                                                         f"requests held)")):
            lines.append(row(label, {**wh[key], "errors": wh["missed"] if key == "event_to_delivered" else 0}, note))
    oc = result.get("overview_city", {})
    for k in ("small", "city"):
        if oc.get(k):
            lines.append(row(f"overview city ({k})", oc[k], "sequential, nothing else running"))
    for phase, cores in result.get("cpu_cores", {}).items():
        top = [(k, v) for k, v in cores.items() if k not in ("total", "other processes", "load_avg_1m")][:5]
        lines.append(f"cpu cores, {phase}: ours {cores.get('total', 0):g} ("
                     + ", ".join(f"{k} {v:g}" for k, v in top)
                     + f"); other processes {cores.get('other processes', 0):g}")
    if raw:
        lines += ["", "ratios to the raw rates they are built from (throughput: figure ÷ raw; latency: p50 ÷ raw p50):"]
        for name, r in raw.items():
            v = "-" if r["value"] is None else f"{r['value']:g}{'×' if r['kind'] == 'latency' else ''}"
            lines.append(f"  {name:<42} {v:>8}   {r['what']} ({r['figure']:g} ÷ {r['raw']:g})")
    lines += ["", "targets:"]
    for name, t in result.get("targets", {}).items():
        mark = {True: "MET ", False: "MISS", None: " -- "}[t["met"]]
        op = "≤" if t["direction"] == "max" else "≥"
        lines.append(f"  [{mark}] {name:<36} {t['value'] if t['value'] is not None else '-'!s:>8} {op} {t['target']:g}"
                     f"   {t.get('note', '')}")
    for note in result.get("notes", []):
        lines.append(f"note: {note}")
    if result.get("error"):
        lines.append(f"STOPPED EARLY: {result['error']}")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------
def new_result(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "dataset": args.scale, "dataset_requested": args.scale, "machine": machine(),
        "started": datetime.now().isoformat(timespec="seconds"),
        "workload": {"clients": args.clients, "seconds": args.seconds, "report_seconds": args.report_seconds,
                     "ceiling_seconds": args.ceiling_seconds, "subscribers": args.subscribers,
                     "subscription_kinds": args.subscription_kinds, "mix": parse_mix(args.mix),
                     "think_ms": args.think_ms},
        "overview_city": {}, "ops": {}, "notes": []}


def run(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """Fill `result` (partly, if a step fails: the caller still writes it)."""
    if args.url:
        settings = get_settings()
        if args.skip_seed:
            result["dataset"] = f"{args.scale} (as found at {args.url})"
        else:
            result["loader"] = {}
            result["dataset"] = seed(dict(os.environ, PYTHONPATH=os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))), args.scale, stats=result["loader"])
        result["notes"].append(f"external stack at {args.url}: no small baseline, no CPU figures of its processes")
        asyncio.run(measure(args.url, settings, None, args, result))
        return
    dataset = args.scale if args.scale == "small" or seed_knows_scale() else "small"
    result["dataset"] = dataset
    if dataset != args.scale:
        result["notes"].append(f"`yiwang seed` cannot load {args.scale!r} yet (no --scale): ran on the small demo")
    if dataset != "small" and not args.skip_small:
        say("== 1. small baseline ==")
        with BenchStack(keep=args.keep) as stack:
            stack.seed("small")
            result["overview_city"]["small"] = asyncio.run(baseline(stack, stack.settings, args.overview_samples))
    say(f"== 2. {dataset} ==")
    with BenchStack(keep=args.keep, data=args.data) as stack:
        if args.data:
            result["notes"].append(f"the {args.scale} data kept in {args.data} by an earlier run, not seeded anew")
        elif args.skip_seed:
            result["notes"].append("--skip-seed on a fresh stack: nothing loaded")
        else:
            result["loader"] = {}
            result["dataset"] = stack.seed(dataset, stats=result["loader"])
        asyncio.run(measure(stack.url, stack.settings, stack, args, result))
    if result["dataset"] == "small":
        result["overview_city"]["small"] = result["overview_city"]["city"]
        result["notes"].append("dataset small: the city overview is compared with itself")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--scale", choices=["city", "small"], default="city")
    ap.add_argument("--seconds", type=float, default=60.0, help="mixed phase length (default 60)")
    ap.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients, also the ceilings' concurrency")
    ap.add_argument("--out", type=Path, default=Path("bench-results"))
    ap.add_argument("--skip-seed", action="store_true", help="do not seed (with --url: the stack holds the data)")
    ap.add_argument("--url", help="use the running stack at this address instead of starting ones")
    ap.add_argument("--subscribers", type=int, default=4, help="websocket subscribers (default 4)")
    ap.add_argument("--inbox-subscribers", type=int, default=16,
                    help="residents following their notificationAdded inbox (default 16, at most --clients; 0: none)")
    ap.add_argument("--subscription-kinds", default="caseEvents,events", type=lambda s: [k for k in s.split(",") if k],
                    help="alternated over the subscribers (default caseEvents,events)")
    ap.add_argument("--mix", help="weights, e.g. report=2,workflow=8,overview=6,drilldown=1,cases=2,rankings=1,"
                                  "trend=1,hotspots=1 (given ones replace the defaults; 0 drops one)")
    ap.add_argument("--report-seconds", type=float, default=15.0, help="report-only phase length (default 15)")
    ap.add_argument("--ceiling-seconds", type=float, default=15.0, help="each ceiling's length (default 15)")
    ap.add_argument("--overview-samples", type=int, default=200)
    ap.add_argument("--grids", type=int, default=200, help="grids sampled for reports (default 200)")
    ap.add_argument("--think-ms", type=float, default=250.0,
                    help="pause between a client's operations in the mixed phase (default 250: 16 busy platform "
                         "users; 0 saturates the stack, which the report-only phase already does)")
    ap.add_argument("--drain-seconds", type=float, default=5.0)
    ap.add_argument("--evidence-uploads", type=int, default=1000,
                    help="2 MB photo uploads (then their downloads) beside the mixed load (0: none)")
    ap.add_argument("--evidence-clients", type=int, default=4, help="concurrent uploaders (default 4)")
    ap.add_argument("--evidence-video-mb", type=int, default=50, help="the one video upload's size (0: none)")
    ap.add_argument("--webhooks", type=int, default=3,
                    help="webhook receivers during the mixed phase, one more hanging from halfway (0: none)")
    ap.add_argument("--skip-small", action="store_true", help="no small baseline stack")
    ap.add_argument("--keep", action="store_true", help="keep the stacks' data dirs")
    ap.add_argument("--timings", type=Path, help="write each report's unix times (sent, phase; replied; "
                    "received by each subscriber) as JSON to this file")
    ap.add_argument("--data", type=Path, help="start the measured stack on a data dir that an earlier --keep run "
                                              "seeded at --scale (no seeding; the dir is kept)")
    args = ap.parse_args()
    if args.data and not (args.data / "run").is_dir():
        raise SystemExit(f"--data: {args.data} is not the data dir of a kept stack")
    if args.subscription_kinds and not set(args.subscription_kinds) <= {"caseEvents", "events"}:
        raise SystemExit("--subscription-kinds: caseEvents and/or events")

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    result = new_result(args)
    failed: BaseException | None = None
    try:
        run(args, result)
    except (Exception, KeyboardInterrupt) as e:  # noqa: BLE001 - what was measured is still written
        failed = e
        result["error"] = f"{type(e).__name__}: {e}"[:1000]
        say(f"stopped early: {result['error']}")
    finish(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(result["started"]).strftime("%Y%m%d-%H%M%S")
    png = draw(result, args.out / f"bench-{stamp}.png")
    out = args.out / f"bench-{stamp}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print()
    print(table(result))
    print()
    print(f"wrote {out}" + (f" and {png}" if png else ""))
    if failed is not None:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
