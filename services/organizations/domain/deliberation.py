"""一征三议两公开: residents' proposals collected (征), proposed by the community's party
organisation (提议), discussed by the two committees (两委商议), decided by a residents'
representatives meeting (居民代表会议决议), published with a notice period for objections
(决议公开), implemented and their result published (结果公开).

A proposal moves one stage at a time, only forward, by staff of its community (admin or operator
in scope); REJECTED ends any open stage, with a reason. DECIDED is reached only by a vote that
meets the community's quorum rule (`DeliberationRule`); a vote that meets it but not the majority
rejects the proposal, since the representatives did decide. The notice period is at least the
deployment's (`YIWANG_NOTICE_PERIOD_S`) and a community's own longer one; implementation starts
once it has passed and every objection has an answer.

Residents support a proposal once each: the service keeps one support record per proposal and
resident beside the counter, in the same transaction, so `support_count` is exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal, Role, public_actor
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.deliberation import NoticeKind, ProposalSource, ProposalStage

from .enums import Action
from .events import Aggregate
from .policy import authorize, is_allowed
from .values import NAME_MAX, TEXT_MAX, Node, text

S = ProposalStage
NEXT: dict[ProposalStage, ProposalStage] = {
    S.COLLECTED: S.PROPOSED,
    S.PROPOSED: S.DISCUSSED,
    S.DISCUSSED: S.DECIDED,
    S.DECIDED: S.NOTICED,
    S.NOTICED: S.IMPLEMENTING,
    S.IMPLEMENTING: S.RESULT_PUBLISHED,
}
OPEN_STAGES = frozenset(NEXT)
PUBLIC_STAGES = frozenset({S.NOTICED, S.IMPLEMENTING, S.RESULT_PUBLISHED})
SUPPORTABLE = frozenset({S.COLLECTED, S.PROPOSED, S.DISCUSSED})  # until the representatives vote
PERSONAL_SOURCES = frozenset({ProposalSource.RESIDENT, ProposalSource.MEMBER})  # the proposer is a person
MAX_OBJECTIONS = 1000  # one per resident, kept on the notice: bounded so a notice stays a small document
THREE_PARTY_PROPOSER = "三方联动会议"  # who proposes what a 三方联动 meeting put forward
MAX_LINKS = 100
SUPPORT_KEY = "support:"  # + proposal id + ":" + the resident's sub: one support each


def support_key(proposal_id: str, sub: str) -> str:
    return f"{SUPPORT_KEY}{proposal_id}:{sub}"


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class DeliberationRule(BaseModel):
    """A community's rule for its representatives' meetings and notices: attendance of at
    least `attendance` of the roll, more than `majority` of those present voting for, and a
    notice period of at least `notice_period_s` (never below the deployment's minimum)."""

    model_config = ConfigDict(frozen=True)

    attendance_num: int = 2
    attendance_den: int = 3
    majority_num: int = 1
    majority_den: int = 2
    notice_period_s: int | None = None

    def checked(self, floor_s: int) -> DeliberationRule:
        for what, num, den in (
            ("attendance", self.attendance_num, self.attendance_den),
            ("majority", self.majority_num, self.majority_den),
        ):
            if den < 1 or num < 1 or num > den:
                raise BadInput(f"the {what} share must be a fraction between 0 and 1 (got {num}/{den})")
        if self.notice_period_s is not None and self.notice_period_s < floor_s:
            raise BadInput(
                f"a notice period of {self.notice_period_s} s is shorter than the configured minimum of {floor_s} s",
                {"noticePeriodSeconds": self.notice_period_s, "minimum": floor_s},
            )
        return self

    def min_notice_s(self, floor_s: int) -> int:
        return max(floor_s, self.notice_period_s or 0)

    def required_attendance(self, roll: int) -> int:
        return _ceil_div(self.attendance_num * roll, self.attendance_den)

    def required_for(self, present: int) -> int:
        """The fewest votes for that are more than `majority` of those present."""
        return self.majority_num * present // self.majority_den + 1


class CommunityRule(Aggregate):
    """A community's own deliberation rule (the record's id is the community's); without one,
    the defaults of `DeliberationRule` hold."""

    aggregate_name: ClassVar[str] = "deliberation_rule"

    community_path: tuple[str, ...]
    rule: DeliberationRule

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def new(cls, community: Node, by: Principal, now: datetime) -> CommunityRule:
        if community.level != "COMMUNITY":
            raise BadInput(f"a deliberation rule is a COMMUNITY's, not a {community.level}'s")
        record = cls(id=community.id, community_path=community.path, rule=DeliberationRule(), version=0)
        authorize(by, Action.SET_DELIBERATION_RULE, record)
        return record

    def set(self, rule: DeliberationRule, floor_s: int, by: Principal, now: datetime) -> None:
        authorize(by, Action.SET_DELIBERATION_RULE, self)
        rule.checked(floor_s)
        self._change(now)
        self.rule = rule
        self._emit(
            "DELIBERATION_RULE_SET",
            by,
            now,
            quorum=f"{rule.attendance_num}/{rule.attendance_den}",
            majority=f"{rule.majority_num}/{rule.majority_den}",
            noticePeriodS=rule.min_notice_s(floor_s),
        )


class Decision(BaseModel):
    """What the representatives' meeting decided, with the rule it was held to."""

    roll: list[str]
    attendees: list[str]
    votes_for: int
    votes_against: int
    abstentions: int
    required_attendance: int
    required_for: int
    passed: bool
    held_at: datetime


def count_vote(
    roll: Sequence[str],
    attendees: Sequence[str],
    votes_for: int,
    votes_against: int,
    abstentions: int,
    rule: DeliberationRule,
    now: datetime,
) -> Decision:
    """The decision of a vote, or BadInput with the reason: a voter not on the roll, counts that do
    not add up to those present, or no quorum."""
    names = [text(r, "roll", NAME_MAX) for r in roll]
    if not names:
        raise BadInput("the roll of representatives is empty")
    if len(set(names)) != len(names):
        raise BadInput("the roll names a representative twice")
    present = [text(a, "attendees", NAME_MAX) for a in attendees]
    if len(set(present)) != len(present):
        raise BadInput("the attendance names a representative twice")
    strangers = [a for a in present if a not in set(names)]
    if strangers:
        raise BadInput(f"not on the roll of representatives: {', '.join(strangers)}", {"notOnRoll": strangers})
    if min(votes_for, votes_against, abstentions) < 0:
        raise BadInput("vote counts cannot be negative")
    cast = votes_for + votes_against + abstentions
    if cast != len(present):
        raise BadInput(
            f"the votes ({votes_for} for, {votes_against} against, {abstentions} abstaining) add up to {cast}, "
            f"but {len(present)} representatives attended",
            {"votes": cast, "attended": len(present)},
        )
    need = rule.required_attendance(len(names))
    if len(present) < need:
        raise BadInput(
            f"no quorum: {len(present)} of {len(names)} representatives attended, {need} needed "
            f"({rule.attendance_num}/{rule.attendance_den} of the roll)",
            {"attended": len(present), "required": need, "roll": len(names)},
        )
    need_for = rule.required_for(len(present))
    return Decision(
        roll=names,
        attendees=present,
        votes_for=votes_for,
        votes_against=votes_against,
        abstentions=abstentions,
        required_attendance=need,
        required_for=need_for,
        passed=votes_for >= need_for,
        held_at=now,
    )


class StageChange(BaseModel):
    stage: ProposalStage
    at: datetime
    actor: str | None = None


class Objection(BaseModel):
    id: str
    sub: str
    text: str
    at: datetime
    response: str = ""
    responded_at: datetime | None = None


class PublicNotice(Aggregate):
    """A public notice of a proposal: its decision (with a notice period for objections) or its result."""

    aggregate_name: ClassVar[str] = "notice"

    proposal_id: str
    community_id: str
    community_path: tuple[str, ...]
    kind: NoticeKind
    title: str
    text: str
    published_at: datetime
    ends_at: datetime | None = None
    objections: list[Objection] = Field(default_factory=list)

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    def open_at(self, now: datetime) -> bool:
        return self.kind is NoticeKind.DECISION and self.ends_at is not None and now < self.ends_at

    @property
    def unanswered(self) -> list[str]:
        return [o.id for o in self.objections if not o.response]

    def object(self, sub: str, text_: str, by: Principal, now: datetime) -> Objection:
        """A resident's objection, during the notice period only; one each (the same again is a
        retry and changes nothing)."""
        body = text(text_, "text", TEXT_MAX)
        mine = next((o for o in self.objections if o.sub == sub), None)
        if mine is not None:
            if mine.text == body:
                return mine
            raise Conflict("you have objected to this notice already", {"objectionId": mine.id})
        if len(self.objections) >= MAX_OBJECTIONS:
            raise Conflict(
                f"this notice holds {MAX_OBJECTIONS} objections already; raise yours with the community "
                "party organisation",
                {"noticeId": self.id},
            )
        if not self.open_at(now):
            raise Conflict(
                "objections are taken during the notice period only"
                + (f"; it ended at {self.ends_at.isoformat()}" if self.ends_at else ""),
                {"noticeId": self.id},
            )
        objection = Objection(id=f"o{len(self.objections) + 1}", sub=sub, text=body, at=now)
        self._change(now)
        self.objections.append(objection)
        self._emit(
            "NOTICE_OBJECTED",
            by,
            now,
            proposalId=self.proposal_id,
            objectionId=objection.id,
            objections=len(self.objections),
        )
        return objection

    def answer(self, responses: Mapping[str, str], by: Principal, now: datetime) -> None:
        """Staff's answers to objections (a later answer replaces an earlier one)."""
        if not responses:
            return
        known = {o.id: o for o in self.objections}
        unknown = [i for i in responses if i not in known]
        if unknown:
            raise BadInput(f"notice {self.id} has no objection {', '.join(unknown)}", {"objectionIds": unknown})
        answers = {i: text(t, "response", TEXT_MAX) for i, t in responses.items()}
        self._change(now)
        for i, t in answers.items():
            known[i].response, known[i].responded_at = t, now
        self._emit("OBJECTION_ANSWERED", by, now, proposalId=self.proposal_id, objectionIds=sorted(answers))


class Links(BaseModel):
    """What implements a decision: cases, service orders and projects, by id."""

    case_ids: list[str] = Field(default_factory=list)
    order_ids: list[str] = Field(default_factory=list)
    project_ids: list[str] = Field(default_factory=list)


class Proposal(Aggregate):
    aggregate_name: ClassVar[str] = "proposal"

    community_id: str
    community_path: tuple[str, ...]
    title: str
    body: str
    source: ProposalSource
    ref: str = ""
    proposer_sub: str | None = None  # a resident who proposed it themself
    proposer_name: str
    stage: ProposalStage = S.COLLECTED
    support_count: int = 0
    minutes: list[str] = Field(default_factory=list)
    decision: Decision | None = None
    notice_ids: list[str] = Field(default_factory=list)
    case_ids: list[str] = Field(default_factory=list)
    order_ids: list[str] = Field(default_factory=list)
    project_ids: list[str] = Field(default_factory=list)
    case_request: dict[str, str] | None = None
    rejected_reason: str = ""
    history: list[StageChange] = Field(default_factory=list)
    submitted_at: datetime

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @property
    def public(self) -> bool:
        return self.stage in PUBLIC_STAGES

    @property
    def awaits_case(self) -> bool:
        return self.case_request is not None and self.case_request.get("caseId") is None

    # -- 征: collecting ----------------------------------------------------------------------
    @classmethod
    def submit(
        cls,
        *,
        id: str,
        community: Node,
        title: str,
        body: str,
        source: ProposalSource,
        ref: str,
        proposer_name: str,
        by: Principal,
        now: datetime,
    ) -> Proposal:
        """A resident proposes for themself (source RESIDENT, in any community they name); staff
        in scope record a proposal of a resident, member, unit, hotspot or meeting item, with its
        reference (the caller checks that the member, unit or meeting exists in the community)."""
        if community.level != "COMMUNITY":
            raise BadInput(
                f"a proposal is raised in a COMMUNITY, not a {community.level}", {"communityId": community.id}
            )
        resident = by.role is Role.RESIDENT
        if resident and source is not ProposalSource.RESIDENT:
            raise BadInput("a resident raises a proposal as RESIDENT")
        ref = text(ref, "ref", 100, required=False)
        if source is not ProposalSource.RESIDENT and not ref:
            raise BadInput(f"a {source} proposal names its {source.lower()} (`ref`)")
        default_name = "居民" if source is ProposalSource.RESIDENT else ""
        p = cls(
            id=id,
            community_id=community.id,
            community_path=community.path,
            title=text(title, "title", 200),
            body=text(body, "body", TEXT_MAX),
            source=source,
            ref=ref,
            proposer_sub=by.sub if resident else None,
            proposer_name=text(proposer_name or default_name or ref, "proposerName", NAME_MAX),
            submitted_at=now,
            updated_at=now,
            history=[StageChange(stage=S.COLLECTED, at=now, actor=public_actor(by))],
        )
        if not resident:
            authorize(by, Action.DELIBERATE, p)
        p._emit("PROPOSAL_SUBMITTED", by, now, communityId=community.id, proposalSource=str(source), title=p.title)
        return p

    def support(self, by: Principal, now: datetime) -> None:
        """One more resident's support (the caller has claimed the resident's support key)."""
        if self.stage not in SUPPORTABLE:
            raise Conflict(
                f"proposal {self.id} is {self.stage}: support is collected until the representatives vote",
                {"stage": str(self.stage)},
            )
        self._change(now)
        self.support_count += 1
        self._emit("PROPOSAL_SUPPORTED", by, now, supportCount=self.support_count)

    # -- 三议: moving on -----------------------------------------------------------------------
    def _check_next(self, to: ProposalStage) -> None:
        if self.stage not in OPEN_STAGES or NEXT[self.stage] is not to:
            after = NEXT.get(self.stage)
            raise Conflict(
                f"proposal {self.id} is {self.stage}; "
                + (f"its next stage is {after}, not {to}" if after else "it is closed"),
                {"stage": str(self.stage), "to": str(to)},
            )

    def _move(self, to: ProposalStage, by: Principal, now: datetime) -> ProposalStage:
        old = self.stage
        self._change(now)
        self.stage = to
        self.history.append(StageChange(stage=to, at=now, actor=public_actor(by)))
        return old

    def propose(self, by: Principal, now: datetime) -> None:
        """党组织提议: the party organisation takes it up."""
        authorize(by, Action.DELIBERATE, self)
        self._check_next(S.PROPOSED)
        old = self._move(S.PROPOSED, by, now)
        self._emit("PROPOSAL_ADVANCED", by, now, fromStage=str(old), toStage=str(self.stage))

    def discuss(self, minutes: str, by: Principal, now: datetime) -> None:
        """两委商议: the two committees discussed it; their minutes are required."""
        authorize(by, Action.DELIBERATE, self)
        self._check_next(S.DISCUSSED)
        if not (minutes or "").strip():
            raise BadInput("the two committees' discussion (两委商议) needs its minutes")
        body = text(minutes, "minutes", TEXT_MAX)
        old = self._move(S.DISCUSSED, by, now)
        self.minutes.append(body)
        self._emit("PROPOSAL_ADVANCED", by, now, fromStage=str(old), toStage=str(self.stage))

    def record_vote(self, decision: Decision, by: Principal, now: datetime) -> None:
        """居民代表会议决议: a vote that met the quorum decides; voted down, the proposal is rejected."""
        authorize(by, Action.DELIBERATE, self)
        self._check_next(S.DECIDED)
        old = self._move(S.DECIDED if decision.passed else S.REJECTED, by, now)
        self.decision = decision
        self._emit(
            "PROPOSAL_VOTED",
            by,
            now,
            fromStage=str(old),
            toStage=str(self.stage),
            passed=decision.passed,
            roll=len(decision.roll),
            attended=len(decision.attendees),
            votesFor=decision.votes_for,
            votesAgainst=decision.votes_against,
            abstentions=decision.abstentions,
        )
        if not decision.passed:
            self.rejected_reason = (
                f"voted down by the representatives: {decision.votes_for} for of {len(decision.attendees)} present, "
                f"{decision.required_for} needed"
            )
            self._emit("PROPOSAL_REJECTED", by, now, fromStage=str(S.DISCUSSED), byVote=True)

    # -- 两公开: publishing ---------------------------------------------------------------------
    def publish_notice(
        self, *, notice_id: str, text_: str, period_s: int | None, min_period_s: int, by: Principal, now: datetime
    ) -> PublicNotice:
        """决议公开: the decision's public notice, open for objections for at least the minimum period."""
        authorize(by, Action.DELIBERATE, self)
        self._check_next(S.NOTICED)
        period = min_period_s if period_s is None else period_s
        if period < min_period_s:
            raise BadInput(
                f"a notice period of {period} s is shorter than this community's minimum of {min_period_s} s",
                {"noticePeriodSeconds": period, "minimum": min_period_s},
            )
        notice = self._notice(notice_id, NoticeKind.DECISION, text_, now, now + timedelta(seconds=period))
        old = self._move(S.NOTICED, by, now)
        self.notice_ids.append(notice.id)
        self._emit("PROPOSAL_ADVANCED", by, now, fromStage=str(old), toStage=str(self.stage), noticeId=notice.id)
        notice._emit(
            "NOTICE_PUBLISHED", by, now, proposalId=self.id, noticeKind=str(notice.kind), endsAt=notice.ends_at
        )
        return notice

    def implement(
        self,
        notice: PublicNotice,
        *,
        responses: Mapping[str, str],
        links: Links,
        case_request: dict[str, str] | None,
        by: Principal,
        now: datetime,
    ) -> None:
        """实施: once the notice period has passed and every objection has an answer (given now or
        before), with what implements it (cases, orders, projects; a case to report)."""
        authorize(by, Action.DELIBERATE, self)
        self._check_next(S.IMPLEMENTING)
        if notice.id != self.notice_ids[-1]:
            raise BadInput(f"notice {notice.id} is not this proposal's decision notice")
        if notice.ends_at is not None and now < notice.ends_at:
            raise Conflict(
                f"the notice period runs until {notice.ends_at.isoformat()}; implementation starts after it",
                {"endsAt": notice.ends_at.isoformat()},
            )
        unknown = [i for i in responses if i not in {o.id for o in notice.objections}]
        missing = [i for i in notice.unanswered if i not in responses]
        if unknown or missing:
            raise BadInput(
                "every objection needs an answer before implementation: "
                + (f"unanswered {', '.join(missing)}" if missing else f"no objection {', '.join(unknown)}"),
                {"unanswered": missing, "unknown": unknown},
            )
        notice.answer(responses, by, now)
        old = self._move(S.IMPLEMENTING, by, now)
        self._link(links)
        self.case_request = case_request
        self._emit(
            "PROPOSAL_ADVANCED",
            by,
            now,
            fromStage=str(old),
            toStage=str(self.stage),
            caseIds=self.case_ids,
            orderIds=self.order_ids,
            projectIds=self.project_ids,
            caseRequested=case_request is not None,
        )

    def publish_result(self, *, notice_id: str, text_: str, links: Links, by: Principal, now: datetime) -> PublicNotice:
        """结果公开: the result's public notice; the proposal is done."""
        authorize(by, Action.DELIBERATE, self)
        self._check_next(S.RESULT_PUBLISHED)
        notice = self._notice(notice_id, NoticeKind.RESULT, text_, now, None)
        old = self._move(S.RESULT_PUBLISHED, by, now)
        self._link(links)
        self.notice_ids.append(notice.id)
        self._emit("RESULT_PUBLISHED", by, now, fromStage=str(old), noticeId=notice.id, caseIds=self.case_ids)
        notice._emit("NOTICE_PUBLISHED", by, now, proposalId=self.id, noticeKind=str(notice.kind), endsAt=None)
        return notice

    def reject(self, reason: str, by: Principal, now: datetime) -> None:
        authorize(by, Action.DELIBERATE, self)
        if self.stage not in OPEN_STAGES:
            raise Conflict(f"proposal {self.id} is {self.stage}; it is closed", {"stage": str(self.stage)})
        if not (reason or "").strip():
            raise BadInput("rejecting a proposal needs a reason")
        why = text(reason, "reason", 500)
        old = self._move(S.REJECTED, by, now)
        self.rejected_reason = why
        self._emit("PROPOSAL_REJECTED", by, now, fromStage=str(old), byVote=False)

    def _notice(
        self, notice_id: str, kind: NoticeKind, text_: str, now: datetime, ends: datetime | None
    ) -> PublicNotice:
        if not (text_ or "").strip():
            raise BadInput(f"a {kind.lower()} notice needs its text")
        return PublicNotice(
            id=notice_id,
            proposal_id=self.id,
            community_id=self.community_id,
            community_path=self.community_path,
            kind=kind,
            title=self.title,
            text=text(text_, "noticeText", TEXT_MAX),
            published_at=now,
            ends_at=ends,
            updated_at=now,
        )

    def _link(self, links: Links) -> None:
        for mine, more in (
            (self.case_ids, links.case_ids),
            (self.order_ids, links.order_ids),
            (self.project_ids, links.project_ids),
        ):
            for x in more:
                if x and x not in mine:
                    mine.append(text(x, "id", 64))
            if len(mine) > MAX_LINKS:
                raise BadInput(f"a proposal links at most {MAX_LINKS} records of a kind")

    def link_case(self, case_id: str, now: datetime) -> bool:
        """The case the service reported for the proposal's case request; a repeat changes nothing."""
        if self.case_request is None:
            raise Conflict(f"proposal {self.id} has no case request")
        if case_id in self.case_ids:
            return False
        self._change(now)
        self.case_request = {**self.case_request, "caseId": case_id}
        self.case_ids.append(case_id)
        self._emit("PROPOSAL_CASE_LINKED", None, now, caseId=case_id)
        return True


def case_report(p: Proposal) -> dict[str, str]:
    """What `cases` is sent (`case.report`) for a proposal's case request: reported by the
    community's deliberation, the idempotency key (`proposal:<id>`) as its source. Its channel
    is JOINT_MEETING, the party-led deliberation channel: `cases` takes a service's report on
    that channel (or a visit's) only."""
    if p.case_request is None:
        raise Conflict(f"proposal {p.id} has no case request")
    request = {k: v for k, v in p.case_request.items() if k != "caseId"}
    return {**request, "reporterName": "居民议事", "source": request["idempotencyKey"]}


def case_request(p: Proposal, category_code: str, grid: Node, description: str) -> dict[str, str]:
    """A case to report for the proposal, in a grid of its community (idempotency key `proposal:<id>`)."""
    if grid.level != "GRID" or p.community_id not in grid.path:
        raise BadInput(f"{grid.name or grid.id} is not a grid of community {p.community_id}", {"gridId": grid.id})
    return {
        "title": p.title,
        "description": text(description or p.body, "description", TEXT_MAX),
        "categoryCode": text(category_code, "categoryCode", 64),
        "regionId": grid.id,
        "channel": "JOINT_MEETING",
        "idempotencyKey": f"proposal:{p.id}",
    }


# -- who sees what ------------------------------------------------------------------------------
def is_proposer(p: Principal, proposal: Proposal) -> bool:
    return p.role is Role.RESIDENT and proposal.proposer_sub == p.sub


def staff_sees(p: Principal, record: Proposal | PublicNotice) -> bool:
    return is_allowed(p, Action.VIEW, record)


def can_read(p: Principal, proposal: Proposal, supported: bool = False) -> bool:
    """Staff in scope; a resident: their own proposals, those they support, and public ones."""
    if staff_sees(p, proposal):
        return True
    if p.role is not Role.RESIDENT:
        return False
    return is_proposer(p, proposal) or supported or proposal.public


def require_resident(p: Principal, what: str) -> None:
    if p.role is not Role.RESIDENT:
        raise Forbidden(f"only a resident may {what}", {"role": str(p.role)})


def from_three_party(
    *, id: str, meeting_id: str, item_id: str, title: str, estate: str, community: Node, by: Principal, now: datetime
) -> Proposal:
    """An item a 三方联动 meeting (居委会 + 物业 + 业委会) put forward as a proposal: collected (征) in
    the meeting's community, recorded with the meeting in one transaction, then moved like any other."""
    return Proposal.submit(
        id=id,
        community=community,
        title=title,
        body=f"{estate}三方联动会议提出：{title}",
        source=ProposalSource.THREE_PARTY,
        ref=f"{meeting_id}:{item_id}",
        proposer_name=THREE_PARTY_PROPOSER,
        by=by,
        now=now,
    )


# -- 参与议事: residents' points for taking part -------------------------------------------------
PARTICIPATION_RULE = "DELIBERATION"  # the residents' points rule (volunteers' rule table) it earns


class ParticipationAct(StrEnum):
    SUBMITTED = "SUBMITTED"  # raised the proposal
    SUPPORTED = "SUPPORTED"
    OBJECTED = "OBJECTED"  # objected to its decision's notice


class ParticipationOutcome(StrEnum):
    AWARDED = "AWARDED"  # credited (or credited before, for the same proposal)
    CAP_REACHED = "CAP_REACHED"  # the rule's cap for the period was reached: nothing credited
    NOT_AWARDED = "NOT_AWARDED"  # the rule table has no such rule, or refused it otherwise (`reason`)


class Participation(BaseModel):
    """A resident's part in one proposal, recorded with the act in its transaction, so the points
    it earns are credited (`points.residentAward`) even when the volunteers service is away: the
    record stays pending until an answer settles it. The occasion is the proposal: raising,
    supporting and objecting to one proposal earn the rule once."""

    id: str
    sub: str
    proposal_id: str
    community_id: str
    act: ParticipationAct
    at: datetime
    pending: bool = True
    outcome: ParticipationOutcome | None = None
    reason: str | None = None
    entry_id: str | None = None
    settled_at: datetime | None = None

    @property
    def occasion(self) -> str:
        return f"proposal:{self.proposal_id}"

    def award_request(self) -> dict[str, str]:
        """What `points.residentAward` is asked; the participation's id keys its retries."""
        return {
            "sub": self.sub,
            "ruleCode": PARTICIPATION_RULE,
            "regionId": self.community_id,
            "occasion": self.occasion,
            "idempotencyKey": f"participation:{self.id}",
        }

    def settle(
        self, outcome: ParticipationOutcome, now: datetime, entry_id: str | None = None, reason: str = ""
    ) -> None:
        self.pending, self.outcome, self.settled_at = False, outcome, now
        self.entry_id, self.reason = entry_id, reason[:200] or None


def participate(
    aggregate: Proposal | PublicNotice,
    *,
    id: str,
    act: ParticipationAct,
    community_id: str,
    by: Principal,
    now: datetime,
) -> Participation | None:
    """A resident's act on a proposal (raising, supporting) or its notice (objecting) earns 参与议事
    points: the record to credit them, and PARTICIPATION_RECORDED on the record the act changed
    (no resident named). Staff acting for someone earn nothing."""
    if by.role is not Role.RESIDENT:
        return None
    proposal_id = aggregate.id if isinstance(aggregate, Proposal) else aggregate.proposal_id
    aggregate._emit(
        "PARTICIPATION_RECORDED", by, now, proposalId=proposal_id, act=str(act), ruleCode=PARTICIPATION_RULE
    )
    return Participation(id=id, sub=by.sub, proposal_id=proposal_id, community_id=community_id, act=act, at=now)
