"""Activity verbs: create, sign up and cancel (a lost race runs again, so capacity decides),
check in and out (checking out credits the hours), backfill by an administrator, read."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from services.volunteers import domain as d
from services.volunteers.handlers.common import RACE_RETRIES, Context
from services.volunteers.handlers.feedback import credit
from shared.auth import Principal
from shared.commands import page_reply
from shared.contracts import volunteers as w
from shared.contracts.common import ById
from shared.ids import new_id
from shared.mongo import UnitOfWork, now


async def create(cx: Context, c: w.CreateActivity, p: Principal) -> dict:
    node = cx.territory.get(c.regionId)
    path = cx.path(c.regionId, "COMMUNITY", "GRID")
    boundary = d.activity_area(node["level"], node.get("boundary")) if node else None

    async def work(uow: UnitOfWork) -> d.Activity:
        act = d.Activity.create(
            id=new_id("va"),
            title=c.title,
            path=path,
            starts_at=c.startsAt,
            ends_at=c.endsAt,
            capacity=c.capacity,
            by=p,
            now=now(),
            boundary=boundary,
            check_code=f"{secrets.randbelow(10**6):06d}" if c.withCode else None,
        )
        await cx.put(uow, cx.store.activities, act)
        return act

    return cx.views.activity(p, await cx.rt.transact(work))


async def _as_volunteer(
    cx: Context,
    c: w.Versioned,
    volunteer_id: str | None,
    p: Principal,
    command: Callable[[d.Activity, UnitOfWork, d.Volunteer], Awaitable[None] | None],
    action: d.Action,
) -> dict:
    """A volunteer's step on an activity (staff may name the volunteer where the contract has
    `volunteerId`; check-in and check-out are the caller's own); a lost race runs again."""
    v = await cx.me(p, volunteer_id)
    act = await cx.change(
        cx.store.activities,
        c.id,
        c.expectedVersion,
        lambda a, uow: command(a, uow, v),
        RACE_RETRIES,
        by=p,
        action=action,
    )
    return cx.views.activity(p, act, v.id)


async def sign_up(cx: Context, c: w.ForVolunteer, p: Principal) -> dict:
    return await _as_volunteer(cx, c, c.volunteerId, p, lambda a, _, v: a.sign_up(p, v, now()), d.Action.SIGN_UP)


async def cancel(cx: Context, c: w.ForVolunteer, p: Principal) -> dict:
    return await _as_volunteer(cx, c, c.volunteerId, p, lambda a, _, v: a.cancel_sign_up(p, v, now()), d.Action.SIGN_UP)


async def check_in(cx: Context, c: w.CheckIn, p: Principal) -> dict:
    return await _as_volunteer(
        cx,
        c,
        None,
        p,
        lambda a, _, v: a.check_in(p, v, now(), code=c.code, point=d.check_point(c.lng, c.lat)),
        d.Action.CHECK_IN,
    )


async def check_out(cx: Context, c: w.CheckIn, p: Principal) -> dict:
    async def out(a: d.Activity, uow: UnitOfWork, v: d.Volunteer) -> None:
        a.check_out(p, v, now(), code=c.code, point=d.check_point(c.lng, c.lat))
        line = a.attendance(v.id)
        await credit(cx, uow, v.id, a, d.SourceKind.ACTIVITY, line.hours_tenths if line else 0, source_id=a.id)

    return await _as_volunteer(cx, c, None, p, out, d.Action.CHECK_IN)


async def backfill(cx: Context, c: w.Backfill, p: Principal) -> dict:
    async def command(a: d.Activity, uow: UnitOfWork) -> None:
        v = await cx.scoped(cx.store.volunteers, c.volunteerId, p, uow)
        a.backfill(p, v, c.hours, c.reason, now())
        line = a.attendance(v.id)
        await credit(
            cx, uow, v.id, a, d.SourceKind.BACKFILL, line.hours_tenths if line else 0, backfilled=True, source_id=a.id
        )

    act = await cx.change(
        cx.store.activities, c.id, c.expectedVersion, command, RACE_RETRIES, by=p, action=d.Action.BACKFILL_HOURS
    )
    return cx.views.activity(p, act, None)


async def get(cx: Context, q: ById, p: Principal) -> dict | None:
    a = await cx.readable(p, cx.store.activities, q.id)
    if a is None:
        return None
    v = await cx.store.by_sub(p.sub)
    return cx.views.activity(p, a, v.id if v else None)


async def listing(cx: Context, q: w.ListByRegion, p: Principal) -> dict:
    v = await cx.store.by_sub(p.sub)
    items, total, more = await cx.store.activities.page(cx.scope(p, q.regionId, cx.store.activities), q.first, q.after)
    return page_reply([cx.views.activity(p, a, v.id if v else None) for a in items], total, more)
