"""`case.import`: a batch of case history (a city migrating its past cases, the demo's year).

Each case runs through the pure domain exactly as the request handlers run it: routed to its
grid by `CaseContext.route` (the domain's `route`), `Case.report` with `reportedAt` as the
time, then each step's domain command with the step's `at`, the current catalogue and the
service's SLA. The whole batch is then written in ONE transaction: the case documents
(`insert_many`) and the region rollups, folded by the rollup projection's own `apply` from the
same envelopes a live write records (`views.case_envelopes`; so per-day and hotspot figures
are keyed by each event's own time, not by the import's). Each figure also keeps what came from
imported history as its `imported` share: `yiwang replay cases` starts from it, since the
event log does not hold history.

History is not news: nothing goes to the outbox, so no event is published and no consumer
(organizations' meeting links, volunteers' case tasks, live subscriptions) reacts to a case
that was closed months ago. Open imported cases are live from then on: later commands and the
SLA sweeper publish their events as usual.

Bad input anywhere in the batch (unknown category or grid, a step the case's state does not
allow, times out of order or in the future) is a BAD_INPUT naming the case and step, and
nothing is written. Idempotent twice over: a batch re-sent with the same `importId` returns
the first reply, and a case whose id is already stored is skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pymongo.errors import DuplicateKeyError

from services.cases import domain as d
from services.cases.domain.handling import DeptRef
from services.cases.projection import RollupProjection
from services.cases.store import COMMENTS, case_doc, comment_to_doc
from services.cases.views import case_envelopes
from shared.auth import Principal, Role
from shared.bulk import committed
from shared.contracts.cases import ImportCases, ImportedCase, ImportStep
from shared.errors import BadInput, DomainError, Forbidden
from shared.ids import _b32, is_subject_safe
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now, recall, remember, remembered
from shared.vocabulary.cases import CaseRequestKind

if TYPE_CHECKING:
    from services.cases.handlers import CaseContext

log = logging.getLogger("yiwang.cases.import")
CLOCK_SKEW = timedelta(seconds=60)  # an importer's clock a little ahead of ours is not an error


def history_id(reported_at: datetime, key: str) -> str:
    """A case id like `new_id("c")` (so lists stay newest first), deterministic in `key`."""
    ms = int(reported_at.timestamp() * 1000)
    rnd = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 4
    return f"c{_b32(ms, 10)}{_b32(rnd, 12)}"


@dataclass
class _Built:
    case: d.Case
    envelopes: list[dict]
    source: str
    comments: list[d.CaseComment] = field(default_factory=list)  # follow-up


def apply_step(
    case: d.Case,
    s: ImportStep,
    by: Principal,
    reporter_sub: str | None,
    sla: d.Sla,
    followup: FollowUpSteps | None = None,
    directory: Mapping[tuple[str, str], str] | None = None,
) -> None:
    """One step: the domain command the matching request handler (or the sweeper) runs.
    `directory`: the departments, (region, code) -> name, that dispatch steps name."""
    t = s.at
    if s.action in DEPARTMENT_STEPS:
        return department_step(case, s, by, directory or {}, sla)
    if followup is not None and followup.apply(case, s, by, sla):
        return
    match s.action:
        case "accept":
            case.accept(by, t, sla)
        case "assign":
            if s.assignee is None:
                raise BadInput("an assign step names its assignee")
            a = s.assignee
            case.assign(by, d.Assignee(kind=d.AssigneeKind(a.kind), id=a.id, name=a.name or a.id), t)
        case "start":
            case.start(by, t)
        case "resolve":
            case.resolve(by, s.resolution or "", t, followup.return_visit_s if followup else d.DEFAULT_RETURN_VISIT_S)
        case "escalate":
            case.escalate(by, s.reason or "", t, sla)
        case "reject":
            case.reject(by, s.reason or "", t)
        case "return":
            case.return_(by, s.reason or "", t)
        case "rate":
            if s.score is None:
                raise BadInput("a rate step gives a score")
            if not reporter_sub:
                raise BadInput("only a case with a reporterSub can be rated")
            case.rate(by.model_copy(update={"sub": reporter_sub}), s.score, t, sla, s.comment)
        case "close":
            case.close(by, t, s.note)
        case "sweep":
            case.sweep(t, sla)


# follow-up: 核查, 回访, 更正 and comments in imported history
@dataclass
class _Where:
    """Where a correction step moves a case: a grid (routed like a report)."""

    regionId: str | None
    lng: float | None = None
    lat: float | None = None


@dataclass
class FollowUpSteps:
    """The follow-up steps of one imported case; the comments it made, for their collection."""

    route: Callable[[_Where], d.Routed]
    catalogue: d.Catalogue
    return_visit_s: int
    comments: list[d.CaseComment] = field(default_factory=list)

    def apply(self, case: d.Case, s: ImportStep, by: Principal, sla: d.Sla) -> bool:
        t = s.at
        match s.action:
            case "verify":
                if s.passed is None:
                    raise BadInput("a verify step says whether it passed")
                d.verify(case, by, s.passed, s.note, None, t, sla, self.return_visit_s)
            case "return_visit":
                reached = bool(s.reached)
                d.record_return_visit(case, by, history_id(t, f"{case.id}:rv:{case.version}"), s.satisfaction,
                                      reached, s.note, t, sla)  # fmt: skip
            case "correct":
                category = self.catalogue.get(s.categoryCode) if s.categoryCode else None
                routed = self.route(_Where(s.regionId)) if s.regionId else None
                path = tuple(routed.grid["path"]) if routed else None
                d.correct(case, by, s.reason or "", t, sla, category, path)
            case "comment":
                if s.visibility is None:
                    raise BadInput("a comment step gives its visibility")
                made = d.comment(case, by, history_id(t, f"{case.id}:cm:{case.version}"), s.text or "",
                                 s.visibility, None, t)  # fmt: skip
                self.comments.append(made)
            case _:
                return False
        return True


# ---- departments: the steps of dispatch, replies, requests and their decision, 督办 ----------
DEPARTMENT_STEPS = frozenset(
    {"dispatch", "reply", "requestReturn", "requestExtension", "suspend", "decide", "resume", "urge"}
)
REQUEST_KINDS = {"requestReturn": "RETURN", "requestExtension": "EXTENSION", "suspend": "SUSPENSION"}


def department_step(
    case: d.Case, s: ImportStep, by: Principal, directory: Mapping[tuple[str, str], str], sla: d.Sla
) -> None:
    t = s.at
    if s.action == "dispatch":
        county = case.region_at(d.HandlingLevel.COUNTY)
        regions = [county] + ([case.region_path[-5]] if len(case.region_path) >= 5 else [])
        refs = []
        for code in [s.lead or "", *s.cooperating]:
            region = next((r for r in regions if (r, code) in directory), None)
            if region is None:
                raise BadInput(f"no department {code!r} in the directory of {county} or its city")
            refs.append(DeptRef(code=code, name=directory[(region, code)], region_id=region))
        case.dispatch(by, refs[0], refs[1:], t)
        return
    if s.action == "decide":
        kind = s.requestKind or ""
        pending = next((r for r in case.requests if r.kind == kind and r.status == "PENDING"), None)
        if pending is None or s.approve is None:
            raise BadInput(f"a decide step names the kind of a pending request ({kind or 'none'}) and `approve`")
        case.decide(by, pending.id, s.approve, s.note, t, sla)
        return
    if s.action == "urge":
        case.urge(by, s.note or "", t)
        return
    actor = by
    if s.dept is not None:  # a department on the case acts
        handler = next((h for h in case.handlers if h.active and h.dept == s.dept), None)
        if handler is None:
            raise BadInput(f"department {s.dept} is not on the case")
        actor = Principal(sub=by.sub, role=Role.DEPARTMENT, region=handler.dept_region, dept=handler.dept)
    if s.action == "reply":
        case.reply(actor, s.note or "", [], t)
    elif s.action == "resume":
        case.resume(actor, t, sla)
    else:
        case.raise_request(actor, CaseRequestKind(REQUEST_KINDS[s.action]), s.reason or "", t, s.until)


def may_import(p: Principal) -> None:
    """Only a superadmin or a service imports case history."""
    if not p.unrestricted:
        raise Forbidden("only a superadmin or a service imports case history", {"role": str(p.role)})


class CaseImporter:
    def __init__(self, cases: CaseContext, projection: RollupProjection):
        self.cases, self.projection = cases, projection
        self.store, self.rt = cases.store, cases.rt
        # Batches are built side by side but written one at a time: two would add to the same
        # rollup and day documents (the city's, the county's) and one of them would conflict.
        self._writing = asyncio.Lock()
        self.directory: Mapping[tuple[str, str], str] = {}  # departments: (region, code) -> name

    async def handle(self, req: Request) -> dict:
        p = req.principal
        may_import(p)
        c = req.parse(ImportCases)
        key = f"case.import:{c.importId}"
        if (done := await remembered(self.rt.db, key)) is not None:
            return {**done, "replayed": True}
        started = time.monotonic()
        built = await self.build(p, c)
        ids = [b.case.id for b in built]
        checked = time.monotonic()

        async def work(uow: UnitOfWork) -> dict:
            if (done := await recall(uow, key)) is not None:
                return {**done, "replayed": True}
            cur = self.store.cases.find({"_id": {"$in": ids}}, {"_id": 1}, session=uow.session)
            stored = {x["_id"] for x in await cur.to_list(None)}
            fresh = [b for b in built if b.case.id not in stored]
            if fresh:
                await self.store.cases.insert_many(
                    [case_doc(b.case, {"possible_duplicates": [], "source": b.source}) for b in fresh],
                    session=uow.session,
                    ordered=False,
                )
                await self.projection.apply(uow, [e for b in fresh for e in b.envelopes], imported=True)
                if comments := [comment_to_doc(c) for b in fresh for c in b.comments]:  # follow-up
                    await self.rt.db[COMMENTS].insert_many(comments, session=uow.session, ordered=False)
            result = {
                "importId": c.importId,
                "imported": len(fresh),
                "skipped": [i for i in ids if i in stored],
                "replayed": False,
            }
            await remember(uow, key, result)
            return result

        try:
            async with self._writing:
                waited = time.monotonic()
                result = await committed(self.rt, work, wake=False)
        except DuplicateKeyError:  # a twin of this batch committed first
            if (done := await remembered(self.rt.db, key)) is not None:
                return {**done, "replayed": True}
            raise
        log.info(
            "case.import %s: %d of %d cases in %.2fs (built in %.2fs, written in %.2fs)",
            c.importId,
            result["imported"],
            len(ids),
            time.monotonic() - started,
            checked - started,
            time.monotonic() - waited,
        )
        return result

    async def build(self, p: Principal, c: ImportCases) -> list[_Built]:
        """Every case of the batch through the domain, in memory; BadInput on the first
        problem (nothing is written before all cases are built)."""
        catalogue = await self.cases.current_catalogue()
        latest = now() + CLOCK_SKEW
        clock = self.cases.sla.shifted(c.calendarShiftS)  # clocks
        uses_directory = any(s.action == "dispatch" for ic in c.cases for s in ic.steps)
        if uses_directory:  # read again for each batch that dispatches; kept for batches built meanwhile
            self.directory = await self.store.department_names()
        out: list[_Built] = []
        seen: set[str] = set()
        for i, ic in enumerate(c.cases):
            if i % 50 == 49:
                await asyncio.sleep(0)  # let live requests through while a big batch is built
            case_id = ic.id or history_id(ic.reportedAt, f"{c.importId}:{i}")
            where = {"index": i, "id": case_id}
            if not is_subject_safe(case_id):
                raise BadInput(f"cases[{i}]: id {case_id!r} is not lowercase letters, digits, '-' or '_'", where)
            if case_id in seen:
                raise BadInput(f"cases[{i}]: id {case_id} appears twice in the batch", where)
            seen.add(case_id)
            try:
                out.append(self.one(p, ic, case_id, catalogue, latest, f"import:{c.importId}", clock))
            except DomainError as e:
                raise BadInput(f"cases[{i}] ({case_id}): {e.message}", {**where, **e.details}) from None
            except (ValueError, ValidationError) as e:  # a value object the domain refused
                raise BadInput(f"cases[{i}] ({case_id}): {d.refusal(e)}", where) from None
        return out

    def one(
        self,
        p: Principal,
        ic: ImportedCase,
        case_id: str,
        catalogue: d.Catalogue,
        latest: datetime,
        source: str,
        sla: d.Sla,
    ) -> _Built:
        cases = self.cases
        category = catalogue.get(ic.categoryCode)
        routed = cases.route(ic)
        if ic.reportedAt > latest:
            raise BadInput(f"reportedAt {ic.reportedAt.isoformat()} is in the future")
        reporter = Principal(sub=ic.reporterSub or p.sub, role=p.role)
        case = d.Case.report(
            id=case_id,
            title=ic.title,
            description=ic.description,
            category=category,
            channel=d.CaseChannel(ic.channel),
            region_path=routed.grid["path"],
            by=reporter,
            now=ic.reportedAt,
            sla=sla,
            reporter_name=ic.reporterName,
            reporter_phone_enc=cases.cipher.encrypt(ic.reporterPhone),
            reporter_sub=ic.reporterSub,
            location=routed.location,
            kind=d.RequestKind(ic.kind) if ic.kind else None,
            building_id=routed.building_id,
        )
        events = case_envelopes(case, None)
        followup = FollowUpSteps(cases.route, catalogue, cases.settings.return_visit_s)
        at = ic.reportedAt
        for n, step in enumerate(ic.steps):
            if step.at < at:
                raise BadInput(
                    f"step {n} ({step.action}) at {step.at.isoformat()} is before the step before it", {"step": n}
                )
            if step.at > latest:
                raise BadInput(f"step {n} ({step.action}) at {step.at.isoformat()} is in the future", {"step": n})
            at = step.at
            before = d.counters_of(case)
            version = case.version
            try:
                by = Principal(sub=step.actor or p.sub, role=p.role)
                apply_step(case, step, by, ic.reporterSub, sla, followup, self.directory)
            except DomainError as e:
                raise type(e)(f"step {n} ({step.action}): {e.message}", {"step": n, **e.details}) from None
            if case.version == version:
                raise BadInput(f"step {n} ({step.action}): nothing was due at {step.at.isoformat()}", {"step": n})
            events += case_envelopes(case, before)
        return _Built(case, [{"envelope": e.model_dump(mode="json")} for e in events], source, followup.comments)
