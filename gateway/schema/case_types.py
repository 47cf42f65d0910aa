"""Case types: each wraps a DTO of the cases service; references resolve through DataLoaders.

Phones arrive already masked by the service for callers who may not see them (API.md)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.downloads import signed_url
from gateway.schema.common import Connection, LazyRecord, Node, connection, ctx, dto_type, from_dto, page_args, when
from gateway.schema.enums import (
    AssigneeKind,
    AttachmentKind,
    AttachmentStage,
    CaseChannel,
    CaseRequestKind,
    CaseRequestStatus,
    CaseStatus,
    HandlerRole,
    HandlerStatus,
    HandlingLevel,
    RequestKind,
)
from gateway.schema.followup_types import (
    CaseCommentConnection,
    ReturnVisit,
    Verification,
    comment_node,
    return_visit_node,
    verification_node,
)
from gateway.schema.loads import load_case
from gateway.schema.territory import Region, load_region
from shared.auth import Role
from shared.contracts.cases import ListComments
from shared.errors import Forbidden

if TYPE_CHECKING:  # visits: the Visit a case was reported from (the edge back of Visit.case)
    from gateway.schema.visits import Visit
VISIT = LazyRecord("Visit", "gateway.schema.visits")


def level_of(value: str | None) -> HandlingLevel | None:
    return HandlingLevel(value) if value else None


@strawberry.type
class GeoPoint:
    lng: float
    lat: float


@strawberry.type(
    description="A person who reported the case. `phone` is masked (138****5678) except to the "
    "reporter themself, a grid worker of the case's grid and the current assignee"
)
class Reporter:
    name: str
    phone: str | None
    index: int = strawberry.field(default=0, description="0 for the first reporter; then those of merged reports")
    rating: int | None = strawberry.field(default=None, description="This reporter's rating of the resolution")
    rated_at: datetime | None = None
    comment: str | None = None


def reporter_node(d: dict) -> Reporter:
    return Reporter(
        name=d.get("name") or "",
        phone=d.get("phone"),
        index=d.get("index") or 0,
        rating=d.get("rating"),
        rated_at=when(d.get("ratedAt")),
        comment=d.get("comment"),
    )


@strawberry.type(
    description="Who handles a case: a grid worker (`sub`), a department (its code), "
    "a volunteer (member id) or the community (region id)"
)
class Assignee:
    kind: AssigneeKind
    id: str
    name: str | None


@strawberry.type(description="A category's SLA at one handling level, in working time")
class CaseLevelSla:
    level: HandlingLevel
    working: str = strawberry.field(description='"4h" working hours, "2d" working days')


@strawberry.type(description="An entry of the dispatch catalogue (派单目录)")
class CaseCategory:
    code: str
    name: str
    default_level: HandlingLevel
    department: str | None = strawberry.field(description="Default county department (县直部门) code")
    sla_seconds: int | None = strawberry.field(description="Replaces the per-level SLA at every level when set")
    group: str | None = strawberry.field(description="大类, e.g. 矛盾纠纷")
    kind: RequestKind | None
    sla_working: str | None = strawberry.field(
        default=None,
        description="Replaces the per-level SLA at every level when set, in working time of the work calendar: "
        '"4h" working hours, "2d" working days',
    )
    sla_by_level: list[CaseLevelSla] = strawberry.field(
        default_factory=list, description="The category's SLA at some levels, in working time (before slaWorking)"
    )
    requires_verification: bool = strawberry.field(
        default=False, description="A resolution waits for the centre's verification (核查) whoever handled it"
    )
    requires_after_photo: bool = strawberry.field(
        default=False, description="Resolved only with a RESOLUTION-stage photo on the case (办结 after-photo)"
    )


def category_node(d: dict) -> CaseCategory:
    return CaseCategory(
        code=d["code"],
        name=d["name"],
        default_level=HandlingLevel(d["defaultLevel"]),
        department=d.get("department"),
        sla_seconds=d.get("slaSeconds"),
        group=d.get("group") or None,
        kind=RequestKind(d["kind"]) if d.get("kind") else None,
        sla_working=d.get("slaWorking"),
        sla_by_level=[
            CaseLevelSla(level=HandlingLevel(x["level"]), working=x["working"]) for x in d.get("slaByLevel") or []
        ],
        requires_verification=bool(d.get("requiresVerification")),
        requires_after_photo=bool(d.get("requiresAfterPhoto")),
    )


@strawberry.type(description="The dispatch catalogue; every edit makes a new version")
class CaseCatalogue:
    version: int
    categories: list[CaseCategory]


def catalogue_node(d: dict) -> CaseCatalogue:
    return CaseCatalogue(version=d["version"], categories=[category_node(c) for c in d["categories"]])


@strawberry.type(description="Something that happened to a case: a timeline entry, or a live event")
class CaseEvent:
    type: str = strawberry.field(
        description="REPORTED ACCEPTED ASSIGNED STARTED RESOLVED RATED CLOSED REOPENED "
        "REJECTED ESCALATED OVERDUE RETURNED MERGED CONTACT_REVEALED DELIBERATED DUE_SOON, and the command "
        "centre's: CASE_VERIFIED CASE_RETURN_VISITED CASE_RETURN_VISIT_OVERDUE CASE_CORRECTED CASE_COMMENTED …"
    )
    case_id: strawberry.ID
    at: datetime
    actor: str | None = strawberry.field(description="The principal `sub`, or system:cases for the SLA sweeper")
    level: HandlingLevel | None = strawberry.field(description="The case's level as this event left it")
    note: str | None
    status: CaseStatus | None = strawberry.field(default=None, description="Live events only: the status after")

    @strawberry.field
    async def case(self, info: Info) -> Case | None:
        dto = await load_case(info, str(self.case_id))
        return Case(dto=dto) if dto else None


def timeline_node(case_id: str, d: dict) -> CaseEvent:
    return CaseEvent(
        type=d["type"],
        case_id=strawberry.ID(case_id),
        at=when(d["at"]),
        actor=d.get("actor"),
        level=level_of(d.get("level")),
        note=d.get("note"),
    )


# ---- evidence: the Attachment type (shared by every record that keeps attachments)
@dto_type(
    description="A piece of evidence (photo, video, document, recording). `url` and `thumbnailUrl` are "
    "download links valid for a few minutes (YIWANG_DOWNLOAD_TTL_S), given only with a record you may read"
)
class Attachment:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    kind: AttachmentKind = from_dto()
    content_type: str = from_dto(description="Sniffed from the bytes, never taken from the client")
    size: int = from_dto(description="Bytes, as stored (a photo re-encoded without its metadata)")
    sha256: str = from_dto(description="Of the bytes as stored")
    stage: AttachmentStage | None = from_dto()
    captured_at: datetime | None = from_dto(convert=when, description="As the uploader gave it")

    @strawberry.field(description="Only the place the uploader gave explicitly: a photo's EXIF is removed")
    def location(self) -> GeoPoint | None:
        loc = self.dto.get("location")
        return GeoPoint(lng=loc["lng"], lat=loc["lat"]) if loc else None

    @strawberry.field(description="A signed download link, valid for a few minutes")
    def url(self, info: Info) -> str:
        return signed_url(ctx(info).settings, ctx(info).request, self.dto["id"], "file")

    @strawberry.field(description="A photo's thumbnail (JPEG), a signed link like `url`")
    def thumbnail_url(self, info: Info) -> str | None:
        if not self.dto.get("thumbnail"):
            return None
        return signed_url(ctx(info).settings, ctx(info).request, self.dto["id"], "thumb")

    uploaded_by: str | None = from_dto(description="Shown to staff, and to the uploader themself")
    created_at: datetime = from_dto(convert=when)


def attachment_nodes(dtos: list[dict] | None) -> list[Attachment]:
    return [Attachment(dto=a) for a in dtos or []]


@dto_type(description="A resident's request, a reported problem or a dispute (诉求 / 事件 / 矛盾纠纷)")
class Case(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    title: str = from_dto()
    description: str = from_dto(default="")
    kind: RequestKind = from_dto(description="12345 request type")
    channel: CaseChannel = from_dto()
    status: CaseStatus = from_dto()
    level: HandlingLevel = from_dto(description="The level handling the case now")

    @strawberry.field
    async def category(self, info: Info) -> CaseCategory:
        found = await ctx(info).loaders.category_by_code.load(self.dto["categoryCode"])
        if found:
            return category_node(found)
        # Removed from the catalogue since: what the case itself remembers.
        return CaseCategory(
            code=self.dto["categoryCode"],
            name=self.dto.get("categoryName") or "",
            default_level=HandlingLevel(self.dto["level"]),
            department=None,
            sla_seconds=None,
            group=None,
            kind=None,
        )

    @strawberry.field(description="The grid the case belongs to")
    async def region(self, info: Info) -> Region:
        """The grid as the case knows it (id, name); anything more is loaded when asked for. A
        resident sees their own case, not the territory: the grid's name only."""
        rid, name = self.dto["regionId"], self.dto.get("regionName")
        if ctx(info).principal.role is Role.RESIDENT:
            return Region(dto={"id": rid, "name": name or rid, "level": "GRID", "code": None, "partial": True})
        if name:
            return Region(dto={"id": rid, "name": name, "level": "GRID", "lazy": True})
        try:
            return Region(dto=await load_region(info, rid))
        except Forbidden:
            return Region(dto={"id": rid, "name": rid, "level": "GRID", "code": None, "partial": True})

    @strawberry.field(description="The building of its grid it happened in (楼栋), if known")
    async def building(self, info: Info) -> Region | None:
        """As `region`: the building as the case knows it, anything more loaded when asked for."""
        bid, name = self.dto.get("buildingId"), self.dto.get("buildingName")
        if not bid:
            return None
        if ctx(info).principal.role is Role.RESIDENT:
            return Region(dto={"id": bid, "name": name or bid, "level": "BUILDING", "code": None, "partial": True})
        if name:
            return Region(dto={"id": bid, "name": name, "level": "BUILDING", "lazy": True})
        try:
            return Region(dto=await load_region(info, bid))
        except Forbidden:
            return Region(dto={"id": bid, "name": bid, "level": "BUILDING", "code": None, "partial": True})

    @strawberry.field
    def location(self) -> GeoPoint | None:
        loc = self.dto.get("location")
        return GeoPoint(lng=loc["lng"], lat=loc["lat"]) if loc else None

    @strawberry.field(description="The first reporter")
    def reporter(self) -> Reporter:
        return reporter_node(self.dto["reporter"])

    @strawberry.field(description="Every reporter: the first, then those of reports merged into this case")
    def reporters(self) -> list[Reporter]:
        return [reporter_node(r) for r in self.dto.get("reporters") or [self.dto["reporter"]]]

    @strawberry.field
    def assignee(self) -> Assignee | None:
        a = self.dto.get("assignee")
        return Assignee(kind=AssigneeKind(a["kind"]), id=a["id"], name=a.get("name") or None) if a else None

    created_at: datetime = from_dto(convert=when)
    updated_at: datetime | None = from_dto(convert=when)
    accepted_at: datetime | None = from_dto(
        convert=when, description="First response by a person: accepted, rejected, dispatched or handled"
    )
    due_at: datetime | None = from_dto(
        convert=when,
        description="Deadline at the current level (SLA), counted in working time of the work calendar "
        "unless the SLA is in wall-clock seconds",
    )
    due_soon: bool = from_dto(
        default=False,
        description="Open, its deadline not passed, and less than the due-soon share of its time left "
        "(CASE_DUE_SOON was or is about to be sent)",
    )

    @strawberry.field(description="Past its deadline and not yet given a new one")
    def overdue(self) -> bool:
        return bool(self.dto.get("overdue"))

    resolved_at: datetime | None = from_dto(convert=when, description="The latest resolution")

    @strawberry.field(description="Level of the latest resolution: feeds the Fengqiao share")
    def resolved_at_level(self) -> HandlingLevel | None:
        return level_of(self.dto.get("resolvedAtLevel"))

    resolution: str | None = from_dto()
    closed_at: datetime | None = from_dto(convert=when)
    rating: int | None = from_dto(description="1–5; 1–2 reopen the case once, 3–5 close it")

    @strawberry.field(description="Reopened once after a low rating")
    def reopened(self) -> bool:
        return bool(self.dto.get("reopened"))

    @strawberry.field(description="Times the case moved a level up, by hand or by the SLA sweeper")
    def escalations(self) -> int:
        return int(self.dto.get("escalations") or 0)

    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")

    @strawberry.field(description="The case this report was merged into (并单)")
    async def merged_into(self, info: Info) -> Case | None:
        target = self.dto.get("mergedInto")
        dto = await load_case(info, target) if target else None
        return Case(dto=dto) if dto else None

    @strawberry.field(
        description="Open cases of the same category close by, reported shortly before (疑似重复); "
        "those outside your scope are left out"
    )
    async def possible_duplicates(self, info: Info) -> list[Case]:
        load = ctx(info).loaders.case_by_id.load
        found = await asyncio.gather(
            *(load(i) for i in self.dto.get("possibleDuplicates") or []), return_exceptions=True
        )
        for d in found:
            if isinstance(d, Exception) and not isinstance(d, Forbidden):
                raise d
        return [Case(dto=d) for d in found if isinstance(d, dict)]

    # visits:
    @strawberry.field(description="The visit (走访) whose finding this case was reported from")
    async def visit(self, info: Info) -> Annotated[Visit, strawberry.lazy("gateway.schema.visits")] | None:
        visit_id = self.dto.get("visitId")
        if not visit_id:
            return None
        try:
            dto = await ctx(info).loaders.visit_by_id.load(visit_id)
        except Forbidden:
            return None
        return VISIT.of(dto) if dto else None

    @strawberry.field(description="Every event of the case, oldest first")
    def timeline(self) -> list[CaseEvent]:
        return [timeline_node(self.dto["id"], e) for e in self.dto.get("timeline") or []]

    # follow-up: 核查, 回访, comments, handling counts
    @strawberry.field(description="The latest verification (核查) of a resolution by the dispatching centre")
    def verification(self) -> Verification | None:
        v = self.dto.get("verification")
        return verification_node(v) if v else None

    @strawberry.field(description="Every verification, oldest first")
    def verifications(self) -> list[Verification]:
        return [verification_node(v) for v in self.dto.get("verifications") or []]

    @strawberry.field(description="RESOLVED and waiting for verification; ratings and auto-close wait for it")
    def verification_due(self) -> bool:
        return bool(self.dto.get("verificationDue"))

    @strawberry.field(description="Failed verifications that sent the case back to handling (重办)")
    def rework_count(self) -> int:
        return int(self.dto.get("reworkCount") or 0)

    @strawberry.field(description="Return visits (回访), oldest first")
    def return_visits(self) -> list[ReturnVisit]:
        return [return_visit_node(v) for v in self.dto.get("returnVisits") or []]

    return_visit_due_at: datetime | None = from_dto(
        convert=when, description="An open return-visit task's deadline (a caller without an account)"
    )

    @strawberry.field(description="The open return-visit task is past its deadline")
    def return_visit_overdue(self) -> bool:
        return bool(self.dto.get("returnVisitOverdue"))

    @strawberry.field(description="Corrections of its category, location or grid after intake")
    def corrections(self) -> int:
        return int(self.dto.get("corrections") or 0)

    @strawberry.field(description="Comments, oldest first; residents see the PUBLIC ones")
    async def comments(self, info: Info, first: int | None = None, after: str | None = None) -> CaseCommentConnection:
        page = await ctx(info).cases.comments(
            checked(ListComments, caseId=self.dto["id"], page=page_args(first, after))
        )
        return connection(page, comment_node)

    # departments: 主办/协办 handlers, requests, 督办
    @strawberry.field(description="The departments dispatched to the case (主办 and 协办), released ones included")
    def handlers(self) -> list[CaseHandler]:
        return [handler_node(h) for h in self.dto.get("handlers") or []]

    @strawberry.field(description="退单, 延期 and 挂起 requests and their decisions (staff and departments only)")
    def requests(self) -> list[CaseRequest]:
        return [case_request_node(r) for r in self.dto.get("requests") or []]

    @strawberry.field(description="督办: times a level above the handling one pressed for the case")
    def urge_count(self) -> int:
        return int(self.dto.get("urgeCount") or 0)

    @strawberry.field(description="挂起: the clock stands still until the case is resumed")
    def suspended(self) -> bool:
        return bool(self.dto.get("suspended"))

    # evidence
    @strawberry.field(description="Photos, videos, documents and recordings of the case, in upload order")
    def attachments(self) -> list[Attachment]:
        return attachment_nodes(self.dto.get("attachments"))


# ---- departments ------------------------------------------------------------------------------
@strawberry.type(description="A handler's reply (反馈)")
class HandlerReply:
    at: datetime
    by: str
    text: str
    attachment_ids: list[strawberry.ID]


@strawberry.type(
    description="A department on a case: 主办 (LEAD) or 协办 (COOPERATING), with its own status and deadline"
)
class CaseHandler:
    dept: str = strawberry.field(description="The department's code")
    dept_region_id: strawberry.ID = strawberry.field(description="The county or city whose directory holds it")
    dept_name: str
    role: HandlerRole
    status: HandlerStatus
    dispatched_at: datetime
    due_at: datetime | None
    responded_at: datetime | None
    released_at: datetime | None
    resolved_at: datetime | None
    replies: list[HandlerReply]


def handler_node(d: dict) -> CaseHandler:
    return CaseHandler(
        dept=d["dept"],
        dept_region_id=strawberry.ID(d["deptRegion"]),
        dept_name=d.get("deptName") or d["dept"],
        role=HandlerRole(d["role"]),
        status=HandlerStatus(d["status"]),
        dispatched_at=when(d["dispatchedAt"]),
        due_at=when(d.get("dueAt")),
        responded_at=when(d.get("respondedAt")),
        released_at=when(d.get("releasedAt")),
        resolved_at=when(d.get("resolvedAt")),
        replies=[
            HandlerReply(
                at=when(r["at"]),
                by=r["by"],
                text=r["text"],
                attachment_ids=[strawberry.ID(i) for i in r.get("attachment_ids") or []],
            )
            for r in d.get("replies") or []
        ],
    )


@strawberry.type(description="A 退单, 延期 or 挂起 request and the dispatching centre's decision")
class CaseRequest:
    id: strawberry.ID
    case_id: strawberry.ID
    kind: CaseRequestKind
    status: CaseRequestStatus
    reason: str
    until: datetime | None = strawberry.field(description="An extension's new deadline")
    requested_by: str
    dept: str | None = strawberry.field(description="The requesting department (`<region>:<code>`)")
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str | None

    @strawberry.field
    async def case(self, info: Info) -> Case | None:
        dto = await load_case(info, str(self.case_id))
        return Case(dto=dto) if dto else None


def case_request_node(d: dict) -> CaseRequest:
    return CaseRequest(
        id=strawberry.ID(d["id"]),
        case_id=strawberry.ID(d["caseId"]),
        kind=CaseRequestKind(d["kind"]),
        status=CaseRequestStatus(d["status"]),
        reason=d["reason"],
        until=when(d.get("until")),
        requested_by=d["requestedBy"],
        dept=d.get("dept"),
        requested_at=when(d["requestedAt"]),
        decided_by=d.get("decidedBy"),
        decided_at=when(d.get("decidedAt")),
        note=d.get("note"),
    )


def case_node(dto: dict) -> Case:
    return Case(dto=dto)


CaseConnection = Connection[Case]
