"""MongoDB access for notifications: the inbox rows, preferences and outgoing SMS/WeChat messages."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

SERVICE = "notifications"
INDEXES = {
    # a recipient's inbox, newest first; `_id` starts with the event's time (sortable)
    "notifications": [
        IndexModel([("recipient", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("recipient", ASCENDING), ("read", ASCENDING), ("_id", DESCENDING)]),
    ],
    "preferences": [],
    # SMS/WeChat messages to send: the due ones, oldest first
    "outgoing": [IndexModel([("status", ASCENDING), ("due_at", ASCENDING)])],
}
