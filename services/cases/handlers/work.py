"""`work.cases`: the caller's cases for the day (rules in domain/work.py), each filter read on
its own index, at most `first` of each, merged by urgency."""

from __future__ import annotations

import asyncio
from typing import Any

from services.cases import domain as d
from services.cases.domain import work
from services.cases.handlers.context import CaseContext
from services.cases.store import case_from_doc
from shared.contracts.work import WorkQuery
from shared.messaging.rpc import Request
from shared.mongo import now
from shared.work import most_urgent


class CaseWork:
    def __init__(self, ctx: CaseContext):
        self.ctx = ctx

    async def cases(self, req: Request) -> dict[str, Any]:
        q, p, ctx = req.parse(WorkQuery), req.principal, self.ctx
        node = ctx.territory.get(p.region) if p.region else None
        filters = work.work_filters(p, work.level_of(node["level"] if node else None))
        found = await asyncio.gather(*(self.read(f, q.first) for f in filters))
        docs = {doc["_id"]: doc for part in found for doc in part}  # one case may match two filters
        at = now()
        items = most_urgent(docs.values(), lambda doc: work.due_of(doc, at), q.first)
        truncated = len(docs) > q.first or any(len(part) >= q.first for part in found)
        shown = []
        for doc in items:
            case = case_from_doc(doc)
            if d.SCOPE.admits(p, case):  # an assignment outside the caller's scope stays unseen
                shown.append(ctx.views.case(p, case, doc))
        return {"items": shown, "truncated": truncated}

    async def read(self, query: dict[str, Any], first: int) -> list[dict]:
        """The `first` soonest-due matches of one filter (matched on its index, sorted by the
        store in memory: an open status of one place at one level is a handful of cases)."""
        return await self.ctx.store.cases.find(query).sort("due_at", 1).limit(first).to_list(first)
