"""红色业委会 (owners' committees filed, vetted and elected under the party organisation), the 居委会,
三方联动 meetings whose items become cases or proposals, and 单位报到 of units with communities.
Thin: each mutation checks its input against the service's model and calls `organizations`; the
service checks roles, scope and rules, and masks candidates' phones and ID numbers."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.case_types import Case
from gateway.schema.common import Connection, connection, ctx, dto_type, from_dto, graphql_enum, listing, orgs, when
from gateway.schema.common import day as to_day
from gateway.schema.loads import load_case, load_member, load_org, load_unit
from gateway.schema.org_types import CoBuildingUnit, PartyMember, PartyOrganization
from gateway.schema.territory import Region, optional_region, required_region
from shared.contracts import committees as cm
from shared.contracts.common import ById
from shared.vocabulary.committees import MeetingSide, OwnersCommitteeStatus, QualificationCheck

graphql_enum(
    QualificationCheck,
    description="资格审查: what a candidate for an owners' committee is checked on",
    values={
        "PARTY_MEMBERSHIP": "党员身份, against the member records (the candidate is named as a member)",
        "NO_ARREARS": "无欠缴物业费",
        "RESIDENCY": "本小区业主 / 常住",
    },
)
graphql_enum(OwnersCommitteeStatus, description="PROPOSED (filed, vetting) → IN_OFFICE (elected) → TERM_ENDED")
graphql_enum(MeetingSide, name="ThreePartySide", description="Who an attendee of a 三方联动 meeting speaks for")


# --- types --------------------------------------------------------------------------------------------------


@strawberry.type(description="One qualification check of a candidate: outcome, who checked and a note")
class CandidateCheck:
    check: QualificationCheck
    passed: bool
    checked_by: str
    note: str
    at: datetime


@dto_type(description="A candidate for an owners' committee; phone and ID number come back masked")
class CommitteeCandidate:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    name: str = from_dto()
    phone: str | None = from_dto()
    id_number: str | None = from_dto()
    qualified: bool = from_dto(description="NO_ARREARS and RESIDENCY passed, PARTY_MEMBERSHIP recorded")
    party_member: bool = from_dto(description="Party membership checked and passed")
    elected: bool = from_dto()
    missing: list[str] = from_dto(description="The checks that keep the candidate from being qualified")

    @strawberry.field(description="The party member record, when the candidate is named as one")
    async def member(self, info: Info) -> PartyMember | None:
        member_id = self.dto.get("memberId")
        dto = await load_member(info, member_id) if member_id else None
        return PartyMember(dto=dto) if dto else None

    @strawberry.field
    def checks(self) -> list[CandidateCheck]:
        return [
            CandidateCheck(
                check=QualificationCheck(c["check"]),
                passed=c["passed"],
                checked_by=c["checkedBy"],
                note=c.get("note") or "",
                at=when(c["at"]),
            )
            for c in self.dto.get("checks") or []
        ]


@dto_type(
    description="业主委员会 of an estate (小区), filed by the community's party organisation; red (红色业委会) "
    "when party members hold seats"
)
class OwnersCommittee:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    estate: str = from_dto(description="小区 name")
    seats: int = from_dto(description="The proposed structure: seats (结构建议)")
    status: OwnersCommitteeStatus = from_dto(convert=OwnersCommitteeStatus)
    filed_on: date = from_dto(convert=to_day, description="备案 date")
    term_start: date | None = from_dto(convert=to_day)
    term_end: date | None = from_dto(convert=to_day)
    party_seats: int = from_dto(description="Seats held by party members")
    party_share: float | None = from_dto(description="partySeats / seats held; null before the election")
    red: bool = from_dto(description="In office with party members holding seats")
    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    @strawberry.field(description="The estate's buildings")
    async def buildings(self, info: Info) -> list[Region]:
        out = [await optional_region(info, b) for b in self.dto.get("buildingIds") or []]
        return [r for r in out if r is not None]

    @strawberry.field(description="The party organisation that filed it (备案)")
    async def filed_by(self, info: Info) -> PartyOrganization | None:
        dto = await load_org(info, self.dto["filedByOrgId"])
        return PartyOrganization(dto=dto) if dto else None

    @strawberry.field(
        description="物业纠纷 of the estate: property disputes and complaints filed on its buildings (cases "
        "of the categories DISPUTE_PROPERTY, PROPERTY_SERVICE, PROPERTY_FACILITY that name a building)"
    )
    async def property_disputes(self, info: Info) -> EstateDisputes:
        loader = ctx(info).loaders.case_stats_by_region
        stats = await asyncio.gather(*(loader.load(b) for b in self.dto.get("buildingIds") or []))
        return EstateDisputes(
            total=sum(int((x or {}).get("propertyDisputes") or 0) for x in stats),
            open=sum(int((x or {}).get("openPropertyDisputes") or 0) for x in stats),
        )

    @strawberry.field(description="Candidates in the order proposed, with their checks")
    def candidates(self) -> list[CommitteeCandidate]:
        return [CommitteeCandidate(dto=c) for c in self.dto.get("candidates") or []]

    @strawberry.field(description="The elected members (candidates holding seats)")
    def members(self) -> list[CommitteeCandidate]:
        return [CommitteeCandidate(dto=c) for c in self.dto.get("candidates") or [] if c.get("elected")]


OwnersCommitteeConnection = Connection[OwnersCommittee]


@strawberry.type(description="Property disputes (物业纠纷) of one estate, from the case figures of its buildings")
class EstateDisputes:
    total: int = strawberry.field(description="Filed on the estate's buildings, merged duplicates not counted")
    open: int = strawberry.field(description="Of those, with work outstanding")


@strawberry.type(description="A member of a residents' committee and their role (主任, 副主任, 委员…)")
class ResidentsCommitteeMember:
    name: str
    role: str


@dto_type(description="居委会: a community's residents' committee")
class ResidentsCommittee:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    name: str = from_dto()
    term_start: date = from_dto(convert=to_day)
    term_end: date | None = from_dto(convert=to_day)
    version: int = from_dto(convert=int)

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    @strawberry.field
    def members(self) -> list[ResidentsCommitteeMember]:
        return [ResidentsCommitteeMember(name=m["name"], role=m["role"]) for m in self.dto.get("members") or []]


@strawberry.type
class ThreePartyAttendee:
    name: str
    side: MeetingSide


@dto_type(description="An item of a 三方联动 meeting: it may become a case, or be put forward as a proposal")
class ThreePartyItem:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    title: str = from_dto()
    case_requested: bool = from_dto()
    category_code: str | None = from_dto()
    case_status: str | None = from_dto()
    proposal_requested: bool = from_dto(description="Put forward as a proposal (一征三议)")
    proposal_ref: str | None = from_dto(description="The proposal, once deliberation takes it up")

    @strawberry.field(description="The case it became (channel JOINT_MEETING), once `cases` created it")
    async def case(self, info: Info) -> Case | None:
        case_id = self.dto.get("caseId")
        dto = await load_case(info, case_id) if case_id else None
        return Case(dto=dto) if dto else None

    @strawberry.field(description="The grid its case is reported in")
    async def grid(self, info: Info) -> Region | None:
        return await optional_region(info, self.dto.get("gridId"))


@dto_type(description="三方联动 meeting of an estate: 居委会 + 物业 + 业委会, with minutes and items")
class ThreePartyMeeting:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    estate: str = from_dto()
    held_at: datetime = from_dto(convert=when)
    minutes: str = from_dto()
    version: int = from_dto(convert=int)

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    @strawberry.field(description="业委会")
    async def owners_committee(self, info: Info) -> OwnersCommittee | None:
        dto = await orgs(info).get_owners_committee(checked(ById, id=self.dto["ownersCommitteeId"]))
        return OwnersCommittee(dto=dto) if dto else None

    @strawberry.field(description="物业")
    async def property_company(self, info: Info) -> CoBuildingUnit | None:
        dto = await load_unit(info, self.dto["propertyCompanyId"])
        return CoBuildingUnit(dto=dto) if dto else None

    @strawberry.field
    def attendees(self) -> list[ThreePartyAttendee]:
        return [ThreePartyAttendee(name=a["name"], side=MeetingSide(a["side"])) for a in self.dto["attendees"]]

    @strawberry.field
    def items(self) -> list[ThreePartyItem]:
        return [ThreePartyItem(dto=i) for i in self.dto.get("items") or []]


ThreePartyMeetingConnection = Connection[ThreePartyMeeting]


@strawberry.type(description="A service a registered unit delivered to the community")
class UnitServiceRecord:
    what: str
    at: datetime


@dto_type(description="单位报到: a unit registered with a community, its commitments and the services delivered")
class UnitCommunityRegistration:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    commitments: list[str] = from_dto()
    registered_at: datetime = from_dto(convert=when)
    version: int = from_dto(convert=int)

    @strawberry.field
    async def unit(self, info: Info) -> CoBuildingUnit | None:
        dto = await load_unit(info, self.dto["unitId"])
        return CoBuildingUnit(dto=dto) if dto else None

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    @strawberry.field
    def services(self) -> list[UnitServiceRecord]:
        return [UnitServiceRecord(what=s["what"], at=when(s["at"])) for s in self.dto.get("services") or []]


UnitCommunityRegistrationConnection = Connection[UnitCommunityRegistration]


# --- inputs -------------------------------------------------------------------------------------------------


@strawberry.input(description="A proposed member of an owners' committee (人选建议)")
class CommitteeCandidateInput:
    name: str
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="The party member record, for the PARTY_MEMBERSHIP check"
    )
    phone: str | None = strawberry.field(default=None, description="Stored encrypted, returned masked")
    id_number: str | None = strawberry.field(default=None, description="Stored encrypted, returned masked")


@strawberry.input(description="An owners' committee filed by the party organisation with its seats and candidates")
class CreateOwnersCommitteeInput:
    community_id: strawberry.ID
    estate: str = strawberry.field(description="小区 name")
    building_ids: list[strawberry.ID] = strawberry.field(default_factory=list, description="The estate's buildings")
    filed_by_org_id: strawberry.ID = strawberry.field(
        description="The community's COMMUNITY_COMMITTEE or its street's TOWNSHIP_WORKING_COMMITTEE"
    )
    filed_on: date
    seats: int = strawberry.field(description="3–21")
    candidates: list[CommitteeCandidateInput] = strawberry.field(default_factory=list)
    idempotency_key: str | None = None


@strawberry.input
class VetCommitteeCandidateInput:
    committee_id: strawberry.ID
    candidate_id: strawberry.ID
    check: QualificationCheck
    passed: bool
    note: str = ""
    expected_version: int | None = None


@strawberry.input(description="选举: qualified candidates only, no more than the seats, for a term")
class ElectOwnersCommitteeInput:
    committee_id: strawberry.ID
    candidate_ids: list[strawberry.ID]
    term_start: date
    term_end: date
    expected_version: int | None = None


@strawberry.input
class ResidentsCommitteeMemberInput:
    name: str
    role: str


@strawberry.input(description="居委会 of a community; recording it again replaces its members and term")
class RecordResidentsCommitteeInput:
    community_id: strawberry.ID
    name: str
    members: list[ResidentsCommitteeMemberInput]
    term_start: date
    term_end: date | None = None


@strawberry.input
class ThreePartyAttendeeInput:
    name: str
    side: MeetingSide


@strawberry.input(description="An item's case: a category and a grid of the community")
class ThreePartyItemCaseInput:
    category_code: str
    grid_id: strawberry.ID
    description: str = ""
    building_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="One of the estate's buildings in the grid (楼栋): the case counts in its propertyDisputes",
    )


@strawberry.input(description="An item of the meeting: it becomes a case (`case`), a proposal (`proposal`), or neither")
class ThreePartyItemInput:
    title: str
    case: ThreePartyItemCaseInput | None = None
    proposal: bool = False


@strawberry.input(description="三方联动 meeting of an estate: the 居委会, the 物业 and the 业委会 each attend")
class ThreePartyMeetingInput:
    owners_committee_id: strawberry.ID
    property_company_id: strawberry.ID
    held_at: datetime
    attendees: list[ThreePartyAttendeeInput]
    minutes: str
    items: list[ThreePartyItemInput] = strawberry.field(default_factory=list)
    idempotency_key: str | None = None


@strawberry.input(description="单位报到: a unit registers with a community with its commitments")
class RegisterUnitWithCommunityInput:
    unit_id: strawberry.ID
    community_id: strawberry.ID
    commitments: list[str] = strawberry.field(default_factory=list)
    idempotency_key: str | None = None


# --- queries and mutations ----------------------------------------------------------------------------------


@strawberry.type
class CommitteesQuery:
    @strawberry.field(description="An owners' committee (业委会)")
    async def owners_committee(self, info: Info, id: strawberry.ID) -> OwnersCommittee | None:
        dto = await orgs(info).get_owners_committee(checked(ById, id=id))
        return OwnersCommittee(dto=dto) if dto else None

    @strawberry.field(description="Owners' committees of the communities in the region's subtree")
    async def owners_committees(
        self, info: Info, region_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> OwnersCommitteeConnection:
        page = await orgs(info).list_owners_committees(
            listing(cm.ListCommittees, {"regionId": region_id}, first, after)
        )
        return connection(page, lambda d: OwnersCommittee(dto=d))

    @strawberry.field(description="The community's residents' committee (居委会), if recorded")
    async def residents_committee(self, info: Info, community_id: strawberry.ID) -> ResidentsCommittee | None:
        dto = await orgs(info).get_residents_committee(checked(cm.ByCommunity, communityId=community_id))
        return ResidentsCommittee(dto=dto) if dto else None

    @strawberry.field
    async def three_party_meeting(self, info: Info, id: strawberry.ID) -> ThreePartyMeeting | None:
        dto = await orgs(info).get_three_party_meeting(checked(ById, id=id))
        return ThreePartyMeeting(dto=dto) if dto else None

    @strawberry.field(description="三方联动 meetings in the region's subtree")
    async def three_party_meetings(
        self, info: Info, region_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> ThreePartyMeetingConnection:
        page = await orgs(info).list_three_party_meetings(
            listing(cm.ListCommittees, {"regionId": region_id}, first, after)
        )
        return connection(page, lambda d: ThreePartyMeeting(dto=d))

    @strawberry.field(description="单位报到 with communities in the region (or your scope), optionally of one unit")
    async def unit_community_registrations(
        self,
        info: Info,
        region_id: strawberry.ID | None = None,
        unit_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> UnitCommunityRegistrationConnection:
        page = await orgs(info).list_unit_registrations(
            listing(cm.ListUnitRegistrations, {"regionId": region_id, "unitId": unit_id}, first, after)
        )
        return connection(page, lambda d: UnitCommunityRegistration(dto=d))


def _candidate(c: CommitteeCandidateInput) -> dict[str, Any]:
    return {"name": c.name, "memberId": c.member_id, "phone": c.phone, "idNumber": c.id_number}


@strawberry.type
class CommitteesMutation:
    @strawberry.mutation(description="红色业委会: the party organisation files an estate's owners' committee")
    async def create_owners_committee(self, info: Info, input: CreateOwnersCommitteeInput) -> OwnersCommittee:
        dto = await orgs(info).create_owners_committee(
            checked(
                cm.CreateOwnersCommittee,
                communityId=input.community_id,
                estate=input.estate,
                buildingIds=list(input.building_ids),
                filedByOrgId=input.filed_by_org_id,
                filedOn=input.filed_on.isoformat(),
                seats=input.seats,
                candidates=[_candidate(c) for c in input.candidates],
                idempotencyKey=input.idempotency_key,
            )
        )
        return OwnersCommittee(dto=dto)

    @strawberry.mutation(description="Propose another candidate while the committee is being formed")
    async def add_owners_committee_candidate(
        self,
        info: Info,
        committee_id: strawberry.ID,
        candidate: CommitteeCandidateInput,
        expected_version: int | None = None,
    ) -> OwnersCommittee:
        dto = await orgs(info).add_committee_candidate(
            checked(cm.AddCandidate, id=committee_id, candidate=_candidate(candidate), expectedVersion=expected_version)
        )
        return OwnersCommittee(dto=dto)

    @strawberry.mutation(description="资格审查: record one check of a candidate (who checked is recorded)")
    async def vet_committee_candidate(self, info: Info, input: VetCommitteeCandidateInput) -> OwnersCommittee:
        dto = await orgs(info).vet_committee_candidate(
            checked(
                cm.VetCandidate,
                id=input.committee_id,
                candidateId=input.candidate_id,
                check=input.check.value,
                passed=input.passed,
                note=input.note,
                expectedVersion=input.expected_version,
            )
        )
        return OwnersCommittee(dto=dto)

    @strawberry.mutation(description="Elect the committee from qualified candidates, for a term")
    async def elect_owners_committee(self, info: Info, input: ElectOwnersCommitteeInput) -> OwnersCommittee:
        dto = await orgs(info).elect_owners_committee(
            checked(
                cm.ElectCommittee,
                id=input.committee_id,
                candidateIds=list(input.candidate_ids),
                termStart=input.term_start.isoformat(),
                termEnd=input.term_end.isoformat(),
                expectedVersion=input.expected_version,
            )
        )
        return OwnersCommittee(dto=dto)

    @strawberry.mutation(description="End the committee's term (the estate may then file its next committee)")
    async def end_owners_committee_term(
        self, info: Info, committee_id: strawberry.ID, end: date, expected_version: int | None = None
    ) -> OwnersCommittee:
        dto = await orgs(info).end_committee_term(
            checked(cm.EndCommitteeTerm, id=committee_id, end=end.isoformat(), expectedVersion=expected_version)
        )
        return OwnersCommittee(dto=dto)

    @strawberry.mutation(description="Record (or replace) the community's residents' committee (居委会)")
    async def record_residents_committee(self, info: Info, input: RecordResidentsCommitteeInput) -> ResidentsCommittee:
        dto = await orgs(info).record_residents_committee(
            checked(
                cm.RecordResidentsCommittee,
                communityId=input.community_id,
                name=input.name,
                members=[{"name": m.name, "role": m.role} for m in input.members],
                termStart=input.term_start.isoformat(),
                termEnd=input.term_end.isoformat() if input.term_end else None,
            )
        )
        return ResidentsCommittee(dto=dto)

    @strawberry.mutation(description="三方联动: record a meeting; its case items become cases at once")
    async def record_three_party_meeting(self, info: Info, input: ThreePartyMeetingInput) -> ThreePartyMeeting:
        items = [
            {
                "title": i.title,
                "proposal": i.proposal,
                "case": None
                if i.case is None
                else {
                    "categoryCode": i.case.category_code,
                    "gridId": i.case.grid_id,
                    "description": i.case.description,
                    "buildingId": i.case.building_id,
                },
            }
            for i in input.items
        ]
        dto = await orgs(info).record_three_party_meeting(
            checked(
                cm.RecordThreePartyMeeting,
                ownersCommitteeId=input.owners_committee_id,
                propertyCompanyId=input.property_company_id,
                heldAt=input.held_at.isoformat(),
                attendees=[{"name": a.name, "side": a.side.value} for a in input.attendees],
                minutes=input.minutes,
                items=items,
                idempotencyKey=input.idempotency_key,
            )
        )
        return ThreePartyMeeting(dto=dto)

    @strawberry.mutation(description="单位报到: a unit registers with a community, with its commitments")
    async def register_unit_with_community(
        self, info: Info, input: RegisterUnitWithCommunityInput
    ) -> UnitCommunityRegistration:
        dto = await orgs(info).register_unit_with_community(
            checked(
                cm.RegisterUnitWithCommunity,
                unitId=input.unit_id,
                communityId=input.community_id,
                commitments=list(input.commitments),
                idempotencyKey=input.idempotency_key,
            )
        )
        return UnitCommunityRegistration(dto=dto)

    @strawberry.mutation(description="A service the registered unit delivered to the community (what, when)")
    async def record_unit_service(
        self, info: Info, registration_id: strawberry.ID, what: str, at: datetime, expected_version: int | None = None
    ) -> UnitCommunityRegistration:
        dto = await orgs(info).record_unit_service(
            checked(
                cm.RecordUnitService, id=registration_id, what=what, at=at.isoformat(), expectedVersion=expected_version
            )
        )
        return UnitCommunityRegistration(dto=dto)
