"""Wire models of the organizations service (request payloads); replies are in ORGANIZATIONS_API.

Every verb is `yiwang.organizations.<verb>` with the caller's JWT. Replies are the record's
DTO: its fields in camelCase, personal data masked (phone `138****5678`, ID number
`110***********1234`) except to the member themself; encrypted values and blind indexes
never leave the service.
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from shared.contracts import committees as cm  # committees
from shared.contracts.attachments import AttachEvidence
from shared.contracts.common import ById, ByIds, Page, Wire
from shared.contracts.funds import FUNDS_REQUESTS
from shared.contracts.weak_orgs import REQUESTS as WEAK_REQUESTS  # weak organisations
from shared.contracts.work import WorkQuery
from shared.vocabulary.organizations import (
    AgendaSource,
    Gender,
    LifeKind,
    MemberCategory,
    OrgType,
    PositionRole,
    ProjectStatus,
    TransferStatus,
    UnitKind,
)
from shared.vocabulary.resources import ListCategory

OrgTypeName = OrgType
RoleName = PositionRole
CategoryName = MemberCategory
GenderName = Gender
TransferStatusName = TransferStatus
UnitKindName = UnitKind
AgendaSourceName = AgendaSource
LifeKindName = LifeKind
ProjectStatusName = ProjectStatus
Name = Field(min_length=1, max_length=100)
Id = Field(min_length=1, max_length=64)
Key = Field(default=None, max_length=128)


class Versioned(Wire):
    id: str = Id
    expectedVersion: int | None = None


class CreateOrganization(Wire):
    name: str = Name
    type: OrgTypeName
    anchorId: str = Id  # the territory node it is anchored to
    parentId: str | None = None  # the organisation one level up (none for a 党工委)
    householdMemberId: str | None = None  # a CENTER_HOUSEHOLD's member
    idempotencyKey: str | None = Key
    unitId: str | None = None  # committees: the unit a non-territorial branch (机关, 企业…) is anchored to
    # onboarding: the organisation's code as its id (subject-safe); generated when absent
    id: str | None = Field(default=None, min_length=1, max_length=48)


class ImportedOrganization(Wire):
    """One organisation of an `org.import` batch: as `org.create`'s, with its id given (an import is
    re-sent safely: an organisation whose id is stored already is skipped)."""

    id: str = Field(min_length=1, max_length=48)
    name: str = Name
    type: OrgTypeName
    anchorId: str = Id
    parentId: str | None = None  # stored already, or earlier in the batch
    householdMemberId: str | None = None
    unitId: str | None = None


ORG_IMPORT_MAX = 500


class ImportOrganizations(Wire):
    """org.import: up to ORG_IMPORT_MAX organisations in one transaction, parents first; a batch
    re-sent with the same `importId` imports nothing again."""

    importId: str = Field(min_length=1, max_length=128)
    organizations: list[ImportedOrganization] = Field(min_length=1, max_length=ORG_IMPORT_MAX)


class UpdateOrganization(Versioned):
    name: str = Name


class PositionInput(Wire):
    holderName: str = Field(min_length=1, max_length=64)
    memberId: str | None = None
    unitId: str | None = None
    role: RoleName
    termStart: date
    termEnd: date | None = None


class Appoint(Versioned):
    position: PositionInput


class EndPosition(Versioned):
    role: RoleName
    holderName: str = Field(min_length=1, max_length=64)
    end: date


class CommitteeUnit(Versioned):
    unitId: str = Id


class ListOrganizations(Page):
    regionId: str | None = None  # anchored in this subtree
    type: OrgTypeName | None = None
    parentId: str | None = None  # the children of one organisation
    weak: bool | None = None


class RegisterMember(Wire):
    name: str = Field(min_length=1, max_length=64)
    gender: GenderName
    birthDate: date
    joinDate: date
    phone: str | None = Field(default=None, max_length=20)
    idNumber: str | None = Field(default=None, max_length=32)
    category: CategoryName
    organizationId: str = Id
    homeBuildingId: str | None = None
    idempotencyKey: str | None = Key


class ImportedMember(Wire):
    """One member of a roster import: member.register's fields, an optional stable id (a
    member id already stored is skipped) and an optional 双报到 community."""

    id: str | None = Field(default=None, max_length=48)
    name: str = Field(min_length=1, max_length=64)
    gender: GenderName
    birthDate: date
    joinDate: date
    phone: str | None = Field(default=None, max_length=20)
    idNumber: str | None = Field(default=None, max_length=32)
    category: CategoryName
    organizationId: str = Id
    homeBuildingId: str | None = None
    dualCommunityId: str | None = None  # in-service members: 双报到 where they live


MEMBER_IMPORT_MAX = 500


class ImportMembers(Wire):
    """member.import: up to 500 members in one transaction (a county's roster, in batches);
    a batch re-sent with the same `importId` imports nothing again."""

    importId: str = Field(min_length=1, max_length=128)
    members: list[ImportedMember] = Field(min_length=1, max_length=MEMBER_IMPORT_MAX)


class UpdateMember(Versioned):
    category: CategoryName | None = None
    homeBuildingId: str | None = None
    phone: str | None = Field(default=None, max_length=20)


class ListMembers(Page):
    organizationId: str | None = None  # members of one organisation
    regionId: str | None = None  # members of organisations in this subtree
    category: CategoryName | None = None


class RevealMember(Wire):
    memberId: str = Id
    reason: str = Field(min_length=1, max_length=500)


class RequestTransfer(Wire):
    memberId: str = Id
    toOrganizationId: str = Id
    reason: str = Field(default="", max_length=500)
    deadlineDays: int | None = Field(default=None, ge=1, le=365)


class DecideTransfer(Versioned):
    reason: str = Field(default="", max_length=500)


class ListTransfers(Page):
    regionId: str | None = None  # either side in this subtree
    memberId: str | None = None
    status: TransferStatusName | None = None
    overdue: bool | None = None


class DualRegister(Wire):
    memberId: str = Id
    communityId: str = Id


class EndDual(Wire):
    memberId: str = Id
    reason: str = Field(min_length=1, max_length=200)


class ListDual(Page):
    communityId: str = Id


class TwinUnit(Wire):
    branchId: str = Id  # the employer's branch (an organisation)
    communityId: str = Id


class ListTwinnings(Page):
    communityId: str = Id


class ContactInput(Wire):
    name: str = Field(min_length=1, max_length=64)
    title: str = Field(default="", max_length=64)
    phone: str | None = Field(default=None, max_length=20)


class RegisterUnit(Wire):
    name: str = Name
    kind: UnitKindName
    regionId: str = Id
    contacts: list[ContactInput] = Field(default_factory=list, max_length=20)
    idempotencyKey: str | None = Key


class UpdateUnit(Versioned):
    contacts: list[ContactInput] = Field(max_length=20)


class ListUnits(Page):
    regionId: str | None = None
    kind: UnitKindName | None = None
    committeeId: str | None = None  # the units on one 大党委, in rotation order


class RecordLinkage(Wire):
    estate: str = Name
    committeeId: str = Id
    propertyCompanyId: str = Id
    ownersCommitteeId: str = Id
    ownersCommitteeRecordId: str | None = None  # committees: the estate's owners' committee (committee.create)


class ScheduleMeeting(Wire):
    committeeId: str = Id
    scheduledAt: AwareDatetime
    unavailableUnitIds: list[str] = Field(default_factory=list, max_length=100)
    idempotencyKey: str | None = Key


class AgendaInput(Versioned):
    source: AgendaSourceName
    ref: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=200)


class MinutesInput(Versioned):
    minutes: str = Field(min_length=1, max_length=5000)
    attendedUnitIds: list[str] = Field(default_factory=list, max_length=100)
    attendedMemberIds: list[str] = Field(default_factory=list, max_length=500)


class ResolutionInput(Versioned):
    text: str = Field(min_length=1, max_length=5000)
    actionItems: list[str] = Field(default_factory=list, max_length=20)
    agendaItemIds: list[str] = Field(default_factory=list, max_length=50)  # the agenda items it settles


class RaiseHotspot(Wire):
    gridId: str = Id
    categoryCode: str = Field(min_length=1, max_length=64)
    since: AwareDatetime
    until: AwareDatetime | None = None  # default: now
    meetingId: str | None = None  # default: the community's next joint meeting


class CaseFromItem(Versioned):
    itemId: str = Id
    categoryCode: str = Field(min_length=1, max_length=64)
    gridId: str = Id  # the grid of the community the case belongs to
    description: str = Field(default="", max_length=5000)


class ListMeetings(Page):
    committeeId: str | None = None
    regionId: str | None = None


class RecordLife(Wire):
    organizationId: str = Id
    kind: LifeKindName
    heldAt: AwareDatetime
    topic: str = Field(min_length=1, max_length=200)
    attendance: list[str] = Field(default_factory=list, max_length=1000)
    minutes: str = Field(default="", max_length=5000)
    idempotencyKey: str | None = Key


class ListLife(Page):
    organizationId: str = Id


class PostNeed(Wire):
    communityId: str = Id
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    category: ListCategory = ListCategory.OTHER  # three-lists matching


class OfferResource(Wire):
    unitId: str = Id
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    category: ListCategory = ListCategory.OTHER  # three-lists matching


class ProposeProject(Wire):
    needId: str = Id
    resourceId: str = Id
    title: str = Field(min_length=1, max_length=200)


class MoveProject(Versioned):
    status: ProjectStatusName
    note: str = Field(default="", max_length=500)


class ListByRegion(Page):
    regionId: str = Id


class ListFeedback(Page):
    memberId: str | None = None
    regionId: str | None = None  # members of organisations in this subtree
    quarter: str | None = Field(default=None, pattern=r"^\d{4}Q[1-4]$")


ORGANIZATIONS_API = """
Verbs (yiwang.organizations.<verb>) and their replies:
  org.create CreateOrganization -> Organization    org.update UpdateOrganization -> Organization
  org.appoint Appoint -> Organization              org.endPosition EndPosition -> Organization
  org.addUnit / org.removeUnit CommitteeUnit -> Organization
  org.get ById -> Organization|null   org.batch ByIds -> {items}   org.list ListOrganizations -> Page
  member.register RegisterMember -> Member         member.update UpdateMember -> Member
  member.get ById -> Member|null      member.batch ByIds -> {items}   member.list ListMembers -> Page
  member.import ImportMembers -> {importId, imported, skipped: [ids], ids: [ids], replayed}
      (admin of an ancestor region, superadmin or service; all or nothing)
  member.revealContact RevealMember -> {phone, idNumber} (audited: MEMBER_CONTACT_REVEALED)
  transfer.request RequestTransfer -> Transfer     transfer.approve / .reject / .cancel DecideTransfer -> Transfer
  transfer.get ById   transfer.list ListTransfers -> Page
  dual.register DualRegister -> Member   dual.end EndDual -> Member   dual.list ListDual -> Page of Member
  twin.register TwinUnit -> Twinning     twin.list ListTwinnings -> Page
  unit.register RegisterUnit -> Unit  unit.update UpdateUnit -> Unit  unit.get/batch  unit.list ListUnits -> Page
  linkage.record RecordLinkage -> Linkage          linkage.list ListByRegion -> Page
  meeting.schedule ScheduleMeeting -> Meeting      meeting.addAgendaItem AgendaInput -> Meeting
  meeting.recordMinutes MinutesInput -> Meeting    meeting.addResolution ResolutionInput -> Meeting
  meeting.requestCase CaseFromItem -> Meeting      meeting.get ById   meeting.list ListMeetings -> Page
  meeting.attach AttachEvidence -> {attachment}    (ATTACHMENTS_API in shared/contracts)
  work.meetings WorkQuery -> {items: [JointMeeting], truncated}    (WORK_API in shared/contracts/work.py)
  life.record RecordLife -> LifeRecord             life.list ListLife -> Page
  need.post PostNeed -> Need   resource.offer OfferResource -> Resource   project.propose ProposeProject -> Project
  project.move MoveProject -> Project   need.list / resource.list / project.list ListByRegion -> Page
  feedback.list ListFeedback -> Page
  stats.batch ByIds -> {items: {regionId: OrgStats | {error}}}
A Page is {items, totalCount, hasNextPage, endCursor}; `after` is the last item's id.
"""


# The request model of each verb: what the service parses, and what the gateway's typed client method for
# the verb takes (tests/unit/test_gateway_clients.py holds the two to this table). Verbs missing here take
# no payload worth a model.
REQUESTS: dict[str, type[Wire]] = {
    "org.create": CreateOrganization,
    "org.update": UpdateOrganization,
    "org.appoint": Appoint,
    "org.endPosition": EndPosition,
    "org.addUnit": CommitteeUnit,
    "org.removeUnit": CommitteeUnit,
    "org.get": ById,
    "org.batch": ByIds,
    "org.list": ListOrganizations,
    "member.register": RegisterMember,
    "member.update": UpdateMember,
    "member.revealContact": RevealMember,
    "member.get": ById,
    "member.batch": ByIds,
    "member.list": ListMembers,
    "transfer.request": RequestTransfer,
    "transfer.approve": DecideTransfer,
    "transfer.reject": DecideTransfer,
    "transfer.cancel": DecideTransfer,
    "transfer.get": ById,
    "transfer.list": ListTransfers,
    "dual.register": DualRegister,
    "dual.end": EndDual,
    "dual.list": ListDual,
    "twin.register": TwinUnit,
    "twin.list": ListTwinnings,
    "unit.register": RegisterUnit,
    "unit.update": UpdateUnit,
    "unit.get": ById,
    "unit.batch": ByIds,
    "unit.list": ListUnits,
    "linkage.record": RecordLinkage,
    "linkage.list": ListByRegion,
    "meeting.schedule": ScheduleMeeting,
    "meeting.addAgendaItem": AgendaInput,
    "meeting.recordMinutes": MinutesInput,
    "meeting.addResolution": ResolutionInput,
    "meeting.requestCase": CaseFromItem,
    "meeting.raiseHotspot": RaiseHotspot,
    "meeting.get": ById,
    "meeting.list": ListMeetings,
    "life.record": RecordLife,
    "life.list": ListLife,
    "need.post": PostNeed,
    "resource.offer": OfferResource,
    "project.propose": ProposeProject,
    "project.move": MoveProject,
    "need.list": ListByRegion,
    "resource.list": ListByRegion,
    "project.list": ListByRegion,
    "feedback.list": ListFeedback,
    "stats.batch": ByIds,
    # evidence
    "meeting.attach": AttachEvidence,
    # mywork: the caller's part of the day
    "work.meetings": WorkQuery,
    # weak organisations (shared/contracts/weak_orgs.py)
    **WEAK_REQUESTS,
    # committees: 红色业委会, 居委会, 三方联动, 单位报到 (shared/contracts/committees.py)
    "committee.create": cm.CreateOwnersCommittee,
    "committee.addCandidate": cm.AddCandidate,
    "committee.vet": cm.VetCandidate,
    "committee.elect": cm.ElectCommittee,
    "committee.endTerm": cm.EndCommitteeTerm,
    "committee.get": ById,
    "committee.list": cm.ListCommittees,
    "residents.record": cm.RecordResidentsCommittee,
    "residents.get": cm.ByCommunity,
    "threeParty.record": cm.RecordThreePartyMeeting,
    "threeParty.get": ById,
    "threeParty.list": cm.ListCommittees,
    "unitReg.register": cm.RegisterUnitWithCommunity,
    "unitReg.service": cm.RecordUnitService,
    "unitReg.list": cm.ListUnitRegistrations,
    # funds and service lists (FUNDS_API in shared/contracts/funds.py)
    **FUNDS_REQUESTS,
}
