"""`org.*`: the party organisation tree, committee positions and the 大党委's member units
(rules in domain/organization.py and domain/units.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.organizations import domain as d
from services.organizations.handlers.common import Feature
from shared.auth import Principal
from shared.contracts import organizations as w
from shared.ids import check_subject_id, new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now


class Organizations(Feature):
    async def create(self, req: Request) -> dict:
        c, p = req.parse(w.CreateOrganization), req.principal
        anchor = self.ctx.node(c.anchorId, p=p)
        if c.id is not None:
            check_subject_id(c.id)

        async def create(uow: UnitOfWork) -> str:
            # The parent sits above the anchor, often outside the caller's scope (a community's
            # committee under the street's working committee): the new organisation's anchor is checked.
            parent = await self.store.orgs.load(c.parentId, uow) if c.parentId else None
            if c.householdMemberId:
                await self.ctx.scoped(self.store.members, c.householdMemberId, p, uow)
            if c.unitId:  # committees: a non-territorial branch's unit, in the caller's scope
                await self.ctx.scoped(self.store.units, c.unitId, p, uow)
            org = d.Organization.create(
                id=c.id or new_id("po"),
                name=c.name,
                type=d.OrgType(c.type),
                anchor=anchor,
                parent=parent,
                by=p,
                now=now(),
                household_member_id=c.householdMemberId,
                unit_id=c.unitId,
            )
            await self.store.claim_org(uow, org, f"{anchor.name or anchor.id} already has a {org.type}")
            await self.ctx.put(uow, self.store.orgs, org)
            return org.id

        return await self.ctx.idempotent(p, "org.create", c.idempotencyKey, create, self.view)

    async def view(self, org_id: str) -> dict:
        return self.views.organization(await self.store.orgs.load(org_id))

    async def change(
        self, p: Principal, org_id: str, expected: int | None, command: Callable[[d.Organization, UnitOfWork], Any]
    ) -> dict:
        """Apply `command` to an organisation the caller may manage (at `expected`, if given)."""
        org = await self.ctx.change(self.store.orgs, org_id, expected, command, by=p, action=d.Action.MANAGE_ORG)
        return self.views.organization(org)

    async def update(self, req: Request) -> dict:
        c, p = req.parse(w.UpdateOrganization), req.principal
        return await self.change(p, c.id, c.expectedVersion, lambda o, _: o.rename(c.name, p, now()))

    async def appoint(self, req: Request) -> dict:
        c, p = req.parse(w.Appoint), req.principal
        pos = c.position
        if pos.memberId:
            await self.ctx.scoped(self.store.members, pos.memberId, p)
        position = d.Position(
            holder_name=pos.holderName,
            member_id=pos.memberId,
            unit_id=pos.unitId,
            role=d.PositionRole(pos.role),
            term=d.Term(start=pos.termStart, end=pos.termEnd),
        )
        return await self.change(p, c.id, c.expectedVersion, lambda o, _: o.appoint(position, p, now()))

    async def end_position(self, req: Request) -> dict:
        c, p = req.parse(w.EndPosition), req.principal
        return await self.change(
            p,
            c.id,
            c.expectedVersion,
            lambda o, _: o.end_position(d.PositionRole(c.role), c.holderName, c.end, p, now()),
        )

    async def add_unit(self, req: Request) -> dict:
        c, p = req.parse(w.CommitteeUnit), req.principal

        async def add(org: d.Organization, uow: UnitOfWork) -> None:
            unit = await self.ctx.scoped(self.store.units, c.unitId, p, uow)
            d.join_committee(org, unit, p, now())

        return await self.change(p, c.id, c.expectedVersion, add)

    async def remove_unit(self, req: Request) -> dict:
        c, p = req.parse(w.CommitteeUnit), req.principal
        return await self.change(p, c.id, c.expectedVersion, lambda o, _: o.remove_unit(c.unitId, p, now()))

    async def get(self, req: Request) -> dict | None:
        return await self.ctx.read(req, self.store.orgs, lambda p, o: self.views.organization(o))

    async def batch(self, req: Request) -> dict:
        return await self.ctx.read_batch(req, self.store.orgs, lambda p, o: self.views.organization(o))

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(w.ListOrganizations), req.principal
        query: dict[str, Any] = self.ctx.list_scope(p, q.regionId)
        if q.type:
            query["type"] = q.type
        if q.parentId:
            query["parent_id"] = q.parentId
        if q.weak is not None:
            query["weak"] = q.weak
        return await self.ctx.page(self.store.orgs, query, q.first, q.after, self.views.organization)
