"""`member.*`: party members, their contact data (encrypted, masked, revealed with an audit)
and their lists (rules in domain/member.py)."""

from __future__ import annotations

from typing import Any

from services.organizations import domain as d
from services.organizations.handlers.common import Feature
from shared.auth import Principal
from shared.contracts import organizations as w
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now


class Members(Feature):
    async def register(self, req: Request) -> dict:
        c, p = req.parse(w.RegisterMember), req.principal
        cipher = self.ctx.cipher
        home = self.ctx.node(c.homeBuildingId, "building") if c.homeBuildingId else None
        id_indexes = cipher.blind_indexes(c.idNumber) if c.idNumber else []

        async def register(uow: UnitOfWork) -> str:
            org = await self.ctx.scoped(self.store.orgs, c.organizationId, p, uow)
            member = d.PartyMember.register(
                id=new_id("pm"),
                name=c.name,
                gender=d.Gender(c.gender),
                birth_date=c.birthDate,
                join_date=c.joinDate,
                category=d.MemberCategory(c.category),
                org=org,
                by=p,
                now=now(),
                home=home,
                phone_enc=cipher.encrypt(c.phone),
                phone_index=cipher.blind_index(c.phone) if c.phone else None,
                id_number_enc=cipher.encrypt(c.idNumber),
                id_number_index=id_indexes[0] if id_indexes else None,
            )
            if id_indexes:
                await self.store.claim_id_number(uow, member.id, id_indexes)
            await self.ctx.put(uow, self.store.members, member)
            return member.id

        return await self.ctx.idempotent(p, "member.register", c.idempotencyKey, register, lambda i: self.view(p, i))

    async def view(self, p: Principal, member_id: str) -> dict:
        return self.views.member(p, await self.store.members.load(member_id))

    async def update(self, req: Request) -> dict:
        c, p = req.parse(w.UpdateMember), req.principal
        cipher = self.ctx.cipher
        home = self.ctx.node(c.homeBuildingId, "building") if c.homeBuildingId else None
        member = await self.ctx.change(
            self.store.members,
            c.id,
            c.expectedVersion,
            lambda m, _: m.update(
                p,
                now(),
                category=d.MemberCategory(c.category) if c.category else None,
                home=home,
                phone_enc=cipher.encrypt(c.phone) if c.phone else None,
                phone_index=cipher.blind_index(c.phone) if c.phone else None,
            ),
            by=p,
            action=d.Action.MANAGE_MEMBER,
        )
        return self.views.member(p, member)

    async def reveal(self, req: Request) -> dict:
        c, p = req.parse(w.RevealMember), req.principal
        member = await self.ctx.change(
            self.store.members,
            c.memberId,
            None,
            lambda m, _: m.reveal_contact(p, c.reason, now()),
            by=p,
            action=d.Action.MANAGE_MEMBER,
        )
        cipher = self.ctx.cipher
        return {"phone": cipher.decrypt(member.phone_enc), "idNumber": cipher.decrypt(member.id_number_enc)}

    async def get(self, req: Request) -> dict | None:
        return await self.ctx.read(req, self.store.members, self.views.member)

    async def batch(self, req: Request) -> dict:
        return await self.ctx.read_batch(req, self.store.members, self.views.member)

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(w.ListMembers), req.principal
        if q.organizationId:
            org = await self.ctx.scoped(self.store.orgs, q.organizationId, p)
            query: dict[str, Any] = {"org_id": org.id}
        else:
            query = self.ctx.list_scope(p, q.regionId)
        if q.category:
            query["category"] = q.category
        total = None
        if set(query) <= {"path", "category"} and isinstance(query.get("path"), str):  # a region's: its figure
            counter = f"members.{q.category}" if q.category else "members"
            total = (await self.store.counters([query["path"]])).get(query["path"], {}).get(counter, 0)
        view = lambda m: self.views.member(p, m)  # noqa: E731
        return await self.ctx.page(self.store.members, query, q.first, q.after, view, total)
