"""A throw-away Yiwang stack for benchmarks: `yiwang up` in a temp data dir on free ports.

    with BenchStack() as stack:          # starts, waits for /readyz
        stack.seed("small")              # `yiwang seed --demo [--scale small]`
        ...stack.url, stack.settings...
    # stopped with `yiwang stop`; anything it started that is still alive is killed

Every process belongs to this stack: the launcher (our child) and the children it records in
<data>/run/*.pid. Nothing else on the machine is touched.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from shared.embedded import HTTP_SPAN, free_port
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie of ours is gone for every purpose here
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a live process has used so far."""
    return _cpu_ticks(pid) / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


async def stop_child(proc: asyncio.subprocess.Process | None, reader: asyncio.Task | None) -> None:
    """A helper process of the bench told to stop (its stdin closed), killed after 15 s, its output read."""
    if proc is None:
        return
    if proc.stdin:
        with contextlib.suppress(Exception):
            proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 15)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    if reader:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader, 5)


def seed_knows_scale() -> bool:
    """Whether this checkout's `yiwang seed` takes `--scale small|city`."""
    out = subprocess.run([sys.executable, "-m", "ops.cli.main", "seed", "--help"], cwd=ROOT,
                         capture_output=True, text=True)
    return "--scale" in out.stdout


class BenchStack:
    def __init__(self, keep: bool = False, log_level: str = "WARNING", data: Path | None = None):
        """`data`: a data dir an earlier stack kept (`keep=True`), started again as it was and
        kept again; otherwise a new temp dir."""
        self.data = data or Path(tempfile.mkdtemp(prefix="yiwang-bench-"))
        self.keep = keep or data is not None
        self.http_port, self.nats_port, self.mongo_port = free_port(HTTP_SPAN), free_port(), free_port()
        self.env = dict(os.environ, YIWANG_DATA_DIR=str(self.data), YIWANG_HTTP_PORT=str(self.http_port),
                        YIWANG_NATS_PORT=str(self.nats_port), YIWANG_MONGO_PORT=str(self.mongo_port),
                        YIWANG_LOG_LEVEL=log_level, PYTHONUNBUFFERED="1",
                        # a benchmark measures capacity: a few principals send far more than any
                        # person would, which the per-principal rate limit exists to refuse
                        YIWANG_RATE_LIMIT_PER_S="0")
        for k in ("YIWANG_NATS_URL", "YIWANG_MONGO_URL", "YIWANG_DB_SUFFIX"):  # always the embedded servers
            self.env.pop(k, None)
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        self.settings = Settings(data_dir=self.data, http_port=self.http_port, nats_port=self.nats_port,
                                 mongo_port=self.mongo_port, nats_url=None, mongo_url=None, db_suffix="")
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.launcher: subprocess.Popen | None = None
        self._seen_pids: set[int] = set()

    # -- lifecycle ---------------------------------------------------------------------------
    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ops.cli.main", *args]

    def start(self, timeout: float = 180.0) -> BenchStack:
        say(f"starting a stack in {self.data} (http {self.http_port}, nats {self.nats_port}, "
            f"mongo {self.mongo_port})")
        self.launcher = subprocess.Popen(self.cli("up"), env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL,
                                         stdout=open(self.data / "up.log", "ab"), stderr=subprocess.STDOUT,
                                         start_new_session=True)
        t0 = time.monotonic()
        with httpx.Client(timeout=3.0) as http:
            while time.monotonic() - t0 < timeout:
                if self.launcher.poll() is not None:
                    raise RuntimeError(f"`yiwang up` exited with {self.launcher.returncode}; "
                                       f"see {self.data / 'up.log'}:\n{self._tail('up.log')}")
                try:
                    if http.get(f"{self.url}/readyz").status_code == 200:
                        self._remember_pids()
                        say(f"stack ready in {time.monotonic() - t0:.1f}s")
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
        raise TimeoutError(f"the gateway was not ready within {timeout:g}s; see {self.data / 'logs'}")

    def _tail(self, name: str, n: int = 20) -> str:
        try:
            return "\n".join((self.data / name).read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def _remember_pids(self) -> None:
        if self.launcher:
            self._seen_pids.add(self.launcher.pid)
        for f in (self.data / "run").glob("*.pid"):
            try:
                self._seen_pids.add(int(f.read_text()))
            except (OSError, ValueError):
                pass

    def named_pids(self) -> dict[str, int]:
        """name -> pid of the live processes of this stack (nats, mongo, the services, gateway)."""
        out = {}
        for f in (self.data / "run").glob("*.pid"):
            try:
                pid = int(f.read_text())
            except (OSError, ValueError):
                continue
            if _alive(pid):
                out[f.stem] = pid
                self._seen_pids.add(pid)
        return out

    def pids(self) -> list[int]:
        """The live processes of this stack (launcher and its children)."""
        self._remember_pids()
        return [p for p in sorted(self._seen_pids) if _alive(p)]

    def stop(self) -> None:
        self._remember_pids()
        if self.launcher is not None and self.launcher.poll() is None:
            subprocess.run(self.cli("stop"), env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=90, check=False)
            try:
                self.launcher.wait(30)
            except subprocess.TimeoutExpired:
                self.launcher.terminate()
        strays = [p for p in self._seen_pids if _alive(p)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in strays:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + 5
            while (strays := [p for p in strays if _alive(p)]) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not strays:
                break
        if self.launcher is not None:
            try:
                self.launcher.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if not self.keep:
            shutil.rmtree(self.data, ignore_errors=True)
        say("stack stopped" + (f"; data kept in {self.data}" if self.keep else ""))

    def __enter__(self) -> BenchStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- data --------------------------------------------------------------------------------
    def seed(self, scale: str, timeout: float = 3600.0, stats: dict | None = None) -> str:
        return seed(self.env, scale, timeout, stats)

    def wait_quiet(self, cpu_share: float = 0.15, window_s: float = 1.0, timeout: float = 180.0) -> float:
        """Wait until the stack's processes together use under `cpu_share` of one core (relays,
        projectors and consumers have caught up). Returns the seconds waited."""
        hz = os.sysconf("SC_CLK_TCK")
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            pids = self.pids()
            before = sum(_cpu_ticks(p) for p in pids)
            time.sleep(window_s)
            used = (sum(_cpu_ticks(p) for p in pids) - before) / hz / window_s
            if used < cpu_share:
                break
        return time.monotonic() - t0


# A part of the seed done, as `ops.cli.progress.Progress.part` says it: "seed: <part>: <n> <unit> in <s>s"
SEED_PART = re.compile(r"^seed: (?P<name>.+?): (?P<count>\d+) (?P<unit>\D.*?) in (?P<seconds>\d+(?:\.\d+)?)s$")
# Parts counted in places rather than records (each writes several of them): left out of `records`.
NOT_RECORDS = {"communities"}


def loader_rate(parts: dict[str, dict], seconds: float) -> dict:
    """The seeder's records a second: the records its parts say they loaded ÷ the whole seed's
    wall time (parts run side by side in the city's seed, so their own times do not add up)."""
    records = sum(p["count"] for p in parts.values() if p["unit"] not in NOT_RECORDS)
    return {"records": records, "seconds": round(seconds, 1),
            "records_per_s": round(records / seconds, 1) if seconds > 0 else None, "parts": parts}


def seed(env: dict[str, str], scale: str, timeout: float = 3600.0, stats: dict | None = None) -> str:
    """`yiwang seed --demo --scale <scale>` against the stack `env` points at; returns the
    dataset actually loaded ('small' when this checkout cannot seed a larger one yet).
    Progress lines are passed through; `stats`, when given, gets the loader's rate
    (`loader_rate`: records, seconds, records_per_s, and each part's count, unit and time)."""
    args = ["seed", "--demo"]
    loaded = "small"
    if seed_knows_scale():
        args += ["--scale", scale]
        loaded = scale
    elif scale != "small":
        say(f"`yiwang seed` has no --scale yet: loading the small demo instead of {scale!r}")
    say(f"seeding: yiwang {' '.join(args)}")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli.main", *args], env=env, cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    stop = threading.Event()
    parts: dict[str, dict] = {}

    def ticker() -> None:
        while not stop.wait(15):
            say(f"  ... still seeding ({time.monotonic() - t0:.0f}s)")

    threading.Thread(target=ticker, daemon=True).start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            say(f"  seed: {line.rstrip()}")
            if m := SEED_PART.match(line.strip()):
                secs = float(m["seconds"])
                parts[m["name"]] = {"count": int(m["count"]), "unit": m["unit"], "seconds": secs,
                                    "per_s": round(int(m["count"]) / secs, 1) if secs > 0 else None}
        proc.wait(timeout)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
    if proc.returncode != 0:
        raise RuntimeError(f"seeding failed with exit code {proc.returncode}")
    wall = time.monotonic() - t0
    if stats is not None:
        stats.update(loader_rate(parts, wall))
    say(f"seeded {loaded} in {wall:.1f}s")
    return loaded
