"""Small value objects the case aggregate is made of."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import domain as shared_domain

from .enums import AssigneeKind, HandlingLevel

GeoPoint = shared_domain.GeoPoint


class Assignee(BaseModel):
    """Who handles a case: a principal `sub`, a department code, a member id or a community id."""

    model_config = ConfigDict(frozen=True)

    kind: AssigneeKind = Field(
        description="What kind of handler: GRID_WORKER, DEPARTMENT, VOLUNTEER, COMMUNITY or BUILDING_LEADER"
    )
    id: str = Field(
        min_length=1, description="The handler: a principal sub, a department code, a member id or a community id"
    )
    name: str = Field(default="", description="The handler's name as shown to staff (a department's or person's)")


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


Attachment = shared_domain.Attachment  # evidence kept with the case


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
