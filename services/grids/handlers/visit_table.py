"""Visits wired into the territory service: the verbs, the gates before them, the sweeper, the
consumer of the service's own events (household changes, case requests) and the default rules."""

from __future__ import annotations

from services.grids.handlers.context import SERVICE, GridContext
from services.grids.handlers.households import CHANGE_HOOKS, IMPORT_HOOKS
from services.grids.handlers.visit_plans import VisitPlans, schedule_imported, schedule_on_change
from services.grids.handlers.visits import Visits
from services.grids.sweeper import VisitSweeper
from services.grids.visit_store import VisitStore
from shared.auth import Principal
from shared.messaging.rpc import Gate, Handler, gated


def service_only(action: str) -> Gate:
    def gate(p: Principal) -> None:
        p.require_role(action=action)

    return gate


if schedule_on_change not in CHANGE_HOOKS:  # once per process, however many runtimes it starts
    CHANGE_HOOKS.append(schedule_on_change)
    IMPORT_HOOKS[schedule_on_change] = schedule_imported


class Visiting:
    def __init__(self, ctx: GridContext):
        self.ctx = ctx
        self.store = VisitStore(ctx.rt.db)
        self.visits = Visits(ctx, self.store)
        self.plans = VisitPlans(ctx, self.store, self.visits)
        self.sweeper = VisitSweeper(ctx, self.store, self.plans)
        self.plans.after_rules.append(self.sweeper.kick)

    def routes(self) -> dict[str, Handler]:
        v, pl = self.visits, self.plans
        routes: dict[str, tuple[Gate | None, Handler]] = {
            "visit.record": (None, v.record),
            "visit.get": (None, v.get),
            "visit.batch": (None, v.batch_get),
            "visit.list": (None, v.listing),
            "visit.plan": (None, v.plan),
            "visit.attach": (None, v.attach),
            "visit.report": (None, v.report),
            "visit.rules": (None, pl.rules),
            "visit.setRules": (None, pl.set_rules),
            "visit.import": (service_only("import visits"), pl.import_visits),
            "work.visits": (None, pl.work),
            "trend.series": (None, pl.trend),
        }
        return {verb: gated(gate, handler) for verb, (gate, handler) in routes.items()}

    def wire(self) -> None:
        rt = self.ctx.rt
        rt.consume(SERVICE, "visits", self.plans.on_own_event, events="VISIT_CASE_REQUESTED.>")
        rt.on_start(self.store.seed_rules)

        async def counters_left_staged() -> None:  # an import cut off between its two transactions
            await self.plans.staged.apply_pending(rt)

        rt.on_start(counters_left_staged)

        async def start() -> None:
            self.sweeper.start()

        rt.on_start(start)
        rt.on_stop(self.sweeper.stop)
