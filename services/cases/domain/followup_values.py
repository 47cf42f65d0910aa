"""Value objects of a case's follow-up: its verifications (核查), return visits (回访) and comments."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.vocabulary.cases import CommentVisibility, ReturnVisitSatisfaction


class Verification(BaseModel):
    """核查 of a resolution by the dispatching centre. `attachment_ids` name the case's evidence."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    note: str | None = None
    by: str
    at: datetime
    attachment_ids: list[str] = Field(default_factory=list)


class ReturnVisit(BaseModel):
    """回访 by staff: a call to the caller after the resolution. `satisfaction` only when reached."""

    model_config = ConfigDict(frozen=True)

    id: str
    reached: bool
    satisfaction: ReturnVisitSatisfaction | None = None
    note: str | None = None
    by: str
    at: datetime


class CaseComment(BaseModel):
    """A comment on a case, kept in its own collection. INTERNAL ones are for staff and handlers."""

    model_config = ConfigDict(frozen=True)

    id: str
    case_id: str
    text: str
    visibility: CommentVisibility
    author: str
    author_role: str
    at: datetime
    attachment_ids: list[str] = Field(default_factory=list)
