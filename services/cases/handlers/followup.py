"""Verbs of a case's follow-up (`domain/followup.py`): verification (核查), return visits (回访),
corrections (更正) and comments, and the page of a case's comments."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from services.cases import domain as d
from services.cases.handlers.context import CaseContext
from services.cases.handlers.model import CaseCommands
from services.cases.store import COMMENTS, comment_to_doc
from shared.auth import Principal, Role
from shared.commands import page_reply
from shared.contracts.cases import CommentOnCase, CorrectCase, ListComments, RecordReturnVisit, VerifyCase
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now, recall, remember, remembered
from shared.vocabulary.cases import CommentVisibility, ReturnVisitSatisfaction


class FollowUpCommands:
    def __init__(self, ctx: CaseContext):
        self.ctx, self.cases = ctx, CaseCommands(ctx)

    async def verify(self, req: Request) -> dict:
        c, ctx = req.parse(VerifyCase), self.ctx
        sla, within = ctx.sla, ctx.settings.return_visit_s
        return await self.cases.run(
            req,
            VerifyCase,
            d.Action.VERIFY,
            lambda case, p, t: d.verify(case, p, c.passed, c.note, c.attachmentIds, t, sla, within),
        )

    async def return_visit(self, req: Request) -> dict:
        c, p, ctx = req.parse(RecordReturnVisit), req.principal, self.ctx
        key = f"case.returnVisit:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None

        async def work(uow: UnitOfWork) -> tuple[d.Case, dict] | str:
            if key and (done := await recall(uow, key)):
                return str(done)
            case, doc = await ctx.scoped(p, c.caseId, uow)
            d.authorize(p, d.Action.RETURN_VISIT, case)
            d.check_expected_version(case, c.expectedVersion)
            version, before = case.version, d.counters_of(case)
            sat = ReturnVisitSatisfaction(c.satisfaction) if c.satisfaction else None
            d.record_return_visit(case, p, new_id("rv"), sat, c.reached, c.note, now(), ctx.sla)
            saved = ctx.save(uow, case, version, before, doc)
            if key:
                await remember(uow, key, case.id)
            return case, saved

        try:
            done = await ctx.rt.transact(work)
        except DuplicateKeyError:
            if key and (first := await remembered(ctx.rt.db, key)):
                return await ctx.view_of(p, str(first))
            raise
        if isinstance(done, str):
            return await ctx.view_of(p, done)
        case, doc = done
        return ctx.views.case(p, case, doc)

    async def correct(self, req: Request) -> dict:
        c, ctx = req.parse(CorrectCase), self.ctx
        category = (await ctx.current_catalogue()).get(c.categoryCode) if c.categoryCode else None
        routed = ctx.route(c) if (c.lng is not None or c.lat is not None or c.regionId) else None
        path = tuple(routed.grid["path"]) if routed else None
        location = routed.location if routed else None
        sla = ctx.sla
        return await self.cases.run(
            req,
            CorrectCase,
            d.Action.CORRECT,
            lambda case, p, t: d.correct(case, p, c.reason, t, sla, category, path, location),
        )

    async def comment(self, req: Request) -> dict:
        c, p, ctx = req.parse(CommentOnCase), req.principal, self.ctx
        key = f"case.comment:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        coll = ctx.rt.db[COMMENTS]

        async def work(uow: UnitOfWork) -> dict[str, Any]:
            if key and (done := await recall(uow, key)):
                return await coll.find_one({"_id": done}, session=uow.session) or {}
            case, doc = await ctx.scoped(p, c.id, uow)
            d.authorize(p, d.Action.COMMENT, case)
            d.check_expected_version(case, c.expectedVersion)
            version, before = case.version, d.counters_of(case)
            made = d.comment(case, p, new_id("cm"), c.text, CommentVisibility(c.visibility), c.attachmentIds, now())
            ctx.save(uow, case, version, before, doc)
            comment_doc = comment_to_doc(made)
            uow.insert(COMMENTS, comment_doc)
            if key:
                await remember(uow, key, made.id)
            return comment_doc

        try:
            saved = await ctx.rt.transact(work)
        except DuplicateKeyError:
            first = await remembered(ctx.rt.db, key) if key else None
            if not first:
                raise
            saved = await coll.find_one({"_id": first}) or {}
        return comment_view(p, saved)

    async def comments(self, req: Request) -> dict:
        """A case's comments, oldest first; residents (its reporters) see the PUBLIC ones."""
        q, p, ctx = req.parse(ListComments), req.principal, self.ctx
        case, _ = await ctx.scoped(p, q.caseId)
        d.authorize(p, d.Action.VIEW, case)
        query: dict[str, Any] = {"case_id": case.id}
        if p.role is Role.RESIDENT:
            query["visibility"] = str(CommentVisibility.PUBLIC)
        coll = ctx.rt.db[COMMENTS]
        total = await coll.count_documents(query)
        page = {**query, **({"_id": {"$gt": q.after}} if q.after else {})}
        docs = await coll.find(page).sort("_id", 1).limit(q.first + 1).to_list(q.first + 1)
        return page_reply([comment_view(p, x) for x in docs[: q.first]], total, len(docs) > q.first)


def comment_view(p: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    """A comment as `p` sees it: a resident learns the role of staff who wrote, not their sub."""
    mine_or_staff = p.role is not Role.RESIDENT or doc["author"] == p.sub
    return {
        "id": doc["_id"],
        "caseId": doc["case_id"],
        "text": doc["text"],
        "visibility": doc["visibility"],
        "author": doc["author"] if mine_or_staff else None,
        "authorRole": doc["author_role"],
        "at": doc["at"],
        "attachmentIds": list(doc.get("attachment_ids") or []),
    }
