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
import time
from collections import Counter, deque
from datetime import timedelta
from typing import Any

import httpx
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from services.notifications.domain.backoff import backoff_s
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
MAX_HINTS = 10_000  # rows known due kept in memory; more wait for the poll
MAX_HINTS_PER_HOOK = 500
POLL_BATCH = 500  # rows a poll reads
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
        # rows known due, by webhook: those this process just queued, and those the poll found
        self.hints: dict[str, deque[str]] = {}
        self.hinted: set[str] = set()
        self._polled_at = float("-inf")
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
    def hint(self, rows: list[tuple[str, str]]) -> None:
        """(row id, webhook id) of rows due now, to try without waiting for the poll; past
        `MAX_HINTS` they wait for it (they are in the store either way)."""
        for row_id, hook_id in rows:
            queue = self.hints.setdefault(hook_id, deque())
            # a receiver that never answers piles up rows: they do not crowd the others' out
            if row_id not in self.hinted and len(self.hinted) < MAX_HINTS and len(queue) < MAX_HINTS_PER_HOOK:
                self.hinted.add(row_id)
                queue.append(row_id)
            if not queue:
                del self.hints[hook_id]
        self.kick()

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before the pass: a kick during it brings another at once
            try:
                if time.monotonic() - self._polled_at >= self.settings.webhook_poll_s:
                    await self._poll()
                self._start()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the store may be away for a while; try again
                log.exception("webhook dispatcher pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_s)

    async def _poll(self) -> None:
        """Rows due in the store: retries whose time came, rows queued by another process, rows
        whose try was cut off (their lease ran out), redeliveries."""
        self._polled_at = time.monotonic()
        full = [w for w, k in self.busy.items() if k >= self.settings.webhook_in_flight]
        query: dict[str, Any] = {"status": PENDING, "nextAt": {"$lte": now()}}
        if full:
            query["webhookId"] = {"$nin": full}
        found = await self.db[DELIVERIES].find(query, {"webhookId": 1}).sort("nextAt", 1).to_list(POLL_BATCH)
        self.hint([(row["_id"], row["webhookId"]) for row in found])

    def _start(self) -> None:
        """Tries for hinted rows, round the webhooks, while the pool and each webhook have room."""
        limit = self.settings.webhook_in_flight
        while len(self.tasks) < self.settings.webhook_workers:
            started = False
            for hook_id in list(self.hints):
                queue = self.hints[hook_id]
                if self.busy[hook_id] >= limit:
                    continue
                row_id = queue.popleft()
                if not queue:
                    del self.hints[hook_id]
                self.hinted.discard(row_id)
                self.busy[hook_id] += 1
                task = asyncio.create_task(self._claim_and_try(hook_id, row_id))
                self.tasks.add(task)
                task.add_done_callback(self._done)
                started = True
                if len(self.tasks) >= self.settings.webhook_workers:
                    return
            if not started:
                return

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        self.kick()  # a slot is free (and perhaps a webhook's)

    async def _claim_and_try(self, hook_id: str, row_id: str) -> None:
        """Claim the row by a conditional write (one another process claimed meanwhile is no
        longer due: skipped), then try it."""
        try:
            at = now()
            lease = timedelta(seconds=self.settings.webhook_timeout_s + LEASE_MARGIN_S)
            row = await self.db[DELIVERIES].find_one_and_update(
                {"_id": row_id, "status": PENDING, "nextAt": {"$lte": at}},
                {"$set": {"nextAt": at + lease, "claim": new_id("c")}, "$inc": {"attempts": 1}},
                return_document=ReturnDocument.AFTER,
            )
            if row is not None:
                await self._try(row)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the row's lease brings it back
            log.exception("webhook delivery %s failed unexpectedly", row_id)
        finally:
            self.busy[hook_id] -= 1
            if self.busy[hook_id] <= 0:
                del self.busy[hook_id]

    # -- one try ---------------------------------------------------------------------------
    async def _try(self, row: dict[str, Any]) -> None:
        hook = await self.hooks.active(row["webhookId"])
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

    async def _failed(self, row: dict[str, Any], e: Exception) -> None:
        status = getattr(e, "status", None)
        error = getattr(e, "message", None) or str(e) or type(e).__name__
        change: dict[str, Any] = {"lastError": error[:500], "responseStatus": status, "lastAt": now()}
        if row["attempts"] >= self.settings.webhook_max_attempts:
            change["status"] = DEAD
            log.warning("webhook delivery %s is DEAD after %d tries: %s", row["_id"], row["attempts"], error[:200])
        else:
            delay = backoff_s(
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
