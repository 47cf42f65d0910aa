"""Evidence: `uploadAttachment`, a GraphQL multipart request whose one file is streamed to the blob
store after the owning service agreed the caller may attach to the target (gateway/uploads.py)."""

from __future__ import annotations

import math
from datetime import datetime

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from gateway.schema.case_types import Attachment
from gateway.schema.common import ctx
from gateway.schema.enums import AttachmentStage, AttachTarget
from shared.contracts.attachments import AttachEvidence
from shared.errors import BadInput, Unavailable


@strawberry.input(description="The record an upload is attached to")
class AttachmentTargetInput:
    kind: AttachTarget
    id: strawberry.ID


@strawberry.input(description="Where an upload goes and what it shows; the file's type is read from its bytes")
class UploadAttachmentInput:
    target: AttachmentTargetInput
    stage: AttachmentStage | None = strawberry.field(
        default=None, description="Cases: when it was taken; default from the case's status"
    )
    captured_at: datetime | None = strawberry.field(default=None, description="When it was taken")
    lng: float | None = strawberry.field(default=None, description="Where it was taken (kept only from here)")
    lat: float | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the first attachment and stores nothing"
    )


def _fields(i: UploadAttachmentInput) -> dict:
    if (i.lng is None) != (i.lat is None):
        raise BadInput("give both lng and lat, or neither", {"lng": i.lng, "lat": i.lat})
    for name, value in (("lng", i.lng), ("lat", i.lat)):
        if value is not None and not math.isfinite(value):
            raise BadInput(f"{name} must be a finite number")
    if i.captured_at is not None and i.captured_at.tzinfo is None:
        raise BadInput("capturedAt needs a time zone, e.g. 2026-05-01T09:30:00+08:00")
    if i.idempotency_key is not None and not 0 < len(i.idempotency_key) <= 128:
        raise BadInput("idempotencyKey is 1 to 128 characters")
    return {
        "stage": i.stage.value if i.stage else None,
        "capturedAt": i.captured_at,
        "lng": i.lng,
        "lat": i.lat,
        "idempotencyKey": i.idempotency_key,
    }


@strawberry.type
class EvidenceMutation:
    @strawberry.mutation(
        description="Attach a file (GraphQL multipart request: operations, map, then the file) to a case, "
        "service order, joint meeting, activity or visit. The target's scope is checked before the file is read; "
        "its type is sniffed from the bytes; photos are stored without EXIF, with a thumbnail"
    )
    async def upload_attachment(self, info: Info, file: Upload, input: UploadAttachmentInput) -> Attachment:
        c = ctx(info)
        c.principal  # noqa: B018 - a valid token before anything else
        if c.uploads is None:
            raise Unavailable("uploads are not available on this gateway")
        fields = _fields(input)
        target = AttachTarget(input.target.kind)

        async def attach(service: str, verb: str, body: AttachEvidence) -> dict:
            calls = {
                "case.attach": c.cases.attach,
                "order.attach": c.volunteers.attach_to_order,
                "activity.attach": c.volunteers.attach_to_activity,
                "meeting.attach": c.organizations.attach_to_meeting,
                "visit.attach": c.grids.attach_to_visit,  # visits
            }
            return await calls[verb](body)

        dto = await c.uploads.upload(attach, file, target, str(input.target.id), fields)
        return Attachment(dto=dto)
