"""`/readyz`: whether this gateway can serve writes now.

Ready when NATS is connected and every service answers its ping within two seconds. A
service answers only while it can write to its database (its heartbeat write succeeded in
the last few seconds, `shared.service.ServiceRuntime._ping`), so a store that is down, or
that stopped taking writes, makes the gateway not ready too, with the reason."""

from __future__ import annotations

import asyncio
from typing import Any

from shared.auth import service_token
from shared.errors import DomainError
from shared.messaging.rpc import RpcClient
from shared.settings import Settings

PING_TIMEOUT_S = 2.0


async def readiness(
    nc: Any, rpc: RpcClient | None, settings: Settings, services: list[str]
) -> tuple[bool, dict[str, Any]]:
    """(ready, the body of the answer: per service, ready or not, and why not)."""
    if nc is None or rpc is None or not nc.is_connected:
        return False, {"status": "unavailable", "nats": False}
    token = service_token(settings.jwt_secret, "gateway", settings.jwt_issuer)

    async def ping(name: str) -> str | None:
        try:
            await rpc.call(name, "ping", {}, token, timeout_s=PING_TIMEOUT_S)
            return None
        except DomainError as e:
            return e.message
        except Exception as e:  # noqa: BLE001 - any failure means not ready
            return f"{type(e).__name__}: {e}"

    problems = dict(zip(services, await asyncio.gather(*(ping(s) for s in services)), strict=True))
    ready = not any(problems.values())
    body: dict[str, Any] = {
        "status": "ready" if ready else "unavailable",
        "nats": True,
        "services": {s: p is None for s, p in problems.items()},
    }
    if not ready:
        body["reasons"] = {s: p for s, p in problems.items() if p}
    return ready, body
