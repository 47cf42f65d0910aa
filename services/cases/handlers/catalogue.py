"""The dispatch catalogue (`domain/catalogue.py`): read it, add or change a category, remove one."""

from __future__ import annotations

from collections.abc import Callable

from services.cases import domain as d
from services.cases.handlers.context import SERVICE, CaseContext
from shared.auth import Principal, public_actor, require_deployment_admin
from shared.contracts.cases import CategoryInput, RemoveCategory
from shared.messaging.envelope import make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork


class CatalogueCommands:
    def __init__(self, ctx: CaseContext):
        self.ctx = ctx

    def may_edit(self, p: Principal) -> None:
        """SLA and routing of every region: a city's administrators or a superadmin."""
        path = self.ctx.territory.path(p.region) if p.region else None
        require_deployment_admin(p, path, "edit the dispatch catalogue")

    async def list(self, req: Request) -> dict:
        return self.ctx.views.catalogue(await self.ctx.current_catalogue(max_age_s=0))

    async def _edit(self, p: Principal, edit: Callable[[d.Catalogue], d.Catalogue]) -> dict:
        self.may_edit(p)
        store = self.ctx.store

        async def work(uow: UnitOfWork) -> d.Catalogue:
            current = await store.catalogue()
            new = edit(current)
            await store.save_catalogue(uow, new, current.version, p.sub)
            uow.record(
                make_event(
                    SERVICE,
                    "CATALOGUE_CHANGED",
                    "catalogue",
                    {"version": new.version},
                    path=[],
                    actor=public_actor(p),
                    version=new.version,
                )
            )
            return new

        self.ctx.changed_catalogue(await self.ctx.rt.transact(work))
        return self.ctx.views.catalogue(self.ctx.catalogue)

    async def upsert(self, req: Request) -> dict:
        c = req.parse(CategoryInput)
        category = d.new_category(
            c.code,
            c.name,
            c.group,
            c.defaultLevel,
            c.department,
            c.slaSeconds,
            c.kind,
            sla_work=c.slaWorking,
            sla_levels=[(str(x.level), x.working) for x in c.slaByLevel or ()],
            requires_verification=c.requiresVerification,
            requires_after_photo=c.requiresAfterPhoto,
        )
        return await self._edit(req.principal, lambda cat: cat.upsert(category))

    async def remove(self, req: Request) -> dict:
        code = req.parse(RemoveCategory).code
        return await self._edit(req.principal, lambda cat: cat.remove(code))
