"""Once the gateway is ready: tell the user where it is, and load demo data if asked."""
from __future__ import annotations

import asyncio
import time

import httpx

from shared.cli.supervisor import say
from shared.settings import Settings

READY_TIMEOUT_S = 120.0


async def announce(settings: Settings, demo: bool, scale: str = "small") -> None:
    base = f"http://127.0.0.1:{settings.http_port}"
    if not await wait_ready(f"{base}/readyz", READY_TIMEOUT_S):
        say(f"the gateway was not ready within {READY_TIMEOUT_S:g}s; see its log")
        return
    say(f"GraphQL: {base}/graphql")
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


async def seed_demo(settings: Settings, scale: str = "small") -> None:
    """The demo data of `scale` (shared/cli/seed.py); `small` is what `make run` loads."""
    try:
        from shared.cli.seed import seed
    except ImportError as e:
        say(f"warning: no demo data yet ({e})")
        return
    try:
        say(await seed(settings, scale, say=say))
    except Exception as e:  # noqa: BLE001 - the stack stays up without demo data
        say(f"warning: demo data failed to load: {e!r}")
