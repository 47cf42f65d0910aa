"""Request handlers of the cases service; the subject → handler table is at the end."""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.cases import domain as d
from services.cases.projection import event_delta
from services.cases.store import CaseStore, case_from_doc, scope_query, window_start
from services.cases.views import CaseViews
from shared.auth import (Principal, Role, hidden, require_any_role, require_deployment_admin,
                         require_figures)
from shared.contracts.cases import (AssignCase, CaseCommand, CategoryInput, CloseCase, HotspotCases, HotspotQuery,
                                    ListCases, MergeCase, RateCase, RemoveCategory, ReportCase, ResolveCase,
                                    RevealContact, WithReason)
from shared.commands import page_reply, trend_reply
from shared.contracts.common import ById, ByIds
from shared.errors import BadInput, Conflict, Forbidden, NotFound
from shared.geo import valid_point
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Request, item_error
from shared.mongo import UnitOfWork, now, recall, remember, remembered
from shared.privacy import FieldCipher
from shared.records import flat_and
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.territory import TerritoryReplica
from shared.trends import city_tz

SERVICE = "cases"
STAFF = frozenset({Role.ADMIN, Role.OPERATOR})
Command = Callable[[d.Case, Principal, datetime], Any]


def sla_of(settings: Settings) -> dict[d.HandlingLevel, int]:
    return {lvl: settings.sla_seconds(str(lvl)) for lvl in d.HandlingLevel}


class Cases:
    def __init__(self, rt: ServiceRuntime, store: CaseStore, territory: TerritoryReplica, cipher: FieldCipher):
        self.rt, self.store, self.territory, self.cipher = rt, store, territory, cipher
        self.settings = rt.settings
        self.sla = sla_of(rt.settings)
        self._catalogue: d.Catalogue = d.DEFAULT_CATALOGUE
        self._catalogue_at = float("-inf")
        self.views = CaseViews(cipher, self._category_name, self._region_name)

    def _category_name(self, code: str) -> str:
        return next((c.name for c in self._catalogue.categories if c.code == code), code)

    def _region_name(self, region_id: str) -> str:
        node = self.territory.get(region_id)
        return node["name"] if node else region_id

    async def current_catalogue(self, max_age_s: float = 5.0) -> d.Catalogue:
        """The catalogue, re-read at most every few seconds (and at once after an edit here)."""
        if time.monotonic() - self._catalogue_at > max_age_s:
            self._catalogue, self._catalogue_at = await self.store.catalogue(), time.monotonic()
        return self._catalogue

    # -- writing ---------------------------------------------------------------------------
    def record(self, uow: UnitOfWork, case: d.Case, counters_before: dict[str, int] | None) -> None:
        """Drain the case's domain events into the outbox; the first carries the rollup delta."""
        events = case.drain_events()
        for i, e in enumerate(events):
            data = e.to_wire() | {"delta": event_delta(counters_before, e.counters) if i == 0 else {}}
            data.pop("counters", None)
            uow.record(make_event(SERVICE, e.type, case.id, data, path=list(case.region_path),
                                  actor=e.actor, version=case.version, at=e.at, id=e.event_id))

    async def scoped(self, p: Principal, case_id: str, uow: UnitOfWork | None = None) -> tuple[d.Case, dict]:
        """A case the caller named, if it exists and is in their scope; FORBIDDEN alike for one that
        does not exist and one outside their scope (NOT_FOUND to an unrestricted caller)."""
        doc = await self.store.doc(case_id, uow)
        case = case_from_doc(doc) if doc is not None else None
        if case is None or not d.in_scope(p, case):
            raise hidden(p, f"case {case_id}")
        return case, doc

    async def run(self, req: Request, command_model: type[CaseCommand], action: d.Action, command: Command) -> dict:
        """Load (in scope), check the caller may do `action` (before the version, so a caller who
        may not act learns nothing of it), apply one domain command, save with a version check,
        record its events."""
        c, p = req.parse(command_model), req.principal

        async def work(uow: UnitOfWork) -> tuple[d.Case, dict]:
            case, doc = await self.scoped(p, c.id, uow)
            d.authorize(p, action, case)
            if c.expectedVersion is not None and c.expectedVersion != case.version:
                raise Conflict(f"case {c.id} is at version {case.version}, not {c.expectedVersion}",
                               {"currentVersion": case.version})
            before_version, before = case.version, d.counters_of(case)
            command(case, p, now())
            extra = {"possible_duplicates": doc.get("possible_duplicates", [])}
            saved = self.store.save(uow, case, before_version, extra)
            self.record(uow, case, before)
            return case, saved

        case, doc = await self.rt.transact(work)
        return self.views.case(p, case, doc)

    async def report(self, req: Request) -> dict:
        p = req.principal
        if not (p.unrestricted or p.role in d.PERMISSIONS[d.Action.REPORT]):
            raise Forbidden(f"role {p.role} may not report cases", {"role": str(p.role)})
        c = req.parse(ReportCase)
        if p.role is Role.SERVICE and c.channel != "JOINT_MEETING":
            raise BadInput("services report cases only as JOINT_MEETING action items")
        key = f"case.report:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        category = (await self.current_catalogue()).get(c.categoryCode)
        grid, location = self._route(c)

        async def work(uow: UnitOfWork) -> tuple[d.Case, dict]:
            if key and (done := await recall(uow, key)):
                case, doc = await self.store.load(done, uow)
                return case, doc
            at = now()
            case = d.Case.report(
                id=new_id("c"), title=c.title, description=c.description, category=category,
                channel=d.CaseChannel(c.channel), region_path=grid["path"], by=p, now=at, sla=self.sla,
                reporter_name=c.reporterName, reporter_phone_enc=self.cipher.encrypt(c.reporterPhone),
                reporter_sub=c.reporterSub, location=location,
                kind=d.RequestKind(c.kind) if c.kind else None)
            candidates = await self.store.duplicate_candidates(case, window_start(at, self.settings.dup_window_s), uow)
            dups = [x.id for x in d.possible_duplicates(case, candidates, self.settings.dup_radius_m,
                                                          self.settings.dup_window_s, at)]
            doc = self.store.insert(uow, case, {"possible_duplicates": dups, "source": c.source})
            self.record(uow, case, None)
            if key:
                await remember(uow, key, case.id)
            return case, doc

        try:
            case, doc = await self.rt.transact(work)
        except DuplicateKeyError:
            if key and (done := await remembered(self.rt.db, key)):
                return await self._view_of(p, done)
            raise
        return self.views.case(p, case, doc)

    def _route(self, c: ReportCase) -> tuple[dict, d.GeoPoint | None]:
        """The grid a report belongs to: located from its point, or named (a building → its grid)."""
        location = None
        if c.lng is not None or c.lat is not None:
            if c.lng is None or c.lat is None:
                raise BadInput("give both lng and lat, or a regionId")
            valid_point(c.lng, c.lat)
            location = d.GeoPoint(lng=c.lng, lat=c.lat)
        if c.regionId:
            node = self.territory.get(c.regionId)
            if node is None:
                raise NotFound(f"region {c.regionId} is not known here (yet)")
            if node["level"] == "BUILDING":
                node = self.territory.get(node["parentId"]) or node
            if node["level"] != "GRID":
                raise BadInput(f"a case belongs to a GRID; {node['name']} is a {node['level']}")
            return node, location
        if location is None:
            raise BadInput("say where: lng and lat, or the regionId of a grid or building")
        grid = self.territory.locate(location.lng, location.lat)
        if grid is None:
            raise BadInput(f"no grid contains the point [{location.lng}, {location.lat}]; "
                           "give the regionId of a grid instead")
        return grid, location

    # -- commands --------------------------------------------------------------------------
    async def accept(self, req: Request) -> dict:
        return await self.run(req, CaseCommand, d.Action.ACCEPT, lambda case, p, t: case.accept(p, t, self.sla))

    async def assign(self, req: Request) -> dict:
        a = req.parse(AssignCase).assignee
        assignee = d.Assignee(kind=d.AssigneeKind(a.kind), id=a.id, name=a.name or a.id)
        return await self.run(req, AssignCase, d.Action.ASSIGN, lambda case, p, t: case.assign(p, assignee, t))

    async def start(self, req: Request) -> dict:
        return await self.run(req, CaseCommand, d.Action.START, lambda case, p, t: case.start(p, t))

    async def resolve(self, req: Request) -> dict:
        text = req.parse(ResolveCase).resolution
        return await self.run(req, ResolveCase, d.Action.RESOLVE, lambda case, p, t: case.resolve(p, text, t))

    async def escalate(self, req: Request) -> dict:
        reason = req.parse(WithReason).reason
        return await self.run(req, WithReason, d.Action.ESCALATE,
                              lambda case, p, t: case.escalate(p, reason, t, self.sla))

    async def reject(self, req: Request) -> dict:
        reason = req.parse(WithReason).reason
        return await self.run(req, WithReason, d.Action.REJECT, lambda case, p, t: case.reject(p, reason, t))

    async def return_(self, req: Request) -> dict:
        reason = req.parse(WithReason).reason
        return await self.run(req, WithReason, d.Action.RETURN, lambda case, p, t: case.return_(p, reason, t))

    async def rate(self, req: Request) -> dict:
        c = req.parse(RateCase)
        return await self.run(req, RateCase, d.Action.RATE,
                              lambda case, p, t: case.rate(p, c.score, t, self.sla, c.comment))

    async def close(self, req: Request) -> dict:
        note = req.parse(CloseCase).note
        return await self.run(req, CloseCase, d.Action.CLOSE, lambda case, p, t: case.close(p, t, note))

    async def merge(self, req: Request) -> dict:
        c, p = req.parse(MergeCase), req.principal

        async def work(uow: UnitOfWork) -> tuple[d.Case, dict]:
            other, other_doc = await self.scoped(p, c.id, uow)
            into, into_doc = await self.scoped(p, c.intoId, uow)
            d.authorize(p, d.Action.MERGE, other)
            d.authorize(p, d.Action.MERGE, into)
            if c.expectedVersion is not None and c.expectedVersion != other.version:
                raise Conflict(f"case {c.id} is at version {other.version}, not {c.expectedVersion}",
                               {"currentVersion": other.version})
            versions = other.version, into.version
            before = d.counters_of(other), d.counters_of(into)
            d.merge(into, other, p, now(), force=c.force)
            self.store.save(uow, other, versions[0], {"possible_duplicates": other_doc.get("possible_duplicates", [])})
            saved = self.store.save(uow, into, versions[1], {"possible_duplicates": into_doc.get("possible_duplicates", [])})
            self.record(uow, other, before[0])
            self.record(uow, into, before[1])
            return into, saved

        into, doc = await self.rt.transact(work)
        return self.views.case(p, into, doc)

    async def reveal(self, req: Request) -> dict:
        c, p = req.parse(RevealContact), req.principal

        async def work(uow: UnitOfWork) -> d.Reporter:
            case, doc = await self.scoped(p, c.caseId, uow)
            d.authorize(p, d.Action.REVEAL_CONTACT, case)
            version, before = case.version, d.counters_of(case)
            reporter = case.reveal_contact(p, c.reason, now(), c.reporterIndex)
            self.store.save(uow, case, version, {"possible_duplicates": doc.get("possible_duplicates", [])})
            self.record(uow, case, before)
            return reporter

        reporter = await self.rt.transact(work)
        return {"name": reporter.name, "phone": self.cipher.decrypt(reporter.phone_enc), "sub": reporter.sub}

    async def on_org_event(self, event: CloudEvent) -> None:
        """RESOLUTION_ADDED of a joint meeting that settled a raised hotspot: note it on each
        of the hotspot's cases (the resolution's link back to them)."""
        data = event.data
        if event.event != "RESOLUTION_ADDED" or not data.get("caseIds"):
            return
        for case_id in data["caseIds"]:
            async def work(uow: UnitOfWork, case_id: str = case_id) -> None:
                doc = await self.store.doc(case_id, uow)
                if doc is None:
                    return  # a case removed since: nothing to link
                case = case_from_doc(doc)
                version, before = case.version, d.counters_of(case)
                if case.note_deliberation(event.subject, data["resolutionId"], data.get("text", ""), now()):
                    self.store.save(uow, case, version, {"possible_duplicates": doc.get("possible_duplicates", [])})
                    self.record(uow, case, before)

            await self.rt.transact(work)

    # -- reads -----------------------------------------------------------------------------
    async def _view_of(self, p: Principal, case_id: str) -> dict:
        case, doc = await self.store.load(case_id)
        return self.views.case(p, case, doc)

    async def get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        if p.unrestricted and await self.store.doc(q.id) is None:
            return None
        case, doc = await self.scoped(p, q.id)
        return self.views.case(p, case, doc)

    async def batch(self, req: Request) -> dict:
        q, p = req.parse(ByIds), req.principal
        docs = await self.store.docs(q.ids)
        items: dict[str, Any] = {}
        for i in q.ids:
            doc = docs.get(i)
            case = case_from_doc(doc) if doc is not None else None
            if case is None and p.unrestricted:
                items[i] = None
            elif case is None or not d.in_scope(p, case):
                items[i] = item_error(hidden(p, f"case {i}"))
            else:
                items[i] = self.views.case(p, case, doc)
        return {"items": items}

    async def list(self, req: Request) -> dict:
        q, p = req.parse(ListCases), req.principal
        scope: dict[str, Any] = dict(scope_query(p))
        region: dict[str, Any] = {}
        if q.regionId:
            path = self.territory.path(q.regionId)
            if path is None or (p.role is not Role.RESIDENT and not p.can_see_path(path)):
                raise hidden(p, f"region {q.regionId}")
            if p.role is not Role.RESIDENT:
                scope.pop("path", None)  # implied: the region lies in the caller's subtree
            region = {"path": q.regionId}
        filters: dict[str, Any] = {}
        if q.status:
            filters["status"] = {"$in": q.status}
        if q.level:
            filters["level"] = q.level
        if q.overdue is not None:
            filters["overdue"] = q.overdue
        if q.categoryCode:
            filters["category_code"] = q.categoryCode
        if q.mine:
            filters["$or"] = [{"reporterSubs": p.sub}, {"assigneeKey": {"$in": self._my_keys(p)}}]
        query = flat_and(scope, region, filters)
        total = None
        if q.withTotal and list(query) == ["path"] and isinstance(query["path"], str):
            # Every case of a subtree: its rollup's `total`, not a count of 100,000 documents.
            total = (await self.store.rollup_counters([query["path"]])).get(query["path"], {}).get("total", 0)
        docs, total, more = await self.store.page(query, q.first, q.after, with_total=q.withTotal, total=total)
        items = [self.views.case(p, case_from_doc(doc), doc) for doc in docs]
        return page_reply(items, total, more)

    @staticmethod
    def _my_keys(p: Principal) -> list[str]:
        keys = [f"GRID_WORKER:{p.sub}", f"VOLUNTEER:{p.sub}"]
        if p.member:
            keys.append(f"VOLUNTEER:{p.member}")
        if p.dept:
            keys.append(f"DEPARTMENT:{p.dept}")
        return keys

    async def stats(self, req: Request) -> dict:
        q = req.parse(ByIds)
        counters = await self.store.rollup_counters(q.ids)
        return self.territory.region_items(q.ids, req.principal, lambda i: self.views.stats(counters.get(i, {})))

    async def trend(self, req: Request) -> dict:
        return await trend_reply(req, self.territory, d.TREND_METRICS, self.store.days, self.store.rollup_counters)

    async def hotspots(self, req: Request) -> dict:
        """热点: the busiest grid × category clusters of a subtree in a window, from the
        per-day cells kept with the writes."""
        require_figures(req.principal)
        q, p = req.parse(HotspotQuery), req.principal
        self.territory.visible_path(p, q.regionId)
        tz = city_tz()
        until = q.until or now()
        if until <= q.since:
            raise BadInput("`since` must be before `until` (default: now)")
        since_day, until_day = q.since.astimezone(tz).date(), until.astimezone(tz).date()
        if (until_day - since_day).days > 366:
            raise BadInput("a hotspot window is at most a year")
        prev_start, _ = d.hotspots_windows(since_day, until_day)
        days = await self.store.hotspot_days(q.regionId, prev_start.isoformat())
        await self.current_catalogue()
        items = d.hotspots(days, since_day, until_day, q.first)
        for h in items:
            h["gridName"], h["categoryName"] = self._region_name(h["gridId"]), self._category_name(h["categoryCode"])
            h["regionPath"] = self.territory.path(h["gridId"]) or []
        return {"since": since_day.isoformat(), "until": until_day.isoformat(), "items": items}

    async def hotspot_cases(self, req: Request) -> dict:
        """The cases behind one hotspot (newest first): what a joint meeting deliberates."""
        require_any_role(req.principal, STAFF, "list the cases of a hotspot")
        q, p = req.parse(HotspotCases), req.principal
        path = self.territory.visible_path(p, q.gridId)
        node = self.territory.get(q.gridId)
        if node is None or node["level"] != "GRID":
            raise BadInput(f"a hotspot is in a GRID; {q.gridId} is not one")
        await self.current_catalogue()
        ids, total = await self.store.hotspot_case_ids(q.gridId, q.categoryCode, q.since, q.until or now(), q.first)
        return {"gridId": q.gridId, "gridName": node["name"], "regionPath": path, "categoryCode": q.categoryCode,
                "categoryName": self._category_name(q.categoryCode), "caseIds": ids, "total": total}

    # -- catalogue -------------------------------------------------------------------------
    async def catalogue(self, req: Request) -> dict:
        return self.views.catalogue(await self.current_catalogue(max_age_s=0))

    def _may_edit_catalogue(self, p: Principal) -> None:
        """SLA and routing of every region: a city's administrators or a superadmin."""
        require_deployment_admin(p, self.territory.path(p.region) if p.region else None, "edit the dispatch catalogue")

    async def _edit_catalogue(self, p: Principal, edit: Callable[[d.Catalogue], d.Catalogue]) -> dict:
        self._may_edit_catalogue(p)

        async def work(uow: UnitOfWork) -> d.Catalogue:
            current = await self.store.catalogue()
            new = edit(current)
            await self.store.save_catalogue(uow, new, current.version, p.sub)
            uow.record(make_event(SERVICE, "CATALOGUE_CHANGED", "catalogue", {"version": new.version},
                                  path=[], actor=p.sub, version=new.version))
            return new

        self._catalogue, self._catalogue_at = await self.rt.transact(work), time.monotonic()
        return self.views.catalogue(self._catalogue)

    async def upsert_category(self, req: Request) -> dict:
        self._may_edit_catalogue(req.principal)
        c = req.parse(CategoryInput)
        try:
            category = d.Category(code=c.code, name=c.name, group=c.group or "", default_level=c.defaultLevel,
                                  department=c.department, sla_seconds=c.slaSeconds,
                                  **({"kind": c.kind} if c.kind else {}))
        except ValueError as e:
            raise BadInput(str(e).splitlines()[-1]) from None
        return await self._edit_catalogue(req.principal, lambda cat: cat.upsert(category))

    async def remove_category(self, req: Request) -> dict:
        self._may_edit_catalogue(req.principal)
        code = req.parse(RemoveCategory).code
        return await self._edit_catalogue(req.principal, lambda cat: cat.remove(code))

    def table(self) -> dict:
        return {
            "case.report": self.report, "case.get": self.get, "case.batch": self.batch, "case.list": self.list,
            "case.accept": self.accept, "case.assign": self.assign, "case.start": self.start,
            "case.resolve": self.resolve, "case.escalate": self.escalate, "case.reject": self.reject,
            "case.return": self.return_, "case.rate": self.rate, "case.close": self.close,
            "case.merge": self.merge, "case.revealContact": self.reveal, "stats.batch": self.stats,
            "catalogue.list": self.catalogue, "catalogue.upsert": self.upsert_category,
            "catalogue.remove": self.remove_category, "trend.series": self.trend,
            "hotspot.list": self.hotspots, "hotspot.cases": self.hotspot_cases,
        }
