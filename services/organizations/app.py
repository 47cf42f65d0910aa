"""Wires the organizations service: `create_runtime(settings)` connects nothing until started."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.organizations.domain import EVENT_TYPES
from services.organizations.handlers.common import SERVICE, OrgContext
from services.organizations.handlers.table import OrgHandlers
from services.organizations.importer import MemberImporter
from services.organizations.store import ID_NUMBER_KEY, INDEXES, OrgStore
from services.organizations.sweeper import Sweeper
from shared.asyncapi import document_events
from shared.moves import ROLLUPS_AND_DAYS, follow_moves
from shared.privacy import FieldCipher
from shared.rekey import Sealed, serve_rekey
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.territory import TerritoryReplica

# Where personal data is kept encrypted, for `yiwang rekey`: a member's ID number also claims
# its blind index in `keys` (one member per ID number), which moves with it.
SEALED_MEMBERS = Sealed(
    "members",
    ("phone_enc", "id_number_enc"),
    indexes={"phone_enc": "phone_index", "id_number_enc": "id_number_index"},
    claims={"id_number_index": ID_NUMBER_KEY},
)


def event_models() -> dict[str, type[BaseModel]]:
    """For the AsyncAPI document: every event names its record; the rest of `data` is the
    event's own fields (ids, statuses, dates; never names, phones or ID numbers)."""
    return {
        name: create_model(
            f"Org{name.title().replace('_', '')}",
            __doc__=description,
            __config__=ConfigDict(extra="allow"),
            aggregate=(str, Field(description="kind of record: organization, member, transfer, meeting, ...")),
            aggregateId=(str, Field(description="its id (also the CloudEvent `subject`)")),
        )
        for name, description in EVENT_TYPES.items()
    }


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes.update(INDEXES)
    store = OrgStore(rt.db)
    # a moved region's records get their new paths and its figures follow it (shared/moves)
    territory = TerritoryReplica(
        rt, settings.locator_resync_s, on_moved=follow_moves(SERVICE, rt.db, rt.transact, INDEXES, ROLLUPS_AND_DAYS)
    )
    cipher = FieldCipher.from_settings(settings)
    ctx = OrgContext(rt, store, territory, cipher)
    handlers = OrgHandlers(ctx)
    rt.routes(handlers.table())
    serve_rekey(rt, cipher, SEALED_MEMBERS, Sealed("units", ("contacts.phone_enc",)))
    rt.route("member.import", MemberImporter(ctx).handle)
    rt.consume("organizations", "case-requests", handlers.meetings.on_own_event, events="CASE_REQUESTED.>")
    rt.consume("cases", "cases", handlers.meetings.on_case_event)
    rt.consume("volunteers", "feedback", handlers.dual.on_volunteer_event, events="QUARTERLY_FEEDBACK.>")
    document_events(rt, event_models(), delta=False)
    sweeper = Sweeper(ctx)
    rt.sweeper = sweeper  # type: ignore[attr-defined]  # tests run a pass at a chosen time

    async def start_sweeper() -> None:
        sweeper.start()

    rt.on_start(start_sweeper)
    rt.on_stop(sweeper.stop)
    return rt
