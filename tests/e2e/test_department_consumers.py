"""A department's durable JetStream consumer against a nats-server run with the real
`deploy/nats/accounts.conf` (passwords from the environment, as the file expects): the department
user creates its filtered durable consumer, reads its department's events, acknowledges them, replays
from a time, and is refused everything else (another department's subjects, the region subjects, an
unfiltered or differently filtered consumer, another consumer's messages, the stream itself)."""
from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nats
import pytest

from ops.examples import dept_consumer
from shared.embedded import nats_config, nats_server_binary
from shared.messaging.envelope import make_event
from shared.messaging.streams import ensure_stream, stream_config
from shared.messaging.subjects import dept_subjects, event_subject
from tests.cases_gateway import eventually
from tests.infra import Server, free_port, start_process

ROOT = Path(__file__).resolve().parents[2]
# every user of the deployed file (its passwords come from `$<USER>_NATS_PASSWORD`)
USERS = tuple(sorted(set(re.findall(r"\$([A-Z0-9_]+)_NATS_PASSWORD", (ROOT / "deploy/nats/accounts.conf").read_text()))))
PATH = ["310000", "310104", "31010401", "3101040101", "310104010101"]
EXAMPLE = ["--user", "dept_310104_housing", "--region", "310104", "--code", "HOUSING", "--catch-up"]


@pytest.fixture(scope="module")
def accounts_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nats-accounts")
    shutil.copy(ROOT / "deploy/nats/accounts.conf", tmp / "accounts.conf")  # the file as deployed
    port = free_port()
    (tmp / "nats.conf").write_text(nats_config(port, tmp / "js") + 'include "accounts.conf"\n')
    passwords = {u: "pw" + secrets.token_hex(8) for u in USERS}  # parsed as a string by the server
    saved = {f"{u}_NATS_PASSWORD": os.environ.get(f"{u}_NATS_PASSWORD") for u in USERS}
    os.environ.update({f"{u}_NATS_PASSWORD": pw for u, pw in passwords.items()})
    try:
        server = Server(start_process([nats_server_binary(), "-c", str(tmp / "nats.conf")], tmp / "nats.log", port),
                        port, tmp)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    yield port, passwords
    server.stop()


def case_event(case: str, event: str, depts: list[str]):
    return make_event("cases", event, case, {"type": event, "status": "DISPATCHED", "level": "COUNTY",
                                             "deptKeys": depts}, path=PATH, actor="op-1")


async def publish(js, e) -> int:
    """As the cases service's relay does: the region subject, then each department's copy."""
    await js.publish(event_subject(e), json.dumps(e.model_dump(mode="json")).encode())
    seqs = [(await js.publish(s, json.dumps(e.model_dump(mode="json")).encode())).seq for s in dept_subjects(e)]
    return seqs[0] if seqs else 0


def run_example(port: int, password: str, *extra: str) -> list[dict]:
    """The example as a department runs it: a separate process, its password in the environment."""
    out = subprocess.run([sys.executable, str(ROOT / "ops/examples/dept_consumer.py"),
                          "--url", f"nats://127.0.0.1:{port}", *EXAMPLE, *extra],
                         env={**os.environ, "YIWANG_DEPT_NATS_PASSWORD": password}, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"the example exited {out.returncode}:\n{out.stderr[-4000:]}"
    return [json.loads(line) for line in out.stdout.splitlines()]


async def test_a_department_consumes_replays_and_is_confined_with_the_deployed_permissions(accounts_server):
    port, pw = accounts_server
    cases = await nats.connect(f"nats://127.0.0.1:{port}", user="cases", password=pw["CASES"])
    js = cases.jetstream()
    await ensure_stream(js, stream_config("cases", 120))
    await publish(js, case_event("c-housing-1", "CASE_DISPATCHED", ["310104:HOUSING"]))
    await publish(js, case_event("c-urban-1", "CASE_DISPATCHED", ["310104:URBAN"]))
    await publish(js, case_event("c-none", "REPORTED", []))

    first = run_example(port, pw["DEPT_310104_HOUSING"])
    assert [(x["caseId"], x["type"]) for x in first] == [("c-housing-1", "CASE_DISPATCHED")]
    # Acknowledged: a second run (the same durable consumer) has nothing to read.
    assert run_example(port, pw["DEPT_310104_HOUSING"]) == []

    later = await publish(js, case_event("c-housing-2", "CASE_REPLIED", ["310104:URBAN", "310104:HOUSING"]))
    stored = await js.get_msg("YIWANG_CASES", later)
    since = datetime.fromisoformat(json.loads(stored.data)["time"])  # made after the earlier ones were stored
    second = run_example(port, pw["DEPT_310104_HOUSING"])
    assert [x["caseId"] for x in second] == ["c-housing-2"]
    # Replay from a time: the events from then on again, on a consumer of its own.
    replay = run_example(port, pw["DEPT_310104_HOUSING"], "--since", since.isoformat())
    assert [x["caseId"] for x in replay] == ["c-housing-2"]
    whole = await asyncio.to_thread(run_example, port, pw["DEPT_310104_HOUSING"], "--since", "2000-01-01T00:00:00+00:00")
    assert [x["caseId"] for x in whole] == ["c-housing-1", "c-housing-2"]
    await cases.close()

    # Everything else is refused by the server.
    errors: list[str] = []

    async def on_error(e: Exception) -> None:
        errors.append(str(e))

    dept = await nats.connect(f"nats://127.0.0.1:{port}", user="dept_310104_housing", password=pw["DEPT_310104_HOUSING"],
                              inbox_prefix="_INBOX_dept_310104_housing", error_cb=on_error, max_reconnect_attempts=0)
    try:
        refused_subs = ["yiwang.dept.cases.310104.URBAN.>", "yiwang.evt.>", "yiwang.evt.cases.>", "_INBOX.>", ">"]
        for s in refused_subs:
            await dept.subscribe(s)
        own = "yiwang.dept.cases.310104.HOUSING.>"
        refused_pubs = [
            "$JS.API.CONSUMER.CREATE.YIWANG_CASES.dept_310104_housing",  # unfiltered
            "$JS.API.CONSUMER.CREATE.YIWANG_CASES.dept_310104_housing.yiwang.dept.cases.310104.URBAN.>",
            "$JS.API.CONSUMER.CREATE.YIWANG_CASES.dept_310104_housing.yiwang.evt.cases.>",
            f"$JS.API.CONSUMER.CREATE.YIWANG_CASES.dept_310104_urban.{own}",  # a name not its own
            "$JS.API.CONSUMER.DURABLE.CREATE.YIWANG_CASES.dept_310104_housing",
            "$JS.API.CONSUMER.CREATE.YIWANG_CASES",
            "$JS.API.CONSUMER.MSG.NEXT.YIWANG_CASES.organizations-cases",
            "$JS.API.STREAM.MSG.GET.YIWANG_CASES",
            "$JS.API.STREAM.INFO.YIWANG_CASES",
            "$JS.API.CONSUMER.LIST.YIWANG_CASES",
            "yiwang.cases.case.get",
        ]
        for s in refused_pubs:
            await dept.publish(s, b"{}")
        await dept.flush()
        await eventually(lambda: asyncio.sleep(0, errors), lambda e: len(e) >= len(refused_subs) + len(refused_pubs),
                         timeout=30)
        assert all("permissions violation" in e.lower() for e in errors), errors
        # Its own create subject with another filter in the body: the server refuses the mismatch.
        for body in ({"filter_subject": "yiwang.dept.cases.310104.URBAN.>"},
                     {"filter_subject": own, "filter_subjects": ["yiwang.evt.cases.>"]},
                     {"filter_subjects": ["yiwang.dept.cases.310104.URBAN.>"]}):
            config = {"durable_name": "dept_310104_housing_replay", "name": "dept_310104_housing_replay",
                      "ack_policy": "explicit", **body}
            reply = await dept.request(f"$JS.API.CONSUMER.CREATE.YIWANG_CASES.dept_310104_housing_replay.{own}",
                                       json.dumps({"stream_name": "YIWANG_CASES", "config": config}).encode(),
                                       timeout=30)
            assert "error" in json.loads(reply.data), (body, reply.data)
    finally:
        await dept.close()


def test_the_example_is_the_one_the_readme_shows():
    readme = (ROOT / "README.md").read_text()
    assert (ROOT / "ops/examples/dept_consumer.py").read_text() in readme
    assert dept_consumer.STREAM == "YIWANG_CASES"
