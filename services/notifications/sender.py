"""Sends the outgoing SMS/WeChat messages: at least once, the row id as the provider's
idempotency key, after the person's quiet hours, with backoff and a bounded number of tries.

A message is claimed by pushing its due time past a lease; a sender that dies holding it leaves
it due again when the lease ends, and the next try carries the same idempotency key. The address
(a phone from the owning service, an openid from the sealed preference) is fetched for each try
and held only for the call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.notifications.domain import preferences as prefs
from services.notifications.domain.backoff import backoff_s
from services.notifications.handlers.deliver import Deliverer
from services.notifications.providers import Provider, SendFailed
from services.notifications.store import DEAD, NO_ADDRESS, SENT, NotificationStore, preferences_of
from shared.mongo import now
from shared.privacy import FieldCipher

log = logging.getLogger("yiwang.notifications.sender")
WORKERS = 4  # messages in flight at once per replica
CANCELLED = "CANCELLED"  # the person turned the channel off before it was sent


RETRY_BASE_S, RETRY_CAP_S = 2.0, 900.0  # a message's retries: full jitter up to 2·2^(tries-1) s, 15 min at most


class Sender:
    def __init__(
        self,
        store: NotificationStore,
        deliverer: Deliverer,
        cipher: FieldCipher,
        providers: dict[str, Provider],
        tz: ZoneInfo,
        poll_s: float,
        max_attempts: int,
        lease_s: float,
    ):
        self.store, self.deliverer, self.cipher, self.providers, self.tz = store, deliverer, cipher, providers, tz
        self.poll_s, self.max_attempts, self.lease_s = poll_s, max_attempts, lease_s
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(), name=f"notifications-sender-{i}") for i in range(WORKERS)]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        for p in self.providers.values():
            await p.close()

    async def _run(self) -> None:
        while True:
            try:
                while await self.pass_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the store away: try again next round
                log.warning("sending SMS/WeChat messages failed: %s", type(e).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()

    async def pass_once(self) -> bool:
        """Send one due message; False when none is due."""
        row = await self.store.claim(now(), self.lease_s)
        if row is None:
            return False
        await self.send(row)
        return True

    async def send(self, row: dict[str, Any]) -> None:
        rid, channel = row["_id"], row["channel"]
        doc = await self.store.preferences_doc(row["sub"]) if row.get("sub") else None
        p = preferences_of(doc)
        at = now()
        if not p.wants(channel):
            await self.store.finish(rid, CANCELLED, at)
            return
        if (until := prefs.quiet_until(at, p.quiet_hours, self.tz)) is not None:
            await self.store.defer(rid, until)
            return
        try:
            address = await self.address(row, doc)
            if address is None:
                await self.store.finish(rid, NO_ADDRESS, at)
                return
            await self.providers[channel].send(address, row["template"], row["params"], rid)
        except SendFailed as e:
            await self.failed(row, str(e), permanent=e.permanent)
            return
        except Exception as e:  # noqa: BLE001 - the owning service away, a bad key: retried, named by type only
            await self.failed(row, type(e).__name__, permanent=False)
            return
        await self.store.finish(rid, SENT, now())

    async def failed(self, row: dict[str, Any], error: str, permanent: bool) -> None:
        if permanent or row["attempts"] >= self.max_attempts:
            about = (row.get("source") or {}).get("id")
            log.warning(
                "%s %s about %s given up after %d tries: %s",
                row["channel"],
                row["template"],
                about,
                row["attempts"],
                error,
            )
            await self.store.finish(row["_id"], DEAD, now(), error)
        else:
            delay = backoff_s(row["attempts"], RETRY_BASE_S, RETRY_CAP_S)
            await self.store.retry(row["_id"], now() + timedelta(seconds=delay), error)

    async def address(self, row: dict[str, Any], doc: dict[str, Any] | None) -> str | None:
        """The phone or openid, for this call only."""
        if row["channel"] == prefs.WECHAT:
            sealed = (doc or {}).get("wechat_openid_enc")
            return self.cipher.decrypt(sealed) if sealed else None
        source = row.get("source") or {}
        if source.get("service") != "cases" or not row.get("sub"):
            return None
        reply = await self.deliverer.audience("cases", source["id"], phones=True)
        phones = (reply or {}).get("reporterPhones") or {}
        phone = phones.get(row["sub"])
        return str(phone) if phone else None
