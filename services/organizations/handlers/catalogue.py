"""`catalogue.*`: a community's service catalogue (五项服务), kept by its staff, read by anyone
(rules in domain/catalogue.py)."""

from __future__ import annotations

from services.organizations import domain as d
from services.organizations import funds_views as fv
from services.organizations.domain.catalogue import MAX_ENTRIES_READ
from services.organizations.funds_store import FundStore
from services.organizations.handlers.common import Feature, OrgContext
from shared.auth import Principal
from shared.contracts import funds as w
from shared.errors import BadInput
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now
from shared.vocabulary.resources import ServiceProviderKind


class Catalogue(Feature):
    def __init__(self, ctx: OrgContext):
        super().__init__(ctx)
        self.funds = FundStore(ctx.store.db)

    async def provider(self, p: Principal, given: w.ProviderInput, uow: UnitOfWork) -> d.Provider:
        """A UNIT provider is a co-building unit the caller sees (its name from the record); a team
        or department is taken as named (they live in other services)."""
        if given.kind is ServiceProviderKind.UNIT:
            unit = await self.ctx.scoped(self.store.units, given.id, p, uow)
            return d.Provider.of(given.kind, unit.id, unit.name)
        return d.Provider.of(given.kind, given.id, given.name)

    @staticmethod
    def how(given: w.HowToOrderInput) -> d.HowToOrder:
        return d.HowToOrder.of(given.channel, given.contact, given.hours)

    async def add(self, req: Request) -> dict:
        c, p = req.parse(w.AddServiceEntry), req.principal
        community = self.ctx.node(c.communityId, "community", p)

        async def work(uow: UnitOfWork) -> str:
            entry = d.ServiceListEntry.add(
                id=new_id("sv"),
                community=community,
                kind=c.kind,
                title=c.title,
                description=c.description,
                provider=await self.provider(p, c.provider, uow),
                how_to_order=self.how(c.howToOrder),
                by=p,
                now=now(),
            )
            await self.ctx.put(uow, self.funds.services, entry)
            return entry.id

        return await self.ctx.idempotent(p, "catalogue.add", c.idempotencyKey, work, self.view)

    async def view(self, entry_id: str) -> dict:
        return fv.service(await self.funds.services.load(entry_id))

    async def update(self, req: Request) -> dict:
        c, p = req.parse(w.UpdateServiceEntry), req.principal

        async def update(entry: d.ServiceListEntry, uow: UnitOfWork) -> None:
            entry.update(
                kind=c.kind,
                title=c.title,
                description=c.description,
                provider=await self.provider(p, c.provider, uow) if c.provider else None,
                how_to_order=self.how(c.howToOrder) if c.howToOrder else None,
                by=p,
                now=now(),
            )

        entry = await self.ctx.change(
            self.funds.services, c.id, c.expectedVersion, update, by=p, action=d.Action.MANAGE_CATALOGUE
        )
        return fv.service(entry)

    async def retire(self, req: Request) -> dict:
        c, p = req.parse(w.RetireServiceEntry), req.principal
        entry = await self.ctx.change(
            self.funds.services,
            c.id,
            c.expectedVersion,
            lambda e, _: e.retire(c.reason, p, now()),
            by=p,
            action=d.Action.MANAGE_CATALOGUE,
        )
        return fv.service(entry)

    async def listing(self, req: Request) -> dict:
        """A community's catalogue, to anyone; retired entries too on a staff member's asking."""
        q, p = req.parse(w.CatalogueQuery), req.principal
        community = self.ctx.node(q.communityId, "community")
        if community.level != "COMMUNITY":
            raise BadInput(f"a service catalogue belongs to a COMMUNITY, not a {community.level}", {"id": community.id})
        staff = p.unrestricted or (p.role in d.PERMISSIONS[d.Action.VIEW] and p.can_see_path(community.path))
        entries = await self.funds.catalogue(
            community.id, str(q.kind) if q.kind else None, not (q.includeRetired and staff), MAX_ENTRIES_READ
        )
        return {"items": [fv.service(e) for e in entries]}
