"""Deliberation (一征三议两公开): residents' proposals, their support, the stages the community party
organisation moves them through, the representatives' vote, public notices with objections, and the
figures by stage (`overview.deliberation`). Thin: every rule and scope check is the service's."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.deliberation_client import DeliberationClient
from gateway.schema.case_types import Case
from gateway.schema.common import Connection, connection, ctx, dto_type, from_dto, graphql_enum, listing, orgs, when
from gateway.schema.funds import FundEntry, entry_node
from gateway.schema.territory import Region
from shared.auth import Role
from shared.contracts import deliberation as dc
from shared.contracts import funds as fc
from shared.contracts.common import ById
from shared.vocabulary import deliberation as vocab
from shared.vocabulary.deliberation import NoticeKind, ProposalSource, ProposalStage
from shared.vocabulary.resources import FundTargetKind

FUND_READERS = frozenset({Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR})  # fund.entries: staff in scope

graphql_enum(
    ProposalStage,
    description="一征三议两公开: 征集 → 党组织提议 → 两委商议 → 居民代表会议决议 → 决议公开 → 实施 → 结果公开, "
    "or REJECTED",
)
graphql_enum(ProposalSource, description="Who raised a proposal: 居民 党员 单位 热点 联席会议 三方联动")
graphql_enum(NoticeKind, description="决议公示 (with a notice period for objections) or 结果公开")


def community_of(dto: dict[str, Any]) -> Region:
    """The community a record names, as the record knows it (id, name, level: what a resident may see
    of it); the rest of the region loads, in the caller's scope, on first need."""
    return Region(dto={**dto["community"], "lazy": True})


def client(info: Info) -> DeliberationClient:
    c = ctx(info)
    c.principal  # noqa: B018 - deny by default: no call leaves without a valid token
    return DeliberationClient(c.rpc, c.token)


# --- types --------------------------------------------------------------------------------------------------


@dto_type(description="异议: a resident's objection to a decision's public notice, and staff's answer")
class NoticeObjection:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    text: str = from_dto()
    at: datetime = from_dto(convert=when)
    response: str | None = from_dto(description="Staff's answer; every objection has one before implementation")
    responded_at: datetime | None = from_dto(convert=when)
    mine: bool = from_dto(default=False, description="The caller's own objection")
    author: str | None = from_dto(description="Who objected: shown to staff in scope and to the objector only")


@dto_type(description="公示: a public notice of a proposal's decision (open for objections until endsAt) or result")
class PublicNotice:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    proposal_id: strawberry.ID = from_dto()

    @strawberry.field
    def community(self) -> Region:
        return community_of(self.dto)

    kind: NoticeKind = from_dto()
    title: str = from_dto()
    text: str = from_dto()
    published_at: datetime = from_dto(convert=when)
    ends_at: datetime | None = from_dto(convert=when, description="The end of the notice period (a DECISION's)")
    open: bool = from_dto(default=False, description="Objections are taken now")

    @strawberry.field
    def objections(self) -> list[NoticeObjection]:
        return [NoticeObjection(dto=o) for o in self.dto.get("objections") or []]


@dto_type(description="居民代表会议决议: the representatives' vote and the quorum rule it was held to")
class Decision:
    dto: strawberry.Private[dict[str, Any]]

    roll: list[str] = from_dto(default=[], description="The representatives on the roll (staff in scope only)")
    roll_count: int = from_dto()
    attended: int = from_dto()
    votes_for: int = from_dto()
    votes_against: int = from_dto()
    abstentions: int = from_dto()
    required_attendance: int = from_dto(description="The quorum: representatives who had to attend")
    required_for: int = from_dto(description="The fewest votes for that carry it")
    passed: bool = from_dto()
    held_at: datetime = from_dto(convert=when)


@strawberry.type(description="When a proposal reached a stage")
class ProposalStageChange:
    stage: ProposalStage
    at: datetime


@dto_type(
    description="居民议事提案: a proposal of a community's residents, members, units, a case hotspot or a joint "
    "meeting item, moved through 一征三议两公开. The proposer is masked to all but themself and staff in scope"
)
class Proposal:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    title: str = from_dto()
    body: str = from_dto()

    @strawberry.field
    def community(self) -> Region:
        return community_of(self.dto)

    stage: ProposalStage = from_dto()
    support_count: int = from_dto(description="Residents supporting it, one each")
    proposer: str = from_dto()
    minutes: list[str] = from_dto(default=[], description="The two committees' minutes (两委商议)")

    @strawberry.field
    def decision(self) -> Decision | None:
        d = self.dto.get("decision")
        return Decision(dto=d) if d else None

    @strawberry.field
    def notices(self) -> list[PublicNotice]:
        return [PublicNotice(dto=n) for n in self.dto.get("notices") or []]

    @strawberry.field(
        description="Spendings from the community fund that implement it (staff in scope; residents "
        "read them in the fund's public summary)"
    )
    async def spending(self, info: Info) -> list[FundEntry]:
        if ctx(info).principal.role not in FUND_READERS:
            return []
        body = checked(fc.EntriesByTarget, kind=FundTargetKind.PROPOSAL, id=self.dto["id"], first=100)
        return [entry_node(x) for x in (await orgs(info).fund_entries_of(body))["items"]]

    @strawberry.field(description="The cases that implement it (those in your scope)")
    async def cases(self, info: Info) -> list[Case]:
        ids = list(self.dto.get("caseIds") or [])[:100]
        loaded = await asyncio.gather(*(ctx(info).loaders.case_by_id.load(i) for i in ids), return_exceptions=True)
        return [Case(dto=dto) for dto in loaded if isinstance(dto, dict)]

    source: ProposalSource = from_dto()
    ref: str | None = from_dto(description="The member, unit, hotspot or meeting it came from (staff only)")
    proposer_masked: bool = from_dto(default=False)
    mine: bool = from_dto(default=False, description="The caller raised it")
    supported: bool = from_dto(default=False, description="The caller supports it")
    case_ids: list[strawberry.ID] = from_dto(default=[])
    order_ids: list[strawberry.ID] = from_dto(default=[], description="Service orders that implement it")
    project_ids: list[strawberry.ID] = from_dto(default=[], description="Projects (项目清单) that implement it")
    rejected_reason: str | None = from_dto()

    @strawberry.field
    def history(self) -> list[ProposalStageChange]:
        return [
            ProposalStageChange(stage=ProposalStage(h["stage"]), at=when(h["at"]))
            for h in self.dto.get("history") or []
        ]

    submitted_at: datetime = from_dto(convert=when)
    updated_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


ProposalConnection = Connection[Proposal]
PublicNoticeConnection = Connection[PublicNotice]


@dto_type(description="A community's deliberation rule: quorum, majority and the shortest notice period")
class DeliberationRule:
    dto: strawberry.Private[dict[str, Any]]

    @strawberry.field
    def community(self) -> Region:
        return community_of(self.dto)

    attendance_numerator: int = from_dto(description="Attendance of at least numerator/denominator of the roll")
    attendance_denominator: int = from_dto()
    majority_numerator: int = from_dto(description="More than numerator/denominator of those present vote for")
    majority_denominator: int = from_dto()
    notice_period_seconds: int = from_dto(description="The shortest notice period here (never below the deployment's)")


@strawberry.type(description="Proposals now at one stage")
class ProposalStageCount:
    stage: ProposalStage
    count: int


@strawberry.type(description="Deliberation figures of a region and everything below it, kept with the writes")
class DeliberationStats:
    proposal_count: int = strawberry.field(description=vocab.DELIBERATION_COUNTERS["proposals"])
    by_stage: list[ProposalStageCount] = strawberry.field(description="Proposals per stage they are at now")


async def load_deliberation_stats(info: Info, region_id: str) -> DeliberationStats:
    """From the organizations service's region figures (the same batched read as `overview.organizations`)."""
    dto = await ctx(info).loaders.org_stats_by_region.load(region_id) or {}
    by_stage = {x["stage"]: int(x["count"]) for x in dto.get("proposalsByStage") or []}
    return DeliberationStats(
        proposal_count=int(dto.get("proposalCount") or 0),
        by_stage=[ProposalStageCount(stage=s, count=by_stage.get(s.value, 0)) for s in ProposalStage],
    )


# --- inputs -------------------------------------------------------------------------------------------------


@strawberry.input(description="A proposal: a resident's own (source RESIDENT), or one staff record for its source")
class SubmitProposalInput:
    community_id: strawberry.ID = strawberry.field(description="The COMMUNITY it concerns")
    title: str
    body: str
    source: ProposalSource | None = strawberry.field(default=None, description="Default RESIDENT")
    ref: str | None = strawberry.field(
        default=None, description="MEMBER: member id; UNIT: unit id; HOTSPOT: grid:category:day; MEETING: meeting id"
    )
    proposer_name: str | None = strawberry.field(default=None, description="The name shown (masked to others)")
    idempotency_key: str | None = strawberry.field(default=None, description="A retry returns the first proposal")


@strawberry.input(description="An answer to an objection")
class ObjectionResponseInput:
    objection_id: strawberry.ID
    text: str


@strawberry.input(description="A case to report for the proposal's implementation, in a grid of its community")
class ProposalCaseInput:
    category_code: str
    grid_id: strawberry.ID
    description: str | None = None


@strawberry.input(
    description="The next stage and what it needs: DISCUSSED minutes; NOTICED noticeText (noticePeriodSeconds at "
    "least the community's minimum); IMPLEMENTING answers to every objection, links, a case; RESULT_PUBLISHED "
    "resultText; REJECTED a reason. DECIDED only by recordRepresentativesVote"
)
class AdvanceProposalInput:
    to: ProposalStage
    minutes: str | None = None
    notice_text: str | None = None
    notice_period_seconds: int | None = None
    responses: list[ObjectionResponseInput] | None = None
    case: ProposalCaseInput | None = None
    case_ids: list[strawberry.ID] | None = None
    order_ids: list[strawberry.ID] | None = None
    project_ids: list[strawberry.ID] | None = None
    result_text: str | None = None
    reason: str | None = None
    expected_version: int | None = strawberry.field(default=None, description="Refuse with CONFLICT unless at it")
    idempotency_key: str | None = None


@strawberry.input(description="A residents' representatives meeting's vote: the roll, who attended, the counts")
class VoteInput:
    roll: list[str]
    attendees: list[str]
    votes_for: int
    votes_against: int = 0
    abstentions: int = 0
    expected_version: int | None = None
    idempotency_key: str | None = None


@strawberry.input(description="A community's rule; the notice period may only be longer than the deployment's")
class DeliberationRuleInput:
    attendance_numerator: int = 2
    attendance_denominator: int = 3
    majority_numerator: int = 1
    majority_denominator: int = 2
    notice_period_seconds: int | None = None


# --- operations ---------------------------------------------------------------------------------------------


@strawberry.type
class DeliberationQuery:
    @strawberry.field(
        description="Staff: the proposals of a region in scope. A resident: the public ones "
        "(NOTICED and later), or with `mine` their own at any stage"
    )
    async def proposals(
        self,
        info: Info,
        region_id: strawberry.ID,
        stage: ProposalStage | None = None,
        first: int | None = None,
        after: str | None = None,
        mine: bool | None = None,
    ) -> ProposalConnection:
        fields = {"regionId": str(region_id), "stage": stage, "mine": mine}
        page = await client(info).list_proposals(listing(dc.ListProposals, fields, first, after))
        return connection(page, lambda x: Proposal(dto=x))

    @strawberry.field(description="A proposal: staff in scope; a resident's own, supported or public one")
    async def proposal(self, info: Info, id: strawberry.ID) -> Proposal | None:
        dto = await client(info).get_proposal(checked(ById, id=str(id)))
        return Proposal(dto=dto) if dto else None

    @strawberry.field(description="Public notices of a region's communities: public to everyone with a token")
    async def public_notices(
        self, info: Info, region_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> PublicNoticeConnection:
        page = await client(info).list_notices(listing(dc.ListNotices, {"regionId": str(region_id)}, first, after))
        return connection(page, lambda x: PublicNotice(dto=x))

    @strawberry.field(description="A community's deliberation rule (the defaults unless it set its own)")
    async def deliberation_rule(self, info: Info, community_id: strawberry.ID) -> DeliberationRule:
        return DeliberationRule(dto=await client(info).get_rule(checked(ById, id=str(community_id))))


@strawberry.type
class DeliberationMutation:
    @strawberry.mutation(description="征: raise a proposal (a resident for themself; staff for its source)")
    async def submit_proposal(self, info: Info, input: SubmitProposalInput) -> Proposal:
        return Proposal(dto=await client(info).submit_proposal(checked(dc.SubmitProposal, input)))

    @strawberry.mutation(description="A resident supports a proposal, once (again changes nothing)")
    async def support_proposal(self, info: Info, id: strawberry.ID) -> Proposal:
        return Proposal(dto=await client(info).support_proposal(checked(ById, id=str(id))))

    @strawberry.mutation(description="Move a proposal to its next stage, with minutes / notice / links / result")
    async def advance_proposal(self, info: Info, id: strawberry.ID, input: AdvanceProposalInput) -> Proposal:
        return Proposal(dto=await client(info).advance_proposal(checked(dc.AdvanceProposal, input, id=str(id))))

    @strawberry.mutation(description="决议: the representatives' vote; refused without quorum, with the reason")
    async def record_representatives_vote(self, info: Info, proposal_id: strawberry.ID, input: VoteInput) -> Proposal:
        body = checked(dc.RecordVote, input, id=str(proposal_id))
        return Proposal(dto=await client(info).record_vote(body))

    @strawberry.mutation(description="A resident objects to a decision's notice during its notice period")
    async def object_to_notice(self, info: Info, notice_id: strawberry.ID, text: str) -> PublicNotice:
        body = checked(dc.ObjectToNotice, noticeId=str(notice_id), text=text)
        return PublicNotice(dto=await client(info).object_to_notice(body))

    @strawberry.mutation(description="Set a community's quorum, majority and (longer) notice period")
    async def set_deliberation_rule(
        self, info: Info, community_id: strawberry.ID, input: DeliberationRuleInput
    ) -> DeliberationRule:
        body = checked(dc.SetDeliberationRule, input, communityId=str(community_id))
        return DeliberationRule(dto=await client(info).set_rule(body))
