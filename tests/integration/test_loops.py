"""Leased background loops on real SecantusDB: one holder at a time, renewals kept off the
store while fresh, and a settling pause that lets the kicks of many commits share one pass."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from pymongo import AsyncMongoClient

from shared.loops import RENEW_AFTER_S, Lease, LeasedLoop


@pytest.fixture
async def db(settings):
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    database = client[f"loops_{uuid.uuid4().hex[:8]}"]
    yield database
    await client.drop_database(database.name)
    await client.close()


async def test_a_fresh_lease_is_held_without_a_write_and_renewed_when_it_ages(db):
    mine, theirs = Lease(db, "relay"), Lease(db, "relay")
    assert await mine.hold() and not await theirs.hold()
    first = (await db.leases.find_one({"_id": "relay"}))["until"]
    assert await mine.hold()  # fresh: no write
    assert (await db.leases.find_one({"_id": "relay"}))["until"] == first
    mine._renewed = time.monotonic() - RENEW_AFTER_S - 0.01  # as if a third of the lease had passed
    assert await mine.hold()
    assert (await db.leases.find_one({"_id": "relay"}))["until"] > first
    assert not await theirs.hold()
    await mine.release()
    assert await theirs.hold() and not await mine.hold()


async def test_kicks_during_the_settling_pause_share_one_pass(db):
    passes: list[float] = []

    async def step() -> bool:
        passes.append(time.monotonic())
        return False

    loop = LeasedLoop(db, "projector-test", step, poll_s=30, settle_s=0.3)

    async def until_passes(n: int) -> None:
        while len(passes) < n:
            await asyncio.sleep(0.01)

    loop.start()
    try:
        await until_passes(1)  # the first pass runs at start
        loop.kick()
        await asyncio.sleep(0.05)  # the pause has begun: what commits now shares the coming pass
        for _ in range(20):
            loop.kick()
        await until_passes(2)
        await asyncio.sleep(0.5)  # nothing else woke it (it polls every 30 s)
        assert len(passes) == 2
        loop.kick()
        await until_passes(3)
    finally:
        await loop.stop()
