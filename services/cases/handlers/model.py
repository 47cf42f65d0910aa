"""The Case aggregate's verbs (`domain/model.py`): report, the workflow commands, merge,
revealing a reporter's contact, and the deliberation note an organizations event brings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.cases import domain as d
from services.cases.domain import evidence
from services.cases.handlers.context import CaseContext
from services.cases.store import case_from_doc, window_start
from shared.auth import Principal, Role
from shared.contracts.cases import (
    AssignCase,
    CaseCommand,
    CloseCase,
    MergeCase,
    RateCase,
    ReportCase,
    ResolveCase,
    RevealContact,
    WithReason,
)
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now, recall, remember, remembered

Command = Callable[[d.Case, Principal, datetime], Any]


class CaseCommands:
    def __init__(self, ctx: CaseContext):
        self.ctx = ctx

    async def run(self, req: Request, command_model: type[CaseCommand], action: d.Action, command: Command) -> dict:
        """Load (in scope), check the caller may do `action` (before the version, so a caller who
        may not act learns nothing of it), apply one domain command, save with a version check,
        record its events."""
        c, p, ctx = req.parse(command_model), req.principal, self.ctx

        async def work(uow: UnitOfWork) -> tuple[d.Case, dict]:
            case, doc = await ctx.scoped(p, c.id, uow)
            d.authorize(p, action, case)
            d.check_expected_version(case, c.expectedVersion)
            version, before = case.version, d.counters_of(case)
            command(case, p, now())
            return case, ctx.save(uow, case, version, before, doc)

        case, doc = await ctx.rt.transact(work)
        return ctx.views.case(p, case, doc)

    async def report(self, req: Request) -> dict:
        p, ctx = req.principal, self.ctx
        c = req.parse(ReportCase)
        d.check_may_report(p, c.channel)
        d.check_visit_source(p, c.channel, c.sourceVisitId)  # visits
        key = f"case.report:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        category = (await ctx.current_catalogue()).get(c.categoryCode)
        routed = ctx.route(c)
        if p.role is Role.BUILDING_LEADER and routed.building is None and p.region:
            routed = ctx.route(c.model_copy(update={"buildingId": p.region}))  # building: a leader's own

        async def work(uow: UnitOfWork) -> tuple[d.Case, dict]:
            if key and (done := await recall(uow, key)):
                return await ctx.store.load(done, uow)
            at = now()
            case = d.Case.report(
                id=new_id("c"),
                title=c.title,
                description=c.description,
                category=category,
                channel=d.CaseChannel(c.channel),
                region_path=routed.grid["path"],
                by=p,
                now=at,
                sla=ctx.sla,
                reporter_name=c.reporterName,
                reporter_phone_enc=ctx.cipher.encrypt(c.reporterPhone),
                reporter_sub=c.reporterSub,
                location=routed.location,
                kind=d.RequestKind(c.kind) if c.kind else None,
                building_id=routed.building_id,
            )
            window = ctx.settings.dup_window_s
            candidates = await ctx.store.duplicate_candidates(case, window_start(at, window), uow)
            dups = [x.id for x in d.possible_duplicates(case, candidates, ctx.settings.dup_radius_m, window, at)]
            extra = {"possible_duplicates": dups, "source": c.source}
            if c.sourceVisitId:  # visits
                extra["sourceVisitId"] = c.sourceVisitId
            doc = ctx.store.insert(uow, case, extra)
            ctx.record(uow, case, None)
            if key:
                await remember(uow, key, case.id)
            return case, doc

        try:
            case, doc = await ctx.rt.transact(work)
        except DuplicateKeyError:
            if key and (done := await remembered(ctx.rt.db, key)):
                return await ctx.view_of(p, done)
            raise
        return ctx.views.case(p, case, doc)

    async def accept(self, req: Request) -> dict:
        sla = self.ctx.sla
        return await self.run(req, CaseCommand, d.Action.ACCEPT, lambda case, p, t: case.accept(p, t, sla))

    async def assign(self, req: Request) -> dict:
        a = req.parse(AssignCase).assignee
        assignee = d.Assignee(kind=d.AssigneeKind(a.kind), id=a.id, name=a.name or a.id)
        return await self.run(req, AssignCase, d.Action.ASSIGN, lambda case, p, t: case.assign(p, assignee, t))

    async def start(self, req: Request) -> dict:
        return await self.run(req, CaseCommand, d.Action.START, lambda case, p, t: case.start(p, t))

    async def resolve(self, req: Request) -> dict:
        text, within = req.parse(ResolveCase).resolution, self.ctx.settings.return_visit_s
        catalogue = await self.ctx.current_catalogue()

        def resolve(case: d.Case, p: Principal, t: datetime) -> None:
            evidence.check_after_photo(case, catalogue)
            case.resolve(p, text, t, within)

        return await self.run(req, ResolveCase, d.Action.RESOLVE, resolve)

    async def escalate(self, req: Request) -> dict:
        reason, sla = req.parse(WithReason).reason, self.ctx.sla
        return await self.run(req, WithReason, d.Action.ESCALATE, lambda case, p, t: case.escalate(p, reason, t, sla))

    async def reject(self, req: Request) -> dict:
        reason = req.parse(WithReason).reason
        return await self.run(req, WithReason, d.Action.REJECT, lambda case, p, t: case.reject(p, reason, t))

    async def return_(self, req: Request) -> dict:
        reason = req.parse(WithReason).reason
        return await self.run(req, WithReason, d.Action.RETURN, lambda case, p, t: case.return_(p, reason, t))

    async def rate(self, req: Request) -> dict:
        c, sla = req.parse(RateCase), self.ctx.sla
        return await self.run(req, RateCase, d.Action.RATE, lambda case, p, t: case.rate(p, c.score, t, sla, c.comment))

    async def close(self, req: Request) -> dict:
        note = req.parse(CloseCase).note
        return await self.run(req, CloseCase, d.Action.CLOSE, lambda case, p, t: case.close(p, t, note))

    async def merge(self, req: Request) -> dict:
        c, p, ctx = req.parse(MergeCase), req.principal, self.ctx

        async def work(uow: UnitOfWork) -> tuple[d.Case, dict]:
            other, other_doc = await ctx.scoped(p, c.id, uow)
            into, into_doc = await ctx.scoped(p, c.intoId, uow)
            d.authorize(p, d.Action.MERGE, other)
            d.authorize(p, d.Action.MERGE, into)
            d.check_expected_version(other, c.expectedVersion)
            versions = other.version, into.version
            before = d.counters_of(other), d.counters_of(into)
            d.merge(into, other, p, now(), force=c.force)
            ctx.save(uow, other, versions[0], before[0], other_doc)
            return into, ctx.save(uow, into, versions[1], before[1], into_doc)

        into, doc = await ctx.rt.transact(work)
        return ctx.views.case(p, into, doc)

    async def reveal(self, req: Request) -> dict:
        c, p, ctx = req.parse(RevealContact), req.principal, self.ctx

        async def work(uow: UnitOfWork) -> d.Reporter:
            case, doc = await ctx.scoped(p, c.caseId, uow)
            d.authorize(p, d.Action.REVEAL_CONTACT, case)
            version, before = case.version, d.counters_of(case)
            reporter = case.reveal_contact(p, c.reason, now(), c.reporterIndex)
            ctx.save(uow, case, version, before, doc)
            return reporter

        reporter = await ctx.rt.transact(work)
        return {"name": reporter.name, "phone": ctx.cipher.decrypt(reporter.phone_enc), "sub": reporter.sub}

    async def on_org_event(self, event: CloudEvent) -> None:
        """RESOLUTION_ADDED of a joint meeting that settled a raised hotspot: note it on each
        of the hotspot's cases (the resolution's link back to them)."""
        data, ctx = event.data, self.ctx
        if event.event != "RESOLUTION_ADDED" or not data.get("caseIds"):
            return
        for case_id in data["caseIds"]:

            async def work(uow: UnitOfWork, case_id: str = case_id) -> None:
                doc = await ctx.store.doc(case_id, uow)
                if doc is None:
                    return  # a case removed since: nothing to link
                case = case_from_doc(doc)
                version, before = case.version, d.counters_of(case)
                if case.note_deliberation(event.subject, data["resolutionId"], data.get("text", ""), now()):
                    ctx.save(uow, case, version, before, doc)

            await ctx.rt.transact(work)
