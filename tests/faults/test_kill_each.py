"""`kill -9` of each process of a `yiwang up` stack in turn, at random moments under a mixed
load through the public API; after every round nothing acknowledged is lost or doubled, a
retry returns the first result, figures equal a recount, consumers have caught up and the
dead-letter stream is empty. FAULT_ROUNDS sets the rounds per process (`make faults`)."""
from __future__ import annotations

import asyncio

import nats
import pytest

from shared.messaging.streams import stream_name
from shared.mongo import OUTBOX
from tests.faults.load import CITY
from tests.faults.rounds import APP_SERVICES, TABLE, Target, rounds_wanted

pytestmark = pytest.mark.slow

PROCESSES = ["grids", "cases", "organizations", "volunteers", "gateway", "mongo", "nats"]


def target(stack, name: str) -> Target:
    async def kill() -> int:
        return stack.kill(name)

    async def back(pid: object) -> float:
        return await stack.wait_restarted(name, pid)

    return Target(name, kill, back, (name,) if name in APP_SERVICES else APP_SERVICES)


@pytest.mark.long(200)  # seconds alone, about: started first (tests/conftest.py)
@pytest.mark.parametrize("name", PROCESSES)
async def test_kill_9_under_load(launched, name):
    stack, run = launched
    row = await run.rounds(target(stack, name), rounds_wanted(), TABLE.row(name))
    row.assert_clean()


async def test_the_checks_find_what_they_look_for(launched):
    """The checks can fail: after a short load (no kill), tamper with the stack the way each
    fault would leave it, and every check must name it. Last in this module: it spoils the stack."""
    stack, run = launched
    load, verifier = run.load, run.verifier
    run.round += 1
    await load.begin_round(run.round)
    first = len(load.ledger.writes)
    stop = asyncio.Event()
    workers = asyncio.create_task(load.run(4, stop))

    def written(kind: str) -> list:
        return [w for w in load.ledger.writes[first:] if w.kind == kind]

    try:
        while len(written("case.report")) < 2 or not written("building.create"):
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await workers
    (lost, doubled), building = written("case.report")[:2], written("building.create")[0]
    cases = verifier.db("cases")
    await cases.cases.delete_one({"_id": lost.aggregate})
    await cases[OUTBOX].delete_many({"aggregate": lost.aggregate})
    copy = await cases.cases.find_one({"_id": doubled.aggregate})
    await cases.cases.insert_one({**copy, "_id": "c-tampered-copy"})
    await verifier.db("grids").idempotency.delete_one({"_id": {"$regex": f":{building.key}$"}})
    await verifier.db("volunteers").rollups.update_one({"_id": CITY}, {"$inc": {"c.volunteers": 1}})
    nc = await nats.connect(stack.settings.nats_servers)
    try:
        js = nc.jetstream()
        await js.publish("yiwang.dlq.faults.tampered", b"{}")
        info = await js.stream_info(stream_name("grids"))
        await js.delete_msg(stream_name("grids"), info.state.last_seq)
    finally:
        await nc.close()

    found = await verifier.check(load.ledger, run.round, run.rnd)
    assert any(lost.aggregate in x for x in found.lost), found.summary()
    assert any("c-tampered-copy" in x for x in found.duplicated), found.summary()
    assert any(building.key in x for x in found.retry_differs), found.summary()
    assert any(f"volunteers rollups of {CITY}" in x for x in found.figures), found.summary()
    assert any(f"overview({CITY}).volunteers.volunteerCount" in x for x in found.figures), found.summary()
    assert found.dead_letters and found.events_lost, found.summary()
