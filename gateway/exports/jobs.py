"""Export jobs: a record per job in the gateway's own database (`jobs`), the work done in the
background of the gateway that was asked (at most `export_jobs_per_gateway` at once, at most
`export_jobs_per_person` unfinished per person), the file kept in the blob store under
`export-<id>`. A job holds a lease it renews while it lives; a job whose lease ran out (its
gateway stopped) is marked FAILED by the sweep, which also deletes files and jobs past
`export_retention_s`. The caller's token is held in memory only, for the job's calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from gateway.exports.files import ExportFormat, Table, render
from gateway.job_leases import UNFINISHED, audit_who, expired, fail_stale, lease, renew_forever
from shared.blobs import BlobStore
from shared.errors import Conflict, DomainError, NotFound
from shared.ids import new_id
from shared.settings import Settings

log = logging.getLogger("yiwang.gateway.exports")
audit = logging.getLogger("yiwang.audit")

Build = Callable[[], Awaitable[list[Table]]]
INTERRUPTED = "the gateway making this export stopped before it was done; ask for it again"


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


def blob_key(job_id: str) -> str:
    return f"export-{job_id}"


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


class ExportJobs:
    def __init__(self, settings: Settings, blobs: BlobStore, jobs: AsyncCollection):
        self.settings, self.blobs, self.jobs = settings, blobs, jobs
        self.making = asyncio.Semaphore(settings.export_jobs_per_gateway)
        self.tasks: set[asyncio.Task] = set()

    async def prepare(self) -> None:
        await self.jobs.create_index([("owner", 1), ("status", 1)])
        await self.jobs.create_index([("status", 1), ("leaseUntil", 1)])
        await self.jobs.create_index([("createdAt", 1)])

    def _lease(self, now: datetime | None = None) -> datetime:
        return lease(self.settings.export_lease_s, now)

    async def submit(
        self, owner: str, kind: str, fmt: ExportFormat, params: dict[str, Any], filename: str, build: Build
    ) -> dict[str, Any]:
        """Record a QUEUED job and start it; CONFLICT when the person has too many unfinished."""
        limit = self.settings.export_jobs_per_person
        if await self.jobs.count_documents({"owner": owner, "status": {"$in": UNFINISHED}}) >= limit:
            raise Conflict(f"you have {limit} exports still being made; ask again when one is done", {"limit": limit})
        now = datetime.now(UTC)
        job = {
            "_id": new_id("exp"),
            "owner": owner,
            "kind": kind,
            "format": fmt.value,
            "params": params,
            "status": JobStatus.QUEUED.value,
            "rows": None,
            "error": None,
            "filename": f"{filename}.{'xlsx' if fmt is ExportFormat.XLSX else 'csv'}",
            "createdAt": now,
            "finishedAt": None,
            "leaseUntil": self._lease(now),
        }
        await self.jobs.insert_one(job)
        audit.info("export %s asked: %s by %s, %s", job["_id"], kind, audit_who(self.settings, owner), params)
        task = asyncio.create_task(self._run(job, fmt, build))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return job

    async def get(self, job_id: str, owner: str) -> dict[str, Any]:
        """The person's own job; NOT_FOUND for anyone else's, as for one that never was."""
        job = await self.jobs.find_one({"_id": job_id, "owner": owner})
        if job is None:
            raise NotFound(f"no export job {job_id} of yours (jobs are kept {self.settings.export_retention_s} s)")
        return job

    async def _run(self, job: dict[str, Any], fmt: ExportFormat, build: Build) -> None:
        job_id = job["_id"]
        renewing = asyncio.create_task(renew_forever(self.jobs, job_id, self.settings.export_lease_s))
        try:
            async with self.making:
                await self._set(job_id, status=JobStatus.RUNNING.value, leaseUntil=self._lease())
                tables = await build()
                file = await asyncio.to_thread(render, tables, fmt)
                key = blob_key(job_id)
                await self.blobs.put(key, _one(file.data), file.content_type, len(file.data), {"export": job_id})
                await self.blobs.commit(key)  # taken: not an orphan upload for the uploads' sweep
                rows = sum(len(t.rows) for t in tables)
                filename = job["filename"].rsplit(".", 1)[0] + "." + file.extension
                await self._set(
                    job_id,
                    status=JobStatus.DONE.value,
                    rows=rows,
                    filename=filename,
                    contentType=file.content_type,
                    size=len(file.data),
                    finishedAt=datetime.now(UTC),
                )
                audit.info(
                    "export %s made: %s by %s, %d rows",
                    job_id,
                    job["kind"],
                    audit_who(self.settings, job["owner"]),
                    rows,
                )
        except DomainError as e:
            await self._fail(job_id, e.message)
        except asyncio.CancelledError:
            await asyncio.shield(self._fail(job_id, INTERRUPTED))
            raise
        except Exception:
            log.exception("export %s failed", job_id)
            await self._fail(job_id, "the export could not be made (an internal error); ask for it again")
        finally:
            renewing.cancel()

    async def _set(self, job_id: str, **fields: Any) -> None:
        await self.jobs.update_one({"_id": job_id}, {"$set": fields})

    async def _fail(self, job_id: str, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._set(job_id, status=JobStatus.FAILED.value, error=reason, finishedAt=datetime.now(UTC))

    async def sweep(self, now: datetime | None = None) -> tuple[int, int]:
        """Unfinished jobs whose lease ran out become FAILED; jobs (and files) past their retention
        go. Returns (failed, deleted)."""
        now = now or datetime.now(UTC)
        failed = await fail_stale(
            self.jobs, now, {"status": JobStatus.FAILED.value, "error": INTERRUPTED, "finishedAt": now}
        )
        deleted = 0
        async for job_id in expired(self.jobs, now, self.settings.export_retention_s, 500):
            await self.blobs.delete(blob_key(job_id))
            await self.jobs.delete_one({"_id": job_id})
            deleted += 1
        return failed, deleted

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
