"""MongoDB access for notifications: the inbox rows, preferences and outgoing SMS/WeChat messages.

Reads go one recipient key at a time (a principal has one to three): each is a range of the
`(recipient, _id)` index, where a `$in` over the keys would scan the collection."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.notifications.domain.preferences import DEFAULT, Preferences, QuietHours
from shared.records import until

SERVICE = "notifications"
INBOX, PREFERENCES, OUTGOING = "notifications", "preferences", "outgoing"
PENDING, SENT, DEAD, NO_ADDRESS = "PENDING", "SENT", "DEAD", "NO_ADDRESS"
INDEXES = {
    # a recipient's inbox, newest first; `_id` starts with the event's time (sortable)
    INBOX: [
        IndexModel([("recipient", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("recipient", ASCENDING), ("read", ASCENDING), ("_id", DESCENDING)]),
    ],
    PREFERENCES: [],
    # SMS/WeChat messages to send: the due ones, oldest first
    OUTGOING: [IndexModel([("status", ASCENDING), ("due_at", ASCENDING)])],
}
READS_AT_ONCE = 16  # preference reads one event's recipients make concurrently


def dto(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the verbs answer it (the Notification DTO)."""
    return {
        "id": row["_id"],
        "type": row["type"],
        "title": row["title"],
        "body": row["body"],
        "at": row["at"],
        "read": bool(row.get("read")),
        "readAt": row.get("readAt"),
        "link": row.get("link"),
    }


def preferences_of(doc: dict[str, Any] | None) -> Preferences:
    if doc is None:
        return DEFAULT
    quiet = doc.get("quiet_hours")
    return Preferences(
        channels=doc.get("channels") or DEFAULT.channels,
        muted_types=tuple(doc.get("muted_types") or ()),
        quiet_hours=QuietHours(**quiet) if quiet else None,
    )


class NotificationStore:
    def __init__(self, db: AsyncDatabase):
        self.db = db
        self.inbox, self.prefs, self.outgoing = db[INBOX], db[PREFERENCES], db[OUTGOING]

    # -- inbox ----------------------------------------------------------------------------
    async def page(
        self, keys: list[str], unread_only: bool, first: int, after: str | None
    ) -> tuple[list[dict[str, Any]], int, bool]:
        """The newest `first` rows of these recipients below `after` (a row id), their total, and
        whether more follow."""

        def query(key: str) -> dict[str, Any]:
            q: dict[str, Any] = {"recipient": key}
            if unread_only:
                q["read"] = False
            return q

        async def one(key: str) -> list[dict[str, Any]]:
            q = query(key) | ({"_id": {"$lt": after}} if after else {})
            return await self.inbox.find(q).sort("_id", DESCENDING).limit(first + 1).to_list(None)

        pages = await asyncio.gather(*(one(k) for k in keys))
        counts = await asyncio.gather(*(self.inbox.count_documents(query(k)) for k in keys))
        rows = sorted((r for p in pages for r in p), key=lambda r: r["_id"], reverse=True)
        return rows[:first], sum(counts), len(rows) > first

    async def row(self, row_id: str) -> dict[str, Any] | None:
        return await self.inbox.find_one({"_id": row_id})

    async def mark_read(self, rows: list[tuple[str, str]], at: datetime) -> int:
        """Mark rows read, each (id, the caller's key it names): a row of another recipient is
        not matched. The count of rows that were unread."""
        if not rows:
            return 0
        ops = [
            UpdateOne({"_id": i, "recipient": k, "read": False}, {"$set": {"read": True, "readAt": at}})
            for i, k in rows
        ]
        result = await self.inbox.bulk_write(ops, ordered=False)
        return result.modified_count

    # -- preferences ------------------------------------------------------------------------
    async def preferences_doc(self, sub: str) -> dict[str, Any] | None:
        return await self.prefs.find_one({"_id": sub})

    async def preferences(self, subs: list[str]) -> dict[str, tuple[Preferences, str | None]]:
        """Each sub's preferences and sealed WeChat openid (absent: the defaults)."""
        gate = asyncio.Semaphore(READS_AT_ONCE)

        async def one(sub: str) -> tuple[str, dict[str, Any] | None]:
            async with gate:
                return sub, await self.prefs.find_one({"_id": sub})

        found = await asyncio.gather(*(one(s) for s in dict.fromkeys(subs)))
        return {s: (preferences_of(d), (d or {}).get("wechat_openid_enc")) for s, d in found}

    # -- outgoing SMS / WeChat --------------------------------------------------------------
    async def claim(self, now: datetime, lease_s: float) -> dict[str, Any] | None:
        """One due message, leased for `lease_s` (a sender that dies holding it leaves it due
        again after the lease: sent at least once)."""
        return await self.outgoing.find_one_and_update(
            {"status": PENDING, "due_at": until(now)},
            {"$set": {"due_at": now + timedelta(seconds=lease_s)}, "$inc": {"attempts": 1}},
            sort=[("status", ASCENDING), ("due_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def finish(self, row_id: str, status: str, at: datetime, error: str | None = None) -> None:
        fields: dict[str, Any] = {"status": status, "finished_at": at}
        if error is not None:
            fields["last_error"] = error
        await self.outgoing.update_one({"_id": row_id}, {"$set": fields})

    async def retry(self, row_id: str, due_at: datetime, error: str) -> None:
        await self.outgoing.update_one({"_id": row_id}, {"$set": {"due_at": due_at, "last_error": error}})

    async def defer(self, row_id: str, due_at: datetime) -> None:
        """Quiet hours began after it was queued: later, and this try does not count."""
        await self.outgoing.update_one({"_id": row_id}, {"$set": {"due_at": due_at}, "$inc": {"attempts": -1}})
