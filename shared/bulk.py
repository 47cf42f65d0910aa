"""What the bulk import verbs (`case.import`, `member.import`, `org.import`, `region.import`…) share:
a transaction run again when the store reports a write conflict, and a batch's run once under its
import id (`run_batch`).

The embedded store reports a conflict it finds at commit as a bare InternalError (code 1),
without the TransientTransactionError label that `with_transaction` retries on. An import's
work is idempotent (it remembers its import id and skips records already stored), so running
it again is safe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared.errors import Conflict, DomainError
from shared.mongo import OUTBOX, UnitOfWork, recall, remember, remembered
from shared.service import ServiceRuntime

T = TypeVar("T")
log = logging.getLogger("yiwang.bulk")
RETRYABLE_CODES = (1, 112)  # InternalError (a commit-time conflict), WriteConflict
BACKLOG_MAX = 2000  # events waiting for the outbox relay before a batch waits
BACKLOG_WAIT_S = 30.0  # ... at most this long
P = TypeVar("P")


async def committed(
    rt: ServiceRuntime, work: Callable[[UnitOfWork], Awaitable[T]], wake: bool = True, attempts: int = 4
) -> T:
    """`rt.transact(work)`, run again (with a short backoff) after a write conflict."""
    for attempt in range(attempts):
        try:
            return await rt.transact(work, wake=wake)
        except OperationFailure as e:
            if e.code not in RETRYABLE_CODES or isinstance(e, DuplicateKeyError) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def named(kind: str, index: int, item_id: str, e: DomainError) -> DomainError:
    """`e` about item `index` (`item_id`) of an import batch of `kind`s: the same error, saying which."""
    return type(e)(f"{kind}[{index}] ({item_id}): {e.message}", {"index": index, "id": item_id, **e.details})


async def waiting_events(db: AsyncDatabase, limit: int) -> int:
    """Events of a service not yet published by its outbox relay (counted up to `limit` + 1)."""
    return await db[OUTBOX].count_documents({"published": False}, limit=limit + 1)


async def backlog_below(waiting: Callable[[int], Awaitable[int]], limit: int, wait_s: float, what: str) -> None:
    """Until at most `limit` events of this service wait for the relay (or `wait_s` pass): an
    import does not run ahead of the relay that publishes what it wrote."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if await waiting(limit) <= limit:
            return
        await asyncio.sleep(0.5)
    log.warning("%s: more than %d events still wait for the relay after %gs", what, limit, wait_s)


async def run_batch(
    rt: ServiceRuntime,
    key: str,
    lock: asyncio.Lock,
    what: str,
    prepare: Callable[[], P],
    write: Callable[[UnitOfWork, P], Awaitable[dict]],
    twin: str,
    count: int,
) -> dict:
    """One import batch under its idempotency `key`: the first reply again (`replayed`) when the
    key is done already; else `prepare()` (the checks that need no read), then `write` in one
    transaction, run again after a write conflict, remembered under the key with its result. One
    batch at a time per service (`lock`: batches add to the same rollups), after the outbox relay
    has caught up. A twin batch or record committed meanwhile: its reply, or CONFLICT `twin`.
    Logs how many of the batch's `count` records it imported, and how long it took."""
    if (done := await remembered(rt.db, key)) is not None:
        return {**done, "replayed": True}
    started = time.monotonic()
    prepared = prepare()

    async def work(uow: UnitOfWork) -> dict:
        if (done := await recall(uow, key)) is not None:
            return {**done, "replayed": True}
        result = await write(uow, prepared)
        await remember(uow, key, result)
        return result

    try:
        async with lock:
            await backlog_below(lambda limit: waiting_events(rt.db, limit), BACKLOG_MAX, BACKLOG_WAIT_S, what)
            result = await committed(rt, work)
    except DuplicateKeyError:
        if (done := await remembered(rt.db, key)) is not None:
            return {**done, "replayed": True}
        raise Conflict(twin) from None
    log.info("%s: %d of %d imported in %.2fs", key, result.get("imported", 0), count, time.monotonic() - started)
    return result
