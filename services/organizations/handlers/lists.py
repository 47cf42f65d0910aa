"""The three lists (三张清单): `need.*` from communities, `resource.*` from units and
`project.*` matching one to the other (rules in domain/lists.py)."""

from __future__ import annotations

from services.organizations import domain as d
from services.organizations.handlers.common import Feature
from shared.contracts import organizations as w
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now


class Lists(Feature):
    async def post_need(self, req: Request) -> dict:
        c, p = req.parse(w.PostNeed), req.principal
        community = self.ctx.node(c.communityId, "community", p)

        async def post(uow: UnitOfWork) -> d.Need:
            return d.Need.post(
                id=new_id("nd"),
                community=community,
                title=c.title,
                description=c.description,
                by=p,
                now=now(),
                category=c.category,
            )

        return self.views.need(await self.ctx.insert(self.store.needs, post))

    async def offer_resource(self, req: Request) -> dict:
        c, p = req.parse(w.OfferResource), req.principal

        async def offer(uow: UnitOfWork) -> d.Resource:
            unit = await self.ctx.scoped(self.store.units, c.unitId, p, uow)
            return d.Resource.offer(
                id=new_id("rs"),
                unit=unit,
                title=c.title,
                description=c.description,
                by=p,
                now=now(),
                category=c.category,
            )

        return self.views.resource(await self.ctx.insert(self.store.resources, offer))

    async def propose_project(self, req: Request) -> dict:
        c, p = req.parse(w.ProposeProject), req.principal

        async def propose(uow: UnitOfWork) -> d.Project:
            need = await self.ctx.scoped(self.store.needs, c.needId, p, uow)
            res = await self.ctx.scoped(self.store.resources, c.resourceId, p, uow)
            return d.Project.propose(id=new_id("pj"), need=need, resource=res, title=c.title, by=p, now=now())

        return self.views.project(await self.ctx.insert(self.store.projects, propose))

    async def move_project(self, req: Request) -> dict:
        c, p = req.parse(w.MoveProject), req.principal
        project = await self.ctx.change(
            self.store.projects,
            c.id,
            c.expectedVersion,
            lambda x, _: x.move_to(d.ProjectStatus(c.status), p, now(), c.note),
            by=p,
            action=d.Action.MANAGE_LISTS,
        )
        return self.views.project(project)

    async def need_list(self, req: Request) -> dict:
        return await self.ctx.region_list(req, self.store.needs, self.views.need)

    async def resource_list(self, req: Request) -> dict:
        return await self.ctx.region_list(req, self.store.resources, self.views.resource)

    async def project_list(self, req: Request) -> dict:
        return await self.ctx.region_list(req, self.store.projects, self.views.project)
