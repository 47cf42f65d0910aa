"""Wires the cases service: `create_runtime(settings)` connects nothing until started."""

from __future__ import annotations

import asyncio
import logging

from services.cases.domain import EVENT_TYPES, FIELD_DESCRIPTIONS
from services.cases.handlers import SERVICE, CaseContext
from services.cases.handlers.model import CaseCommands
from services.cases.handlers.table import table
from services.cases.handlers.work_calendar import WorkCalendars, document_calendar_events
from services.cases.importer import CaseImporter
from services.cases.projection import RollupProjection
from services.cases.store import HOTSPOT_DAYS, IMPORTED, INDEXES, CaseStore, window_start
from services.cases.sweeper import Sweeper
from services.cases.views import wire_event_models
from shared.asyncapi import document_department_copies, document_events
from shared.mongo import now
from shared.moves import Figures, follow_moves
from shared.privacy import FieldCipher
from shared.rekey import Sealed, serve_rekey
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.territory import TerritoryReplica

log = logging.getLogger("yiwang.cases")


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes.update(INDEXES)
    store = CaseStore(rt.db)
    # a moved region's cases get their new path and its figures follow it (shared/moves)
    territory = TerritoryReplica(
        rt,
        settings.locator_resync_s,
        on_moved=follow_moves(
            SERVICE,
            rt.db,
            rt.transact,
            INDEXES,
            [
                Figures("rollups", ("c", IMPORTED)),
                Figures("rollup_days", ("c", IMPORTED), daily=True),
                Figures(HOTSPOT_DAYS, ("h", IMPORTED), daily=True),
            ],
        ),
    )
    projection = RollupProjection(store, territory)
    cipher = FieldCipher.from_settings(settings)
    cases = CaseContext(rt, store, territory, cipher)
    calendars = WorkCalendars(cases)
    rt.routes(table(cases, CaseImporter(cases, projection), calendars))
    serve_rekey(rt, cipher, Sealed("cases", ("reporters.phone_enc",)), Sealed("departments", ("contacts.phone_enc",)))
    document_events(
        rt, wire_event_models(), drop=("counters",), descriptions=FIELD_DESCRIPTIONS, dept_keys=True, typed=True
    )
    document_department_copies(rt, EVENT_TYPES)  # departments: yiwang.dept.cases.…
    document_calendar_events(rt)
    rt.project("rollups", projection.apply)
    rt.consume("organizations", "resolutions", CaseCommands(cases).on_org_event, events="RESOLUTION_ADDED.>")
    sweeper = Sweeper(cases)
    rt.on_start(store.seed_catalogue)
    rt.on_start(calendars.start)  # the deadlines of the first request count the stored calendar
    rt.on_stop(calendars.stop)

    upgrade: list[asyncio.Task] = []

    async def start_background() -> None:
        sweeper.start()
        upgrade.append(asyncio.create_task(upgrade_earlier_layouts()))

    async def upgrade_earlier_layouts() -> None:
        """Data of earlier layouts, brought up to date in the background: the `near` cells of
        the cases in the duplicate window (until then a report may miss a duplicate among
        them), and hotspot cells folded into hotspot_days (reads count them again as each
        batch commits)."""
        try:
            since = window_start(now(), settings.dup_window_s)
            if n := await store.upgrade_near_cells(since):
                log.info("gave %d recent cases of the earlier layout their near cells", n)
            if n := await store.upgrade_rating_windows():
                log.info("gave %d resolved cases of the earlier layout their rating window", n)
            if n := await store.upgrade_hotspot_cells(rt.transact):
                log.info("folded %d hotspot cells of the earlier layout into hotspot_days", n)
            if n := await store.upgrade_sweep_at():
                log.info("gave %d open cases of the earlier layout their sweep time", n)
        except Exception:  # any error: the service runs on; the next start resumes the upgrade
            log.exception("upgrading data of an earlier layout stopped; the next start resumes it")

    async def stop_background() -> None:
        await sweeper.stop()
        for task in upgrade:
            task.cancel()

    rt.on_start(start_background)
    rt.on_stop(stop_background)
    return rt
