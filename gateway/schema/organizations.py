"""Organisations: queries and thin mutations. Each builds the service payload, calls `organizations`, wraps
the DTO; the service checks roles, scope and the rules of the party organisation tree and masks personal data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.common import Reader, command, connection, drop_none, listing, orgs, reader, value_of
from gateway.schema.enums import (
    AgendaSource,
    Gender,
    LifeKind,
    MemberCategory,
    PartyOrgType,
    PositionRole,
    ProjectStatus,
    TransferStatus,
    UnitKind,
)
from gateway.schema.loads import load_member, load_org, load_unit
from gateway.schema.org_types import (
    CoBuildingUnit,
    CoBuildingUnitConnection,
    JointMeeting,
    JointMeetingConnection,
    LifeRecord,
    LifeRecordConnection,
    Linkage,
    LinkageConnection,
    MemberContact,
    MemberFeedbackConnection,
    MembershipTransfer,
    MembershipTransferConnection,
    Need,
    NeedConnection,
    PartyMember,
    PartyMemberConnection,
    PartyOrganization,
    PartyOrganizationConnection,
    Project,
    ProjectConnection,
    UnitResource,
    UnitResourceConnection,
    UnitTwinning,
    UnitTwinningConnection,
    feedback_node,
    life_node,
    linkage_node,
    meeting_node,
    member_node,
    need_node,
    org_node,
    project_node,
    resource_node,
    transfer_node,
    twinning_node,
    unit_node,
)
from shared.contracts import organizations as oc
from shared.contracts.common import ById
from shared.vocabulary.resources import ListCategory  # three-lists matching

# --- inputs -------------------------------------------------------------------------------------------------


@strawberry.input(
    description="A new party organisation, anchored to a territory node of its type's level "
    "and placed under an organisation one level up"
)
class CreatePartyOrganizationInput:
    name: str
    type: PartyOrgType
    anchor_id: strawberry.ID = strawberry.field(
        description="TOWNSHIP for a 党工委, COMMUNITY for a 社区党委, GRID "
        "for a 网格党支部, BUILDING for a 党小组 or 中心户"
    )
    parent_id: strawberry.ID | None = strawberry.field(default=None, description="None only for a 街道党工委")
    household_member_id: strawberry.ID | None = strawberry.field(
        default=None, description="A CENTER_HOUSEHOLD's member"
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the first organisation"
    )
    unit_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="committees: the unit an AGENCY, ENTERPRISE, NEW_ECONOMIC, PROPERTY_COMPANY or MARKET "
        "branch is anchored to (outside the territorial chain: any region, no parent)",
    )


@strawberry.input(description="A leadership seat: a member (memberId) or a person from a co-building unit (unitId)")
class PositionInput:
    holder_name: str
    role: PositionRole
    term_start: date
    term_end: date | None = None
    member_id: strawberry.ID | None = None
    unit_id: strawberry.ID | None = strawberry.field(default=None, description="For a 大党委 兼职委员")


@strawberry.input
class RegisterPartyMemberInput:
    name: str
    gender: Gender
    birth_date: date
    join_date: date = strawberry.field(description="入党日期")
    category: MemberCategory
    organization_id: strawberry.ID
    phone: str | None = None
    id_number: str | None = strawberry.field(default=None, description="身份证号; stored encrypted")
    home_building_id: strawberry.ID | None = strawberry.field(default=None, description="The BUILDING they live in")
    idempotency_key: str | None = None


@strawberry.input(description="Fields left null are unchanged")
class UpdatePartyMemberInput:
    id: strawberry.ID
    category: MemberCategory | None = None
    home_building_id: strawberry.ID | None = None
    phone: str | None = None
    expected_version: int | None = None


@strawberry.input(description="组织关系转接 of a member to another organisation")
class RequestMembershipTransferInput:
    member_id: strawberry.ID
    to_organization_id: strawberry.ID
    reason: str = ""
    deadline_days: int | None = strawberry.field(default=None, description="1–365; default: the service's")


@strawberry.input
class UnitContactInput:
    name: str
    title: str = ""
    phone: str | None = None


@strawberry.input
class RegisterCoBuildingUnitInput:
    name: str
    kind: UnitKind
    region_id: strawberry.ID = strawberry.field(description="Where the unit is")
    contacts: list[UnitContactInput] = strawberry.field(default_factory=list)
    idempotency_key: str | None = None


@strawberry.input(description="三方联动 of an estate: the 大党委, its property company and owners' committee")
class RecordLinkageInput:
    estate: str
    committee_id: strawberry.ID
    property_company_id: strawberry.ID
    owners_committee_id: strawberry.ID
    owners_committee_record_id: strawberry.ID | None = strawberry.field(
        default=None, description="committees: the estate's owners' committee record (createOwnersCommittee)"
    )


@strawberry.input(description="A joint meeting of a 大党委; the chair is the next available unit in rotation")
class ScheduleJointMeetingInput:
    committee_id: strawberry.ID
    scheduled_at: datetime
    unavailable_unit_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Units that cannot chair this time: passed over"
    )
    idempotency_key: str | None = None


@strawberry.input
class AgendaItemInput:
    source: AgendaSource
    ref: str = strawberry.field(description="A unit id of the 大党委 (UNIT), a resident reference or a hotspot id")
    title: str


@strawberry.input
class MeetingMinutesInput:
    minutes: str
    attended_unit_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    attended_member_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input(description="三会一课 or 主题党日, recorded after it was held")
class RecordOrganizationalLifeInput:
    organization_id: strawberry.ID
    kind: LifeKind
    held_at: datetime
    topic: str
    attendance: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Party member ids", metadata={"max_items": 1000}
    )  # a large branch's members
    minutes: str = ""
    idempotency_key: str | None = None


def _contacts(contacts: list[UnitContactInput]) -> list[dict]:
    return [drop_none({"name": c.name, "title": c.title, "phone": c.phone}) for c in contacts]


# --- queries ------------------------------------------------------------------------------------------------


read_party_organization: Reader[PartyOrganization] = reader(load_org, org_node)


read_party_member: Reader[PartyMember] = reader(load_member, member_node)


read_membership_transfer: Reader[MembershipTransfer] = reader(
    lambda info, id: orgs(info).get_transfer(checked(ById, id=id)), transfer_node
)


read_co_building_unit: Reader[CoBuildingUnit] = reader(load_unit, unit_node)


read_joint_meeting: Reader[JointMeeting] = reader(
    lambda info, id: orgs(info).get_meeting(checked(ById, id=id)), meeting_node
)


@strawberry.type
class OrganizationsQuery:
    @strawberry.field
    async def party_organization(self, info: Info, id: strawberry.ID) -> PartyOrganization | None:
        return await read_party_organization(info, str(id))

    @strawberry.field(description="Party organisations in your scope; regionId: anchored in that subtree")
    async def party_organizations(
        self,
        info: Info,
        region_id: strawberry.ID | None = None,
        type: PartyOrgType | None = None,
        weak: Annotated[
            bool | None, strawberry.argument(description="Only those flagged 软弱涣散 risk (true) or not (false)")
        ] = None,
        first: int | None = None,
        after: str | None = None,
    ) -> PartyOrganizationConnection:
        page = await orgs(info).list_orgs(
            listing(oc.ListOrganizations, {"regionId": region_id, "type": value_of(type), "weak": weak}, first, after)
        )
        return connection(page, org_node)

    @strawberry.field
    async def party_member(self, info: Info, id: strawberry.ID) -> PartyMember | None:
        return await read_party_member(info, str(id))

    @strawberry.field(description="Members of one organisation, or of the organisations in a region's subtree")
    async def party_members(
        self,
        info: Info,
        organization_id: strawberry.ID | None = None,
        region_id: strawberry.ID | None = None,
        category: MemberCategory | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> PartyMemberConnection:
        page = await orgs(info).list_members(
            listing(
                oc.ListMembers,
                {"organizationId": organization_id, "regionId": region_id, "category": value_of(category)},
                first,
                after,
            )
        )
        return connection(page, member_node)

    @strawberry.field
    async def membership_transfer(self, info: Info, id: strawberry.ID) -> MembershipTransfer | None:
        return await read_membership_transfer(info, str(id))

    @strawberry.field(description="组织关系转接 with either side in the region, or of one member")
    async def membership_transfers(
        self,
        info: Info,
        region_id: strawberry.ID | None = None,
        member_id: strawberry.ID | None = None,
        status: TransferStatus | None = None,
        overdue: bool | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> MembershipTransferConnection:
        page = await orgs(info).list_transfers(
            listing(
                oc.ListTransfers,
                {"regionId": region_id, "memberId": member_id, "status": value_of(status), "overdue": overdue},
                first,
                after,
            )
        )
        return connection(page, transfer_node)

    @strawberry.field(description="Members with an active 双报到 registration with the community")
    async def dual_registrations(
        self, info: Info, community_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> PartyMemberConnection:
        page = await orgs(info).list_dual(listing(oc.ListDual, {"communityId": community_id}, first, after))
        return connection(page, member_node)

    @strawberry.field(description="单位报到: employers' branches twinned with the community")
    async def unit_twinnings(
        self, info: Info, community_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> UnitTwinningConnection:
        page = await orgs(info).list_twinnings(listing(oc.ListTwinnings, {"communityId": community_id}, first, after))
        return connection(page, twinning_node)

    @strawberry.field
    async def co_building_unit(self, info: Info, id: strawberry.ID) -> CoBuildingUnit | None:
        return await read_co_building_unit(info, str(id))

    @strawberry.field(description="共建单位 in a region, or those on one 大党委 (committeeId) in rotation order")
    async def co_building_units(
        self,
        info: Info,
        region_id: strawberry.ID | None = None,
        kind: UnitKind | None = None,
        committee_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> CoBuildingUnitConnection:
        page = await orgs(info).list_units(
            listing(
                oc.ListUnits, {"regionId": region_id, "kind": value_of(kind), "committeeId": committee_id}, first, after
            )
        )
        return connection(page, unit_node)

    @strawberry.field(description="三方联动 of the estates in a region")
    async def linkages(
        self, info: Info, region_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> LinkageConnection:
        page = await orgs(info).list_linkages(listing(oc.ListByRegion, {"regionId": region_id}, first, after))
        return connection(page, linkage_node)

    @strawberry.field
    async def joint_meeting(self, info: Info, id: strawberry.ID) -> JointMeeting | None:
        return await read_joint_meeting(info, str(id))

    @strawberry.field(description="联席会议 of one 大党委, or of the committees in a region")
    async def joint_meetings(
        self,
        info: Info,
        committee_id: strawberry.ID | None = None,
        region_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> JointMeetingConnection:
        page = await orgs(info).list_meetings(
            listing(oc.ListMeetings, {"committeeId": committee_id, "regionId": region_id}, first, after)
        )
        return connection(page, meeting_node)

    @strawberry.field(description="An organisation's 三会一课 and 主题党日")
    async def organizational_life(
        self, info: Info, organization_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> LifeRecordConnection:
        page = await orgs(info).list_life(listing(oc.ListLife, {"organizationId": organization_id}, first, after))
        return connection(page, life_node)

    @strawberry.field(description="需求清单 of the communities in a region")
    async def needs(
        self, info: Info, region_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> NeedConnection:
        page = await orgs(info).list_needs(listing(oc.ListByRegion, {"regionId": region_id}, first, after))
        return connection(page, need_node)

    @strawberry.field(description="资源清单 of the units in a region")
    async def unit_resources(
        self, info: Info, region_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> UnitResourceConnection:
        page = await orgs(info).list_resources(listing(oc.ListByRegion, {"regionId": region_id}, first, after))
        return connection(page, resource_node)

    @strawberry.field(description="项目清单 of the communities in a region")
    async def projects(
        self, info: Info, region_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> ProjectConnection:
        page = await orgs(info).list_projects(listing(oc.ListByRegion, {"regionId": region_id}, first, after))
        return connection(page, project_node)

    @strawberry.field(description="双报到 feedback per member and quarter, of one member or of the members in a region")
    async def member_feedback(
        self,
        info: Info,
        member_id: strawberry.ID | None = None,
        region_id: strawberry.ID | None = None,
        quarter: Annotated[str | None, strawberry.argument(description="e.g. 2026Q1")] = None,
        first: int | None = None,
        after: str | None = None,
    ) -> MemberFeedbackConnection:
        page = await orgs(info).list_feedback(
            listing(oc.ListFeedback, {"memberId": member_id, "regionId": region_id, "quarter": quarter}, first, after)
        )
        return connection(page, feedback_node)


Version = Annotated[
    int | None, strawberry.argument(description="Refuse with CONFLICT unless the record is still at this version")
]


# --- mutations ----------------------------------------------------------------------------------------------


@strawberry.type
class OrganizationsMutation:
    @strawberry.mutation(description="Create a party organisation in the tree")
    async def create_party_organization(self, info: Info, input: CreatePartyOrganizationInput) -> PartyOrganization:
        return org_node(
            await orgs(info).create_org(
                checked(
                    oc.CreateOrganization,
                    name=input.name,
                    type=input.type.value,
                    anchorId=input.anchor_id,
                    parentId=input.parent_id,
                    householdMemberId=input.household_member_id,
                    idempotencyKey=input.idempotency_key,
                    unitId=input.unit_id,  # committees
                )
            )
        )

    @strawberry.mutation(description="Rename an organisation")
    async def update_party_organization(
        self, info: Info, id: strawberry.ID, name: str, expected_version: Version = None
    ) -> PartyOrganization:
        return org_node(await orgs(info).update_org(command(oc.UpdateOrganization, id, expected_version, name=name)))

    @strawberry.mutation(description="Appoint a leadership seat (书记, 委员, 兼职委员 …)")
    async def appoint_position(
        self, info: Info, organization_id: strawberry.ID, input: PositionInput, expected_version: Version = None
    ) -> PartyOrganization:
        position = drop_none(
            {
                "holderName": input.holder_name,
                "memberId": input.member_id,
                "unitId": input.unit_id,
                "role": input.role.value,
                "termStart": input.term_start,
                "termEnd": input.term_end,
            }
        )
        return org_node(
            await orgs(info).appoint(command(oc.Appoint, organization_id, expected_version, position=position))
        )

    @strawberry.mutation(description="End a seat's term on a day")
    async def end_position(
        self,
        info: Info,
        organization_id: strawberry.ID,
        role: PositionRole,
        holder_name: str,
        end: date,
        expected_version: Version = None,
    ) -> PartyOrganization:
        return org_node(
            await orgs(info).end_position(
                command(
                    oc.EndPosition, organization_id, expected_version, role=role.value, holderName=holder_name, end=end
                )
            )
        )

    @strawberry.mutation(description="Put a co-building unit on a 大党委; it joins the end of the chair rotation")
    async def add_unit_to_committee(
        self, info: Info, committee_id: strawberry.ID, unit_id: strawberry.ID, expected_version: Version = None
    ) -> PartyOrganization:
        return org_node(
            await orgs(info).add_unit(command(oc.CommitteeUnit, committee_id, expected_version, unitId=unit_id))
        )

    @strawberry.mutation(description="Take a unit off a 大党委")
    async def remove_unit_from_committee(
        self, info: Info, committee_id: strawberry.ID, unit_id: strawberry.ID, expected_version: Version = None
    ) -> PartyOrganization:
        return org_node(
            await orgs(info).remove_unit(command(oc.CommitteeUnit, committee_id, expected_version, unitId=unit_id))
        )

    @strawberry.mutation(
        description="Register a party member with their organisation; phone and ID number are stored encrypted"
    )
    async def register_party_member(self, info: Info, input: RegisterPartyMemberInput) -> PartyMember:
        return member_node(
            await orgs(info).register_member(
                checked(
                    oc.RegisterMember,
                    name=input.name,
                    gender=input.gender.value,
                    birthDate=input.birth_date,
                    joinDate=input.join_date,
                    phone=input.phone,
                    idNumber=input.id_number,
                    category=input.category.value,
                    organizationId=input.organization_id,
                    homeBuildingId=input.home_building_id,
                    idempotencyKey=input.idempotency_key,
                )
            )
        )

    @strawberry.mutation(description="Change a member's category, home building or phone")
    async def update_party_member(self, info: Info, input: UpdatePartyMemberInput) -> PartyMember:
        return member_node(
            await orgs(info).update_member(
                command(
                    oc.UpdateMember,
                    input.id,
                    input.expected_version,
                    category=value_of(input.category),
                    homeBuildingId=input.home_building_id,
                    phone=input.phone,
                )
            )
        )

    @strawberry.mutation(
        description="Admins: a member's phone and ID number unmasked; audited (MEMBER_CONTACT_REVEALED)"
    )
    async def reveal_party_member_contact(self, info: Info, member_id: strawberry.ID, reason: str) -> MemberContact:
        d = await orgs(info).reveal_member_contact(checked(oc.RevealMember, memberId=member_id, reason=reason))
        return MemberContact(phone=d.get("phone"), id_number=d.get("idNumber"))

    @strawberry.mutation(
        description="组织关系转接: ask to move a member to another organisation; the member is "
        "TRANSFERRING until the receiving side decides"
    )
    async def request_membership_transfer(
        self, info: Info, input: RequestMembershipTransferInput
    ) -> MembershipTransfer:
        return transfer_node(
            await orgs(info).request_transfer(
                checked(
                    oc.RequestTransfer,
                    memberId=input.member_id,
                    toOrganizationId=input.to_organization_id,
                    reason=input.reason,
                    deadlineDays=input.deadline_days,
                )
            )
        )

    @strawberry.mutation(description="The receiving side accepts: the member moves to it")
    async def approve_membership_transfer(
        self, info: Info, id: strawberry.ID, expected_version: Version = None
    ) -> MembershipTransfer:
        return transfer_node(await orgs(info).approve_transfer(command(oc.DecideTransfer, id, expected_version)))

    @strawberry.mutation(description="The receiving side refuses, with the reason; the member stays")
    async def reject_membership_transfer(
        self, info: Info, id: strawberry.ID, reason: str, expected_version: Version = None
    ) -> MembershipTransfer:
        return transfer_node(
            await orgs(info).reject_transfer(command(oc.DecideTransfer, id, expected_version, reason=reason))
        )

    @strawberry.mutation(description="The sending side withdraws the request")
    async def cancel_membership_transfer(
        self, info: Info, id: strawberry.ID, reason: str = "", expected_version: Version = None
    ) -> MembershipTransfer:
        return transfer_node(
            await orgs(info).cancel_transfer(command(oc.DecideTransfer, id, expected_version, reason=reason))
        )

    @strawberry.mutation(description="双报到: an in-service member registers with the community where they live")
    async def dual_register(self, info: Info, member_id: strawberry.ID, community_id: strawberry.ID) -> PartyMember:
        return member_node(
            await orgs(info).dual_register(checked(oc.DualRegister, memberId=member_id, communityId=community_id))
        )

    @strawberry.mutation(description="End a member's 双报到 registration, with the reason")
    async def end_dual_registration(self, info: Info, member_id: strawberry.ID, reason: str) -> PartyMember:
        return member_node(await orgs(info).end_dual(checked(oc.EndDual, memberId=member_id, reason=reason)))

    @strawberry.mutation(description="单位报到: twin an employer's branch (from outside) with a community")
    async def twin_unit_with_community(
        self, info: Info, branch_id: strawberry.ID, community_id: strawberry.ID
    ) -> UnitTwinning:
        return twinning_node(
            await orgs(info).twin_unit(checked(oc.TwinUnit, branchId=branch_id, communityId=community_id))
        )

    @strawberry.mutation(description="Register a co-building unit (共建单位)")
    async def register_co_building_unit(self, info: Info, input: RegisterCoBuildingUnitInput) -> CoBuildingUnit:
        return unit_node(
            await orgs(info).register_unit(
                checked(
                    oc.RegisterUnit,
                    name=input.name,
                    kind=input.kind.value,
                    regionId=input.region_id,
                    contacts=_contacts(input.contacts),
                    idempotencyKey=input.idempotency_key,
                )
            )
        )

    @strawberry.mutation(description="Replace a unit's contact people")
    async def update_co_building_unit_contacts(
        self, info: Info, id: strawberry.ID, contacts: list[UnitContactInput], expected_version: Version = None
    ) -> CoBuildingUnit:
        return unit_node(
            await orgs(info).update_unit(command(oc.UpdateUnit, id, expected_version, contacts=_contacts(contacts)))
        )

    @strawberry.mutation(description="Record an estate's 三方联动 (大党委, property company, owners' committee)")
    async def record_linkage(self, info: Info, input: RecordLinkageInput) -> Linkage:
        return linkage_node(
            await orgs(info).record_linkage(
                checked(
                    oc.RecordLinkage,
                    estate=input.estate,
                    committeeId=input.committee_id,
                    propertyCompanyId=input.property_company_id,
                    ownersCommitteeId=input.owners_committee_id,
                    ownersCommitteeRecordId=input.owners_committee_record_id,  # committees
                )
            )
        )

    @strawberry.mutation(description="Schedule a 联席会议; the chair rotates to the next available member unit")
    async def schedule_joint_meeting(self, info: Info, input: ScheduleJointMeetingInput) -> JointMeeting:
        return meeting_node(
            await orgs(info).schedule_meeting(
                checked(
                    oc.ScheduleMeeting,
                    committeeId=input.committee_id,
                    scheduledAt=input.scheduled_at,
                    unavailableUnitIds=[str(u) for u in input.unavailable_unit_ids],
                    idempotencyKey=input.idempotency_key,
                )
            )
        )

    @strawberry.mutation(description="Put a topic on a meeting's agenda")
    async def add_agenda_item(
        self, info: Info, meeting_id: strawberry.ID, input: AgendaItemInput, expected_version: Version = None
    ) -> JointMeeting:
        return meeting_node(
            await orgs(info).add_agenda_item(
                command(
                    oc.AgendaInput,
                    meeting_id,
                    expected_version,
                    source=input.source.value,
                    ref=input.ref,
                    title=input.title,
                )
            )
        )

    @strawberry.mutation(description="Record that the meeting was held: minutes and who attended")
    async def record_meeting_minutes(
        self, info: Info, meeting_id: strawberry.ID, input: MeetingMinutesInput, expected_version: Version = None
    ) -> JointMeeting:
        return meeting_node(
            await orgs(info).record_minutes(
                command(
                    oc.MinutesInput,
                    meeting_id,
                    expected_version,
                    minutes=input.minutes,
                    attendedUnitIds=[str(u) for u in input.attended_unit_ids],
                    attendedMemberIds=[str(m) for m in input.attended_member_ids],
                )
            )
        )

    @strawberry.mutation(
        description="Add a resolution, each action item a short title; name the agenda items it "
        "settles (a raised hotspot's) to link it back to their cases"
    )
    async def add_resolution(
        self,
        info: Info,
        meeting_id: strawberry.ID,
        text: str,
        action_items: list[str] | None = None,
        agenda_item_ids: list[strawberry.ID] | None = None,
        expected_version: Version = None,
    ) -> JointMeeting:
        return meeting_node(
            await orgs(info).add_resolution(
                command(
                    oc.ResolutionInput,
                    meeting_id,
                    expected_version,
                    text=text,
                    actionItems=list(action_items or []),
                    agendaItemIds=[str(i) for i in agenda_item_ids or []],
                )
            )
        )

    @strawberry.mutation(
        description="Turn an action item into a case (channel JOINT_MEETING) of a grid of the "
        "community; the item shows the case once the cases service created it"
    )
    async def create_case_from_action_item(
        self,
        info: Info,
        meeting_id: strawberry.ID,
        item_id: strawberry.ID,
        category_code: str,
        grid_id: strawberry.ID,
        description: str = "",
        expected_version: Version = None,
    ) -> JointMeeting:
        return meeting_node(
            await orgs(info).request_case(
                command(
                    oc.CaseFromItem,
                    meeting_id,
                    expected_version,
                    itemId=item_id,
                    categoryCode=category_code,
                    gridId=grid_id,
                    description=description,
                )
            )
        )

    @strawberry.mutation(description="Record 三会一课 or 主题党日 held by an organisation; clears its weak flag")
    async def record_organizational_life(self, info: Info, input: RecordOrganizationalLifeInput) -> LifeRecord:
        return life_node(
            await orgs(info).record_life(
                checked(
                    oc.RecordLife,
                    organizationId=input.organization_id,
                    kind=input.kind.value,
                    heldAt=input.held_at,
                    topic=input.topic,
                    attendance=[str(a) for a in input.attendance],
                    minutes=input.minutes,
                    idempotencyKey=input.idempotency_key,
                )
            )
        )

    @strawberry.mutation(description="需求清单: a community posts a need")
    async def post_need(
        self,
        info: Info,
        community_id: strawberry.ID,
        title: str,
        description: str = "",
        category: ListCategory | None = None,
    ) -> Need:
        return need_node(
            await orgs(info).post_need(
                checked(
                    oc.PostNeed,
                    communityId=community_id,
                    title=title,
                    description=description,
                    category=value_of(category),
                )
            )
        )

    @strawberry.mutation(description="资源清单: a unit offers a resource")
    async def offer_resource(
        self,
        info: Info,
        unit_id: strawberry.ID,
        title: str,
        description: str = "",
        category: ListCategory | None = None,
    ) -> UnitResource:
        return resource_node(
            await orgs(info).offer_resource(
                checked(
                    oc.OfferResource,
                    unitId=unit_id,
                    title=title,
                    description=description,
                    category=value_of(category),
                )
            )
        )

    @strawberry.mutation(description="项目清单: propose a project matching a need to a resource")
    async def propose_project(
        self, info: Info, need_id: strawberry.ID, resource_id: strawberry.ID, title: str
    ) -> Project:
        return project_node(
            await orgs(info).propose_project(
                checked(oc.ProposeProject, needId=need_id, resourceId=resource_id, title=title)
            )
        )

    @strawberry.mutation(description="Move a project: PROPOSED → AGREED → IN_PROGRESS → DONE, or CANCELLED")
    async def update_project_status(
        self, info: Info, id: strawberry.ID, status: ProjectStatus, note: str = "", expected_version: Version = None
    ) -> Project:
        return project_node(
            await orgs(info).move_project(command(oc.MoveProject, id, expected_version, status=status.value, note=note))
        )
