"""Volunteers: kinds, posts, service orders, tasks, check-in methods and points sources (GLOSSARY.md)."""

from __future__ import annotations

from enum import StrEnum


class VolunteerKind(StrEnum):
    RESIDENT = "RESIDENT"  # 居民志愿者
    PARTY_MEMBER = "PARTY_MEMBER"  # 党员志愿者, linked to a member record of `organizations`


class PostType(StrEnum):
    POLICY_OUTREACH = "POLICY_OUTREACH"  # 政策宣传
    CIVILITY = "CIVILITY"  # 文明督导
    ENVIRONMENT = "ENVIRONMENT"  # 环境治理
    LEGAL_AID = "LEGAL_AID"  # 法律援助
    MEDIATION = "MEDIATION"  # 民事调解
    PARCEL_STATION = "PARCEL_STATION"  # 快递驿站
    SAFETY = "SAFETY"  # 安全


class PostStatus(StrEnum):
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"


class OrderStatus(StrEnum):
    PENDING_REVIEW = "PENDING_REVIEW"  # 点单, waiting for 审核
    OPEN = "OPEN"  # approved, on the community's wish wall (抢单)
    REJECTED = "REJECTED"  # 审核不通过, with a reason
    DISPATCHED = "DISPATCHED"  # 派单 to a volunteer, team or post
    TAKEN = "TAKEN"  # 接单
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"  # with hours
    RATED = "RATED"  # 评价 by the resident
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in (OrderStatus.REJECTED, OrderStatus.RATED, OrderStatus.CANCELLED)


# Approved and not yet done: counted as "open orders" in the figures.
ACTIVE_ORDER_STATUSES = frozenset(
    {OrderStatus.OPEN, OrderStatus.DISPATCHED, OrderStatus.TAKEN, OrderStatus.IN_PROGRESS}
)
DONE_ORDER_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.RATED})


class TargetKind(StrEnum):
    """Whom the community dispatches an order to."""

    VOLUNTEER = "VOLUNTEER"
    TEAM = "TEAM"
    POST = "POST"
    UNIT = "UNIT"  # a co-building unit (驻区单位) of the organizations service takes it (相关单位接单)


class TaskStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class CheckMethod(StrEnum):
    CODE = "CODE"  # six-digit code shown at the venue
    LOCATION = "LOCATION"  # a point inside the activity's grid polygon


class SourceKind(StrEnum):
    """Where a points ledger entry comes from."""

    ORDER = "ORDER"
    ACTIVITY = "ACTIVITY"
    CASE = "CASE"
    BACKFILL = "BACKFILL"
    REDEMPTION = "REDEMPTION"
    EXPIRY = "EXPIRY"
    RULE = "RULE"  # residents' points: a line of the rule table (参与议事, 垃圾分类 …)

    @property
    def is_credit(self) -> bool:
        return self not in (SourceKind.REDEMPTION, SourceKind.EXPIRY)


# The figures of a region (rollup counters kept with the writes): each name with what it counts,
# read by the service's rollups and by the gateway's field descriptions.
COUNTER_DEFINITIONS: dict[str, str] = {
    "volunteers": "Registered volunteers whose home is in the region.",
    "teams": "Volunteer teams anchored in the region.",
    "active_posts": "Service posts open for claims (ACTIVE).",
    "claimed_posts": "Active posts with at least one claimant.",
    "open_orders": "Approved service orders not yet done: OPEN, DISPATCHED, TAKEN, IN_PROGRESS.",
    "completed_orders": "Service orders COMPLETED or RATED.",
    "service_hours_tenths": "Service hours in tenths of an hour: completed orders, activity "
    "attendance (credit and back-filled) and resolved case tasks.",
    "points_issued": "Points credited (ORDER, ACTIVITY, CASE, BACKFILL entries).",
    "points_redeemed": "Points spent on the catalogue (REDEMPTION entries, as positive).",
    "points_expired": "Points written off by expiry (EXPIRY entries, as positive).",
    # residents' points: by the region where they were earned (or redeemed)
    "residents_with_points": "Residents who earned points in the region (积分居民), each counted once per community.",
    "resident_points_awarded": "Points awarded to residents by the rule table (RULE entries).",
    "resident_points_redeemed": "Points residents spent on the catalogue (as positive).",
    "resident_points_expired": "Residents' points written off by expiry (as positive).",
    # units take service orders: orders dispatched to a co-building unit
    "unit_orders_open": "Service orders dispatched to a co-building unit and not yet done.",
    "unit_orders_completed": "Service orders a co-building unit completed (COMPLETED or RATED).",
}


# residents' points
class PointsPeriod(StrEnum):
    """The calendar period a residents' points rule caps its awards in (the city's local days,
    Monday-to-Sunday weeks, months, years)."""

    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"
