"""The subject table of the volunteers service: each verb, the contract its payload is parsed
with, the gate it passes (after parsing, before anything is read; `before_parse` for the one
gate that goes first) and the handler that serves it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from services.volunteers import domain as d
from services.volunteers.handlers import (  # residents' points; units take orders
    activities,
    evidence,
    orders,
    people,
    points,
    posts,
    resident_points,
    rollups,
    tasks,
    unit_orders,
    work,
)
from services.volunteers.handlers import audience as notify
from services.volunteers.handlers.common import Context
from shared.auth import Principal, require_any_role
from shared.contracts import volunteers as w
from shared.contracts.attachments import AttachEvidence
from shared.contracts.common import ById, ByIds
from shared.contracts.notifications import AudienceQuery
from shared.contracts.work import WorkQuery
from shared.messaging.rpc import Handler, Request

A = d.Action
Gate = Callable[[Context, Principal, Any], None]


def may(*actions: d.Action) -> Gate:
    """The caller's role may do one of `actions` at all (`Context.gate`)."""
    return lambda cx, p, c: cx.gate(p, *actions)


def placed(action: d.Action, region_field: str) -> Gate:
    """A create: the role may do `action` in the region the payload names (`Context.placed`)."""
    return lambda cx, p, c: cx.placed(p, action, getattr(c, region_field))


def roles(allowed: frozenset, what: str) -> Gate:
    return lambda cx, p, c: require_any_role(p, allowed, what)


@dataclass(frozen=True)
class Route:
    """`handler(cx, command, principal)`; without a contract the handler gets the request."""

    handler: Callable[[Context, Any, Principal], Awaitable[Any]]
    contract: type[BaseModel] | None = None
    gate: Gate | None = None
    before_parse: bool = False

    def bind(self, cx: Context) -> Handler:
        async def serve(req: Request) -> Any:
            p = req.principal
            if self.gate and self.before_parse:
                self.gate(cx, p, None)
            c = req.parse(self.contract) if self.contract else req
            if self.gate and not self.before_parse:
                self.gate(cx, p, c)
            return await self.handler(cx, c, p)

        return serve


ROUTES: dict[str, Route] = {
    "volunteer.register": Route(people.register, w.RegisterVolunteer, placed(A.REGISTER_VOLUNTEER, "homeRegionId")),
    "volunteer.update": Route(people.update, w.UpdateVolunteer),
    "volunteer.get": Route(people.get, ById),
    "volunteer.me": Route(people.me),
    "volunteer.batch": Route(people.batch, ByIds),
    "volunteer.list": Route(people.listing, w.ListVolunteers),
    "team.create": Route(people.team_create, w.CreateTeam, placed(A.MANAGE_TEAM, "regionId")),
    "team.addMember": Route(people.team_add, w.TeamMember),
    "team.removeMember": Route(people.team_remove, w.TeamMember),
    "team.get": Route(people.team_get, ById),
    "team.list": Route(people.team_list, w.ListByRegion),
    "post.create": Route(posts.create, w.CreatePost, placed(A.MANAGE_POST, "regionId")),
    "post.claim": Route(posts.claim, w.ForVolunteer, may(A.CLAIM_POST)),
    "post.release": Route(posts.release, w.ForVolunteer, may(A.CLAIM_POST, A.MANAGE_POST)),
    "post.close": Route(posts.close, w.Versioned),
    "post.get": Route(posts.get, ById),
    "post.list": Route(posts.listing, w.ListPosts),
    "order.place": Route(orders.place, w.PlaceOrder, may(A.PLACE_ORDER)),
    "order.review": Route(orders.review, w.ReviewOrder),
    "order.dispatch": Route(orders.dispatch, w.DispatchOrder),
    "order.take": Route(orders.take, w.ForVolunteer),
    "order.start": Route(orders.start, w.Versioned),
    "order.complete": Route(orders.complete, w.CompleteOrder),
    "order.rate": Route(orders.rate, w.RateOrder),
    "order.cancel": Route(orders.cancel, w.CancelOrder),
    "order.get": Route(orders.get, ById),
    "order.list": Route(orders.listing, w.ListOrders, roles(d.PERMISSIONS[A.VIEW], "read service orders")),
    "order.wishWall": Route(orders.wish_wall, w.WishWall),
    "task.list": Route(tasks.listing, w.ListTasks),
    "activity.create": Route(activities.create, w.CreateActivity, placed(A.MANAGE_ACTIVITY, "regionId")),
    "activity.signUp": Route(activities.sign_up, w.ForVolunteer, may(A.SIGN_UP)),
    "activity.cancelSignUp": Route(activities.cancel, w.ForVolunteer, may(A.SIGN_UP)),
    "activity.checkIn": Route(activities.check_in, w.CheckIn, may(A.CHECK_IN)),
    "activity.checkOut": Route(activities.check_out, w.CheckIn, may(A.CHECK_IN)),
    "activity.backfill": Route(activities.backfill, w.Backfill, may(A.BACKFILL_HOURS)),
    "activity.get": Route(activities.get, ById),
    "activity.list": Route(activities.listing, w.ListByRegion),
    "points.balance": Route(points.balance, w.ByVolunteer),
    "points.history": Route(points.history, w.ByVolunteer),
    "points.redeem": Route(points.redeem, w.Redeem, roles(d.REDEEMERS, "redeem points")),
    "catalogue.list": Route(points.catalogue),
    "catalogue.upsert": Route(points.catalogue_upsert, w.CatalogueInput, points.catalogue_editor, before_parse=True),
    "stats.batch": Route(rollups.stats, ByIds),
    "trend.series": Route(rollups.trend),
    # evidence
    "order.attach": Route(evidence.order_attach, AttachEvidence),
    "activity.attach": Route(evidence.activity_attach, AttachEvidence),
    # mywork: the caller's orders and activities for the day (domain/work.py decides whose)
    "work.volunteers": Route(work.day, WorkQuery),
    # notifications: who an order concerns (the notifications service's own token only)
    "order.audience": Route(notify.audience, AudienceQuery, notify.service_only, before_parse=True),
    # residents' points (points.residentAward: other services award automatically, e.g. deliberation)
    "resident.rules": Route(resident_points.rules),
    "resident.setRules": Route(
        resident_points.set_rules, w.SetResidentPointsRules, resident_points.rules_editor, before_parse=True
    ),
    "resident.award": Route(resident_points.award, w.AwardResidentPoints, may(A.AWARD_RESIDENT_POINTS)),
    "points.residentAward": Route(
        resident_points.award, w.AwardResidentPoints, resident_points.service_only, before_parse=True
    ),
    "resident.balance": Route(resident_points.balance, w.ResidentLedger),
    "resident.history": Route(resident_points.history, w.ResidentLedger),
    "resident.redeem": Route(resident_points.redeem, w.RedeemResidentPoints, may(A.REDEEM_RESIDENT_POINTS)),
    # units take service orders
    "order.acceptForUnit": Route(unit_orders.accept, w.AcceptForUnit, may(A.WORK_UNIT_ORDER)),
    "unit.orderStats": Route(unit_orders.stats, ByIds, may(A.DISPATCH_ORDER)),
}


def table(cx: Context) -> dict[str, Handler]:
    """verb → the handler bound to the service context (for `ServiceRuntime.routes`)."""
    return {verb: route.bind(cx) for verb, route in ROUTES.items()}
