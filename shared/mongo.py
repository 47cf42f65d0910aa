"""MongoDB: client factory, indexes declared in code, a unit of work over session + transaction."""
from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bson import ObjectId
from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from shared.messaging.envelope import CloudEvent
from shared.messaging.subjects import event_subject

T = TypeVar("T")
OUTBOX = "outbox"
PROJECTION_QUEUE = "projection_queue"
PROCESSED = "processed_events"


def make_client(uri: str, app_name: str) -> AsyncMongoClient:
    return AsyncMongoClient(uri, appname=app_name, tz_aware=True, serverSelectionTimeoutMS=10_000)


def now() -> datetime:
    return datetime.now(UTC)


# Indexes every service database has: the outbox (the service's event log) and consumer dedup.
KERNEL_INDEXES: dict[str, list[IndexModel]] = {
    OUTBOX: [IndexModel([("published", ASCENDING), ("oid", ASCENDING)]),
             IndexModel([("oid", ASCENDING)]),
             IndexModel([("aggregate", ASCENDING), ("oid", ASCENDING)])],
    PROJECTION_QUEUE: [IndexModel([("projection", ASCENDING), ("oid", ASCENDING)])],
    PROCESSED: [],
    "idempotency": [],
}


async def ensure_indexes(db: AsyncDatabase, spec: dict[str, list[IndexModel]]) -> None:
    for coll, models in {**KERNEL_INDEXES, **spec}.items():
        if models:
            await db[coll].create_indexes(models)


@dataclass
class UnitOfWork:
    """One transaction: state changes and the events they record are committed together."""

    db: AsyncDatabase
    session: AsyncClientSession
    projections: tuple[str, ...] = ()
    events: list[CloudEvent] = field(default_factory=list)

    def record(self, *events: CloudEvent) -> None:
        self.events.extend(events)

    def coll(self, name: str):
        return self.db[name]

    async def flush(self) -> None:
        if not self.events:
            return
        docs = [{
            "_id": e.id, "oid": ObjectId(), "subject": event_subject(e), "aggregate": e.subject,
            "type": e.type, "published": False, "envelope": e.model_dump(mode="json"),
        } for e in self.events]
        await self.db[OUTBOX].insert_many(docs, session=self.session, ordered=True)
        if self.projections:
            # A queue of its own per projection: the relay never writes to it, so the two
            # never conflict.
            await self.db[PROJECTION_QUEUE].insert_many([
                {"_id": f"{name}:{d['_id']}", "projection": name, "oid": d["oid"], "envelope": d["envelope"]}
                for d in docs for name in self.projections], session=self.session, ordered=False)


class Transactor:
    """Runs a function in a transaction (retried on transient conflicts) and wakes the relay."""

    def __init__(self, client: AsyncMongoClient, db: AsyncDatabase,
                 on_commit: Callable[[], None] = lambda: None, fault: str = ""):
        self.client, self.db, self.on_commit, self.fault = client, db, on_commit, fault
        self.projections: tuple[str, ...] = ()  # projectors every event of this service feeds

    async def __call__(self, fn: Callable[[UnitOfWork], Awaitable[T]], wake: bool = True) -> T:
        async with self.client.start_session() as session:
            async def body(s: AsyncClientSession) -> Any:
                uow = UnitOfWork(self.db, s, self.projections)
                result = await fn(uow)
                await uow.flush()
                return result

            result = await session.with_transaction(body)
        if self.fault == "crash_after_commit" and wake:
            os._exit(137)  # fault test: committed, never published by this process
        if wake:
            self.on_commit()
        return result


async def first_time(uow: UnitOfWork, consumer: str, event_id: str) -> bool:
    """Idempotent consumers: True once per (consumer, event), in the handler's transaction.

    A read before the insert: a failed insert would abort the whole transaction; two
    concurrent deliveries conflict on the insert and the retried one then reads the mark.
    """
    key = f"{consumer}:{event_id}"
    if await uow.db[PROCESSED].find_one({"_id": key}, session=uow.session):
        return False
    await uow.db[PROCESSED].insert_one({"_id": key, "at": now()}, session=uow.session)
    return True


IDEMPOTENCY = "idempotency"


async def remembered(db: AsyncDatabase, key: str) -> Any | None:
    """The result a command with this idempotency key returned the first time, if any."""
    doc = await db[IDEMPOTENCY].find_one({"_id": key})
    return None if doc is None else doc["result"]


async def recall(uow: UnitOfWork, key: str) -> Any | None:
    """Inside a transaction: the result stored under `key`, if a twin committed first."""
    doc = await uow.db[IDEMPOTENCY].find_one({"_id": key}, session=uow.session)
    return None if doc is None else doc["result"]


async def remember(uow: UnitOfWork, key: str, result: Any) -> None:
    """Store a command's result with its state change; a concurrent twin fails on the key."""
    await uow.db[IDEMPOTENCY].insert_one({"_id": key, "result": result, "at": now()}, session=uow.session)
