"""Small value objects the case aggregate is made of."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.vocabulary.cases import AttachmentKind, AttachmentStage

from .enums import AssigneeKind, HandlingLevel


class GeoPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    lng: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class Assignee(BaseModel):
    """Who handles a case: a principal `sub`, a department code, a member id or a community id."""

    model_config = ConfigDict(frozen=True)

    kind: AssigneeKind
    id: str = Field(min_length=1)
    name: str = ""


class Reporter(BaseModel):
    """A person who reported the case: the first one, then those of merged duplicates.
    `sub` is None for a caller known only by name and phone (hotline, walk-in)."""

    sub: str | None = None
    name: str
    phone_enc: str | None = None  # encrypted outside the domain; opaque here
    rating: int | None = None  # their rating of the current resolution
    rated_at: datetime | None = None
    comment: str | None = None
    case_id_origin: str  # the case this reporter first reported


class Attachment(BaseModel):
    """A piece of evidence kept with the case (photo, video, document, recording). The bytes
    live in the blob store under `blob_key` (and `thumbnail_key` for a photo's thumbnail);
    the case keeps what the API shows. `location` is only what the uploader gave explicitly:
    EXIF is stripped from the stored image."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    kind: AttachmentKind
    content_type: str
    size: int = Field(ge=0)
    sha256: str
    stage: AttachmentStage | None = None
    captured_at: datetime | None = None
    location: GeoPoint | None = None
    blob_key: str
    thumbnail_key: str | None = None
    uploaded_by: str | None = None
    created_at: datetime


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str
    at: datetime
    actor: str | None = None
    level: HandlingLevel | None = None
    note: str | None = None


def refusal(e: ValueError) -> str:
    """What a value object refused, in one line for a BAD_INPUT: each failed field and why."""
    if not isinstance(e, ValidationError):
        return str(e)
    return "; ".join(
        f"{'.'.join(str(x) for x in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
        if err["loc"]
        else err["msg"].removeprefix("Value error, ")
        for err in e.errors()
    )
