"""Wire models of the organizations service's committees verbs: 红色业委会 (`committee.*`), the
居委会 (`residents.record`), 三方联动 meetings (`threeParty.*`) and 单位报到 (`unitReg.*`).

Replies: OwnersCommittee {id communityId estate buildingIds filedByOrgId filedOn seats status
candidates: [{id name memberId phone idNumber (masked) qualified partyMember missing checks:
[{check passed checkedBy note at}]}] electedIds termStart termEnd partySeats partyShare red version},
ResidentsCommittee, ThreePartyMeeting, UnitRegistration (views.py `CommitteeViews`).
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from shared.contracts.common import Page, Wire
from shared.vocabulary.committees import MeetingSide, QualificationCheck

Id = Field(min_length=1, max_length=64)
Key = Field(default=None, max_length=128)


class CandidateInput(Wire):
    name: str = Field(min_length=1, max_length=64)
    memberId: str | None = Field(default=None, max_length=64)  # checked against the member records
    phone: str | None = Field(default=None, max_length=20)
    idNumber: str | None = Field(default=None, max_length=32)


class CreateOwnersCommittee(Wire):
    communityId: str = Id
    estate: str = Field(min_length=1, max_length=100)  # 小区
    buildingIds: list[str] = Field(default_factory=list, max_length=200)
    filedByOrgId: str = Id  # the party organisation filing it (备案)
    filedOn: date
    seats: int = Field(ge=1, le=50)
    candidates: list[CandidateInput] = Field(default_factory=list, max_length=50)
    idempotencyKey: str | None = Key


class AddCandidate(Wire):
    id: str = Id
    candidate: CandidateInput
    expectedVersion: int | None = None


class VetCandidate(Wire):
    id: str = Id
    candidateId: str = Id
    check: QualificationCheck
    passed: bool
    note: str = Field(default="", max_length=500)
    expectedVersion: int | None = None


class ElectCommittee(Wire):
    id: str = Id
    candidateIds: list[str] = Field(min_length=1, max_length=50)
    termStart: date
    termEnd: date
    expectedVersion: int | None = None


class EndCommitteeTerm(Wire):
    id: str = Id
    end: date
    expectedVersion: int | None = None


class ListCommittees(Page):
    regionId: str = Id


class SeatInput(Wire):
    name: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=64)  # 主任, 副主任, 委员…


class RecordResidentsCommittee(Wire):
    communityId: str = Id
    name: str = Field(min_length=1, max_length=100)
    members: list[SeatInput] = Field(min_length=1, max_length=50)
    termStart: date
    termEnd: date | None = None


class ByCommunity(Wire):
    communityId: str = Id


class AttendeeInput(Wire):
    name: str = Field(min_length=1, max_length=64)
    side: MeetingSide


class ItemCaseInput(Wire):
    categoryCode: str = Field(min_length=1, max_length=64)
    gridId: str = Id  # a grid of the community
    description: str = Field(default="", max_length=5000)
    buildingId: str | None = Field(default=None, min_length=1, max_length=64)  # one of the estate's, in the grid


class ThreePartyItemInput(Wire):
    title: str = Field(min_length=1, max_length=200)
    case: ItemCaseInput | None = None  # becomes a case
    proposal: bool = False  # put forward as a proposal (一征三议)


class RecordThreePartyMeeting(Wire):
    ownersCommitteeId: str = Id
    propertyCompanyId: str = Id
    heldAt: AwareDatetime
    attendees: list[AttendeeInput] = Field(min_length=1, max_length=100)
    minutes: str = Field(min_length=1, max_length=5000)
    items: list[ThreePartyItemInput] = Field(default_factory=list, max_length=30)
    idempotencyKey: str | None = Key


class RegisterUnitWithCommunity(Wire):
    unitId: str = Id
    communityId: str = Id
    commitments: list[str] = Field(default_factory=list, max_length=20)
    idempotencyKey: str | None = Key


class RecordUnitService(Wire):
    id: str = Id  # the registration
    what: str = Field(min_length=1, max_length=200)
    at: AwareDatetime
    expectedVersion: int | None = None


class ListUnitRegistrations(Page):
    regionId: str | None = None
    unitId: str | None = None


COMMITTEES_API = """
  committee.create CreateOwnersCommittee -> OwnersCommittee   committee.addCandidate AddCandidate -> OwnersCommittee
  committee.vet VetCandidate -> OwnersCommittee   committee.elect ElectCommittee -> OwnersCommittee
  committee.endTerm EndCommitteeTerm -> OwnersCommittee   committee.get ById   committee.list ListCommittees -> Page
  residents.record RecordResidentsCommittee -> ResidentsCommittee   residents.get ByCommunity -> ResidentsCommittee|null
  threeParty.record RecordThreePartyMeeting -> ThreePartyMeeting   threeParty.get ById
  threeParty.list ListCommittees -> Page
  unitReg.register RegisterUnitWithCommunity -> UnitRegistration   unitReg.service RecordUnitService -> UnitRegistration
  unitReg.list ListUnitRegistrations -> Page
"""
