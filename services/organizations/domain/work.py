"""A principal's joint meetings for the day (myWork): the 大党委 meetings of the caller's
community coming up within the horizon, for those who work in the community (its staff, its
grid workers, its buildings' leaders). Pure: no I/O, time passed in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.auth import Principal, Role
from shared.work import aware

from .meetings import JointMeeting

LOCAL_LEVELS = ("COMMUNITY", "GRID", "BUILDING")
# A department's work is its cases, a volunteer's their orders and activities, a resident's their
# own reports: the community's joint meetings are for those who work in the community.
NOT_FOR = frozenset({Role.DEPARTMENT, Role.VOLUNTEER, Role.RESIDENT, Role.SUPERADMIN, Role.SERVICE})
STARTED_WITHIN = timedelta(hours=12)  # a meeting that began this long ago and has no minutes is still the day's
# A 大党委 meets about monthly (the demo's first meeting is two weeks and some hours ahead): its
# next meeting is on the screen whenever it falls in the coming month, whatever shorter horizon
# the caller asked for the other parts.
AHEAD = timedelta(days=31)


def community_of(p: Principal, path: Sequence[str], levels: Sequence[str | None]) -> str | None:
    """The community whose meetings are the caller's: the one their region (`path`, top-down, each
    node's level in `levels`) lies in, when it is a community, grid or building; else None."""
    if p.role in NOT_FOR or not path or levels[-1] not in LOCAL_LEVELS:
        return None
    communities = [r for r, level in zip(path, levels, strict=True) if level == "COMMUNITY"]
    return communities[-1] if communities else None


def meeting_filter(community_id: str, now: datetime, horizon: timedelta) -> dict[str, Any]:
    """The community's meetings from a little before now to the horizon, a month at least (one
    equality and one range: the (community_id, scheduled_at) index)."""
    until = now + max(horizon, AHEAD)
    return {"community_id": community_id, "scheduled_at": {"$gte": now - STARTED_WITHIN, "$lte": until}}


def pending(m: JointMeeting) -> bool:
    """Not yet held (no minutes recorded)."""
    return m.held_at is None


def meeting_due(m: JointMeeting, now: datetime) -> tuple[datetime | None, bool]:
    """Its time; a meeting is never overdue (one that has begun is still the day's)."""
    return aware(m.scheduled_at), False
