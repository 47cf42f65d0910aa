"""MongoDB: client factory, indexes declared in code, a unit of work over session + transaction."""
from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bson import ObjectId
from pymongo import ASCENDING, AsyncMongoClient, IndexModel, InsertOne, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ClientBulkWriteException, DuplicateKeyError, OperationFailure, PyMongoError

from shared.messaging.envelope import CloudEvent
from shared.messaging.subjects import event_subject

T = TypeVar("T")
OUTBOX = "outbox"
PROJECTION_QUEUE = "projection_queue"
PROCESSED = "processed_events"


def make_client(uri: str, app_name: str) -> AsyncMongoClient:
    return AsyncMongoClient(uri, appname=app_name, tz_aware=True, serverSelectionTimeoutMS=10_000)


CLIENT_BULK_WIRE = 25  # MongoDB 8.0: the client-level `bulkWrite` every transaction's writes go in


async def require_mongo_8(client: AsyncMongoClient) -> None:
    """Refuse to start on a server without client-level `bulkWrite`, with the reason, rather
    than fail on the first write."""
    hello = await client.admin.command("hello")
    if hello.get("maxWireVersion", 0) < CLIENT_BULK_WIRE:
        raise RuntimeError("MongoDB 8.0 or later is needed (a transaction's writes go in one client-level "
                           f"bulkWrite); this server speaks wire version {hello.get('maxWireVersion')}")


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
class _Write:
    model: InsertOne | ReplaceOne
    on_miss: Exception | None = None  # a replace that must match one document, or this is raised


@dataclass
class UnitOfWork:
    """One transaction: state changes and the events they record are committed together.

    Writes given to `insert` and `replace` wait for `flush`, which sends them, the outbox
    entries and the projection queue in one client-level `bulkWrite` (MongoDB 8.0+): one round
    trip for a command's writes instead of one per collection. (Under load every round trip
    waits its turn at the server: a report's transaction was ten of them.) Reads in `work`
    therefore do not see these writes; a function that reads what it wrote writes directly
    with `session=uow.session` instead."""

    db: AsyncDatabase
    session: AsyncClientSession
    projections: tuple[str, ...] = ()
    events: list[CloudEvent] = field(default_factory=list)
    writes: list[_Write] = field(default_factory=list)

    def record(self, *events: CloudEvent) -> None:
        self.events.extend(events)

    def coll(self, name: str):
        return self.db[name]

    def insert(self, coll: str, doc: dict[str, Any]) -> None:
        """Insert at flush; a duplicate `_id` raises `DuplicateKeyError` from the transaction."""
        self.writes.append(_Write(InsertOne(doc, namespace=f"{self.db.name}.{coll}")))

    def replace(self, coll: str, query: dict[str, Any], doc: dict[str, Any], on_miss: Exception) -> None:
        """Replace the one document matching `query` at flush; `on_miss` is raised (and the
        transaction aborted) when none matches, as for an optimistic version check."""
        self.writes.append(_Write(ReplaceOne(query, doc, namespace=f"{self.db.name}.{coll}"), on_miss))

    async def flush(self) -> None:
        docs = [{
            "_id": e.id, "oid": ObjectId(), "subject": event_subject(e), "aggregate": e.subject,
            "type": e.type, "published": False, "envelope": e.model_dump(mode="json"),
        } for e in self.events]
        # A queue of its own per projection: the relay never writes to it, so the two never conflict.
        queued = [{"_id": f"{name}:{d['_id']}", "projection": name, "oid": d["oid"], "envelope": d["envelope"]}
                  for d in docs for name in (self.projections if docs else ())]
        models = [w.model for w in self.writes] + [
            InsertOne(d, namespace=f"{self.db.name}.{OUTBOX}") for d in docs] + [
            InsertOne(q, namespace=f"{self.db.name}.{PROJECTION_QUEUE}") for q in queued]
        writes, self.writes, self.events = self.writes, [], []  # sent once, however often flushed
        if not models:
            return
        checked = [i for i, w in enumerate(writes) if w.on_miss is not None]
        try:
            result = await self.session.client.bulk_write(models, session=self.session, ordered=True,
                                                          verbose_results=bool(checked))
        except ClientBulkWriteException as e:
            raise _unwrapped(e) from e
        for i in checked:
            if result.update_results[i].matched_count != 1:
                raise writes[i].on_miss  # type: ignore[misc]


def _unwrapped(e: ClientBulkWriteException) -> PyMongoError:
    """The error a single-collection write would have raised: a server error keeps its labels
    (a write conflict is a TransientTransactionError that `with_transaction` retries), and a
    duplicate key is a `DuplicateKeyError`, as callers that rely on a unique `_id` expect."""
    if isinstance(e.error, PyMongoError):
        return e.error
    for w in e.write_errors or []:
        code = w.get("code")
        if code == 11000:
            return DuplicateKeyError(w.get("errmsg", "duplicate key"), code, w)
        return OperationFailure(w.get("errmsg", "write failed"), code, w)
    return e


class Transactor:
    """Runs a function in a transaction (retried on transient conflicts) and wakes the relay."""

    def __init__(self, client: AsyncMongoClient, db: AsyncDatabase,
                 on_commit: Callable[[], None] = lambda: None, fault: str = ""):
        self.client, self.db, self.on_commit, self.fault = client, db, on_commit, fault
        self.projections: tuple[str, ...] = ()  # projectors every event of this service feeds

    async def __call__(self, fn: Callable[[UnitOfWork], Awaitable[T]], wake: bool = True) -> T:
        # No causal consistency: a session per transaction, so it has nothing to order, and the
        # embedded store refuses the `readConcern` it would add to a transaction that begins
        # with its `bulkWrite`.
        async with self.client.start_session(causal_consistency=False) as session:
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
    """Store a command's result with its state change; a concurrent twin fails on the key
    (a `DuplicateKeyError` out of the transaction, written with the command's other writes)."""
    uow.insert(IDEMPOTENCY, {"_id": key, "result": result, "at": now()})
