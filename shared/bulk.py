"""What the bulk import verbs (`case.import`, `member.import`) share: a transaction run again
when the store reports a write conflict.

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

from shared.mongo import OUTBOX, UnitOfWork
from shared.service import ServiceRuntime

T = TypeVar("T")
log = logging.getLogger("yiwang.bulk")
RETRYABLE_CODES = (1, 112)  # InternalError (a commit-time conflict), WriteConflict


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
