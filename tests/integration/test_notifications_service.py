"""The notifications service on real NATS and SecantusDB, fed by the real cases service: one inbox
row per recipient per event (also when the process dies between its commit and its ack), the
verbs each see only their caller's rows, NOTIFICATION_ADDED on the recipient's inbox subject,
preferences, quiet hours, SMS through the provider, phones nowhere at rest."""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
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
        """Until every event the services committed is on its stream (their outboxes published)
        and the inbox consumers have each acknowledged (nothing pending, nothing held)."""
        js = self.cases.rpc.nc.jetstream()

        async def unpublished() -> int:
            return sum([await rt.db.outbox.count_documents({"published": False}) for rt in self.stack.runtimes
                        if rt.name != "notifications"])

        await eventually(unpublished, lambda n: n == 0, timeout=self.settings.rpc_timeout_s)

        async def held() -> int:
            n = 0
            for source in SOURCES:
                info = await js.consumer_info(stream_name(source), "notifications-inbox")
                n += info.num_pending + info.num_ack_pending
            return n

        await eventually(held, lambda n: n == 0, timeout=self.settings.rpc_timeout_s + 3 * ACK_WAIT_S)


@contextlib.asynccontextmanager
async def open_world(nats_dir, mongo_port: int, volunteers: bool = True, **settings) -> AsyncIterator[World]:
    """grids, cases (and volunteers) in-process on a NATS of its own, the gateway, the test territory."""
    nats_server = start_nats(nats_dir)
    stack = Stack(make_settings(nats_server.port, mongo_port, **settings))
    cases = None
    try:
        await stack.start_service("grids")
        await stack.start_service("cases", sla_grid_s=7200)
        if volunteers:
            await stack.start_service("volunteers")
        await stack.start_gateway(services=("grids", "cases"))
        await build_tree(stack)
        cases = await CasesClient.connect(stack)
        await cases.wait_territory(GRIDS)
        if volunteers:
            await CasesClient(stack, cases.rpc, "volunteers").wait_territory(["comm-a", "grid-a1"])
        yield World(stack, cases)
    finally:
        if cases is not None:
            await cases.close()
        await stack.close()
        nats_server.stop()


@pytest.fixture(scope="module")
async def world(mongo_server, tmp_path_factory):
    async with open_world(tmp_path_factory.mktemp("nats-notify"), mongo_server.port,
                          ack_wait_s=ACK_WAIT_S, notify_poll_s=0.2) as w:
        yield w


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
        # committed, never acknowledged (events are handled eight at a time: a second one's commit
        # may have landed as the process died)
        assert 1 <= await db.notifications.count_documents({}) < 4
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


async def test_each_caller_reads_and_marks_only_its_own_rows(world, notifications):
    r1 = world.stack.token(role="resident", sub="k-r1")
    r2 = world.stack.token(role="resident", sub="k-r2")
    page = await world.call("notification.list", r1)
    assert [i["type"] for i in page["items"]] == ["CASE_RESOLVED", "CASE_ACCEPTED"]  # newest first
    assert page["total"] == 2 and not page["hasNext"] and page["items"][1]["title"] == "您反映的问题已受理"
    assert page["items"][0]["link"]["kind"] == "CASE" and not page["items"][0]["read"]
    first = await world.call("notification.list", r1, first=1)
    rest = await world.call("notification.list", r1, first=1, after=first["endCursor"])
    assert first["hasNext"] and [first["items"][0]["id"], rest["items"][0]["id"]] == [i["id"] for i in page["items"]]
    mine = [i["id"] for i in page["items"]]
    assert (await world.call("notification.get", r1, id=mine[0]))["body"].startswith("您反映的“路灯不亮”已办结")
    await expect_error(world.call("notification.get", r2, id=mine[0]), "NOT_FOUND")  # as if it did not exist
    assert (await world.call("notification.markRead", r2, ids=mine))["count"] == 0
    assert (await world.call("notification.list", r1, unreadOnly=True))["total"] == 2
    assert (await world.call("notification.markRead", r1, ids=[*mine, *mine, "nope"]))["count"] == 2
    assert (await world.call("notification.markRead", r1, ids=mine))["count"] == 0  # already read
    unread = await world.call("notification.list", r1, unreadOnly=True)
    assert unread["total"] == 0 and unread["items"] == []
    assert (await world.call("notification.get", r1, id=mine[0]))["readAt"] is not None
    # the grid worker reads its own row and its grid's shared inbox
    assert len((await world.call("notification.inboxKeys", world.gw))["keys"]) == 2
    assert [i["type"] for i in (await world.call("notification.list", world.gw))["items"]] == ["CASE_ASSIGNED"]
    # limits and typed errors
    await expect_error(world.call("notification.list", r1, first=101), "BAD_INPUT")
    await expect_error(world.call("notification.markRead", r1, ids=["x"] * 101), "BAD_INPUT")
    await expect_error(world.call("notification.list", r1, extra=1), "BAD_INPUT")
    await expect_error(world.call("notification.list", world.stack.token("service")), "FORBIDDEN")


async def test_notification_added_reaches_only_the_recipients_inbox_subject(world, notifications):
    r5 = world.stack.token(role="resident", sub="k-r5")
    (key,) = (await world.call("notification.inboxKeys", r5))["keys"]
    (other,) = (await world.call("notification.inboxKeys", world.stack.token(role="resident", sub="k-r6")))["keys"]
    assert key != other and "k-r5" not in key
    nc = await nats.connect(world.settings.nats_url)
    got: asyncio.Queue = asyncio.Queue()
    seen_other: list = []
    try:
        async def mine(msg):
            await got.put(msg)

        async def theirs(msg):
            seen_other.append(msg)

        await nc.subscribe(f"yiwang.evt.notifications.NOTIFICATION_ADDED.{key}", cb=mine)
        await nc.subscribe(f"yiwang.evt.notifications.NOTIFICATION_ADDED.{other}", cb=theirs)
        c = await world.report("k-r5")
        await world.cases("case.accept", world.op, id=c["id"])
        msg = await asyncio.wait_for(got.get(), world.settings.rpc_timeout_s)
        event = json.loads(msg.data)
        assert event["data"]["notificationType"] == "CASE_ACCEPTED" and event["data"]["link"]["id"] == c["id"]
        assert "title" not in event["data"] and "body" not in event["data"] and "k-r5" not in msg.data.decode()
        row = await world.call("notification.get", r5, id=event["data"]["notificationId"])
        assert row["type"] == "CASE_ACCEPTED"
        assert seen_other == []
    finally:
        await nc.close()


async def test_preferences_mute_opt_in_and_quiet_hours(world, notifications, caplog):
    caplog.set_level(logging.INFO, logger="yiwang.notifications.providers")
    sms = notifications.sender.providers["SMS"]
    before = sms.sent
    r7, r8 = (world.stack.token(role="resident", sub=s) for s in ("k-r7", "k-r8"))
    assert (await world.call("preferences.get", r7))["channels"] == {"SMS": False, "WECHAT": False}
    p = await world.call("preferences.set", r7, channels={"SMS": True, "WECHAT": False}, mutedTypes=["CASE_REJECTED"])
    assert p["channels"]["SMS"] and p["mutedTypes"] == ["CASE_REJECTED"] and p["timeZone"] == world.settings.timezone
    await expect_error(world.call("preferences.set", r7, mutedTypes=["CASE_NOPE"]), "BAD_INPUT")
    await expect_error(world.call("preferences.set", r7, quietHours={"start": "7pm", "end": "07:00"}), "BAD_INPUT")
    await expect_error(world.call("preferences.set", r7), "BAD_INPUT")
    assert (await world.call("preferences.get", r7))["mutedTypes"] == ["CASE_REJECTED"]  # refused changes nothing
    # r8 is in quiet hours now (city time): its SMS waits for their end
    now = datetime.now(ZoneInfo(world.settings.timezone))
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=2)).strftime("%H:%M")
    await world.call("preferences.set", r8, channels={"SMS": True}, quietHours={"start": start, "end": end})
    a, b, c = await world.report("k-r7"), await world.report("k-r7"), await world.report("k-r8")
    await world.cases("case.accept", world.op, id=a["id"])
    await world.cases("case.reject", world.op, id=b["id"], reason="重复")
    await world.cases("case.accept", world.op, id=c["id"])
    await world.idle()
    client, db = await world.db()
    try:
        assert [i["type"] for i in (await world.call("notification.list", r7))["items"]] == ["CASE_ACCEPTED"]  # muted
        sent = await eventually(lambda: db.outgoing.find_one({"sub": "k-r7"}), lambda o: o and o["status"] == "SENT",
                                timeout=world.settings.rpc_timeout_s)
        assert sent["template"] == "YW_CASE_ACCEPTED" and sent["_id"].endswith(":SMS") and sent["recipient"] == "sub:k-r7"
        assert sms.sent == before + 1 and "138****5678" in caplog.text and PHONE not in caplog.text
        waiting = await db.outgoing.find_one({"sub": "k-r8"})
        assert waiting["status"] == "PENDING" and waiting["due_at"] > datetime.now(ZoneInfo("UTC")).replace(tzinfo=None)
        # a phone number is nowhere at rest in the service's database
        for name in await db.list_collection_names():
            async for doc in db[name].find({}):
                assert PHONE not in json.dumps(doc, default=str), name
    finally:
        await client.close()


async def test_the_audience_verb_is_for_services_only(world):
    c = await world.report("k-r9")
    for role in ("resident", "operator", "superadmin"):
        await expect_error(world.cases("case.audience", world.stack.token(role=role, region="town-a"), id=c["id"]),
                           "FORBIDDEN")
    service = world.stack.token("service")
    plain = await world.cases("case.audience", service, id=c["id"])
    assert plain["reporterSubs"] == ["k-r9"] and "reporterPhones" not in plain and plain["gridId"] == "grid-a1"
    assert (await world.cases("case.audience", service, id=c["id"], phones=True))["reporterPhones"] == {"k-r9": PHONE}
    await expect_error(world.cases("case.audience", service, id="nope"), "NOT_FOUND")


async def test_an_approved_order_tells_the_volunteers_on_duty_and_a_taken_one_its_resident(world, notifications):
    vols = CasesClient(world.stack, world.cases.rpc, "volunteers")
    admin = world.stack.token(role="admin", region="comm-a", sub="adm-a")
    holder, other = (world.stack.token(role="volunteer", region="comm-a", sub=s) for s in ("v-holder", "v-other"))
    for token, name in ((holder, "志愿者甲"), (other, "志愿者乙")):
        await vols("volunteer.register", token, name=name, homeRegionId="comm-a", phone="13800001111")
    post = await vols("post.create", admin, title="民事调解岗", type="MEDIATION", regionId="grid-a1", capacity=2)
    await vols("post.claim", holder, id=post["id"])
    resident = world.stack.token(role="resident", sub="k-o1")
    order = await vols("order.place", resident, category="助老", description="帮忙买菜", lng=113.005, lat=30.005)
    await vols("order.review", admin, id=order["id"], approve=True)
    await vols("order.take", holder, id=order["id"])
    await expect_error(vols("order.audience", resident, id=order["id"]), "FORBIDDEN")
    await world.idle()
    approved = (await world.call("notification.list", holder))["items"]
    assert [(i["type"], i["link"]) for i in approved] == [("ORDER_APPROVED", {"kind": "ORDER", "id": order["id"]})]
    assert "助老" in approved[0]["body"]
    assert (await world.call("notification.list", other))["total"] == 0  # holds no post there
    assert [i["type"] for i in (await world.call("notification.list", resident))["items"]] == ["ORDER_TAKEN"]
