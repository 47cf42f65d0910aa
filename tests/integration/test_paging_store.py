"""Lists read in bounded work on the real store (shared.paging): every record of a list once,
across pages of any size, whatever else the collection holds; each page reads about a page of
documents however long the list; totals exact for a short list, estimated for a long one."""
from __future__ import annotations

import random
import uuid

import pytest
from pymongo import AsyncMongoClient

from shared.mongo import ensure_indexes
from shared.paging import Pager, page_key, paged_index


@pytest.fixture(scope="module")
async def coll(mongo_server):  # one collection for the module: the tests only read it
    uri = f"mongodb://127.0.0.1:{mongo_server.port}/?directConnection=true&retryWrites=false"
    client: AsyncMongoClient = AsyncMongoClient(uri, tz_aware=True)
    database = client[f"paging_{uuid.uuid4().hex[:8]}"]
    await ensure_indexes(database, {"things": [paged_index("path"), paged_index("status", "path")]})
    rnd = random.Random(11)
    docs = []
    for i in range(3000):
        region = "big" if i < 2400 else f"small{i % 3}"
        docs.append({"_id": f"t{i:05d}", "path": ["city", region], "status": rnd.choice(["OPEN", "OPEN", "DONE"]),
                     "n": i, "k": page_key(f"t{i:05d}")})
    await database.things.insert_many(docs)
    yield database.things
    await client.drop_database(database.name)
    await client.close()


async def read_all(pager: Pager, query: dict, first: int) -> tuple[list[str], list[int]]:
    seen, totals, after = [], [], None
    while True:
        docs, total, more = await pager.page(query, first, after)
        seen += [d["_id"] for d in docs]
        totals.append(total)
        if not more:
            return seen, totals
        after = docs[-1]["k"]


@pytest.mark.parametrize("first", [1, 7, 50])
async def test_every_record_once_in_key_order(coll, first):
    pager = Pager(coll)
    seen, totals = await read_all(pager, {"path": "small1"}, first)
    expected = sorted((f"t{i:05d}" for i in range(2400, 3000) if i % 3 == 1), key=page_key)
    assert seen == expected
    assert totals[0] == 200  # short: counted exactly


async def test_a_page_of_a_long_list_reads_about_a_page(coll):
    pager = Pager(coll)
    await pager.page({"path": "city"}, 20, None)  # learns the list's density
    first_page = pager.fetched  # with its total
    before = pager.fetched
    after = None
    for _ in range(10):
        docs, total, more = await pager.page({"path": "city"}, 20, after)
        after = docs[-1]["k"]
    per_page = (pager.fetched - before) / 10
    assert per_page < 100, per_page  # the list is 3,000 long
    # estimated, not counted: the first page and its total read a tenth of the list (an estimate
    # rounded to two figures may be 3,000 itself)
    assert first_page < 300 and 2400 < total < 3600


async def test_filters_the_index_does_not_serve_are_checked_on_documents(coll):
    pager = Pager(coll)
    seen, _ = await read_all(pager, {"path": "small2", "n": {"$gte": 2900}}, 9)
    assert seen == sorted((f"t{i:05d}" for i in range(2900, 3000) if i % 3 == 2), key=page_key)
    seen, _ = await read_all(pager, {"path": {"$in": ["small0", "small2"]}, "status": "DONE"}, 13)
    docs = {d["_id"]: d async for d in coll.find({"path": {"$in": ["small0", "small2"]}, "status": "DONE"})}
    assert seen == sorted(docs, key=page_key)
    seen, _ = await read_all(pager, {"_id": {"$in": []}}, 5)
    assert seen == []


async def test_an_unrestricted_list_pages_on_the_key_alone(coll):
    pager = Pager(coll)
    docs, total, more = await pager.page({}, 30, None)
    assert len(docs) == 30 and more and [d["k"] for d in docs] == sorted(d["k"] for d in docs)
    assert pager.fetched < 300


async def test_records_stored_before_page_keys_get_theirs_once(coll):
    legacy = coll.database["legacy"]
    await legacy.insert_many([{"_id": f"l{i:03d}", "path": ["city", "small0"]} for i in range(30)])
    await ensure_indexes(coll.database, {"legacy": [paged_index("path")]})
    seen, totals = await read_all(Pager(legacy), {"path": "small0"}, 8)
    assert seen == sorted((f"l{i:03d}" for i in range(30)), key=page_key) and totals[0] == 30
    assert await legacy.count_documents({"k": {"$exists": False}}) == 0
    await ensure_indexes(coll.database, {"legacy": [paged_index("path")]})  # a second start reads nothing
    assert await coll.database["migrations"].find_one({"_id": "page-keys:legacy"})
