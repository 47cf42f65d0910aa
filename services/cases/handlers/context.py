"""What every cases handler shares: the runtime, store, territory replica, cipher, SLA and
catalogue, and the steps every write takes (load in scope, route, record events)."""

from __future__ import annotations

import time
from typing import Any

from services.cases import domain as d
from services.cases.store import CaseStore, case_from_doc
from services.cases.views import CaseViews, case_envelopes
from shared.auth import Principal, hidden
from shared.calendars import shipped
from shared.mongo import UnitOfWork
from shared.privacy import FieldCipher
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.territory import TerritoryReplica
from shared.workdays import OfficeHours, WorkCalendar

SERVICE = "cases"


def sla_of(settings: Settings, calendar: WorkCalendar | None = None) -> d.Clock:
    """The service's SLA object (domain/clocks.py) from the settings: each level's span in
    working time, or in wall-clock seconds where `YIWANG_SLA_<LEVEL>_S` is set, on `calendar`
    (by default the shipped years, the office hours and the zone of the settings)."""
    if calendar is None:
        calendar = WorkCalendar(shipped(), OfficeHours.parse(settings.office_hours), settings.timezone)
    return d.Clock.of(
        calendar,
        {lvl: settings.sla_working(str(lvl)) for lvl in d.HandlingLevel},
        {lvl: settings.sla_seconds(str(lvl)) for lvl in d.HandlingLevel},
        settings.due_soon_share,
    )


class CaseContext:
    """The cases service in process: what its handlers, the sweeper and the importer share.

    Public entry points for in-process callers (the importer, the sweeper): `route` (where a
    report belongs), `record` (a case's pending events into a unit of work), `current_catalogue`,
    `sla`, `store`, `cipher`."""

    def __init__(self, rt: ServiceRuntime, store: CaseStore, territory: TerritoryReplica, cipher: FieldCipher):
        self.rt, self.store, self.territory, self.cipher = rt, store, territory, cipher
        self.settings = rt.settings
        self.sla = sla_of(rt.settings)
        self.catalogue: d.Catalogue = d.DEFAULT_CATALOGUE
        self.catalogue_at = float("-inf")
        self.views = CaseViews(cipher, self.category_name, self.region_name)

    def set_calendar(self, calendar: WorkCalendar) -> None:
        """Deadlines set from now on count this calendar (handlers/work_calendar.py keeps it current)."""
        self.sla = self.sla.with_calendar(calendar)

    def category_name(self, code: str) -> str:
        return next((c.name for c in self.catalogue.categories if c.code == code), code)

    def region_name(self, region_id: str) -> str:
        node = self.territory.get(region_id)
        return node["name"] if node else region_id

    async def current_catalogue(self, max_age_s: float = 5.0) -> d.Catalogue:
        """The catalogue, re-read at most every few seconds (and at once after an edit here)."""
        if time.monotonic() - self.catalogue_at > max_age_s:
            self.catalogue, self.catalogue_at = await self.store.catalogue(), time.monotonic()
        return self.catalogue

    def changed_catalogue(self, catalogue: d.Catalogue) -> None:
        self.catalogue, self.catalogue_at = catalogue, time.monotonic()

    def route(self, where: d.Whereabouts) -> d.Routed:
        """The grid a report (or an imported case) belongs to, by the domain's routing rule over
        this replica's territory: BAD_INPUT or NOT_FOUND when it belongs to none."""
        return d.route(where, self.territory.get, self.territory.locate)

    def record(self, uow: UnitOfWork, case: d.Case, counters_before: dict[str, int] | None) -> None:
        """Drain the case's domain events into the unit of work's outbox (`views.case_envelopes`)."""
        uow.record(*case_envelopes(case, counters_before))

    async def scoped(self, p: Principal, case_id: str, uow: UnitOfWork | None = None) -> tuple[d.Case, dict]:
        """A case the caller named, if it exists and is in their scope; FORBIDDEN alike for one that
        does not exist and one outside their scope (NOT_FOUND to an unrestricted caller)."""
        doc = await self.store.doc(case_id, uow)
        if doc is None:
            raise hidden(p, f"case {case_id}")
        case = case_from_doc(doc)
        if not d.SCOPE.admits(p, case):
            raise hidden(p, f"case {case_id}")
        return case, doc

    def save(
        self, uow: UnitOfWork, case: d.Case, version: int, before: dict[str, int] | None, doc: dict[str, Any]
    ) -> dict:
        """Save a changed case (version-checked, keeping its possible duplicates) and record its events."""
        saved = self.store.save(uow, case, version, {"possible_duplicates": doc.get("possible_duplicates", [])})
        self.record(uow, case, before)
        return saved

    async def view_of(self, p: Principal, case_id: str) -> dict:
        case, doc = await self.store.load(case_id)
        return self.views.case(p, case, doc)
