"""What the gateway's background jobs (exports, imports) share: a job's lease, renewed while the
gateway that runs it lives; a sweep that marks unfinished jobs whose lease ran out (their gateway
stopped) and finds jobs past their retention; the sweep's loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from shared.auth import subject_key
from shared.records import until
from shared.settings import Settings

UNFINISHED = ["QUEUED", "RUNNING"]


def audit_who(settings: Settings, sub: str) -> str:
    """The person a job's audit line names: their keyed `sub` (a `sub` may be a phone or a name)."""
    return subject_key(settings.jwt_secret, sub)


def lease(lease_s: float, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) + timedelta(seconds=lease_s)


async def renew_forever(jobs: AsyncCollection, job_id: str, lease_s: float) -> None:
    """Renew an unfinished job's lease every third of its length (cancel it when the job ends)."""
    while True:
        await asyncio.sleep(lease_s / 3)
        with contextlib.suppress(Exception):  # the next try renews it; a lost lease fails the job
            await jobs.update_one(
                {"_id": job_id, "status": {"$in": UNFINISHED}}, {"$set": {"leaseUntil": lease(lease_s)}}
            )


async def fail_stale(jobs: AsyncCollection, now: datetime, fields: dict[str, Any]) -> int:
    """Unfinished jobs whose lease ran out get `fields` (FAILED and why); how many."""
    res = await jobs.update_many(
        {"status": {"$in": UNFINISHED}, "leaseUntil": until(now, inclusive=False)}, {"$set": fields}
    )
    return res.modified_count


async def expired(jobs: AsyncCollection, now: datetime, retention_s: float, limit: int) -> AsyncIterator[str]:
    """Ids of jobs asked for more than `retention_s` ago (at most `limit` per sweep)."""
    old = now - timedelta(seconds=retention_s)
    async for job in jobs.find({"createdAt": until(old, inclusive=False)}, {"_id": 1}).limit(limit):
        yield job["_id"]


async def sweep_forever(what: str, sweep: Callable[[], Awaitable[tuple[int, int]]], every_s: float) -> None:
    """A sweep once at start (jobs a stopped gateway left unfinished), then every `every_s`."""
    log = logging.getLogger(f"yiwang.gateway.{what}")
    while True:
        try:
            failed, deleted = await sweep()
            if failed or deleted:
                log.info("%s: %d interrupted jobs failed, %d expired jobs deleted", what, failed, deleted)
        except Exception:  # noqa: BLE001 - the next round tries again
            log.warning("the %s' sweep failed; it runs again", what, exc_info=True)
        await asyncio.sleep(every_s)
