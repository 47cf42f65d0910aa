"""Wire models of the cases service (request payloads). Replies are documented in CASES_API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from shared.contracts.common import Page, Wire
from shared.vocabulary.cases import (
    AssigneeKind,
    CaseChannel,
    CaseStatus,
    CommentVisibility,
    HandlingLevel,
    RequestKind,
    ReturnVisitSatisfaction,
)

StatusName = CaseStatus
LevelName = HandlingLevel
ChannelName = CaseChannel
KindName = RequestKind
AssigneeKindName = AssigneeKind


class ReportCase(Wire):
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=5000)
    categoryCode: str = Field(max_length=64)
    channel: ChannelName
    kind: KindName | None = None
    reporterName: str = Field(max_length=64)
    reporterPhone: str | None = Field(default=None, max_length=20)
    reporterSub: str | None = Field(default=None, max_length=64)  # staff entering for a resident
    lng: float | None = None
    lat: float | None = None
    regionId: str | None = None  # a GRID (or a BUILDING, routed to its grid)
    idempotencyKey: str | None = Field(default=None, max_length=128)
    source: str | None = Field(default=None, max_length=128)  # e.g. "meeting:<id>:<item>"
    # building: the BUILDING of the case's grid it happened in (a building leader's own by default)
    buildingId: str | None = Field(default=None, min_length=1, max_length=64)
    # visits: the visit (grids) whose finding this case is reported from; set by grids' visit.report
    sourceVisitId: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9_-]+$")


class CaseCommand(Wire):
    id: str
    expectedVersion: int | None = None


class AssigneeInput(Wire):
    kind: AssigneeKindName
    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=64)


class AssignCase(CaseCommand):
    assignee: AssigneeInput


class WithReason(CaseCommand):
    reason: str = Field(max_length=1000)


class ResolveCase(CaseCommand):
    resolution: str = Field(max_length=5000)


class RateCase(CaseCommand):
    score: int
    comment: str | None = Field(default=None, max_length=1000)


class CloseCase(CaseCommand):
    note: str | None = Field(default=None, max_length=1000)


class MergeCase(CaseCommand):
    intoId: str
    force: bool = False


class RevealContact(Wire):
    caseId: str
    reason: str = Field(max_length=1000)
    reporterIndex: int = 0


class ListCases(Page):
    regionId: str | None = None
    status: list[StatusName] | None = Field(default=None, max_length=len(StatusName))  # any of these
    level: LevelName | None = None
    overdue: bool | None = None
    categoryCode: str | None = None
    mine: bool = False  # the caller's own reports (residents) or assignments (handlers)
    withTotal: bool = True  # False: skip counting (totalCount comes back as -1)


ImportActionName = Literal[
    "accept",
    "assign",
    "start",
    "resolve",
    "escalate",
    "reject",
    "return",
    "rate",
    "close",
    "sweep",
    # follow-up
    "verify",
    "return_visit",
    "correct",
    "comment",
    # departments
    "dispatch",
    "reply",
    "requestReturn",
    "requestExtension",
    "suspend",
    "decide",
    "resume",
    "urge",
]


class ImportStep(Wire):
    """One later step of an imported case, applied by the domain with `at` as the time.
    `actor` is the sub recorded in the timeline (default: the importer); a `rate` is the
    case's reporter (`reporterSub`); a `sweep` is the SLA sweeper's own rule at `at`."""

    action: ImportActionName
    at: AwareDatetime
    actor: str | None = Field(default=None, min_length=1, max_length=64)
    assignee: AssigneeInput | None = None  # assign
    resolution: str | None = Field(default=None, max_length=5000)  # resolve
    reason: str | None = Field(default=None, max_length=1000)  # escalate, reject, return
    score: int | None = None  # rate
    comment: str | None = Field(default=None, max_length=1000)  # rate
    note: str | None = Field(default=None, max_length=1000)  # close, verify, return_visit, reply, urge, decide
    # follow-up
    passed: bool | None = None  # verify
    satisfaction: ReturnVisitSatisfaction | None = None  # return_visit
    reached: bool | None = None  # return_visit
    categoryCode: str | None = Field(default=None, max_length=64)  # correct
    regionId: str | None = Field(default=None, max_length=64)  # correct: the new grid
    text: str | None = Field(default=None, max_length=2000)  # comment
    visibility: CommentVisibility | None = None  # comment
    # departments: dispatch (lead, cooperating: codes of the directory of the case's county or city);
    # reply, requestReturn, requestExtension (until), suspend, resume by the department `dept` on the
    # case (suspend without one: by staff); decide the pending request of `requestKind` (approve)
    lead: str | None = Field(default=None, max_length=64)
    cooperating: list[str] = Field(default_factory=list, max_length=20)
    dept: str | None = Field(default=None, max_length=64)
    until: AwareDatetime | None = None
    requestKind: Literal["RETURN", "EXTENSION", "SUSPENSION"] | None = None
    approve: bool | None = None


class ImportedCase(Wire):
    """A historical case: reported at `reportedAt` in a GRID (or a building of it), then `steps`."""

    id: str | None = Field(default=None, max_length=48)  # subject-safe; a case id already stored is skipped
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=5000)
    categoryCode: str = Field(max_length=64)
    channel: ChannelName
    kind: KindName | None = None
    reporterName: str = Field(max_length=64)
    reporterPhone: str | None = Field(default=None, max_length=20)
    reporterSub: str | None = Field(default=None, max_length=64)
    regionId: str = Field(min_length=1, max_length=64)
    lng: float | None = None
    lat: float | None = None
    reportedAt: AwareDatetime
    steps: list[ImportStep] = Field(default_factory=list, max_length=60)
    buildingId: str | None = Field(default=None, min_length=1, max_length=64)  # building: as ReportCase


IMPORT_MAX = 500


class ImportCases(Wire):
    """case.import: a batch of case history (superadmin or service only); a batch re-sent
    with the same `importId` imports nothing again."""

    importId: str = Field(min_length=1, max_length=128)
    cases: list[ImportedCase] = Field(min_length=1, max_length=IMPORT_MAX)
    # clocks: history drawn this many seconds earlier and moved to now (the demo's): its
    # deadlines count the work calendar as it fell then, so they move with the history
    calendarShiftS: int = Field(default=0, ge=-20 * 366 * 86400, le=20 * 366 * 86400)


class LevelSlaInput(Wire):
    level: LevelName
    working: str = Field(min_length=1, max_length=16)


class CategoryInput(Wire):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    group: str | None = Field(default=None, max_length=64)
    defaultLevel: LevelName
    department: str | None = Field(default=None, max_length=64)
    slaSeconds: int | None = Field(default=None, ge=60)
    kind: KindName | None = None
    # clocks: the SLA in working time instead, "4h" (working hours) or "2d" (working days)
    slaWorking: str | None = Field(default=None, max_length=16)
    slaByLevel: list[LevelSlaInput] | None = Field(
        default=None, max_length=len(LevelName)
    )  # per level, before slaWorking
    requiresVerification: bool = False
    requiresAfterPhoto: bool = False  # resolved only with a RESOLUTION-stage photo


class RemoveCategory(Wire):
    code: str


# ---- v2: command centre
# follow-up: verification, return visits, corrections, comments
class VerifyCase(CaseCommand):
    passed: bool
    note: str | None = Field(default=None, max_length=1000)
    attachmentIds: list[str] = Field(default_factory=list, max_length=20)


class RecordReturnVisit(Wire):
    caseId: str
    satisfaction: ReturnVisitSatisfaction | None = None
    reached: bool
    note: str | None = Field(default=None, max_length=1000)
    expectedVersion: int | None = None
    idempotencyKey: str | None = Field(default=None, max_length=128)


class CorrectCase(CaseCommand):
    categoryCode: str | None = Field(default=None, max_length=64)
    lng: float | None = None
    lat: float | None = None
    regionId: str | None = Field(default=None, max_length=64)  # a GRID
    reason: str = Field(max_length=1000)


class CommentOnCase(CaseCommand):
    text: str = Field(max_length=2000)
    visibility: CommentVisibility
    attachmentIds: list[str] = Field(default_factory=list, max_length=20)
    idempotencyKey: str | None = Field(default=None, max_length=128)


class ListComments(Page):
    caseId: str


CASES_API = """
Verbs on `yiwang.cases.<verb>` (payload model → reply):
  case.report ReportCase → Case            case.get ById → Case | null
  case.batch ByIds → {items: {id: Case | {error}}}
  case.list ListCases → {items: [Case], totalCount, hasNextPage, endCursor}   newest first
  case.accept CaseCommand → Case           case.assign AssignCase → Case
  case.start CaseCommand → Case            case.resolve ResolveCase → Case
  case.escalate WithReason → Case          case.reject WithReason → Case
  case.return WithReason → Case            case.rate RateCase → Case
  case.close CloseCase → Case              case.merge MergeCase → Case (the case merged into)
  case.revealContact RevealContact → {name, phone}
  case.attach AttachEvidence → {attachment}   (ATTACHMENTS_API in shared/contracts)
  work.cases WorkQuery → {items: [Case], truncated}   (WORK_API in shared/contracts/work.py)
  stats.batch ByIds → {items: {regionId: CaseStats | {error}}}
  category.counts CategoryCountsQuery → {since, until, items: [{categoryCode, categoryName, count}]}
      reports per category in the window (local days), most first; figure readers in scope
  catalogue.list {} → {version, categories: [Category]}
  catalogue.upsert CategoryInput → {version, categories}    catalogue.remove RemoveCategory → same
  case.verify VerifyCase → Case            case.returnVisit RecordReturnVisit → Case
  case.correct CorrectCase → Case          case.comment CommentOnCase → CaseComment
  case.comments ListComments → {items: [CaseComment], totalCount, hasNextPage, endCursor}  oldest first
  case.import ImportCases → {importId, imported, skipped: [ids], replayed}   superadmin or service;
      history: rollups (and trends) count it, no events are published
  calendar.get GetWorkCalendar → WorkCalendar      any caller
  calendar.set SetWorkCalendar → WorkCalendar      a superadmin or a city's admin; WORK_CALENDAR_CHANGED

Case = {id, title, description, categoryCode, categoryName, kind, channel, status, level, regionId,
        regionPath: [ids], buildingId | null, location: {lng, lat} | null,
        reporter: {name, phone, sub},            # the first reporter; phone masked per API.md
        reporters: [{index, name, phone, sub, rating, ratedAt, comment}],
        assignee: {kind, id, name} | null, createdAt, updatedAt, acceptedAt, dueAt, overdue,
        resolvedAt, resolvedAtLevel, resolution, closedAt, rating, reopened, escalations,
        mergedInto, possibleDuplicates: [ids], version,
        timeline: [{type, at, actor, level, note}], attachments: [Attachment],
        verification: Verification | null, verifications: [Verification], verificationDue,
        reworkCount, returnVisits: [{id, reached, satisfaction, note, by, at}], returnVisitDueAt,
        returnVisitOverdue, returns, extensions, urgeCount, corrections}
Verification = {passed, note, by, at, attachmentIds}
CaseComment = {id, caseId, text, visibility, author, authorRole, at, attachmentIds}
CaseStats = {total, open, overdue, resolved, closed, rejected, merged, responded, resolvedOnTime,
             rated, satisfied, awaitingRating, resolvedByLevel: {BUILDING, GRID, COMMUNITY, TOWNSHIP, COUNTY},
             responseRate, resolutionRate, satisfactionRate, fengqiaoShare,   # rates: float | null
             onTimeRate, returnRate, reworkRate, awaitingVerification, verified, reworked, visited,
             visitSatisfied, returnVisitPending, returnVisitOverdue, dispatched, returned, returnCount,
             extensionCount, urgeCount, corrected,
             satisfactionByChannel: [{channel, evaluated, satisfied, rate}]}
Category = {code, name, group, defaultLevel, department, slaSeconds, slaWorking,
            slaByLevel: [{level, working}], kind, requiresVerification}
WorkCalendar = {year, source: PUBLISHED|EDITED|WEEKENDS_ONLY, note, holidays: [date], workdays: [date],
                workingDays, officeHours, timezone, version, updatedAt}
Events: CloudEvents on `yiwang.evt.cases.<TYPE>.<region path…>`, TYPE in REPORTED ACCEPTED
  ASSIGNED STARTED RESOLVED RATED CLOSED REOPENED REJECTED ESCALATED OVERDUE RETURNED MERGED
  CONTACT_REVEALED DUE_SOON ATTACHMENT_ADDED CASE_VERIFIED CASE_RETURN_VISITED CASE_RETURN_VISIT_OVERDUE
  CASE_CORRECTED CASE_COMMENTED CASE_DISPATCHED CASE_REPLIED CASE_REQUEST_RAISED CASE_REQUEST_DECIDED
  CASE_SUSPENDED CASE_RESUMED CASE_URGED; envelope `subject` = case id, `regionpath` = dot-joined path, `actor`,
  `aggversion` = case version; data = {caseId, type, at, actor, level, status, note,
  regionPath, delta: {counter: ±n}, ...event fields (assignee, fromLevel, reason, score…)}; a
  CASE_CORRECTED that moved the case carries its whole counters as delta and delta_from: {counter: −n}
  for from_region_path (the old path loses what the new one gains).
  No personal data in events.
"""


# clocks: the work calendar (shared/workdays.py), one year at a time
class GetWorkCalendar(Wire):
    year: int = Field(ge=2000, le=2100)


class SetWorkCalendar(Wire):
    year: int = Field(ge=2000, le=2100)
    holidays: list[date] = Field(max_length=366)
    workdays: list[date] = Field(max_length=366)


class HotspotQuery(Wire):
    regionId: str = Field(min_length=1, max_length=64)
    since: AwareDatetime
    until: AwareDatetime | None = None  # default: now
    first: int = Field(default=10, ge=1, le=50)


class CategoryCountsQuery(Wire):
    regionId: str = Field(min_length=1, max_length=64)
    since: AwareDatetime
    until: AwareDatetime  # exclusive; by local day, at most a year after `since`


class HotspotCases(Wire):
    gridId: str = Field(min_length=1, max_length=64)
    categoryCode: str = Field(min_length=1, max_length=64)
    since: AwareDatetime
    until: AwareDatetime | None = None
    first: int = Field(default=200, ge=1, le=500)


# ---- departments: the directory, dispatch to 主办/协办, replies, requests, 督办, figures ----------
DEPT_CODE = r"^[A-Z][A-Z0-9_]{1,63}$"


class DepartmentContactInput(Wire):
    name: str = Field(min_length=1, max_length=64)
    title: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=20)


class CreateDepartment(Wire):
    code: str = Field(pattern=DEPT_CODE)
    name: str = Field(min_length=1, max_length=64)
    regionId: str = Field(min_length=1, max_length=64)  # a COUNTY or a CITY
    level: LevelName | None = None  # COUNTY (the default) for a county's department
    contacts: list[DepartmentContactInput] = Field(default_factory=list, max_length=20)
    idempotencyKey: str | None = Field(default=None, max_length=128)


class ListDepartments(Page):
    regionId: str = Field(min_length=1, max_length=64)


class DispatchCase(CaseCommand):
    lead: str = Field(min_length=1, max_length=64)
    cooperating: list[str] = Field(default_factory=list, max_length=20)


class ReplyToCase(CaseCommand):
    text: str = Field(max_length=5000)
    attachmentIds: list[str] = Field(default_factory=list, max_length=20)
    idempotencyKey: str | None = Field(default=None, max_length=128)  # a retry returns the case, adds nothing


class RaiseRequest(WithReason):
    """退单 or 挂起; a retry with the same key returns the first request."""

    idempotencyKey: str | None = Field(default=None, max_length=128)


class RequestExtension(RaiseRequest):
    until: AwareDatetime


class DecideCaseRequest(Wire):
    requestId: str = Field(min_length=1, max_length=96)
    approve: bool
    note: str | None = Field(default=None, max_length=1000)


class UrgeCase(CaseCommand):
    note: str = Field(max_length=1000)
    idempotencyKey: str | None = Field(default=None, max_length=128)  # a retry returns the case, counts once


class DepartmentStatsQuery(Wire):
    deptCode: str = Field(min_length=1, max_length=64)
    regionId: str = Field(min_length=1, max_length=64)
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None


class DepartmentRankingsQuery(Wire):
    regionId: str = Field(min_length=1, max_length=64)
    metric: str = Field(min_length=1, max_length=64)
    order: Literal["ASC", "DESC"] = "DESC"
    first: int = Field(default=20, ge=1, le=100)


DEPARTMENTS_API = """
  department.create CreateDepartment → Department     department.list ListDepartments → page of Department
  case.dispatch DispatchCase → Case                   case.reply ReplyToCase → Case
  case.requestReturn WithReason → CaseRequest         case.requestExtension RequestExtension → CaseRequest
  case.suspend WithReason → CaseRequest               case.resume CaseCommand → Case
  case.decideRequest DecideCaseRequest → CaseRequest  case.urge UrgeCase → Case
  department.stats DepartmentStatsQuery → DepartmentStats
  department.rankings DepartmentRankingsQuery → {items: [{department, value, rank, stats}]}
Department = {id, code, name, level, regionId, regionPath, contacts: [{name, title, phone}], createdAt, version}
Case gains handlers: [{dept, deptRegion, deptName, role, status, dispatchedAt, dueAt, respondedAt, releasedAt,
  resolvedAt, replies: [{at, by, text, attachmentIds}]}], requests: [CaseRequest], urgeCount, suspended, suspendedAt
CaseRequest = {id, caseId, kind, status, reason, until, requestedBy, dept, requestedAt, decidedBy, decidedAt, note}
Events CASE_DISPATCHED CASE_REPLIED CASE_REQUEST_RAISED CASE_REQUEST_DECIDED CASE_SUSPENDED CASE_RESUMED CASE_URGED;
  every event of a case departments handle carries data.deptKeys and is also published on
  `yiwang.dept.cases.<department region>.<code>.<TYPE>` for each of them.
"""
