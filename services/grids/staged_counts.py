"""Counter changes of a bulk import, staged with its records and applied in a short transaction of their own.

A batch of 500 visits adds to the rollups of every ancestor (the city's, the county's…) and to their
day buckets. Written in the batch's transaction, those hot documents stay held until it commits:
every live write under the same regions (a visit, a case's rollup) conflicts and waits for seconds.
So the batch's transaction writes its records and one `stagedCounts` document holding the counter
changes (per node, per node and day, per person); a second, small transaction deletes that document
and adds its changes. The delete makes the application exactly once (two appliers conflict on it; the
second finds nothing). A batch whose second transaction never ran (a crash in between) is applied at
the next import and at the service's start (`apply_pending`); until then the counters lag its records
(a replay run in between shows it as a difference).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.grids.store import GridStore
from services.grids.store_links import LinkStore
from shared.bulk import committed
from shared.mongo import UnitOfWork, now
from shared.service import ServiceRuntime

STAGED = "stagedCounts"
PENDING_PAGE = 100


class StagedCounts:
    def __init__(self, db: AsyncDatabase):
        self.coll = db[STAGED]
        self.grid, self.links = GridStore(db), LinkStore(db)

    def stage(
        self,
        uow: UnitOfWork,
        batch_id: str,
        totals: dict[str, Counter],
        days: dict[tuple[str, str], dict[str, int]],
        people: dict[str, int],
    ) -> None:
        """With the records (at flush): the batch's counter changes, to apply once it commits."""
        uow.insert(
            STAGED,
            {
                "_id": batch_id,
                "totals": [[node, {k: v for k, v in c.items() if v}] for node, c in totals.items() if any(c.values())],
                "days": [[region, day, c] for (region, day), c in days.items() if any(c.values())],
                "people": [[k, n] for k, n in people.items() if n],
                "at": now(),
            },
        )

    async def apply(self, rt: ServiceRuntime, batch_id: str) -> bool:
        """Add one staged batch's changes to the counters, once; False if it was applied already."""

        async def work(uow: UnitOfWork) -> bool:
            doc = await self.coll.find_one_and_delete({"_id": batch_id}, session=uow.session)
            if doc is None:
                return False
            await add(uow, self.grid, self.links, doc)
            return True

        return await committed(rt, work, wake=False, attempts=8)

    async def apply_pending(self, rt: ServiceRuntime) -> int:
        """Every staged batch left unapplied (a crash between the two transactions)."""
        applied = 0
        while ids := [d["_id"] async for d in self.coll.find({}, {"_id": 1}).limit(PENDING_PAGE)]:
            for i in ids:
                applied += await self.apply(rt, i)
        return applied


async def add(uow: UnitOfWork, grid: GridStore, links: LinkStore, doc: dict[str, Any]) -> None:
    totals = {node: Counter(c) for node, c in doc.get("totals") or []}
    days = {(region, day): c for region, day, c in doc.get("days") or []}
    await grid.bump_nodes(uow, totals, days)
    await links.add_visit_counts(uow, dict(doc.get("people") or []))
