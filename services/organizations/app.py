"""Wires the organizations service: `create_runtime(settings)` connects nothing until started."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.organizations.domain import EVENT_FIELDS, EVENT_TYPES, FIELD_DESCRIPTIONS
from services.organizations.handlers.common import SERVICE, OrgContext
from services.organizations.handlers.table import OrgHandlers
from services.organizations.importer import MemberImporter
from services.organizations.org_import import OrgImporter
from services.organizations.store import ID_NUMBER_KEY, INDEXES, OrgStore
from services.organizations.sweeper import Sweeper
from shared.asyncapi import document_events
from shared.moves import ROLLUPS_AND_DAYS, Figures, follow_moves
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

# What a moved region's figures shift: the organisations' rollups and day buckets, and the funds' (own block).
FIGURES = (*ROLLUPS_AND_DAYS, Figures("fund_rollups", ("c",)))


def event_models() -> dict[str, type[BaseModel]]:
    """For the AsyncAPI document: every event names its record; the rest of `data` is the
    event's own fields (`EVENT_FIELDS`: ids, statuses, dates; never phones or ID numbers)."""
    models: dict[str, type[BaseModel]] = {}
    for name, description in EVENT_TYPES.items():
        fields: dict[str, Any] = {
            "aggregate": (str, Field(description=FIELD_DESCRIPTIONS["aggregate"])),
            "aggregateId": (str, Field(description=FIELD_DESCRIPTIONS["aggregateId"])),
        }
        fields.update({f: (Any, Field(None, description=FIELD_DESCRIPTIONS[f])) for f in EVENT_FIELDS[name]})
        models[name] = create_model(
            f"Org{name.title().replace('_', '')}",
            __doc__=description[:1].upper() + description[1:],
            __config__=ConfigDict(extra="allow"),
            **fields,
        )
    return models


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes.update(INDEXES)
    store = OrgStore(rt.db)
    # a moved region's records get their new paths and its figures follow it (shared/moves)
    territory = TerritoryReplica(
        rt, settings.locator_resync_s, on_moved=follow_moves(SERVICE, rt.db, rt.transact, INDEXES, FIGURES)
    )
    cipher = FieldCipher.from_settings(settings)
    ctx = OrgContext(rt, store, territory, cipher)
    handlers = OrgHandlers(ctx)
    rt.routes(handlers.table())
    serve_rekey(rt, cipher, SEALED_MEMBERS, Sealed("units", ("contacts.phone_enc",)))
    rt.route("member.import", MemberImporter(ctx).handle)
    rt.route("org.import", OrgImporter(ctx).handle)
    rt.consume("organizations", "case-requests", handlers.meetings.on_own_event, events="CASE_REQUESTED.>")
    rt.consume(  # committees: 三方联动 items that become cases
        "organizations", "three-party-cases", handlers.committees.on_own_event, events="THREE_PARTY_CASE_REQUESTED.>"
    )
    rt.consume("cases", "cases", handlers.meetings.on_case_event)
    rt.consume("volunteers", "feedback", handlers.dual.on_volunteer_event, events="QUARTERLY_FEEDBACK.>")
    # deliberation: the case a proposal's implementation asked for, until `cases` has it
    rt.consume("organizations", "proposal-cases", handlers.deliberation.on_own_event, events="PROPOSAL_ADVANCED.>")
    # 参与议事: residents' points for their part in a proposal, credited by the volunteers service
    participation = handlers.deliberation.on_participation
    rt.consume("organizations", "participation-points", participation, events="PARTICIPATION_RECORDED.>")
    document_events(rt, event_models(), delta=False)
    sweeper = Sweeper(ctx, handlers.deliberation)
    rt.sweeper = sweeper  # type: ignore[attr-defined]  # tests run a pass at a chosen time

    async def start_sweeper() -> None:
        sweeper.start()

    rt.on_start(start_sweeper)
    rt.on_stop(sweeper.stop)
    return rt
