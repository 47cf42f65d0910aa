"""Projections of a service's own events (rollups, trends), folded in exactly once.

Each command's transaction also queues its events for every projection; a projector takes
a batch, applies it and deletes it from the queue in one transaction, so a crash at any
point neither loses nor double-counts an event. One replica projects at a time (a lease); the
writes of a command are committed before, and a pass waits `YIWANG_PROJECTOR_SETTLE_S` after
the commit that woke it so that the commits meanwhile share it (a batch folds each region's
changes into one update: the city's counters change once per pass, not once per event), so
figures trail the writes by about that much.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shared.loops import LeasedLoop
from shared.mongo import PROJECTION_QUEUE, Transactor, UnitOfWork

Apply = Callable[[UnitOfWork, list[dict]], Awaitable[None]]  # queued events ({envelope}), oldest first
BATCH = 200


class OutboxProjector(LeasedLoop):
    def __init__(self, transact: Transactor, name: str, apply: Apply, poll_s: float, settle_s: float = 0.0):
        super().__init__(transact.db, f"projector-{name}", self.project_pending, poll_s, settle_s=settle_s)
        self.transact, self.projection, self.apply = transact, name, apply

    async def project_pending(self) -> bool:
        async def work(uow: UnitOfWork) -> int:
            docs = (
                await uow.db[PROJECTION_QUEUE]
                .find({"projection": self.projection}, session=uow.session)
                .sort("oid", 1)
                .to_list(BATCH)
            )
            if docs:
                await self.apply(uow, docs)
                await uow.db[PROJECTION_QUEUE].delete_many(
                    {"_id": {"$in": [d["_id"] for d in docs]}}, session=uow.session
                )
            return len(docs)

        return await self.transact(work, wake=False) == BATCH
