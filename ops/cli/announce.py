"""Once the gateway is ready: tell the user where it is, and load demo data if asked.

The gateway is ready (and `/readyz` says so) before the demo is loaded; the announcement says
the demo is loading, the seeder says how far along it is, and `demo ready` comes only once it
is loaded. A completed load is recorded in `<data dir>/demo.json`, so a restart on the same
data says when the demo it holds was loaded (its dates are relative to that day), and a
territory left by an interrupted load is not passed off as the demo.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ops.cli.supervisor import say
from shared.settings import Settings

READY_TIMEOUT_S = 120.0


async def announce(settings: Settings, demo: bool, scale: str = "small") -> None:
    base = f"http://127.0.0.1:{settings.http_port}"
    if not await wait_ready(f"{base}/readyz", READY_TIMEOUT_S):
        say(f"the gateway was not ready within {READY_TIMEOUT_S:g}s; see its log")
        return
    ide = "" if settings.production else " (GraphiQL in a browser)"
    say(f"GraphQL: {base}/graphql{ide}")
    say("a token: yiwang token --role superadmin")
    if demo:
        await seed_demo(settings, scale)


async def wait_ready(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    return False


def marker(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "demo.json"


def loaded_before(settings: Settings, scale: str) -> dict | None:
    """The record of a completed demo load of `scale` in this data dir, if there is one."""
    try:
        record = json.loads(marker(settings).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("scale") == scale else None


async def seed_demo(settings: Settings, scale: str = "small") -> None:
    """The demo data of `scale` (ops/cli/seed.py); `small` is what `make run` loads."""
    try:
        from ops.cli.seed import seed
    except ImportError as e:
        say(f"warning: no demo data yet ({e})")
        return
    try:
        result = await seed(
            settings,
            scale,
            say=say,
            note='; the stack answers meanwhile, but wait for "demo ready" before the README\'s walkthroughs',
        )
    except Exception as e:  # noqa: BLE001 - the stack stays up without demo data
        say(
            f"warning: the demo failed to load ({e!r}); the stack runs on without it. "
            f"To load it again: {afresh(settings)}"
        )
        return
    if result.loaded:
        loaded_at = datetime.now(UTC).replace(microsecond=0)
        marker(settings).write_text(
            json.dumps(
                {"scale": scale, "loadedAt": loaded_at.isoformat(), "summary": result.summary}, ensure_ascii=False
            )
            + "\n"
        )
        say(f"demo ready: {result.summary}")
        return
    record = loaded_before(settings, scale)
    if record is None:
        say(
            f"demo: {result.summary}, and no completed demo load is recorded in {marker(settings)}; "
            f"if a load was interrupted, start afresh: {afresh(settings)}"
        )
        return
    say(
        f"demo ready: loaded on {record['loadedAt'][:10]}, so its dates (the case history, the joint meetings) "
        f"are relative to that day; for a fresh one: {afresh(settings)}"
    )


def afresh(settings: Settings) -> str:
    """How to start again on an empty data dir."""
    data = settings.data_dir.resolve()
    if data == (Path.cwd() / ".yiwang").resolve():
        return "yiwang stop, make clean, make run"
    return f"yiwang stop, remove {data}, start again"
