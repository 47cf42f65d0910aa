"""Evidence through the gateway: uploads and downloads of a 2 MB photo (throughput, p50/p99) while
the mixed workload of tests/bench/workload.py runs beside them, the gateway's and the store's
resident memory before and after the uploads, and one 50 MB video upload against the gateway's
idle memory. A benchmark, not a test: it measures and reports.

    .venv/bin/python -m tests.bench.evidence [--uploads 1000] [--clients 4] [--mixed-clients 8]
                                             [--runs 3] [--video-mb 50] [--out bench-results]

Alone it starts its own stack (`yiwang up` on free ports), seeds the small demo, and repeats the
upload and download phases `--runs` times on it, giving each run and the medians. `make bench`
runs one round of it on its measured stack after the mixed phase (`measure`).
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import statistics
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from shared.settings import Settings
from tests.bench.report_latency import pct
from tests.bench.stack import BenchStack, say
from tests.bench.workload import DEFAULT_MIX, Gql, Recorder, Territory, Workload, discover

UPLOAD = """mutation($file: Upload!, $input: UploadAttachmentInput!) {
  uploadAttachment(file: $file, input: $input) { id size url } }"""
REPORT = """mutation($i: ReportCaseInput!) { reportCase(input: $i) { id } }"""
PER_CASE = 25  # uploads per case, under the default attachments_per_record (30)


def photo(target_bytes: int = 2 << 20) -> bytes:
    """A synthetic JPEG of about `target_bytes` (noise, so it does not compress away: a 2 MB photo)."""
    rnd = random.Random(7)
    side = 800
    while True:
        w, h = side * 4 // 3, side
        im = Image.frombytes("RGB", (w, h), rnd.randbytes(w * h * 3))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=80)
        if buf.tell() >= target_bytes:
            return buf.getvalue()
        side = int(side * (target_bytes / buf.tell()) ** 0.5) + 16


def video(size: int) -> bytes:
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + os.urandom(size - len(head))


def rss_kb(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def pid_of(data: Path | None, name: str) -> int | None:
    try:
        return int((data / "run" / f"{name}.pid").read_text()) if data else None
    except (OSError, ValueError):
        return None


def multipart(data: bytes, variables: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    ops = json.dumps({"query": UPLOAD, "variables": {"file": None, **variables}})
    body = b"".join([
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{ops}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{"0": ["variables.file"]}}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="p.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode(), data, f"\r\n--{boundary}--\r\n".encode()])
    return body, f"multipart/form-data; boundary={boundary}"


def summary(lat: list[float], wall: float, errors: int, size: int) -> dict[str, Any]:
    lat = sorted(lat)
    return {"count": len(lat), "errors": errors, "seconds": round(wall, 1),
            "throughput_per_s": round(len(lat) / wall, 2) if wall else 0,
            "mb_per_s": round(len(lat) * size / wall / 1e6, 1) if wall else 0,
            "p50_ms": round(pct(lat, 0.5) * 1000, 1) if lat else None,
            "p99_ms": round(pct(lat, 0.99) * 1000, 1) if lat else None}


class Background:
    """The mixed workload's operations (tests/bench/workload.py), by `clients` closed-loop clients
    with its think time, until stopped."""

    def __init__(self, work: Workload | None, think_s: float = 0.25):
        self.work, self.think_s = work, think_s
        self.stop = asyncio.Event()
        self.rec = Recorder()
        self.tasks: list[asyncio.Task] = []

    async def _client(self, c: int) -> None:
        assert self.work is not None
        work, gql, rnd = self.work, Gql(self.work.url), random.Random(c)
        names, weights = list(work.mix), list(work.mix.values())
        try:
            await asyncio.sleep(rnd.uniform(0, self.think_s))
            while not self.stop.is_set():
                op = rnd.choices(names, weights)[0]
                if op == "workflow" and not work.pending:
                    op = "report"
                if op == "report":
                    await work.report(gql, self.rec, c, "evidence", follow=True)
                elif op == "workflow":
                    await work.advance(gql, self.rec)
                else:
                    await getattr(work, op)(gql, self.rec)
                await asyncio.sleep(self.think_s)
        finally:
            await gql.close()

    def start(self) -> None:
        if self.work:
            self.t0 = time.perf_counter()
            self.tasks = [asyncio.create_task(self._client(c)) for c in range(self.work.clients)]

    async def finish(self) -> dict[str, Any]:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if not self.work:
            return {}
        ops = self.rec.summary(time.perf_counter() - self.t0)
        return {k: {f: v.get(f) for f in ("count", "errors", "throughput_per_s", "p50_ms", "p99_ms")}
                for k, v in ops.items()}


async def cases_for(url: str, token: str, territory: Territory, n: int) -> list[str]:
    grids = [g for g in territory.grids if g.points] or territory.grids
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        for i in range(n):
            g = grids[i % len(grids)]
            where = {"lng": g.points[0][0], "lat": g.points[0][1]} if g.points else {"regionId": g.id}
            body = (await http.post("/graphql", json={"query": REPORT, "variables": {"i": {
                "title": "证据压测", "categoryCode": "ENV_GARBAGE", "channel": "HOTLINE", "reporterName": "压测",
                **where}}})).json()
            out.append(body["data"]["reportCase"]["id"])
    return out


async def uploads(url: str, token: str, case_ids: list[str], data: bytes, n: int, clients: int) -> tuple[dict, list]:
    lat: list[float] = []
    urls: list[str] = []
    errors = 0
    todo = iter(range(n))

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as h:
            for i in todo:
                body, ctype = multipart(data, {"input": {"target": {"kind": "CASE", "id": case_ids[i // PER_CASE]},
                                                         "stage": "REPORT"}})
                t = time.perf_counter()
                r = await h.post("/graphql", content=body, headers={"Content-Type": ctype})
                took = time.perf_counter() - t
                got = r.json() if r.status_code == 200 else {}
                if (got.get("data") or {}).get("uploadAttachment"):  # a refused upload answers data: null
                    lat.append(took)
                    urls.append(got["data"]["uploadAttachment"]["url"])
                else:
                    errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return summary(lat, time.perf_counter() - t0, errors, len(data)), urls


async def downloads(urls: list[str], clients: int) -> dict:
    lat: list[float] = []
    errors, size = 0, 0
    todo = iter(urls)

    async def client() -> None:
        nonlocal errors, size
        async with httpx.AsyncClient(timeout=120) as h:
            for u in todo:
                t = time.perf_counter()
                r = await h.get(u)
                if r.status_code == 200:
                    lat.append(time.perf_counter() - t)
                    size = len(r.content)
                else:
                    errors += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return summary(lat, time.perf_counter() - t0, errors, size)


async def big_upload(url: str, token: str, case_id: str, gateway: int | None, mb: int) -> dict:
    """One `mb` MB video, the gateway's RSS sampled every 20 ms during it, against its idle RSS."""
    data = video(mb << 20)
    body, ctype = multipart(data, {"input": {"target": {"kind": "CASE", "id": case_id}, "stage": "REPORT"}})
    del data
    idle = rss_kb(gateway)
    peak = idle or 0
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kb(gateway) or 0)
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())

    async def chunks():
        for i in range(0, len(body), 256 << 10):  # sent as a stream, as a phone on a slow link would
            yield body[i:i + (256 << 10)]

    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=300, headers={"Authorization": f"Bearer {token}"}) as h:
        r = await h.post("/graphql", content=chunks(), headers={"Content-Type": ctype})
    took = time.perf_counter() - t0
    done.set()
    await sampler
    ok = bool((r.json().get("data") or {}).get("uploadAttachment")) if r.status_code == 200 else False
    return {"mb": mb, "ok": ok, "seconds": round(took, 1), "gateway_idle_rss_mb": round((idle or 0) / 1024, 1),
            "gateway_peak_rss_mb": round(peak / 1024, 1), "peak_over_idle_mb": round((peak - (idle or 0)) / 1024, 1)}


async def measure(url: str, settings: Settings, data_dir: Path | None, work: Workload | None, n: int, clients: int,
                  video_mb: int) -> dict[str, Any]:
    """One round: the 50 MB video on the idle gateway, then `n` photo uploads and their downloads
    under the mixed workload `work` (None: alone), with memory before and after."""
    token = work.operator if work else ""
    gateway, mongo = pid_of(data_dir, "gateway"), pid_of(data_dir, "mongo")
    ids = await cases_for(url, token, work.t, n // PER_CASE + 2) if work else []
    out: dict[str, Any] = {"photo_bytes": 0, "uploads_n": n, "clients": clients,
                           "mixed_clients": work.clients if work else 0}
    if video_mb:
        say(f"evidence: one {video_mb} MB video upload on the idle gateway ...")
        out["video"] = await big_upload(url, token, ids[-1], gateway, video_mb)
        say(f"  {out['video']}")
    data = photo()
    out["photo_bytes"] = len(data)
    out["rss_before_mb"] = {"gateway": round((rss_kb(gateway) or 0) / 1024, 1),
                            "store": round((rss_kb(mongo) or 0) / 1024, 1)}
    bg = Background(work)
    bg.start()
    try:
        say(f"evidence: {n} uploads of a {len(data) / 1e6:.1f} MB photo, {clients} clients, mixed load beside ...")
        out["upload"], urls = await uploads(url, token, ids, data, n, clients)
        say(f"  upload {out['upload']}")
        say(f"evidence: {len(urls)} downloads ...")
        out["download"] = await downloads(urls, clients)
        say(f"  download {out['download']}")
    finally:
        out["mixed_ops"] = await bg.finish()
    out["rss_after_mb"] = {"gateway": round((rss_kb(gateway) or 0) / 1024, 1),
                           "store": round((rss_kb(mongo) or 0) / 1024, 1)}
    return out


def medians(runs: list[dict]) -> dict[str, Any]:
    def med(path: tuple[str, ...]) -> float | None:
        values = []
        for r in runs:
            v: Any = r
            for k in path:
                v = (v or {}).get(k)
            if isinstance(v, int | float):
                values.append(v)
        return statistics.median(values) if values else None

    return {f"{a}.{b}": med((a, b)) for a, bs in (
        ("upload", ("throughput_per_s", "mb_per_s", "p50_ms", "p99_ms", "errors")),
        ("download", ("throughput_per_s", "mb_per_s", "p50_ms", "p99_ms", "errors")),
        ("rss_before_mb", ("gateway", "store")), ("rss_after_mb", ("gateway", "store")),
        ("video", ("peak_over_idle_mb", "seconds"))) for b in bs}


async def standalone(stack: BenchStack, args: argparse.Namespace) -> dict[str, Any]:
    from shared.identity import settings_token

    su = settings_token(stack.settings, sub="bench-superadmin", role="superadmin")
    gql = Gql(stack.url, su)
    try:
        territory = await discover(gql, max_grids=50, log=say)
    finally:
        await gql.close()
    work = Workload(stack.url, stack.settings, territory, max(1, args.mixed_clients), dict(DEFAULT_MIX),
                    datetime.now().strftime("%H%M%S"))
    if args.mixed_clients == 0:
        work = None  # type: ignore[assignment]
    probe = Gql(stack.url)
    try:
        if work:
            await work.probe_new_ops(probe)
    finally:
        await probe.close()
    runs = []
    for i in range(args.runs):
        say(f"== evidence run {i + 1} of {args.runs} ==")
        stack.wait_quiet()
        runs.append(await measure(stack.url, stack.settings, stack.data, work if args.mixed_clients else None,
                                  args.uploads, args.clients, args.video_mb if i == 0 or args.video_each else 0))
    return {"runs": runs, "median": medians(runs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uploads", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4, help="concurrent uploaders (and downloaders)")
    ap.add_argument("--mixed-clients", type=int, default=8, help="clients of the mixed workload beside (0: alone)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--video-mb", type=int, default=50)
    ap.add_argument("--video-each", action="store_true", help="the video in every run, not only the first")
    ap.add_argument("--out", type=Path, default=Path("bench-results"))
    args = ap.parse_args()
    started = datetime.now()
    with BenchStack() as stack:
        stack.seed("small")
        result = {"started": started.isoformat(timespec="seconds"), "args": vars(args) | {"out": str(args.out)},
                  **asyncio.run(standalone(stack, args))}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"evidence-{started.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(json.dumps(result["median"], indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
