"""Wires the cases service: `create_runtime(settings)` connects nothing until started."""
from __future__ import annotations

from services.cases.domain import EVENT_TYPES
from services.cases.handlers import SERVICE, Cases
from services.cases.importer import CaseImporter
from services.cases.projection import RollupProjection
from services.cases.store import INDEXES, CaseStore
from services.cases.sweeper import Sweeper
from shared.asyncapi import document_events
from shared.privacy import FieldCipher
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.territory import TerritoryReplica


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes.update(INDEXES)
    store = CaseStore(rt.db)
    territory = TerritoryReplica(rt, settings.locator_resync_s,
                                 on_moved=lambda *a: projection.on_region_moved(rt.transact, *a))
    projection = RollupProjection(store, territory)
    cases = Cases(rt, store, territory, FieldCipher(settings.field_key))
    rt.routes(cases.table())
    rt.route("case.import", CaseImporter(cases, projection).handle)
    document_events(rt, EVENT_TYPES, drop=("counters",))
    rt.project("rollups", projection.apply)
    rt.consume("organizations", "resolutions", cases.on_org_event, events="RESOLUTION_ADDED.>")
    sweeper = Sweeper(cases)
    rt.on_start(store.seed_catalogue)

    async def start_sweeper() -> None:
        sweeper.start()

    rt.on_start(start_sweeper)
    rt.on_stop(sweeper.stop)
    return rt
