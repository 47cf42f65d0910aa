"""`member.linkImport` (services only): many `member.link`s in one transaction, for seeding a community's 党员联户.

Each link keeps the rules of `member.link` (`domain/links.py`): the member exists in organizations
and serves the households' one community, none is linked to them yet, the cap of households a member
looks after, households live and unchanged (version-checked). For the whole batch at once: the
members asked of organizations in one `member.batch`, the households read in one `$in` by id, the
households' writes in one bulk, `linkedHouseholdCount` summed into one increment per region node,
the link records in one insert; each link still has its MEMBER_LINKED event and its idempotency
record (`member.link:<caller>:<key>`, the same as `member.link`'s, so either verb sent again answers
what the first did). All or nothing: a bad link fails the batch naming its index.
"""

from __future__ import annotations

from collections import Counter

from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from services.grids.domain import households as hh
from services.grids.domain import links as rules
from services.grids.handlers.context import SERVICE, GridContext
from services.grids.household_store import HouseholdStore
from services.grids.store_links import LinkStore, link_record
from shared.contracts.grids import ImportLinks, LinkMember
from shared.errors import BadInput, Conflict, DomainError
from shared.messaging.envelope import make_event
from shared.messaging.rpc import Request
from shared.mongo import IDEMPOTENCY, UnitOfWork, now, remember
from shared.trends import city_tz, day_of, fold_days


def _at(i: int, x: LinkMember, e: DomainError) -> DomainError:
    return type(e)(f"links[{i}] (member {x.memberId}): {e.message}", {"index": i, **e.details})


class LinkImporter:
    def __init__(self, ctx: GridContext):
        self.ctx = ctx
        self.households = HouseholdStore(ctx.rt.db)
        self.links = LinkStore(ctx.rt.db)

    def key(self, sub: str, x: LinkMember) -> str | None:
        return f"member.link:{sub}:{x.idempotencyKey}" if x.idempotencyKey else None

    async def handle(self, req: Request) -> dict:
        c, p, ctx = req.parse(ImportLinks), req.principal, self.ctx
        for i, x in enumerate(c.links):
            try:
                rules.check_household_ids(x.householdIds)
            except DomainError as e:
                raise _at(i, x, e) from None
        keys = [k for x in c.links if (k := self.key(p.sub, x))]
        done = {d["_id"]: d["result"] async for d in ctx.rt.db[IDEMPOTENCY].find({"_id": {"$in": keys}})}
        todo = [(i, x) for i, x in enumerate(c.links) if self.key(p.sub, x) not in done]
        members = await self.members(sorted({x.memberId for _, x in todo}))
        homes = await ctx.store.get_docs(sorted({h for m in members.values() if (h := m.get("homeBuildingId"))}))

        async def work(uow: UnitOfWork) -> list[dict]:
            return await self.write(uow, p.sub, todo, members, {i: d["path"] for i, d in homes.items()})

        try:
            made = await ctx.rt.transact(work) if todo else []
        except DuplicateKeyError:
            raise Conflict("some of these links were made at the same time; send the batch again") from None
        out = iter(made)
        return {
            "items": [done[k] if (k := self.key(p.sub, x)) in done else next(out) for x in c.links],
            "linked": len(made),
        }

    async def members(self, ids: list[str]) -> dict[str, dict]:
        """The members as organizations knows them (asked with this service's token), by id."""
        found: dict[str, dict] = {}
        for start in range(0, len(ids), 500):
            reply = await self.ctx.rt.rpc.call(
                "organizations", "member.batch", {"ids": ids[start : start + 500]}, self.ctx.rt.token()
            )
            found |= {i: m for i, m in reply["items"].items() if m and "error" not in m}
        return found

    async def write(
        self,
        uow: UnitOfWork,
        actor: str,
        todo: list[tuple[int, LinkMember]],
        members: dict[str, dict],
        homes: dict[str, list[str]],
    ) -> list[dict]:
        ids = sorted({h for _, x in todo for h in x.householdIds})
        docs = {d["_id"]: d async for d in self.households.coll.find({"_id": {"$in": ids}}, session=uow.session)}
        linked = {i: list(d.get("linkedMemberIds") or []) for i, d in docs.items()}
        held: dict[str, int] = {}
        ms = sorted({x.memberId for _, x in todo})
        await self.links.touch_members(uow, ms)  # racing links of one member run one after another
        for m in ms:  # by the index, one member at a time (an `$in` on it would scan)
            held[m] = await self.links.linked_count(uow, m)
        plans: list[tuple[LinkMember, dict, str, list[dict], int]] = []
        for i, x in todo:
            try:
                member = members.get(x.memberId)
                if member is None:
                    raise BadInput(f"party member {x.memberId} does not exist", {"memberId": x.memberId})
                ds = []
                for h in x.householdIds:
                    if (d := docs.get(h)) is None:
                        raise BadInput(f"household {h} does not exist", {"householdId": h})
                    hh.check_active(d)
                    ds.append({**d, "linkedMemberIds": linked[h]})
                community = rules.check_one_community(ds)
                home = homes.get(member.get("homeBuildingId") or "")
                rules.check_member_in_community(member, community, home)
                rules.check_not_linked(x.memberId, ds)
                rules.check_cap(held[x.memberId], len(ds))
            except DomainError as e:
                raise _at(i, x, e) from None
            held[x.memberId] += len(ds)
            for h in x.householdIds:
                linked[h] = [*linked[h], x.memberId]
            plans.append((x, member, community, ds, held[x.memberId]))
        changed = {h for _, x in todo for h in x.householdIds}
        at = now()
        res = await self.households.coll.bulk_write(
            [
                UpdateOne(
                    {"_id": h, "version": docs[h]["version"]},
                    {"$set": {"linkedMemberIds": linked[h], "updatedAt": at}, "$inc": {"version": 1}},
                )
                for h in sorted(changed)
            ],
            ordered=False,
            session=uow.session,
        )
        if res.matched_count != len(changed):
            raise Conflict("a household changed meanwhile; send the batch again", {"householdIds": sorted(changed)})
        totals: dict[str, Counter] = {}
        days: dict[tuple[str, str], dict[str, int]] = {}
        day = day_of(at, city_tz())
        for h in sorted(changed):
            delta = rules.counters_of_links(len(docs[h].get("linkedMemberIds") or []), len(linked[h]))
            for node in docs[h]["path"] if delta else ():
                totals.setdefault(node, Counter()).update(delta)
            if delta:
                fold_days(days, docs[h]["path"], day, delta)
        await self.ctx.store.bump_nodes(uow, totals, days)
        records = []
        out: list[dict] = []
        for x, member, community, ds, count in plans:
            records += [link_record(x.memberId, d, actor, at) for d in ds]
            data = {
                "memberId": x.memberId,
                "householdIds": list(x.householdIds),
                "linkedCount": count,
                "communityId": community,
            }
            path = ds[0]["path"][: ds[0]["path"].index(community) + 1]
            uow.record(make_event(SERVICE, "MEMBER_LINKED", x.memberId, data, path=path, actor=actor))
            result = {**data, "member": member}
            if k := self.key(actor, x):
                await remember(uow, k, result)
            out.append(result)
        await self.links.links.insert_many(records, ordered=False, session=uow.session)
        return out
