"""Delivers webhook rows: a bounded pool, a per-webhook in-flight limit, retries with jittered backoff.

A row is claimed by moving its `nextAt` past the longest a try can take (a lease: should this
process die mid-try, the row is due again after it) and counting the try; the outcome is written
only while the claim is still the row's (a redelivery meanwhile wins). A receiver that never
answers holds only its own webhook's slots, each for at most `webhook_timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from services.notifications.webhooks import rules
from services.notifications.webhooks.hooks import HookCache
from services.notifications.webhooks.signing import signed_headers
from services.notifications.webhooks.store import DEAD, DELIVERED, DELIVERIES, PENDING, without_query
from shared.errors import BadInput
from shared.ids import new_id
from shared.mongo import now
from shared.privacy import FieldCipher
from shared.settings import Settings

log = logging.getLogger("yiwang.webhooks")
USER_AGENT = "Yiwang-Webhooks/1"
MAX_CLIENTS = 256  # host names with a connection pool kept open
LEASE_MARGIN_S = 30.0  # past a try's own timeout, before another dispatcher may take the row


class DeliveryFailed(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class Dispatcher:
    def __init__(self, db: AsyncDatabase, cipher: FieldCipher, settings: Settings, hooks: HookCache | None = None):
        self.db, self.cipher, self.settings = db, cipher, settings
        self.hooks = hooks or HookCache(db)
        self.busy: Counter[str] = Counter()  # webhook id -> tries in flight here
        self.tasks: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task | None = None
        self._secrets: dict[str, str] = {}
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._closing: set[asyncio.Task] = set()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    def _client_for(self, host: str) -> httpx.AsyncClient:
        """One client (its own connection pool) per host name: requests go to a checked address,
        so a pool keyed by address would let one name's TLS connection carry another name's."""
        client = self._clients.pop(host, None)
        if client is None:
            s = self.settings
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(s.webhook_timeout_s),
                follow_redirects=False,  # a redirect could lead anywhere, a private address too
                trust_env=False,  # no proxy or netrc from the environment
                limits=httpx.Limits(max_connections=s.webhook_workers, max_keepalive_connections=4),
                headers={"User-Agent": USER_AGENT},
            )
            if len(self._clients) >= MAX_CLIENTS:  # the least recently used goes (its connections close)
                closing = asyncio.create_task(self._clients.pop(next(iter(self._clients))).aclose())
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
        self._clients[host] = client  # most recently used last
        return client

    async def stop(self) -> None:
        if self._loop_task:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.gather(*self._closing, *(c.aclose() for c in self._clients.values()), return_exceptions=True)
        self._clients.clear()

    def kick(self) -> None:
        self._wake.set()

    # -- the loop --------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before the pass: a kick during it brings another at once
            try:
                await self._fill()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the store may be away for a while; try again
                log.exception("webhook dispatcher pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_s)

    async def _fill(self) -> None:
        while (free := self.settings.webhook_workers - len(self.tasks)) > 0:
            rows = await self._claim(free)
            if not rows:
                return
            for row in rows:
                self.busy[row["webhookId"]] += 1
                task = asyncio.create_task(self._try(row))
                self.tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        self.kick()  # a slot is free (and perhaps a webhook's)

    async def _claim(self, n: int) -> list[dict[str, Any]]:
        """Up to `n` due rows, oldest first, no webhook past its in-flight limit: one read for the
        candidates, then each claimed at once by its own conditional write (a row another
        dispatcher claimed meanwhile is no longer due, and is skipped)."""
        at = now()
        limit = self.settings.webhook_in_flight
        full = [w for w, k in self.busy.items() if k >= limit]
        query: dict[str, Any] = {"status": PENDING, "nextAt": {"$lte": at}}
        if full:
            query["webhookId"] = {"$nin": full}
        found = await self.db[DELIVERIES].find(query, {"webhookId": 1}).sort("nextAt", 1).to_list(n * 2)
        taken: Counter[str] = Counter(self.busy)
        picked: list[str] = []
        for row in found:
            if taken[row["webhookId"]] < limit and len(picked) < n:
                taken[row["webhookId"]] += 1
                picked.append(row["_id"])
        lease = timedelta(seconds=self.settings.webhook_timeout_s + LEASE_MARGIN_S)
        claimed = await asyncio.gather(
            *(
                self.db[DELIVERIES].find_one_and_update(
                    {"_id": row_id, "status": PENDING, "nextAt": {"$lte": at}},
                    {"$set": {"nextAt": at + lease, "claim": new_id("c")}, "$inc": {"attempts": 1}},
                    return_document=ReturnDocument.AFTER,
                )
                for row_id in picked
            )
        )
        return [row for row in claimed if row is not None]

    # -- one try ---------------------------------------------------------------------------
    async def _try(self, row: dict[str, Any]) -> None:
        hook_id = row["webhookId"]
        try:
            hook = await self.hooks.active(hook_id)
            if hook is None:
                await self._settle(row, {"status": DEAD, "lastError": "the webhook is no longer active"})
                return
            try:
                status = await asyncio.wait_for(self._post(hook, row), self.settings.webhook_timeout_s + 1)
            except (DeliveryFailed, BadInput, httpx.HTTPError, OSError, TimeoutError) as e:
                await self._failed(row, e)
                return
            await self._settle(
                row, {"status": DELIVERED, "deliveredAt": now(), "responseStatus": status, "lastError": None}
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the row's lease brings it back
            log.exception("webhook delivery %s failed unexpectedly", row["_id"])
        finally:
            self.busy[hook_id] -= 1
            if self.busy[hook_id] <= 0:
                del self.busy[hook_id]

    async def _failed(self, row: dict[str, Any], e: Exception) -> None:
        status = getattr(e, "status", None)
        error = getattr(e, "message", None) or str(e) or type(e).__name__
        change: dict[str, Any] = {"lastError": error[:500], "responseStatus": status, "lastAt": now()}
        if row["attempts"] >= self.settings.webhook_max_attempts:
            change["status"] = DEAD
            log.warning("webhook delivery %s is DEAD after %d tries: %s", row["_id"], row["attempts"], error[:200])
        else:
            delay = rules.backoff_s(
                row["attempts"], self.settings.webhook_backoff_base_s, self.settings.webhook_backoff_cap_s
            )
            change["nextAt"] = now() + timedelta(seconds=delay)
        await self._settle(row, change)

    async def _settle(self, row: dict[str, Any], change: dict[str, Any]) -> None:
        change = {"lastAt": now(), **change}
        await self.db[DELIVERIES].update_one({"_id": row["_id"], "claim": row["claim"]}, {"$set": change})
        if change.get("status") in (DELIVERED, DEAD):
            self.kick()

    def _secret(self, hook: dict[str, Any]) -> str:
        secret = self._secrets.get(hook["_id"])
        if secret is None:
            secret = self.cipher.decrypt(hook["secret_enc"]) or ""
            self._secrets[hook["_id"]] = secret
        return secret

    async def _post(self, hook: dict[str, Any], row: dict[str, Any]) -> int:
        url = httpx.URL(hook["url"])
        pinned, extensions = await self._pinned(url)
        body = row["body"].encode()
        headers = signed_headers(self._secret(hook), body, row["_id"])
        headers["Host"] = url.netloc.decode("ascii")
        client = self._client_for(url.host)
        async with client.stream("POST", pinned, content=body, headers=headers, extensions=extensions) as r:
            if 200 <= r.status_code < 300:
                return r.status_code
            raise DeliveryFailed(f"the receiver answered {r.status_code}", r.status_code)

    async def _pinned(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, Any]]:
        """The URL with its host replaced by an address it resolves to now, each address checked
        (a name that resolved to a public address at registration may point inside later); the
        request goes to the checked address, TLS still verifies the name."""
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as e:
            raise DeliveryFailed(f"{without_query(str(url))}: the host does not resolve ({e})") from e
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise DeliveryFailed(f"{host}: the host has no address")
        rules.check_addresses(addresses, allow_private=self.settings.webhooks_private_allowed)
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        return url.copy_with(host=addresses[0]), extensions
