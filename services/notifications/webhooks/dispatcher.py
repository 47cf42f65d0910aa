"""Delivers webhook rows: a bounded pool, a per-webhook in-flight limit, retries with jittered backoff.

A row is claimed by moving its `nextAt` past the longest a try can take (a lease: should this
process die mid-try, the row is due again after it) and counting the try; the outcome is written
only while the claim is still the row's (a redelivery meanwhile wins). A row whose webhook has a
free slot here when its event arrives is inserted already claimed by this process and tried at
once (`reserve`, `claimed`): its first try costs the store the insert and the outcome. A slot is
free again as soon as the receiver has answered: outcomes are written behind, those of tries
ending together in one bulk write, so a store slow to answer delays the delivery log, not the
deliveries (should a write fail, or the process die first, the row's lease brings it back and
the receiver gets it again: at least once). A receiver that never answers holds only its own
webhook's slots, each for at most `webhook_timeout_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import Counter, deque
from datetime import timedelta
from typing import Any

import httpx
from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.notifications.domain.backoff import backoff_s
from services.notifications.webhooks import rules
from services.notifications.webhooks.hooks import HookCache
from services.notifications.webhooks.signing import signed_headers
from services.notifications.webhooks.store import DEAD, DELIVERED, DELIVERIES, PENDING, without_query
from shared.errors import BadInput
from shared.ids import new_id
from shared.mongo import now
from shared.privacy import FieldCipher
from shared.records import until
from shared.settings import Settings

log = logging.getLogger("yiwang.webhooks")
USER_AGENT = "Yiwang-Webhooks/1"
MAX_HINTS = 10_000  # rows known due kept in memory; more wait for the poll
MAX_HINTS_PER_HOOK = 500
SWEEP_POLLS = 10  # every this many polls, every active webhook's due rows are read
MAX_CLIENTS = 256  # host names with a connection pool kept open
OUTCOMES_PER_WRITE = 200  # outcomes of tries written in one bulk write, at most


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
        self.reserved = 0  # slots promised to rows being inserted claimed (`reserve`)
        self.due_at: dict[str, float] = {}  # webhook id -> when (monotonic) the store may have rows due for it
        self._polls = 0
        self.outcomes = Outcomes(db)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="webhook-dispatcher")
        self.outcomes.start()

    def lease(self) -> timedelta:
        """How long a claim holds a row: a try's longest, and a margin."""
        return timedelta(seconds=self.settings.webhook_timeout_s + self.settings.webhook_lease_margin_s)

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
        await self.outcomes.stop()

    def kick(self) -> None:
        self._wake.set()

    # -- rows claimed as they are inserted ------------------------------------------------------
    def reserve(self, hook_id: str) -> bool:
        """A slot for a row about to be inserted claimed by this process, if the pool and the
        webhook have one free now; else the row is inserted due, for a hint or the poll."""
        s = self.settings
        if len(self.tasks) + self.reserved >= s.webhook_workers or self.busy[hook_id] >= s.webhook_in_flight:
            return False
        self.busy[hook_id] += 1
        self.reserved += 1
        return True

    def release(self, hook_id: str) -> None:
        """A reserved slot whose row was not inserted (it existed: the event came again)."""
        self.reserved -= 1
        self._free(hook_id)

    def claimed(self, row: dict[str, Any]) -> None:
        """Try a row this process inserted claimed, in the slot reserved for it."""
        self.reserved -= 1
        task = asyncio.create_task(self._try_claimed(row))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    async def _try_claimed(self, row: dict[str, Any]) -> None:
        if self.settings.fault == "webhook_crash_before_try":
            os._exit(137)  # fault test: the row is in the store, claimed by a process that is gone
        try:
            await self._try(row)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the row's lease brings it back
            log.exception("webhook delivery %s failed unexpectedly", row["_id"])
        finally:
            self._free(row["webhookId"])

    def _free(self, hook_id: str) -> None:
        self.busy[hook_id] -= 1
        if self.busy[hook_id] <= 0:
            del self.busy[hook_id]

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
            elif row_id not in self.hinted:
                self.due(hook_id)  # kept in the store only: a poll reads it when the webhook has room
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

    def due(self, hook_id: str, delay_s: float = 0.0) -> None:
        """The store may hold rows of this webhook due in `delay_s` that no queue here holds:
        the next poll after that reads them."""
        at = time.monotonic() + delay_s
        if at < self.due_at.get(hook_id, float("inf")):
            self.due_at[hook_id] = at

    async def _poll(self) -> None:
        """Rows due in the store, read per webhook with a free slot, oldest first: those queued
        while the webhook had no slot, retries whose time came, redeliveries (`due` says which
        webhooks have them) and, every `SWEEP_POLLS` polls for every active webhook, rows queued
        by another process or whose try was cut off (their lease ran out). A webhook whose
        receiver hangs holds all its slots and is not read meanwhile: its backlog costs the
        store nothing until it has room again."""
        self._polled_at = clock = time.monotonic()
        self._polls += 1
        limit = self.settings.webhook_in_flight
        hooks = list(self.due_at)
        if self._polls % SWEEP_POLLS == 1:
            hooks = list(dict.fromkeys([*hooks, *(await self.hooks.active_ids())]))
        at = now()
        for hook_id in hooks:
            free = limit - self.busy[hook_id] - len(self.hints.get(hook_id, ()))
            if free <= 0 or self.due_at.get(hook_id, clock) > clock:
                continue  # no room (it is read again when it has), or not due yet
            wanted = limit
            found = (
                await self.db[DELIVERIES]
                .find({"webhookId": hook_id, "status": PENDING, "nextAt": until(at)}, {"_id": 1})
                .sort("nextAt", 1)
                .limit(wanted)
                .to_list(wanted)
            )
            if len(found) < wanted:
                self.due_at.pop(hook_id, None)  # all read; `due` marks it again
            self.hint([(row["_id"], hook_id) for row in found])

    def _start(self) -> None:
        """Tries for hinted rows, round the webhooks, while the pool and each webhook have room."""
        limit = self.settings.webhook_in_flight
        while len(self.tasks) + self.reserved < self.settings.webhook_workers:
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
                if len(self.tasks) + self.reserved >= self.settings.webhook_workers:
                    return
            if not started:
                return

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        self.kick()  # a slot is free (and perhaps a webhook's)

    async def _claim_and_try(self, hook_id: str, row_id: str) -> None:
        """Claim the row by a conditional write (one another process claimed meanwhile is no
        longer due: skipped), then try it. Read by `_id` alone, then claimed on its `_id`, claim
        and count of tries: the store answers both from its primary key (a filter with the due
        time would ride the status index and read every due row)."""
        try:
            at = now()
            row = await self.db[DELIVERIES].find_one({"_id": row_id}, {"body": 0})
            if row is None or row["status"] != PENDING or row["nextAt"] > at:
                if row is not None and row["status"] == PENDING:
                    self.due(hook_id, (row["nextAt"] - at).total_seconds())
                return
            row = await self.db[DELIVERIES].find_one_and_update(
                {"_id": row_id, "claim": row.get("claim"), "attempts": row["attempts"]},
                {"$set": {"nextAt": at + self.lease(), "claim": new_id("c")}, "$inc": {"attempts": 1}},
                return_document=ReturnDocument.AFTER,
            )
            if row is not None:
                await self._try(row)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the row's lease brings it back
            log.exception("webhook delivery %s failed unexpectedly", row_id)
        finally:
            self._free(hook_id)

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
            self.due(row["webhookId"], delay)
        await self._settle(row, change)

    async def _settle(self, row: dict[str, Any], change: dict[str, Any]) -> None:
        change = {"lastAt": now(), **change}
        self.outcomes.add(UpdateOne({"_id": row["_id"], "claim": row["claim"]}, {"$set": change}))
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


class Outcomes:
    """The outcomes of tries, written behind them and in bulk: those that end while a write is on
    its way go in the next one (no waiting when the store keeps up: a lone outcome is written at
    once). One that fails is logged; its row's lease brings it back. Stopping writes what is
    queued, for at most `DRAIN_S`."""

    DRAIN_S = 5.0

    def __init__(self, db: AsyncDatabase):
        self.db = db
        self.queue: list[UpdateOne] = []
        self._more = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._writing = False
        self._stopped = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-outcomes")

    async def stop(self) -> None:
        self._stopped = True
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle(), self.DRAIN_S)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def idle(self) -> None:
        """Until everything queued so far is written (or failed)."""
        while self.queue or self._writing:
            await asyncio.sleep(0.01)

    def add(self, op: UpdateOne) -> None:
        if self._stopped:  # a try cut off by the stop: its lease brings the row back
            return
        self.queue.append(op)
        self._more.set()
        if self._task is None:  # not started (a dispatcher used without its loop): written now
            self._task = asyncio.create_task(self._run(), name="webhook-outcomes")

    async def _run(self) -> None:
        while True:
            await self._more.wait()
            self._more.clear()
            while self.queue:
                batch, self.queue = self.queue[:OUTCOMES_PER_WRITE], self.queue[OUTCOMES_PER_WRITE:]
                self._writing = True
                try:
                    await self.db[DELIVERIES].bulk_write(batch, ordered=False)
                except asyncio.CancelledError:
                    raise
                except BulkWriteError as e:
                    errors = e.details.get("writeErrors", [])
                    log.warning(
                        "%d of %d webhook outcomes not written (their leases bring them back): %s",
                        len(errors),
                        len(batch),
                        errors[0].get("errmsg", "") if errors else e,
                    )
                except Exception as e:  # noqa: BLE001 - the store may be away; the leases bring the rows back
                    log.warning(
                        "%d webhook outcomes not written (their leases bring them back): %s: %s",
                        len(batch),
                        type(e).__name__,
                        e,
                    )
                finally:
                    self._writing = False
