"""Attachments of the records other than cases (service orders, activities, joint meetings): the
attachment value, the pure rule that adds one to a record, and the `<record>.attach` verb every such
service serves with it (cases keep their own, in services/cases/domain/evidence.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from shared.auth import STAFF_ROLES, Principal
from shared.commands import RecordCommands
from shared.contracts.attachments import AttachEvidence, StoredFile, attachment_dto, blob_keys
from shared.domain import Attachment, GeoPoint
from shared.errors import BadInput, Conflict
from shared.mongo import UnitOfWork, now, recall, remember, remembered
from shared.records import Records
from shared.vocabulary.cases import AttachmentStage


class WithAttachments(Protocol):
    id: str
    attachments: list[Attachment]

    def _change(self, now: datetime) -> None: ...

    def _emit(self, type: str, by: Principal | None, now: datetime, /, **data: Any) -> Any: ...


def add_attachment(
    record: WithAttachments,
    by: Principal,
    f: StoredFile,
    stage: AttachmentStage | None,
    at: datetime,
    limit: int,
    event: str,
) -> Attachment:
    """Add a stored file to `record` (the caller checked who may), recording `event`. CONFLICT at
    `limit` files; BAD_INPUT for a place off the globe, half a place or a time to come."""
    if len(record.attachments) >= limit:
        raise Conflict(f"{record.id} has {len(record.attachments)} attachments, the most it may have", {"max": limit})
    if any(a.id == f.id for a in record.attachments):
        raise Conflict(f"{record.id} already has attachment {f.id}")
    if f.capturedAt is not None and f.capturedAt > at:
        raise BadInput("capturedAt lies in the future")
    location = place_of(f)
    attachment = Attachment(
        id=f.id,
        kind=f.kind,
        content_type=f.contentType,
        size=f.size,
        sha256=f.sha256,
        stage=stage,
        captured_at=f.capturedAt,
        location=location,
        blob_key=f.id,
        thumbnail_key=blob_keys(f.id, f.thumbnail)[1],
        uploaded_by=by.sub,
        created_at=at,
    )
    record._change(at)
    record.attachments.append(attachment)
    stage_name = str(stage) if stage else None
    record._emit(event, by, at, attachment_id=f.id, attachment_kind=str(f.kind), stage=stage_name, size=f.size)
    return attachment


def place_of(f: StoredFile) -> GeoPoint | None:
    """Where the uploader said the file was taken (the only place kept); BAD_INPUT for half a
    place or one off the globe."""
    if (f.lng is None) != (f.lat is None):
        raise BadInput("give both lng and lat, or neither")
    try:
        return GeoPoint(lng=f.lng, lat=f.lat) if f.lng is not None and f.lat is not None else None
    except ValidationError:
        raise BadInput("lng is -180 to 180 and lat -90 to 90") from None


def found(record: Any, attachment_id: str | None) -> Any:
    """The record's attachment with this id, or None."""
    return next((a for a in record.attachments if a.id == attachment_id), None) if attachment_id else None


def shown(p: Principal, a: Any) -> dict[str, Any]:
    return attachment_dto(a, p.role in STAFF_ROLES or a.uploaded_by == p.sub)


async def serve_attach(
    cx: RecordCommands,
    repo: Records,
    verb: str,
    c: AttachEvidence,
    p: Principal,
    may: Callable[[Any, Principal], None],
    limit: int,
    event: str,
) -> dict[str, Any]:
    """`<record>.attach` (ATTACHMENTS_API): without a file, may `p` attach to the record (`may` raises
    FORBIDDEN or CONFLICT) and the attachment an earlier upload with the key (or `attachmentId`)
    made; with a file, add it, once per idempotency key."""
    key = f"{verb}:{p.sub}:{c.id}:{c.idempotencyKey}" if c.idempotencyKey else None
    f = c.file
    if f is None:
        record = await cx.scoped(repo, c.id, p)
        earlier = found(record, (await remembered(cx.rt.db, key)) if key else None) or found(record, c.attachmentId)
        if earlier is None and c.attachmentId is None:
            may(record, p)
            if (n := len(record.attachments)) >= limit:
                raise Conflict(f"{c.id} has {n} attachments, the most it may have", {"max": limit})
        return {"attachment": shown(p, earlier) if earlier else None}
    added: dict[str, Any] = {}

    async def command(record: Any, uow: UnitOfWork) -> None:
        if key and (done := found(record, await recall(uow, key))):
            added["a"] = done
            return
        added["a"] = add_attachment(record, p, f, c.stage, now(), limit, event)
        if key:
            await remember(uow, key, f.id)

    try:
        await cx.change(repo, c.id, None, command, by=p, action=lambda r: may(r, p))
    except DuplicateKeyError:  # a twin with the same key committed first: its attachment
        record = await cx.scoped(repo, c.id, p)
        if key and (done := found(record, await remembered(cx.rt.db, key))):
            return {"attachment": shown(p, done)}
        raise
    return {"attachment": shown(p, added["a"])}
