"""Wire models of the cases service (request payloads). Replies are documented in CASES_API."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.contracts.common import Page, Wire
from shared.vocabulary.cases import AssigneeKind, CaseChannel, CaseStatus, HandlingLevel, RequestKind

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
    "accept", "assign", "start", "resolve", "escalate", "reject", "return", "rate", "close", "sweep"
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
    note: str | None = Field(default=None, max_length=1000)  # close


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


IMPORT_MAX = 500


class ImportCases(Wire):
    """case.import: a batch of case history (superadmin or service only); a batch re-sent
    with the same `importId` imports nothing again."""

    importId: str = Field(min_length=1, max_length=128)
    cases: list[ImportedCase] = Field(min_length=1, max_length=IMPORT_MAX)


class CategoryInput(Wire):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    group: str | None = Field(default=None, max_length=64)
    defaultLevel: LevelName
    department: str | None = Field(default=None, max_length=64)
    slaSeconds: int | None = Field(default=None, ge=60)
    kind: KindName | None = None
    requiresAfterPhoto: bool = False  # resolved only with a RESOLUTION-stage photo


class RemoveCategory(Wire):
    code: str


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
  stats.batch ByIds → {items: {regionId: CaseStats | {error}}}
  catalogue.list {} → {version, categories: [Category]}
  catalogue.upsert CategoryInput → {version, categories}    catalogue.remove RemoveCategory → same
  case.import ImportCases → {importId, imported, skipped: [ids], replayed}   superadmin or service;
      history: rollups (and trends) count it, no events are published

Case = {id, title, description, categoryCode, categoryName, kind, channel, status, level, regionId,
        regionPath: [ids], location: {lng, lat} | null,
        reporter: {name, phone, sub},            # the first reporter; phone masked per API.md
        reporters: [{index, name, phone, sub, rating, ratedAt, comment}],
        assignee: {kind, id, name} | null, createdAt, updatedAt, acceptedAt, dueAt, overdue,
        resolvedAt, resolvedAtLevel, resolution, closedAt, rating, reopened, escalations,
        mergedInto, possibleDuplicates: [ids], version,
        timeline: [{type, at, actor, level, note}], attachments: [Attachment]}
CaseStats = {total, open, overdue, resolved, closed, rejected, merged, responded, resolvedOnTime,
             rated, satisfied, awaitingRating, resolvedByLevel: {GRID, COMMUNITY, TOWNSHIP, COUNTY},
             responseRate, resolutionRate, satisfactionRate, fengqiaoShare}   # rates: float | null
Category = {code, name, group, defaultLevel, department, slaSeconds, kind}
Events: CloudEvents on `yiwang.evt.cases.<TYPE>.<region path…>`, TYPE in REPORTED ACCEPTED
  ASSIGNED STARTED RESOLVED RATED CLOSED REOPENED REJECTED ESCALATED OVERDUE RETURNED MERGED
  CONTACT_REVEALED ATTACHMENT_ADDED; envelope `subject` = case id, `regionpath` = dot-joined path, `actor`,
  `aggversion` = case version; data = {caseId, type, at, actor, level, status, note,
  regionPath, delta: {counter: ±n}, ...event fields (assignee, fromLevel, reason, score…)}.
  No personal data in events.
"""


class HotspotQuery(Wire):
    regionId: str = Field(min_length=1, max_length=64)
    since: AwareDatetime
    until: AwareDatetime | None = None  # default: now
    first: int = Field(default=10, ge=1, le=50)


class HotspotCases(Wire):
    gridId: str = Field(min_length=1, max_length=64)
    categoryCode: str = Field(min_length=1, max_length=64)
    since: AwareDatetime
    until: AwareDatetime | None = None
    first: int = Field(default=200, ge=1, le=500)
