"""Post verbs: create, claim and release (a lost race runs again, so capacity decides), close, read."""

from __future__ import annotations

from typing import Any

from services.volunteers import domain as d
from services.volunteers.handlers.common import RACE_RETRIES, Context
from shared.auth import Principal
from shared.commands import page_reply
from shared.contracts import volunteers as w
from shared.contracts.common import ById
from shared.ids import new_id
from shared.mongo import UnitOfWork, now


async def create(cx: Context, c: w.CreatePost, p: Principal) -> dict:
    path = cx.path(c.regionId, "COMMUNITY", "GRID")

    async def work(uow: UnitOfWork) -> d.Post:
        post = d.Post.create(
            id=new_id("vp"),
            title=c.title,
            post_type=d.PostType(c.type),
            capacity=c.capacity,
            anchor_path=path,
            by=p,
            now=now(),
            duties=c.duties,
        )
        await cx.put(uow, cx.store.posts, post)
        return post

    return cx.views.post(await cx.rt.transact(work))


async def claim(cx: Context, c: w.ForVolunteer, p: Principal) -> dict:
    v = await cx.me(p, c.volunteerId)
    post = await cx.change(
        cx.store.posts,
        c.id,
        c.expectedVersion,
        lambda post, _: post.claim(p, v, now()),
        RACE_RETRIES,
        by=p,
        action=d.Action.CLAIM_POST,
    )
    return cx.views.post(post)


async def release(cx: Context, c: w.ForVolunteer, p: Principal) -> dict:
    v = await cx.me(p, c.volunteerId)
    post = await cx.change(
        cx.store.posts,
        c.id,
        c.expectedVersion,
        lambda post, _: post.release(p, v, now()),
        RACE_RETRIES,
        by=p,
        action=lambda post: d.authorize_release(p, post),
    )
    return cx.views.post(post)


async def close(cx: Context, c: w.Versioned, p: Principal) -> dict:
    return cx.views.post(
        await cx.change(
            cx.store.posts,
            c.id,
            c.expectedVersion,
            lambda post, _: post.close(p, now()),
            by=p,
            action=d.Action.MANAGE_POST,
        )
    )


async def get(cx: Context, q: ById, p: Principal) -> dict | None:
    post = await cx.readable(p, cx.store.posts, q.id)
    return cx.views.post(post) if post else None


async def listing(cx: Context, q: w.ListPosts, p: Principal) -> dict:
    if q.volunteerId:
        v = await cx.scoped(cx.store.volunteers, q.volunteerId, p)
        query: dict[str, Any] = {"claimants.volunteer_id": v.id}
    else:
        query = cx.scope(p, q.regionId, cx.store.posts)
    if q.type:
        query["post_type"] = q.type
    if q.activeOnly:
        query["status"] = "ACTIVE"
    items, total, more = await cx.store.posts.page(query, q.first, q.after)
    return page_reply([cx.views.post(x) for x in items], total, more)
