"""The costly requests of an attacker or a careless client, against a running stack, with what
each costs and whether other users' requests kept flowing meanwhile.

    .venv/bin/python -m tests.bench.attacks --url http://127.0.0.1:8000 --run .yiwang/run
    .venv/bin/python -m tests.bench.attacks --only statuses,me990 --hold 90

The stack is any `yiwang up --demo` (the demo's cases give `case(id)` something to read); the
The development issuer's key (under the data dir) and the issuer come from the `YIWANG_*` environment, as for `yiwang`. For each attack it
prints the answer (HTTP status and `extensions.code`), its wall time, the CPU seconds the
gateway and the store spent meanwhile (from /proc, by the pids in `--run`), and a probe: one
other user reading `case(id)` in a loop while the attack is in flight (requests, failures, and
their slowest time). Slow clients are given up after `--hold` seconds.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from shared.identity import settings_token
from shared.settings import Settings
from tests.bench.stack import cpu_seconds

CASE_QUERY = "query($id: ID!) { case(id: $id) { id status } }"


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def answer(r: httpx.Response | None, error: str = "") -> str:
    if r is None:
        return error or "no answer"
    try:
        body = r.json()
    except ValueError:
        return f"{r.status_code} {r.headers.get('content-type', '')} {r.text[:60]!r}"
    codes = sorted({(e.get("extensions") or {}).get("code", "-") for e in body.get("errors") or []})
    return f"{r.status_code} {','.join(codes) or 'data'}"


class Probe:
    """Another user reading one case, one request after the other, while an attack runs."""

    def __init__(self, http: httpx.AsyncClient, token: str, case_id: str):
        self.http, self.token, self.case_id = http, token, case_id
        self.times: list[float] = []
        self.failures = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                r = await self.http.post("/graphql", json={"query": CASE_QUERY, "variables": {"id": self.case_id}},
                                         headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
                ok = r.status_code == 200 and not r.json().get("errors")
            except (httpx.HTTPError, ValueError):
                ok = False
            self.times.append(time.perf_counter() - t0)
            self.failures += not ok
            await asyncio.sleep(0.05)

    def summary(self) -> str:
        if not self.times:
            return "no probe"
        ts = sorted(self.times)
        return (f"{len(ts)} reads, {self.failures} failed, median {ts[len(ts) // 2] * 1000:.0f} ms, "
                f"max {ts[-1] * 1000:.0f} ms")


class Bench:
    def __init__(self, url: str, run_dir: Path, hold_s: float):
        self.url, self.hold_s = url, hold_s
        u = urlparse(url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        s = Settings()
        self.settings = s
        self.pids = {p.stem: int(p.read_text()) for p in run_dir.glob("*.pid")}
        self.http = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(120.0),
                                      limits=httpx.Limits(max_connections=200))
        self.staff = self.token("attack-staff", "superadmin")
        self.resident = self.token("attack-resident", "resident")
        self.case_id = ""

    def token(self, sub: str, role: str, region: str | None = None) -> str:
        return settings_token(self.settings, sub=sub, role=role, region=region)

    async def gql(self, body: Any, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await self.http.post("/graphql", content=content,
                                     headers={**headers, "Content-Type": "application/json"}, **kw)

    async def setup(self) -> None:
        r = await self.gql({"query": "{ cases(first: 1) { edges { node { id } } } }"}, self.staff)
        edges = r.json()["data"]["cases"]["edges"]
        if not edges:
            raise SystemExit("no case to read: run the attacks against `yiwang up --demo`")
        self.case_id = edges[0]["node"]["id"]

    async def measure(self, name: str, attack: Callable[[], Awaitable[str]]) -> dict[str, Any]:
        gw, store = self.pids.get("gateway"), self.pids.get("mongo")
        cpu0 = {k: cpu_seconds(p) for k, p in (("gateway", gw), ("store", store)) if p}
        hwm0 = rss_kb(gw, "VmHWM") if gw else 0
        probe = Probe(self.http, self.token("attack-probe", "superadmin"), self.case_id)
        probe_task = asyncio.create_task(probe.run())
        t0 = time.perf_counter()
        try:
            outcome = await attack()
        except Exception as e:  # noqa: BLE001 - the figure is what happened
            outcome = f"client error: {type(e).__name__}: {e}"[:120]
        wall = time.perf_counter() - t0
        settle = await self.settle([p for p in (gw, store) if p])  # work the attack left behind
        probe._stop.set()
        await probe_task
        cpu = {k: cpu_seconds(p) - cpu0[k] for k, p in (("gateway", gw), ("store", store)) if p}
        row = {"attack": name, "answer": outcome, "wall_s": round(wall, 2), "settle_s": round(settle, 1),
               **{f"{k}_cpu_s": round(v, 2) for k, v in cpu.items()},
               "gateway_peak_rss_growth_mb": round(max(0, (rss_kb(gw, "VmHWM") if gw else 0) - hwm0) / 1024, 1),
               "probe": probe.summary()}
        print(json.dumps(row, ensure_ascii=False), flush=True)
        return row

    async def settle(self, pids: list[int], window_s: float = 1.0, quiet_windows: int = 3,
                     timeout_s: float = 300.0) -> float:
        """Seconds until the gateway and the store are quiet again (under a tenth of a core
        each, `quiet_windows` windows in a row), so the CPU an attack leaves queued behind it is
        counted with it."""
        t0, quiet = time.perf_counter(), 0
        while time.perf_counter() - t0 < timeout_s and quiet < quiet_windows:
            before = [cpu_seconds(p) for p in pids]
            await asyncio.sleep(window_s)
            calm = all(cpu_seconds(p) - b < 0.1 * window_s for p, b in zip(pids, before, strict=True))
            quiet = quiet + 1 if calm else 0
        return time.perf_counter() - t0 - quiet * window_s

    # -- the attacks --------------------------------------------------------------------------
    async def me990(self) -> str:
        """Ten unauthenticated `{ me { sub } … }` documents of 990 repeats (11 KB) at once."""
        rs = await asyncio.gather(*(self.gql(self.me990_doc(i)) for i in range(10)))
        return "; ".join(sorted({answer(r) for r in rs}))

    def me990_doc(self, i: int) -> dict[str, str]:
        """A new text each time (a comment): the gateway caches by text what it parsed and validated."""
        return {"query": "{ " + "me { sub } " * 990 + f"}} # {self.case_id} {time.time_ns()} {i}"}

    async def me990_auth(self) -> str:
        """The same with a valid token: the field budget, not authentication, must stop it."""
        rs = await asyncio.gather(*(self.gql(self.me990_doc(i), self.staff) for i in range(10)))
        return "; ".join(sorted({answer(r) for r in rs}))

    async def unique_docs(self) -> str:
        """400 different 11 KB documents, from 8 principals (within the rate limit): what the
        gateway keeps of them (its resident memory after, against before)."""
        gw = self.pids.get("gateway")
        before = rss_kb(gw) if gw else 0
        tokens = [self.token(f"attack-docs-{i}", "superadmin") for i in range(8)]
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> httpx.Response:
            async with sem:
                await asyncio.sleep(0.4)  # 8 principals × 2.5/s: under any sane rate limit
                return await self.gql(self.me990_doc(i), tokens[i % 8])

        rs = await asyncio.gather(*(one(i) for i in range(400)))
        grown = ((rss_kb(gw) if gw else 0) - before) / 1024
        return "; ".join(sorted({answer(r) for r in rs})) + f"; resident memory +{grown:.0f} MB"

    async def statuses(self) -> str:
        """A staff token's `cases(filter: {statuses: [20,000 × REPORTED]})`, twice at once."""
        doc = {"query": "query($s: [CaseStatus!]) { cases(filter: {statuses: $s}) "
                        "{ totalCount edges { node { id } } } }",
               "variables": {"s": ["REPORTED"] * 20_000}}
        rs = await asyncio.gather(*(self.gql(doc, self.staff) for _ in range(2)))
        return "; ".join(sorted({answer(r) for r in rs}))

    async def huge_body(self) -> str:
        """150 MB announced by Content-Length and sent as fast as the gateway takes it."""
        return await asyncio.to_thread(self._raw_body, 150 * 1024 * 1024, chunked=False)

    async def huge_chunked(self) -> str:
        """150 MB in chunks, no Content-Length."""
        return await asyncio.to_thread(self._raw_body, 150 * 1024 * 1024, chunked=True)

    def _raw_body(self, size: int, chunked: bool) -> str:
        head = (f"POST /graphql HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {self.staff}\r\n")
        head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n"
        block = b'{"query":"' + b"x" * (1024 * 1024 - 10)
        sent = 0
        with socket.create_connection((self.host, self.port), timeout=self.hold_s) as s:
            s.sendall(head.encode())
            try:
                while sent < size:
                    piece = block[: min(len(block), size - sent)]
                    s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    sent += len(piece)
                if chunked:
                    s.sendall(b"0\r\n\r\n")
            except OSError as e:
                return f"{self._status(s)} after {sent / 1e6:.1f} MB sent ({type(e).__name__})"
            return f"{self._status(s)} after all {sent / 1e6:.1f} MB sent"

    @staticmethod
    def _status(s: socket.socket) -> str:
        try:
            s.settimeout(30)
            data = s.recv(4096)
        except OSError:
            return "no answer"
        return data.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"

    async def slow_headers(self) -> str:
        """50 connections that send half a request line and a header byte every 5 s."""
        return await self._slow(lambda: [b"POST /graphql HTTP/1.1\r\nHost: x\r\n", *([b"X"] * 1000)])

    async def idle_connections(self) -> str:
        """50 connections that send nothing at all."""
        return await self._slow(lambda: [])

    async def slow_body(self) -> str:
        """50 requests announcing 100 bytes of body and sending a byte every 5 s."""
        head = (f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {self.staff}\r\nContent-Length: 100\r\n\r\n").encode()
        return await self._slow(lambda: [head, *([b" "] * 99)])

    async def _slow(self, pieces: Callable[[], list[bytes]], n: int = 50) -> str:
        async def one() -> float | None:
            t0 = time.perf_counter()
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                async with asyncio.timeout(self.hold_s):
                    for piece in pieces():
                        writer.write(piece)
                        await writer.drain()
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(5):
                                await reader.read(4096)  # an answer (408) or the end: cut
                                return time.perf_counter() - t0
                    await reader.read(4096)
                    return time.perf_counter() - t0
            except (TimeoutError, ConnectionError):
                return None if time.perf_counter() - t0 >= self.hold_s else time.perf_counter() - t0
            finally:
                writer.close()

        held = await asyncio.gather(*(one() for _ in range(n)))
        cut = [h for h in held if h is not None]
        if not cut:
            return f"all {n} still held after {self.hold_s:g}s"
        return f"{len(cut)}/{n} cut, after {min(cut):.1f}-{max(cut):.1f}s"

    async def big_string(self) -> str:
        """A 9 MB description in a report."""
        doc = {"query": "mutation($d: String!) { reportCase(input: {title: \"t\", description: $d, "
                        "categoryCode: \"OTHER\", channel: HOTLINE, reporterName: \"x\", lng: 113.81, lat: 30.81})"
                        " { id } }", "variables": {"d": "x" * 9_000_000}}
        return answer(await self.gql(doc, self.resident))

    async def deep_json(self) -> str:
        """A body nested 5,000 deep."""
        body = b'{"query":"{ me { sub } }","variables":{"v":' + b"[" * 5000 + b"]" * 5000 + b"}}"
        return answer(await self.gql(body, self.staff))

    async def surrogate(self) -> str:
        """A lone UTF-16 surrogate in a string variable."""
        body = b'{"query":"query($v:ID){ pointsBalance(volunteerId:$v) }","variables":{"v":"\\ud800"}}'
        return answer(await self.gql(body, self.staff))

    async def rate(self) -> str:
        """600 cheap requests from one token, 30 at a time."""
        sem = asyncio.Semaphore(30)
        token = self.token("attack-flood", "superadmin")

        async def one() -> httpx.Response:
            async with sem:
                return await self.gql({"query": "{ me { sub } }"}, token)

        rs = await asyncio.gather(*(one() for _ in range(600)))
        by: dict[int, int] = {}
        for r in rs:
            by[r.status_code] = by.get(r.status_code, 0) + 1
        retry = next((r.headers.get("retry-after") for r in rs if r.status_code == 429), None)
        return ", ".join(f"{n}×{code}" for code, n in sorted(by.items())) + (f"; Retry-After {retry}" if retry else "")


ATTACKS = ["me990", "me990_auth", "unique_docs", "statuses", "huge_body", "huge_chunked", "slow_headers", "idle_connections",
           "slow_body", "big_string", "deep_json", "surrogate", "rate"]


async def main_async(args: argparse.Namespace) -> None:
    bench = Bench(args.url, Path(args.run), args.hold)
    await bench.setup()
    for name in args.only.split(",") if args.only else ATTACKS:
        await bench.measure(name, getattr(bench, name))
    await bench.http.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('YIWANG_HTTP_PORT', '8000')}")
    ap.add_argument("--run", default=str(Settings().data_dir / "run"), help="the stack's pid files")
    ap.add_argument("--only", default="", help=f"comma-separated, of: {','.join(ATTACKS)}")
    ap.add_argument("--hold", type=float, default=90.0, help="give a slow client up after this many seconds")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
