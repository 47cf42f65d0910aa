"""The visits sweeper: marks must-visit households past their due visit (VISIT_OVERDUE, once per
lapse, `overdueVisits` bumped with it), and reschedules every household after the rules change.

One replica sweeps at a time (a lease). Overdue households are found on the (visitOverdue,
nextVisitDue) index; the reschedule walks households by id from a position kept with the rules,
so a restart continues where it stopped. Each household is its own transaction."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from services.grids.domain import visits as vd
from services.grids.handlers.context import SERVICE, GridContext
from services.grids.handlers.visit_plans import VisitPlans
from services.grids.visit_store import VisitStore
from shared.loops import LeasedLoop
from shared.messaging.envelope import make_event
from shared.mongo import UnitOfWork, now

log = logging.getLogger("yiwang.grids.sweeper")
BATCH = 200


class VisitSweeper(LeasedLoop):
    def __init__(self, ctx: GridContext, store: VisitStore, plans: VisitPlans):
        super().__init__(
            ctx.rt.db, "grids-visit-sweeper", self.sweep_once, ctx.rt.settings.visit_sweep_s, drain_on_stop=False
        )
        self.ctx, self.store, self.plans = ctx, store, plans

    async def sweep_once(self, at: datetime | None = None) -> bool:
        more = await self.walk()
        at = at or now()
        due = await self.store.overdue_candidates(at, BATCH)
        for household_id in due:
            await self.mark_overdue(household_id, at)
        return more or len(due) == BATCH

    async def walk(self) -> bool:
        """One batch of the reschedule after a rule change; True while households remain."""
        version, after = await self.store.walk_position()
        if after is None:
            return False
        rules = await self.store.rules()
        ids = await self.store.household_ids_after(after, BATCH)
        for household_id in ids:
            await self.plans.reschedule(household_id, rules)
        await self.store.walked(version, ids[-1] if len(ids) == BATCH else None)
        return len(ids) == BATCH

    async def mark_overdue(self, household_id: str, at: datetime) -> None:
        async def work(uow: UnitOfWork) -> None:
            h = await self.store.household(household_id, uow)
            if h is None or h.get("movedOutAt") is not None or not vd.now_overdue(h, at):
                return
            await self.store.set_state(uow, household_id, {"visitOverdue": True})
            await self.ctx.store.bump(uow, h["path"], Counter({"overdueVisits": 1}))
            data = {
                "householdId": household_id,
                "buildingId": h["buildingId"],
                "gridId": h["gridId"],
                "rule": h.get("visitRule") or "",
                "dueAt": h["nextVisitDue"],
            }
            uow.record(make_event(SERVICE, "VISIT_OVERDUE", household_id, data, path=h["path"]))

        await self.ctx.rt.transact(work)
