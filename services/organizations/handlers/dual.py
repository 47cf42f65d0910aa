"""双报到: `dual.*` (a member reports to the community where they live), `twin.*` (an employer's
branch twins with a community) and the quarterly feedback of members' service from
`volunteers` (`feedback.list`, QUARTERLY_FEEDBACK); rules in domain/dual.py and domain/member.py."""

from __future__ import annotations

import logging
from typing import Any

from services.organizations import domain as d
from services.organizations.handlers.branches import count_branch_dual  # committees
from services.organizations.handlers.common import Feature
from shared.contracts import organizations as w
from shared.messaging.envelope import CloudEvent
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now

log = logging.getLogger("yiwang.organizations")


class Dual(Feature):
    async def register(self, req: Request) -> dict:
        c, p = req.parse(w.DualRegister), req.principal
        community = self.ctx.node(c.communityId, "community")

        async def register(m: d.PartyMember, uow: UnitOfWork) -> None:
            m.dual_register(community, p, now())
            await self.count_for_branch(uow, m.org_id, 1)

        member = await self.ctx.change(
            self.store.members, c.memberId, None, register, by=p, action=d.Action.DUAL_REGISTER
        )
        return self.views.member(p, member)

    async def end(self, req: Request) -> dict:
        c, p = req.parse(w.EndDual), req.principal

        async def end(m: d.PartyMember, uow: UnitOfWork) -> None:
            m.end_dual_registration(p, now(), c.reason)
            await self.count_for_branch(uow, m.org_id, -1)

        member = await self.ctx.change(
            self.store.members,
            c.memberId,
            None,
            end,
            by=p,
            action=d.Action.DUAL_REGISTER,
        )
        return self.views.member(p, member)

    async def count_for_branch(self, uow: UnitOfWork, org_id: str, delta: int) -> None:
        """committees: a member's 双报到 counts for their branch when it is outside the territorial chain."""
        await count_branch_dual(self.ctx, uow, org_id, delta)

    async def note_branch_service(self, uow: UnitOfWork, org_id: str) -> None:
        """committees: a member's service in a quarter is activity of their non-territorial branch."""
        org = await self.store.orgs.get(org_id, uow)
        if org is None or org.type.territorial:
            return
        version, before = org.version, org.model_copy(deep=True)
        if d.note_activity(org, now(), now()):
            await self.ctx.put(uow, self.store.orgs, org, before, version)

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(w.ListDual), req.principal
        self.ctx.territory.visible_path(p, q.communityId)
        return await self.ctx.page(
            self.store.members, {"dual_community": q.communityId}, q.first, q.after, lambda m: self.views.member(p, m)
        )

    # -- 单位报到 -------------------------------------------------------------------------
    async def twin(self, req: Request) -> dict:
        c, p = req.parse(w.TwinUnit), req.principal
        community = self.ctx.node(c.communityId, "community")

        async def register(uow: UnitOfWork) -> d.UnitTwinning:
            branch = await self.store.orgs.load(c.branchId, uow)
            return d.UnitTwinning.register(branch=branch, community=community, by=p, now=now())

        return self.views.twinning(await self.ctx.insert(self.store.twinnings, register))

    async def twin_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListTwinnings), req.principal
        self.ctx.territory.visible_path(p, q.communityId)
        return await self.ctx.page(
            self.store.twinnings, {"community_id": q.communityId}, q.first, q.after, self.views.twinning
        )

    # -- quarterly feedback ----------------------------------------------------------------
    async def feedback_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListFeedback), req.principal
        if q.memberId:
            member = await self.ctx.scoped(self.store.members, q.memberId, p)
            query: dict[str, Any] = {"member_id": member.id}
        else:
            query = self.ctx.list_scope(p, q.regionId)
        if q.quarter:
            query["quarter"] = q.quarter
        return await self.ctx.page(self.store.feedback, query, q.first, q.after, self.views.feedback)

    async def on_volunteer_event(self, event: CloudEvent) -> None:
        """QUARTERLY_FEEDBACK: an in-service member's service in a quarter (orders, activities
        and cases handed to them, as `volunteers` counts it), for their work unit."""
        if event.event != "QUARTERLY_FEEDBACK":
            return
        data = event.data
        services = d.services_in_quarter(int(data["orders"]), int(data["activities"]), int(data["cases"]))
        await self.set_feedback(
            data["member_id"], data["quarter"], int(data["feedbackVersion"]), float(data["hours"]), services
        )

    async def set_feedback(self, member_id: str, quarter_text: str, version: int, hours: float, services: int) -> None:
        async def work(uow: UnitOfWork) -> None:
            member = await self.store.members.get(member_id, uow)
            if member is None:
                log.info("feedback for unknown member %s ignored", member_id)
                return
            quarter = d.Quarter.parse(quarter_text)
            record = await self.store.feedback.get(d.feedback_id(member.id, quarter), uow)
            fresh = record is None
            record = record or d.FeedbackRecord.open(member, quarter)
            before = record.version
            if record.set_totals(version, hours, services, now()):
                await self.ctx.put(uow, self.store.feedback, record, None, None if fresh else before)
                if services > 0:
                    await self.note_branch_service(uow, member.org_id)

        await self.rt.transact(work)
