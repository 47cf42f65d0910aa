"""notifications: `order.audience`, who a service order concerns, for the notifications service alone.

Events carry no personal data; the notifications service asks here with its own token: the
resident who ordered, the volunteer who took it, and for a newly approved order the volunteers
on duty (claimants of the active posts) in its community."""

from __future__ import annotations

from typing import Any

from services.volunteers import domain as d
from services.volunteers.handlers.common import Context
from shared.auth import Principal
from shared.contracts.notifications import AudienceQuery
from shared.errors import NotFound

COMMUNITY_DEPTH = 4  # city, county, township, community: an order's path ends there or below
MAX_POSTS = 200  # posts of one community read for one order
MAX_MATCHING = 500  # volunteers told of one order


def service_only(cx: Context, p: Principal, _: Any) -> None:
    p.require_role(action="read who a service order concerns (a service's verb)")


def community_of(path: tuple[str, ...] | list[str]) -> str:
    return path[min(COMMUNITY_DEPTH, len(path)) - 1]


async def audience(cx: Context, q: AudienceQuery, p: Principal) -> dict[str, Any]:
    o = await cx.store.orders.get(q.id)
    if o is None:
        raise NotFound(f"service order {q.id} does not exist", {"id": q.id})
    posts = await cx.store.posts.find(
        {"path": community_of(o.region_path), "status": str(d.PostStatus.ACTIVE)}, limit=MAX_POSTS
    )
    claims = {c.volunteer_id: c.sub for post in posts for c in post.claimants}
    matching = list(claims.items())[:MAX_MATCHING]
    return {
        "id": o.id,
        "category": o.category,
        "status": str(o.status),
        "regionPath": list(o.region_path),
        "residentSub": o.resident_sub,
        "volunteerSubs": [o.taker_sub] if o.taker_sub else [],
        "memberIds": [o.taker_id] if o.taker_id and not o.for_unit else [],  # a unit's order: no volunteer
        "matchingMemberIds": [v for v, _ in matching],
        "matchingSubs": list(dict.fromkeys(s for _, s in matching)),
    }
