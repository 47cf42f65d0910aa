"""Lists at every level: a page read the way lists were read before (a count of the list, then
a sorted, limited find after the cursor) against a page in bounded work (shared.paging), on
the embedded store as the platform runs it.

A scratch database holds N member-sized records (~1 KB) of a city: 10 districts, 100 streets,
1,000 grids, each record under one grid; a tenth of them of one category. For each list (the
city, a district, a street, a grid, the city filtered by category) the first page and the
fifth (20 a page) are read R times each way; the medians and the ratio are printed, and what
each way fetched from the store.

    python -m tests.bench.paging [--records 50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel

from shared.mongo import ensure_indexes
from shared.paging import Pager, page_key, paged_index
from tests.infra import start_mongo

PAD = "x" * 700


def records(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        grid = i % 1000
        path = ["city", f"d{grid // 100}", f"s{grid // 10}", f"g{grid}"]
        rid = f"m{i:07d}"
        out.append({"_id": rid, "k": page_key(rid), "path": path, "category": "RETIRED" if i % 10 == 0 else "REGULAR",
                    "name": f"党员{i}", "org_id": f"o{grid}", "pad": PAD})
    return out


async def old_page(coll: Any, query: dict, first: int, after: str | None) -> tuple[list[dict], int]:
    total = await coll.count_documents(query)
    q = {**query, **({"_id": {"$gt": after}} if after else {})}
    docs = await coll.find(q).sort("_id", 1).limit(first + 1).to_list(first + 1)
    return docs[:first], total


async def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = await fn()
    return (time.perf_counter() - t) * 1000, out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    server = start_mongo(Path(tempfile.mkdtemp(prefix="bench-paging-")))
    client: AsyncMongoClient = AsyncMongoClient(
        f"mongodb://127.0.0.1:{server.port}/?directConnection=true&retryWrites=false", tz_aware=True
    )
    try:
        db = client["bench_paging"]
        await ensure_indexes(db, {"members": [
            IndexModel([("path", ASCENDING), ("_id", ASCENDING)]),  # the lists' index before
            IndexModel([("category", ASCENDING), ("path", ASCENDING), ("_id", ASCENDING)]),
            paged_index("path"), paged_index("category", "path"),
        ]})
        t = time.perf_counter()
        docs = records(args.records)
        for i in range(0, len(docs), 1000):
            await db.members.insert_many(docs[i : i + 1000], ordered=False)
        print(f"{args.records:,} records loaded in {time.perf_counter() - t:.0f} s")
        pager = Pager(db.members)
        lists = {"city": {"path": "city"}, "district": {"path": "d3"}, "street": {"path": "s42"},
                 "grid": {"path": "g420"}, "city, one category": {"path": "city", "category": "RETIRED"}}
        print(f"{'list':<20} {'page':>4} {'before ms':>10} {'after ms':>9} {'ratio':>7} {'fetched after':>14}")
        for name, query in lists.items():
            for page_no in (1, 5):
                before, after = [], []
                fetched = 0
                for _ in range(args.repeat):
                    cursor_old = cursor_new = None
                    for _p in range(page_no - 1):  # walk to the page (not timed)
                        items, _t = await old_page(db.members, query, 20, cursor_old)
                        cursor_old = items[-1]["_id"] if items else None
                        got, _t2, _m = await pager.page(query, 20, cursor_new)
                        cursor_new = got[-1]["k"] if got else None
                    ms, _ = await timed(lambda q=query, c=cursor_old: old_page(db.members, q, 20, c))
                    before.append(ms)
                    start = pager.fetched
                    ms, _ = await timed(lambda q=query, c=cursor_new: pager.page(q, 20, c))
                    after.append(ms)
                    fetched = pager.fetched - start
                b, a = statistics.median(before), statistics.median(after)
                print(f"{name:<20} {page_no:>4} {b:>10.1f} {a:>9.1f} {b / a:>7.1f} {fetched:>14}")
    finally:
        await client.close()
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
