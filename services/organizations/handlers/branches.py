"""`unitReg.*`: 单位报到, a unit registers with a community with its commitments and records the
services it delivers; a service is activity of the unit's non-territorial branches (空转 clears).
Rules in domain/branches.py."""

from __future__ import annotations

from typing import Any

from services.organizations import domain as d
from services.organizations.handlers.common import Feature, OrgContext
from services.organizations.views_committees import CommitteeViews
from shared.contracts import committees as cm
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now


async def count_branch_dual(ctx: OrgContext, uow: UnitOfWork, org_id: str, delta: int, activity: bool = True) -> None:
    """A member's 双报到 counts for their branch when it is outside the territorial chain."""
    org = await ctx.store.orgs.get(org_id, uow)
    if org is None or org.type.territorial:
        return
    version, before = org.version, org.model_copy(deep=True)
    if d.count_dual(org, delta, now(), activity):
        await ctx.put(uow, ctx.store.orgs, org, before, version)


class UnitRegistrations(Feature):
    def __init__(self, ctx: OrgContext):
        super().__init__(ctx)
        self.cv = CommitteeViews(ctx.cipher)

    async def register(self, req: Request) -> dict:
        c, p = req.parse(cm.RegisterUnitWithCommunity), req.principal
        community = self.ctx.node(c.communityId, "community", p)

        async def register(uow: UnitOfWork) -> str:
            # the unit may sit outside the community (an agency of the county): it is read, not scoped
            unit = await self.store.units.load(c.unitId, uow)
            reg = d.UnitRegistration.register(
                unit=unit, community=community, commitments=c.commitments, by=p, now=now()
            )
            await self.ctx.put(uow, self.store.unit_registrations, reg)
            return reg.id

        return await self.ctx.idempotent(p, "unitReg.register", c.idempotencyKey, register, self.view)

    async def view(self, reg_id: str) -> dict:
        return self.cv.unit_registration(await self.store.unit_registrations.load(reg_id))

    async def service(self, req: Request) -> dict:
        c, p = req.parse(cm.RecordUnitService), req.principal

        async def record(reg: d.UnitRegistration, uow: UnitOfWork) -> None:
            reg.record_service(c.what, c.at, p, now())
            for branch in await self.store.branches_of_unit(reg.unit_id, uow):
                version, before = branch.version, branch.model_copy(deep=True)
                if d.note_activity(branch, c.at, now()):
                    await self.ctx.put(uow, self.store.orgs, branch, before, version)

        reg = await self.ctx.change(
            self.store.unit_registrations, c.id, c.expectedVersion, record, by=p, action=d.Action.MANAGE_UNIT
        )
        return self.cv.unit_registration(reg)

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(cm.ListUnitRegistrations), req.principal
        query: dict[str, Any] = self.ctx.list_scope(p, q.regionId)
        if q.unitId:
            query["unit_id"] = q.unitId
        return await self.ctx.page(self.store.unit_registrations, query, q.first, q.after, self.cv.unit_registration)
