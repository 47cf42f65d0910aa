"""`proposal.*`, `notice.*`, `rule.*`: deliberation (一征三议两公开) of a community's residents'
proposals (rules in domain/deliberation.py).

Who calls what: residents submit (for themselves, in a community they name), support (any
proposal they have the id of, once each) and object to public notices; staff of the community
(admin, operator in scope) record proposals of members, units, hotspots and meetings and move
them; anyone with a token reads public notices and communities' rules. Every verb decides its
own callers, so the subject table lets them all through its staff gate (`DELIBERATION_VERBS`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from pymongo.errors import DuplicateKeyError

from services.organizations import domain as d
from services.organizations.deliberation_store import DeliberationStore
from services.organizations.deliberation_views import notice_view, proposal_view, rule_view
from services.organizations.domain.deliberation import SUPPORTABLE, case_report, case_request, require_resident
from services.organizations.handlers.common import Feature, OrgContext
from shared.auth import Principal, Role, hidden, require_any_role
from shared.commands import page_reply
from shared.contracts import deliberation as w
from shared.contracts.common import ById
from shared.errors import BadInput, Conflict, DomainError, LostRace, NotFound
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now
from shared.vocabulary.deliberation import ProposalSource, ProposalStage

log = logging.getLogger("yiwang.organizations")
STAFF = frozenset({Role.ADMIN, Role.OPERATOR})
PROPOSERS = STAFF | {Role.RESIDENT}
PARTICIPATION_BATCH = 50  # participations credited per event or sweep pass
SUPPORT_RETRIES = 8  # concurrent supports of one proposal each win in turn (the counter's version)
S = ProposalStage


class Deliberation(Feature):
    VERBS: ClassVar[dict[str, str]] = {  # verb -> method
        "proposal.submit": "submit",
        "proposal.support": "support",
        "proposal.advance": "advance",
        "proposal.vote": "vote",
        "proposal.get": "get",
        "proposal.list": "listing",
        "notice.list": "notices",
        "notice.object": "object",
        "rule.set": "set_rule",
        "rule.get": "get_rule",
    }

    def __init__(self, ctx: OrgContext):
        super().__init__(ctx)
        self.ds = DeliberationStore(ctx.rt.db)
        self.floor_s = ctx.settings.notice_period_s

    def verbs(self) -> dict[str, Callable[[Request], Awaitable[Any]]]:
        return {verb: getattr(self, method) for verb, method in self.VERBS.items()}

    # -- views ----------------------------------------------------------------------------
    async def views_of(self, p: Principal, proposals: list[d.Proposal]) -> list[dict]:
        notices = await self.ds.notices_of(proposals)
        mine = await self.ds.supported([x.id for x in proposals], p.sub) if p.role is Role.RESIDENT else set()
        at = now()
        return [proposal_view(p, x, notices, x.id in mine, at, self.place) for x in proposals]

    def place(self, community_id: str) -> dict[str, Any]:
        """What a proposal or notice shows of its community to anyone who reads it (residents have no
        scope on the territory): id, name and level, from the replica."""
        n = self.ctx.territory.get(community_id) or {}
        return {"id": community_id, "name": n.get("name", ""), "level": n.get("level", "COMMUNITY")}

    async def view(self, p: Principal, proposal_id: str) -> dict:
        return (await self.views_of(p, [await self.ds.proposals.load(proposal_id)]))[0]

    # -- 征 -------------------------------------------------------------------------------
    async def submit(self, req: Request) -> dict:
        c, p = req.parse(w.SubmitProposal), req.principal
        require_any_role(p, PROPOSERS, "raise a proposal")
        resident = p.role is Role.RESIDENT
        community = self.ctx.node(c.communityId, "community", None if resident else p)

        async def make(uow: UnitOfWork) -> str:
            name = c.proposerName or ""
            if not resident:
                name = name or await self.proposer_of(c.source, c.ref, community, p, uow)
            proposal = d.Proposal.submit(
                id=new_id("pp"),
                community=community,
                title=c.title,
                body=c.body,
                source=c.source,
                ref=c.ref,
                proposer_name=name,
                by=p,
                now=now(),
            )
            await self.participate(uow, proposal, d.ParticipationAct.SUBMITTED, community.id, p)
            await self.ctx.put(uow, self.ds.proposals, proposal)
            return proposal.id

        return await self.ctx.idempotent(p, "proposal.submit", c.idempotencyKey, make, lambda i: self.view(p, i))

    async def proposer_of(
        self, source: ProposalSource, ref: str, community: d.Node, p: Principal, uow: UnitOfWork
    ) -> str:
        """Who proposes a proposal staff record, checked against the community: a member of its
        organisations, a unit in scope, a grid hotspot of it, its 大党委's joint meeting."""
        if source is ProposalSource.RESIDENT:
            raise BadInput("a resident's proposal recorded by staff names the resident (`proposerName`)")
        if not ref:
            raise BadInput(f"a {source} proposal names its {source.lower()} (`ref`)")
        if source is ProposalSource.MEMBER:
            member = await self.ctx.scoped(self.store.members, ref, p, uow)
            if community.id not in member.org_path:
                raise BadInput(f"member {ref} is not organised in community {community.id}", {"ref": ref})
            return member.name
        if source is ProposalSource.UNIT:
            return (await self.ctx.scoped(self.store.units, ref, p, uow)).name
        if source is ProposalSource.MEETING:
            meeting = await self.ctx.scoped(self.store.meetings, ref.split(":")[0], p, uow)
            if meeting.community_id != community.id:
                raise BadInput(f"meeting {meeting.id} is not held by community {community.id}", {"ref": ref})
            return "党建联席会议"
        if source is ProposalSource.THREE_PARTY:
            meeting = await self.ctx.scoped(self.store.three_party, ref.split(":")[0], p, uow)
            if meeting.community_id != community.id:
                raise BadInput(f"三方联动 meeting {meeting.id} is not of community {community.id}", {"ref": ref})
            return d.THREE_PARTY_PROPOSER
        grid = self.ctx.node(ref.split(":")[0], "grid", p)
        if grid.level != "GRID" or community.id not in grid.path:
            raise BadInput(f"hotspot {ref} is not in a grid of community {community.id}", {"ref": ref})
        return f"网格热点·{grid.name or grid.id}"

    async def support(self, req: Request) -> dict:
        """One support per resident: the support record and the counter change in one
        transaction; a second support by the same resident changes nothing."""
        q, p = req.parse(ById), req.principal
        require_resident(p, "support a proposal")

        async def work(uow: UnitOfWork) -> d.Proposal:
            proposal = await self.ds.proposals.get(q.id, uow)
            if proposal is None:
                raise hidden(p, f"proposal {q.id}")
            version, before = proposal.version, proposal.model_copy(deep=True)
            if proposal.stage not in SUPPORTABLE:
                if await self.ds.supported([q.id], p.sub):
                    return proposal  # a retry of a support counted before the vote
                proposal.support(p, now())  # refused: past the vote
            if not await self.ds.add_support(uow, q.id, p.sub):
                return proposal
            proposal.support(p, now())
            await self.participate(uow, proposal, d.ParticipationAct.SUPPORTED, proposal.community_id, p)
            await self.ctx.put(uow, self.ds.proposals, proposal, before, version)
            return proposal

        for attempt in range(SUPPORT_RETRIES + 1):
            try:
                proposal = await self.rt.transact(work)
                break
            except (LostRace, DuplicateKeyError):
                if attempt == SUPPORT_RETRIES:
                    raise
        return (await self.views_of(p, [proposal]))[0]

    # -- 三议, 两公开 ------------------------------------------------------------------------
    async def for_change(self, uow: UnitOfWork, p: Principal, proposal_id: str, expected: int | None) -> d.Proposal:
        """A proposal the caller may move: in scope, then the right, then the version."""
        proposal = await self.ctx.scoped(self.ds.proposals, proposal_id, p, uow)
        d.authorize(p, d.Action.DELIBERATE, proposal)
        if expected is not None and expected != proposal.version:
            raise Conflict(
                f"proposal {proposal_id} is at version {proposal.version}, not {expected}",
                {"currentVersion": proposal.version},
            )
        return proposal

    async def advance(self, req: Request) -> dict:
        c, p = req.parse(w.AdvanceProposal), req.principal
        require_any_role(p, STAFF, "move a proposal")

        async def work(uow: UnitOfWork) -> str:
            x = await self.for_change(uow, p, c.id, c.expectedVersion)
            version, before, at = x.version, x.model_copy(deep=True), now()
            links = d.Links(case_ids=c.caseIds, order_ids=c.orderIds, project_ids=c.projectIds)
            if c.to is S.PROPOSED:
                x.propose(p, at)
            elif c.to is S.DISCUSSED:
                x.discuss(c.minutes, p, at)
            elif c.to is S.NOTICED:
                rule = await self.ds.rule_of(x.community_id, uow)
                notice = x.publish_notice(
                    notice_id=new_id("nt"),
                    text_=c.noticeText,
                    period_s=c.noticePeriodSeconds,
                    min_period_s=rule.min_notice_s(self.floor_s),
                    by=p,
                    now=at,
                )
                await self.ctx.put(uow, self.ds.notices, notice)
            elif c.to is S.IMPLEMENTING:
                await self.implement(uow, x, c, links, p)
            elif c.to is S.RESULT_PUBLISHED:
                notice = x.publish_result(notice_id=new_id("nt"), text_=c.resultText, links=links, by=p, now=at)
                await self.ctx.put(uow, self.ds.notices, notice)
            elif c.to is S.REJECTED:
                x.reject(c.reason, p, at)
            else:
                raise BadInput(
                    f"a proposal reaches {c.to} "
                    + ("only by a representatives' vote (recordRepresentativesVote)" if c.to is S.DECIDED else "never"),
                    {"to": str(c.to)},
                )
            await self.ctx.put(uow, self.ds.proposals, x, before, version)
            return x.id

        proposal_id = await self.ctx.idempotent(
            p, "proposal.advance", c.idempotencyKey, work, lambda i: self.ensure_case(i)
        )
        return await self.view(p, proposal_id["id"])

    async def implement(
        self, uow: UnitOfWork, x: d.Proposal, c: w.AdvanceProposal, links: d.Links, p: Principal
    ) -> None:
        if not x.notice_ids:
            raise Conflict(f"proposal {x.id} has no public notice")
        notice = await self.ds.notices.load(x.notice_ids[-1], uow)
        nv, n_before = notice.version, notice.model_copy(deep=True)
        request = None
        if c.case is not None:
            request = case_request(x, c.case.categoryCode, self.ctx.node(c.case.gridId, "grid"), c.case.description)
        x.implement(
            notice,
            responses={r.objectionId: r.text for r in c.responses},
            links=links,
            case_request=request,
            by=p,
            now=now(),
        )
        if notice.version != nv:
            await self.ctx.put(uow, self.ds.notices, notice, n_before, nv)

    async def vote(self, req: Request) -> dict:
        c, p = req.parse(w.RecordVote), req.principal
        require_any_role(p, STAFF, "record a representatives' vote")

        async def work(uow: UnitOfWork) -> str:
            x = await self.for_change(uow, p, c.id, c.expectedVersion)
            version, before, at = x.version, x.model_copy(deep=True), now()
            rule = await self.ds.rule_of(x.community_id, uow)
            decision = d.count_vote(c.roll, c.attendees, c.votesFor, c.votesAgainst, c.abstentions, rule, at)
            x.record_vote(decision, p, at)
            await self.ctx.put(uow, self.ds.proposals, x, before, version)
            return x.id

        return await self.ctx.idempotent(p, "proposal.vote", c.idempotencyKey, work, lambda i: self.view(p, i))

    # -- the case that implements a proposal ------------------------------------------------
    async def ensure_case(self, proposal_id: str) -> dict:
        """Report the proposal's requested case to `cases` (idempotent by key) and link it; if
        `cases` is not there now, the consumer of PROPOSAL_ADVANCED tries again."""
        try:
            await self.create_case(proposal_id)
        except DomainError as e:
            log.warning("case for proposal %s not created yet (%s); it will be retried", proposal_id, e)
        return {"id": proposal_id}

    async def create_case(self, proposal_id: str) -> None:
        proposal = await self.ds.proposals.load(proposal_id)
        if not proposal.awaits_case:
            return
        case = await self.rt.rpc.call("cases", "case.report", case_report(proposal), self.rt.token())

        async def link(uow: UnitOfWork) -> None:
            x = await self.ds.proposals.load(proposal_id, uow)
            version, before = x.version, x.model_copy(deep=True)
            if x.link_case(case["id"], now()):
                await self.ctx.put(uow, self.ds.proposals, x, before, version)

        await self.rt.transact(link)

    async def on_own_event(self, event: CloudEvent) -> None:
        """PROPOSAL_ADVANCED with a case requested: make sure the case exists and is linked."""
        if event.event == "PROPOSAL_ADVANCED" and event.data.get("caseRequested"):
            await self.create_case(event.subject)

    # -- 参与议事 points ------------------------------------------------------------------
    async def participate(
        self,
        uow: UnitOfWork,
        record: d.Proposal | d.PublicNotice,
        act: d.ParticipationAct,
        community: str,
        p: Principal,
    ) -> None:
        """A resident's act earns 参与议事 points: the record to credit them, in the act's transaction."""
        x = d.participate(record, id=new_id("pa"), act=act, community_id=community, by=p, now=now())
        if x is not None:
            await self.ds.participation.insert(uow, x)

    async def on_participation(self, event: CloudEvent) -> None:
        """PARTICIPATION_RECORDED: credit the proposal's pending participations. An answer from
        the volunteers service settles each (credited, cap reached, no such rule); no answer
        raises, so the event is delivered again (and the sweeper tries what is left)."""
        await self.credit(await self.ds.pending_participation(event.data.get("proposalId"), None, PARTICIPATION_BATCH))

    async def credit(self, ids: list[str]) -> int:
        for participation_id in ids:
            x = await self.ds.participation.get(participation_id)
            if x is None or not x.pending:
                continue
            try:
                entry = await self.rt.rpc.call("volunteers", "points.residentAward", x.award_request(), self.rt.token())
                x.settle(d.ParticipationOutcome.AWARDED, now(), entry_id=entry["entry"]["id"])
            except Conflict as e:  # over the rule's cap for the period
                x.settle(d.ParticipationOutcome.CAP_REACHED, now(), reason=str(e))
            except (BadInput, NotFound) as e:  # the rule table has no such rule
                x.settle(d.ParticipationOutcome.NOT_AWARDED, now(), reason=str(e))
            await self.ds.settle(x)
        return len(ids)

    # -- reads ----------------------------------------------------------------------------
    async def get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        proposal = await self.ds.proposals.get(q.id)
        if proposal is None and p.unrestricted:
            return None
        supported = bool(proposal) and p.role is Role.RESIDENT and bool(await self.ds.supported([q.id], p.sub))
        if proposal is None or not d.can_read(p, proposal, supported):
            raise hidden(p, f"proposal {q.id}")
        return (await self.views_of(p, [proposal]))[0]

    async def listing(self, req: Request) -> dict:
        """Staff: the proposals of a region in their scope. A resident: the public ones of any
        region, or (`mine`) their own, at any stage."""
        q, p = req.parse(w.ListProposals), req.principal
        require_any_role(p, PROPOSERS, "list proposals")
        if p.role is Role.RESIDENT:
            self.ctx.node(q.regionId)
            query: dict[str, Any] = (
                {"proposer_sub": p.sub, "path": q.regionId} if q.mine else {"path": q.regionId, "public": True}
            )
        else:
            query = self.ctx.list_scope(p, q.regionId)
        if q.stage is not None:
            query["stage"] = str(q.stage)
        items, total, more = await self.ds.proposals.page(query, q.first, q.after)
        return page_reply(await self.views_of(p, items), total, more)

    async def notices(self, req: Request) -> dict:
        """Public notices of a region's communities: public, so anyone with a token reads them."""
        q, p = req.parse(w.ListNotices), req.principal
        self.ctx.node(q.regionId)
        items, total, more = await self.ds.notices.page({"path": q.regionId}, q.first, q.after)
        at = now()
        return page_reply([notice_view(p, n, at, self.place) for n in items], total, more)

    async def object(self, req: Request) -> dict:
        """A resident's objection to a decision's notice, during its period."""
        c, p = req.parse(w.ObjectToNotice), req.principal
        require_resident(p, "object to a public notice")

        async def work(uow: UnitOfWork) -> d.PublicNotice:
            notice = await self.ds.notices.get(c.noticeId, uow)
            if notice is None:
                raise hidden(p, f"public notice {c.noticeId}")
            version, before = notice.version, notice.model_copy(deep=True)
            notice.object(p.sub, c.text, p, now())
            if notice.version != version:
                await self.participate(uow, notice, d.ParticipationAct.OBJECTED, notice.community_id, p)
                await self.ctx.put(uow, self.ds.notices, notice, before, version)
            return notice

        for attempt in range(SUPPORT_RETRIES + 1):
            try:
                notice = await self.rt.transact(work)
                break
            except LostRace:
                if attempt == SUPPORT_RETRIES:
                    raise
        return notice_view(p, notice, now(), self.place)

    # -- a community's rule --------------------------------------------------------------
    async def set_rule(self, req: Request) -> dict:
        c, p = req.parse(w.SetDeliberationRule), req.principal
        require_any_role(p, frozenset({Role.ADMIN}), "set a community's deliberation rule")
        community = self.ctx.node(c.communityId, "community", p)
        rule = d.DeliberationRule(
            attendance_num=c.attendanceNumerator,
            attendance_den=c.attendanceDenominator,
            majority_num=c.majorityNumerator,
            majority_den=c.majorityDenominator,
            notice_period_s=c.noticePeriodSeconds,
        )

        async def work(uow: UnitOfWork) -> d.CommunityRule:
            record = await self.ds.rules.get(community.id, uow)
            if record is None:
                record = d.CommunityRule.new(community, p, now())
                record.set(rule, self.floor_s, p, now())
                await self.ctx.put(uow, self.ds.rules, record)
            else:
                version, before = record.version, record.model_copy(deep=True)
                record.set(rule, self.floor_s, p, now())
                await self.ctx.put(uow, self.ds.rules, record, before, version)
            return record

        record = await self.rt.transact(work)
        return rule_view(community.id, record.rule, self.floor_s, self.place)

    async def get_rule(self, req: Request) -> dict:
        """A community's rule (the defaults unless it set its own): public, like its notices."""
        q = req.parse(ById)
        community = self.ctx.node(q.id, "community")
        if community.level != "COMMUNITY":
            raise BadInput(f"a deliberation rule is a COMMUNITY's, not a {community.level}'s")
        return rule_view(community.id, await self.ds.rule_of(community.id), self.floor_s, self.place)
