"""The work calendar the case clocks run on: loaded at start, kept current on every replica,
read (`calendar.get`) and edited one year at a time (`calendar.set`) by a city's administrators."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.cases.handlers.context import SERVICE, CaseContext
from shared.asyncapi import document_events
from shared.auth import Principal, public_actor, require_deployment_admin
from shared.calendars import shipped
from shared.contracts.cases import GetWorkCalendar, SetWorkCalendar
from shared.messaging.envelope import make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork
from shared.service import ServiceRuntime
from shared.workdays import WorkCalendar, WorkCalendarSource, YearArrangement, check_arrangement

log = logging.getLogger("yiwang.cases.calendar")
CHANGED = "WORK_CALENDAR_CHANGED"
CATALOGUE_CHANGED = "CATALOGUE_CHANGED"  # handlers/catalogue.py


class WorkCalendarChanged(BaseModel):
    """An administrator set a year of the work calendar (deadlines set from now on count it)."""

    year: int = Field(description="The calendar year set")
    version: int = Field(description="The calendar's version after this change")
    source: str = Field(
        description="Where the year's arrangement comes from: PUBLISHED (the State Council's 国务院办公厅通知, "
        "as shipped), EDITED (set by an administrator) or WEEKENDS_ONLY (none: weekends off)"
    )
    holidays: int = Field(description="How many days off (节假日) the year's arrangement lists")
    workdays: int = Field(description="How many weekend days are working days (调休上班) in it")


class CatalogueChanged(BaseModel):
    """An administrator changed the category catalogue (事项分类目录) cases are reported under."""

    version: int = Field(description="The catalogue's version after this change")


class WorkCalendars:
    """The calendar of this replica (`ctx.sla` runs on it), its edits, and the refresh loop:
    every `calendar_refresh_s` each replica reads the calendar's version (one small document)
    and reloads the years when another replica changed them."""

    def __init__(self, ctx: CaseContext):
        self.ctx = ctx
        self.version = -1
        self.stored: dict[int, dict] = {}  # year -> its stored document (version, at, actor)
        self._task: asyncio.Task | None = None

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        added = await self.ctx.store.seed_work_calendar(shipped())
        if added:
            log.info("stored the shipped work calendar of %s", ", ".join(map(str, added)))
        await self.reload()
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def reload(self) -> None:
        version, years = await self.ctx.store.work_calendar()
        self.stored = {y: doc for y, (_, doc) in years.items()}
        self.ctx.set_calendar(self.ctx.sla.calendar.with_years({y: a for y, (a, _) in years.items()}))
        self.version = version

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.settings.calendar_refresh_s)
            try:
                if await self.ctx.store.calendar_version() != self.version:
                    await self.reload()
                    log.info("work calendar reloaded (version %d)", self.version)
            except Exception:  # the store away for a moment: try again next time
                log.warning("could not read the work calendar's version; trying again", exc_info=True)

    # -- verbs ---------------------------------------------------------------------------
    def may_edit(self, p: Principal) -> None:
        """Every region's deadlines: a city's administrators or a superadmin."""
        path = self.ctx.territory.path(p.region) if p.region else None
        require_deployment_admin(p, path, "set the work calendar")

    async def get(self, req: Request) -> dict:
        year = req.parse(GetWorkCalendar).year
        return view(self.ctx.sla.calendar, year, self.stored.get(year))

    async def set(self, req: Request) -> dict:
        p = req.principal
        self.may_edit(p)
        c = req.parse(SetWorkCalendar)
        holidays, workdays = check_arrangement(c.year, c.holidays, c.workdays)
        arrangement = YearArrangement(
            c.year, frozenset(holidays), frozenset(workdays), WorkCalendarSource.EDITED, "set by an administrator"
        )
        store = self.ctx.store

        async def work(uow: UnitOfWork) -> dict:
            before = await store.work_calendar_year(c.year, uow)
            doc = await store.save_work_calendar_year(uow, arrangement, p.sub, before)
            change = WorkCalendarChanged(
                year=c.year,
                version=doc["version"],
                source=str(arrangement.source),
                holidays=len(holidays),
                workdays=len(workdays),
            )
            uow.record(
                make_event(
                    SERVICE,
                    CHANGED,
                    f"calendar:{c.year}",
                    {"type": CHANGED, **change.model_dump()},
                    path=[],
                    actor=public_actor(p),
                    version=doc["version"],
                )
            )
            return doc

        doc = await self.ctx.rt.transact(work)
        self.stored[c.year] = doc
        self.ctx.set_calendar(self.ctx.sla.calendar.with_year(arrangement))
        return view(self.ctx.sla.calendar, c.year, doc)


def document_calendar_events(rt: ServiceRuntime) -> None:
    """WORK_CALENDAR_CHANGED and CATALOGUE_CHANGED in the service's AsyncAPI document (outside the
    territory: their subjects end in `_`)."""
    document_events(rt, {CHANGED: WorkCalendarChanged}, delta=False, outside_only=True, typed=True)
    document_events(rt, {CATALOGUE_CHANGED: CatalogueChanged}, delta=False, outside_only=True)


def view(calendar: WorkCalendar, year: int, doc: dict | None) -> dict[str, Any]:
    """The wire shape of one year (`WorkCalendar` in CASES_API)."""
    a = calendar.year(year)
    at = doc.get("at") if doc else None
    return {
        "year": year,
        "source": str(a.source),
        "note": a.note,
        "holidays": [x.isoformat() for x in sorted(a.holidays)],
        "workdays": [x.isoformat() for x in sorted(a.workdays)],
        "workingDays": calendar.working_days(year),
        "officeHours": str(calendar.hours),
        "timezone": calendar.zone,
        "version": int(doc["version"]) if doc else 0,
        "updatedAt": at if isinstance(at, datetime) else None,
    }
