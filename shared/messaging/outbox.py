"""The outbox relay: publishes committed events to JetStream in order, marks each sent.

One relay per service is active at a time (a lease in MongoDB), so replicas do not race
to publish; `Nats-Msg-Id` = event id lets JetStream drop a republish after a crash between
publish and mark. The outbox is never emptied: it is the service's event log for replay.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import timedelta

from nats.js import JetStreamContext
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.jsonutil import dumps
from shared.mongo import OUTBOX, now

log = logging.getLogger("yiwang.outbox")
LEASE_S = 10.0
BATCH = 256


class OutboxRelay:
    def __init__(self, db: AsyncDatabase, js: JetStreamContext, poll_s: float = 1.0,
                 name: str = "relay"):
        self.db, self.js, self.poll_s, self.name = db, js, poll_s, name
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._wake = asyncio.Event()
        self._stopped = False
        self._task: asyncio.Task | None = None

    def kick(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-{self.name}")

    async def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        if self._task:
            await self._task
        try:
            await self.db.leases.delete_one({"_id": self.name, "owner": self.owner})
        except PyMongoError:
            pass

    async def _run(self) -> None:
        while not self._stopped:
            try:
                if await self._hold_lease():
                    while await self.publish_pending() == BATCH:
                        pass
            except Exception:  # noqa: BLE001 - the relay must survive broker or db hiccups
                log.exception("outbox relay pass failed; retrying")
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                pass
            self._wake.clear()
        # Drain what committed before shutdown.
        try:
            if await self._hold_lease():
                await self.publish_pending()
        except Exception:  # noqa: BLE001
            log.warning("outbox relay could not drain on stop; the next relay will")

    async def _hold_lease(self) -> bool:
        t = now()
        try:
            doc = await self.db.leases.find_one_and_update(
                {"_id": self.name, "$or": [{"owner": self.owner}, {"until": {"$lt": t}}]},
                {"$set": {"owner": self.owner, "until": t + timedelta(seconds=LEASE_S)}},
                upsert=True, return_document=True)
        except DuplicateKeyError:
            return False  # another replica holds a live lease
        return doc is not None and doc.get("owner") == self.owner

    async def publish_pending(self) -> int:
        docs = await self.db[OUTBOX].find({"published": False}).sort("oid", 1).to_list(BATCH)
        if not docs:
            return 0
        # Publishes are written to the connection in call order, so the stream keeps it.
        acks = await asyncio.gather(*(
            self.js.publish(d["subject"], dumps(d["envelope"]), headers={"Nats-Msg-Id": d["_id"]})
            for d in docs))
        await self.db[OUTBOX].update_many(
            {"_id": {"$in": [d["_id"] for d in docs]}},
            {"$set": {"published": True, "publishedAt": now()}})
        for d, ack in zip(docs, acks, strict=True):
            if ack.duplicate:
                log.info("event %s was already in the stream", d["_id"])
        return len(docs)
