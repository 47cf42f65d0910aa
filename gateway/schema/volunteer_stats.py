"""Volunteer figures of a region (`overview.volunteers`), from the rollups of the volunteers service."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from gateway.schema.common import ctx
from shared.vocabulary.volunteers import COUNTER_DEFINITIONS

# --- figures (`overview.volunteers`) ------------------------------------------------------------------------


def figure(name: str) -> Any:
    return strawberry.field(description=COUNTER_DEFINITIONS[name])


# The service counts tenths of an hour and reports hours; the definition's list of sources is the same.
_HOURS = "Service hours, to a tenth: " + COUNTER_DEFINITIONS["service_hours_tenths"].split(": ", 1)[-1]


@strawberry.type(description="Volunteer figures of a region and everything below it, kept with the writes")
class VolunteerStats:
    volunteer_count: int = figure("volunteers")
    team_count: int = figure("teams")
    active_posts: int = figure("active_posts")
    claimed_posts: int = figure("claimed_posts")
    open_orders: int = figure("open_orders")
    completed_orders: int = figure("completed_orders")
    service_hours: float = strawberry.field(description=_HOURS)
    points_issued: int = figure("points_issued")
    points_redeemed: int = figure("points_redeemed")
    points_expired: int = figure("points_expired")
    # residents' points
    residents_with_points: int = figure("residents_with_points")
    resident_points_awarded: int = figure("resident_points_awarded")
    resident_points_redeemed: int = figure("resident_points_redeemed")
    resident_points_expired: int = figure("resident_points_expired")
    # units take service orders
    unit_orders_open: int = figure("unit_orders_open")
    unit_orders_completed: int = figure("unit_orders_completed")


_COUNTS = {
    "volunteer_count": "volunteerCount",
    "team_count": "teamCount",
    "active_posts": "activePosts",
    "claimed_posts": "claimedPosts",
    "open_orders": "openOrders",
    "completed_orders": "completedOrders",
    "points_issued": "pointsIssued",
    "points_redeemed": "pointsRedeemed",
    "points_expired": "pointsExpired",
    # residents' points
    "residents_with_points": "residentsWithPoints",
    "resident_points_awarded": "residentPointsAwarded",
    "resident_points_redeemed": "residentPointsRedeemed",
    "resident_points_expired": "residentPointsExpired",
    # units take service orders
    "unit_orders_open": "unitOrdersOpen",
    "unit_orders_completed": "unitOrdersCompleted",
}


def volunteer_stats(dto: dict) -> VolunteerStats:
    return VolunteerStats(
        **{k: int(dto.get(w) or 0) for k, w in _COUNTS.items()}, service_hours=float(dto.get("serviceHours") or 0)
    )


async def load_volunteer_stats(info: Info, region_id: str) -> VolunteerStats:
    return volunteer_stats(await ctx(info).loaders.volunteer_stats_by_region.load(region_id) or {})
