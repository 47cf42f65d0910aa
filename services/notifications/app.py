"""Wires the notifications service: `create_runtime(settings)` connects nothing until started."""

from __future__ import annotations

from services.notifications.handlers.table import verbs
from services.notifications.store import INDEXES, SERVICE
from shared.service import ServiceRuntime
from shared.settings import Settings


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes.update(INDEXES)
    rt.routes(verbs())
    return rt
