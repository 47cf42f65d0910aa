"""The active webhooks, kept in memory and re-read when older than a second (or changed here)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notifications.webhooks.store import WEBHOOKS

FRESH_S = 1.0  # a webhook registered or deactivated on another replica counts here within this


class HookCache:
    """Every event would otherwise read the webhooks once more; there are few of them (at most
    20 per owner) and they change seldom. A webhook registered here counts at once, one registered
    on another replica within `FRESH_S`; a delivery to a webhook deactivated meanwhile is refused
    when it is tried (`Dispatcher`)."""

    def __init__(self, db: AsyncDatabase, fresh_s: float = FRESH_S):
        self.db, self.fresh_s = db, fresh_s
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_type: dict[str, list[dict[str, Any]]] = {}
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._read_at = float("-inf")

    async def _fresh(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._read_at < self.fresh_s:
            return
        async with self._lock:
            began = time.monotonic()
            if not force and began - self._read_at < self.fresh_s:
                return  # another caller read them while this one waited
            docs = await self.db[WEBHOOKS].find({"active": True}).to_list(None)
            by_type: dict[str, list[dict[str, Any]]] = {}
            for d in docs:
                for t in d["eventTypes"]:
                    by_type.setdefault(t, []).append(d)
            self.by_id, self.by_type, self._read_at = {d["_id"]: d for d in docs}, by_type, began

    async def for_type(self, event_type: str) -> list[dict[str, Any]]:
        await self._fresh()
        return self.by_type.get(event_type, [])

    async def active_ids(self) -> list[str]:
        await self._fresh()
        return list(self.by_id)

    async def active(self, hook_id: str) -> dict[str, Any] | None:
        """The webhook, if active; read again at once when not known here (registered elsewhere)."""
        await self._fresh()
        if hook_id not in self.by_id:
            await self._fresh(force=True)
        return self.by_id.get(hook_id)
