"""Background work that one replica of a service does at a time: a lease in MongoDB and a
loop that wakes on a kick or every `poll_s` seconds (the outbox relay, projectors, sweepers)."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.mongo import now

log = logging.getLogger("yiwang.loops")
LEASE_S = 10.0
Step = Callable[[], Awaitable[bool]]  # True when there is more to do right away


class Lease:
    def __init__(self, db: AsyncDatabase, name: str):
        self.db, self.name = db, name
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"

    async def hold(self) -> bool:
        """Take or renew the lease; False while another replica holds a live one."""
        t = now()
        try:
            doc = await self.db.leases.find_one_and_update(
                {"_id": self.name, "$or": [{"owner": self.owner}, {"until": {"$lt": t}}]},
                {"$set": {"owner": self.owner, "until": t + timedelta(seconds=LEASE_S)}},
                upsert=True, return_document=True)
        except DuplicateKeyError:
            return False
        return doc is not None and doc.get("owner") == self.owner

    async def release(self) -> None:
        try:
            await self.db.leases.delete_one({"_id": self.name, "owner": self.owner})
        except PyMongoError:
            pass


class LeasedLoop:
    def __init__(self, db: AsyncDatabase, name: str, step: Step, poll_s: float, drain_on_stop: bool = True):
        self.name, self.step, self.poll_s, self.drain_on_stop = name, step, poll_s, drain_on_stop
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
            except TimeoutError:
                pass
            self._wake.clear()
        if self.drain_on_stop:
            try:
                if await self.lease.hold():
                    await self.step()
            except Exception:  # noqa: BLE001
                log.warning("%s could not drain on stop; the next holder will", self.name)
