"""Wires the volunteers service: `create_runtime(settings)` connects nothing until started."""

from __future__ import annotations

from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.volunteers.domain import EVENT_DEFINITIONS, EVENT_FIELDS, FIELD_DESCRIPTIONS
from services.volunteers.handlers import SERVICE, Context, people, table, tasks
from services.volunteers.store import INDEXES, VolunteerStore
from services.volunteers.sweeper import Sweeper
from shared.asyncapi import document_events
from shared.moves import ROLLUPS_AND_DAYS, follow_moves
from shared.privacy import FieldCipher
from shared.rekey import Sealed, serve_rekey
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.territory import TerritoryReplica


def event_models() -> dict[str, type[BaseModel]]:
    """For the AsyncAPI document: every event names its record kind; the rest of `data` is
    the event's own fields (`EVENT_FIELDS`: ids, statuses, hours, points; never names or phones)."""
    models: dict[str, type[BaseModel]] = {}
    for name, description in EVENT_DEFINITIONS.items():
        fields: dict[str, Any] = {"kind": (str, Field(description=FIELD_DESCRIPTIONS["kind"]))}
        # an event's own field may take a name of the envelope's (`<EVENT>.<field>` describes it then)
        for f in EVENT_FIELDS[name]:
            fields[f] = (Any, Field(None, description=FIELD_DESCRIPTIONS.get(f"{name}.{f}", FIELD_DESCRIPTIONS[f])))
        models[name] = create_model(
            f"Vol{name.title().replace('_', '')}", __doc__=description, __config__=ConfigDict(extra="allow"), **fields
        )
    return models


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes.update(INDEXES)
    store = VolunteerStore(rt.db)
    # a moved region's records get their new paths and its figures follow it (shared/moves)
    territory = TerritoryReplica(
        rt, settings.locator_resync_s, on_moved=follow_moves(SERVICE, rt.db, rt.transact, INDEXES, ROLLUPS_AND_DAYS)
    )
    cipher = FieldCipher.from_settings(settings)
    cx = Context(rt, store, territory, cipher)
    rt.routes(table(cx))
    serve_rekey(rt, cipher, Sealed("volunteers", ("phone_enc",)))
    rt.consume("cases", "cases", partial(tasks.on_case_event, cx))
    rt.consume("organizations", "members", partial(people.on_org_event, cx))
    document_events(rt, event_models(), delta=False)
    sweeper = Sweeper(cx)
    rt.sweeper = sweeper  # type: ignore[attr-defined]  # tests run a pass at a chosen time

    async def start_sweeper() -> None:
        sweeper.start()

    rt.on_start(start_sweeper)
    rt.on_stop(sweeper.stop)
    return rt
