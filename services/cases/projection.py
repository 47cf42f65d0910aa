"""Region rollups of cases, folded from the service's own events (see shared/messaging/projector).

Each command's first event carries `delta` = counters_of(after) − counters_of(before); the
rollup of a region is the sum of the deltas of events in its subtree, which equals a recount
of the cases (`domain.recount`) at every moment the projector has caught up.
"""
from __future__ import annotations

from collections import defaultdict

from services.cases.store import CaseStore
from shared.domain import RollupDelta
from shared.mongo import UnitOfWork, first_time
from shared.territory import TerritoryReplica


def event_delta(before: dict[str, int] | None, after: dict[str, int]) -> dict[str, int]:
    return RollupDelta.of((), before, after).changes


class RollupProjection:
    def __init__(self, store: CaseStore, territory: TerritoryReplica):
        self.store, self.territory = store, territory

    def totals(self, outbox_docs: list[dict]) -> dict[str, dict[str, int]]:
        acc: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for doc in outbox_docs:
            data = doc["envelope"]["data"]
            delta = data.get("delta") or {}
            if not delta:
                continue
            event_path = data.get("region_path") or []
            # The grid's current path: a region moved since the event still adds up right.
            path = self.territory.path(event_path[-1]) if event_path else None
            for region in path or event_path:
                for k, v in delta.items():
                    acc[region][k] += v
        return acc

    async def apply(self, uow: UnitOfWork, outbox_docs: list[dict]) -> None:
        await self.store.add_to_rollups(uow, self.totals(outbox_docs))

    async def on_region_moved(self, transact, event_id: str, root: str, old_path: list[str],
                              new_path: list[str]) -> None:
        """A region moved in the territory: re-path its cases and shift its totals."""
        async def work(uow: UnitOfWork) -> None:
            if not await first_time(uow, "cases-region-moved", event_id):
                return
            n = len(old_path)
            async for doc in self.store.cases.find({"path": root}, {"path": 1}, session=uow.session):
                if doc["path"][:n] == old_path:
                    path = [*new_path, *doc["path"][n:]]
                    await self.store.cases.update_one({"_id": doc["_id"]}, {"$set": {"path": path, "region_path": path}},
                                                      session=uow.session)
            totals = (await self.store.rollup_counters([root])).get(root, {})
            await self.store.add_to_rollups(uow, {a: totals for a in old_path[:-1]}, sign=-1)
            await self.store.add_to_rollups(uow, {a: totals for a in new_path[:-1]}, sign=+1)

        await transact(work)
