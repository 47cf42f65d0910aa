"""The unit of work on real SecantusDB: a transaction's writes, its outbox entries and its
projection queue go in one client-level bulkWrite, and its failures read as a single write's."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from shared.errors import Conflict
from shared.messaging.envelope import make_event
from shared.mongo import IDEMPOTENCY, OUTBOX, PROJECTION_QUEUE, Transactor, UnitOfWork, remember


@pytest.fixture
async def transact(settings):
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    db = client[f"uow_{uuid.uuid4().hex[:8]}"]
    await db.things.insert_one({"_id": "t1", "version": 1, "name": "一号"})
    t = Transactor(client, db)
    t.projections = ("rollups",)
    yield t
    await client.drop_database(db.name)
    await client.close()


def event(subject: str):
    return make_event("cases", "REPORTED", subject, {"n": 1}, path=["city", "grid-1"])


async def stored(t: Transactor) -> dict[str, list[str]]:
    return {c: sorted([d["_id"] async for d in t.db[c].find({}, {"_id": 1})])
            for c in ("things", OUTBOX, PROJECTION_QUEUE, IDEMPOTENCY)}


async def test_writes_events_and_queue_commit_together(transact):
    async def work(uow: UnitOfWork) -> None:
        uow.insert("things", {"_id": "t2", "version": 1})
        uow.replace("things", {"_id": "t1", "version": 1}, {"version": 2, "name": "一号楼"}, Conflict("changed"))
        uow.record(event("t2"))
        await remember(uow, "k1", "t2")

    await transact(work)
    after = await stored(transact)
    assert after["things"] == ["t1", "t2"] and after[IDEMPOTENCY] == ["k1"] and len(after[OUTBOX]) == 1
    assert after[PROJECTION_QUEUE] == [f"rollups:{after[OUTBOX][0]}"]
    assert (await transact.db.things.find_one({"_id": "t1"}))["name"] == "一号楼"


async def test_a_duplicate_key_or_a_missed_version_aborts_everything(transact):
    before = await stored(transact)

    async def duplicate(uow: UnitOfWork) -> None:
        uow.record(event("t1"))
        uow.insert("things", {"_id": "t3"})
        uow.insert("things", {"_id": "t1"})

    with pytest.raises(DuplicateKeyError):
        await transact(duplicate)

    async def stale(uow: UnitOfWork) -> None:
        uow.record(event("t1"))
        uow.insert("things", {"_id": "t4"})
        uow.replace("things", {"_id": "t1", "version": 7}, {"version": 8}, Conflict("t1 changed"))

    with pytest.raises(Conflict, match="t1 changed"):
        await transact(stale)
    assert await stored(transact) == before


async def test_a_twin_waits_out_the_write_conflict_then_meets_the_duplicate(transact):
    """Two commands with one idempotency key at once: the second's write conflicts while the
    first is open (retried, as a single insert's would be) and, once the first commits, fails
    on the key; exactly one set of writes is kept."""
    first_written, release, attempts = asyncio.Event(), asyncio.Event(), []

    async def first(uow: UnitOfWork) -> None:
        uow.insert("things", {"_id": "a"})
        await remember(uow, "same-key", "a")
        await uow.flush()  # written, not yet committed
        first_written.set()
        await release.wait()

    async def second(uow: UnitOfWork) -> None:
        attempts.append(1)
        if len(attempts) == 2:
            release.set()  # the first commits once the second has met its conflict
        uow.insert("things", {"_id": "b"})
        await remember(uow, "same-key", "b")

    one = asyncio.create_task(transact(first))
    await first_written.wait()
    with pytest.raises(DuplicateKeyError):
        await transact(second)
    await one
    assert len(attempts) >= 2
    after = await stored(transact)
    assert after["things"] == ["a", "t1"] and after[IDEMPOTENCY] == ["same-key"]
