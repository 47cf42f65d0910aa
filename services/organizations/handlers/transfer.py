"""`transfer.*`: moving a member between organisations, requested, decided on the receiving
side or cancelled by either (rules in domain/transfer.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.organizations import domain as d
from services.organizations.handlers.branches import count_branch_dual  # committees
from services.organizations.handlers.common import Feature
from shared.auth import Principal
from shared.contracts import organizations as w
from shared.errors import Conflict
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now
from shared.records import until

Decision = Callable[[d.Transfer, d.PartyMember, UnitOfWork], Awaitable[None]]


class Transfers(Feature):
    async def request(self, req: Request) -> dict:
        c, p = req.parse(w.RequestTransfer), req.principal

        async def work(uow: UnitOfWork) -> d.Transfer:
            member = await self.ctx.scoped(self.store.members, c.memberId, p, uow)
            version, before = member.version, member.model_copy(deep=True)
            from_org = await self.store.orgs.load(member.org_id, uow)
            to_org = await self.store.orgs.load(c.toOrganizationId, uow)
            transfer = d.request_transfer(
                id=new_id("tr"),
                member=member,
                from_org=from_org,
                to_org=to_org,
                by=p,
                now=now(),
                reason=c.reason,
                deadline_days=c.deadlineDays or self.ctx.settings.org_transfer_deadline_days,
            )
            await self.ctx.put(uow, self.store.members, member, before, version)
            await self.ctx.put(uow, self.store.transfers, transfer)
            return transfer

        return self.views.transfer(await self.rt.transact(work))

    async def decide(self, req: Request, decide: Decision, may: Callable[[Principal, d.Transfer], None]) -> dict:
        """Load the transfer (in scope on either side) and its member, check who may decide
        before the version, apply `decide`, save both."""
        c, p = req.parse(w.DecideTransfer), req.principal

        async def work(uow: UnitOfWork) -> d.Transfer:
            transfer = await self.ctx.scoped(self.store.transfers, c.id, p, uow)
            may(p, transfer)  # before the version: a caller who may not decide learns nothing of it
            if c.expectedVersion is not None and c.expectedVersion != transfer.version:
                raise Conflict(
                    f"transfer {c.id} is at version {transfer.version}, not {c.expectedVersion}",
                    {"currentVersion": transfer.version},
                )
            member = await self.store.members.load(transfer.member_id, uow)
            tv, mv, before = transfer.version, member.version, member.model_copy(deep=True)
            await decide(transfer, member, uow)
            await self.ctx.put(uow, self.store.transfers, transfer, None, tv)
            await self.ctx.put(uow, self.store.members, member, before, mv)
            return transfer

        return self.views.transfer(await self.rt.transact(work))

    async def approve(self, req: Request) -> dict:
        p = req.principal

        async def approve(t: d.Transfer, m: d.PartyMember, uow: UnitOfWork) -> None:
            left, dual = m.org_id, m.active_dual is not None
            d.approve_transfer(t, m, await self.store.orgs.load(t.to_org_id, uow), p, now())
            if dual and m.org_id != left:  # committees: their 双报到 counts for the branch they joined
                await count_branch_dual(self.ctx, uow, left, -1)
                await count_branch_dual(self.ctx, uow, m.org_id, 1, activity=False)

        return await self.decide(req, approve, d.authorize_decision)

    async def reject(self, req: Request) -> dict:
        p, reason = req.principal, req.parse(w.DecideTransfer).reason

        async def reject(t: d.Transfer, m: d.PartyMember, uow: UnitOfWork) -> None:
            d.reject_transfer(t, m, reason, p, now())

        return await self.decide(req, reject, d.authorize_decision)

    async def cancel(self, req: Request) -> dict:
        p, reason = req.principal, req.parse(w.DecideTransfer).reason

        async def cancel(t: d.Transfer, m: d.PartyMember, uow: UnitOfWork) -> None:
            d.cancel_transfer(t, m, p, now(), reason)

        return await self.decide(req, cancel, lambda by, t: d.authorize_either_side(by, d.Action.REQUEST_TRANSFER, t))

    async def get(self, req: Request) -> dict | None:
        return await self.ctx.read(req, self.store.transfers, lambda p, t: self.views.transfer(t))

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(w.ListTransfers), req.principal
        query: dict[str, Any] = self.ctx.list_scope(p, q.regionId, either_side=True)
        if q.memberId:
            query["member_id"] = q.memberId
        if q.status:
            query["status"] = q.status
        if q.overdue is not None:
            query["status"] = "REQUESTED"
            query["deadline_at"] = until(now(), inclusive=False) if q.overdue else {"$gte": now()}
        return await self.ctx.page(self.store.transfers, query, q.first, q.after, self.views.transfer)
