"""The outbox relay: publishes committed events to JetStream in order, marks each sent.

One relay per service is active at a time (a lease in MongoDB), so replicas do not race
to publish; `Nats-Msg-Id` = event id lets JetStream drop a republish after a crash between
publish and mark. The outbox is never emptied: it is the service's event log for replay.
"""

from __future__ import annotations

import asyncio
import logging

from nats.js import JetStreamContext
from pymongo.asynchronous.database import AsyncDatabase

from shared.jsonutil import dumps
from shared.loops import LeasedLoop
from shared.mongo import OUTBOX, now

log = logging.getLogger("yiwang.outbox")
BATCH = 256


class OutboxRelay(LeasedLoop):
    def __init__(self, db: AsyncDatabase, js: JetStreamContext, poll_s: float = 1.0, name: str = "relay"):
        super().__init__(db, name, self.publish_pending, poll_s)
        self.db, self.js = db, js

    async def publish_pending(self) -> bool:
        docs = await self.db[OUTBOX].find({"published": False}).sort("oid", 1).to_list(BATCH)
        if not docs:
            return False
        # Publishes are written to the connection in call order, so the stream keeps it. Each
        # event goes out on its subject, then on each department's (`also`), each copy with an id
        # of its own, so a republish after a crash is dropped as a duplicate too.
        sends = [
            (d, subject, msg_id)
            for d in docs
            for subject, msg_id in [(d["subject"], d["_id"]), *((s, f"{d['_id']}@{s}") for s in d.get("also") or ())]
        ]
        acks = await asyncio.gather(
            *(self.js.publish(subject, dumps(d["envelope"]), headers={"Nats-Msg-Id": i}) for d, subject, i in sends)
        )
        await self.db[OUTBOX].update_many(
            {"_id": {"$in": [d["_id"] for d in docs]}}, {"$set": {"published": True, "publishedAt": now()}}
        )
        for (d, subject, _), ack in zip(sends, acks, strict=True):
            if ack.duplicate and subject == d["subject"]:
                log.info("event %s was already in the stream", d["_id"])
        return len(docs) == BATCH
