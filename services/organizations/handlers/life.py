"""`life.*`: organisational life (三会一课, 主题党日) with attendance, which keeps an
organisation from turning weak (rules in domain/life.py)."""

from __future__ import annotations

from services.organizations import domain as d
from services.organizations.handlers.common import Feature
from shared.commands import page_reply
from shared.contracts import organizations as w
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now, recall, remember


class Life(Feature):
    async def record(self, req: Request) -> dict:
        c, p = req.parse(w.RecordLife), req.principal
        key = f"life.record:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None

        async def work(uow: UnitOfWork) -> dict:
            if key and (done := await recall(uow, key)):
                return done
            org = await self.ctx.scoped(self.store.orgs, c.organizationId, p, uow)
            version, before = org.version, org.model_copy(deep=True)
            record = d.record_life(
                org,
                id=new_id("ol"),
                kind=d.LifeKind(c.kind),
                held_at=c.heldAt,
                topic=c.topic,
                attendance=c.attendance,
                by=p,
                now=now(),
                minutes=c.minutes,
            )
            await self.store.insert_life(uow, record)
            await self.ctx.put(uow, self.store.orgs, org, before, version)
            view = self.views.life(record)
            if key:
                await remember(uow, key, view)
            return view

        return await self.rt.transact(work)

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(w.ListLife), req.principal
        org = await self.ctx.scoped(self.store.orgs, q.organizationId, p)
        items, total, more = await self.store.life_page(org.id, q.first, q.after)
        return page_reply([self.views.life(r) for r in items], total, more)
