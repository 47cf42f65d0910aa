"""Feedback to 双报到: the service an in-service party member did in a quarter, emitted for
`organizations` to attach to the member's record for their work unit."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone, tzinfo

from pydantic import BaseModel, ConfigDict

from shared.errors import BadInput

from .activities import Activity
from .enums import DONE_ORDER_STATUSES, SourceKind
from .orders import ServiceOrder
from .people import Volunteer
from .tasks import VolunteerTask

CHINA_TZ = timezone(timedelta(hours=8))
QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


class ServiceRecord(BaseModel):
    """One piece of service done: hours of an order, an activity or a case."""

    model_config = ConfigDict(frozen=True)

    kind: SourceKind  # ORDER, ACTIVITY or CASE
    source_id: str
    volunteer_id: str
    hours_tenths: int
    at: datetime
    backfilled: bool = False


def records_of(record: ServiceOrder | Activity | VolunteerTask) -> list[ServiceRecord]:
    """The service records a completed order, an activity or a resolved task holds."""
    if isinstance(record, ServiceOrder):
        if record.status in DONE_ORDER_STATUSES and record.taker_id and record.completed_at:
            return [
                ServiceRecord(
                    kind=SourceKind.ORDER,
                    source_id=record.id,
                    volunteer_id=record.taker_id,
                    hours_tenths=record.hours_tenths,
                    at=record.completed_at,
                )
            ]
        return []
    if isinstance(record, VolunteerTask):
        if record.resolved_at is None:
            return []
        return [
            ServiceRecord(
                kind=SourceKind.CASE,
                source_id=record.id,
                volunteer_id=record.volunteer_id,
                hours_tenths=record.hours_tenths,
                at=record.resolved_at,
            )
        ]
    return [
        ServiceRecord(
            kind=SourceKind.ACTIVITY,
            source_id=record.id,
            volunteer_id=a.volunteer_id,
            hours_tenths=a.hours_tenths,
            at=a.checked_out_at or record.ends_at,
            backfilled=a.backfilled,
        )
        for a in record.signups
        if a.hours_tenths > 0
    ]


def quarter_bounds(quarter: str, tz: tzinfo = CHINA_TZ) -> tuple[datetime, datetime]:
    m = QUARTER_RE.match(quarter)
    if not m:
        raise BadInput(f"a quarter is written like 2026Q4, not {quarter!r}")
    year, q = int(m[1]), int(m[2])
    start = datetime(year, 3 * q - 2, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz) if q == 4 else datetime(year, 3 * q + 1, 1, tzinfo=tz)
    return start, end


def quarter_of(at: datetime, tz: tzinfo = CHINA_TZ) -> str:
    local = at.astimezone(tz)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


class QuarterlyFeedback(BaseModel):
    model_config = ConfigDict(frozen=True)

    member_id: str
    org_id: str
    work_unit_id: str | None
    volunteer_id: str
    quarter: str
    hours: float
    hours_backfilled: float
    orders: int
    activities: int
    cases: int


def quarterly_feedback(records: Iterable[ServiceRecord], member: Volunteer, quarter: str) -> QuarterlyFeedback:
    """The summary for QUARTERLY_FEEDBACK: `member`'s records in `quarter` (China time)."""
    if not member.in_service_member or member.member is None:
        raise BadInput(f"volunteer {member.id} is not an in-service party member")
    start, end = quarter_bounds(quarter)
    mine = [r for r in records if r.volunteer_id == member.id and start <= r.at < end]
    count = {
        k: len({r.source_id for r in mine if r.kind is k})
        for k in (SourceKind.ORDER, SourceKind.ACTIVITY, SourceKind.CASE)
    }
    return QuarterlyFeedback(
        member_id=member.member.member_id,
        org_id=member.member.org_id,
        work_unit_id=member.member.work_unit_id,
        volunteer_id=member.id,
        quarter=quarter,
        hours=sum(r.hours_tenths for r in mine) / 10,
        hours_backfilled=sum(r.hours_tenths for r in mine if r.backfilled) / 10,
        orders=count[SourceKind.ORDER],
        activities=count[SourceKind.ACTIVITY],
        cases=count[SourceKind.CASE],
    )
