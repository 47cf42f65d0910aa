"""Wires the notifications service: `create_runtime(settings)` connects nothing until started."""

from __future__ import annotations

from services.notifications.handlers.table import verbs
from services.notifications.store import INDEXES, SERVICE
from services.notifications.webhooks import wire as wire_webhooks
from shared.privacy import FieldCipher
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.territory import TerritoryReplica


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes.update(INDEXES)
    rt.routes(verbs())
    # webhooks: signed deliveries of events to registered URLs, own consumers and dispatcher
    wire_webhooks(rt, TerritoryReplica(rt, settings.locator_resync_s), FieldCipher.from_settings(settings))
    return rt
