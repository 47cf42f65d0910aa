"""Wires the territory service: `create_runtime(settings)` connects nothing until started."""

from __future__ import annotations

from services.grids.handlers import SERVICE, GridContext
from services.grids.handlers.table import table
from services.grids.handlers.visit_table import Visiting
from services.grids.locator import GridLocator
from services.grids.store import INDEXES, GridStore
from services.grids.visit_store import VISIT_INDEXES
from shared.asyncapi import document_events
from shared.contracts.grids import GRID_EVENTS, GRID_FIELD_DESCRIPTIONS
from shared.privacy import FieldCipher
from shared.rekey import Sealed, serve_rekey
from shared.service import ServiceRuntime
from shared.settings import Settings


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes = {k: INDEXES.get(k, []) + VISIT_INDEXES.get(k, []) for k in INDEXES.keys() | VISIT_INDEXES.keys()}
    store = GridStore(rt.db)
    locator = GridLocator(store, settings.locator_resync_s)
    cipher = FieldCipher.from_settings(settings)
    ctx = GridContext(rt, store, locator, cipher)
    visiting = Visiting(ctx)  # visits
    rt.routes({**table(ctx), **visiting.routes()})
    visiting.wire()
    serve_rekey(
        rt,
        cipher,
        Sealed("workers", ("phoneEnc",)),
        # households:
        Sealed(
            "households",
            ("head.nameEnc", "head.phoneEnc", "head.idEnc", "members.nameEnc", "members.phoneEnc", "members.idEnc"),
        ),
        Sealed("visits", ("findingsEnc",)),  # visits
    )
    outside = {"VISIT_RULES_SET"}  # the deployment's rules: about no territory node (subject …._)
    regional = {k: v for k, v in GRID_EVENTS.items() if k not in outside}
    document_events(rt, regional, delta=False, descriptions=GRID_FIELD_DESCRIPTIONS)
    document_events(
        rt, {k: GRID_EVENTS[k] for k in outside}, delta=False, descriptions=GRID_FIELD_DESCRIPTIONS, outside_only=True
    )
    rt.broadcast(SERVICE, locator.on_event)
    rt.on_start(locator.start)
    rt.on_stop(locator.stop)
    return rt
