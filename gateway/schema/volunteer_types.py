"""Volunteer types: each wraps a DTO of the volunteers service; references resolve through DataLoaders.

A volunteer's phone arrives already masked by the service (138****5678) except to the volunteer and to
staff of their home region; an order's `residentSub` only to the resident and staff; an activity's
check-in code only to staff who manage it, its attendance to them and to a volunteer their own line.

This module is imported by `territory` (for `Region.volunteerPosts` and `overview.volunteers`), so it
refers to `Region`, `Case` and `GeoPoint` lazily and imports their modules only inside resolvers."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.case_types import Attachment, Case, GeoPoint, attachment_nodes
from gateway.schema.common import Connection, Node, connection, dto_type, from_dto, listing, vols, when
from gateway.schema.enums import (
    DispatchTargetKind,
    PointsSourceKind,
    ServiceOrderStatus,
    VolunteerKind,
    VolunteerPostStatus,
    VolunteerPostType,
    VolunteerTaskStatus,
)
from gateway.schema.loads import load_case, load_member, load_region, load_volunteer
from gateway.schema.org_types import PartyMember
from gateway.schema.territory import Region, optional_region, required_region
from shared.contracts import volunteers as vc
from shared.errors import Forbidden

# --- wire helpers -------------------------------------------------------------------------------------------


async def _volunteer(info: Info, volunteer_id: str | None) -> Volunteer | None:
    dto = await load_volunteer(info, volunteer_id) if volunteer_id else None
    return Volunteer(dto=dto) if dto else None


async def _volunteers(info: Info, volunteer_ids: list[str] | None) -> list[Volunteer]:
    """Volunteers in the given order; those outside your scope (or gone) are left out."""
    found = await asyncio.gather(*(load_volunteer(info, i) for i in volunteer_ids or []), return_exceptions=True)
    for d in found:
        if isinstance(d, Exception) and not isinstance(d, Forbidden):
            raise d
    return [Volunteer(dto=d) for d in found if isinstance(d, dict)]


# --- volunteers and teams -----------------------------------------------------------------------------------


@strawberry.type(description="A volunteer's points: the live balance and the ledger, newest first")
class PointsAccount:
    volunteer_id: strawberry.Private[str]

    @strawberry.field(description="Credits not yet expired, minus redemptions")
    async def balance(self, info: Info) -> int:
        return int((await vols(info).points_balance(checked(vc.ByVolunteer, volunteerId=self.volunteer_id)))["balance"])

    @strawberry.field(description="Ledger entries: credits, redemptions and expiries")
    async def history(self, info: Info, first: int | None = None, after: str | None = None) -> PointsEntryConnection:
        page = await vols(info).points_history(
            listing(vc.ByVolunteer, {"volunteerId": self.volunteer_id}, first, after)
        )
        return connection(page, entry_node)


@dto_type(
    description="A volunteer (志愿者): a resident, or a party member (党员志愿者). `phone` is masked "
    "except to the volunteer and to staff of their home region"
)
class Volunteer(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    sub: str = from_dto(description="The person's principal subject (the `sub` of their token)")
    name: str = from_dto()
    kind: VolunteerKind = from_dto()

    @strawberry.field(description="The party member record, for a 党员志愿者")
    def member_id(self) -> strawberry.ID | None:
        value = self.dto.get("memberId")
        return strawberry.ID(value) if value else None

    @strawberry.field(description="The party member (党员志愿者), from the organisations")
    async def party_member(self, info: Info) -> PartyMember | None:
        member_id = self.dto.get("memberId")
        dto = await load_member(info, member_id) if member_id else None
        return PartyMember(dto=dto) if dto else None

    @strawberry.field(description="An in-service party member (在职党员) reporting to their community (双报到)")
    def in_service_member(self) -> bool:
        return bool(self.dto.get("inServiceMember"))

    phone: str | None = from_dto(
        description="Masked (138****5678) except to the volunteer and to staff of their home region"
    )

    @strawberry.field
    def skills(self) -> list[str]:
        return list(self.dto.get("skills") or [])

    @strawberry.field(description="When they are free, e.g. SAT_AM, WEEKDAY_EVENING")
    def availability(self) -> list[str]:
        return list(self.dto.get("availability") or [])

    @strawberry.field(description="The community (or a grid or building in it) they live in")
    async def home_region(self, info: Info) -> Region:
        return await required_region(info, self.dto["homeRegionId"])

    @strawberry.field(description="Region ids top-down, ending with the home region")
    def region_path(self) -> list[strawberry.ID]:
        return [strawberry.ID(r) for r in self.dto.get("regionPath") or []]

    created_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")

    @strawberry.field(description="The active posts (岗位) they hold")
    async def claimed_posts(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> VolunteerPostConnection:
        page = await vols(info).list_posts(listing(vc.ListPosts, {"volunteerId": self.dto["id"]}, first, after))
        return connection(page, post_node)

    @strawberry.field(description="Cases handed to them (派单 to a volunteer)")
    async def tasks(self, info: Info, first: int | None = None, after: str | None = None) -> VolunteerTaskConnection:
        page = await vols(info).list_tasks(listing(vc.ListTasks, {"volunteerId": self.dto["id"]}, first, after))
        return connection(page, task_node)

    @strawberry.field(description="Their points (积分): balance and ledger")
    def points(self) -> PointsAccount:
        return PointsAccount(volunteer_id=self.dto["id"])


def volunteer_node(dto: dict) -> Volunteer:
    return Volunteer(dto=dto)


VolunteerConnection = Connection[Volunteer]


@dto_type(description="志愿服务队: a leader and members, anchored in a region")
class VolunteerTeam(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    name: str = from_dto()

    @strawberry.field(description="队长; also a member")
    async def leader(self, info: Info) -> Volunteer | None:
        return await _volunteer(info, self.dto["leaderId"])

    @strawberry.field(description="Members in the order they joined; those outside your scope are left out")
    async def members(self, info: Info) -> list[Volunteer]:
        return await _volunteers(info, self.dto.get("memberIds"))

    @strawberry.field
    def member_count(self) -> int:
        return len(self.dto.get("memberIds") or [])

    @strawberry.field
    async def region(self, info: Info) -> Region:
        return await required_region(info, self.dto["regionId"])

    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


def team_node(dto: dict) -> VolunteerTeam:
    return VolunteerTeam(dto=dto)


VolunteerTeamConnection = Connection[VolunteerTeam]


# --- posts --------------------------------------------------------------------------------------------------


@strawberry.type(description="A volunteer holding a post (认岗)")
class PostClaim:
    volunteer_id: strawberry.ID
    at: datetime

    @strawberry.field
    async def volunteer(self, info: Info) -> Volunteer | None:
        return await _volunteer(info, str(self.volunteer_id))


@dto_type(description="志愿服务岗位: a duty anchored at a community or grid that volunteers claim, up to its capacity")
class VolunteerPost(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    title: str = from_dto()
    type: VolunteerPostType = from_dto()
    capacity: int = from_dto(convert=int)

    @strawberry.field
    def claimed_count(self) -> int:
        return int(self.dto.get("claimedCount") or 0)

    duties: str = from_dto(default="")
    status: VolunteerPostStatus = from_dto()

    @strawberry.field(description="The COMMUNITY or GRID it is anchored at")
    async def region(self, info: Info) -> Region:
        return await required_region(info, self.dto["regionId"])

    @strawberry.field(description="Who holds it, in the order they claimed")
    def claimants(self) -> list[PostClaim]:
        return [
            PostClaim(volunteer_id=strawberry.ID(c["volunteerId"]), at=when(c["at"]))
            for c in self.dto.get("claimants") or []
        ]

    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


def post_node(dto: dict) -> VolunteerPost:
    return VolunteerPost(dto=dto)


VolunteerPostConnection = Connection[VolunteerPost]


# --- service orders -----------------------------------------------------------------------------------------


@strawberry.type(description="Whom an order was dispatched to (派单)")
class DispatchTarget:
    kind: DispatchTargetKind
    id: strawberry.ID = strawberry.field(description="A volunteer, team, post or unit id, after `kind`")
    name: str | None = strawberry.field(default=None, description="A co-building unit's name (UNIT)")


@dto_type(
    description="A resident's service order (点单 → 派单 → 接单). `residentSub` is shown only to the "
    "resident and to staff"
)
class ServiceOrder(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    # evidence
    @strawberry.field(description="Photos, videos, documents and recordings, in upload order")
    def attachments(self) -> list[Attachment]:
        return attachment_nodes(self.dto.get("attachments"))

    category: str = from_dto(description="What kind of help, e.g. 助老")
    description: str = from_dto(default="")

    @strawberry.field(description="The BUILDING where the service is wanted")
    async def building(self, info: Info) -> Region | None:
        return await optional_region(info, self.dto.get("buildingId"))

    @strawberry.field(description="Where the service is wanted (lng/lat, WGS 84)")
    def location(self) -> GeoPoint | None:
        loc = self.dto.get("location")
        if not loc:
            return None

        return GeoPoint(lng=loc["lng"], lat=loc["lat"])

    wished_at: datetime | None = from_dto(convert=when, description="When the resident would like it")
    status: ServiceOrderStatus = from_dto()
    reject_reason: str | None = from_dto(description="Why the review turned it down (审核不通过)")

    @strawberry.field(description="Whom it was dispatched to, once DISPATCHED")
    def target(self) -> DispatchTarget | None:
        t = self.dto.get("target")
        if not t:
            return None
        return DispatchTarget(kind=DispatchTargetKind(t["kind"]), id=strawberry.ID(t["id"]), name=t.get("name"))

    @strawberry.field(description="The volunteer who took it (接单); null for an order a unit took")
    async def taker(self, info: Info) -> Volunteer | None:
        t = self.dto.get("target")
        if t and t["kind"] == DispatchTargetKind.UNIT.value:
            return None
        return await _volunteer(info, self.dto.get("takerId"))

    unit_handler: str | None = from_dto(
        description="Units take service orders: who at the unit handles it, as staff recorded (staff and the resident)"
    )

    started_at: datetime | None = from_dto(convert=when)
    completed_at: datetime | None = from_dto(convert=when)

    @strawberry.field(description="Service hours, to a tenth; 0 until COMPLETED")
    def hours(self) -> float:
        return float(self.dto.get("hours") or 0)

    rating: int | None = from_dto(description="The resident's rating, 1–5 (评价)")
    comment: str | None = from_dto()
    cancel_reason: str | None = from_dto()
    resident_sub: str | None = from_dto(description="The resident who placed it; only to them and to staff")

    @strawberry.field(
        description="The grid or building of the order. A resident, who does not see the "
        "territory, gets its id and name only"
    )
    async def region(self, info: Info) -> Region:

        rid = self.dto["regionId"]
        try:
            return Region(dto=await load_region(info, rid))
        except Forbidden:
            return Region(
                dto={
                    "id": rid,
                    "name": self.dto.get("regionName") or rid,
                    "level": "GRID",
                    "code": None,
                    "partial": True,
                }
            )

    region_name: str | None = from_dto(description="The name of the order's grid or building")
    created_at: datetime | None = from_dto(convert=when)
    updated_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


def order_node(dto: dict) -> ServiceOrder:
    return ServiceOrder(dto=dto)


ServiceOrderConnection = Connection[ServiceOrder]


# --- case tasks ---------------------------------------------------------------------------------------------


@dto_type(description="A case (事件) handed to a volunteer; its resolution credits service hours once")
class VolunteerTask:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    case_id: strawberry.ID = from_dto()

    @strawberry.field(description="The case, from the cases service")
    async def case(self, info: Info) -> Case | None:

        dto = await load_case(info, self.dto["caseId"])
        return Case(dto=dto) if dto else None

    @strawberry.field
    async def volunteer(self, info: Info) -> Volunteer | None:
        return await _volunteer(info, self.dto.get("volunteerId"))

    title: str = from_dto()
    status: VolunteerTaskStatus = from_dto()

    @strawberry.field(description="Service hours credited at resolution; 0 while OPEN")
    def hours(self) -> float:
        return float(self.dto.get("hours") or 0)

    resolved_at: datetime | None = from_dto(convert=when)

    @strawberry.field(description="The case's grid")
    async def region(self, info: Info) -> Region | None:
        return await optional_region(info, self.dto.get("regionId"))

    created_at: datetime | None = from_dto(convert=when)


def task_node(dto: dict) -> VolunteerTask:
    return VolunteerTask(dto=dto)


VolunteerTaskConnection = Connection[VolunteerTask]


# --- activities ---------------------------------------------------------------------------------------------


@strawberry.type(description="One volunteer's sign-up of an activity and their attendance")
class ActivityAttendance:
    volunteer_id: strawberry.ID
    signed_at: datetime | None
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    hours: float = strawberry.field(
        description="Credited hours: check-out − check-in, capped by the activity's "
        "duration, down to half an hour; or back-filled"
    )
    backfilled: bool = strawberry.field(description="Hours entered by an admin (补录)")
    backfill_reason: str | None

    @strawberry.field
    async def volunteer(self, info: Info) -> Volunteer | None:
        return await _volunteer(info, str(self.volunteer_id))


def attendance_node(d: dict) -> ActivityAttendance:
    return ActivityAttendance(
        volunteer_id=strawberry.ID(d["volunteerId"]),
        signed_at=when(d.get("signedAt")),
        checked_in_at=when(d.get("checkedInAt")),
        checked_out_at=when(d.get("checkedOutAt")),
        hours=float(d.get("hours") or 0),
        backfilled=bool(d.get("backfilled")),
        backfill_reason=d.get("backfillReason"),
    )


@dto_type(
    description="A volunteer activity (志愿活动) with sign-up and check-in by code or location. "
    "`checkCode` is shown only to staff who manage it; `attendance` to them in full and to "
    "a volunteer only their own line"
)
class Activity(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    # evidence
    @strawberry.field(description="Photos, videos, documents and recordings, in upload order")
    def attachments(self) -> list[Attachment]:
        return attachment_nodes(self.dto.get("attachments"))

    title: str = from_dto()
    starts_at: datetime = from_dto(convert=when)
    ends_at: datetime = from_dto(convert=when)
    capacity: int = from_dto(convert=int)

    @strawberry.field
    def signed_count(self) -> int:
        return int(self.dto.get("signedCount") or 0)

    @strawberry.field(description="A GRID (its polygon bounds location check-in) or a COMMUNITY")
    async def region(self, info: Info) -> Region:
        return await required_region(info, self.dto["regionId"])

    @strawberry.field(description="Check-in by location is possible: the grid's polygon was copied at creation")
    def has_area(self) -> bool:
        return bool(self.dto.get("hasArea"))

    check_code: str | None = from_dto(description="The six-digit check-in code; only to staff who manage the activity")

    @strawberry.field(description="Sign-ups and attendance")
    def attendance(self) -> list[ActivityAttendance]:
        return [attendance_node(a) for a in self.dto.get("attendance") or []]

    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


def activity_node(dto: dict) -> Activity:
    return Activity(dto=dto)


ActivityConnection = Connection[Activity]


# --- points -------------------------------------------------------------------------------------------------


@strawberry.type(description="An entry of the points ledger (积分): a credit, a redemption or an expiry")
class PointsEntry:
    id: strawberry.ID
    volunteer_id: strawberry.ID
    delta: int = strawberry.field(description="Positive for credits, negative for redemptions and expiries")
    source_kind: PointsSourceKind
    source_id: str = strawberry.field(description="The order, activity, case, back-fill or redemption it is for")
    at: datetime
    expires_at: datetime | None = strawberry.field(description="Credits only: when the points lapse")


def entry_node(d: dict) -> PointsEntry:
    return PointsEntry(
        id=strawberry.ID(d["id"]),
        volunteer_id=strawberry.ID(d["volunteerId"]),
        delta=int(d["delta"]),
        source_kind=PointsSourceKind(d["sourceKind"]),
        source_id=d["sourceId"],
        at=when(d["at"]),
        expires_at=when(d.get("expiresAt")),
    )


PointsEntryConnection = Connection[PointsEntry]


@strawberry.type(description="An item of the rewards catalogue (积分兑换)")
class RewardItem:
    code: str
    name: str
    cost: int = strawberry.field(description="Points per item")
    stock: int


def item_node(d: dict) -> RewardItem:
    return RewardItem(code=d["code"], name=d["name"], cost=int(d["cost"]), stock=int(d["stock"]))


@strawberry.type(description="A redemption: the ledger entry, the item and the balance after it")
class PointsRedemption:
    entry: PointsEntry
    item: RewardItem
    balance: int


def redemption_node(d: dict) -> PointsRedemption:
    return PointsRedemption(entry=entry_node(d["entry"]), item=item_node(d["item"]), balance=int(d["balance"]))
