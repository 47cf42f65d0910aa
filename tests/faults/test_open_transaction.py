"""A process killed inside a transaction leaves it open on the server, holding what it wrote
until the server reaps it (60 s): its successor ends it at start, before it serves.

The wait for the reap is never what a test here waits for: a conflicting write is given
2 s (the reap is 60 s away), and the dead process's record in the session ledger is removed
only by a sweep that ended its sessions, never by the server."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from pymongo import AsyncMongoClient

from shared.errors import Unavailable
from shared.mongo import SESSIONS, SessionLedger, Transactor, make_client
from tests.cases_helpers import REPORT, CasesClient
from tests.faults.test_outbox_crash import service_env
from tests.territory import build_tree

pytestmark = pytest.mark.slow

# Holds a transaction that inserted {_id: "held"} open, recorded in the ledger, until killed.
HOLDER = textwrap.dedent("""
    import asyncio, sys
    from shared.mongo import SessionLedger, Transactor, make_client

    async def main(uri, db_name):
        client = make_client(uri, "holder")
        db = client[db_name]
        ledger = SessionLedger(db)
        await ledger.start()

        async def work(uow):
            await db.things.insert_one({"_id": "held"}, session=uow.session)
            print("holding", flush=True)
            await asyncio.Event().wait()

        await Transactor(client, db, ledger=ledger)(work)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


async def insert_held(client: AsyncMongoClient, db, timeout_s: float) -> None:
    async def work(uow):
        await db.things.insert_one({"_id": "held"}, session=uow.session)

    await Transactor(client, db, timeout_s=timeout_s)(work)


async def test_the_sessions_of_a_killed_process_are_ended_by_the_next_sweep(settings):
    db_name = settings.db_name("holder")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, settings.mongo_url, db_name],
                              stdout=subprocess.PIPE, text=True, env=service_env(settings))
    client = make_client(settings.mongo_url, "test")
    db = client[db_name]
    try:
        assert await asyncio.to_thread(holder.stdout.readline) == "holding\n"
        record = await db[SESSIONS].find_one({"pid": holder.pid})
        assert record and record["lsids"], "the holder recorded its session before writing"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()

        with pytest.raises(Unavailable):  # the open transaction holds the document
            await insert_held(client, db, timeout_s=2)

        ledger = SessionLedger(db)
        await ledger.start()
        try:
            assert ledger.swept >= 1
            assert await db[SESSIONS].find_one({"pid": holder.pid}) is None
            await insert_held(client, db, timeout_s=settings.txn_timeout_s)  # free now
            assert await db.things.count_documents({"_id": "held"}) == 1
        finally:
            await ledger.stop()
        assert await db[SESSIONS].count_documents({}) == 0, "a stopped process removes its record"
    finally:
        if holder.poll() is None:
            holder.kill()
        await client.drop_database(db_name)
        await client.close()


@pytest.mark.long(60)  # seconds alone, about: started first (tests/conftest.py)
async def test_a_restarted_service_ends_its_predecessors_transaction_before_serving(stack):
    """cases dies between writing a report and committing it; the client retries with the same
    key against the restarted service and gets one case."""
    await stack.start_service("grids")
    await stack.start_gateway(services=("grids",))
    await build_tree(stack)
    settings = stack.settings
    crashing = subprocess.Popen([sys.executable, "-m", "services.cases"],
                                env=service_env(settings, YIWANG_FAULT="crash_before_commit"))
    cases = await CasesClient.connect(stack)
    mongo = AsyncMongoClient(settings.mongo_url)
    db = mongo[settings.db_name("cases")]
    token = stack.token(role="resident", sub="r-open")
    report = {**REPORT, "regionId": "grid-a1", "idempotencyKey": "open-1"}
    proc = None
    try:
        await cases.wait_territory(["grid-a1"], timeout=120)
        with pytest.raises(Unavailable):
            await cases.rpc.call("cases", "case.report", report, token, timeout_s=settings.rpc_timeout_s)
        assert crashing.wait(settings.rpc_timeout_s * 6) == 137
        assert await db[SESSIONS].find_one({"pid": crashing.pid}), "the dead process's sessions are on record"
        with pytest.raises(Unavailable):  # its transaction holds the key
            await insert_key(mongo, db, "case.report:r-open:open-1", timeout_s=2)

        proc = subprocess.Popen([sys.executable, "-m", "services.cases"], env=service_env(settings))
        await cases.wait_territory(["grid-a1"], timeout=120)  # serving, so its start-up sweep ran
        assert await db[SESSIONS].find_one({"pid": crashing.pid}) is None
        first = await cases.rpc.call("cases", "case.report", report, token, timeout_s=settings.txn_timeout_s)
        again = await cases.rpc.call("cases", "case.report", report, token, timeout_s=settings.txn_timeout_s)
        assert first["id"] == again["id"]
        assert await db.cases.count_documents({"reporterSubs": "r-open"}) == 1
    finally:
        await cases.close()
        await mongo.close()
        for p in (crashing, proc):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()


async def insert_key(client: AsyncMongoClient, db, key: str, timeout_s: float) -> None:
    async def work(uow):
        await db.idempotency.insert_one({"_id": key, "result": None}, session=uow.session)

    await Transactor(client, db, timeout_s=timeout_s)(work)
