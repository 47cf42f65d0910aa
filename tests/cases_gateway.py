"""Helpers for case tests through the gateway (GraphQL and graphql-transport-ws); RPC-level ones are in cases_helpers."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import websockets

from tests.infra import Stack
from tests.territory import build_tree

CASE_FIELDS = """id title status level channel kind version overdue dueAt resolvedAtLevel rating reopened
  escalations region { id } category { code name defaultLevel } location { lng lat }
  reporter { name phone } assignee { kind id name } timeline { type actor level note }"""

REPORT = f"mutation($input: ReportCaseInput!) {{ reportCase(input: $input) {{ {CASE_FIELDS} }} }}"
GET = f"query($id: ID!) {{ case(id: $id) {{ {CASE_FIELDS} }} }}"
LIST = "query($f: CaseFilter, $first: Int) { cases(filter: $f, first: $first) { totalCount edges { node { id } } } }"
STATS = """query($id: ID!) { overview(regionId: $id) { cases { total open overdue resolved closed rejected merged
  responded resolvedOnTime rated satisfied awaitingRating resolvedByLevel { level count }
  responseRate resolutionRate satisfactionRate fengqiaoShare } } }"""

IN_A1, IN_A2, IN_B1 = (113.005, 30.005), (113.015, 30.005), (114.005, 30.005)

# Principals of the tree built by tests.territory.build_tree.
R1 = {"role": "resident", "sub": "r1"}
R2 = {"role": "resident", "sub": "r2"}
GW_A1 = {"role": "grid_worker", "region": "grid-a1", "sub": "gw-a1"}
GW_A2 = {"role": "grid_worker", "region": "grid-a2", "sub": "gw-a2"}
OP_A = {"role": "operator", "region": "town-a", "sub": "op-a"}
OP_B = {"role": "operator", "region": "town-b", "sub": "op-b"}
ADMIN_A = {"role": "admin", "region": "county-a", "sub": "admin-a"}
DEPT = {"role": "department", "region": "county-a", "sub": "dept-urban", "dept": "URBAN_MGMT"}


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def report_input(point: tuple[float, float] | None = IN_A1, **extra: Any) -> dict:
    base = {"title": "楼下垃圾堆放三天未清运", "description": "3号楼东侧", "categoryCode": "ENV_GARBAGE",
            "channel": "MINI_PROGRAM", "reporterName": "张三", "reporterPhone": "13812345678"}
    if point:
        base |= {"lng": point[0], "lat": point[1]}
    return base | extra


async def report(stack: Stack, who: dict = R1, point: tuple[float, float] | None = IN_A1, **extra: Any) -> dict:
    return (await stack.ok(REPORT, {"input": report_input(point, **extra)}, **who))["reportCase"]


async def act(stack: Stack, mutation: str, who: dict, **args: Any) -> dict:
    """Run one case mutation that must succeed, e.g. act(stack, "acceptCase", GW_A1, id=...)."""
    return (await stack.ok(mutation_text(mutation, args), args, **who))[mutation]


async def try_act(stack: Stack, mutation: str, who: dict, **args: Any) -> dict:
    return await stack.gql(mutation_text(mutation, args), args, **who)


_ARG_TYPES = {"id": "ID!", "intoId": "ID!", "caseId": "ID!", "reason": "String!", "resolution": "String!",
              "score": "Int!", "comment": "String", "note": "String", "force": "Boolean",
              "assignee": "AssigneeInput!", "expectedVersion": "Int"}


def mutation_text(name: str, args: dict) -> str:
    decl = ", ".join(f"${k}: {_ARG_TYPES[k]}" for k in args)
    use = ", ".join(f"{k}: ${k}" for k in args)
    fields = "name phone" if name == "revealReporterContact" else CASE_FIELDS
    return f"mutation({decl}) {{ {name}({use}) {{ {fields} }} }}"


async def eventually(probe: Callable[[], Awaitable[Any]], until: Callable[[Any], bool],
                     timeout: float = 10.0, every: float = 0.1) -> Any:
    """Poll `probe` until `until(value)`; return the value, or fail with the last one seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s; last value: {value}")
        await asyncio.sleep(every)


async def wait_cases_know_tree(stack: Stack, grids: tuple[str, ...] = ("grid-a1", "grid-a2", "grid-b1", "grid-b2")) -> None:
    """The cases service routes with its own replica of the territory, fed by grids events."""
    async def known() -> bool:
        bodies = [await stack.gql(LIST, {"f": {"regionId": g}, "first": 0}) for g in grids]
        return all(not b.get("errors") for b in bodies)

    await eventually(known, bool, timeout=20)


async def start_cases_stack(stack: Stack, **case_settings: Any) -> dict[str, str]:
    await stack.start_service("grids")
    await stack.start_service("cases", **case_settings)
    await stack.start_gateway(services=("grids", "cases"))
    ids = await build_tree(stack)
    await wait_cases_know_tree(stack)
    return ids


async def case_stats(stack: Stack, region_id: str, **who: Any) -> dict:
    return (await stack.ok(STATS, {"id": region_id}, **who))["overview"]["cases"]


class RequestCounter:
    """A bystander on the bus that records the subjects of the requests matching `subject`
    (wildcards allowed): how many calls an operation made to which services.

        async with RequestCounter(stack, "yiwang.*.stats.batch") as seen:
            ...; await seen.settle(); assert seen.calls == [...]
    """

    def __init__(self, stack: Stack, subject: str):
        self.stack, self.subject = stack, subject
        self.calls: list[str] = []

    async def __aenter__(self) -> RequestCounter:
        self.nc = await nats.connect(self.stack.settings.nats_url)

        async def seen(msg) -> None:
            self.calls.append(msg.subject)

        await self.nc.subscribe(self.subject, cb=seen)
        await self.nc.flush()
        return self

    async def settle(self) -> list[str]:
        """The calls so far: a round trip to the server delivers what it had routed before."""
        await self.nc.flush()
        return self.calls

    async def __aexit__(self, *exc: object) -> None:
        await self.nc.close()


class Subscriber:
    """A graphql-transport-ws client, spoken by hand."""

    def __init__(self, stack: Stack, token: str | None):
        self.url = f"ws://127.0.0.1:{stack.settings.http_port}/graphql"
        self.token, self.ws = token, None

    async def __aenter__(self) -> Subscriber:
        self.ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])
        payload = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        await self.send({"type": "connection_init", "payload": payload})
        ack = await self.receive()
        assert ack["type"] == "connection_ack", ack
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, timeout: float = 10.0) -> dict:
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def subscribe(self, query: str, variables: dict, id: str = "1") -> None:
        await self.send({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})

    async def events_until(self, stop: Callable[[dict], bool], timeout: float = 10.0) -> list[dict]:
        """Collect `next` payloads' data until one satisfies `stop` (included)."""
        seen: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            message = await self.receive(max(deadline - time.monotonic(), 0.01))
            assert message["type"] == "next", message
            assert not message["payload"].get("errors"), message
            seen.append(message["payload"]["data"])
            if stop(message["payload"]["data"]):
                return seen


async def init_answer(stack: Stack, payload: dict | None, subprotocol: str = "graphql-transport-ws") -> str:
    """What the server answers a `connection_init` with this payload: its first message's type,
    or `closed <code>` (4403: the token was refused)."""
    url = f"ws://127.0.0.1:{stack.settings.http_port}/graphql"
    async with websockets.connect(url, subprotocols=[subprotocol]) as ws:
        message = {"type": "connection_init", **({"payload": payload} if payload is not None else {})}
        try:
            await ws.send(json.dumps(message))
            return json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
        except websockets.ConnectionClosed as e:
            return f"closed {e.rcvd.code if e.rcvd else None}"


async def consumer_count(stack: Stack, stream: str = "YIWANG_CASES") -> int:
    nc = await nats.connect(stack.settings.nats_url)
    try:
        return (await nc.jetstream().stream_info(stream)).state.consumer_count
    finally:
        await nc.close()


async def wait_consumers(stack: Stack, at_least: int) -> None:
    """A subscription starts delivering once its JetStream consumer exists: wait for that."""
    await eventually(lambda: consumer_count(stack), lambda n: n >= at_least, timeout=10, every=0.05)
