"""党员联户 (`domain/links.py`): link a party member to households, unlink, read a member's links."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from services.grids.domain import households as hh
from services.grids.domain import links as rules
from services.grids.handlers.context import SERVICE, GridContext
from services.grids.household_store import HouseholdStore
from services.grids.store_links import LinkStore, member_key
from shared.auth import Principal, Role, hidden, public_actor
from shared.contracts.common import ByIds
from shared.contracts.grids import LinkMember, UnlinkMember
from shared.errors import BadInput, Conflict, DomainError, Forbidden, NotFound
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Request, item_error
from shared.mongo import UnitOfWork, now, remember, remembered

# Who links and unlinks members (the party committee's staff of the community, in scope).
LINKERS = frozenset({Role.ADMIN, Role.OPERATOR})


def link_event(p: Principal, name: str, data: dict[str, Any], path: list[str]) -> CloudEvent:
    """MEMBER_LINKED / MEMBER_UNLINKED: ids and counts, the community's path (no personal data)."""
    return make_event(SERVICE, name, data["memberId"], data, path=path, actor=public_actor(p))


def require_linker(p: Principal) -> None:
    p.require_role(*LINKERS, action="link party members to households")


class Links:
    def __init__(self, ctx: GridContext):
        self.ctx = ctx
        self.households = HouseholdStore(ctx.rt.db)
        self.links = LinkStore(ctx.rt.db)

    async def _member(self, member_id: str) -> dict:
        """The member as the organizations service knows them (asked with this service's token)."""
        try:
            m = await self.ctx.rt.rpc.call("organizations", "member.get", {"id": member_id}, self.ctx.rt.token())
        except NotFound:
            m = None
        if not m:
            raise BadInput(f"party member {member_id} does not exist", {"memberId": member_id})
        return m

    async def _home_path(self, member: dict) -> list[str] | None:
        home = member.get("homeBuildingId")
        doc = await self.ctx.store.get_doc(home) if home else None
        return doc["path"] if doc else None

    async def _households(self, p: Principal, ids: list[str], uow: UnitOfWork) -> list[dict]:
        own_level = hh.level_of_path(await self.ctx.principal_path(p))
        scope = hh.household_scope(p, own_level)
        found = {
            d["_id"]: d async for d in self.households.coll.find({"_id": {"$in": ids}}, session=uow.session)
        }  # at most MAX_LINK_BATCH, by _id: one read
        docs = []
        for i in ids:
            d = found.get(i)
            if d is None or not scope.admits(d):
                raise hidden(p, f"household {i}")
            hh.check_active(d)
            docs.append(d)
        return docs

    async def _set(
        self, uow: UnitOfWork, docs: list[dict], member_id: str, add: bool
    ) -> dict[tuple[str, ...], Counter]:
        """Add or take away the member on each household (version-checked, one round trip); what
        it changes of the counters per building path (a household counts while it has any linked
        member)."""
        op = {"$addToSet": {"linkedMemberIds": member_id}} if add else {"$pull": {"linkedMemberIds": member_id}}
        at = now()
        res = await self.households.coll.bulk_write(
            [
                UpdateOne(
                    {"_id": d["_id"], "version": d["version"]},
                    {**op, "$inc": {"version": 1}, "$set": {"updatedAt": at}},
                )
                for d in docs
            ],
            ordered=True,
            session=uow.session,
        )
        if res.matched_count != len(docs):
            raise Conflict("a household changed meanwhile; try again", {"householdIds": [d["_id"] for d in docs]})
        deltas: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for d in docs:
            before = len(d.get("linkedMemberIds") or [])
            deltas[tuple(d["path"])].update(rules.counters_of_links(before, before + (1 if add else -1)))
        return deltas

    async def link(self, req: Request) -> dict:
        return await self._change(req, add=True)

    async def unlink(self, req: Request) -> dict:
        return await self._change(req, add=False)

    async def _change(self, req: Request, add: bool) -> dict:
        c, p, ctx = req.parse(LinkMember if add else UnlinkMember), req.principal, self.ctx
        ids = rules.check_household_ids(c.householdIds)
        verb = "member.link" if add else "member.unlink"
        key = f"{verb}:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        if key and (done := await remembered(ctx.rt.db, key)):
            return done
        member = await self._member(c.memberId)
        home_path = await self._home_path(member) if add else None

        async def work(uow: UnitOfWork) -> dict:
            docs = await self._households(p, ids, uow)
            community = rules.check_one_community(docs)
            if add:
                rules.check_member_in_community(member, community, home_path)
                rules.check_not_linked(c.memberId, docs)
            else:
                rules.check_linked(c.memberId, docs)
            await self.links.touch_member(uow, c.memberId)  # racing links of one member run one after another
            held = await self.links.linked_count(uow, c.memberId)
            if add:
                rules.check_cap(held, len(docs))
            for path, delta in (await self._set(uow, docs, c.memberId, add)).items():
                await ctx.store.bump(uow, list(path), delta)  # one bump per building: a request's are mostly one
            if add:
                await self.links.insert_links(uow, c.memberId, docs, p.sub)
            else:
                await self.links.delete_links(uow, c.memberId, ids)
            after = held + (len(docs) if add else -len(docs))
            data = {"memberId": c.memberId, "householdIds": ids, "linkedCount": after, "communityId": community}
            path = docs[0]["path"][: docs[0]["path"].index(community) + 1]
            uow.record(link_event(p, "MEMBER_LINKED" if add else "MEMBER_UNLINKED", data, path))
            # The member as organizations shows them to anyone but themself (phone and ID number
            # masked): the caller named them, and they serve this community.
            out = {**data, "member": member}
            if key:
                await remember(uow, key, out)
            return out

        try:
            return await ctx.rt.transact(work)
        except DuplicateKeyError:
            if key and (done := await remembered(ctx.rt.db, key)):
                return done
            raise Conflict(f"party member {c.memberId} is already linked to one of these households") from None

    async def of_members(self, req: Request) -> dict:
        """For each member: the live households they are linked to (ids) and their visits. Read by
        staff, and by a member (a volunteer) for themself; households themselves are read through
        `household.batch`, in the caller's scope."""
        q, p = req.parse(ByIds), req.principal
        out: dict[str, Any] = {}
        counts = await self.links.visit_counts([member_key(i) for i in q.ids])
        for i in q.ids:
            if not (p.unrestricted or p.role in LINKERS or (p.member and p.member == i)):
                out[i] = item_error(Forbidden(f"role {p.role} may not read party member {i}'s households"))
                continue
            try:
                placed = await self.links.households_placed(i)
            except DomainError as e:  # pragma: no cover - a store failure answers per item
                out[i] = item_error(e)
                continue
            # staff learn only the households of their own subtree; a member all of their own
            own = p.unrestricted or (p.member is not None and p.member == i)
            ids = [h for h, path in placed if own or p.can_see_path(path)]
            out[i] = {"memberId": i, "householdIds": ids, "visitCount": counts[member_key(i)]}
        return {"items": out}
