"""Service order verbs: place (once per idempotency key), review, dispatch, take (a lost race
runs again on the fresh order: first taker wins), start, complete (credits the taker), rate,
cancel, read, and the community's wish wall (心愿墙)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.volunteers import domain as d
from services.volunteers.handlers import unit_orders
from services.volunteers.handlers.common import RACE_RETRIES, Context
from services.volunteers.handlers.feedback import credit
from shared.auth import Principal, Role
from shared.commands import page_reply
from shared.contracts import volunteers as w
from shared.contracts.common import ById
from shared.errors import BadInput
from shared.geo import valid_point
from shared.ids import new_id
from shared.mongo import UnitOfWork, now
from shared.records import Records


async def place(cx: Context, c: w.PlaceOrder, p: Principal) -> dict:
    location = None
    if d.placement(c.buildingId, c.lng, c.lat) == "BUILDING":
        path = cx.path(str(c.buildingId), "BUILDING")
    else:
        assert c.lng is not None and c.lat is not None
        valid_point(c.lng, c.lat)
        grid = cx.territory.locate(c.lng, c.lat)
        if grid is None:
            raise BadInput(f"no grid contains the point [{c.lng}, {c.lat}]; give a buildingId instead")
        path, location = list(grid["path"]), d.GeoPoint(lng=c.lng, lat=c.lat)

    async def work(uow: UnitOfWork) -> str:
        order = d.ServiceOrder.place(
            id=new_id("so"),
            category=c.category,
            description=c.description,
            path=path,
            by=p,
            now=now(),
            building_id=c.buildingId,
            location=location,
            wished_at=c.wishedAt,
        )
        await cx.put(uow, cx.store.orders, order)
        return order.id

    async def view(order_id: str) -> dict:
        return cx.views.order(p, await cx.store.orders.load(order_id))

    return await cx.idempotent(p, "order.place", c.idempotencyKey, work, view)


async def _change(
    cx: Context,
    c: w.Versioned,
    p: Principal,
    command: Callable[[d.ServiceOrder, UnitOfWork], Any],
    retries: int = 0,
    action: d.Action | Callable[[d.ServiceOrder], None] | None = None,
) -> dict:
    order = await cx.change(cx.store.orders, c.id, c.expectedVersion, command, retries, by=p, action=action)
    return cx.views.order(p, order)


async def review(cx: Context, c: w.ReviewOrder, p: Principal) -> dict:
    return await _change(
        cx,
        c,
        p,
        lambda o, _: o.approve(p, now()) if c.approve else o.reject(p, c.reason, now()),
        action=d.Action.REVIEW_ORDER,
    )


async def dispatch(cx: Context, c: w.DispatchOrder, p: Principal) -> dict:
    if c.target.kind == d.TargetKind.UNIT:  # units take service orders
        unit = await unit_orders.unit_target(cx, c.id, c.target.id, p)
        return await _change(cx, c, p, lambda o, _: o.dispatch(p, unit, now()), action=d.Action.DISPATCH_ORDER)

    async def command(o: d.ServiceOrder, uow: UnitOfWork) -> None:
        kind, post_type = d.TargetKind(c.target.kind), None
        repos: dict[d.TargetKind, Records[Any]] = {
            d.TargetKind.VOLUNTEER: cx.store.volunteers,
            d.TargetKind.TEAM: cx.store.teams,
            d.TargetKind.POST: cx.store.posts,
        }
        repo = repos[kind]
        target = await cx.scoped(repo, c.target.id, p, uow)
        d.require_in_area(o, repo.what, target.id, target.region_path)
        if kind is d.TargetKind.POST:
            post_type = target.post_type
        o.dispatch(p, d.Target(kind=kind, id=target.id, post_type=post_type), now())

    return await _change(cx, c, p, command, action=d.Action.DISPATCH_ORDER)


async def take(cx: Context, c: w.ForVolunteer, p: Principal) -> dict:
    async def command(o: d.ServiceOrder, uow: UnitOfWork) -> None:
        v = await cx.me(p, c.volunteerId, uow)
        team = post = None
        if o.target and o.target.kind is d.TargetKind.TEAM:
            team = await cx.store.teams.get(o.target.id, uow)
        if o.target and o.target.kind is d.TargetKind.POST:
            post = await cx.store.posts.get(o.target.id, uow)
        o.take(p, v, now(), team=team, post=post)

    # A lost race is run again on the fresh order, which is then TAKEN: first taker wins.
    return await _change(cx, c, p, command, RACE_RETRIES, action=d.Action.TAKE_ORDER)


async def start(cx: Context, c: w.Versioned, p: Principal) -> dict:
    return await _change(cx, c, p, lambda o, _: o.start(p, now()), action=_work(p))


async def complete(cx: Context, c: w.CompleteOrder, p: Principal) -> dict:
    async def command(o: d.ServiceOrder, uow: UnitOfWork) -> None:
        o.complete(p, c.hours, now())
        post_type = o.target.post_type if o.target else None
        if o.taker_id and not o.for_unit:  # set by take: only a taken order is completed; a unit earns none
            await credit(cx, uow, o.taker_id, o, d.SourceKind.ORDER, o.hours_tenths, post_type)

    return await _change(cx, c, p, command, action=_work(p))


def _work(p: Principal) -> Callable[[d.ServiceOrder], None]:
    """Who starts and completes: the taker, or staff in scope for a unit (`ServiceOrder.work_action`)."""
    return lambda o: d.authorize(p, o.work_action, o)


async def rate(cx: Context, c: w.RateOrder, p: Principal) -> dict:
    return await _change(cx, c, p, lambda o, _: o.rate(p, c.score, now(), c.comment), action=d.Action.RATE_ORDER)


async def cancel(cx: Context, c: w.CancelOrder, p: Principal) -> dict:
    return await _change(cx, c, p, lambda o, _: o.cancel(p, now(), c.reason))


async def get(cx: Context, q: ById, p: Principal) -> dict | None:
    o = await cx.readable(p, cx.store.orders, q.id)
    return cx.views.order(p, o) if o else None


async def listing(cx: Context, q: w.ListOrders, p: Principal) -> dict:
    if p.role is Role.RESIDENT:
        query: dict[str, Any] = d.SCOPES[d.ServiceOrder.kind].filter(p)  # their own orders, anywhere
    elif q.mine:
        query = {"taker_id": (await cx.me(p)).id}
    else:
        query = cx.scope(p, q.regionId, cx.store.orders)
    if q.status:
        query["status"] = q.status
    items, total, more = await cx.store.orders.page(query, q.first, q.after)
    return page_reply([cx.views.order(p, o) for o in items], total, more)


async def wish_wall(cx: Context, q: w.WishWall, p: Principal) -> dict:
    """心愿墙: the community's approved orders waiting for a taker, oldest first (first come, first
    seen: a community's open orders are few, so they are read in id order on (status, path))."""
    query = cx.scope(p, q.communityId, cx.store.orders) | {"status": "OPEN"}
    cx.path(q.communityId, "COMMUNITY")
    items, total, more = await cx.store.orders.page_by_id(query, q.first, q.after)
    return page_reply([cx.views.order(p, o) for o in items], total, more)
