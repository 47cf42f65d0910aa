"""Reading cases, as far as `domain/policy.py` lets the caller see them: one, a batch, a list."""

from __future__ import annotations

from typing import Any

from services.cases import domain as d
from services.cases.handlers.context import CaseContext
from services.cases.store import case_from_doc
from shared.auth import hidden
from shared.commands import page_reply
from shared.contracts.cases import ListCases
from shared.contracts.common import ById, ByIds
from shared.messaging.rpc import Request, item_error
from shared.records import flat_and


class CaseReads:
    def __init__(self, ctx: CaseContext):
        self.ctx = ctx

    async def get(self, req: Request) -> dict | None:
        q, p, ctx = req.parse(ById), req.principal, self.ctx
        if p.unrestricted and await ctx.store.doc(q.id) is None:
            return None
        case, doc = await ctx.scoped(p, q.id)
        return ctx.views.case(p, case, doc)

    async def batch(self, req: Request) -> dict:
        q, p, ctx = req.parse(ByIds), req.principal, self.ctx
        docs = await ctx.store.docs(q.ids)
        items: dict[str, Any] = {}
        for i in q.ids:
            doc = docs.get(i)
            case = case_from_doc(doc) if doc is not None else None
            if case is None and p.unrestricted:
                items[i] = None
            elif case is None or not d.SCOPE.admits(p, case):
                items[i] = item_error(hidden(p, f"case {i}"))
            else:
                items[i] = ctx.views.case(p, case, doc)
        return {"items": items}

    async def list(self, req: Request) -> dict:
        q, p, ctx = req.parse(ListCases), req.principal, self.ctx
        region_path = ctx.territory.path(q.regionId) if q.regionId else None
        scope = d.list_scope(p, q.regionId, region_path)
        filters: dict[str, Any] = {}
        if q.status:
            filters["status"] = {"$in": q.status}
        if q.level:
            filters["level"] = q.level
        if q.overdue is not None:
            filters["overdue"] = q.overdue
        if q.categoryCode:
            filters["category_code"] = q.categoryCode
        if q.mine:  # what they reported or what is assigned to them: one query for each
            parts, both = d.mine_parts(p, flat_and(scope, filters))
            found, count, more = await ctx.store.page_any(parts, q.first, q.after, q.withTotal, overlaps=both)
            return page_reply([ctx.views.case(p, case_from_doc(doc), doc) for doc in found], count, more)
        query = flat_and(scope, filters)
        total = None
        if q.withTotal and list(query) == ["path"] and isinstance(query["path"], str):
            # Every case of a subtree: its rollup's `total`, not a count of 100,000 documents.
            total = (await ctx.store.rollup_counters([query["path"]])).get(query["path"], {}).get("total", 0)
        docs, total, more = await ctx.store.page(query, q.first, q.after, with_total=q.withTotal, total=total)
        return page_reply([ctx.views.case(p, case_from_doc(doc), doc) for doc in docs], total, more)
