"""MongoDB access for deliberation: proposals, their public notices, communities' rules, and one
support record per proposal and resident (its `_id` makes a second support impossible)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.organizations import domain as d
from shared.mongo import UnitOfWork, now
from shared.paging import KEY
from shared.records import Records, until

PATH = [("path", ASCENDING), (KEY, ASCENDING)]
DELIBERATION_INDEXES: dict[str, list[IndexModel]] = {
    "proposals": [
        IndexModel(PATH),
        IndexModel([("path", ASCENDING), ("stage", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("path", ASCENDING), ("public", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("proposer_sub", ASCENDING), (KEY, ASCENDING)]),
    ],
    "notices": [IndexModel(PATH)],
    "deliberation_rules": [IndexModel(PATH)],
    "supports": [],
    # 参与议事 points to credit: pending ones by proposal (the consumer) and by age (the sweeper)
    "participation": [
        IndexModel([("pending", ASCENDING), ("proposal_id", ASCENDING)]),
        IndexModel([("pending", ASCENDING), ("at", ASCENDING)]),
    ],
}


def _extra(record: BaseModel) -> dict[str, Any]:
    """A proposal's `public` flag, for the residents' list (index on path, public)."""
    return {"public": record.public} if isinstance(record, d.Proposal) else {}


class DeliberationStore:
    def __init__(self, db: AsyncDatabase):
        def records(name: str, model: type, what: str) -> Records:
            return Records(db, name, model, what, path_of=lambda r: r.scope_path, extra=_extra)

        self.proposals = records("proposals", d.Proposal, "proposal")
        self.notices = records("notices", d.PublicNotice, "public notice")
        self.rules = records("deliberation_rules", d.CommunityRule, "deliberation rule")
        self.supports = db.supports
        self.participation = Records(db, "participation", d.Participation, "participation", path_of=lambda r: ())

    async def add_support(self, uow: UnitOfWork, proposal_id: str, sub: str) -> bool:
        """Record a resident's support once: False when it is there already. A read before the
        insert (a failed insert would abort the transaction); two concurrent twins conflict on
        the insert and the retried one then reads it."""
        key = d.support_key(proposal_id, sub)
        if await self.supports.find_one({"_id": key}, session=uow.session):
            return False
        await self.supports.insert_one({"_id": key, "at": now()}, session=uow.session)
        return True

    async def supported(self, proposal_ids: list[str], sub: str) -> set[str]:
        """Which of the proposals `sub` supports."""
        if not proposal_ids:
            return set()
        keys = {d.support_key(i, sub): i for i in proposal_ids}
        return {keys[x["_id"]] async for x in self.supports.find({"_id": {"$in": list(keys)}}, {"_id": 1})}

    async def pending_participation(self, proposal_id: str | None, before: datetime | None, limit: int) -> list[str]:
        """Participations still to credit: of one proposal, or (the sweeper) any recorded before
        `before`, oldest first."""
        query: dict[str, Any] = {"pending": True}
        if proposal_id is not None:
            query["proposal_id"] = proposal_id
        if before is not None:
            query["at"] = until(before, inclusive=False)
        cursor = self.participation.coll.find(query, {"_id": 1}).sort("at", ASCENDING).limit(limit)
        return [x["_id"] async for x in cursor]

    async def settle(self, x: d.Participation) -> None:
        """A participation's answer, once: only a pending one is settled (a twin's later write loses)."""
        doc = self.participation.to_doc(x)
        await self.participation.coll.update_one({"_id": x.id, "pending": True}, {"$set": doc})

    async def notices_of(self, proposals: list[d.Proposal]) -> dict[str, d.PublicNotice]:
        ids = [n for p in proposals for n in p.notice_ids]
        return await self.notices.many(ids) if ids else {}

    async def rule_of(self, community_id: str, uow: UnitOfWork | None = None) -> d.DeliberationRule:
        record = await self.rules.get(community_id, uow)
        return record.rule if record is not None else d.DeliberationRule()
