"""MongoDB: client factory, indexes declared in code, a unit of work over session + transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pymongo
from bson import Binary, ObjectId
from pymongo import ASCENDING, AsyncMongoClient, IndexModel, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    ClientBulkWriteException,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)
from pymongo.uri_parser import parse_uri

from shared.errors import Unavailable
from shared.messaging.envelope import CloudEvent
from shared.messaging.subjects import dept_subjects, event_subject
from shared.paging import KEY, backfill_keys, paged_index

T = TypeVar("T")
OUTBOX = "outbox"
PROJECTION_QUEUE = "projection_queue"
PROCESSED = "processed_events"
SESSIONS = "sessions"
log = logging.getLogger("yiwang.mongo")


def write_concern_of(uri: str) -> dict[str, Any]:
    """The write concern every client of the platform uses: acknowledged once a majority of
    the replica set has the write in its journal (`w: majority, j: true`; on the one-node
    embedded store, once it is in its fsynced log). A URI may ask for more (`w=3`), never
    for less: `w=0`, `w=1` or `journal=false` is refused with the reason."""
    options = parse_uri(uri)["options"]
    w = options.get("w", "majority")
    if w in (0, 1) or options.get("journal") is False:
        raise ValueError(
            "the MongoDB URL asks for a write concern weaker than w=majority, journal=true "
            f"(w={w!r}, journal={options.get('journal')!r}): a write would be acknowledged "
            "before it is safe. Remove w= and journal= from it."
        )
    return {"w": w, "journal": True}


def make_client(uri: str, app_name: str) -> AsyncMongoClient:
    return AsyncMongoClient(
        uri, appname=app_name, tz_aware=True, serverSelectionTimeoutMS=10_000, **write_concern_of(uri)
    )


CLIENT_BULK_WIRE = 25  # MongoDB 8.0: the client-level `bulkWrite` every transaction's writes go in


async def require_mongo_8(client: AsyncMongoClient) -> None:
    """Refuse to start on a server without client-level `bulkWrite`, with the reason, rather
    than fail on the first write."""
    hello = await client.admin.command("hello")
    if hello.get("maxWireVersion", 0) < CLIENT_BULK_WIRE:
        raise RuntimeError(
            "MongoDB 8.0 or later is needed (a transaction's writes go in one client-level "
            f"bulkWrite); this server speaks wire version {hello.get('maxWireVersion')}"
        )


def now() -> datetime:
    return datetime.now(UTC)


# Indexes every service database has: the outbox (the service's event log) and consumer dedup.
KERNEL_INDEXES: dict[str, list[IndexModel]] = {
    OUTBOX: [
        IndexModel([("published", ASCENDING), ("oid", ASCENDING)]),
        IndexModel([("oid", ASCENDING)]),
        IndexModel([("aggregate", ASCENDING), ("oid", ASCENDING)]),
    ],
    PROJECTION_QUEUE: [IndexModel([("projection", ASCENDING), ("oid", ASCENDING)])],
    PROCESSED: [],
    "idempotency": [],
}


async def ensure_indexes(db: AsyncDatabase, spec: dict[str, list[IndexModel]]) -> None:
    """The collections' indexes; a collection with a paged index (shared.paging) also gets the
    page key's own, which pages a list with no equality at all (an unrestricted caller's), and
    its records stored before page keys get theirs (once)."""
    for coll, models in {**KERNEL_INDEXES, **spec}.items():
        paged = any(list(m.document["key"])[-1] == KEY for m in models)
        if paged:
            models = [*models, paged_index()]
        if models:
            await db[coll].create_indexes(models)
        if paged:
            await backfill_keys(db[coll])


@dataclass
class _Write:
    model: InsertOne | ReplaceOne | UpdateOne | UpdateMany
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

    def update(
        self, coll: str, query: dict[str, Any], update: dict[str, Any], *, upsert: bool = False, many: bool = False
    ) -> None:
        """Update the documents matching `query` at flush (one, or every one with `many`):
        counters, a record's state, whatever the work need not read back."""
        model = UpdateMany if many else UpdateOne
        self.writes.append(_Write(model(query, update, upsert=upsert, namespace=f"{self.db.name}.{coll}")))

    async def flush(self) -> None:
        docs = [
            {
                "_id": e.id,
                "oid": ObjectId(),
                "subject": event_subject(e),
                **({"also": also} if (also := dept_subjects(e)) else {}),
                "aggregate": e.subject,
                "type": e.type,
                "published": False,
                "envelope": e.model_dump(mode="json"),
            }
            for e in self.events
        ]
        # A queue of its own per projection: the relay never writes to it, so the two never conflict.
        queued = [
            {"_id": f"{name}:{d['_id']}", "projection": name, "oid": d["oid"], "envelope": d["envelope"]}
            for d in docs
            for name in (self.projections if docs else ())
        ]
        models = (
            [w.model for w in self.writes]
            + [InsertOne(d, namespace=f"{self.db.name}.{OUTBOX}") for d in docs]
            + [InsertOne(q, namespace=f"{self.db.name}.{PROJECTION_QUEUE}") for q in queued]
        )
        writes, self.writes, self.events = self.writes, [], []  # sent once, however often flushed
        if not models:
            return
        checked = [i for i, w in enumerate(writes) if w.on_miss is not None]
        try:
            result = await self.session.client.bulk_write(
                models, session=self.session, ordered=True, verbose_results=bool(checked)
            )
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
    # The raw error documents: pymongo 4.20 annotates `write_errors` as `WriteError`s, but the
    # list holds the server's documents (client_bulk.py appends them as they come).
    for w in e.details.get("writeErrors") or []:
        code = w.get("code")
        if code == 11000:
            return DuplicateKeyError(w.get("errmsg", "duplicate key"), code, w)
        return OperationFailure(w.get("errmsg", "write failed"), code, w)
    return e


# The store could not be reached, or did not answer within the transaction's time.
UNREACHABLE = (ConnectionFailure, ExecutionTimeout, WTimeoutError)


class Transactor:
    """Runs a function in a transaction (retried on transient conflicts) and wakes the relay.

    Each transaction has `timeout_s` in all: waiting for a session, every command, the retries
    of `with_transaction` and the commit (PyMongo's client-side operation timeout; without it
    those retries go on for 120 s and a commit waits for as long as the server takes). One
    that runs out of time, or loses the store, ends with `Unavailable` (a retry with the same
    idempotency key returns the first result if the commit did land). So does one whose commit
    failed and would have to run again: the store cannot tell a commit it never saw from one it
    made before a restart, so the work is never run a second time after its commit was sent.

    With a `ledger` (a service's), transactions run on the ledger's sessions, recorded in the
    store so that whoever outlives this process can end what it left open; a session whose
    transaction was cut off is ended in the background and replaced (`SessionLedger`)."""

    def __init__(
        self,
        client: AsyncMongoClient,
        db: AsyncDatabase,
        on_commit: Callable[[], None] = lambda: None,
        fault: str = "",
        timeout_s: float | None = None,
        ledger: SessionLedger | None = None,
    ):
        self.client, self.db, self.on_commit, self.fault = client, db, on_commit, fault
        self.timeout_s, self.ledger = timeout_s, ledger
        self.projections: tuple[str, ...] = ()  # projectors every event of this service feeds

    async def __call__(
        self, fn: Callable[[UnitOfWork], Awaitable[T]], wake: bool = True, timeout_s: float | None = None
    ) -> T:
        committing = False

        async def body(s: AsyncClientSession) -> Any:
            nonlocal committing
            if committing:
                # `with_transaction` runs the work again only when the commit failed with a
                # transient error. The store answers so for a transaction it does not know,
                # which is also what it says after a restart to the retried commit of one it
                # had committed and whose answer was lost: the first commit may have landed,
                # and the work run again would apply the change twice (or refuse it as done).
                log.warning(
                    "a commit on %s failed after it was sent; its outcome is unknown, answered UNAVAILABLE",
                    self.db.name,
                )
                raise Unavailable(
                    "the database restarted while committing and cannot say whether the change was saved; "
                    "send it again with the same idempotency key, or read the record",
                    {"reason": "CommitOutcomeUnknown"},
                )
            uow = UnitOfWork(self.db, s, self.projections)
            result = await fn(uow)
            await uow.flush()
            if self.fault == "crash_before_commit" and wake:
                os._exit(137)  # fault test: written, never committed, left open on the server
            committing = True
            return result

        timeout = timeout_s or self.timeout_s
        try:
            if self.ledger is None:
                # No causal consistency: a session per transaction has nothing to order, and the
                # embedded store refuses the `readConcern` it would add to a transaction that
                # begins with its `bulkWrite`.
                async with self.client.start_session(causal_consistency=False) as session:
                    with pymongo.timeout(timeout):
                        result = await session.with_transaction(body)
            else:
                deadline = None if timeout is None else time.monotonic() + timeout
                async with self.ledger.session(deadline) as session:
                    with pymongo.timeout(None if deadline is None else max(deadline - time.monotonic(), 0.001)):
                        result = await session.with_transaction(body)
        except UNREACHABLE as e:
            log.warning("transaction on %s cut off (%s: %s); answered UNAVAILABLE", self.db.name, type(e).__name__, e)
            raise Unavailable(
                "the database did not complete the transaction in time; try again", {"reason": type(e).__name__}
            ) from e
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


async def kill_sessions(client: AsyncMongoClient, lsids: list[Any], timeout_s: float = 2.0) -> bool:
    """End these logical sessions on the server, aborting any transaction they left open
    (`killSessions`: MongoDB and the embedded store both; on MongoDB a user may kill its own
    sessions without further privileges). False when the server could not be told."""
    if not lsids:
        return True
    try:
        with pymongo.timeout(timeout_s):
            await client.admin.command("killSessions", list(lsids))
        return True
    except PyMongoError as e:
        # The server is down (its transactions died with it) or cut off from us (the
        # ledger's next beat tries again).
        log.info("could not end %d abandoned session(s) now: %s", len(lsids), e)
        return False


_LIVE_LEDGERS: set[str] = set()  # ledgers of this process that are running (tests run several)


class SessionLedger:
    """The logical sessions this process runs its transactions on, recorded in its database
    with a heartbeat, and the sweep that ends those of a process that is gone.

    A transaction a killed process left open holds the documents it wrote until the server
    gives up on it (`transactionLifetimeLimitSeconds`, 60 s on MongoDB and on the embedded
    store): every other transaction that touches one of them (a retry with the same
    idempotency key, the city's rollups) conflicts and waits, and a long one pins the storage
    engine's history. So a process runs its transactions on `size` sessions of its own,
    recorded before it serves (one write), and renews that record every `beat_s`. A process
    that finds another's record dead ends that one's sessions (`killSessions`, which aborts
    their transactions) and removes the record: at its start, before it serves (its
    predecessor, when it died on this host), and then at every beat. Dead means: on this host,
    its pid is gone (or is this process's own, under another record: a container restarted as
    pid 1); elsewhere, its record has not been renewed for `expire_s`.

    A transaction cut off (timed out, connection lost) may still be open on the server: its
    session is set aside, ended by the next beat that reaches the server, and replaced by a
    new one (recorded first). The sessions also bound how many transactions this process runs
    at once; one more waits for a free session, within its transaction's time.

    `writable_age()` is how long ago this process's last write to its database succeeded: a
    service whose heartbeat cannot be written cannot write anything, and says so when pinged.
    """

    def __init__(self, db: AsyncDatabase, size: int = 32, beat_s: float = 1.0, expire_s: float = 5.0):
        self.db, self.size, self.beat_s, self.expire_s = db, size, beat_s, expire_s
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.id = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:12]}"
        self._known: set[bytes] = set()  # every session this process has recorded
        self._idle: asyncio.Queue[AsyncClientSession | None] = asyncio.Queue()  # None: a slot to refill
        self._last_write: float | None = None
        self._writing = asyncio.Lock()  # the record is written whole, one write at a time
        self._task: asyncio.Task | None = None
        self.swept = 0  # sessions of dead processes this ledger ended
        self.abandoned: list[Any] = []  # this process's sessions to end (a transaction cut off)

    @property
    def coll(self):
        return self.db[SESSIONS]

    async def start(self) -> None:
        _LIVE_LEDGERS.add(self.id)
        await self.sweep()
        fresh = [self._new_session() for _ in range(self.size)]
        await self._write({bytes(s.session_id["id"]) for s in fresh})
        for s in fresh:
            self._idle.put_nowait(s)
        self._task = asyncio.create_task(self._run(), name=f"ledger-{self.db.name}")

    async def stop(self) -> None:
        _LIVE_LEDGERS.discard(self.id)
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._idle.empty():
            if (s := self._idle.get_nowait()) is not None:
                await s.end_session()  # back to the client, which ends it on the server at close
        with contextlib.suppress(PyMongoError):
            with pymongo.timeout(5):
                await self.coll.delete_one({"_id": self.id})

    def _new_session(self) -> AsyncClientSession:
        # No causal consistency: a transaction has nothing to order after another one, and the
        # embedded store refuses the `readConcern` it would add to one that begins with its
        # `bulkWrite`.
        return self.db.client.start_session(causal_consistency=False)

    @contextlib.asynccontextmanager
    async def session(self, deadline: float | None) -> AsyncIterator[AsyncClientSession]:
        """A recorded session for one transaction, waited for until `deadline` (monotonic)."""
        try:
            s = await asyncio.wait_for(
                self._idle.get(), None if deadline is None else max(deadline - time.monotonic(), 0.001)
            )
        except TimeoutError:
            raise ExecutionTimeout("no session came free for the transaction in time") from None
        try:
            if s is None:  # a slot whose session was cut off: a new one, recorded before use
                fresh = self._new_session()
                with pymongo.timeout(None if deadline is None else max(deadline - time.monotonic(), 0.001)):
                    await self._write({bytes(fresh.session_id["id"])})
                s = fresh
        except BaseException:
            self._idle.put_nowait(None)
            raise
        clean = False
        try:
            yield s
            clean = True
        except UNREACHABLE:
            raise
        except Exception:  # the transaction was aborted (a refusal, a conflict): clean
            clean = not s.in_transaction
            raise
        finally:
            if clean:
                self._idle.put_nowait(s)
            else:  # cut off: may still be open on the server
                self.abandoned.append(s.session_id)
                with contextlib.suppress(Exception):
                    await s.end_session()
                self._idle.put_nowait(None)

    def writable_age(self) -> float | None:
        """Seconds since this process last wrote to its database, None before it ever did."""
        return None if self._last_write is None else time.monotonic() - self._last_write

    async def beat(self) -> None:
        await self._write(set())

    async def _write(self, new: set[bytes]) -> None:
        """Renew the record with every session known, so that one swept while this process was
        alive (stalled past `expire_s`) comes back whole. Only this process writes its record,
        so the list is set whole (`$addToSet` of the same list cost the store 4.7 ms a beat
        against 1.4 ms, in every process, every second), one write at a time: a beat begun
        before a new session was recorded must not land after it without it."""
        async with self._writing:
            at = now()
            lsids = [{"id": Binary(raw, 4)} for raw in sorted(self._known | new)]
            fields = {"host": self.host, "pid": self.pid, "beat": at, "until": at + timedelta(seconds=self.expire_s)}
            update: dict[str, Any] = {
                "$set": {**fields, **({"lsids": lsids} if lsids else {})},
                "$setOnInsert": {"started": at},
            }
            with pymongo.timeout(max(self.expire_s, 2.0)):
                await self.coll.update_one({"_id": self.id}, update, upsert=True)
            self._known |= new
            self._last_write = time.monotonic()

    def _dead(self, doc: dict[str, Any]) -> bool:
        if doc["_id"] in _LIVE_LEDGERS:
            return False
        if doc.get("host") == self.host:
            return doc.get("pid") == self.pid or not _pid_alive(doc.get("pid"))
        return doc.get("until") is not None and doc["until"] < now()

    async def sweep(self) -> int:
        """End the sessions of every dead process recorded here; returns how many."""
        ended = 0
        async for doc in self.coll.find({"_id": {"$ne": self.id}}):
            if not self._dead(doc):
                continue
            if await kill_sessions(self.db.client, doc.get("lsids", [])):
                await self.coll.delete_one({"_id": doc["_id"], "beat": doc.get("beat")})
                ended += len(doc.get("lsids", []))
                log.warning(
                    "ended the %d session(s) of %s, a process that is gone (last seen %s)",
                    len(doc.get("lsids", [])),
                    doc["_id"],
                    doc.get("beat"),
                )
        self.swept += ended
        return ended

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.beat_s)
            try:
                await self.beat()
                if self.abandoned and await kill_sessions(self.db.client, self.abandoned):
                    self.abandoned.clear()
                await self.sweep()
            except PyMongoError as e:  # the store is down or slow: not writable; tried again
                log.debug("session ledger: %s", e)
            if _stopping():  # a stop that came mid-write, swallowed above or by kill_sessions
                raise asyncio.CancelledError


def _stopping() -> bool:
    """Whether the running task has been asked to stop. PyMongo turns a cancellation that
    arrives mid-operation into `AutoReconnect("operation cancelled")` (its `_OperationCancelled`),
    so a loop that retries on PyMongoError would swallow its own stop and run on forever."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
