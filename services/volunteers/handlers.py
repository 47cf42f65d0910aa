"""Request handlers of the volunteers service; the subject → handler table is at the end.

A command loads its records in one transaction, applies the domain rule, saves with a
version check, adds the rollup deltas and records its events. Claims, sign-ups and grabs
that lose a version race are retried against the fresh record, so the rule (capacity,
first taker) decides, never the race; redemptions are serialised per volunteer by their
wallet document.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.volunteers import domain as d
from services.volunteers.store import VolunteerStore, entry_of
from services.volunteers.views import VolunteerViews
from shared.auth import Principal, Role, require_any_role, require_deployment_admin
from shared.commands import RecordCommands, page_reply, trend_reply
from shared.contracts import volunteers as w
from shared.contracts.common import ById, ByIds
from shared.errors import BadInput, Forbidden, NotFound
from shared.geo import valid_point
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now
from shared.privacy import FieldCipher
from shared.records import Records
from services.volunteers.domain.rollups import TREND_METRICS
from shared.service import ServiceRuntime
from shared.territory import TerritoryReplica

SERVICE = "volunteers"
STAFF = (Role.ADMIN, Role.OPERATOR)
RACE_RETRIES = 8
log = logging.getLogger("yiwang.volunteers")


class Volunteers(RecordCommands):
    def __init__(self, rt: ServiceRuntime, store: VolunteerStore, territory: TerritoryReplica, cipher: FieldCipher):
        self.rt, self.store, self.territory, self.cipher = rt, store, territory, cipher
        s = rt.settings
        self.settings = s
        self.rules = d.PointsRules(points_per_hour=s.points_per_hour, expiry_days=s.points_expiry_days,
                                   only_credit_hours=s.points_only_credit_hours,
                                   multipliers={d.PostType(k): v for k, v in s.points_multipliers.items()})
        self.views = VolunteerViews(cipher, self._region_name)

    def _region_name(self, region_id: str) -> str:
        node = self.territory.get(region_id)
        return node["name"] if node else region_id

    # -- territory -----------------------------------------------------------------------
    def path(self, region_id: str, *levels: str) -> list[str]:
        node = self.territory.get(region_id)
        if node is None:
            raise NotFound(f"region {region_id} is not known here (yet)")
        if levels and node["level"] not in levels:
            raise BadInput(f"{node['name']} is a {node['level']}; expected {' or '.join(levels)}",
                           {"regionId": region_id})
        return list(node["path"])

    def community_path(self, region_id: str) -> list[str]:
        """The path of the community a region (community, grid or building) lies in."""
        path = self.path(region_id, "COMMUNITY", "GRID", "BUILDING")
        for i, rid in enumerate(path):
            node = self.territory.get(rid)
            if node and node["level"] == "COMMUNITY":
                return path[:i + 1]
        raise BadInput(f"region {region_id} is not in a community")

    def scope(self, p: Principal, region_id: str | None) -> dict:
        """The subtree a list reads: the region asked for (in scope), or the caller's own."""
        require_any_role(p, d.PERMISSIONS[d.Action.VIEW], "list volunteer records")
        if region_id:
            self.territory.visible_path(p, region_id)
            return {"path": region_id}
        if p.unrestricted:
            return {}
        if p.region:
            return {"path": p.region}
        raise Forbidden("name a region to list")

    # -- writing -------------------------------------------------------------------------
    def emit(self, uow: UnitOfWork, record: Any) -> None:
        for e in record.drain_events():
            uow.record(make_event(SERVICE, e.type, e.subject_id, {"kind": e.subject_kind, **e.data},
                                  path=list(e.region_path), actor=e.actor, version=e.version, at=e.at,
                                  id=e.event_id))

    async def put(self, uow: UnitOfWork, repo: Records, record: Any, before: Any | None = None,
                  version: int | None = None) -> None:
        if version is None:
            await repo.insert(uow, record)
        else:
            await repo.save(uow, record, version)
        await self.store.apply(uow, [d.RollupDelta.between(before, record)])
        self.emit(uow, record)

    @staticmethod
    def gate(p: Principal, *actions: d.Action) -> None:
        """Before anything is read: the caller's role may do one of `actions` at all."""
        roles = frozenset().union(*(d.PERMISSIONS[a] for a in actions))
        require_any_role(p, roles, " or ".join(str(a).replace("_", " ") for a in actions))

    def placed(self, p: Principal, action: d.Action, region_id: str) -> None:
        """Before a create reads anything else: the role may do `action`, and the region is in the
        caller's scope (a resident's scope is their own records: they act anywhere)."""
        self.gate(p, action)
        if p.role is not Role.RESIDENT:
            self.territory.visible_path(p, region_id)

    def visible(self, p: Principal, record: Any) -> bool:
        """In scope (residents: their own), or the order the caller took."""
        return d.in_scope(p, record) or (isinstance(record, d.ServiceOrder) and record.taker_sub == p.sub)

    def authorize(self, p: Principal, action: d.Action, record: Any) -> None:
        d.authorize(p, action, record)

    async def me(self, p: Principal, volunteer_id: str | None = None, uow: UnitOfWork | None = None) -> d.Volunteer:
        """The volunteer a command acts for: the caller's own record, or (for staff and the
        service) the one named."""
        if volunteer_id and (p.unrestricted or p.role in STAFF):
            return await self.scoped(self.store.volunteers, volunteer_id, p, uow)
        v = await self.store.by_sub(p.sub, uow)
        if volunteer_id and (v is None or volunteer_id != v.id):
            raise Forbidden("you may only act for yourself", {"volunteerId": volunteer_id})
        if v is None:
            raise NotFound("you are not registered as a volunteer; call registerVolunteer first")
        return v

    # -- points and service records ------------------------------------------------------
    async def credit(self, uow: UnitOfWork, volunteer_id: str, record: Any, kind: d.SourceKind,
                     hours_tenths: int, post_type: d.PostType | None = None, backfilled: bool = False,
                     source_id: str | None = None) -> None:
        """Points for hours of service (idempotent per source), and the service record that
        feeds the member's quarterly 双报到 feedback."""
        volunteer = await self.store.volunteers.get(volunteer_id, uow)
        if volunteer is None or hours_tenths <= 0:
            return
        source = source_id or record.id
        at = now()
        entries = await self.store.entries(volunteer.id, uow)
        entry = d.award(entries, entry_id=f"{kind}:{source}:{volunteer.id}", volunteer_id=volunteer.id,
                        source_kind=kind, source_id=source, hours_tenths=hours_tenths, now=at, rules=self.rules,
                        post_type=post_type, backfilled=backfilled, region_path=volunteer.region_path)
        if entry is not None:
            await self.store.append(uow, entry)
            await self.store.apply(uow, [d.RollupDelta.of(entry.region_path, None, d.counters_of(entry))])
            self.ledger_event(uow, "POINTS_AWARDED", entry, volunteer)
        await self.store.add_records(uow, [r for r in d.records_of(record) if r.volunteer_id == volunteer.id])
        if volunteer.in_service_member:
            await self.feedback(uow, volunteer, d.quarter_of(at))

    def ledger_event(self, uow: UnitOfWork, type_: str, entry: d.LedgerEntry, volunteer: d.Volunteer,
                     **extra: Any) -> None:
        uow.record(make_event(SERVICE, type_, entry.id, {
            "kind": "ledger", "volunteerId": volunteer.id, "delta": entry.delta, "sourceKind": str(entry.source_kind),
            "sourceId": entry.source_id, "expiresAt": entry.expires_at.isoformat() if entry.expires_at else None,
            **extra}, path=list(volunteer.region_path), at=entry.at, id=f"ledger:{entry.id}:{type_}"))

    async def feedback(self, uow: UnitOfWork, volunteer: d.Volunteer, quarter: str) -> None:
        """QUARTERLY_FEEDBACK with the quarter's totals so far (each newer version replaces
        the last at `organizations`)."""
        start, end = d.quarter_bounds(quarter)
        records = await self.store.records_between(uow, volunteer.id, start, end)
        fb = d.quarterly_feedback(records, volunteer, quarter)
        key = f"{fb.member_id}:{quarter}"
        version = await self.store.next_feedback_version(uow, key)
        uow.record(make_event(SERVICE, "QUARTERLY_FEEDBACK", key, {"kind": "feedback", **fb.model_dump(mode="json"),
                                                                   "feedbackVersion": version},
                              path=list(volunteer.region_path), version=version, id=f"feedback:{key}:{version}"))

    # -- volunteers and teams ------------------------------------------------------------
    async def volunteer_register(self, req: Request) -> dict:
        c, p = req.parse(w.RegisterVolunteer), req.principal
        self.placed(p, d.Action.REGISTER_VOLUNTEER, c.homeRegionId)
        home = self.community_path(c.homeRegionId)
        if c.memberId and not (p.unrestricted or p.role in STAFF) and p.member != c.memberId:
            raise Forbidden("you may link only your own member record (the `member` of your token)")
        member = await self.store.member(c.memberId) if c.memberId else None

        async def register(uow: UnitOfWork) -> str:
            v = d.Volunteer.register(id=new_id("v"), sub=c.sub or p.sub, name=c.name, home_path=home, by=p, now=now(),
                                     member_id=c.memberId, members={member.member_id: member} if member else {},
                                     phone_enc=self.cipher.encrypt(c.phone), skills=c.skills,
                                     availability=c.availability)
            await self.store.claim_key(uow, f"volunteer-sub:{v.sub}", v.id, f"{v.sub} is already a volunteer")
            if v.member_id:
                await self.store.claim_key(uow, f"volunteer-member:{v.member_id}", v.id,
                                           f"party member {v.member_id} is already a volunteer")
            await self.put(uow, self.store.volunteers, v)
            return v.id

        return await self.idempotent(p, "volunteer.register", c.idempotencyKey, register,
                                     lambda i: self._volunteer_view(p, i))

    async def _volunteer_view(self, p: Principal, volunteer_id: str) -> dict:
        return self.views.volunteer(p, await self.store.volunteers.load(volunteer_id))

    async def volunteer_update(self, req: Request) -> dict:
        c, p = req.parse(w.UpdateVolunteer), req.principal
        v = await self.change(self.store.volunteers, c.id, c.expectedVersion, lambda v, _: v.update_profile(
            p, now(), skills=c.skills, availability=c.availability), by=p,
            action=lambda v: d.authorize_profile_edit(p, v))
        return self.views.volunteer(p, v)

    async def volunteer_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        v = await self.readable(p, self.store.volunteers, q.id)
        return self.views.volunteer(p, v) if v else None

    async def volunteer_me(self, req: Request) -> dict | None:
        v = await self.store.by_sub(req.principal.sub)
        return self.views.volunteer(req.principal, v) if v else None

    async def _batch(self, req: Request, repo: Records, view: Callable[[Principal, Any], dict]) -> dict:
        return await self.batch(req.parse(ByIds).ids, req.principal, repo, view)

    async def volunteer_batch(self, req: Request) -> dict:
        reply = await self._batch(req, self.store.volunteers, self.views.volunteer)
        p = req.principal
        if p.role is Role.RESIDENT:  # a resident sees who serves them (the taker of their order), masked
            refused = [i for i, v in reply["items"].items() if isinstance(v, dict) and "error" in v]
            if refused:
                cur = self.store.orders.coll.find({"resident_sub": p.sub}, {"taker_id": 1})
                takers = {x.get("taker_id") async for x in cur} & set(refused)
                for v in (await self.store.volunteers.many(sorted(takers))).values():
                    reply["items"][v.id] = self.views.volunteer(p, v)
        return reply

    async def volunteer_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListVolunteers), req.principal
        if p.role is Role.RESIDENT:
            raise Forbidden("residents do not list volunteers")
        query = self.scope(p, q.regionId)
        if q.memberOnly:
            query["volunteer_kind"] = "PARTY_MEMBER"
        if q.skill:
            query["skills"] = q.skill
        items, total, more = await self.store.volunteers.page(query, q.first, q.after)
        return page_reply([self.views.volunteer(p, v) for v in items], total, more)

    async def team_create(self, req: Request) -> dict:
        c, p = req.parse(w.CreateTeam), req.principal
        self.placed(p, d.Action.MANAGE_TEAM, c.regionId)
        path = self.path(c.regionId)

        async def work(uow: UnitOfWork) -> d.Team:
            leader = await self.scoped(self.store.volunteers, c.leaderId, p, uow)
            team = d.Team.create(id=new_id("vt"), name=c.name, leader=leader, path=path, by=p, now=now())
            await self.put(uow, self.store.teams, team)
            return team

        return self.views.team(await self.rt.transact(work))

    async def team_add(self, req: Request) -> dict:
        c, p = req.parse(w.TeamMember), req.principal

        async def add(t: d.Team, uow: UnitOfWork) -> None:
            t.add_member(p, await self.scoped(self.store.volunteers, c.volunteerId, p, uow), now())

        return self.views.team(await self.change(self.store.teams, c.id, c.expectedVersion, add, RACE_RETRIES,
                                                 by=p, action=d.Action.MANAGE_TEAM))

    async def team_remove(self, req: Request) -> dict:
        c, p = req.parse(w.TeamMember), req.principal
        t = await self.change(self.store.teams, c.id, c.expectedVersion,
                              lambda t, _: t.remove_member(p, c.volunteerId, now()), RACE_RETRIES,
                              by=p, action=d.Action.MANAGE_TEAM)
        return self.views.team(t)

    async def team_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        t = await self.readable(p, self.store.teams, q.id)
        return self.views.team(t) if t else None

    async def team_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListByRegion), req.principal
        items, total, more = await self.store.teams.page(self.scope(p, q.regionId), q.first, q.after)
        return page_reply([self.views.team(t) for t in items], total, more)

    # -- posts ---------------------------------------------------------------------------
    async def post_create(self, req: Request) -> dict:
        c, p = req.parse(w.CreatePost), req.principal
        self.placed(p, d.Action.MANAGE_POST, c.regionId)
        path = self.path(c.regionId, "COMMUNITY", "GRID")

        async def work(uow: UnitOfWork) -> d.Post:
            post = d.Post.create(id=new_id("vp"), title=c.title, post_type=d.PostType(c.type), capacity=c.capacity,
                                 anchor_path=path, by=p, now=now(), duties=c.duties)
            await self.put(uow, self.store.posts, post)
            return post

        return self.views.post(await self.rt.transact(work))

    async def post_claim(self, req: Request) -> dict:
        c, p = req.parse(w.ForVolunteer), req.principal
        self.gate(p, d.Action.CLAIM_POST)
        v = await self.me(p, c.volunteerId)
        post = await self.change(self.store.posts, c.id, c.expectedVersion,
                                 lambda post, _: post.claim(p, v, now()), RACE_RETRIES, by=p,
                                 action=d.Action.CLAIM_POST)
        return self.views.post(post)

    async def post_release(self, req: Request) -> dict:
        c, p = req.parse(w.ForVolunteer), req.principal
        self.gate(p, d.Action.CLAIM_POST, d.Action.MANAGE_POST)
        v = await self.me(p, c.volunteerId)
        post = await self.change(self.store.posts, c.id, c.expectedVersion,
                                 lambda post, _: post.release(p, v, now()), RACE_RETRIES, by=p,
                                 action=lambda post: d.authorize_release(p, post))
        return self.views.post(post)

    async def post_close(self, req: Request) -> dict:
        c, p = req.parse(w.Versioned), req.principal
        return self.views.post(await self.change(self.store.posts, c.id, c.expectedVersion,
                                                 lambda post, _: post.close(p, now()), by=p,
                                                 action=d.Action.MANAGE_POST))

    async def post_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        post = await self.readable(p, self.store.posts, q.id)
        return self.views.post(post) if post else None

    async def post_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListPosts), req.principal
        if q.volunteerId:
            v = await self.scoped(self.store.volunteers, q.volunteerId, p)
            query: dict[str, Any] = {"claimants.volunteer_id": v.id}
        else:
            query = self.scope(p, q.regionId)
        if q.type:
            query["post_type"] = q.type
        if q.activeOnly:
            query["status"] = "ACTIVE"
        items, total, more = await self.store.posts.page(query, q.first, q.after)
        return page_reply([self.views.post(x) for x in items], total, more)

    # -- service orders ------------------------------------------------------------------
    async def order_place(self, req: Request) -> dict:
        c, p = req.parse(w.PlaceOrder), req.principal
        self.gate(p, d.Action.PLACE_ORDER)
        location = None
        if c.buildingId:
            path = self.path(c.buildingId, "BUILDING")
        elif c.lng is not None and c.lat is not None:
            valid_point(c.lng, c.lat)
            grid = self.territory.locate(c.lng, c.lat)
            if grid is None:
                raise BadInput(f"no grid contains the point [{c.lng}, {c.lat}]; give a buildingId instead")
            path, location = list(grid["path"]), d.GeoPoint(lng=c.lng, lat=c.lat)
        else:
            raise BadInput("say where: lng and lat, or the buildingId of a building")

        async def place(uow: UnitOfWork) -> str:
            order = d.ServiceOrder.place(id=new_id("so"), category=c.category, description=c.description, path=path,
                                         by=p, now=now(), building_id=c.buildingId, location=location,
                                         wished_at=c.wishedAt)
            await self.put(uow, self.store.orders, order)
            return order.id

        return await self.idempotent(p, "order.place", c.idempotencyKey, place,
                                     lambda i: self._order_view(p, i))

    async def _order_view(self, p: Principal, order_id: str) -> dict:
        return self.views.order(p, await self.store.orders.load(order_id))

    async def _order(self, req: Request, model: type[w.Versioned], command: Callable, retries: int = 0,
                     action: d.Action | None = None) -> dict:
        c = req.parse(model)
        order = await self.change(self.store.orders, c.id, c.expectedVersion, lambda o, uow: command(o, uow, c),
                                  retries, by=req.principal, action=action)
        return self.views.order(req.principal, order)

    async def order_review(self, req: Request) -> dict:
        p = req.principal
        return await self._order(req, w.ReviewOrder, lambda o, _, c: o.approve(p, now()) if c.approve
                                 else o.reject(p, c.reason, now()), action=d.Action.REVIEW_ORDER)

    async def order_dispatch(self, req: Request) -> dict:
        p = req.principal

        async def dispatch(o: d.ServiceOrder, uow: UnitOfWork, c: w.DispatchOrder) -> None:
            kind, post_type = d.TargetKind(c.target.kind), None
            repo = {d.TargetKind.VOLUNTEER: self.store.volunteers, d.TargetKind.TEAM: self.store.teams,
                    d.TargetKind.POST: self.store.posts}[kind]
            target = await self.scoped(repo, c.target.id, p, uow)
            if not any(r in target.region_path for r in o.region_path):
                raise BadInput(f"{repo.what} {target.id} is not in the order's area")
            if kind is d.TargetKind.POST:
                post_type = target.post_type
            o.dispatch(p, d.Target(kind=kind, id=target.id, post_type=post_type), now())

        return await self._order(req, w.DispatchOrder, dispatch, action=d.Action.DISPATCH_ORDER)

    async def order_take(self, req: Request) -> dict:
        p = req.principal

        async def take(o: d.ServiceOrder, uow: UnitOfWork, c: w.ForVolunteer) -> None:
            v = await self.me(p, c.volunteerId, uow)
            team = post = None
            if o.target and o.target.kind is d.TargetKind.TEAM:
                team = await self.store.teams.get(o.target.id, uow)
            if o.target and o.target.kind is d.TargetKind.POST:
                post = await self.store.posts.get(o.target.id, uow)
            o.take(p, v, now(), team=team, post=post)

        # A lost race is run again on the fresh order, which is then TAKEN: first taker wins.
        return await self._order(req, w.ForVolunteer, take, RACE_RETRIES, action=d.Action.TAKE_ORDER)

    async def order_start(self, req: Request) -> dict:
        p = req.principal
        return await self._order(req, w.Versioned, lambda o, _, c: o.start(p, now()), action=d.Action.WORK_ORDER)

    async def order_complete(self, req: Request) -> dict:
        p = req.principal

        async def complete(o: d.ServiceOrder, uow: UnitOfWork, c: w.CompleteOrder) -> None:
            o.complete(p, c.hours, now())
            post_type = o.target.post_type if o.target else None
            await self.credit(uow, o.taker_id, o, d.SourceKind.ORDER, o.hours_tenths, post_type)

        return await self._order(req, w.CompleteOrder, complete, action=d.Action.WORK_ORDER)

    async def order_rate(self, req: Request) -> dict:
        p = req.principal
        return await self._order(req, w.RateOrder, lambda o, _, c: o.rate(p, c.score, now(), c.comment),
                                 action=d.Action.RATE_ORDER)

    async def order_cancel(self, req: Request) -> dict:
        p = req.principal
        return await self._order(req, w.CancelOrder, lambda o, _, c: o.cancel(p, now(), c.reason))

    async def order_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        o = await self.readable(p, self.store.orders, q.id)
        return self.views.order(p, o) if o else None

    async def order_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListOrders), req.principal
        require_any_role(p, d.PERMISSIONS[d.Action.VIEW], "read service orders")
        if p.role is Role.RESIDENT:
            query: dict[str, Any] = {"resident_sub": p.sub}
        elif q.mine:
            query = {"taker_id": (await self.me(p)).id}
        else:
            query = self.scope(p, q.regionId)
        if q.status:
            query["status"] = q.status
        items, total, more = await self.store.orders.page(query, q.first, q.after)
        return page_reply([self.views.order(p, o) for o in items], total, more)

    async def wish_wall(self, req: Request) -> dict:
        """心愿墙: the community's approved orders waiting for a taker, oldest first."""
        q, p = req.parse(w.WishWall), req.principal
        query = self.scope(p, q.communityId) | {"status": "OPEN"}
        self.path(q.communityId, "COMMUNITY")
        items, total, more = await self.store.orders.page(query, q.first, q.after)
        return page_reply([self.views.order(p, o) for o in items], total, more)

    # -- case tasks ----------------------------------------------------------------------
    async def task_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListTasks), req.principal
        v = await self.me(p, q.volunteerId)
        items, total, more = await self.store.tasks.page({"volunteer_id": v.id}, q.first, q.after)
        return page_reply([self.views.task(t) for t in items], total, more)

    async def volunteer_of_assignee(self, assignee_id: str) -> d.Volunteer | None:
        """A case's VOLUNTEER assignee may name the volunteer, their member id or their sub."""
        v = await self.store.volunteers.get(assignee_id)
        if v is None:
            doc = await self.store.volunteers.coll.find_one({"member.member_id": assignee_id})
            v = self.store.volunteers.of(doc) if doc else await self.store.by_sub(assignee_id)
        return v

    async def on_case_event(self, event: CloudEvent) -> None:
        case_id, data = event.subject, event.data
        assignee = data.get("assignee") or {}
        if event.event == "ASSIGNED" and assignee.get("kind") == "VOLUNTEER":
            v = await self.volunteer_of_assignee(assignee["id"])
            if v is None:
                log.info("case %s went to %s, who is not a registered volunteer", case_id, assignee["id"])
                return

            async def assign(uow: UnitOfWork) -> None:
                task = await self.store.tasks.get(case_id, uow)
                if task is None:
                    task = d.VolunteerTask.from_case(case_id=case_id, title=f"案件 {case_id}", path=event.path,
                                                     volunteer_id=v.id, now=now())
                    await self.put(uow, self.store.tasks, task)
                else:
                    version, before = task.version, task.model_copy(deep=True)
                    if task.reassign(v.id, now()):
                        await self.put(uow, self.store.tasks, task, before, version)

            await self.rt.transact(assign)
        elif event.event == "RESOLVED":
            if await self.store.tasks.get(case_id) is None:
                return  # no volunteer had it: no transaction for most cases' resolution

            async def resolve(uow: UnitOfWork) -> None:
                task = await self.store.tasks.get(case_id, uow)
                if task is None:
                    return
                version, before = task.version, task.model_copy(deep=True)
                if task.resolve(now(), default_hours=self.settings.volunteer_case_hours):
                    await self.put(uow, self.store.tasks, task, before, version)
                    await self.credit(uow, task.volunteer_id, task, d.SourceKind.CASE, task.hours_tenths)

            await self.rt.transact(resolve)

    async def on_org_event(self, event: CloudEvent) -> None:
        """The replica of party members: id, organisation (the work unit side) and whether
        they are in service."""
        data, members = event.data, self.store.members
        if event.event == "MEMBER_REGISTERED":
            await members.update_one({"_id": event.subject}, {"$setOnInsert": {
                "org_id": data["orgId"], "in_service": data.get("category") == "IN_SERVICE"}}, upsert=True)
        elif event.event == "MEMBER_UPDATED" and "category" in data:
            await members.update_one({"_id": event.subject}, {"$set": {"in_service": data["category"] == "IN_SERVICE"}})
        elif event.event == "TRANSFER_APPROVED":
            await members.update_one({"_id": data["memberId"]}, {"$set": {"org_id": data["toOrgId"]}})
        else:
            return
        await self._refresh_member(event.subject if event.event != "TRANSFER_APPROVED" else data["memberId"])

    async def _refresh_member(self, member_id: str) -> None:
        """Keep a linked volunteer's copy of the member (in service, organisation) current."""
        ref = await self.store.member(member_id)
        doc = await self.store.volunteers.coll.find_one({"member.member_id": member_id}, {"_id": 1})
        if ref is None or doc is None:
            return
        await self.store.volunteers.coll.update_one({"_id": doc["_id"]},
                                                    {"$set": {"member": ref.model_dump(mode="python")}})

    # -- activities ----------------------------------------------------------------------
    async def activity_create(self, req: Request) -> dict:
        c, p = req.parse(w.CreateActivity), req.principal
        self.placed(p, d.Action.MANAGE_ACTIVITY, c.regionId)
        node = self.territory.get(c.regionId)
        path = self.path(c.regionId, "COMMUNITY", "GRID")
        boundary = node.get("boundary") if node and node["level"] == "GRID" else None

        async def work(uow: UnitOfWork) -> d.Activity:
            act = d.Activity.create(id=new_id("va"), title=c.title, path=path, starts_at=c.startsAt, ends_at=c.endsAt,
                                    capacity=c.capacity, by=p, now=now(), boundary=boundary,
                                    check_code=f"{secrets.randbelow(10 ** 6):06d}" if c.withCode else None)
            await self.put(uow, self.store.activities, act)
            return act

        return self.views.activity(p, await self.rt.transact(work))

    async def _activity(self, req: Request, model: type[w.Versioned], command: Callable, retries: int = 0,
                        action: d.Action | None = None) -> dict:
        c, p = req.parse(model), req.principal
        if action is not None:
            self.gate(p, action)
        v = await self.me(p, getattr(c, "volunteerId", None)) if model is not w.Backfill else None
        act = await self.change(self.store.activities, c.id, c.expectedVersion,
                                lambda a, uow: command(a, uow, c, v), retries, by=p, action=action)
        return self.views.activity(p, act, v.id if v else None)

    async def activity_sign_up(self, req: Request) -> dict:
        p = req.principal
        return await self._activity(req, w.ForVolunteer, lambda a, _, c, v: a.sign_up(p, v, now()), RACE_RETRIES,
                                    d.Action.SIGN_UP)

    async def activity_cancel(self, req: Request) -> dict:
        p = req.principal
        return await self._activity(req, w.ForVolunteer, lambda a, _, c, v: a.cancel_sign_up(p, v, now()),
                                    RACE_RETRIES, d.Action.SIGN_UP)

    @staticmethod
    def _point(c: w.CheckIn) -> tuple[float, float] | None:
        if (c.lng is None) != (c.lat is None):
            raise BadInput("give both lng and lat")
        return (c.lng, c.lat) if c.lng is not None else None

    async def activity_check_in(self, req: Request) -> dict:
        p = req.principal
        return await self._activity(req, w.CheckIn, lambda a, _, c, v: a.check_in(
            p, v, now(), code=c.code, point=self._point(c)), RACE_RETRIES, d.Action.CHECK_IN)

    async def activity_check_out(self, req: Request) -> dict:
        p = req.principal

        async def out(a: d.Activity, uow: UnitOfWork, c: w.CheckIn, v: d.Volunteer) -> None:
            a.check_out(p, v, now(), code=c.code, point=self._point(c))
            line = a.attendance(v.id)
            await self.credit(uow, v.id, a, d.SourceKind.ACTIVITY, line.hours_tenths if line else 0,
                              source_id=a.id)

        return await self._activity(req, w.CheckIn, out, RACE_RETRIES, d.Action.CHECK_IN)

    async def activity_backfill(self, req: Request) -> dict:
        p = req.principal

        async def backfill(a: d.Activity, uow: UnitOfWork, c: w.Backfill, _: None) -> None:
            v = await self.scoped(self.store.volunteers, c.volunteerId, p, uow)
            a.backfill(p, v, c.hours, c.reason, now())
            line = a.attendance(v.id)
            await self.credit(uow, v.id, a, d.SourceKind.BACKFILL, line.hours_tenths if line else 0,
                              backfilled=True, source_id=a.id)

        return await self._activity(req, w.Backfill, backfill, RACE_RETRIES, d.Action.BACKFILL_HOURS)

    async def activity_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        a = await self.readable(p, self.store.activities, q.id)
        if a is None:
            return None
        v = await self.store.by_sub(p.sub)
        return self.views.activity(p, a, v.id if v else None)

    async def activity_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListByRegion), req.principal
        v = await self.store.by_sub(p.sub)
        items, total, more = await self.store.activities.page(self.scope(p, q.regionId), q.first, q.after)
        return page_reply([self.views.activity(p, a, v.id if v else None) for a in items], total, more)

    # -- points --------------------------------------------------------------------------
    async def _account(self, p: Principal, volunteer_id: str | None) -> d.Volunteer:
        if volunteer_id and not (p.unrestricted or p.role in STAFF):
            v = await self.me(p, volunteer_id)
        elif volunteer_id:
            v = await self.scoped(self.store.volunteers, volunteer_id, p)
        else:
            v = await self.me(p)
        return v

    async def points_balance(self, req: Request) -> dict:
        q, p = req.parse(w.ByVolunteer), req.principal
        v = await self._account(p, q.volunteerId)
        return {"volunteerId": v.id, "balance": d.balance(await self.store.entries(v.id), now())}

    async def points_history(self, req: Request) -> dict:
        q, p = req.parse(w.ByVolunteer), req.principal
        v = await self._account(p, q.volunteerId)
        query: dict[str, Any] = {"volunteer_id": v.id}
        total = await self.store.ledger.count_documents(query)
        if q.after:  # newest first: entries older than the cursor's
            cursor = await self.store.ledger.find_one({"_id": q.after, "volunteer_id": v.id})
            if cursor is None:
                raise BadInput("`after` is not an entry of this ledger")
            query["at"] = {"$lt": cursor["at"]}
        docs = await self.store.ledger.find(query).sort("at", -1).limit(q.first + 1).to_list(q.first + 1)
        return page_reply([self.views.entry(entry_of(x)) for x in docs[:q.first]], total, len(docs) > q.first)

    async def points_redeem(self, req: Request) -> dict:
        c, p = req.parse(w.Redeem), req.principal
        require_any_role(p, d.PERMISSIONS[d.Action.REDEEM_POINTS] | set(STAFF), "redeem points")
        v = await self.me(p, c.volunteerId)
        if not (p.unrestricted or p.role in STAFF):
            d.authorize(p, d.Action.REDEEM_POINTS, v)
        entry_id = f"REDEMPTION:{c.redemptionId}:{v.id}"

        async def work(uow: UnitOfWork) -> dict:
            done = await self.store.ledger.find_one({"_id": entry_id}, session=uow.session)
            item = await self.store.item(c.itemCode, uow)
            if item is None:
                raise NotFound(f"no reward {c.itemCode} in the catalogue")
            if done is None:
                await self.store.lock_wallet(uow, v.id)  # one redemption per volunteer at a time
                entries = await self.store.entries(v.id, uow)
                entry, item = d.redeem(entries, item, now(), entry_id=entry_id, volunteer_id=v.id,
                                       redemption_id=c.redemptionId, region_path=v.region_path)
                await self.store.take_stock(uow, item)
                await self.store.append(uow, entry)
                await self.store.apply(uow, [d.RollupDelta.of(entry.region_path, None, d.counters_of(entry))])
                self.ledger_event(uow, "POINTS_REDEEMED", entry, v, itemCode=item.code)
                entries.append(entry)
            else:
                entry, entries = entry_of(done), await self.store.entries(v.id, uow)
            return {"entry": self.views.entry(entry), "item": self.views.item(item),
                    "balance": d.balance(entries, now())}

        return await self.rt.transact(work)

    async def expire_points(self, volunteer_id: str, at: datetime) -> int:
        """Write off what is left of the volunteer's expired lots; returns the points."""
        async def work(uow: UnitOfWork) -> int:
            v = await self.store.volunteers.get(volunteer_id, uow)
            if v is None:
                return 0
            await self.store.lock_wallet(uow, v.id)
            entries = await self.store.entries(v.id, uow)
            out = d.expire(entries, at, volunteer_id=v.id, region_path=v.region_path)
            await self.store.append(uow, *out)
            for e in out:
                await self.store.apply(uow, [d.RollupDelta.of(e.region_path, None, d.counters_of(e))])
                self.ledger_event(uow, "POINTS_EXPIRED", e, v)
            await self.store.ledger.update_many({"volunteer_id": v.id, "expiry_pending": True,
                                                 "expires_at": {"$lte": at}}, {"$set": {"expiry_pending": False}},
                                                session=uow.session)
            return -sum(e.delta for e in out)

        return await self.rt.transact(work)

    async def catalogue_list(self, req: Request) -> dict:
        docs = await self.store.catalogue.find().sort("_id", 1).to_list(None)
        return {"items": [{"code": x["_id"], "name": x["name"], "cost": x["cost"], "stock": x["stock"]} for x in docs]}

    async def catalogue_upsert(self, req: Request) -> dict:
        p = req.principal
        # Rewards every volunteer of the deployment redeems: a city's administrators or a superadmin.
        require_deployment_admin(p, self.territory.path(p.region) if p.region else None, "edit the reward catalogue")
        c = req.parse(w.CatalogueInput)
        await self.store.catalogue.update_one({"_id": c.code}, {"$set": {"name": c.name, "cost": c.cost,
                                                                         "stock": c.stock, "by": p.sub}}, upsert=True)
        return {"code": c.code, "name": c.name, "cost": c.cost, "stock": c.stock}

    # -- figures -------------------------------------------------------------------------
    async def stats(self, req: Request) -> dict:
        q = req.parse(ByIds)
        counters = await self.store.counters(q.ids)
        return self.territory.region_items(q.ids, req.principal, lambda i: self.views.stats(counters.get(i, {})))

    async def trend(self, req: Request) -> dict:
        return await trend_reply(req, self.territory, TREND_METRICS, self.store.trend_days, self.store.counters)

    def table(self) -> dict:
        return {
            "volunteer.register": self.volunteer_register, "volunteer.update": self.volunteer_update,
            "volunteer.get": self.volunteer_get, "volunteer.me": self.volunteer_me,
            "volunteer.batch": self.volunteer_batch, "volunteer.list": self.volunteer_list,
            "team.create": self.team_create, "team.addMember": self.team_add, "team.removeMember": self.team_remove,
            "team.get": self.team_get, "team.list": self.team_list,
            "post.create": self.post_create, "post.claim": self.post_claim, "post.release": self.post_release,
            "post.close": self.post_close, "post.get": self.post_get, "post.list": self.post_list,
            "order.place": self.order_place, "order.review": self.order_review, "order.dispatch": self.order_dispatch,
            "order.take": self.order_take, "order.start": self.order_start, "order.complete": self.order_complete,
            "order.rate": self.order_rate, "order.cancel": self.order_cancel, "order.get": self.order_get,
            "order.list": self.order_list, "order.wishWall": self.wish_wall, "task.list": self.task_list,
            "activity.create": self.activity_create, "activity.signUp": self.activity_sign_up,
            "activity.cancelSignUp": self.activity_cancel, "activity.checkIn": self.activity_check_in,
            "activity.checkOut": self.activity_check_out, "activity.backfill": self.activity_backfill,
            "activity.get": self.activity_get, "activity.list": self.activity_list,
            "points.balance": self.points_balance, "points.history": self.points_history,
            "points.redeem": self.points_redeem, "catalogue.list": self.catalogue_list,
            "catalogue.upsert": self.catalogue_upsert, "stats.batch": self.stats, "trend.series": self.trend,
        }
