"""Webhooks end to end: real HTTP receivers on free ports, behind the gateway and the notifications
service. Each delivery's signature verifies; a receiver that fails once gets its delivery on a retry;
one that always fails ends DEAD and `redeliverWebhook` brings it back; one that never answers holds
only its own slots while the others get theirs; scope, URL checks and the secret's secrecy."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import pytest

from services.notifications.webhooks.signing import signature, verify
from tests.cases_gateway import ADMIN_A, IN_A1, IN_B1, OP_A, OP_B, R1, eventually, report
from tests.e2e.test_department_events import directory, dispatched
from tests.e2e.test_departments import URBAN, URBAN_B
from tests.infra import Stack, free_port, make_settings, start_nats, wait_port

ACCEPT = "mutation($id: ID!) { acceptCase(id: $id) { id } }"
REGISTER = """mutation($i: RegisterWebhookInput!) { registerWebhook(input: $i) {
  secret webhook { id url eventTypes active departmentKey region { id } } } }"""
LIST = """query { webhooks(first: 50) { totalCount edges { node { id url eventTypes } } } }"""
DELIVERIES = """query { webhooks(first: 50) { edges { node { id deliveries(first: 50) { totalCount edges { node {
  id eventId eventType status attempts lastError responseStatus deliveredAt } } } } } } }"""
DEACTIVATE = "mutation($id: ID!) { deactivateWebhook(id: $id) { id active } }"
REDELIVER = "mutation($d: ID!) { redeliverWebhook(deliveryId: $d) { id status attempts } }"
# Settings of the service under test: tiny backoff, three tries, a pool of three with two per webhook,
# so that a receiver that never answers holds two slots and every other delivery shares the third.
HOOK_SETTINGS = dict(webhook_backoff_base_s=0.05, webhook_backoff_cap_s=0.2, webhook_max_attempts=3,
                     webhook_timeout_s=30.0, webhook_workers=3, webhook_in_flight=2, webhook_poll_s=0.2)


@dataclass
class Receiver:
    """A plain asyncio HTTP/1.1 server: `mode` decides each answer (ok, fail, fail-once, hang)."""
    mode: str
    port: int = 0
    requests: list[dict] = field(default_factory=list)
    open_now: int = 0
    open_max: int = 0
    server: asyncio.AbstractServer | None = None

    async def start(self) -> Receiver:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?token=t0ps3cret"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.requests.append({"line": lines[0], "headers": headers, "body": body, "at": time.time()})
                status = {"ok": 204, "fail": 500}.get(self.mode, 0)
                if self.mode == "fail-once":
                    status = 503 if sum(r["headers"]["x-yiwang-delivery"] == headers["x-yiwang-delivery"]
                                        for r in self.requests) == 1 else 200
                if self.mode == "hang":
                    self.open_now += 1
                    self.open_max = max(self.open_max, self.open_now)
                    try:
                        await asyncio.Event().wait()  # never answers; the dispatcher's timeout ends it
                    finally:
                        self.open_now -= 1
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def deliveries(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for r in self.requests:
            out.setdefault(r["headers"]["x-yiwang-delivery"], []).append(r)
        return out

    async def stop(self) -> None:
        if self.server:
            self.server.close()


@pytest.fixture(scope="module")
async def hooks(mongo_server, tmp_path_factory):
    receivers = {m: await Receiver(m).start() for m in ("ok", "fail-once", "fail", "hang")}  # before the ports
    nats_server = start_nats(tmp_path_factory.mktemp("nats"))
    stack = Stack(make_settings(nats_server.port, mongo_server.port, webhook_allow_private=True))
    try:
        await directory(stack)  # grids, cases, the gateway, the territory and county-a's departments
        stack.notifications = rt = await stack.start_service("notifications", **HOOK_SETTINGS)
        # its own copy of the territory, from grids' events: registration checks the region against it
        await eventually(lambda: asyncio.sleep(0, rt.webhook_territory.path("grid-b2")), bool, timeout=30)
        yield stack, receivers
    finally:
        await stack.close()
        for r in receivers.values():
            await r.stop()
        nats_server.stop()


async def register(stack: Stack, url: str, types: list[str], region_id: str = "county-a", **who) -> dict:
    return (await stack.ok(REGISTER, {"i": {"url": url, "eventTypes": types, "regionId": region_id}},
                           **(who or ADMIN_A)))["registerWebhook"]


async def delivery_rows(stack: Stack, **who) -> dict[str, list[dict]]:
    data = await stack.ok(DELIVERIES, **(who or ADMIN_A))
    return {e["node"]["id"]: [d["node"] for d in e["node"]["deliveries"]["edges"]]
            for e in data["webhooks"]["edges"]}


async def test_deliveries_signed_retried_dead_redelivered_and_a_hanging_receiver_holds_only_its_slots(hooks):
    stack, rx = hooks
    types = ["REPORTED", "ACCEPTED"]
    regs = {m: await register(stack, r.url, types) for m, r in rx.items()}
    ids = {m: reg["webhook"]["id"] for m, reg in regs.items()}
    assert regs["ok"]["webhook"]["region"] == {"id": "county-a"} and regs["ok"]["webhook"]["active"]
    on_bus: dict[str, bytes] = {}  # event id -> the envelope as the bus carries it

    async def seen(m) -> None:
        on_bus[json.loads(m.data)["id"]] = m.data

    nc = await nats.connect(stack.settings.nats_url)
    await nc.subscribe("yiwang.evt.cases.>", cb=seen)
    await nc.flush()
    case = (await report(stack, R1, IN_A1))["id"]
    await stack.ok(ACCEPT, {"id": case}, **OP_A)
    other = (await report(stack, R1, IN_B1))["id"]  # county-b: no webhook of county-a takes it
    await stack.ok(ACCEPT, {"id": other}, **OP_B)

    def delivered(rows: dict[str, list[dict]]) -> bool:
        return all(len(rows[ids[m]]) == 2 and all(d["status"] == "DELIVERED" for d in rows[ids[m]])
                   for m in ("ok", "fail-once"))

    rows = await eventually(lambda: delivery_rows(stack), delivered, timeout=60)
    await nc.close()
    # the other receivers were served while the one that never answers held its slots, two at most
    assert rx["hang"].open_now >= 1 and rx["hang"].open_max <= HOOK_SETTINGS["webhook_in_flight"]
    assert all(d["status"] == "PENDING" for d in rows[ids["hang"]])

    for mode in ("ok", "fail-once"):
        got = rx[mode].deliveries()
        assert sorted(got) == sorted(d["id"] for d in rows[ids[mode]])  # exactly one row per event per webhook
        for delivery, requests in got.items():
            for r in requests:
                h = r["headers"]
                assert r["line"].startswith("POST /hook?token=t0ps3cret ")
                assert h["content-type"] == "application/cloudevents+json"
                assert h["x-yiwang-signature"].startswith("sha256=")
                assert verify(regs[mode]["secret"], r["body"], h["x-yiwang-timestamp"], h["x-yiwang-signature"])
                assert not verify(regs["ok" if mode != "ok" else "fail"]["secret"], r["body"],
                                  h["x-yiwang-timestamp"], h["x-yiwang-signature"])
                event = json.loads(r["body"])
                assert event["specversion"] == "1.0" and event["subject"] == case
                assert delivery == f"{event['id']}:{ids[mode]}"
                assert r["body"] == on_bus[event["id"]]  # the envelope exactly as on the bus
        # fail-once: each delivery answered 503 once, then 200 on its retry
        if mode == "fail-once":
            assert all(len(rs) == 2 for rs in got.values())
            assert all(d["attempts"] == 2 and d["responseStatus"] == 200 for d in rows[ids[mode]])
        else:
            assert all(len(rs) == 1 for rs in got.values())
    assert sorted(json.loads(rs[0]["body"])["type"] for rs in rx["ok"].deliveries().values()) == [
        "yiwang.cases.ACCEPTED.v1", "yiwang.cases.REPORTED.v1"]

    # always failing: DEAD after the configured tries, then back with redeliverWebhook
    dead = await eventually(lambda: delivery_rows(stack), lambda rs: len(rs[ids["fail"]]) == 2 and all(
        d["status"] == "DEAD" for d in rs[ids["fail"]]), timeout=60)
    assert all(d["attempts"] == 3 and d["responseStatus"] == 500 and "500" in d["lastError"]
               for d in dead[ids["fail"]])
    assert all(len(rs) == 3 for rs in rx["fail"].deliveries().values())
    rx["fail"].mode = "ok"  # the receiver is repaired
    one = dead[ids["fail"]][0]["id"]
    again = (await stack.ok(REDELIVER, {"d": one}, **ADMIN_A))["redeliverWebhook"]
    assert again["status"] == "PENDING" and again["attempts"] == 0
    after = await eventually(lambda: delivery_rows(stack), lambda rs: any(
        d["id"] == one and d["status"] == "DELIVERED" for d in rs[ids["fail"]]), timeout=30)
    assert [d["status"] for d in after[ids["fail"]] if d["id"] != one] == ["DEAD"]
    last = rx["fail"].deliveries()[one][-1]
    assert verify(regs["fail"]["secret"], last["body"], last["headers"]["x-yiwang-timestamp"],
                  last["headers"]["x-yiwang-signature"])
    assert rx["fail"].deliveries()[one][0]["body"] == last["body"]  # the same envelope, byte for byte
    # still waiting on the receiver that never answers: its slots are its own
    assert rx["hang"].open_now >= 1
    # deactivated, its queued deliveries end at once (not one by one as their tries come)
    assert not (await stack.ok(DEACTIVATE, {"id": ids["hang"]}, **ADMIN_A))["deactivateWebhook"]["active"]
    ended = (await delivery_rows(stack))[ids["hang"]]
    assert len(ended) == 2 and all(d["status"] == "DEAD" and d["lastError"] == "the webhook was deactivated"
                                   for d in ended)


async def test_a_departments_webhook_gets_only_its_departments_cases(hooks):
    stack, _ = hooks
    rx = await Receiver("ok").start()
    try:
        reg = await register(stack, rx.url, ["CASE_DISPATCHED"], **URBAN)
        assert reg["webhook"]["departmentKey"] == "county-a:URBAN_MGMT"
        stopped = (await register(stack, rx.url + "&stopped", ["CASE_DISPATCHED"], **URBAN))["webhook"]["id"]
        off = (await stack.ok(DEACTIVATE, {"id": stopped}, **URBAN))["deactivateWebhook"]
        assert off == {"id": stopped, "active": False}
        housing_only = await dispatched(stack, "HOUSING", [])
        shared_case = await dispatched(stack, "HOUSING", ["URBAN_MGMT"])
        await eventually(lambda: asyncio.sleep(0, rx.requests), lambda r: len(r) >= 1, timeout=30)
        rows = await eventually(lambda: delivery_rows(stack, **URBAN),
                                lambda rs: bool(rs[reg["webhook"]["id"]]) and all(
                                    d["status"] == "DELIVERED" for d in rs[reg["webhook"]["id"]]))
        assert sorted(rows) == sorted([reg["webhook"]["id"], stopped])  # a department sees its own webhooks only
        assert rows[stopped] == []  # deactivated before the dispatch: nothing queued for it
        assert all(not r["line"].endswith("&stopped HTTP/1.1") for r in rx.requests)
        bodies = [json.loads(r["body"]) for r in rx.requests]
        assert [b["subject"] for b in bodies] == [shared_case] and housing_only not in json.dumps(bodies)
    finally:
        await rx.stop()


async def test_who_may_register_what_and_the_secret_stays_secret(hooks):
    stack, rx = hooks
    nc = await nats.connect(stack.settings.nats_url)
    audit: list[bytes] = []

    async def on_audit(m) -> None:
        audit.append(m.data)

    sub = await nc.subscribe("yiwang.evt.notifications.WEBHOOK_REGISTERED.>", cb=on_audit)
    try:
        reg = await register(stack, "https://hooks.example.com/y?token=abc", ["ACCEPTED"])
        await eventually(lambda: asyncio.sleep(0, audit), lambda a: len(a) >= 1, timeout=20)
    finally:
        await sub.unsubscribe()
        await nc.close()
    event = json.loads(audit[-1])
    assert event["data"]["aggregateId"] == reg["webhook"]["id"] and event["actor"] == ADMIN_A["sub"]
    assert event["data"]["url"] == "https://hooks.example.com/y"  # no query string: it may hold a token
    assert reg["secret"] not in audit[-1].decode()
    stored = await stack.notifications.db["webhooks"].find_one({"_id": reg["webhook"]["id"]})
    assert reg["secret"] not in json.dumps(stored, default=str) and stored["secret_enc"].startswith("v2:")
    listed = await stack.gql(LIST, **ADMIN_A)
    assert reg["secret"] not in json.dumps(listed)

    async def refused(i: dict, code: str, **who) -> None:
        body = await stack.gql(REGISTER, {"i": {"eventTypes": ["ACCEPTED"], "regionId": "county-a", **i}},
                               **(who or ADMIN_A))
        assert body.get("data") is None and body["errors"][0]["extensions"]["code"] == code, body

    url = rx["ok"].url
    await refused({"url": "http://user:pw@hooks.example.com/x"}, "BAD_USER_INPUT")
    await refused({"url": "ftp://hooks.example.com/x"}, "BAD_USER_INPUT")
    await refused({"url": url, "eventTypes": ["not a type"]}, "BAD_USER_INPUT")
    await refused({"url": url, "eventTypes": []}, "BAD_USER_INPUT")
    await refused({"url": url}, "FORBIDDEN", **R1)
    await refused({"url": url}, "FORBIDDEN", **OP_A)
    await refused({"url": url, "regionId": "county-b"}, "FORBIDDEN")  # another county's events
    # twenty active webhooks per owner (here county-b's 城管局)
    for n in range(20):
        await register(stack, f"{url}&n={n}", ["ACCEPTED"], region_id="county-b", **URBAN_B)
    await refused({"url": url, "regionId": "county-b"}, "CONFLICT", **URBAN_B)
    another = {**URBAN_B, "sub": "cg-b-2"}  # the department is the owner, not the user
    await refused({"url": url, "regionId": "county-b"}, "CONFLICT", **another)
    # another county's administrator sees none of county-a's webhooks, nor redelivers their deliveries
    admin_b = {"role": "admin", "region": "county-b", "sub": "admin-b"}
    seen_b = (await stack.ok(LIST, **admin_b))["webhooks"]
    assert seen_b["totalCount"] == 20 and all("&n=" in e["node"]["url"] for e in seen_b["edges"])  # county-b's only
    some = next(d for ds in (await delivery_rows(stack)).values() for d in ds)
    body = await stack.gql(REDELIVER, {"d": some["id"]}, **admin_b)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "ops" / "examples" / "webhook_receiver.py"


def readme_receiver() -> str:
    """The python block of the README's webhooks section."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Webhooks: events pushed"):]
    start = section.index("```python\n") + len("```python\n")
    return section[start:section.index("```", start)]


async def test_the_readme_receiver_verifies_real_deliveries_and_refuses_forged_and_replayed_ones(hooks, tmp_path):
    stack, _ = hooks
    script = readme_receiver()
    assert script == EXAMPLE.read_text()  # the README shows the file verbatim
    assert len(script.splitlines()) <= 30
    (tmp_path / "receiver.py").write_text(script)
    port = free_port()
    url = f"http://127.0.0.1:{port}/yiwang"
    reg = await register(stack, url, ["CASE_DISPATCHED"], **URBAN)
    env = {**os.environ, "WEBHOOK_SECRET": reg["secret"], "PORT": str(port)}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "receiver.py")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        await asyncio.to_thread(wait_port, port, 30.0, proc)
        async with httpx.AsyncClient() as client:
            body = b'{"id":"forged"}'
            forged = await client.post(url, content=body, headers={
                "X-Yiwang-Timestamp": str(int(time.time())), "X-Yiwang-Signature": "sha256=" + "0" * 64})
            old = str(int(time.time()) - 3600)
            replayed = await client.post(url, content=body, headers={
                "X-Yiwang-Timestamp": old, "X-Yiwang-Signature": signature(reg["secret"], old, body)})
            assert (forged.status_code, replayed.status_code) == (401, 401)
        case = await dispatched(stack, "URBAN_MGMT", [])
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)  # type: ignore[union-attr]
        verified, delivery, event_type, subject = line.split()
        assert (verified, event_type, subject) == ("verified", "yiwang.cases.CASE_DISPATCHED.v1", case)
        assert delivery.endswith(":" + reg["webhook"]["id"])
        rows = await eventually(lambda: delivery_rows(stack, **URBAN), lambda rs: any(
            d["status"] == "DELIVERED" for d in rs[reg["webhook"]["id"]]))
        assert [d["responseStatus"] for d in rows[reg["webhook"]["id"]]] == [204]
    finally:
        proc.terminate()
        proc.wait(10)
