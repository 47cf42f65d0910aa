"""`weak.*` and `rectification.*`: the weak-organisation score (软弱涣散) of each organisation,
its settings, and the rectification (整顿) of a flagged one (rules in domain/weak.py and
domain/rectification.py; the rating itself in weak_rating.py, run by the sweeper)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from services.organizations.domain.rectification import RectificationPlan, TaskInput
from services.organizations.domain.weak import (
    SETTINGS_ID,
    SignalRule,
    WeakSettings,
    WeakSettingsRecord,
    WeakSignal,
    WeakStanding,
)
from services.organizations.handlers.common import Feature, OrgContext
from services.organizations.weak_rating import Rater
from shared.auth import Principal, require_deployment_admin
from shared.commands import page_reply
from shared.contracts import weak_orgs as w
from shared.contracts.common import ById, ByIds
from shared.errors import Conflict, Forbidden, NotFound
from shared.ids import new_id
from shared.messaging.rpc import Request, item_error
from shared.mongo import UnitOfWork, now, recall, remember


def iso(t: Any) -> str | None:
    return t.isoformat() if t is not None else None


def plan_view(plan: RectificationPlan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "organizationId": plan.org_id,
        "note": plan.note,
        "status": str(plan.status),
        "reviewAt": iso(plan.review_at),
        "startedAt": iso(plan.started_at),
        "closedAt": iso(plan.closed_at),
        "scoreAtStart": plan.score_at_start,
        "tasks": [
            {
                "id": t.id,
                "title": t.title,
                "responsible": t.responsible,
                "dueAt": iso(t.due_at),
                "doneAt": iso(t.done_at),
                "note": t.note,
                "overdue": t.overdue,
            }
            for t in plan.tasks
        ],
        "reviews": [
            {"at": iso(r.at), "passed": r.passed, "note": r.note, "score": r.score, "threshold": r.threshold}
            for r in plan.reviews
        ],
        "version": plan.version,
    }


def standing_view(s: WeakStanding, plan: RectificationPlan | None = None) -> dict[str, Any]:
    return {
        "id": s.org_id,
        "organizationId": s.org_id,
        "score": s.score,
        "threshold": s.threshold,
        "flagged": s.flagged,
        "flaggedAt": iso(s.flagged_at),
        "ratedAt": iso(s.rated_at),
        "planId": s.plan_id,
        "rectifiedCount": s.rectified_count,
        "signals": [
            {
                "signal": str(x.signal),
                "value": x.value,
                "threshold": x.threshold,
                "points": x.points,
                "maxPoints": x.max_points,
                "reason": x.reason,
            }
            for x in s.signals
        ],
        "plan": plan_view(plan) if plan else None,
    }


def settings_view(s: WeakSettings) -> dict[str, Any]:
    return {
        "threshold": s.threshold,
        "windowDays": s.window_days,
        "minCases": s.min_cases,
        "version": s.version,
        "updatedAt": iso(s.updated_at),
        "rules": [{"signal": str(r.signal), "threshold": r.threshold, "points": r.points} for r in s.rules],
    }


class Weak(Feature):
    def __init__(self, ctx: OrgContext):
        super().__init__(ctx)
        self.rater = Rater(ctx)
        self.weak = self.rater.weak

    # -- reads ---------------------------------------------------------------------------
    async def listing(self, req: Request) -> dict:
        """The flagged organisations of a region's subtree (bounded pages); the count from the rollups."""
        q, p = req.parse(w.ListWeak), req.principal
        self.ctx.territory.visible_path(p, q.regionId)
        total = (await self.store.counters([q.regionId])).get(q.regionId, {}).get("weak_flagged", 0)
        flagged = {"flagged": True, "path": q.regionId}
        items, total, more = await self.weak.standings.page(flagged, q.first, q.after, total)
        plans = await asyncio.gather(*(self.weak.plans.get(s.plan_id) if s.plan_id else _none() for s in items))
        page = page_reply([standing_view(s, plan) for s, plan in zip(items, plans, strict=True)], total, more)
        page["endCursor"] = items[-1].id if items else None
        return page

    async def settings(self, req: Request) -> dict:
        return settings_view(await self.rater.settings())

    async def get_plan(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        plan = await self.ctx.readable(p, self.weak.plans, q.id)
        return plan_view(plan) if plan else None

    # -- settings --------------------------------------------------------------------------
    async def set_settings(self, req: Request) -> dict:
        p = req.principal
        require_deployment_admin(p, self.ctx.territory.path(p.region) if p.region else None, "set the weak score")
        c = req.parse(w.SetWeakSettings)
        rules = [SignalRule(signal=WeakSignal(r.signal), threshold=r.threshold, points=r.points) for r in c.rules]
        repo = self.weak.settings

        async def work(uow: UnitOfWork) -> dict:
            record = await repo.get(SETTINGS_ID, uow)
            at = now()
            fresh = record is None
            if record is None:
                record = WeakSettingsRecord(id=SETTINGS_ID, updated_at=at)
            version, before = record.version, record.model_copy(deep=True)
            record.change(
                threshold=c.threshold, window_days=c.windowDays, min_cases=c.minCases, rules=rules, by=p, now=at
            )
            await self.ctx.put(uow, repo, record, None if fresh else before, None if fresh else version)
            return settings_view(record.settings)

        return await self.rt.transact(work)

    # -- rating now (services, superadmins: the demo, operators) ----------------------------
    async def rate(self, req: Request) -> dict:
        q, p = req.parse(ByIds), req.principal
        if not p.unrestricted:
            raise Forbidden("only a service or a superadmin rates organisations on demand; the sweeper rates them all")
        orgs = await self.store.orgs.many(q.ids)
        rated = await self.rater.rate(list(orgs.values()), now())
        return {
            "items": {
                i: standing_view(rated[i]) if i in rated else item_error(NotFound(f"organisation {i} is not scored"))
                for i in q.ids
            }
        }

    # -- rectification ----------------------------------------------------------------------
    async def _once(
        self, p: Principal, verb: str, key: str | None, work: Callable[[UnitOfWork], Awaitable[dict]]
    ) -> dict:
        k = f"{verb}:{p.sub}:{key}" if key else None

        async def run(uow: UnitOfWork) -> dict:
            if k and (done := await recall(uow, k)):
                return done
            view = await work(uow)
            if k:
                await remember(uow, k, view)
            return view

        return await self.rt.transact(run)

    async def _standing(self, uow: UnitOfWork, org_id: str) -> WeakStanding:
        standing = await self.weak.standings.get(org_id, uow)
        if standing is None:
            raise Conflict(f"organisation {org_id} has not been scored yet; only a flagged organisation is rectified")
        return standing

    async def start(self, req: Request) -> dict:
        c, p = req.parse(w.StartRectification), req.principal

        async def work(uow: UnitOfWork) -> dict:
            org = await self.ctx.scoped(self.store.orgs, c.organizationId, p, uow)
            standing = await self._standing(uow, org.id)
            version, before = standing.version, standing.model_copy(deep=True)
            plan = RectificationPlan.start(
                id=new_id("rp"),
                standing=standing,
                tasks=[TaskInput(title=t.title, responsible=t.responsible, due_at=t.dueAt) for t in c.tasks],
                review_at=c.reviewAt,
                note=c.note,
                by=p,
                now=now(),
            )
            await self.ctx.put(uow, self.weak.plans, plan)
            await self.ctx.put(uow, self.weak.standings, standing, before, version)
            return plan_view(plan)

        return await self._once(p, "rectification.start", c.idempotencyKey, work)

    async def complete_task(self, req: Request) -> dict:
        c, p = req.parse(w.CompleteRectificationTask), req.principal

        async def work(uow: UnitOfWork) -> dict:
            plan = await self.ctx.scoped(self.weak.plans, c.planId, p, uow)
            version, before = plan.version, plan.model_copy(deep=True)
            plan.complete_task(c.taskId, c.note, p, now())
            await self.ctx.put(uow, self.weak.plans, plan, before, version)
            return plan_view(plan)

        return await self._once(p, "rectification.completeTask", c.idempotencyKey, work)

    async def review(self, req: Request) -> dict:
        c, p = req.parse(w.ReviewRectification), req.principal

        async def work(uow: UnitOfWork) -> dict:
            plan = await self.ctx.scoped(self.weak.plans, c.planId, p, uow)
            standing = await self._standing(uow, plan.org_id)
            pv, pb = plan.version, plan.model_copy(deep=True)
            sv, sb = standing.version, standing.model_copy(deep=True)
            plan.review(c.passed, c.note, standing, p, now())
            await self.ctx.put(uow, self.weak.plans, plan, pb, pv)
            if standing.version != sv:
                await self.ctx.put(uow, self.weak.standings, standing, sb, sv)
            return plan_view(plan)

        return await self._once(p, "rectification.review", c.idempotencyKey, work)


async def _none() -> None:
    return None
