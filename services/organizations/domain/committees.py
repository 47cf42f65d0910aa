"""红色业委会: an estate's owners' committee filed by the community's party organisation, which
proposes its structure (seats) and candidates and vets each candidate's qualifications (资格审查);
only qualified candidates are elected; the committee is red when party members hold seats.
Also the community's residents' committee (居委会)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.domain import ratio
from shared.errors import BadInput, Conflict, NotFound
from shared.vocabulary.committees import OwnersCommitteeStatus, QualificationCheck
from shared.vocabulary.territory import Level

from .enums import Action, OrgType
from .events import Aggregate
from .organization import Organization
from .policy import authorize
from .values import NAME_MAX, Node, Term, text

MIN_SEATS, MAX_SEATS, MAX_CANDIDATES, MAX_BUILDINGS = 3, 21, 50, 200
QUALIFYING = (QualificationCheck.NO_ARREARS, QualificationCheck.RESIDENCY)  # must pass; membership: recorded


def committee_key(community_id: str, estate: str) -> str:
    """One owners' committee in office (or being formed) per estate of a community."""
    return f"owners-committee:{community_id}:{estate}"


class CheckRecord(BaseModel):
    """One qualification check: its outcome, who checked (a staff principal) and a note."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    checked_by: str
    note: str = ""
    at: datetime


class Candidate(BaseModel):
    """A proposed committee member (人选建议); phone and ID number arrive encrypted (opaque here)."""

    id: str
    name: str
    member_id: str | None = None
    phone_enc: str | None = None
    id_number_enc: str | None = None
    checks: dict[QualificationCheck, CheckRecord] = Field(default_factory=dict)

    @property
    def party_member(self) -> bool:
        check = self.checks.get(QualificationCheck.PARTY_MEMBERSHIP)
        return check is not None and check.passed

    def missing(self) -> list[str]:
        """What keeps the candidate from being qualified: a qualifying check not passed, or
        the membership check not recorded."""
        out = [str(c) for c in QUALIFYING if not (c in self.checks and self.checks[c].passed)]
        if QualificationCheck.PARTY_MEMBERSHIP not in self.checks:
            out.append(str(QualificationCheck.PARTY_MEMBERSHIP))
        return out

    @property
    def qualified(self) -> bool:
        return not self.missing()


class NewCandidate(BaseModel):
    name: str
    member_id: str | None = None
    phone_enc: str | None = None
    id_number_enc: str | None = None


class Filing(BaseModel):
    """备案: the party organisation that filed the committee, and when."""

    model_config = ConfigDict(frozen=True)

    org_id: str
    filed_on: date


def check_filer(org: Organization, community: Node) -> None:
    """The filing party organisation: the community's 社区党委 or the street's 党工委 above it."""
    if org.type is OrgType.COMMUNITY_COMMITTEE and org.anchor_id == community.id:
        return
    if org.type is OrgType.TOWNSHIP_WORKING_COMMITTEE and org.anchor_id in community.path:
        return
    raise BadInput(
        f"{org.name} may not file an owners' committee of {community.name or community.id}: the community's "
        "COMMUNITY_COMMITTEE or its street's TOWNSHIP_WORKING_COMMITTEE files it",
        {"orgId": org.id},
    )


class OwnersCommittee(Aggregate):
    aggregate_name: ClassVar[str] = "owners_committee"

    community_id: str
    community_path: tuple[str, ...]
    estate: str
    building_ids: list[str] = Field(default_factory=list)
    filing: Filing
    seats: int
    candidates: list[Candidate] = Field(default_factory=list)
    elected: list[str] = Field(default_factory=list)  # candidate ids holding seats
    term: Term | None = None
    status: OwnersCommitteeStatus = OwnersCommitteeStatus.PROPOSED
    created_at: datetime

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @property
    def key(self) -> str:
        return committee_key(self.community_id, self.estate)

    @property
    def party_seats(self) -> int:
        return sum(1 for c in self.candidates if c.id in self.elected and c.party_member)

    @property
    def red(self) -> bool:
        """红色业委会: in office with party members holding seats."""
        return self.status is OwnersCommitteeStatus.IN_OFFICE and self.party_seats > 0

    @property
    def party_share(self) -> float | None:
        return ratio(self.party_seats, len(self.elected))

    @classmethod
    def create(
        cls,
        *,
        id: str,
        community: Node,
        estate: str,
        buildings: Sequence[Node],
        filed_by: Organization,
        filed_on: date,
        seats: int,
        candidates: Iterable[NewCandidate],
        by: Principal,
        now: datetime,
    ) -> OwnersCommittee:
        if community.level is not Level.COMMUNITY:
            raise BadInput(f"{community.name or community.id} is a {community.level}, not a COMMUNITY")
        strangers = [b.id for b in buildings if b.level is not Level.BUILDING or community.id not in b.path]
        if strangers:
            raise BadInput("the estate's buildings must be buildings of the community", {"buildingIds": strangers})
        if len(buildings) > MAX_BUILDINGS:
            raise BadInput(f"at most {MAX_BUILDINGS} buildings")
        check_filer(filed_by, community)
        if filed_on > now.date():
            raise BadInput("the filing date cannot be in the future", {"filedOn": filed_on.isoformat()})
        if not MIN_SEATS <= seats <= MAX_SEATS:
            raise BadInput(f"an owners' committee has {MIN_SEATS} to {MAX_SEATS} seats", {"seats": seats})
        committee = cls(
            id=id,
            community_id=community.id,
            community_path=community.path,
            estate=text(estate, "estate", 100),
            building_ids=list(dict.fromkeys(b.id for b in buildings)),
            filing=Filing(org_id=filed_by.id, filed_on=filed_on),
            seats=seats,
            created_at=now,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_COMMITTEE, committee)
        for c in candidates:
            committee._add(c)
        committee._emit(
            "OWNERS_COMMITTEE_CREATED",
            by,
            now,
            communityId=community.id,
            estate=committee.estate,
            buildingIds=committee.building_ids,
            filedByOrgId=filed_by.id,
            filedOn=filed_on.isoformat(),
            seats=seats,
            candidates=len(committee.candidates),
        )
        return committee

    def _add(self, c: NewCandidate) -> Candidate:
        if len(self.candidates) >= MAX_CANDIDATES:
            raise BadInput(f"at most {MAX_CANDIDATES} candidates")
        if c.member_id and any(x.member_id == c.member_id for x in self.candidates):
            raise Conflict("that member is a candidate already", {"memberId": c.member_id})
        candidate = Candidate(
            id=f"c{len(self.candidates) + 1}",
            name=text(c.name, "name", NAME_MAX),
            member_id=c.member_id,
            phone_enc=c.phone_enc,
            id_number_enc=c.id_number_enc,
        )
        self.candidates.append(candidate)
        return candidate

    def _forming(self) -> None:
        if self.status is not OwnersCommitteeStatus.PROPOSED:
            raise Conflict(f"owners' committee {self.id} is {self.status}; candidates are vetted before the election")

    def add_candidate(self, c: NewCandidate, by: Principal, now: datetime) -> Candidate:
        authorize(by, Action.MANAGE_COMMITTEE, self)
        self._forming()
        self._change(now)
        candidate = self._add(c)
        self._emit("COMMITTEE_CANDIDATE_ADDED", by, now, candidateId=candidate.id)
        return candidate

    def candidate(self, candidate_id: str) -> Candidate:
        for c in self.candidates:
            if c.id == candidate_id:
                return c
        raise NotFound(f"owners' committee {self.id} has no candidate {candidate_id}", {"candidateId": candidate_id})

    def vet(
        self,
        candidate_id: str,
        check: QualificationCheck,
        passed: bool,
        note: str,
        by: Principal,
        now: datetime,
        member_on_record: bool | None = None,
    ) -> Candidate:
        """Record one check (a later one of the same kind replaces it). Party membership passes
        only for a candidate named as a member (`member_on_record`: the member records hold them)."""
        authorize(by, Action.MANAGE_COMMITTEE, self)
        self._forming()
        c = self.candidate(candidate_id)
        if check is QualificationCheck.PARTY_MEMBERSHIP and passed and not member_on_record:
            raise BadInput(
                "party membership passes only for a candidate named as a member on record (memberId)",
                {"candidateId": candidate_id},
            )
        record = CheckRecord(passed=passed, checked_by=by.sub, note=text(note, "note", 500, required=False), at=now)
        self._change(now)
        c.checks[check] = record
        self._emit(
            "COMMITTEE_CANDIDATE_VETTED",
            by,
            now,
            candidateId=c.id,
            check=str(check),
            passed=passed,
            qualified=c.qualified,
        )
        return c

    def elect(self, candidate_ids: Sequence[str], term: Term, by: Principal, now: datetime) -> None:
        """选举: qualified candidates only, at most one per seat, for a term with an end."""
        authorize(by, Action.MANAGE_COMMITTEE, self)
        self._forming()
        chosen = list(dict.fromkeys(candidate_ids))
        if not chosen:
            raise BadInput("an election names at least one candidate")
        if len(chosen) > self.seats:
            raise BadInput(f"{len(chosen)} elected for {self.seats} seats", {"seats": self.seats})
        if term.end is None:
            raise BadInput("an owners' committee's term has an end (termEnd)")
        unqualified = {cid: self.candidate(cid).missing() for cid in chosen}
        unqualified = {k: v for k, v in unqualified.items() if v}
        if unqualified:
            raise BadInput(
                "only qualified candidates are elected: "
                + ", ".join(f"{k} lacks {'/'.join(v)}" for k, v in unqualified.items()),
                {"unqualified": unqualified},
            )
        self._change(now)
        self.elected, self.term, self.status = chosen, term, OwnersCommitteeStatus.IN_OFFICE
        self._emit(
            "COMMITTEE_ELECTED",
            by,
            now,
            seatsHeld=len(chosen),
            partySeats=self.party_seats,
            red=self.red,
            termStart=term.start.isoformat(),
            termEnd=term.end.isoformat(),
        )

    def end_term(self, end: date, by: Principal, now: datetime) -> None:
        authorize(by, Action.MANAGE_COMMITTEE, self)
        if self.status is not OwnersCommitteeStatus.IN_OFFICE or self.term is None:
            raise Conflict(f"owners' committee {self.id} is not in office")
        if end < self.term.start:
            raise BadInput("a term cannot end before it starts", {"end": end.isoformat()})
        self._change(now)
        self.term = Term(start=self.term.start, end=end)
        self.status = OwnersCommitteeStatus.TERM_ENDED
        self._emit("COMMITTEE_TERM_ENDED", by, now, end=end.isoformat())


class CommitteeSeat(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    role: str


def residents_committee_id(community_id: str) -> str:
    return f"rc:{community_id}"


class ResidentsCommittee(Aggregate):
    """居委会 of a community: its name, members with their roles and the term; recording it again
    replaces them."""

    aggregate_name: ClassVar[str] = "residents_committee"

    community_id: str
    community_path: tuple[str, ...]
    name: str
    members: list[CommitteeSeat] = Field(default_factory=list)
    term: Term

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def open(cls, community: Node, name: str, term: Term, now: datetime) -> ResidentsCommittee:
        if community.level is not Level.COMMUNITY:
            raise BadInput(f"{community.name or community.id} is a {community.level}, not a COMMUNITY")
        return cls(
            id=residents_committee_id(community.id),
            community_id=community.id,
            community_path=community.path,
            name=text(name, "name", 100),
            term=term,
            version=0,
            updated_at=now,
        )

    def record(self, name: str, members: Iterable[tuple[str, str]], term: Term, by: Principal, now: datetime) -> None:
        authorize(by, Action.MANAGE_COMMITTEE, self)
        seats = [CommitteeSeat(name=text(n, "name", NAME_MAX), role=text(r, "role", NAME_MAX)) for n, r in members]
        if not seats or len(seats) > 50:
            raise BadInput("a residents' committee has 1 to 50 members")
        self._change(now)
        self.name, self.members, self.term = text(name, "name", 100), seats, term
        self._emit(
            "RESIDENTS_COMMITTEE_RECORDED",
            by,
            now,
            communityId=self.community_id,
            name=self.name,
            members=len(seats),
            termStart=term.start.isoformat(),
            termEnd=term.end.isoformat() if term.end else None,
        )
