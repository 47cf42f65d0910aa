"""Visits (`domain/visits.py`, `domain/visit_rules.py`): record one (checked against the grid), read
and list them, the plan of a grid, files on a visit, and a case from a visit's finding."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.grids.domain import visits as vd
from services.grids.domain.visit_record import Visit, check_may_add_to
from services.grids.domain.visit_rules import ROUTINE, VisitRule, check_kind
from services.grids.handlers.context import SERVICE, GridContext
from services.grids.handlers.visit_scope import VisitScope
from services.grids.store_links import LinkStore
from services.grids.visit_store import VisitStore
from shared.attachments import serve_attach, shown
from shared.auth import Principal, Role, hidden
from shared.commands import RecordCommands, page_reply
from shared.contracts.attachments import AttachEvidence
from shared.contracts.cases import ReportCase
from shared.contracts.common import ById, ByIds
from shared.contracts.grids import ListVisits, RecordVisit, ReportFromVisit, VisitPlanQuery
from shared.domain import GeoPoint
from shared.errors import BadInput, Conflict, DomainError
from shared.geo import valid_point
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now, remember, remembered

log = logging.getLogger("yiwang.grids.visits")


class Visits(RecordCommands):
    def __init__(self, ctx: GridContext, store: VisitStore):
        self.ctx, self.rt, self.store = ctx, ctx.rt, store
        self.scope = VisitScope(ctx)
        self.people = LinkStore(ctx.rt.db)

    # -- RecordCommands: how a visit is saved ------------------------------------------------
    async def add_rollups(self, uow: UnitOfWork, before: Any | None, after: Any) -> None:
        if before is None:
            await self.ctx.store.bump(uow, after.path, Counter({"visitCount": 1}), at=after.at)
            await self.people.bump_visitor(uow, after.visitor, after.visitorMember)  # a member's or cadre's visits

    def emit(self, uow: UnitOfWork, record: Any) -> None:
        for name, actor, data in record.drain():
            uow.record(self.visit_event(record, name, actor, data))

    def visible(self, p: Principal, record: Any) -> bool:
        return self.scope.sees_visit(p, record)

    def visit_event(self, v: Visit, name: str, actor: str | None, data: dict) -> CloudEvent:
        payload = self.event_data(name, v, data)
        return make_event(SERVICE, name, v.id, payload, path=v.path, actor=actor, version=v.version)

    def event_data(self, name: str, v: Visit, data: dict) -> dict:
        if name == "VISIT_ATTACHMENT_ADDED":
            return {
                "visitId": v.id,
                "attachmentId": data["attachment_id"],
                "kind": data["attachment_kind"],
                "size": data["size"],
            }
        if name == "VISIT_CASE_LINKED":
            return {"visitId": v.id, "caseId": v.caseId, "householdId": v.householdId}
        if name == "VISIT_CASE_REQUESTED":
            return {"visitId": v.id, "householdId": v.householdId}
        return {"visit": event_view(v), **data}

    # -- views -------------------------------------------------------------------------------
    def view(self, p: Principal, v: Visit) -> dict:
        return {
            "id": v.id,
            "householdId": v.householdId,
            "buildingId": v.buildingId,
            "gridId": v.gridId,
            "kind": v.kind,
            "findings": self.ctx.cipher.decrypt(v.findingsEnc),
            "at": v.at,
            "location": v.location.model_dump() if v.location else None,
            "flagged": v.flagged,
            "overrideReason": v.overrideReason,
            "visitor": v.visitor,
            "visitorMember": v.visitorMember,
            "attachments": [shown(p, a) for a in v.attachments],
            "caseId": v.caseId,
            "createdAt": v.createdAt,
            "version": v.version,
        }

    # -- record ------------------------------------------------------------------------------
    async def record(self, req: Request) -> dict:
        c, p = req.parse(RecordVisit), req.principal
        await self.scope.enter(p)
        self.scope.check_may_visit(p)
        if (c.householdId is None) == (c.buildingId is None):
            raise BadInput("give a householdId or a buildingId (one of them)")
        if (c.lng is None) != (c.lat is None):
            raise BadInput("give both lng and lat, or neither")
        if c.lng is not None and c.lat is not None:
            valid_point(c.lng, c.lat)
        at = vd.check_at(c.at or now(), now())
        findings = vd.check_findings(c.findings)
        key = f"visit.record:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        # Both reads at once: under load each round trip waits its turn at the store.
        rules, done = await asyncio.gather(self.store.rules(), remembered(self.rt.db, key) if key else asyncio.sleep(0))
        if done:
            return self.view(p, await self.store.visits.load(done))
        kind = check_kind(c.kind, rules)
        located = self.ctx.locator.locate(c.lng, c.lat) if c.lng is not None and c.lat is not None else None
        located_grid = located["id"] if located else None

        async def work(uow: UnitOfWork) -> Visit:
            # No `recall` of the key in here: a twin that committed meanwhile makes this one's
            # `remember` fail (DuplicateKeyError, the transaction aborted, handled below), and
            # nothing a twin writes makes this work refuse; the read would be a round trip more.
            target = await self.target(p, c.householdId, c.buildingId, uow)
            flagged, reason = vd.check_place(located_grid, target["gridId"], c.lng is not None, c.overrideReason)
            v = self.new_visit(p, target, kind, findings, at, c.lng, c.lat, flagged, reason)
            state = await self.visited(uow, target, at, rules) if c.householdId else {}
            v._emit("VISIT_RECORDED", p, at, nextVisitDue=state.get("nextVisitDue"))
            await self.put(uow, self.store.visits, v)
            if key:
                await remember(uow, key, v.id)
            return v

        try:
            v = await self.rt.transact(work)
        except DuplicateKeyError:
            if key and (done := await remembered(self.rt.db, key)):
                return self.view(p, await self.store.visits.load(done))
            raise
        return self.view(p, v)

    def new_visit(
        self,
        p: Principal,
        target: dict,
        kind: str,
        findings: str | None,
        at: datetime,
        lng: float | None,
        lat: float | None,
        flagged: bool,
        reason: str | None,
        visit_id: str | None = None,
    ) -> Visit:
        t = now()
        return Visit(
            id=visit_id or new_id("vi"),
            householdId=target.get("householdId"),
            buildingId=target["buildingId"],
            gridId=target["gridId"],
            path=target["path"],
            kind=kind,
            findingsEnc=self.ctx.cipher.encrypt(findings),
            at=at,
            location=GeoPoint(lng=lng, lat=lat) if lng is not None and lat is not None else None,
            flagged=flagged,
            overrideReason=reason,
            visitor=p.sub,
            visitorMember=p.member if p.role is Role.VOLUNTEER else None,
            createdAt=t,
            updatedAt=t,
        )

    async def target(self, p: Principal, household_id: str | None, building_id: str | None, uow: UnitOfWork) -> dict:
        """What is visited, in the caller's scope: a household (not moved out), or a building."""
        if household_id:
            h = await self.store.household(household_id, uow)
            if h is None or not self.scope.sees_household(p, h):
                raise hidden(p, f"household {household_id}")
            if h.get("movedOutAt") is not None:
                raise Conflict(f"household {household_id} has moved out")
            return {**h, "householdId": h["_id"]}
        b = await self.ctx.store.get_doc(str(building_id), uow)
        if b is None or b["level"] != "BUILDING" or not self.scope.sees_building(p, b):
            raise hidden(p, f"building {building_id}")
        return {"buildingId": b["_id"], "gridId": b["path"][-2], "path": b["path"]}

    async def visited(self, uow: UnitOfWork, h: dict, at: datetime, rules: list[VisitRule]) -> dict:
        """A household visited at `at`: its last visit and schedule move on, an overdue mark clears."""
        last = h.get("lastVisitAt")
        fresh = {**h, "lastVisitAt": max(last, at) if last else at}
        state = vd.state_of(fresh, rules, now())
        fields = {**state, "lastVisitAt": fresh["lastVisitAt"]}
        await self.store.set_state(uow, h["_id"], fields)
        delta = vd.state_delta(h, state)
        if delta:
            await self.ctx.store.bump(uow, h["path"], delta)
        return state

    # -- reads -------------------------------------------------------------------------------
    async def get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        await self.scope.enter(p)
        v = await (self.store.visits.get(q.id) if p.role is Role.SERVICE else self.scoped(self.store.visits, q.id, p))
        return self.view(p, v) if v else None

    async def batch_get(self, req: Request) -> dict:
        q, p = req.parse(ByIds), req.principal
        await self.scope.enter(p)
        return await self.batch(q.ids, p, self.store.visits, self.view)

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(ListVisits), req.principal
        await self.scope.enter(p)
        region = await self.ctx.load_in_scope(p, q.regionId)
        query: dict[str, Any] = {"path": region["_id"], **self.scope.list_filter(p)}
        if q.householdId:
            query["householdId"] = q.householdId
        if q.from_ or q.to:
            query["at"] = {**({"$gte": q.from_} if q.from_ else {}), **({"$lt": q.to} if q.to else {})}
        visits, total, more = await self.store.visit_page(query, q.first, q.after)
        return page_reply([self.view(p, v) for v in visits], total, more)

    async def plan(self, req: Request) -> dict:
        q, p = req.parse(VisitPlanQuery), req.principal
        await self.scope.enter(p)
        grid = await self.ctx.load_in_scope(p, q.gridId)
        if grid["level"] != "GRID":
            raise BadInput(f"{q.gridId} is a {grid['level']}, not a GRID")
        self.scope.check_may_plan(p, grid)
        at = now()
        docs = await self.store.due_in("gridId", grid["_id"], at + timedelta(days=q.withinDays), q.first)
        if p.role is Role.BUILDING_LEADER:
            docs = [h for h in docs if h["buildingId"] == p.region]
        rules = await self.store.rules()
        return {"items": [vd.visit_due(h, rules, at) for h in docs]}

    # -- files -------------------------------------------------------------------------------
    async def attach(self, req: Request) -> dict:
        c, p = req.parse(AttachEvidence), req.principal
        await self.scope.enter(p)
        if c.stage is not None:
            raise BadInput("a visit's files have no stage")
        return await serve_attach(
            self,
            self.store.visits,
            "visit.attach",
            c,
            p,
            check_may_add_to,
            vd.MAX_ATTACHMENTS,
            "VISIT_ATTACHMENT_ADDED",
        )

    # -- a case from a finding ----------------------------------------------------------------
    async def report(self, req: Request) -> dict:
        """Record the request with the visit (so it survives any failure), then report the case at
        once; the consumer of VISIT_CASE_REQUESTED finishes it if this attempt fails."""
        c, p = req.parse(ReportFromVisit), req.principal
        await self.scope.enter(p)

        def request(v: Visit, _: UnitOfWork) -> None:
            check_may_add_to(v, p)
            if v.caseId is None and v.caseRequest is None:
                v.request_case(case_payload(c.report, v, p), now())

        v = await self.change(self.store.visits, c.visitId, None, request, by=p)
        if v.caseId is None:
            v = await self.create_case(v.id)
        return self.view(p, v)

    async def create_case(self, visit_id: str) -> Visit:
        """Report the requested case to `cases` (idempotent by key `visit:<id>`) and link it."""
        v = await self.store.visits.load(visit_id)
        if v.caseId is not None or v.caseRequest is None:
            return v
        case = await self.rt.rpc.call("cases", "case.report", v.caseRequest, self.rt.token())

        def link(record: Visit, _: UnitOfWork) -> None:
            if record.link_case(case["id"], now()):
                record._emit("VISIT_CASE_LINKED", None, now())

        return await self.change(self.store.visits, visit_id, None, link, retries=3, by=service_principal())

    async def on_own_event(self, event: CloudEvent) -> None:
        """VISIT_CASE_REQUESTED: make sure the visit's case exists and is linked."""
        if event.event == "VISIT_CASE_REQUESTED":
            try:
                await self.create_case(event.subject)
            except DomainError as e:
                if e.code.value in ("BAD_USER_INPUT", "FORBIDDEN", "NOT_FOUND"):
                    log.warning("the case of visit %s cannot be reported: %s", event.subject, e)
                    return
                raise


def case_payload(report: dict[str, Any], v: Visit, p: Principal) -> dict[str, Any]:
    """What `cases` is sent for a visit's finding: the caller's report, on channel GRID_PATROL,
    keyed by the visit (one case per visit however often it is asked), reported in the caller's
    name, placed at the visited building unless the report gives a place."""
    visit_id = v.id
    dropped = ("channel", "idempotencyKey", "source", "sourceVisitId", "reporterPhone")
    body = {k: x for k, x in report.items() if k not in dropped and x is not None}
    body.setdefault("reporterName", p.sub)
    if body.get("lng") is None and body.get("regionId") is None:
        body["regionId"] = v.buildingId
    body |= {
        "channel": "GRID_PATROL",
        "idempotencyKey": f"visit:{visit_id}",
        "source": f"visit:{visit_id}",
        "sourceVisitId": visit_id,
        "reporterSub": body.get("reporterSub") or p.sub,
    }
    return ReportCase.model_validate(body).model_dump(mode="json", exclude_none=True)


def service_principal() -> Principal:
    return Principal(sub=SERVICE, role=Role.SERVICE)


def event_view(v: Visit) -> dict:
    return {
        "id": v.id,
        "householdId": v.householdId,
        "buildingId": v.buildingId,
        "gridId": v.gridId,
        "kind": v.kind,
        "at": v.at,
        "flagged": v.flagged,
        "visitor": v.visitor,
        "visitorMember": v.visitorMember,
        "attachmentCount": len(v.attachments),
        "caseId": v.caseId,
    }


__all__ = ["ROUTINE", "Visits", "case_payload"]
