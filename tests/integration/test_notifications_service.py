"""The notifications service on real NATS and SecantusDB: it starts, answers `ping`."""
from __future__ import annotations

import nats

from shared.messaging.rpc import RpcClient


async def test_the_service_starts_and_answers_ping(stack):
    await stack.start_service("notifications")
    nc = await nats.connect(stack.settings.nats_servers)
    try:
        reply = await RpcClient(nc, stack.settings.rpc_timeout_s).call("notifications", "ping", {}, stack.token("service"))
        assert reply == {"service": "notifications", "writable": True}
    finally:
        await nc.close()
