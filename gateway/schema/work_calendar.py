"""The work calendar the case clocks count (`workCalendar`, `setWorkCalendar`): one year at a
time, read by any caller, set by a superadmin or a city's administrator."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.common import ctx, graphql_enum, when
from shared.contracts import cases as cc
from shared.workdays import WorkCalendarSource

graphql_enum(
    WorkCalendarSource,
    description="Where a year's arrangement comes from: the State Council's published one (shipped with "
    "Yiwang), an administrator's edit, or none (weekends only)",
)


@strawberry.type(description="One year of the work calendar: the days off and the 调休 working weekends")
class WorkCalendar:
    year: int
    source: WorkCalendarSource = strawberry.field(
        description="PUBLISHED or EDITED; WEEKENDS_ONLY: no arrangement for this year, weekends off and "
        "every weekday worked, until an administrator sets it"
    )
    note: str = strawberry.field(description="Where the arrangement comes from (the notice), or who set it")
    holidays: list[date] = strawberry.field(description="Days off (放假), whatever the weekday")
    workdays: list[date] = strawberry.field(description="Saturdays and Sundays worked (调休上班)")
    working_days: int = strawberry.field(description="Working days in the year")
    office_hours: str = strawberry.field(description="Office hours of a working day, local time: what clocks count")
    timezone: str
    version: int = strawberry.field(description="Edits of this year so far (0: never stored)")
    updated_at: datetime | None


def calendar_node(d: dict) -> WorkCalendar:
    return WorkCalendar(
        year=d["year"],
        source=WorkCalendarSource(d["source"]),
        note=d.get("note") or "",
        holidays=[date.fromisoformat(x) for x in d["holidays"]],
        workdays=[date.fromisoformat(x) for x in d["workdays"]],
        working_days=d["workingDays"],
        office_hours=d["officeHours"],
        timezone=d["timezone"],
        version=d["version"],
        updated_at=when(d["updatedAt"]) if d.get("updatedAt") else None,
    )


@strawberry.type
class WorkCalendarQuery:
    @strawberry.field(description="The work calendar of a year: what the case deadlines (SLA) count")
    async def work_calendar(self, info: Info, year: int) -> WorkCalendar:
        return calendar_node(await ctx(info).cases.work_calendar(checked(cc.GetWorkCalendar, year=year)))


@strawberry.type
class WorkCalendarMutation:
    @strawberry.mutation(
        description="Superadmin or a city's administrator: set a year's holidays and 调休 workdays (replacing "
        "them); deadlines set from now on count it. Refused: a date outside the year, a day both a holiday and "
        "a workday, a workday that is not a Saturday or Sunday"
    )
    async def set_work_calendar(
        self, info: Info, year: int, holidays: list[date], workdays: list[date]
    ) -> WorkCalendar:
        body = checked(cc.SetWorkCalendar, year=year, holidays=holidays, workdays=workdays)
        return calendar_node(await ctx(info).cases.set_work_calendar(body))
