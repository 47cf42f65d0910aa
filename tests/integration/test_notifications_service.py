"""The notifications service on real NATS and SecantusDB, fed by the real cases service: one inbox
row per recipient per event (also when the process dies between its commit and its ack), the
verbs each see only their caller's rows, NOTIFICATION_ADDED on the recipient's inbox subject,
preferences, quiet hours, SMS through the provider, phones nowhere at rest."""
from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import nats
import pytest

from services.notifications.app import SOURCES
from shared.messaging.streams import stream_name
from tests.cases_gateway import eventually
from tests.cases_helpers import GRIDS, REPORT, CasesClient, expect_error
from tests.faults.test_outbox_crash import service_env
from tests.infra import Stack, make_settings, start_nats
from tests.territory import build_tree

PHONE = REPORT["reporterPhone"]
ACK_WAIT_S = 5  # a delivery the killed process held comes again after this


class World:
    def __init__(self, stack: Stack, cases: CasesClient):
        self.stack, self.cases = stack, cases
        self.op = stack.token(role="operator", region="town-a", sub="op-a")
        self.gw = stack.token(role="grid_worker", region="grid-a1", sub="gw-a1")

    @property
    def settings(self):
        return self.stack.settings

    def runtime(self, name: str):
        return next((rt for rt in self.stack.runtimes if rt.name == name), None)

    async def db(self):
        from pymongo import AsyncMongoClient

        client = AsyncMongoClient(self.settings.mongo_url)
        return client, client[self.settings.db_name("notifications")]

    async def call(self, verb: str, token: str, **payload):
        return await self.cases.rpc.call("notifications", verb, payload, token)

    async def report(self, sub: str, **extra) -> dict:
        return await self.cases("case.report", self.stack.token(role="resident", sub=sub), **REPORT,
                                regionId="grid-a1", **extra)

    async def ready(self, proc: subprocess.Popen) -> None:
        """Until the service process answers its ping (it has declared its consumers by then)."""
        token = self.stack.token("service")

        async def ping() -> bool:
            assert proc.poll() is None, "the service process exited at start"
            try:
                await self.cases.rpc.call("notifications", "ping", {}, token, timeout_s=1)
                return True
            except Exception:  # noqa: BLE001 - not up yet
                return False

        await eventually(ping, bool, timeout=120)

    async def idle(self) -> None:
        """Until the inbox consumers have every event acknowledged (nothing pending, nothing held)."""
        js = self.cases.rpc.nc.jetstream()

        async def held() -> int:
            n = 0
            for source in SOURCES:
                info = await js.consumer_info(stream_name(source), "notifications-inbox")
                n += info.num_pending + info.num_ack_pending
            return n

        await eventually(held, lambda n: n == 0, timeout=self.settings.rpc_timeout_s + 3 * ACK_WAIT_S)


@pytest.fixture(scope="module")
async def world(mongo_server, tmp_path_factory):
    nats_server = start_nats(tmp_path_factory.mktemp("nats-notify"))
    stack = Stack(make_settings(nats_server.port, mongo_server.port, ack_wait_s=ACK_WAIT_S, notify_poll_s=0.2))
    cases = None
    try:
        await stack.start_service("grids")
        await stack.start_service("cases", sla_grid_s=7200)
        await stack.start_gateway(services=("grids", "cases"))
        await build_tree(stack)
        cases = await CasesClient.connect(stack)
        await cases.wait_territory(GRIDS)
        yield World(stack, cases)
    finally:
        if cases is not None:
            await cases.close()
        await stack.close()
        nats_server.stop()


@pytest.fixture
async def notifications(world):
    """The service in-process (started once, after the kill test's process is gone)."""
    if world.runtime("notifications") is None:
        await world.stack.start_service("notifications")
    return world.runtime("notifications")


async def test_killed_between_commit_and_ack_it_still_writes_one_row_per_recipient(world):
    """The process dies right after its first inbox transaction commits (the runtime's fault
    hook), before acknowledging the event; its successor gets the event again, and every other."""
    env = service_env(world.settings, YIWANG_FAULT="crash_after_commit", YIWANG_ACK_WAIT_S=str(ACK_WAIT_S))
    proc = subprocess.Popen([sys.executable, "-m", "services.notifications"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await world.ready(proc)
        a = await world.report("k-r1")
        b = await world.report("k-r2")
        await world.cases("case.accept", world.op, id=a["id"])
        await world.cases("case.assign", world.op, id=a["id"], assignee={"kind": "GRID_WORKER", "id": "gw-a1"})
        await world.cases("case.resolve", world.gw, id=a["id"], resolution="已修复")
        await world.cases("case.reject", world.op, id=b["id"], reason="不属于受理范围")
        code = await asyncio.get_running_loop().run_in_executor(None, proc.wait, 180)
        assert code == 137, proc.stderr.read().decode() if proc.stderr else code  # died at its first commit
        client, db = await world.db()
        assert await db.notifications.count_documents({}) == 1  # committed, never acknowledged
        await world.stack.start_service("notifications")
        await world.idle()
        rows = await db.notifications.find({}).to_list(None)
        got = Counter((r["type"], r["recipient"], r["eventId"]) for r in rows)
        assert sorted((t, k) for t, k, _ in got) == sorted([
            ("CASE_ACCEPTED", "sub:k-r1"), ("CASE_ASSIGNED", "sub:gw-a1"), ("CASE_RESOLVED", "sub:k-r1"),
            ("CASE_REJECTED", "sub:k-r2")])
        assert set(got.values()) == {1}
        added = await db.outbox.count_documents({"type": "yiwang.notifications.NOTIFICATION_ADDED.v1"})
        assert added == len(rows)
        await client.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
