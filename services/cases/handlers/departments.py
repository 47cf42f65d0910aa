"""Departments (`domain/handling.py`): the directory, dispatch to 主办/协办, replies, requests and
their decision, resuming, 督办, and the per-department figures and rankings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.cases import domain as d
from services.cases.domain import handling as h
from services.cases.handlers.context import CaseContext
from shared.auth import Principal, Role, hidden
from shared.contracts import cases as cc
from shared.domain import text
from shared.errors import BadInput, Conflict, Forbidden, NotFound
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now, recall, remember, remembered
from shared.trends import city_tz, day_of
from shared.vocabulary.cases import CaseRequestKind

DIRECTORY_LEVELS = ("COUNTY", "CITY")
Command = Callable[[d.Case, Principal, datetime], Any]


# Who reads a region's department directory (with its contacts' phones, masked): staff, departments
# and grid workers; not residents, volunteers or building leaders (people of the neighbourhood)
DIRECTORY_READERS = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.DEPARTMENT})


class DepartmentCommands:
    def __init__(self, ctx: CaseContext):
        self.ctx = ctx

    # ---- the directory ------------------------------------------------------------------
    async def create(self, req: Request) -> dict:
        """A department in the directory of a county or a city, by an admin of that region or above."""
        c, p, ctx = req.parse(cc.CreateDepartment), req.principal, self.ctx
        node = ctx.territory.get(c.regionId)
        if node is None or not p.can_see_path(node["path"]):
            raise hidden(p, f"region {c.regionId}")
        if not (p.unrestricted or p.role is Role.ADMIN):
            raise Forbidden("only an admin of the region or above adds departments to its directory")
        if node["level"] not in DIRECTORY_LEVELS:
            raise BadInput(
                f"departments belong to a county or a city; {node['name']} is a {node['level']}",
                {"regionId": c.regionId, "level": node["level"]},
            )
        if c.level and c.level != node["level"]:
            raise BadInput(f"a department of {node['name']} is of level {node['level']}", {"level": c.level})
        key = f"department.create:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None
        contacts = [
            {
                "name": text(x.name, "contacts.name", 64),
                "title": (x.title or "").strip() or None,
                "phone_enc": ctx.cipher.encrypt(x.phone) if x.phone else None,
            }
            for x in c.contacts
        ]

        async def work(uow: UnitOfWork) -> dict:
            if key and (done := await recall(uow, key)):
                found = await ctx.store.department_by_id(done, uow)
                if found:
                    return found
            if await ctx.store.department(c.regionId, c.code, uow):
                raise Conflict(f"{node['name']} already has a department {c.code}", {"code": c.code})
            doc = {
                "_id": new_id("dp"),
                "code": c.code,
                "name": text(c.name, "name", 64),
                "level": node["level"],
                "region_id": c.regionId,
                "region_path": list(node["path"]),
                "contacts": contacts,
                "created_at": now(),
                "created_by": p.sub,
                "version": 1,
            }
            uow.insert("departments", doc)
            if key:
                await remember(uow, key, doc["_id"])
            return doc

        try:
            doc = await ctx.rt.transact(work)
        except DuplicateKeyError:
            if key and (done := await remembered(ctx.rt.db, key)) and (found := await ctx.store.department_by_id(done)):
                return self.view(p, found)
            raise Conflict(f"{node['name']} already has a department {c.code}", {"code": c.code}) from None
        return self.view(p, doc)

    async def directory(self, req: Request) -> dict:
        """The directory of a region: its departments and those of the regions below it. Anyone
        of staff, departments and grid workers whose region is on that path may read it."""
        q, p, ctx = req.parse(cc.ListDepartments), req.principal, self.ctx
        path = ctx.territory.path(q.regionId)
        if path is None or not (
            p.unrestricted or p.can_see_path(path) or (p.region and q.regionId in self._own_path(p))
        ):
            raise hidden(p, f"region {q.regionId}")
        if not (p.unrestricted or p.role in DIRECTORY_READERS):  # deny by default: a new role reads none
            raise Forbidden(f"role {p.role} may not read the department directory")
        docs, more = await ctx.store.departments_page(q.regionId, q.first, q.after)
        return {
            "items": [self.view(p, x) for x in docs],
            "hasNextPage": more,
            "endCursor": docs[-1]["_id"] if docs else None,
            "totalCount": await ctx.store.departments_count(q.regionId),
        }

    def _own_path(self, p: Principal) -> list[str]:
        return (self.ctx.territory.path(p.region) or []) if p.region else []

    def view(self, p: Principal, doc: dict) -> dict:
        own = p.role is Role.DEPARTMENT and p.region == doc["region_id"] and p.dept == doc["code"]
        plain = own or p.unrestricted

        def phone(enc: str | None) -> str | None:
            value = self.ctx.cipher.decrypt(enc) if enc else None
            return value if plain else d.mask_phone(value) if value else None

        return {
            "id": doc["_id"],
            "code": doc["code"],
            "name": doc["name"],
            "level": doc["level"],
            "regionId": doc["region_id"],
            "regionPath": doc["region_path"],
            "contacts": [
                {"name": x["name"], "title": x.get("title"), "phone": phone(x.get("phone_enc"))}
                for x in doc["contacts"]
            ],
            "createdAt": doc["created_at"],
            "version": doc["version"],
        }

    async def dept_refs(self, case: d.Case, codes: list[str], uow: UnitOfWork) -> list[h.DeptRef]:
        """The departments named by code in the directory of the case's county, else its city;
        BAD_INPUT naming every code neither has. One read per directory (a county's is a few
        dozen entries), the city's only for codes the county lacks."""
        county = case.region_at(d.HandlingLevel.COUNTY)
        regions = [county] + ([case.region_path[-5]] if len(case.region_path) >= 5 else [])
        found: dict[str, h.DeptRef] = {}
        for region in regions:
            missing = [c for c in codes if c not in found]
            if not missing:
                break
            names = await self.ctx.store.directory_of(region, uow)
            found |= {c: h.DeptRef(code=c, name=names[c], region_id=region) for c in missing if c in names}
        unknown = [c for c in codes if c not in found]
        if unknown:
            raise BadInput(
                f"no department {', '.join(unknown)} in the directory of {self.ctx.region_name(county)} or its city",
                {"unknownDepartments": unknown},
            )
        return [found[c] for c in codes]

    # ---- case commands ------------------------------------------------------------------
    async def run(
        self, req: Request, model: type[cc.CaseCommand], action: d.Action, command: Command, verb: str = ""
    ) -> tuple[d.Case | None, dict | None, Any]:
        """Load in scope, check the action and version, apply, save with its events. A command
        that adds something (a reply, a request, an urge) sent with an `idempotencyKey` is
        applied once: a retry gets `(None, None, <the first result's id>)`."""
        c, p, ctx = req.parse(model), req.principal, self.ctx
        given = getattr(c, "idempotencyKey", None)
        key = f"case.{verb}:{p.sub}:{given}" if given and verb else None

        async def work(uow: UnitOfWork) -> tuple[d.Case | None, dict | None, Any]:
            if key and (done := await recall(uow, key)):
                return None, None, str(done)
            case, doc = await ctx.scoped(p, c.id, uow)
            d.authorize(p, action, case)
            d.check_expected_version(case, c.expectedVersion)
            version, before = case.version, d.counters_of(case)
            out = command(case, p, now())
            saved = ctx.save(uow, case, version, before, doc)
            if key:
                await remember(uow, key, out.id if isinstance(out, h.CaseRequest) else case.id)
            return case, saved, out

        try:
            return await ctx.rt.transact(work)
        except DuplicateKeyError:
            if key and (first := await remembered(ctx.rt.db, key)):
                return None, None, str(first)
            raise

    async def _case_view(self, req: Request, model: type[cc.CaseCommand], ran: tuple) -> dict:
        case, doc, _ = ran
        if case is None:  # a retry: the case as it is now
            c = req.parse(model)
            case, doc = await self.ctx.scoped(req.principal, c.id)
        return self.ctx.views.case(req.principal, case, doc)

    async def dispatch(self, req: Request) -> dict:
        """派单: the departments are read from the directory inside the transaction."""
        c, p, ctx = req.parse(cc.DispatchCase), req.principal, self.ctx

        async def work(uow: UnitOfWork) -> tuple[d.Case, dict]:
            case, doc = await ctx.scoped(p, c.id, uow)
            d.authorize(p, d.Action.DISPATCH, case)
            d.check_expected_version(case, c.expectedVersion)
            version, before = case.version, d.counters_of(case)
            refs = await self.dept_refs(case, [c.lead, *c.cooperating], uow)
            case.dispatch(p, refs[0], refs[1:], now())
            return case, ctx.save(uow, case, version, before, doc)

        case, doc = await ctx.rt.transact(work)
        return ctx.views.case(p, case, doc)

    async def reply(self, req: Request) -> dict:
        c = req.parse(cc.ReplyToCase)
        ran = await self.run(
            req, cc.ReplyToCase, d.Action.REPLY, lambda case, p, t: case.reply(p, c.text, c.attachmentIds, t), "reply"
        )
        return await self._case_view(req, cc.ReplyToCase, ran)

    async def request_return(self, req: Request) -> dict:
        c = req.parse(cc.RaiseRequest)
        return await self._request(req, cc.RaiseRequest, CaseRequestKind.RETURN, c.reason)

    async def request_extension(self, req: Request) -> dict:
        c = req.parse(cc.RequestExtension)
        return await self._request(req, cc.RequestExtension, CaseRequestKind.EXTENSION, c.reason, c.until)

    async def suspend(self, req: Request) -> dict:
        c = req.parse(cc.RaiseRequest)
        return await self._request(req, cc.RaiseRequest, CaseRequestKind.SUSPENSION, c.reason)

    async def _request(
        self,
        req: Request,
        model: type[cc.CaseCommand],
        kind: CaseRequestKind,
        reason: str,
        until: datetime | None = None,
    ) -> dict:
        case, _, request = await self.run(
            req, model, d.Action.REQUEST, lambda case, p, t: case.raise_request(p, kind, reason, t, until), "request"
        )
        if case is None:  # a retry: the first request, as it is now
            case, _ = await self.ctx.scoped(req.principal, req.parse(model).id)
            request = case.request_named(request)
        return self.ctx.views.case_request(case, request)

    async def decide(self, req: Request) -> dict:
        c, p, ctx = req.parse(cc.DecideCaseRequest), req.principal, self.ctx
        case_id, sep, _ = c.requestId.rpartition(":")
        if not sep or not case_id:
            raise hidden(p, f"request {c.requestId}")

        async def work(uow: UnitOfWork) -> tuple[d.Case, h.CaseRequest]:
            case, doc = await ctx.scoped(p, case_id, uow)
            d.authorize(p, d.Action.DECIDE, case)
            version, before = case.version, d.counters_of(case)
            request = case.decide(p, c.requestId, c.approve, c.note, now(), ctx.sla)
            ctx.save(uow, case, version, before, doc)
            return case, request

        case, request = await ctx.rt.transact(work)
        return ctx.views.case_request(case, request)

    async def resume(self, req: Request) -> dict:
        ran = await self.run(req, cc.CaseCommand, d.Action.RESUME, lambda case, p, t: case.resume(p, t, self.ctx.sla))
        return await self._case_view(req, cc.CaseCommand, ran)

    async def urge(self, req: Request) -> dict:
        c = req.parse(cc.UrgeCase)
        ran = await self.run(req, cc.UrgeCase, d.Action.URGE, lambda case, p, t: case.urge(p, c.note, t), "urge")
        return await self._case_view(req, cc.UrgeCase, ran)

    # ---- figures ------------------------------------------------------------------------
    async def _department_for(self, p: Principal, code: str, region_id: str) -> tuple[dict, list[str]]:
        """The department `code` of the directory of `region_id` or the nearest region above it
        that has one, and `region_id`'s path; FORBIDDEN unless the caller may read its figures
        (staff whose scope covers the region, or the department itself within its region)."""
        ctx = self.ctx
        path = ctx.territory.path(region_id)
        if path is None:
            raise hidden(p, f"region {region_id}")
        doc = None
        for region in reversed(path):
            doc = await ctx.store.department(region, code)
            if doc:
                break
        own = p.role is Role.DEPARTMENT and p.dept == code and (doc is None or p.region == doc["region_id"])
        if not (p.can_see_path(path) and (p.unrestricted or p.role in h.STAFF or own)):
            raise hidden(p, f"figures of department {code} in region {region_id}")
        if doc is None:
            raise NotFound(f"no department {code} in the directory of region {region_id} or above")
        return doc, path

    async def counters(self, region_id: str, since: datetime | None, until: datetime | None) -> dict[str, int]:
        """The region's rollup counters; with a time range, the changes of the days in it."""
        if since is None and until is None:
            return await self.ctx.store.dept_rollup(region_id)
        tz = city_tz()
        first = day_of(since, tz) if since else "0000-00-00"
        last = day_of(until, tz) if until else None
        out: dict[str, int] = {}
        for counters in (await self.ctx.store.days(region_id, first, last)).values():
            for k, v in counters.items():
                if k.startswith(h.DEPT_PREFIX + "."):
                    out[k] = out.get(k, 0) + v
        return out

    async def stats(self, req: Request) -> dict:
        q, p = req.parse(cc.DepartmentStatsQuery), req.principal
        if q.from_ and q.to and q.to < q.from_:
            raise BadInput("`to` lies before `from`")
        doc, _ = await self._department_for(p, q.deptCode, q.regionId)
        figures = h.dept_figures(await self.counters(q.regionId, q.from_, q.to))
        key = h.dept_key(doc["region_id"], doc["code"])
        return {"department": self.view(p, doc), "regionId": q.regionId, **h.dept_stats(figures.get(key, {}))}

    async def rankings(self, req: Request) -> dict:
        q, p, ctx = req.parse(cc.DepartmentRankingsQuery), req.principal, self.ctx
        metric = h.check_metric(q.metric)
        path = ctx.territory.path(q.regionId)
        if path is None or not p.can_see_path(path) or not (p.unrestricted or p.role in h.STAFF):
            raise hidden(p, f"region {q.regionId}")
        docs = await ctx.store.departments_in(q.regionId, path)
        figures = h.dept_figures(await self.counters(q.regionId, None, None))
        rows = []
        for x in docs:
            stats = h.dept_stats(figures.get(h.dept_key(x["region_id"], x["code"]), {}))
            rows.append((stats[metric], x, stats))
        by_code = sorted((r for r in rows if r[0] is not None), key=lambda r: (r[1]["code"], r[1]["region_id"]))
        present = sorted(by_code, key=lambda r: r[0], reverse=q.order == "DESC")  # stable: ties by code
        ordered = present + sorted((r for r in rows if r[0] is None), key=lambda r: r[1]["code"])
        return {
            "items": [
                {"rank": i + 1, "value": value, "department": self.view(p, x), "stats": stats}
                for i, (value, x, stats) in enumerate(ordered[: q.first])
            ]
        }
