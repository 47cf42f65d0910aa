"""From each source service's events to delivery rows: exactly one row per event per webhook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.notifications.webhooks import rules
from services.notifications.webhooks.hooks import HookCache
from services.notifications.webhooks.store import DELIVERIES, PENDING
from shared.jsonutil import dumps
from shared.messaging.envelope import CloudEvent
from shared.mongo import now

SOURCES = ("grids", "cases", "organizations", "volunteers")
CONSUMER = "webhooks"
DUPLICATE_KEY = 11000


class Intake:
    def __init__(self, db: AsyncDatabase, hooks: HookCache, hint: Callable[[list[tuple[str, str]]], None]):
        self.db, self.hooks, self.hint = db, hooks, hint

    async def on_event(self, event: CloudEvent) -> None:
        """Rows `<eventId>:<webhookId>` for the webhooks that take this event; inserted by id, so
        a redelivered event (after a crash before its ack, or on another replica) adds none."""
        names = rules.type_names(event.service, event.event)
        candidates = {h["_id"]: h for name in names for h in await self.hooks.for_type(name)}
        chosen = [h for h in candidates.values() if rules.matches(h, names, event.path, event.data)]
        if not chosen:
            return
        # the envelope as the relay publishes it (shared/messaging/outbox.py): the same model, the same encoder
        body = dumps(event.model_dump(mode="json")).decode()
        at = now()
        rows: list[dict[str, Any]] = [
            {
                "_id": f"{event.id}:{h['_id']}",
                "webhookId": h["_id"],
                "eventId": event.id,
                "eventType": event.event,
                "body": body,
                "status": PENDING,
                "attempts": 0,
                "nextAt": at,
                "createdAt": at,
            }
            for h in chosen
        ]
        try:
            await self.db[DELIVERIES].insert_many(rows, ordered=False)
        except BulkWriteError as e:
            if any(err.get("code") != DUPLICATE_KEY for err in e.details.get("writeErrors", [])):
                raise
        self.hint([(row["_id"], row["webhookId"]) for row in rows])  # tried at once, not at the next poll
