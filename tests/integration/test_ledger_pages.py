"""A volunteer's points history paged against the real store: entries written together share their
time (a lot's expiries, a batch of credits), and paging one or two at a time still shows every
entry once, newest first."""
from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from services.volunteers import domain as d
from services.volunteers.store import INDEXES, VolunteerStore, ledger_doc


@pytest.fixture
async def store(settings):
    client: AsyncMongoClient = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    database = client[f"ledger_{uuid.uuid4().hex[:8]}"]
    await database.ledger.create_indexes(INDEXES["ledger"])
    yield VolunteerStore(database)
    await client.drop_database(database.name)
    await client.close()


async def test_history_pages_through_entries_of_the_same_time(store):
    rnd = random.Random(7)
    t0 = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
    times = [t0 + timedelta(minutes=rnd.choice([0, 0, 1, 5, 5, 5, 9])) for _ in range(23)]  # many ties
    entries = [
        d.LedgerEntry(id=f"e{rnd.randrange(10**6):06d}-{i}", volunteer_id="v1", delta=1,
                      source_kind=d.SourceKind.BACKFILL, source_id=f"s{i}", at=at)
        for i, at in enumerate(times)
    ]
    other = d.LedgerEntry(id="x", volunteer_id="v2", delta=1, source_kind=d.SourceKind.BACKFILL, source_id="x", at=t0)
    await store.ledger.insert_many([ledger_doc(e) for e in [*entries, other]])
    expected = [e.id for e in sorted(entries, key=lambda e: (e.at, e.id), reverse=True)]
    for size in (1, 2, 5):
        seen, after = [], None
        while True:
            page, total, more = await store.history_page("v1", size, after)
            assert total == len(entries)
            seen += [e.id for e in page]
            if not more:
                break
            after = page[-1].id
        assert seen == expected, size
