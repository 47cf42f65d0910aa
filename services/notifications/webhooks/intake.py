"""From each source service's events to delivery rows: exactly one row per event per webhook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.notifications.webhooks import rules
from services.notifications.webhooks.hooks import HookCache
from services.notifications.webhooks.store import DELIVERIES, PENDING
from shared.ids import new_id
from shared.jsonutil import dumps
from shared.messaging.envelope import CloudEvent
from shared.mongo import now

if TYPE_CHECKING:
    from services.notifications.webhooks.dispatcher import Dispatcher

SOURCES = ("grids", "cases", "organizations", "volunteers")
CONSUMER = "webhooks"
DUPLICATE_KEY = 11000


class Intake:
    def __init__(self, db: AsyncDatabase, hooks: HookCache, dispatcher: Dispatcher):
        self.db, self.hooks, self.dispatcher = db, hooks, dispatcher

    async def on_event(self, event: CloudEvent) -> None:
        """Rows `<eventId>:<webhookId>` for the webhooks that take this event; inserted by id, so
        a redelivered event (after a crash before its ack, or on another replica) adds none.
        A row whose webhook has a free slot here goes in claimed by this process, its first
        try counted, and is tried at once; the others go in due, for the dispatcher's queue."""
        names = rules.type_names(event.service, event.event)
        candidates = {h["_id"]: h for name in names for h in await self.hooks.for_type(name)}
        chosen = [h for h in candidates.values() if rules.matches(h, names, event.path, event.data)]
        if not chosen:
            return
        # the envelope as the relay publishes it (shared/messaging/outbox.py): the same model, the same encoder
        body = dumps(event.model_dump(mode="json")).decode()
        at = now()
        rows: list[dict[str, Any]] = []
        for h in chosen:
            row = {
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
            if self.dispatcher.reserve(h["_id"]):
                row.update(attempts=1, nextAt=at + self.dispatcher.lease(), claim=new_id("c"))
            rows.append(row)
        existed: set[int] = set()
        try:
            await self.db[DELIVERIES].insert_many(rows, ordered=False)
        except BulkWriteError as e:
            errors = e.details.get("writeErrors", [])
            if any(err.get("code") != DUPLICATE_KEY for err in errors):
                self._release(rows)
                raise
            existed = {err["index"] for err in errors}
        except BaseException:
            self._release(rows)
            raise
        due: list[tuple[str, str]] = []
        for i, row in enumerate(rows):
            if "claim" in row and i not in existed:
                self.dispatcher.claimed(row)
                continue
            if "claim" in row:
                self.dispatcher.release(row["webhookId"])
            due.append((row["_id"], row["webhookId"]))  # a row that existed may be due again: the queue checks
        if due:
            self.dispatcher.hint(due)

    def _release(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if "claim" in row:
                self.dispatcher.release(row["webhookId"])
