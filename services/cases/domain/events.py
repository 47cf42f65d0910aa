"""Domain events: what happened to a case, named in the past tense.

Every command records one or more events on `Case.pending_events`; the service layer
drains them into its outbox. On the wire `type` is UPPER_SNAKE without the Case prefix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

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
    """A case was reported (上报): by a resident, a grid worker, the 12345 hotline or another channel."""

    type: ClassVar[str] = "REPORTED"
    title: str
    category_code: str
    kind: RequestKind = Field(
        description="What the report is: a complaint, a request for help, a suggestion… (诉求类型)"
    )
    channel: CaseChannel = Field(description="Where the report came in (来源渠道)")
    region_id: str
    location: GeoPoint | None = None
    due_at: datetime | None = None


class CaseAccepted(CaseEvent):
    """The centre accepted the case (受理) and set its deadline."""

    type: ClassVar[str] = "ACCEPTED"
    due_at: datetime


class CaseAssigned(CaseEvent):
    """The case was assigned to a handler (分派): a grid worker, department, volunteer, community or building leader."""

    type: ClassVar[str] = "ASSIGNED"
    assignee: Assignee


class CaseStarted(CaseEvent):
    """The handler started work on the case (开始处置)."""

    type: ClassVar[str] = "STARTED"
    assignee: Assignee | None


class CaseResolved(CaseEvent):
    """The handler resolved the case (办结); it awaits verification or the reporter's rating."""

    type: ClassVar[str] = "RESOLVED"
    resolution: str
    on_time: bool


class CaseRated(CaseEvent):
    """The reporter rated the handling (评价), 1 to 5."""

    type: ClassVar[str] = "RATED"
    score: int
    reporter_sub: str
    comment: str | None = None


class CaseClosed(CaseEvent):
    """The case was closed (结案)."""

    type: ClassVar[str] = "CLOSED"
    rating: int | None = None


class CaseReopened(CaseEvent):
    """A closed or resolved case was reopened (重新办理) with a new deadline."""

    type: ClassVar[str] = "REOPENED"
    due_at: datetime


class CaseRejected(CaseEvent):
    """The centre rejected the report (不予受理), with a reason."""

    type: ClassVar[str] = "REJECTED"
    reason: str


class CaseEscalated(CaseEvent):
    """The case went up a handling level (上报/升级), by hand or by the deadline sweeper."""

    type: ClassVar[str] = "ESCALATED"
    from_level: HandlingLevel
    reason: str
    due_at: datetime
    by_sweeper: bool = False


class CaseOverdue(CaseEvent):
    """The case passed its deadline (超期)."""

    type: ClassVar[str] = "OVERDUE"
    due_at: datetime


class CaseReturned(CaseEvent):
    """A handler returned the case to the level that assigned it (退回)."""

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
    """The last share of the case's time to its deadline has begun (临期预警)."""

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
    channel: CaseChannel = Field(description="How the caller was visited back: by phone, in person… (回访方式)")


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
    role: HandlerRole = Field(description="The department's part on the case: LEAD (主办) or COOPERATING (协办)")
    attachment_count: int = 0


class CaseRequestRaised(CaseEvent):
    """A handler asked to send the case back (退单), for more time (延期) or to suspend it (挂起)."""

    type: ClassVar[str] = "CASE_REQUEST_RAISED"
    request_id: str
    kind: CaseRequestKind = Field(description="What is asked: RETURN (退单), EXTENSION (延期) or SUSPENSION (挂起)")
    dept: str | None = None
    until: datetime | None = None


class CaseRequestDecided(CaseEvent):
    """The dispatching centre approved or refused a handler's request."""

    type: ClassVar[str] = "CASE_REQUEST_DECIDED"
    request_id: str
    kind: CaseRequestKind = Field(description="What was asked: RETURN (退单), EXTENSION (延期) or SUSPENSION (挂起)")
    approved: bool
    dept: str | None = None
    due_at: datetime | None = None


class CaseSuspended(CaseEvent):
    """挂起 approved: the clock stops until CASE_RESUMED."""

    type: ClassVar[str] = "CASE_SUSPENDED"
    request_id: str


class CaseResumed(CaseEvent):
    """A suspended case (挂起) resumed; its clock runs again."""

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
    """A file was added to the case's evidence (证据材料): ids and sizes only."""

    type: ClassVar[str] = "ATTACHMENT_ADDED"
    attachment_id: str
    kind: AttachmentKind = Field(description="What the file is: PHOTO, VIDEO, AUDIO or DOCUMENT")
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


# The events' fields, for the AsyncAPI document (shared/asyncapi.py fills them in where a field
# has no description of its own).
FIELD_DESCRIPTIONS: dict[str, str] = {
    "case_id": "The case's id (also the CloudEvent `subject`)",
    "version": "The case's version after the command; events of one command share it",
    "at": "When it happened (ISO 8601, UTC)",
    "actor": "The principal `sub` of who did it; null for the system (the deadline sweeper, an import)",
    "status": "The case's status (办理状态) as this event leaves it",
    "level": "The handling level (处置层级) the case is at as this event leaves it",
    "region_path": "The region ids of the case from the city down (the subject's tail)",
    "building_id": "The building (楼栋) the case is at, when known; its figures count the case too",
    "note": "A short note given with the command (free text, may be empty)",
    "title": "The case's title (标题) as the reporter gave it",
    "category_code": "The category code (事项分类编码) from the catalogue",
    "region_id": "The region (a grid or building) the case was located in",
    "location": "The reported point (经纬度) of the case",
    "due_at": "The deadline (办理时限) as this event sets it",
    "assignee": "Who handles the case (承办人/单位)",
    "resolution": "What was done to resolve it (办理结果), as the handler wrote it",
    "on_time": "Whether it was resolved before its deadline (按时办结)",
    "score": "The rating (满意度评价), 1 (worst) to 5 (best)",
    "reporter_sub": "The principal `sub` of the reporter who rated",
    "comment": "The reporter's comment with the rating (free text)",
    "rating": "The rating the case closed with, 1 to 5, if it was rated",
    "reason": "The reason given (free text)",
    "from_level": "The handling level the case was at before",
    "by_sweeper": "True when the deadline sweeper escalated it (超期自动上报), not a person",
    "returned_by": "Who returned the case (退回)",
    "from_id": "The case folded into the other (合并: the duplicate)",
    "into_id": "The case it was folded into (合并: the one kept)",
    "reporter_index": "Which of the case's reporters (0-based) had their phone shown",
    "meeting_id": "The joint meeting (联席会议) of the community's 大党委 that deliberated",
    "resolution_id": "The meeting's resolution (决议) the case is part of",
    "passed": "Whether the verification (核查) passed",
    "rework_count": "How many times the case has been sent back for rework (重办) so far",
    "attachment_ids": "The ids of the files attached with it",
    "return_visit_due_at": "When the return visit (回访) is due",
    "visit_id": "The id of the return visit (回访)",
    "reached": "Whether the caller was reached",
    "satisfaction": "How satisfied the caller said they are (满意度), when reached",
    "from_category": "The category code before the correction",
    "to_category": "The category code after the correction",
    "from_region_id": "The region the case was in before the correction",
    "to_region_id": "The region the case is in after the correction",
    "from_region_path": "The region path where the case's figures were counted before",
    "from_building_id": "The building the case's figures counted in before",
    "point_changed": "Whether the case's point (经纬度) was moved",
    "comment_id": "The comment's id (its text stays with the case)",
    "visibility": "Who sees the comment: INTERNAL (staff and handlers) or PUBLIC (the reporters too)",
    "author_role": "The role of who wrote the comment",
    "lead": "The lead department (主办部门), `<department region id>:<code>`",
    "cooperating": "The cooperating departments (协办部门), each `<department region id>:<code>`",
    "dept": "The department, `<department region id>:<code>`",
    "attachment_count": "How many files came with the reply",
    "request_id": "The id of the handler's request (退单/延期/挂起申请)",
    "approved": "Whether the request was approved",
    "until": "Until when an extension (延期) or suspension (挂起) is asked",
    "paused_s": "How long the case was suspended, in seconds (not counted against its deadline)",
    "urge_count": "How many times the case has been urged (督办) so far",
    "by_region": "The region id of the level that urged it",
    "attachment_id": "The file's id (its bytes are in the file store)",
    "stage": "When in the case's life the file was taken (上报/处置/办结/核查)",
    "size": "The file's size in bytes",
}


def event_from_wire(data: dict[str, Any]) -> CaseEvent:
    fields = dict(data)
    kind = fields.pop("type", None)
    if kind not in EVENT_TYPES:
        raise BadInput(f"unknown case event type {kind!r}")
    cls = EVENT_TYPES[kind]
    return cls.model_validate(fields)
