"""`case.attach` (domain/evidence.py): may the caller attach a file to a case at a stage (asked
before the file is read), and record a stored file as the case's evidence, idempotent on the key."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError

from services.cases import domain as d
from services.cases.domain import evidence
from services.cases.handlers.context import CaseContext
from shared.attachments import found, place_of, shown
from shared.contracts.attachments import AttachEvidence, blob_keys
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now, recall, remember, remembered


class CaseEvidence:
    def __init__(self, ctx: CaseContext):
        self.ctx = ctx

    async def attach(self, req: Request) -> dict:
        c, p, ctx = req.parse(AttachEvidence), req.principal, self.ctx
        key = f"case.attach:{p.sub}:{c.id}:{c.idempotencyKey}" if c.idempotencyKey else None
        limit = ctx.settings.attachments_per_record
        f = c.file
        if f is None:  # the question before the upload
            case, _ = await ctx.scoped(p, c.id)
            earlier = found(case, (await remembered(ctx.rt.db, key)) if key else None) or found(case, c.attachmentId)
            if earlier is None and c.attachmentId is None:
                evidence.check_attach(case, p, c.stage, limit)
            return {"attachment": shown(p, earlier) if earlier else None}
        location = place_of(f)

        async def work(uow: UnitOfWork) -> dict:
            case, doc = await ctx.scoped(p, c.id, uow)
            if key and (done := found(case, await recall(uow, key))):
                return shown(p, done)
            version, before = case.version, d.counters_of(case)
            attachment = evidence.attach(
                case,
                p,
                attachment_id=f.id,
                kind=f.kind,
                content_type=f.contentType,
                size=f.size,
                sha256=f.sha256,
                stage=c.stage,
                captured_at=f.capturedAt,
                location=location,
                thumbnail_key=blob_keys(f.id, f.thumbnail)[1],
                now=now(),
                limit=limit,
            )
            ctx.save(uow, case, version, before, doc)
            if key:
                await remember(uow, key, attachment.id)
            return shown(p, attachment)

        try:
            return {"attachment": await ctx.rt.transact(work)}
        except DuplicateKeyError:
            if key and (done_id := await remembered(ctx.rt.db, key)):
                case, _ = await ctx.scoped(p, c.id)
                if done := found(case, done_id):
                    return {"attachment": shown(p, done)}
            raise
