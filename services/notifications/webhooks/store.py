"""Webhook collections (`webhooks`, `webhookDeliveries`), their indexes and their DTOs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pymongo import ASCENDING, DESCENDING, IndexModel

WEBHOOKS = "webhooks"
DELIVERIES = "webhookDeliveries"

PENDING, DELIVERED, DEAD = "PENDING", "DELIVERED", "DEAD"

INDEXES: dict[str, list[IndexModel]] = {
    # an event's candidates: one equality on the multikey field, then the region rule in memory
    WEBHOOKS: [
        IndexModel([("eventTypes", ASCENDING), ("active", ASCENDING)]),
        IndexModel([("owner", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("path", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("dept", ASCENDING), ("_id", DESCENDING)]),
    ],
    DELIVERIES: [
        # a webhook's due rows, oldest first (the dispatcher reads them per webhook with room)
        IndexModel([("webhookId", ASCENDING), ("status", ASCENDING), ("nextAt", ASCENDING)]),
        IndexModel([("webhookId", ASCENDING), ("_id", DESCENDING)]),  # a webhook's delivery log
    ],
}


def without_query(url: str) -> str:
    """A URL for logs and audit events: a query string may carry a receiver's token."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def webhook_dto(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "url": doc["url"],
        "eventTypes": doc["eventTypes"],
        "regionId": doc["region"],
        "departmentKey": doc.get("dept"),
        "active": doc["active"],
        "createdAt": doc["createdAt"],
    }


def delivery_dto(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "webhookId": doc["webhookId"],
        "eventId": doc["eventId"],
        "eventType": doc["eventType"],
        "status": doc["status"],
        "attempts": doc["attempts"],
        "nextAt": doc["nextAt"] if doc["status"] == PENDING else None,
        "lastError": doc.get("lastError"),
        "responseStatus": doc.get("responseStatus"),
        "createdAt": doc["createdAt"],
        "deliveredAt": doc.get("deliveredAt"),
    }
