"""A webhook delivery whose process dies holding it is still delivered, once.

The notifications process inserts an event's delivery row already claimed by itself when the
webhook has a free slot, and tries it at once. Killed right then (the dispatcher's fault hook:
the row is in the store, claimed, its try counted, nothing sent), the row comes due again when
its lease runs out, and the successor delivers it, once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta

import pytest

from shared.errors import Forbidden, Unavailable
from tests.cases_gateway import eventually
from tests.faults.test_outbox_crash import service_env
from tests.integration.test_notifications_service import open_world

TIMEOUT_S, MARGIN_S = 2.0, 1.0  # a try's time and the lease's margin: a dead holder's row is due after 3 s
HOOK = dict(
    webhook_allow_private=True, webhook_timeout_s=TIMEOUT_S, webhook_lease_margin_s=MARGIN_S, webhook_poll_s=0.2
)


@pytest.fixture(scope="module")
async def world(mongo_server, tmp_path_factory):
    async with open_world(tmp_path_factory.mktemp("nats-hook-crash"), mongo_server.port, volunteers=False, **HOOK) as w:
        yield w


async def test_a_row_claimed_by_a_process_that_died_is_delivered_once_by_its_successor(world):
    received: list[bytes] = []

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(ln.split(b":")[1]) for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length"))
        received.append(await reader.readexactly(length))
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(receive, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    env = service_env(
        world.settings,
        YIWANG_FAULT="webhook_crash_before_try",
        YIWANG_WEBHOOK_ALLOW_PRIVATE="true",
        YIWANG_WEBHOOK_TIMEOUT_S=str(TIMEOUT_S),
        YIWANG_WEBHOOK_LEASE_MARGIN_S=str(MARGIN_S),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.notifications"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    client = None
    try:
        await world.ready(proc)
        admin = world.stack.token(role="admin", region="county-a", sub="admin-a")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else proc.returncode

        async def register() -> dict | None:
            """Once the process has subscribed its webhook verbs (it answers `ping` a moment
            earlier) and learnt the territory from grids' events (until then FORBIDDEN)."""
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else proc.returncode
            try:
                return await world.call(
                    "webhook.register",
                    admin,
                    url=url,
                    eventTypes=["REPORTED"],
                    regionId="county-a",
                    idempotencyKey="crash-hook",
                )
            except (Forbidden, Unavailable):
                return None

        hook = await eventually(register, bool, timeout=60)
        case = await world.report("hook-r1")
        code = await asyncio.get_running_loop().run_in_executor(None, proc.wait, 180)
        assert code == 137, proc.stderr.read().decode() if proc.stderr else code  # died about to try it
        client, db = await world.db()
        (row,) = await db.webhookDeliveries.find({}).to_list(None)
        assert row["webhookId"] == hook["webhook"]["id"] and row["eventType"] == "REPORTED"
        assert row["status"] == "PENDING" and row["attempts"] == 1 and row["claim"]
        lease = row["nextAt"] - row["createdAt"]
        assert lease == timedelta(seconds=TIMEOUT_S + MARGIN_S), "claimed: not due until its lease runs out"
        assert received == []

        await world.stack.start_service("notifications")
        await eventually(lambda: asyncio.sleep(0, received), lambda r: len(r) >= 1, timeout=60)
        done = await eventually(
            lambda: db.webhookDeliveries.find_one({"_id": row["_id"]}), lambda r: r["status"] == "DELIVERED", timeout=30
        )
        assert done["attempts"] == 2
        await asyncio.sleep(TIMEOUT_S + MARGIN_S + 1)  # past another lease: nothing comes twice
        assert len(received) == 1 and case["id"] in received[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if client is not None:
            await client.close()
        server.close()
