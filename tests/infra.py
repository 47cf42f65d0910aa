"""Real infrastructure for tests: nats-server and SecantusDB on free ports, services in-process."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import tempfile
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from shared.auth import service_token
from shared.embedded import free_port, mongo_command, nats_command, port_open
from shared.identity import settings_token
from shared.service import ServiceRuntime
from shared.settings import Settings

_suffix = itertools.count()


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        if port_open(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing answered on port {port} within {timeout}s")


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the test process dies, even by SIGKILL or timeout."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_process(cmd: list[str], log: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=open(log, "ab"), stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    wait_port(port, timeout=60, proc=proc)
    return proc


def stop_process(proc: subprocess.Popen, grace_s: float = 10) -> None:
    """SIGTERM, up to `grace_s` to exit, then SIGKILL; returns once it is gone."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    data_dir: Path

    def stop(self) -> None:
        stop_process(self.proc)


def start_nats(data_dir: Path, port: int | None = None) -> Server:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = start_process(nats_command(port, data_dir), data_dir / "nats.log", port)
    return Server(proc, port, data_dir)


def start_mongo(data_dir: Path, port: int | None = None, durable: bool = True) -> Server:
    """SecantusDB as the platform runs it; `port` and `data_dir` again restart a killed one."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = start_process(mongo_command(port, data_dir, durable=durable), data_dir / "mongo.log", port)
    return Server(proc, port, data_dir)


# One development issuer for the test process (its services, started as processes, read the
# same files): people's tokens are signed by it and verified by its JWKS, as in `make run`.
ISSUER_KEY = Path(tempfile.mkdtemp(prefix="yiwang-test-issuer-")) / "key.pem"


def make_settings(nats_port: int, mongo_port: int, **overrides: Any) -> Settings:
    base = dict(
        issuer_key_file=ISSUER_KEY,
        assignment_cache_s=0.5,  # a role given or revoked takes effect within a test's patience
        env="test",
        nats_url=f"nats://127.0.0.1:{nats_port}",
        mongo_url=f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true&retryWrites=false",
        db_suffix=f"_t{next(_suffix)}_{free_port()}",
        # rpc_timeout_s only tells a hang from slowness: on a loaded 2-core machine a request that
        # waits on the store's lock can take seconds, and a test must not fail for that.
        relay_poll_s=0.2, max_deliver=3, rpc_timeout_s=30.0, locator_resync_s=5.0,
        http_port=free_port(),
        # A test's few principals send far more than a person would; the per-principal rate
        # limit is tested on its own (tests/e2e/test_request_limits.py).
        rate_limit_per_s=0,
    )
    base.update(overrides)
    return Settings(**base)


@dataclass
class Stack:
    """Services in-process against real servers; the gateway on real uvicorn when started."""

    settings: Settings
    runtimes: list[ServiceRuntime] = field(default_factory=list)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task | None = None
    http: httpx.AsyncClient | None = None

    async def start_service(self, name: str, **overrides: Any) -> ServiceRuntime:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        module = __import__(f"services.{name}.app", fromlist=["create_runtime"])
        rt = module.create_runtime(settings)
        await rt.start()
        self.runtimes.append(rt)
        return rt

    async def stop_service(self, rt: ServiceRuntime) -> None:
        await rt.stop()
        self.runtimes.remove(rt)

    async def start_gateway(self, services: tuple[str, ...] = ("grids",)) -> None:
        from gateway.app import create_app
        from gateway.limits import server_options

        config = uvicorn.Config(create_app(self.settings, services), host="127.0.0.1",
                                port=self.settings.http_port, log_level="warning", lifespan="on",
                                **server_options(self.settings))
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.settings.http_port}", timeout=30)

    def token(self, role: str = "superadmin", region: str | None = None, sub: str | None = None,
              **extra: Any) -> str:
        if role == "service":  # a service's own token: the internal key and audience
            return service_token(self.settings.jwt_secret, "test", self.settings.jwt_issuer, sub=sub)
        return settings_token(self.settings, sub=sub or f"test-{role}", role=role, region=region, **extra)

    async def gql(self, query: str, variables: dict | None = None, token: str | None = None,
                  **token_args: Any) -> dict:
        assert self.http is not None, "start_gateway() first"
        tok = token if token is not None else self.token(**token_args)
        headers = {"Authorization": f"Bearer {tok}"} if tok else {}
        r = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        return r.json()

    async def ok(self, query: str, variables: dict | None = None, **kw: Any) -> dict:
        """Run an operation that must succeed; return its data."""
        body = await self.gql(query, variables, **kw)
        assert not body.get("errors"), body.get("errors")
        return body["data"]

    async def close(self) -> None:
        if self.http:
            await self.http.aclose()
        if self._server:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await self._task
        for rt in reversed(self.runtimes):
            with contextlib.suppress(Exception):
                await rt.stop()
        await self.drop_databases()

    async def drop_databases(self) -> None:
        """The test's databases go with it: the session's store keeps only what later tests write
        (a store that holds every earlier test's data grows slower as the suite goes on)."""
        from pymongo import AsyncMongoClient

        client: AsyncMongoClient = AsyncMongoClient(self.settings.mongo_uri, serverSelectionTimeoutMS=5000)
        try:
            with contextlib.suppress(Exception):
                for name in await client.list_database_names():
                    if name.endswith(self.settings.db_suffix) and self.settings.db_suffix:
                        await client.drop_database(name)
        finally:
            await client.close()


def start_s3(data_dir: Path, port: int | None = None) -> Server:
    """An S3-compatible server process (moto's server mode, from its wheel) for the S3 blob store."""
    import sys

    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = start_process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                         data_dir / "s3.log", port)
    return Server(proc, port, data_dir)
