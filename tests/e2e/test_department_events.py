"""Department-scoped live events: `caseEvents` for a department token (the cases it handles only), and
a plain nats-py consumer with a department's NATS credentials, confined by server permissions to its own
subject space `yiwang.dept.cases.<region>.<code>.>`, that cannot read another department's events."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import nats
import pytest

from shared.embedded import nats_config, nats_server_binary
from shared.messaging.subjects import dept_filters
from tests.cases_gateway import (IN_A1, OP_A, R1, Subscriber, consumer_count, eventually, report, start_cases_stack,
                                 wait_consumers)
from tests.e2e.test_departments import ADMIN_A, CITY_ADMIN, CREATE, DISPATCH, URBAN
from tests.infra import Server, Stack, free_port, make_settings, start_process

EVENTS = "subscription($r: ID!) { caseEvents(regionId: $r) { type caseId } }"
ACCEPT = "mutation($id: ID!) { acceptCase(id: $id) { id } }"
REPLY = 'mutation($id: ID!) { replyToCase(id: $id, text: "已配合") { id } }'
ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {"platform": "platform-pw", "dept_county-a_urban_mgmt": "urban-pw", "dept_county-a_housing": "housing-pw"}
URBAN_USER = "dept_county-a_urban_mgmt"


def confined(region: str, code: str) -> str:
    """The deployed department user (deploy/nats/accounts.conf, `dept_310104_housing`) for another
    department: the same permissions with its region and code, its password inline."""
    conf = (ROOT / "deploy/nats/accounts.conf").read_text()
    start = conf.index("{ user: dept_310104_housing,")
    block = conf[start:conf.index("\n      } }", start) + len("\n      } }")]
    user = f"dept_{region}_{code}".lower()
    block = block.replace("$DEPT_310104_HOUSING_NATS_PASSWORD", f'"{PASSWORDS[user]}"')
    return block.replace("dept_310104_housing", user).replace("310104", region).replace("HOUSING", code)


@pytest.fixture
async def secured(mongo_server, tmp_path):
    """A nats-server with users: the platform (everything) and two departments of county-a."""
    port = free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(nats_config(port, tmp_path / "js") + "authorization {\n  users: [\n"
                    f'    {{ user: platform, password: "{PASSWORDS["platform"]}" }}\n'
                    f"    {confined('county-a', 'URBAN_MGMT')}\n"
                    f"    {confined('county-a', 'HOUSING')}\n  ]\n}}\n")
    server = Server(start_process([nats_server_binary(), "-c", str(conf)], tmp_path / "nats.log", port), port,
                    tmp_path)
    stack = Stack(make_settings(port, mongo_server.port, nats_url=f"nats://platform:{PASSWORDS['platform']}@127.0.0.1:{port}"))
    try:
        yield stack, port
    finally:
        await stack.close()
        server.stop()


async def directory(stack: Stack) -> None:
    await start_cases_stack(stack)
    for region, code, who in (("county-a", "HOUSING", ADMIN_A), ("county-a", "URBAN_MGMT", ADMIN_A),
                              ("city", "WATER", CITY_ADMIN)):
        await stack.ok(CREATE, {"i": {"code": code, "name": code, "regionId": region}}, **who)


async def dispatched(stack: Stack, lead: str, cooperating: list[str]) -> str:
    cid = (await report(stack, R1, IN_A1))["id"]
    await stack.ok(ACCEPT, {"id": cid}, **OP_A)
    await stack.ok(DISPATCH, {"id": cid, "lead": lead, "co": cooperating}, **OP_A)
    return cid


async def test_a_plain_nats_consumer_with_department_credentials_reads_its_own_events_only(secured):
    stack, port = secured
    await directory(stack)
    errors: list[str] = []

    async def on_error(e: Exception) -> None:
        errors.append(str(e))

    urban = await nats.connect(f"nats://127.0.0.1:{port}", user=URBAN_USER, password=PASSWORDS[URBAN_USER],
                               error_cb=on_error, max_reconnect_attempts=0)
    got: list[tuple[str, str]] = []
    stolen: list[str] = []
    try:
        async def mine(msg) -> None:
            got.append((msg.subject, msg.data.decode()))

        async def theirs(msg) -> None:
            stolen.append(msg.subject)

        await urban.subscribe("yiwang.dept.cases.county-a.URBAN_MGMT.>", cb=mine)
        await urban.subscribe("yiwang.dept.cases.county-a.HOUSING.>", cb=theirs)  # refused by the server
        await urban.subscribe("yiwang.evt.cases.>", cb=theirs)  # refused: the region-wide feed is not its
        await urban.flush()
        await eventually(lambda: asyncio.sleep(0, errors), lambda e: len(e) >= 2, timeout=10)
        assert all("permissions violation" in e.lower() for e in errors), errors
        housing_only = await dispatched(stack, "HOUSING", [])
        shared_case = await dispatched(stack, "HOUSING", ["URBAN_MGMT"])
        await stack.ok(REPLY, {"id": shared_case}, **URBAN)
        await eventually(lambda: asyncio.sleep(0, got), lambda g: any(".CASE_REPLIED" in s for s, _ in g), timeout=20)
    finally:
        await urban.close()
    subjects = [s for s, _ in got]
    assert subjects == ["yiwang.dept.cases.county-a.URBAN_MGMT.CASE_DISPATCHED",
                        "yiwang.dept.cases.county-a.URBAN_MGMT.CASE_REPLIED"]
    assert all(shared_case in body and housing_only not in body for _, body in got)
    assert stolen == []
    assert '"deptKeys"' in got[0][1]  # the copy is the event itself, with the departments on the case


async def test_case_events_for_a_department_carry_only_the_cases_it_handles(stack):
    await directory(stack)
    before = await consumer_count(stack)
    sub = await Subscriber(stack, stack.token(**URBAN)).__aenter__()
    try:
        await sub.subscribe(EVENTS, {"r": "county-a"})
        await wait_consumers(stack, before + 1)
        other = await dispatched(stack, "HOUSING", [])
        mine = await dispatched(stack, "HOUSING", ["URBAN_MGMT"])
        await stack.ok(REPLY, {"id": mine}, **URBAN)
        got = [d["caseEvents"] for d in await sub.events_until(lambda d: d["caseEvents"]["type"] == "CASE_REPLIED",
                                                                timeout=20)]
    finally:
        await sub.__aexit__()
    assert [(e["type"], e["caseId"]) for e in got] == [("CASE_DISPATCHED", mine), ("CASE_REPLIED", mine)]
    assert other not in str(got)


async def test_the_example_consumer_reads_its_departments_events_from_a_real_stack(secured):
    """ops/examples/dept_consumer.py, as the README shows it, with the deployed permissions: its
    durable consumer gets the events of the cases its department is on, then nothing more (acked)."""
    stack, port = secured
    await directory(stack)
    housing_only = await dispatched(stack, "HOUSING", [])
    shared_case = await dispatched(stack, "HOUSING", ["URBAN_MGMT"])
    await stack.ok(REPLY, {"id": shared_case}, **URBAN)
    argv = [sys.executable, str(ROOT / "ops/examples/dept_consumer.py"), "--url", f"nats://127.0.0.1:{port}",
            "--user", URBAN_USER, "--region", "county-a", "--code", "URBAN_MGMT", "--catch-up"]
    env = {**os.environ, "YIWANG_DEPT_NATS_PASSWORD": PASSWORDS[URBAN_USER]}

    def run() -> list[dict]:
        out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=True)
        return [json.loads(line) for line in out.stdout.splitlines()]

    got: list[dict] = []
    # The relay publishes a moment after the commit: read until the reply's copy has come.
    await eventually(lambda: asyncio.to_thread(lambda: got.extend(run()) or got),
                     lambda g: any(x["type"] == "CASE_REPLIED" for x in g), timeout=60, every=0.5)
    assert [(x["caseId"], x["type"]) for x in got] == [(shared_case, "CASE_DISPATCHED"), (shared_case, "CASE_REPLIED")]
    assert housing_only not in str(got)
    assert await asyncio.to_thread(run) == []  # every event was acknowledged
