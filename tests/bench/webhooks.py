"""The webhook part of `make bench`: event → webhook delivered latency under the mixed load, and the
same for the other receivers once one endpoint hangs (never answers).

The receivers run in a process of their own (`python -m tests.bench.webhooks --good N`: N answering
receivers and one that never answers, on free ports), so that the load generator's loop does not
delay what they record. Each receipt is printed as a JSON line: the receiver, the delivery id, the
event's own `time` (when the service recorded it) and the receipt's time; latency = receipt − the
event's time (one machine, one clock). `WebhookBench` registers the N webhooks (superadmin, the
city's root, every case event type the workload causes) before the mixed phase, the hanging one
halfway through, and splits the receipts by the event's time: before the hang, and after it.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from datetime import datetime
from typing import Any

from tests.bench.stack import ROOT, stop_child
from tests.bench.workload import Gql, latency_summary

EVENT_TYPES = ["REPORTED", "ACCEPTED", "ASSIGNED", "STARTED", "RESOLVED", "RATED", "CLOSED", "REOPENED",
               "CASE_DISPATCHED", "CASE_REPLIED", "CASE_VERIFIED", "CASE_RETURN_VISITED"]
REGISTER = """mutation($i: RegisterWebhookInput!) { registerWebhook(input: $i) { webhook { id } } }"""
DEACTIVATE = "mutation($id: ID!) { deactivateWebhook(id: $id) { id } }"


# -- the receivers' process ---------------------------------------------------------------------
async def serve(good: int) -> None:
    def out(m: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(m) + "\n")
        sys.stdout.flush()

    async def handler(i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in
                                                                  head.decode().split("\r\n")[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                t = time.time()
                if i < 0:  # the hanging one: holds the request, never answers
                    out({"r": i, "open": True})
                    await asyncio.Event().wait()
                event = json.loads(body)
                out({"r": i, "d": headers.get("x-yiwang-delivery"), "id": event["id"],
                     "te": datetime.fromisoformat(event["time"]).timestamp(), "t": t,
                     "ts": int(headers.get("x-yiwang-timestamp", 0))})
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    servers = {}
    for i in [*range(good), -1]:
        servers[i] = await asyncio.start_server(lambda r, w, i=i: handler(i, r, w), "127.0.0.1", 0)
    out({"ready": {str(i): s.sockets[0].getsockname()[1] for i, s in servers.items()}})
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the bench closes stdin


# -- the bench side ------------------------------------------------------------------------------
class WebhookBench:
    def __init__(self, url: str, token: str, region: str, good: int):
        self.url, self.token, self.region, self.good = url, token, region, good
        self.ports: dict[int, int] = {}
        self.hooks: dict[int, str] = {}
        # receiver -> event id -> (the event's time, the receipt's, the signature's: when it was sent, in whole seconds)
        self.recv: dict[int, dict[str, tuple[float, float, int]]] = {i: {} for i in range(good)}
        self.duplicates = 0
        self.hang_open = 0
        self.hang_at: float | None = None
        self.started_at = 0.0
        self.proc: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.bench.webhooks", "--good", str(self.good), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env=env, limit=1 << 20)
        self.reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self._ready.wait(), 30)
        gql = Gql(self.url, self.token)
        try:
            for i in range(self.good):
                self.hooks[i] = await self._register(gql, i)
        finally:
            await gql.close()
        self.started_at = time.time()

    async def _register(self, gql: Gql, i: int) -> str:
        data = await gql(REGISTER, {"i": {"url": f"http://127.0.0.1:{self.ports[i]}/bench", "eventTypes": EVENT_TYPES,
                                          "regionId": self.region}})
        return data["registerWebhook"]["webhook"]["id"]

    async def hang(self, after_s: float) -> None:
        """Halfway through the phase: a webhook whose receiver never answers."""
        await asyncio.sleep(after_s)
        gql = Gql(self.url, self.token)
        try:
            self.hooks[-1] = await self._register(gql, -1)
            self.hang_at = time.time()
        finally:
            await gql.close()

    async def _read(self) -> None:
        assert self.proc and self.proc.stdout
        async for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                m = json.loads(line)
                if "ready" in m:
                    self.ports = {int(k): v for k, v in m["ready"].items()}
                    self._ready.set()
                elif m.get("open"):
                    self.hang_open += 1
                elif m.get("r", -1) in self.recv:
                    got = self.recv[m["r"]]
                    if m["id"] in got:
                        self.duplicates += 1
                    got.setdefault(m["id"], (m["te"], m["t"], m["ts"]))

    async def drain(self, quiet_s: float, most_s: float = 120.0) -> None:
        """Until no receiver has had anything for `quiet_s` and every answering receiver has every
        event one of them has (or `most_s`): the deliveries of the phase's last events come in."""
        deadline = time.monotonic() + most_s
        last, count = time.monotonic(), -1
        while time.monotonic() < deadline:
            n = sum(len(r) for r in self.recv.values())
            if n != count:
                last, count = time.monotonic(), n
            everything = set().union(*(set(r) for r in self.recv.values()))
            if time.monotonic() - last >= quiet_s and all(len(r) == len(everything) for r in self.recv.values()):
                return
            await asyncio.sleep(0.2)

    def summary(self) -> dict[str, Any]:
        everything = set().union(*(set(r) for r in self.recv.values()))
        before: list[float] = []
        during: list[float] = []
        for got in self.recv.values():
            for te, t, _ in got.values():
                (during if self.hang_at is not None and te >= self.hang_at else before).append(t - te)
        out: dict[str, Any] = {
            "receivers": self.good, "events": len(everything),
            "missed": sum(len(everything) - len(r) for r in self.recv.values()),
            "duplicates": self.duplicates,
            "event_to_delivered": latency_summary(before + during),
            "event_to_delivered_before_hang": latency_summary(before),
            "event_to_delivered_with_one_hanging": latency_summary(during),
            "hanging_requests_held": self.hang_open,
        }
        if self.hang_at is not None:
            # for the diagnosis: receiver, the event's time after the hang began, its latency, and of
            # that the part before it was sent (the signature's whole second): all in seconds
            slow = sorted(((t - te, i, te - self.hang_at, ts - te) for i, got in self.recv.items()
                           for te, t, ts in got.values() if te >= self.hang_at), reverse=True)[:10]
            out["slowest_with_one_hanging"] = [[i, round(after, 2), round(lat, 2), round(queued, 1)]
                                               for lat, i, after, queued in slow]
        b = out["event_to_delivered_before_hang"].get("p99_ms")
        d = out["event_to_delivered_with_one_hanging"].get("p99_ms")
        if b and d:
            out["p99_with_one_hanging_vs_before"] = round(d / b, 2)
        return out

    async def stop(self) -> None:
        """Deactivate the webhooks (on a stack given by --url nothing keeps trying them), then end the receivers."""
        if self.hooks:
            gql = Gql(self.url, self.token)
            try:
                for hook in self.hooks.values():
                    with contextlib.suppress(Exception):
                        await gql(DEACTIVATE, {"id": hook})
            finally:
                await gql.close()
        await stop_child(self.proc, self.reader)


def main() -> None:
    ap = argparse.ArgumentParser(description="webhook receivers for the bench (N answering, one hanging)")
    ap.add_argument("--good", type=int, default=3)
    asyncio.run(serve(ap.parse_args().good))


if __name__ == "__main__":
    main()
