"""Domain events: what happened to a case, named in the past tense.

Every command records one or more events on `Case.pending_events`; the service layer
drains them into its outbox. On the wire `type` is UPPER_SNAKE without the Case prefix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from shared.domain import DomainEvent
from shared.errors import BadInput
from shared.vocabulary.cases import (
    AttachmentKind,
    AttachmentStage,
    CaseRequestKind,
    CommentVisibility,
    HandlerRole,
    ReturnVisitSatisfaction,
)

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
    building_id: str | None = None  # building: the case's building, whose figures count it too
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


# clocks: the sweeper's warning that a deadline's last share of time has begun (domain/clocks.py)
class CaseDueSoon(CaseEvent):
    type: ClassVar[str] = "DUE_SOON"
    due_at: datetime


# ---- v2: command centre
# follow-up: verification, return visits, corrections, comments (no comment text, no coordinates)
class CaseVerified(CaseEvent):
    """核查 of a resolution by the dispatching centre: passed (awaiting rating) or failed (back to
    handling at the same level, `rework_count` the 重办 so far, a new deadline)."""

    type: ClassVar[str] = "CASE_VERIFIED"
    passed: bool
    rework_count: int = 0
    attachment_ids: list[str] = []
    due_at: datetime | None = None
    return_visit_due_at: datetime | None = None


class CaseReturnVisited(CaseEvent):
    """回访 by staff: whether the caller was reached and, if so, how satisfied they are."""

    type: ClassVar[str] = "CASE_RETURN_VISITED"
    visit_id: str
    reached: bool
    satisfaction: ReturnVisitSatisfaction | None = None
    channel: CaseChannel


class CaseReturnVisitOverdue(CaseEvent):
    """The sweeper: a return-visit task (回访) passed its deadline without reaching the caller."""

    type: ClassVar[str] = "CASE_RETURN_VISIT_OVERDUE"
    return_visit_due_at: datetime


class CaseCorrected(CaseEvent):
    """A correction of the case's category, location or grid after intake (audited: codes and
    region ids only). `from_region_path` is where its figures were counted before."""

    type: ClassVar[str] = "CASE_CORRECTED"
    reason: str
    from_category: str
    to_category: str
    from_region_id: str
    to_region_id: str
    from_region_path: tuple[str, ...]
    from_building_id: str | None = None  # building: the building its figures counted in before
    point_changed: bool = False
    from_level: HandlingLevel
    due_at: datetime | None = None


class CaseCommented(CaseEvent):
    """A comment on the case (its text stays in the comments collection)."""

    type: ClassVar[str] = "CASE_COMMENTED"
    comment_id: str
    visibility: CommentVisibility
    author_role: str
    attachment_ids: list[str] = []


# ---- departments: dispatch to 主办/协办, replies, requests (退单/延期/挂起) and their decision, 督办
class CaseDispatched(CaseEvent):
    """派单 to departments of the directory: `lead` and `cooperating` are department keys
    (`<region>:<code>`)."""

    type: ClassVar[str] = "CASE_DISPATCHED"
    lead: str
    cooperating: list[str] = []
    due_at: datetime | None = None


class CaseReplied(CaseEvent):
    """A handler's reply (反馈); the text stays on the case."""

    type: ClassVar[str] = "CASE_REPLIED"
    dept: str
    role: HandlerRole
    attachment_count: int = 0


class CaseRequestRaised(CaseEvent):
    type: ClassVar[str] = "CASE_REQUEST_RAISED"
    request_id: str
    kind: CaseRequestKind
    dept: str | None = None
    until: datetime | None = None


class CaseRequestDecided(CaseEvent):
    type: ClassVar[str] = "CASE_REQUEST_DECIDED"
    request_id: str
    kind: CaseRequestKind
    approved: bool
    dept: str | None = None
    due_at: datetime | None = None


class CaseSuspended(CaseEvent):
    """挂起 approved: the clock stops until CASE_RESUMED."""

    type: ClassVar[str] = "CASE_SUSPENDED"
    request_id: str


class CaseResumed(CaseEvent):
    type: ClassVar[str] = "CASE_RESUMED"
    paused_s: int
    due_at: datetime | None = None


class CaseUrged(CaseEvent):
    """督办 by a level above the one handling the case."""

    type: ClassVar[str] = "CASE_URGED"
    urge_count: int
    by_region: str | None = None
    lead: str | None = None


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
        # clocks
        CaseDueSoon,
        # follow-up
        CaseVerified,
        CaseReturnVisited,
        CaseReturnVisitOverdue,
        CaseCorrected,
        CaseCommented,
        # departments
        CaseDispatched,
        CaseReplied,
        CaseRequestRaised,
        CaseRequestDecided,
        CaseSuspended,
        CaseResumed,
        CaseUrged,
        # evidence
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
