"""Background work that one replica of a service does at a time: a lease in MongoDB and a
loop that wakes on a kick or every `poll_s` seconds (the outbox relay, projectors, sweepers)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.mongo import now
from shared.records import until

log = logging.getLogger("yiwang.loops")
LEASE_S = 10.0
RENEW_AFTER_S = LEASE_S / 3  # a held lease is renewed in the store at most this often
Step = Callable[[], Awaitable[bool]]  # True when there is more to do right away


class Lease:
    def __init__(self, db: AsyncDatabase, name: str):
        self.db, self.name = db, name
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._renewed: float | None = None  # monotonic time of the last successful take or renewal

    async def hold(self) -> bool:
        """Take or renew the lease; False while another replica holds a live one. A lease
        renewed less than `RENEW_AFTER_S` ago is held without asking the store (it runs at
        least `LEASE_S - RENEW_AFTER_S` longer): a loop woken after every commit renewed it
        on every pass, a write per commit."""
        if self._renewed is not None and time.monotonic() - self._renewed < RENEW_AFTER_S:
            return True
        self._renewed = None
        started, t = time.monotonic(), now()
        try:
            doc = await self.db.leases.find_one_and_update(
                {"_id": self.name, "$or": [{"owner": self.owner}, {"until": until(t, inclusive=False)}]},
                {"$set": {"owner": self.owner, "until": t + timedelta(seconds=LEASE_S)}},
                upsert=True,
                return_document=True,
            )
        except DuplicateKeyError:
            return False
        held = doc is not None and doc.get("owner") == self.owner
        self._renewed = started if held else None
        return held

    async def release(self) -> None:
        self._renewed = None
        try:
            await self.db.leases.delete_one({"_id": self.name, "owner": self.owner})
        except PyMongoError:
            pass


class LeasedLoop:
    def __init__(
        self, db: AsyncDatabase, name: str, step: Step, poll_s: float, drain_on_stop: bool = True, settle_s: float = 0.0
    ):
        """`settle_s`: after a kick, wait this long before the pass, so the kicks of commits
        in the meantime share it (fewer, larger passes; the work trails by up to this much)."""
        self.name, self.step, self.poll_s, self.drain_on_stop = name, step, poll_s, drain_on_stop
        self.settle_s = settle_s
        self.lease = Lease(db, name)
        self._wake = asyncio.Event()
        self._stopped = False
        self._task: asyncio.Task | None = None

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._task:
            await self._task
        await self.lease.release()

    async def _run(self) -> None:
        while not self._stopped:
            try:
                if await self.lease.hold():
                    while await self.step() and not self._stopped:
                        pass
            except Exception:  # noqa: BLE001 - the loop must survive broker or database hiccups
                log.exception("%s: pass failed; retrying", self.name)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
                if self.settle_s and not self._stopped:
                    await asyncio.sleep(self.settle_s)
            except TimeoutError:
                pass
            self._wake.clear()
        if self.drain_on_stop:
            try:
                if await self.lease.hold():
                    await self.step()
            except Exception:  # noqa: BLE001
                log.warning("%s could not drain on stop; the next holder will", self.name)
