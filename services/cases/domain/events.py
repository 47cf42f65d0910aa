"""Domain events: what happened to a case, named in the past tense.

Every command records one or more events on `Case.pending_events`; the service layer
drains them into its outbox. On the wire `type` is UPPER_SNAKE without the Case prefix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from shared.domain import DomainEvent
from shared.errors import BadInput
from shared.vocabulary.cases import AttachmentKind, AttachmentStage

from .enums import CaseChannel, CaseStatus, HandlingLevel, RequestKind
from .values import Assignee, GeoPoint


class CaseEvent(DomainEvent):
    """Fields every case event carries. `status` and `level` are the case as this event
    leaves it; `counters` is the case's contribution to the region rollups after the whole
    command (rollups.counters_of), so a replay of the log can recount the rollups from the
    last event of each case. Events of one command share `version`."""

    type: ClassVar[str] = ""
    subject_prefix: ClassVar[str] = "yiwang.evt.cases"

    case_id: str
    version: int
    at: datetime
    actor: str | None
    status: CaseStatus
    level: HandlingLevel
    region_path: tuple[str, ...]
    note: str | None = None
    counters: dict[str, int] = {}

    @property
    def record_kind(self) -> str:
        return "case"

    @property
    def record_id(self) -> str:
        return self.case_id

    @property
    def event_id(self) -> str:
        """Stable and unique per event: use it as the outbox id and `Nats-Msg-Id` (a case's
        ids were minted without the kind, and stay so)."""
        return f"{self.case_id}:{self.version}:{self.type}"

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type, **self.model_dump(mode="json")}


class CaseReported(CaseEvent):
    type: ClassVar[str] = "REPORTED"
    title: str
    category_code: str
    kind: RequestKind
    channel: CaseChannel
    region_id: str
    location: GeoPoint | None = None
    due_at: datetime | None = None


class CaseAccepted(CaseEvent):
    type: ClassVar[str] = "ACCEPTED"
    due_at: datetime


class CaseAssigned(CaseEvent):
    type: ClassVar[str] = "ASSIGNED"
    assignee: Assignee


class CaseStarted(CaseEvent):
    type: ClassVar[str] = "STARTED"
    assignee: Assignee | None


class CaseResolved(CaseEvent):
    type: ClassVar[str] = "RESOLVED"
    resolution: str
    on_time: bool


class CaseRated(CaseEvent):
    type: ClassVar[str] = "RATED"
    score: int
    reporter_sub: str
    comment: str | None = None


class CaseClosed(CaseEvent):
    type: ClassVar[str] = "CLOSED"
    rating: int | None = None


class CaseReopened(CaseEvent):
    type: ClassVar[str] = "REOPENED"
    due_at: datetime


class CaseRejected(CaseEvent):
    type: ClassVar[str] = "REJECTED"
    reason: str


class CaseEscalated(CaseEvent):
    type: ClassVar[str] = "ESCALATED"
    from_level: HandlingLevel
    reason: str
    due_at: datetime
    by_sweeper: bool = False


class CaseOverdue(CaseEvent):
    type: ClassVar[str] = "OVERDUE"
    due_at: datetime


class CaseReturned(CaseEvent):
    type: ClassVar[str] = "RETURNED"
    reason: str
    returned_by: Assignee


class CaseMerged(CaseEvent):
    """Recorded on both cases: `from_id` was folded into `into_id`."""

    type: ClassVar[str] = "MERGED"
    from_id: str
    into_id: str


class CaseContactRevealed(CaseEvent):
    """Audit: an admin saw a reporter's phone unmasked."""

    type: ClassVar[str] = "CONTACT_REVEALED"
    reporter_index: int
    reason: str


class CaseDeliberated(CaseEvent):
    """A joint meeting (联席会议) of the community's 大党委 resolved on the hotspot this case
    is part of: the link from the resolution back to the case."""

    type: ClassVar[str] = "DELIBERATED"
    meeting_id: str
    resolution_id: str


# ---- evidence: an attachment was added (its bytes are in the blob store; no file name, no place)
class CaseAttachmentAdded(CaseEvent):
    type: ClassVar[str] = "ATTACHMENT_ADDED"
    attachment_id: str
    kind: AttachmentKind
    stage: AttachmentStage
    size: int


EVENT_TYPES: dict[str, type[CaseEvent]] = {
    cls.type: cls
    for cls in (
        CaseReported,
        CaseAccepted,
        CaseAssigned,
        CaseStarted,
        CaseResolved,
        CaseRated,
        CaseClosed,
        CaseReopened,
        CaseRejected,
        CaseEscalated,
        CaseOverdue,
        CaseReturned,
        CaseMerged,
        CaseContactRevealed,
        CaseDeliberated,
        CaseAttachmentAdded,
    )
}


def event_from_wire(data: dict[str, Any]) -> CaseEvent:
    fields = dict(data)
    kind = fields.pop("type", None)
    if kind not in EVENT_TYPES:
        raise BadInput(f"unknown case event type {kind!r}")
    cls = EVENT_TYPES[kind]
    return cls.model_validate(fields)
