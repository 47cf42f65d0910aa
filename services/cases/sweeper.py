"""The SLA sweeper: warns of deadlines coming (CASE_DUE_SOON), escalates open cases past their
deadline, closes long-unrated ones and flags return-visit tasks (回访) past theirs.

One replica sweeps at a time (a lease). Each pass reads only the cases with something due,
through the index on `sweep_at` (a case's next clock event: its due-soon warning, then its
deadline; none when closed, suspended or already flagged), so its cost follows the number of
due cases, not the number of open ones; each case is its own transaction with the usual
version check. A warning is recorded once per deadline: the case remembers it was sent, and a
new deadline re-arms it. Cases stored before `sweep_at` are read by status and deadline until
the start-up upgrade has given them theirs.
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
        self._upgraded = False  # every case has its `sweep_at` (store.upgrade_sweep_at)

    async def sweep_once(self) -> bool:
        at, store = now(), self.cases.store
        due = await store.due_clocks(at, BATCH)
        if not self._upgraded:
            self._upgraded = await store.sweep_at_upgraded()
            if not self._upgraded:
                due = list(dict.fromkeys(due + await store.due(at, BATCH)))
        for case_id in due:
            await self._apply(case_id, self._clock_rule)
        unrated = await self.cases.store.unrated(at - timedelta(seconds=self.cases.settings.auto_close_s), BATCH)
        for case_id in unrated:
            await self._apply(case_id, lambda case: case.auto_close(now(), self.cases.settings.auto_close_s))
        visits = await self.cases.store.return_visits_due(at, BATCH)
        for case_id in visits:
            await self._apply(case_id, lambda case: d.flag_return_visit_overdue(case, now(), d.SYSTEM))
        return len(due) >= BATCH or len(unrated) == BATCH or len(visits) == BATCH

    def _clock_rule(self, case: d.Case) -> None:
        t = now()
        case.sweep(t, self.cases.sla)
        d.warn_due_soon(case, t)

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
