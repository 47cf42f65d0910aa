"""Wire models of evidence attachments, common to every service that keeps them (cases, volunteers,
organizations): the attach verb's payload, and the attachment as the services show it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from shared.contracts.common import Wire
from shared.vocabulary.cases import AttachmentKind, AttachmentStage


class AttachTarget(StrEnum):
    """What an attachment can belong to, and the service and verb that keep it."""

    CASE = "CASE"
    SERVICE_ORDER = "SERVICE_ORDER"
    JOINT_MEETING = "JOINT_MEETING"
    ACTIVITY = "ACTIVITY"
    VISIT = "VISIT"  # visits: 走访 (grids)


# target -> (service, verb)
ATTACH_VERBS: dict[AttachTarget, tuple[str, str]] = {
    AttachTarget.CASE: ("cases", "case.attach"),
    AttachTarget.SERVICE_ORDER: ("volunteers", "order.attach"),
    AttachTarget.ACTIVITY: ("volunteers", "activity.attach"),
    AttachTarget.JOINT_MEETING: ("organizations", "meeting.attach"),
    AttachTarget.VISIT: ("grids", "visit.attach"),  # visits
}


class StoredFile(Wire):
    """What the gateway stored: the attachment's id is also its blob key (`<id>-thumb` its
    thumbnail's); size and hash are of the bytes as stored (a photo re-encoded)."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    kind: AttachmentKind
    contentType: str = Field(max_length=128)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    thumbnail: bool = False
    capturedAt: AwareDatetime | None = None
    lng: float | None = None
    lat: float | None = None


class AttachEvidence(Wire):
    """`<record>.attach`: `file` None asks only whether the caller may attach to the record at
    `stage` (scope, role, stage, count; before any byte of the file is read) and returns the
    attachment an earlier upload with the same `idempotencyKey` made (or the one named by
    `attachmentId`: the orphan sweep's question). With `file`, records it."""

    id: str = Field(min_length=1, max_length=64)  # the record's
    stage: AttachmentStage | None = None
    idempotencyKey: str | None = Field(default=None, max_length=128)
    attachmentId: str | None = Field(default=None, max_length=64)
    file: StoredFile | None = None


def blob_keys(attachment_id: str, thumbnail: bool) -> tuple[str, str | None]:
    """The blob keys of an attachment and its thumbnail."""
    return attachment_id, (f"{attachment_id}-thumb" if thumbnail else None)


def attachment_dto(a: Any, show_uploader: bool) -> dict[str, Any]:
    """An attachment as every service shows it (`a`: any model with the Attachment fields).
    `uploadedBy` only to those who may see who did what on the record."""
    return {
        "id": a.id,
        "kind": str(a.kind),
        "contentType": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "stage": str(a.stage) if a.stage else None,
        "capturedAt": a.captured_at,
        "location": a.location.model_dump() if a.location else None,
        "thumbnail": a.thumbnail_key is not None,
        "uploadedBy": a.uploaded_by if show_uploader else None,
        "createdAt": a.created_at,
    }


ATTACHMENTS_API = """
Verbs (cases, volunteers, organizations, grids): case.attach, order.attach, activity.attach, meeting.attach,
  visit.attach
  AttachEvidence → {attachment: Attachment | null}
  without `file`: may the caller attach to this record at this stage? (FORBIDDEN, CONFLICT, BAD_INPUT
  as the real attach would say), plus the attachment an earlier upload with this idempotencyKey made
  (or the one named by attachmentId); with `file`: record it (idempotent on the key).
Attachment = {id, kind, contentType, size, sha256, stage, capturedAt, location, thumbnail: bool,
              uploadedBy, createdAt}
"""
