"""Organisation types: each wraps a DTO of the organizations service; references resolve through DataLoaders.

Phones and ID numbers arrive already masked by the service (138****5678, 110***********1234) except to
the member themself; unit contacts' phones except to those who manage the unit.

This module is imported by `territory` (for `Region.partyOrganizations` and `overview.organizations`), so it
refers to `Region` and `Case` lazily and imports their modules only inside resolvers."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.schema.case_types import Attachment, Case, attachment_nodes
from gateway.schema.common import (
    Connection,
    Node,
    connection,
    ctx,
    day,
    dto_type,
    from_dto,
    listing,
    orgs,
    value_of,
    when,
)
from gateway.schema.enums import (
    AgendaSource,
    CaseStatus,
    Gender,
    LifeKind,
    MemberCategory,
    MemberStatus,
    PartyOrgType,
    PositionRole,
    ProjectStatus,
    TransferStatus,
    UnitKind,
)
from gateway.schema.fund_enums import ListCategory, NeedStatus  # three-lists matching
from gateway.schema.loads import load_case, load_member, load_member_links, load_org, load_unit
from gateway.schema.territory import Region, optional_region, required_region
from shared.contracts import organizations as oc
from shared.contracts.common import ById  # committees
from shared.errors import DomainError, Forbidden, Unavailable

if TYPE_CHECKING:  # links: the lazy edge to households (whose module imports this one)
    from gateway.schema.committees import OwnersCommittee  # committees
    from gateway.schema.households import Household

HouseholdRef = Annotated["Household", strawberry.lazy("gateway.schema.households")]
OwnersCommitteeRef = Annotated["OwnersCommittee", strawberry.lazy("gateway.schema.committees")]  # committees

# --- wire helpers -------------------------------------------------------------------------------------------


async def _org(info: Info, org_id: str | None) -> PartyOrganization | None:
    dto = await load_org(info, org_id) if org_id else None
    return PartyOrganization(dto=dto) if dto else None


async def _member(info: Info, member_id: str | None) -> PartyMember | None:
    dto = await load_member(info, member_id) if member_id else None
    return PartyMember(dto=dto) if dto else None


async def _unit(info: Info, unit_id: str | None) -> CoBuildingUnit | None:
    dto = await load_unit(info, unit_id) if unit_id else None
    return CoBuildingUnit(dto=dto) if dto else None


async def _units(info: Info, unit_ids: list[str] | None) -> list[CoBuildingUnit]:
    """Units in the given order; those outside your scope (or gone) are left out."""
    found = await asyncio.gather(*(load_unit(info, i) for i in unit_ids or []), return_exceptions=True)
    for d in found:
        if isinstance(d, Exception) and not isinstance(d, Forbidden):
            raise d
    return [CoBuildingUnit(dto=d) for d in found if isinstance(d, dict)]


# --- organisations ------------------------------------------------------------------------------------------


@strawberry.type(
    description="A seat in an organisation's leadership, held by a member or by a person from a "
    "co-building unit (兼职委员)"
)
class Position:
    holder_name: str
    role: PositionRole
    term_start: date
    term_end: date | None = strawberry.field(description="Null while the term is open")
    member_id: strawberry.Private[str | None]
    unit_id: strawberry.Private[str | None]

    @strawberry.field(description="The holder, when they are a registered party member")
    async def member(self, info: Info) -> PartyMember | None:
        return await _member(info, self.member_id)

    @strawberry.field(description="The co-building unit the holder comes from (兼职委员)")
    async def unit(self, info: Info) -> CoBuildingUnit | None:
        return await _unit(info, self.unit_id)


def position_node(d: dict) -> Position:
    return Position(
        holder_name=d["holderName"],
        role=PositionRole(d["role"]),
        term_start=day(d["termStart"]),
        term_end=day(d.get("termEnd")),
        member_id=d.get("memberId"),
        unit_id=d.get("unitId"),
    )


@dto_type(
    description="A party organisation (党组织): 街道党工委 → 社区党委/大党委 → 网格党支部 → 楼栋党小组 "
    "→ 党员中心户, each anchored to a territory node of its level"
)
class PartyOrganization(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    name: str = from_dto()
    type: PartyOrgType = from_dto()

    @strawberry.field(description="The territory node it is anchored to (TOWNSHIP, COMMUNITY, GRID or BUILDING)")
    async def anchor(self, info: Info) -> Region:
        return await required_region(info, self.dto["anchorId"])

    @strawberry.field(description="The organisation one level up; null for a 街道党工委")
    async def parent(self, info: Info) -> PartyOrganization | None:
        return await _org(info, self.dto.get("parentId"))

    @strawberry.field(description="A CENTER_HOUSEHOLD's member (党员中心户)")
    async def household_member(self, info: Info) -> PartyMember | None:
        return await _member(info, self.dto.get("householdMemberId"))

    @strawberry.field(description="Leadership seats, current and ended")
    def positions(self) -> list[Position]:
        return [position_node(p) for p in self.dto.get("positions") or []]

    @strawberry.field(
        description="A 大党委's member units (共建单位), in the order they chair joint meetings; "
        "those outside your scope are left out"
    )
    async def units(self, info: Info) -> list[CoBuildingUnit]:
        return await _units(info, self.dto.get("unitIds"))

    @strawberry.field(description="软弱涣散 risk: no organisational life for the configured period")
    def weak(self) -> bool:
        return bool(self.dto.get("weak"))

    last_life_at: datetime | None = from_dto(
        convert=when, description="When its latest organisational life (三会一课) was held"
    )
    created_at: datetime | None = from_dto(convert=when)
    updated_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")

    @strawberry.field(description="Members whose organisation this is")
    async def members(
        self, info: Info, first: int | None = None, after: str | None = None, category: MemberCategory | None = None
    ) -> PartyMemberConnection:
        fields = {"organizationId": self.dto["id"], "category": value_of(category)}
        page = await orgs(info).list_members(listing(oc.ListMembers, fields, first, after))
        return connection(page, member_node)

    @strawberry.field(description="The organisations one level down")
    async def children(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> PartyOrganizationConnection:
        page = await orgs(info).list_orgs(listing(oc.ListOrganizations, {"parentId": self.dto["id"]}, first, after))
        return connection(page, org_node)

    @strawberry.field(description="A 大党委's joint meetings (联席会议)")
    async def meetings(self, info: Info, first: int | None = None, after: str | None = None) -> JointMeetingConnection:
        page = await orgs(info).list_meetings(listing(oc.ListMeetings, {"committeeId": self.dto["id"]}, first, after))
        return connection(page, meeting_node)

    @strawberry.field(description="Its organisational life (三会一课, 主题党日)")
    async def life(self, info: Info, first: int | None = None, after: str | None = None) -> LifeRecordConnection:
        page = await orgs(info).list_life(listing(oc.ListLife, {"organizationId": self.dto["id"]}, first, after))
        return connection(page, life_node)

    # committees: branches outside the territorial chain (机关, 企业, 两新, 物业, 商圈)
    @strawberry.field(description="On the street→building chain; false for AGENCY … MARKET branches")
    def territorial(self) -> bool:
        return self.dto.get("territorial", True) is not False

    @strawberry.field(description="The unit a branch outside the territorial chain is anchored to")
    async def unit(self, info: Info) -> CoBuildingUnit | None:
        return await _unit(info, self.dto.get("unitId"))

    @strawberry.field(description="A branch outside the chain: its members with an active 双报到")
    def dual_registered_count(self) -> int:
        return int(self.dto.get("dualRegistered") or 0)

    last_service_at: datetime | None = from_dto(
        convert=when, description="A branch outside the chain: its latest 双报到 or service delivered"
    )

    @strawberry.field(description="空转: a branch outside the chain without 双报到 or service for the period")
    def idle(self) -> bool:
        return bool(self.dto.get("idle"))


def org_node(dto: dict) -> PartyOrganization:
    return PartyOrganization(dto=dto)


PartyOrganizationConnection = Connection[PartyOrganization]


# --- members ------------------------------------------------------------------------------------------------


@strawberry.type(description="双报到: an in-service member also registered with the community where they live")
class DualRegistration:
    community_id: strawberry.Private[str]
    registered_at: datetime | None
    ended_at: datetime | None
    active: bool

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.community_id)


@dto_type(
    description="A party member (党员). `phone` and `idNumber` are masked except to the member "
    "themself; admins use revealPartyMemberContact (audited)"
)
class PartyMember(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    name: str = from_dto()
    gender: Gender = from_dto()
    birth_date: date | None = from_dto(convert=day)
    join_date: date | None = from_dto(convert=day, description="入党日期")
    phone: str | None = from_dto(description="Masked (138****5678) except to the member themself")
    id_number: str | None = from_dto(description="身份证号, masked (110***********1234) except to the member themself")
    category: MemberCategory = from_dto()

    @strawberry.field(description="The organisation holding their membership (组织关系)")
    async def organization(self, info: Info) -> PartyOrganization | None:
        return await _org(info, self.dto.get("organizationId"))

    @strawberry.field(description="The BUILDING they live in")
    async def home_building(self, info: Info) -> Region | None:
        return await optional_region(info, self.dto.get("homeBuildingId"))

    status: MemberStatus = from_dto()

    @strawberry.field(description="The open membership transfer, while TRANSFERRING")
    def open_transfer_id(self) -> strawberry.ID | None:
        value = self.dto.get("openTransferId")
        return strawberry.ID(value) if value else None

    @strawberry.field(description="双报到 with a community; kept after it ends (active: false)")
    def dual_registration(self) -> DualRegistration | None:
        d = self.dto.get("dualRegistration")
        return (
            DualRegistration(
                community_id=d["communityId"],
                registered_at=when(d.get("registeredAt")),
                ended_at=when(d.get("endedAt")),
                active=bool(d.get("active")),
            )
            if d
            else None
        )

    registered_at: datetime | None = from_dto(convert=when)
    updated_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")

    # links: 党员联户
    @strawberry.field(
        description="Households (not moved out) this member looks after (党员联户), those the caller may read"
    )
    async def linked_households(self, info: Info) -> list[HouseholdRef]:
        from gateway.schema.households import household_node  # the lazy edge's module imports this one

        ids = (await load_member_links(info, self.dto["id"]))["householdIds"]
        loader = ctx(info).loaders.household_by_id
        results = await asyncio.gather(*(loader.load(i) for i in ids), return_exceptions=True)
        out = []
        for r in results:
            if isinstance(r, Unavailable) or (isinstance(r, BaseException) and not isinstance(r, DomainError)):
                raise r
            if isinstance(r, dict):
                out.append(household_node(r))
        return out

    @strawberry.field(description="Households (not moved out) this member looks after (党员联户)")
    async def linked_household_count(self, info: Info) -> int:
        return len((await load_member_links(info, self.dto["id"]))["householdIds"])

    @strawberry.field(description="Visits (走访) this member recorded")
    async def visit_count(self, info: Info) -> int:
        return int((await load_member_links(info, self.dto["id"]))["visitCount"])


def member_node(dto: dict) -> PartyMember:
    return PartyMember(dto=dto)


PartyMemberConnection = Connection[PartyMember]


@strawberry.type(description="A member's contact unmasked; the reveal is audited (MEMBER_CONTACT_REVEALED)")
class MemberContact:
    phone: str | None
    id_number: str | None


@dto_type(
    description="组织关系转接: a member's membership moving to another organisation; the receiving "
    "side approves or rejects before the deadline"
)
class MembershipTransfer(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field
    async def member(self, info: Info) -> PartyMember | None:
        return await _member(info, self.dto["memberId"])

    @strawberry.field
    async def from_organization(self, info: Info) -> PartyOrganization | None:
        return await _org(info, self.dto.get("fromOrganizationId"))

    @strawberry.field
    async def to_organization(self, info: Info) -> PartyOrganization | None:
        return await _org(info, self.dto.get("toOrganizationId"))

    status: TransferStatus = from_dto()
    reason: str = from_dto(default="")
    requested_at: datetime | None = from_dto(convert=when)
    deadline_at: datetime | None = from_dto(convert=when, description="The receiving side decides by then")
    decided_at: datetime | None = from_dto(convert=when)
    decision_note: str | None = from_dto(description="Why it was rejected or cancelled, or the approver's note")

    @strawberry.field(description="Still REQUESTED past its deadline")
    def overdue(self) -> bool:
        return bool(self.dto.get("overdue"))

    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


def transfer_node(dto: dict) -> MembershipTransfer:
    return MembershipTransfer(dto=dto)


MembershipTransferConnection = Connection[MembershipTransfer]


# --- co-building units ------------------------------------------------------------------------------------


@dto_type(description="单位报到: an employer's party branch, from outside, twinned with a community")
class UnitTwinning:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field(description="The employer's branch")
    async def branch(self, info: Info) -> PartyOrganization | None:
        return await _org(info, self.dto["branchId"])

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    registered_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int)


def twinning_node(dto: dict) -> UnitTwinning:
    return UnitTwinning(dto=dto)


UnitTwinningConnection = Connection[UnitTwinning]


@strawberry.type(description="A contact person of a unit; `phone` is masked except to those who manage the unit")
class UnitContact:
    name: str
    title: str
    phone: str | None


@dto_type(
    description="共建单位: an agency, enterprise, school, social organisation, property company or "
    "owners' committee that co-builds with a community; may sit on its 大党委"
)
class CoBuildingUnit(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    name: str = from_dto()
    kind: UnitKind = from_dto()

    @strawberry.field
    def contacts(self) -> list[UnitContact]:
        return [
            UnitContact(name=c["name"], title=c.get("title") or "", phone=c.get("phone"))
            for c in self.dto.get("contacts") or []
        ]

    @strawberry.field(description="Where the unit is")
    async def region(self, info: Info) -> Region:
        return await required_region(info, self.dto["regionId"])

    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


def unit_node(dto: dict) -> CoBuildingUnit:
    return CoBuildingUnit(dto=dto)


CoBuildingUnitConnection = Connection[CoBuildingUnit]


@dto_type(
    description="三方联动 of a residential estate (小区): the community's 大党委, the property company "
    "and the owners' committee"
)
class Linkage:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    estate: str = from_dto(description="小区 name")

    @strawberry.field
    async def committee(self, info: Info) -> PartyOrganization | None:
        return await _org(info, self.dto["committeeId"])

    @strawberry.field
    async def community(self, info: Info) -> Region | None:
        return await optional_region(info, self.dto.get("communityId"))

    @strawberry.field(description="物业公司")
    async def property_company(self, info: Info) -> CoBuildingUnit | None:
        return await _unit(info, self.dto["propertyCompanyId"])

    @strawberry.field(description="业主委员会")
    async def owners_committee(self, info: Info) -> CoBuildingUnit | None:
        return await _unit(info, self.dto["ownersCommitteeId"])

    @strawberry.field(description="committees: the estate's owners' committee record (红色业委会), when it has one")
    async def owners_committee_record(self, info: Info) -> OwnersCommitteeRef | None:
        from gateway.schema.committees import OwnersCommittee  # the lazy edge's module imports this one

        record_id = self.dto.get("ownersCommitteeRecordId")
        dto = await orgs(info).get_owners_committee(ById(id=record_id)) if record_id else None
        return OwnersCommittee(dto=dto) if dto else None

    version: int = from_dto(convert=int)


def linkage_node(dto: dict) -> Linkage:
    return Linkage(dto=dto)


LinkageConnection = Connection[Linkage]


# --- joint meetings -----------------------------------------------------------------------------------------


async def _cases(info: Info, ids: list[str], first: int | None) -> list[Case]:
    """Cases by id in one batch, those outside the caller's scope left out."""

    n = min(first or 20, 100)
    loaded = await ctx(info).loaders.case_by_id.load_many(ids[:n])
    return [Case(dto=dto) for dto in loaded if isinstance(dto, dict)]


@strawberry.type(description="The grid × category cluster a CASE_HOTSPOT agenda item was raised from")
class RaisedHotspot:
    category_code: str
    since: datetime
    until: datetime
    count: int = strawberry.field(description="Cases in the cluster when it was raised")
    grid_id: strawberry.Private[str]

    @strawberry.field
    async def grid(self, info: Info) -> Region | None:
        return await optional_region(info, self.grid_id)


@strawberry.type(description="A topic put on a joint meeting's agenda")
class AgendaItem:
    id: strawberry.ID
    source: AgendaSource
    ref: str = strawberry.field(description="A unit id (UNIT), a resident reference or a case hotspot id")
    title: str
    case_ids: list[strawberry.ID] = strawberry.field(description="A raised hotspot's cases, newest first")
    hotspot: RaisedHotspot | None

    @strawberry.field(description="A raised hotspot's cases (in your scope), newest first")
    async def cases(self, info: Info, first: int | None = 20) -> list[Case]:
        return await _cases(info, [str(i) for i in self.case_ids], first)


def agenda_node(a: dict) -> AgendaItem:
    h = a.get("hotspot")
    return AgendaItem(
        id=strawberry.ID(a["id"]),
        source=AgendaSource(a["source"]),
        ref=a["ref"],
        title=a["title"],
        case_ids=[strawberry.ID(i) for i in a.get("caseIds") or []],
        hotspot=RaisedHotspot(
            category_code=h["categoryCode"],
            since=when(h["since"]),
            until=when(h["until"]),
            count=int(h["count"]),
            grid_id=h["gridId"],
        )
        if h
        else None,
    )


@strawberry.type(description="A task of a resolution; it may be turned into a case (事件) of a grid")
class ActionItem:
    id: strawberry.ID
    title: str
    case_requested: bool = strawberry.field(description="A case was asked for (createCaseFromActionItem)")
    category_code: str | None = strawberry.field(description="The catalogue code the case was asked with")
    case_id: strawberry.ID | None = strawberry.field(description="Set once the cases service created the case")
    case_status: CaseStatus | None = strawberry.field(description="The case's status as last heard")
    grid_id: strawberry.Private[str | None]

    @strawberry.field(description="The grid the case was asked for")
    async def grid(self, info: Info) -> Region | None:
        return await optional_region(info, self.grid_id)

    @strawberry.field(description="The case, once created")
    async def case(self, info: Info) -> Case | None:
        if not self.case_id:
            return None

        dto = await load_case(info, str(self.case_id))
        return Case(dto=dto) if dto else None


@strawberry.type(description="A decision of a joint meeting, with its action items")
class Resolution:
    id: strawberry.ID
    text: str
    items: list[ActionItem]
    agenda_item_ids: list[strawberry.ID] = strawberry.field(description="The agenda items it settles")
    case_ids: list[strawberry.ID] = strawberry.field(
        description="The cases of those items (a raised hotspot's): the link back from the decision to the cases"
    )

    @strawberry.field(description="The cases it settles (in your scope)")
    async def cases(self, info: Info, first: int | None = 20) -> list[Case]:
        return await _cases(info, [str(i) for i in self.case_ids], first)


def resolution_node(d: dict) -> Resolution:
    return Resolution(
        id=strawberry.ID(d["id"]),
        text=d["text"],
        agenda_item_ids=[strawberry.ID(i) for i in d.get("agendaItemIds") or []],
        case_ids=[strawberry.ID(i) for i in d.get("caseIds") or []],
        items=[
            ActionItem(
                id=strawberry.ID(i["id"]),
                title=i["title"],
                case_requested=bool(i.get("caseRequested")),
                category_code=i.get("categoryCode"),
                case_id=strawberry.ID(i["caseId"]) if i.get("caseId") else None,
                case_status=CaseStatus(i["caseStatus"]) if i.get("caseStatus") else None,
                grid_id=i.get("gridId"),
            )
            for i in d.get("items") or []
        ],
    )


@dto_type(
    description="联席会议 of a 大党委 with its member units; the chair rotates through the units in "
    "order, passing over those unavailable"
)
class JointMeeting(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    # evidence
    @strawberry.field(description="Photos, videos, documents and recordings, in upload order")
    def attachments(self) -> list[Attachment]:
        return attachment_nodes(self.dto.get("attachments"))

    @strawberry.field(description="The 大党委 (COMMUNITY_COMMITTEE) holding it")
    async def committee(self, info: Info) -> PartyOrganization | None:
        return await _org(info, self.dto["committeeId"])

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    scheduled_at: datetime = from_dto(convert=when)

    @strawberry.field(description="The member units when it was scheduled, in rotation order")
    async def units(self, info: Info) -> list[CoBuildingUnit]:
        return await _units(info, self.dto.get("unitIds"))

    @strawberry.field(description="The unit chairing (轮值主持)")
    async def chair_unit(self, info: Info) -> CoBuildingUnit | None:
        return await _unit(info, self.dto.get("chairUnitId"))

    @strawberry.field(description="Units passed over for the chair because unavailable, in order")
    async def skipped_units(self, info: Info) -> list[CoBuildingUnit]:
        return await _units(info, self.dto.get("skippedUnitIds"))

    @strawberry.field
    def agenda(self) -> list[AgendaItem]:
        return [agenda_node(a) for a in self.dto.get("agenda") or []]

    held_at: datetime | None = from_dto(convert=when, description="Set when the minutes were recorded")
    minutes: str = from_dto(default="")

    @strawberry.field
    async def attended_units(self, info: Info) -> list[CoBuildingUnit]:
        return await _units(info, self.dto.get("attendedUnitIds"))

    @strawberry.field(description="Party member ids present")
    def attended_member_ids(self) -> list[strawberry.ID]:
        return [strawberry.ID(i) for i in self.dto.get("attendedMemberIds") or []]

    @strawberry.field
    def resolutions(self) -> list[Resolution]:
        return [resolution_node(r) for r in self.dto.get("resolutions") or []]

    updated_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


def meeting_node(dto: dict) -> JointMeeting:
    return JointMeeting(dto=dto)


JointMeetingConnection = Connection[JointMeeting]


# --- organisational life ------------------------------------------------------------------------------------


@dto_type(description="组织生活: one 三会一课 meeting or 主题党日 held by an organisation; it clears the weak flag")
class LifeRecord:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field
    async def organization(self, info: Info) -> PartyOrganization | None:
        return await _org(info, self.dto["organizationId"])

    kind: LifeKind = from_dto()
    held_at: datetime = from_dto(convert=when)
    topic: str = from_dto()

    @strawberry.field(description="Party member ids present")
    def attendance(self) -> list[strawberry.ID]:
        return [strawberry.ID(i) for i in self.dto.get("attendance") or []]

    @strawberry.field
    def attendance_count(self) -> int:
        return int(self.dto.get("attendanceCount") or len(self.dto.get("attendance") or []))

    minutes: str = from_dto(default="")


def life_node(dto: dict) -> LifeRecord:
    return LifeRecord(dto=dto)


LifeRecordConnection = Connection[LifeRecord]


# --- the three lists (三张清单) -----------------------------------------------------------------------------


@dto_type(description="需求清单: a need a community posts")
class Need:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    title: str = from_dto()
    description: str = from_dto(default="")
    status: NeedStatus = from_dto(default=NeedStatus.OPEN)  # three-lists matching
    category: ListCategory = from_dto(default=ListCategory.OTHER)
    version: int = from_dto(convert=int)


def need_node(dto: dict) -> Need:
    return Need(dto=dto)


NeedConnection = Connection[Need]


@dto_type(description="资源清单: a resource a co-building unit offers")
class UnitResource:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field
    async def unit(self, info: Info) -> CoBuildingUnit | None:
        return await _unit(info, self.dto["unitId"])

    @strawberry.field(description="Where the unit is")
    async def region(self, info: Info) -> Region:
        return await required_region(info, self.dto["regionId"])

    title: str = from_dto()
    description: str = from_dto(default="")
    category: ListCategory = from_dto(default=ListCategory.OTHER)  # three-lists matching
    version: int = from_dto(convert=int)


def resource_node(dto: dict) -> UnitResource:
    return UnitResource(dto=dto)


UnitResourceConnection = Connection[UnitResource]


@dto_type(description="项目清单: a project matching a community's need to a unit's resource")
class Project:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    need_id: strawberry.ID = from_dto()
    resource_id: strawberry.ID = from_dto()

    @strawberry.field(description="The community of the need")
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    title: str = from_dto()
    status: ProjectStatus = from_dto()
    category: ListCategory = from_dto(default=ListCategory.OTHER, description="The need's, when it was proposed")
    updated_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


def project_node(dto: dict) -> Project:
    return Project(dto=dto)


ProjectConnection = Connection[Project]


@dto_type(
    description="双报到 feedback: a member's service in one quarter, for their work unit; summed from "
    "volunteer and case records"
)
class MemberFeedback:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field
    async def member(self, info: Info) -> PartyMember | None:
        return await _member(info, self.dto["memberId"])

    quarter: str = from_dto(description="e.g. 2026Q1")

    @strawberry.field(description="Service hours in the quarter")
    def hours(self) -> float:
        return float(self.dto.get("hours") or 0)

    @strawberry.field(description="Services done in the quarter")
    def services(self) -> int:
        return int(self.dto.get("services") or 0)

    @strawberry.field(description="Where the service was done")
    async def community(self, info: Info) -> Region | None:
        return await optional_region(info, self.dto.get("communityId"))


def feedback_node(dto: dict) -> MemberFeedback:
    return MemberFeedback(dto=dto)


MemberFeedbackConnection = Connection[MemberFeedback]
