"""Activities with slots: sign-up without overbooking, check-in/out by a six-digit code or
by a location inside the activity's grid polygon, credit hours and back-filled hours.

The store makes `sign_up` atomic with `signup_filter`: `signed_count < capacity` and the
volunteer not among `signups`.
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, Field
from shapely.geometry import Point

from shared.auth import Principal
from shared.domain import Attachment
from shared.errors import BadInput, Conflict, NotFound
from shared.geo import EPS_DEG, parse_boundary

from .base import NAME_MAX, NOTE_MAX, Aggregate, hours_tenths, region_path, text
from .enums import Action, CheckMethod
from .people import Volunteer
from .policy import acting_as, authorize

CODE_RE = re.compile(r"^[0-9]{6}$")
CHECK_IN_EARLY = timedelta(minutes=30)
MAX_DURATION = timedelta(hours=24)


class Attendance(BaseModel):
    volunteer_id: str
    sub: str
    signed_at: datetime
    checked_in_at: datetime | None = None
    checked_out_at: datetime | None = None
    hours_tenths: int = 0
    backfilled: bool = False
    backfill_reason: str | None = None
    took_slot: bool = True  # False for a person back-filled without signing up

    @property
    def hours(self) -> float:
        return self.hours_tenths / 10


def credit_hours_tenths(checked_in: datetime, checked_out: datetime, duration: timedelta) -> int:
    """Check-out − check-in, capped by the activity's duration, rounded down to half an
    hour; in tenths of an hour (0, 5, 10, …)."""
    seconds = max(0.0, min((checked_out - checked_in).total_seconds(), duration.total_seconds()))
    return math.floor(seconds / 1800) * 5


class Activity(Aggregate):
    kind: ClassVar[str] = "activity"

    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    check_code: str | None = Field(default=None, repr=False)  # generated outside
    boundary: dict[str, Any] | None = None  # the grid's GeoJSON polygon, copied at creation
    signups: list[Attendance] = Field(default_factory=list)
    signed_count: int = 0  # == len(signups); the field the store's filter compares
    attachments: list[Attachment] = Field(default_factory=list)  # evidence, in upload order

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    @classmethod
    def create(
        cls,
        *,
        id: str,
        title: str,
        path: Iterable[str],
        starts_at: datetime,
        ends_at: datetime,
        capacity: int,
        by: Principal,
        now: datetime,
        check_code: str | None = None,
        boundary: dict[str, Any] | None = None,
    ) -> Activity:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise BadInput("capacity is a positive integer", {"capacity": capacity})
        if not timedelta(0) < ends_at - starts_at <= MAX_DURATION:
            raise BadInput("an activity ends after it starts and lasts at most 24 hours")
        if check_code is not None and not CODE_RE.match(check_code):
            raise BadInput("a check-in code has six digits")
        if boundary is not None:
            parse_boundary(boundary)
        act = cls(
            id=id,
            title=text(title, "title", NAME_MAX),
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            check_code=check_code,
            boundary=boundary,
            region_path=region_path(path),
            created_at=now,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_ACTIVITY, act)
        act._emit(
            "ACTIVITY_CREATED",
            by,
            now,
            title=act.title,
            capacity=capacity,
            starts_at=starts_at.isoformat(),
            ends_at=ends_at.isoformat(),
        )
        return act

    def attendance(self, volunteer_id: str) -> Attendance | None:
        return next((a for a in self.signups if a.volunteer_id == volunteer_id), None)

    def sign_up(self, by: Principal, volunteer: Volunteer, now: datetime) -> None:
        authorize(by, Action.SIGN_UP, self)
        acting_as(by, volunteer.sub, "sign up")
        can_sign_up(self, volunteer.id, now)
        self._change(now)
        self.signups.append(Attendance(volunteer_id=volunteer.id, sub=volunteer.sub, signed_at=now))
        self._recount()
        self._emit("ACTIVITY_SIGNED_UP", by, now, volunteer_id=volunteer.id, signed_count=self.signed_count)

    def cancel_sign_up(self, by: Principal, volunteer: Volunteer, now: datetime) -> None:
        authorize(by, Action.SIGN_UP, self)
        acting_as(by, volunteer.sub, "cancel a sign-up")
        a = self._signed(volunteer.id)
        if a.checked_in_at is not None:
            raise Conflict(f"volunteer {volunteer.id} has checked in to activity {self.id}")
        self._change(now)
        self.signups.remove(a)
        self._recount()
        self._emit("ACTIVITY_SIGNUP_CANCELLED", by, now, volunteer_id=volunteer.id, signed_count=self.signed_count)

    def check_in(
        self,
        by: Principal,
        volunteer: Volunteer,
        now: datetime,
        *,
        code: str | None = None,
        point: tuple[float, float] | None = None,
    ) -> None:
        """By the venue's code or a (lng, lat) inside the grid; from 30 minutes before the
        start until the end."""
        authorize(by, Action.CHECK_IN, self)
        acting_as(by, volunteer.sub, "check in")
        a = self._signed(volunteer.id)
        if a.checked_in_at is not None:
            raise Conflict(f"volunteer {volunteer.id} has already checked in")
        if not self.starts_at - CHECK_IN_EARLY <= now <= self.ends_at:
            raise Conflict(f"check-in to activity {self.id} is open from 30 minutes before its start until its end")
        method = self._present(code, point)
        self._change(now)
        a.checked_in_at = now
        self._emit("ACTIVITY_CHECKED_IN", by, now, volunteer_id=volunteer.id, method=method)

    def check_out(
        self,
        by: Principal,
        volunteer: Volunteer,
        now: datetime,
        *,
        code: str | None = None,
        point: tuple[float, float] | None = None,
    ) -> None:
        authorize(by, Action.CHECK_IN, self)
        acting_as(by, volunteer.sub, "check out")
        a = self._signed(volunteer.id)
        if a.checked_in_at is None or a.checked_out_at is not None:
            raise Conflict(f"volunteer {volunteer.id} is not checked in to activity {self.id}")
        if now < a.checked_in_at:
            raise BadInput("check-out is before check-in")
        method = self._present(code, point)
        self._change(now)
        a.checked_out_at = now
        a.hours_tenths = credit_hours_tenths(a.checked_in_at, now, self.duration)
        self._emit(
            "ACTIVITY_CHECKED_OUT", by, now, volunteer_id=volunteer.id, method=method, hours=a.hours, backfilled=False
        )

    def backfill(self, by: Principal, volunteer: Volunteer, hours: float, reason: str, now: datetime) -> None:
        """补录 by an admin for a volunteer without credit hours: marked `backfilled`."""
        authorize(by, Action.BACKFILL_HOURS, self)
        why = text(reason, "reason", NOTE_MAX)
        tenths = hours_tenths(hours, limit=self.duration.total_seconds() / 3600)
        a = self.attendance(volunteer.id)
        if a is not None and a.hours_tenths > 0:
            raise Conflict(f"volunteer {volunteer.id} already has {a.hours:g} hours for activity {self.id}")
        self._change(now)
        if a is None:  # back-filled people do not take a slot
            a = Attendance(volunteer_id=volunteer.id, sub=volunteer.sub, signed_at=now, took_slot=False)
            self.signups.append(a)
        a.hours_tenths, a.backfilled, a.backfill_reason = tenths, True, why
        self._emit(
            "HOURS_BACKFILLED", by, now, volunteer_id=volunteer.id, hours=tenths / 10, reason=why, backfilled=True
        )

    def _recount(self) -> None:
        self.signed_count = sum(a.took_slot for a in self.signups)

    def _signed(self, volunteer_id: str) -> Attendance:
        a = self.attendance(volunteer_id)
        if a is None or not a.took_slot:
            raise NotFound(f"volunteer {volunteer_id} has not signed up for activity {self.id}")
        return a

    def _present(self, code: str | None, point: tuple[float, float] | None) -> CheckMethod:
        if code is not None:
            if self.check_code is None or not hmac.compare_digest(code.strip().encode(), self.check_code.encode()):
                raise BadInput("the check-in code does not match", {"field": "code"})
            return CheckMethod.CODE
        if point is not None:
            if self.boundary is None:
                raise BadInput(f"activity {self.id} has no area for a location check-in")
            area = parse_boundary(self.boundary).buffer(EPS_DEG)
            if not area.covers(Point(*point)):
                raise BadInput("your location is outside the activity's area", {"field": "location"})
            return CheckMethod.LOCATION
        raise BadInput("check in with the venue's code or your location")


def can_sign_up(activity: Activity, volunteer_id: str, now: datetime) -> None:
    """The sign-up rule, raising Conflict: before the end, not yet signed up, and a free
    slot (`signed_count < capacity`)."""
    if now >= activity.ends_at:
        raise Conflict(f"activity {activity.id} is over")
    if activity.attendance(volunteer_id) is not None:
        raise Conflict(f"volunteer {volunteer_id} has already signed up for {activity.id}")
    if activity.signed_count >= activity.capacity:
        raise Conflict(
            f"activity {activity.id} is full ({activity.signed_count}/{activity.capacity})",
            {"capacity": activity.capacity},
        )


def signup_filter(activity_id: str, volunteer_id: str) -> dict[str, Any]:
    """The store's atomic version of `can_sign_up` as a MongoDB filter."""
    return {
        "_id": activity_id,
        "signups.volunteer_id": {"$ne": volunteer_id},
        "$expr": {"$lt": ["$signed_count", "$capacity"]},
    }


def check_point(lng: float | None, lat: float | None) -> tuple[float, float] | None:
    """The point a check-in or check-out is made at: both coordinates or neither."""
    if (lng is None) != (lat is None):
        raise BadInput("give both lng and lat")
    return (lng, lat) if lng is not None and lat is not None else None


def activity_area(level: str | None, boundary: Any) -> Any:
    """An activity held in a grid is checked in within the grid's boundary; one held in a
    community has no area."""
    return boundary if level == "GRID" else None
