"""The periodic checks: organisations with no organisational life for the period become weak
(软弱涣散 risk), open membership transfers past their deadline become overdue.

Each pass also rates the next batch of organisations for the weak score (weak_rating.py: a
cursor over the organisations by id, starting over at the end, so one pass after another covers
them all; a score that did not change writes nothing) and raises rectification tasks past their
deadline (index on next_due_at).

One replica sweeps at a time (a lease). Each pass reads only what is due, through indexes on
(weak, holds_life, last_active_at) and (status, overdue_flagged, deadline_at); each record is
its own transaction with the usual version check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.organizations import domain as d
from services.organizations.handlers.common import OrgContext
from services.organizations.handlers.deliberation import Deliberation
from services.organizations.weak_rating import Rater
from shared.errors import Conflict, DomainError
from shared.loops import LeasedLoop
from shared.mongo import UnitOfWork, now
from shared.records import Records

log = logging.getLogger("yiwang.organizations.sweeper")
BATCH = 200
PARTICIPATION_GRACE = timedelta(minutes=5)  # left to the event's consumer before the sweeper tries


class Sweeper(LeasedLoop):
    def __init__(self, ctx: OrgContext, deliberation: Deliberation | None = None):
        super().__init__(
            ctx.rt.db, "organizations-sweeper", self.sweep_once, ctx.settings.org_sweep_s, drain_on_stop=False
        )
        self.ctx = ctx
        self.rater = Rater(ctx)  # weak organisations: the score, one batch a pass (weak_rating.py)
        self.deliberation = deliberation  # 参与议事 points its consumer could not credit yet

    async def sweep_once(self, at: datetime | None = None) -> bool:
        at = at or now()
        days = self.ctx.settings.org_weak_days
        store = self.ctx.store
        weak = await store.weak_due(at, days, BATCH)
        for org_id in weak:
            await self._apply(store.orgs, org_id, lambda o: o.sweep_weak(at, days))
        overdue = await store.overdue_due(at, BATCH)
        for transfer_id in overdue:
            await self._apply(store.transfers, transfer_id, lambda t: d.sweep_overdue(t, at))
        # weak organisations: the next batch of the rating cycle, and overdue rectification tasks
        rating = await self.rater.rate_batch(at)
        late = await self.rater.weak.plans_due(at, BATCH)
        for plan_id in late:
            await self._apply(self.rater.weak.plans, plan_id, lambda p: p.raise_overdue(at))
        idle = await self.sweep_idle(at)  # committees: 空转 branches
        credited = await self.credit_participation(at)
        return (
            len(weak) == BATCH or len(overdue) == BATCH or rating or len(late) == BATCH or idle == BATCH
        ) or credited == BATCH

    async def credit_participation(self, at: datetime) -> int:
        """Participations still pending a while after their act (the volunteers service was away
        longer than the event's redeliveries): tried again, a batch a pass."""
        if self.deliberation is None:
            return 0
        ids = await self.deliberation.ds.pending_participation(None, at - PARTICIPATION_GRACE, BATCH)
        try:
            return await self.deliberation.credit(ids)
        except DomainError as e:
            log.warning("participation points not credited yet (%s); the next pass tries again", e)
            return 0

    async def sweep_idle(self, at: datetime) -> int:
        days = self.ctx.settings.org_idle_branch_days
        idle = await self.ctx.store.idle_due(at, days, BATCH)
        for org_id in idle:
            await self._apply(self.ctx.store.orgs, org_id, lambda o: d.sweep_idle(o, at, days))
        return len(idle)

    async def _apply(self, repo: Records, record_id: str, rule: Callable[[Any], bool]) -> None:
        async def work(uow: UnitOfWork) -> None:
            record = await repo.load(record_id, uow)
            version, before = record.version, record.model_copy(deep=True)
            if rule(record):
                await self.ctx.put(uow, repo, record, before, version)

        try:
            await self.ctx.rt.transact(work)
        except Conflict:
            log.info("%s %s changed during the sweep; the next pass looks again", repo.what, record_id)
