"""`unit.*` and `linkage.*`: co-building units (驻区单位) with their contacts, and the
three-party linkage (三方联动) of an estate (rules in domain/units.py)."""

from __future__ import annotations

from typing import Any

from services.organizations import domain as d
from services.organizations.handlers.common import Feature
from shared.auth import Principal
from shared.commands import page_reply
from shared.contracts import organizations as w
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now


class Units(Feature):
    def contacts(self, contacts: list[w.ContactInput]) -> list[d.Contact]:
        """Contacts with their phones encrypted."""
        return [d.Contact(name=c.name, title=c.title, phone_enc=self.ctx.cipher.encrypt(c.phone)) for c in contacts]

    async def register(self, req: Request) -> dict:
        c, p = req.parse(w.RegisterUnit), req.principal
        region = self.ctx.node(c.regionId, p=p)

        async def register(uow: UnitOfWork) -> str:
            unit = d.Unit.register(
                id=new_id("un"),
                name=c.name,
                kind=d.UnitKind(c.kind),
                region=region,
                contacts=self.contacts(c.contacts),
                by=p,
                now=now(),
            )
            await self.ctx.put(uow, self.store.units, unit)
            return unit.id

        return await self.ctx.idempotent(p, "unit.register", c.idempotencyKey, register, lambda i: self.view(p, i))

    async def view(self, p: Principal, unit_id: str) -> dict:
        return self.views.unit(p, await self.store.units.load(unit_id))

    async def update(self, req: Request) -> dict:
        c, p = req.parse(w.UpdateUnit), req.principal
        contacts = self.contacts(c.contacts)
        unit = await self.ctx.change(
            self.store.units,
            c.id,
            c.expectedVersion,
            lambda u, _: u.set_contacts(contacts, p, now()),
            by=p,
            action=d.Action.MANAGE_UNIT,
        )
        return self.views.unit(p, unit)

    async def get(self, req: Request) -> dict | None:
        return await self.ctx.read(req, self.store.units, self.views.unit)

    async def batch(self, req: Request) -> dict:
        return await self.ctx.read_batch(req, self.store.units, self.views.unit)

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(w.ListUnits), req.principal
        if q.committeeId:  # a 大党委's units, in rotation order, on one page
            org = await self.ctx.scoped(self.store.orgs, q.committeeId, p)
            found = await self.store.units.many(org.unit_ids)
            units = [found[i] for i in org.unit_ids if i in found]
            return page_reply([self.views.unit(p, u) for u in units], len(units), False)
        query: dict[str, Any] = self.ctx.list_scope(p, q.regionId)
        if q.kind:
            query["kind"] = q.kind
        return await self.ctx.page(self.store.units, query, q.first, q.after, lambda u: self.views.unit(p, u))

    # -- 三方联动 -------------------------------------------------------------------------
    async def linkage_record(self, req: Request) -> dict:
        c, p = req.parse(w.RecordLinkage), req.principal

        async def record(uow: UnitOfWork) -> d.Linkage:
            return d.Linkage.record(
                id=new_id("lk"),
                estate=c.estate,
                committee=await self.ctx.scoped(self.store.orgs, c.committeeId, p, uow),
                property_company=await self.ctx.scoped(self.store.units, c.propertyCompanyId, p, uow),
                owners_committee=await self.ctx.scoped(self.store.units, c.ownersCommitteeId, p, uow),
                by=p,
                now=now(),
                owners_committee_record=await self.ctx.scoped(
                    self.store.owners_committees, c.ownersCommitteeRecordId, p, uow
                )
                if c.ownersCommitteeRecordId
                else None,
            )

        return self.views.linkage(await self.ctx.insert(self.store.linkages, record))

    async def linkage_list(self, req: Request) -> dict:
        return await self.ctx.region_list(req, self.store.linkages, self.views.linkage)
