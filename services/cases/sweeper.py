"""The SLA sweeper: escalates open cases past their deadline, closes long-unrated ones and flags
return-visit tasks (回访) past theirs.

One replica sweeps at a time (a lease). Each pass reads only the cases already due, through
an index on (status, overdue, due_at), so its cost follows the number of due cases, not the
number of open ones; each case is its own transaction with the usual version check.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from services.cases import domain as d
from services.cases.handlers import CaseContext
from shared.errors import Conflict
from shared.loops import LeasedLoop
from shared.mongo import UnitOfWork, now

log = logging.getLogger("yiwang.cases.sweeper")
BATCH = 200


class Sweeper(LeasedLoop):
    def __init__(self, cases: CaseContext):
        super().__init__(
            cases.rt.db, "cases-sla-sweeper", self.sweep_once, cases.settings.sla_sweep_s, drain_on_stop=False
        )
        self.cases = cases

    async def sweep_once(self) -> bool:
        at = now()
        due = await self.cases.store.due(at, BATCH)
        for case_id in due:
            await self._apply(case_id, lambda case: case.sweep(now(), self.cases.sla))
        unrated = await self.cases.store.unrated(at - timedelta(seconds=self.cases.settings.auto_close_s), BATCH)
        for case_id in unrated:
            await self._apply(case_id, lambda case: case.auto_close(now(), self.cases.settings.auto_close_s))
        visits = await self.cases.store.return_visits_due(at, BATCH)
        for case_id in visits:
            await self._apply(case_id, lambda case: d.flag_return_visit_overdue(case, now(), d.SYSTEM))
        return len(due) == BATCH or len(unrated) == BATCH or len(visits) == BATCH

    async def _apply(self, case_id: str, rule) -> None:
        async def work(uow: UnitOfWork) -> None:
            case, doc = await self.cases.store.load(case_id, uow)
            version, before = case.version, d.counters_of(case)
            rule(case)
            if case.version == version:
                return  # nothing was due after all (handled meanwhile)
            self.cases.save(uow, case, version, before, doc)

        try:
            await self.cases.rt.transact(work)
        except Conflict:
            log.info("case %s changed during the sweep; the next pass looks again", case_id)
