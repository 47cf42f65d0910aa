"""The periodic checks: organisations with no organisational life for the period become weak
(软弱涣散 risk), open membership transfers past their deadline become overdue.

One replica sweeps at a time (a lease). Each pass reads only what is due, through indexes on
(weak, holds_life, last_active_at) and (status, overdue_flagged, deadline_at); each record is
its own transaction with the usual version check.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.organizations import domain as d
from services.organizations.handlers import Organizations
from shared.errors import Conflict
from shared.loops import LeasedLoop
from shared.mongo import UnitOfWork, now

log = logging.getLogger("yiwang.organizations.sweeper")
BATCH = 200


class Sweeper(LeasedLoop):
    def __init__(self, orgs: Organizations):
        super().__init__(orgs.rt.db, "organizations-sweeper", self.sweep_once, orgs.settings.org_sweep_s,
                         drain_on_stop=False)
        self.orgs = orgs

    async def sweep_once(self, at: datetime | None = None) -> bool:
        at = at or now()
        days = self.orgs.settings.org_weak_days
        store = self.orgs.store
        weak = await store.orgs.coll.find(
            {"weak": False, "holds_life": True, "last_active_at": {"$lte": at - timedelta(days=days)}},
            {"_id": 1}).to_list(BATCH)
        for doc in weak:
            await self._apply(store.orgs, doc["_id"], lambda o: o.sweep_weak(at, days))
        overdue = await store.transfers.coll.find(
            {"status": "REQUESTED", "overdue_flagged": False, "deadline_at": {"$lt": at}}, {"_id": 1}).to_list(BATCH)
        for doc in overdue:
            await self._apply(store.transfers, doc["_id"], lambda t: d.sweep_overdue(t, at))
        return len(weak) == BATCH or len(overdue) == BATCH

    async def _apply(self, repo, record_id: str, rule) -> None:
        async def work(uow: UnitOfWork) -> None:
            record = await repo.load(record_id, uow)
            version, before = record.version, record.model_copy(deep=True)
            if rule(record):
                await self.orgs.put(uow, repo, record, before, version)

        try:
            await self.orgs.rt.transact(work)
        except Conflict:
            log.info("%s %s changed during the sweep; the next pass looks again", repo.what, record_id)
