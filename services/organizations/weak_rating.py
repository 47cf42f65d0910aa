"""Rating organisations for the weak score (软弱涣散, domain/weak.py): gather each signal's
inputs in bounded batches and store the score with its signals, one organisation per
transaction (flag and clear events on crossing the threshold).

What is read, per batch of organisations:
- organisational life: the organisation's `last_life_at` and a count of its life records in the
  window (index on org_id, held_at);
- 双报到: its members (index on org_id), in-service ones and those with an active registration;
- cases in its region: one `cases` `stats.batch` call for all the batch's anchors (total, overdue,
  fengqiaoShare: resolved at grid level or below);
- visits by its members: one `grids` `member.links` call per 500 members (each member's visit count:
  the 党员联户 visits grids counts per member since the link, all time).
A service that does not answer leaves its signals out of this rating (they add no points and say so).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.organizations import domain as d
from services.organizations.domain.weak import WeakInputs, WeakSettings, WeakStanding, score
from services.organizations.handlers.common import OrgContext
from services.organizations.weak_store import WeakStore
from shared.errors import Conflict, DomainError
from shared.mongo import UnitOfWork

log = logging.getLogger("yiwang.organizations.weak")
BATCH = 50  # organisations per rating batch: one cases call, a grids call per 500 members
MAX_IDS = 500  # ByIds' most


class Rater:
    def __init__(self, ctx: OrgContext):
        self.ctx, self.weak = ctx, WeakStore(ctx.rt.db)

    async def settings(self) -> WeakSettings:
        record = await self.weak.settings_record()
        return record.settings if record else WeakSettings()

    # -- inputs --------------------------------------------------------------------------
    async def _call(self, service: str, verb: str, ids: list[str]) -> dict[str, Any] | None:
        try:
            reply = await self.ctx.rt.rpc.call(service, verb, {"ids": ids}, self.ctx.rt.token())
        except DomainError as e:
            log.info("weak rating: %s %s did not answer (%s); its signals are left out", service, verb, e)
            return None
        items = reply.get("items") or {}
        return {k: v for k, v in items.items() if isinstance(v, dict) and "error" not in v}

    async def _members(self, org_id: str) -> list[dict[str, Any]]:
        cur = self.ctx.store.members.coll.find({"org_id": org_id}, {"category": 1, "dual_community": 1})
        return await cur.to_list(None)

    async def inputs(self, orgs: list[d.Organization], at: datetime, s: WeakSettings) -> dict[str, WeakInputs]:
        since = at - timedelta(days=s.window_days)
        life = self.ctx.store.life
        counts, members = await asyncio.gather(
            asyncio.gather(
                *(life.count_documents({"org_id": o.id, "held_at": {"$gte": since, "$lte": at}}) for o in orgs)
            ),
            asyncio.gather(*(self._members(o.id) for o in orgs)),
        )
        anchors = sorted({o.anchor_id for o in orgs})
        cases = await self._call("cases", "stats.batch", anchors)
        member_ids = [m["_id"] for ms in members for m in ms]
        visits: dict[str, Any] | None = {}
        for i in range(0, len(member_ids), MAX_IDS):
            part = await self._call("grids", "member.links", member_ids[i : i + MAX_IDS])
            if part is None:
                visits = None
                break
            visits.update(part)  # type: ignore[union-attr]
        out: dict[str, WeakInputs] = {}
        for o, count, ms in zip(orgs, counts, members, strict=True):
            last = o.last_life_at or o.created_at
            c = (cases or {}).get(o.anchor_id)
            in_service = [m for m in ms if m.get("category") == str(d.MemberCategory.IN_SERVICE)]
            out[o.id] = WeakInputs(
                days_since_life=max(0, (at - last).days),
                life_in_window=count,
                in_service_members=len(in_service),
                dual_active=sum(1 for m in in_service if m.get("dual_community")),
                cases=c.get("total") if c else None,
                fengqiao_share=c.get("fengqiaoShare") if c else None,
                overdue_cases=c.get("overdue") if c else None,
                members=len(ms),
                member_visits=None
                if visits is None
                else sum(int((visits.get(m["_id"]) or {}).get("visitCount") or 0) for m in ms),
            )
        return out

    # -- rating ----------------------------------------------------------------------------
    async def rate(self, orgs: list[d.Organization], at: datetime) -> dict[str, WeakStanding]:
        """Score each organisation (a 党员中心户 holds no life and is not scored) and store it."""
        orgs = [o for o in orgs if o.type is not d.OrgType.CENTER_HOUSEHOLD]
        if not orgs:
            return {}
        s = await self.settings()
        inputs = await self.inputs(orgs, at, s)
        out: dict[str, WeakStanding] = {}
        for o in orgs:
            try:
                out[o.id] = await self._store(o, score(inputs[o.id], s), s.version, at)
            except (Conflict, DuplicateKeyError):
                log.info("weak standing of %s changed during the rating; the next pass looks again", o.id)
        return out

    async def _store(self, org: d.Organization, result: Any, settings_version: int, at: datetime) -> WeakStanding:
        repo = self.weak.standings

        async def work(uow: UnitOfWork) -> WeakStanding:
            standing = await repo.get(org.id, uow)
            if standing is None:
                fresh = WeakStanding.of(org, at)
                fresh.rate(org, result, settings_version, at)
                await self.ctx.put(uow, repo, fresh)
                return fresh
            version, before = standing.version, standing.model_copy(deep=True)
            if standing.rate(org, result, settings_version, at):
                await self.ctx.put(uow, repo, standing, before, version)
            return standing

        standing: WeakStanding = await self.ctx.rt.transact(work)
        return standing

    async def rate_batch(self, at: datetime, limit: int = BATCH) -> bool:
        """The sweeper's step: the next `limit` organisations after the cursor; at the end of
        the collection the cursor starts over. Returns whether the cycle goes on."""
        after = await self.weak.cursor()
        q = {"_id": {"$gt": after}} if after else {}
        docs = await self.ctx.store.orgs.coll.find(q).sort("_id", 1).limit(limit).to_list(limit)
        await self.rate([self.ctx.store.orgs.of(x) for x in docs], at)
        more = len(docs) == limit
        await self.weak.move_cursor(docs[-1]["_id"] if more else "")
        return more

    async def rate_all(self, at: datetime, limit: int = BATCH) -> None:
        """A whole cycle from the start (tests, operators), without the sweeper's cursor."""
        after = ""
        while True:
            q = {"_id": {"$gt": after}} if after else {}
            docs = await self.ctx.store.orgs.coll.find(q).sort("_id", 1).limit(limit).to_list(limit)
            await self.rate([self.ctx.store.orgs.of(x) for x in docs], at)
            if len(docs) < limit:
                return
            after = docs[-1]["_id"]
