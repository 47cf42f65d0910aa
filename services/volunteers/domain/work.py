"""A principal's service orders and activities for the day (myWork): where they look (their
grid, building or community), which records wait for them there, as filters an index answers
(one status each: no `$in`), and each record's time. Pure: no I/O, time passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.auth import Principal, Role
from shared.work import aware

from .activities import Activity
from .enums import OrderStatus
from .orders import BEFORE_START, ServiceOrder
from .policy import SCOPES

S = OrderStatus
LOCAL_LEVELS = ("COMMUNITY", "GRID", "BUILDING")  # a day's orders and activities are a community's, or below
WAITING = (S.PENDING_REVIEW, S.OPEN, S.DISPATCHED, S.TAKEN, S.IN_PROGRESS)  # to review, take, do
IN_HAND = (S.TAKEN, S.IN_PROGRESS)  # a volunteer's own orders


@dataclass(frozen=True)
class WorkPlace:
    region: str  # the caller's region: orders and activities in its subtree


def place_of(p: Principal, region: str | None, level: str | None) -> WorkPlace | None:
    """Where the caller's day lies: their own region (`level`: its level)
    when it is a community, grid or building and the caller reads volunteer records there
    (`SCOPES`); None otherwise (an unrestricted principal, a region above a community, a role
    that reads no volunteer records)."""
    if p.unrestricted or region is None or level not in LOCAL_LEVELS or SCOPES["order"].of(p).empty:
        return None
    return WorkPlace(region=region)


def order_filters(p: Principal, place: WorkPlace, volunteer_id: str | None) -> list[dict[str, Any]]:
    """A volunteer's: the orders they took, and the community's wish wall (OPEN, to grab);
    anyone else's (grid workers, staff): every order not yet done in their region, from
    waiting for review to being served."""
    if p.role is Role.VOLUNTEER:
        own = [{"taker_id": volunteer_id, "status": str(s)} for s in IN_HAND] if volunteer_id else []
        return [*own, {"status": str(S.OPEN), "path": place.region}]
    return [{"status": str(s), "path": place.region} for s in WAITING]


def activity_filter(place: WorkPlace, now: datetime) -> dict[str, Any]:
    """Activities not yet over in the caller's region (one equality and one range: the
    (path, ends_at) index). A grid's worker does not see the community's own activities: they
    lie outside the grid, where the scope (`SCOPES`) reads nothing for them."""
    return {"path": place.region, "ends_at": {"$gt": now}}


def activity_fits(a: Activity, now: datetime, horizon: timedelta) -> bool:
    """Starting within the horizon (and not over)."""
    return aware(a.starts_at) <= now + horizon and aware(a.ends_at) > now  # type: ignore[operator]


def order_due(o: ServiceOrder, now: datetime) -> tuple[datetime | None, bool]:
    """The time the resident wished for (None: none given); overdue when it passed before the
    service started."""
    due = aware(o.wished_at)
    return due, due is not None and due < now and o.status in BEFORE_START


def activity_due(a: Activity, now: datetime) -> tuple[datetime | None, bool]:
    """Its start; an activity is never overdue (one under way is still the day's)."""
    return aware(a.starts_at), False
