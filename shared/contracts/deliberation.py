"""Wire models of deliberation (一征三议两公开) in the organizations service; replies in DELIBERATION_API.

Every verb is `yiwang.organizations.<verb>` with the caller's JWT. A proposal's proposer comes back
masked (`张**`) to anyone but the proposer and staff in scope; an objection's author is shown to
staff in scope and to themself only.
"""

from __future__ import annotations

from pydantic import Field

from shared.contracts.common import ById, Page, Wire
from shared.vocabulary.deliberation import ProposalSource, ProposalStage

Id = Field(min_length=1, max_length=64)
Key = Field(default=None, max_length=128)


class SubmitProposal(Wire):
    communityId: str = Id
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)
    source: ProposalSource = ProposalSource.RESIDENT
    ref: str = Field(default="", max_length=100)  # member, unit, hotspot or `<meeting>[:<item>]` id
    proposerName: str | None = Field(default=None, max_length=64)
    idempotencyKey: str | None = Key


class ObjectionResponse(Wire):
    objectionId: str = Id
    text: str = Field(min_length=1, max_length=5000)


class ProposalCase(Wire):
    """A case to report for the proposal's implementation, in a grid of its community."""

    categoryCode: str = Field(min_length=1, max_length=64)
    gridId: str = Id
    description: str = Field(default="", max_length=5000)


class AdvanceProposal(Wire):
    id: str = Id
    expectedVersion: int | None = None
    to: ProposalStage
    minutes: str = Field(default="", max_length=5000)  # DISCUSSED
    noticeText: str = Field(default="", max_length=5000)  # NOTICED
    noticePeriodSeconds: int | None = Field(default=None, ge=1, le=366 * 86400)
    responses: list[ObjectionResponse] = Field(
        default_factory=list, max_length=100
    )  # IMPLEMENTING: answers to objections
    case: ProposalCase | None = None  # IMPLEMENTING
    caseIds: list[str] = Field(
        default_factory=list, max_length=100
    )  # IMPLEMENTING, RESULT_PUBLISHED: what implements it
    orderIds: list[str] = Field(default_factory=list, max_length=100)
    projectIds: list[str] = Field(default_factory=list, max_length=100)
    resultText: str = Field(default="", max_length=5000)  # RESULT_PUBLISHED
    reason: str = Field(default="", max_length=500)  # REJECTED
    idempotencyKey: str | None = Key


class RecordVote(Wire):
    id: str = Id
    expectedVersion: int | None = None
    roll: list[str] = Field(min_length=1, max_length=500)
    attendees: list[str] = Field(default_factory=list, max_length=500)
    votesFor: int = Field(ge=0, le=500)
    votesAgainst: int = Field(default=0, ge=0, le=500)
    abstentions: int = Field(default=0, ge=0, le=500)
    idempotencyKey: str | None = Key


class ListProposals(Page):
    regionId: str = Id
    stage: ProposalStage | None = None
    mine: bool = False  # a resident's own proposals (else: the public ones, for a resident)


class ListNotices(Page):
    regionId: str = Id


class ObjectToNotice(Wire):
    noticeId: str = Id
    text: str = Field(min_length=1, max_length=5000)


class SetDeliberationRule(Wire):
    communityId: str = Id
    attendanceNumerator: int = Field(default=2, ge=1, le=100)
    attendanceDenominator: int = Field(default=3, ge=1, le=100)
    majorityNumerator: int = Field(default=1, ge=1, le=100)
    majorityDenominator: int = Field(default=2, ge=1, le=100)
    noticePeriodSeconds: int | None = Field(default=None, ge=1, le=366 * 86400)


DELIBERATION_API = """
Verbs (yiwang.organizations.<verb>) and their replies:
  proposal.submit SubmitProposal -> Proposal     proposal.support ById -> Proposal (one per resident)
  proposal.advance AdvanceProposal -> Proposal   proposal.vote RecordVote -> Proposal
  proposal.get ById -> Proposal|null             proposal.list ListProposals -> Page of Proposal
  notice.list ListNotices -> Page of PublicNotice    notice.object ObjectToNotice -> PublicNotice
  rule.set SetDeliberationRule -> DeliberationRule   rule.get ById (a community id) -> DeliberationRule
Proposal: {id communityId title body source ref stage supportCount proposer proposerMasked supported minutes
  decision notices caseIds orderIds projectIds rejectedReason history submittedAt updatedAt version}
PublicNotice: {id proposalId communityId kind title text publishedAt endsAt open objections: [{id text at
  response respondedAt mine author}]}
"""

REQUESTS: dict[str, type[Wire]] = {
    "proposal.submit": SubmitProposal,
    "proposal.support": ById,
    "proposal.advance": AdvanceProposal,
    "proposal.vote": RecordVote,
    "proposal.get": ById,
    "proposal.list": ListProposals,
    "notice.list": ListNotices,
    "notice.object": ObjectToNotice,
    "rule.set": SetDeliberationRule,
    "rule.get": ById,
}
