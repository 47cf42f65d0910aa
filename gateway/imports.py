"""Import jobs: `importFile` uploads a file of one kind (shared/onboarding) and the gateway that took
it checks, and unless it is a dry run sends, its rows in the background with the caller's token
(held in memory only). The file is kept in the blob store under `import-<id>`; the job record
(`imports`, in the gateway's own database) holds its state, progress and first problems; the
keys of the records done are in `import_done`, so an interrupted job (its gateway stopped, the
services stopped answering, the caller's sign-in ran out) goes on where it stopped with
`resumeImport(id)`. The file goes as soon as the job has ended (it holds people's data in the
clear); an interrupted job's file and the job records go `import_retention_s` after it was asked for."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.exports.files import XLSX_TYPE
from gateway.exports.jobs import JobStatus
from gateway.exports.links import content_disposition
from gateway.job_leases import UNFINISHED, audit_who, expired, fail_stale, lease, renew_forever
from shared.blobs import BlobStore, TooLarge
from shared.errors import BadInput, Conflict, DomainError, NotFound
from shared.ids import new_id
from shared.onboarding.kinds import KINDS, Context, keyed_hash
from shared.onboarding.runner import Interrupted, Report, run
from shared.onboarding.tables import MAX_BYTES, read
from shared.onboarding.templates import FORMATS, template
from shared.settings import Settings

log = logging.getLogger("yiwang.gateway.imports")
audit = logging.getLogger("yiwang.audit")
PROBLEMS_KEPT = 1000  # a job shows its first problems; the count says how many there are
PROGRESS_EVERY_S = 1.0
STOPPED = "the gateway making this import stopped; resumeImport(id) goes on where it stopped"


def blob_key(job_id: str) -> str:
    return f"import-{job_id}"


class DoneKeys:
    """The runner's checkpoint in the store: the keys of the job's records done, written as it goes."""

    def __init__(self, coll: AsyncCollection, job_id: str, done: set[str]):
        self.coll, self.job_id, self.done = coll, job_id, done
        self.saved = set(done)

    async def save(self) -> None:
        new = self.done - self.saved
        if not new:
            return
        with contextlib.suppress(BulkWriteError):  # a key saved twice (a resumed job) is there already
            await self.coll.insert_many(
                [{"_id": f"{self.job_id}:{k}", "job": self.job_id} for k in sorted(new)], ordered=False
            )
        self.saved |= new


class ImportJobs:
    def __init__(self, settings: Settings, blobs: BlobStore, db: AsyncDatabase, rpc: Any):
        self.settings, self.blobs, self.rpc = settings, blobs, rpc
        self.jobs, self.done = db["imports"], db["import_done"]
        self.making = asyncio.Semaphore(settings.import_jobs_per_gateway)
        self.tasks: set[asyncio.Task] = set()
        self.keyed = keyed_hash(settings.jwt_secret)

    async def prepare(self) -> None:
        await self.jobs.create_index([("owner", 1), ("status", 1)])
        await self.jobs.create_index([("status", 1), ("leaseUntil", 1)])
        await self.jobs.create_index([("createdAt", 1)])
        await self.done.create_index([("job", 1)])

    def _lease(self) -> datetime:
        return lease(self.settings.export_lease_s)

    async def submit(
        self, owner: str, token: str, kind: str, filename: str, chunks: AsyncIterator[bytes], dry_run: bool
    ) -> dict[str, Any]:
        """Keep the file (at most MAX_BYTES), record a QUEUED job and start it; CONFLICT while the
        person has one unfinished."""
        if await self.jobs.count_documents({"owner": owner, "status": {"$in": UNFINISHED}}):
            raise Conflict("you have an import still running; ask importJob(id) until it is done", {"limit": 1})
        now = datetime.now(UTC)
        job_id = new_id("imp")
        key = blob_key(job_id)
        try:
            stored = await self.blobs.put(key, chunks, "application/octet-stream", MAX_BYTES, {"import": job_id})
        except TooLarge:
            raise BadInput(f"the file is larger than {MAX_BYTES // 2**20} MB; split it") from None
        await self.blobs.commit(key)  # taken: not an orphan for the uploads' sweep
        job = {
            "_id": job_id,
            "owner": owner,
            "kind": kind,
            "filename": filename,
            "dryRun": dry_run,
            "status": JobStatus.QUEUED.value,
            "progress": {"done": 0, "total": None},
            "report": None,
            "problems": [],
            "problemCount": 0,
            "error": None,
            "resumable": False,
            "createdAt": now,
            "finishedAt": None,
            "leaseUntil": self._lease(),
        }
        await self.jobs.insert_one(job)
        audit.info(
            "import %s asked: %s, %d bytes, dry run %s, by %s",
            job_id,
            kind,
            stored.size,
            dry_run,
            audit_who(self.settings, owner),
        )
        self._start(job, token)
        return job

    async def resume(self, job_id: str, owner: str, token: str) -> dict[str, Any]:
        """Go on with an interrupted import, with the caller's (fresh) token."""
        job = await self.get(job_id, owner)
        if job["status"] != JobStatus.FAILED.value or not job.get("resumable"):
            raise Conflict(
                f"import {job_id} is {job['status']}; only an interrupted import goes on", {"status": job["status"]}
            )
        res = await self.jobs.update_one(
            {"_id": job_id, "status": JobStatus.FAILED.value},
            {
                "$set": {
                    "status": JobStatus.QUEUED.value,
                    "error": None,
                    "resumable": False,
                    "leaseUntil": self._lease(),
                }
            },
        )
        if res.modified_count != 1:
            raise Conflict(f"import {job_id} was resumed meanwhile")
        audit.info("import %s resumed by %s", job_id, audit_who(self.settings, owner))
        job = await self.get(job_id, owner)
        self._start(job, token)
        return job

    async def get(self, job_id: str, owner: str) -> dict[str, Any]:
        job = await self.jobs.find_one({"_id": job_id, "owner": owner})
        if job is None:
            raise NotFound(f"no import job {job_id} of yours (jobs are kept {self.settings.import_retention_s} s)")
        return job

    def _start(self, job: dict[str, Any], token: str) -> None:
        task = asyncio.create_task(self._run(job, token))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _set(self, job_id: str, **fields: Any) -> None:
        await self.jobs.update_one({"_id": job_id}, {"$set": fields})

    async def _fail(self, job_id: str, reason: str, resumable: bool) -> None:
        with contextlib.suppress(Exception):
            await self._set(
                job_id, status=JobStatus.FAILED.value, error=reason, resumable=resumable, finishedAt=datetime.now(UTC)
            )
            if not resumable:
                await self._forget_file(job_id)

    async def _forget_file(self, job_id: str) -> None:
        """The file holds the people of its rows in the clear: it is kept only while the job may
        still need it (unfinished, or FAILED and resumable), never once the job has ended."""
        await self.blobs.delete(blob_key(job_id))
        await self.done.delete_many({"job": job_id})

    async def _run(self, job: dict[str, Any], token: str) -> None:
        job_id = job["_id"]
        renewing = asyncio.create_task(renew_forever(self.jobs, job_id, self.settings.export_lease_s))
        try:
            async with self.making:
                await self._set(job_id, status=JobStatus.RUNNING.value, leaseUntil=self._lease())
                blob = await self.blobs.open(blob_key(job_id))
                data = b"".join([chunk async for chunk in blob.chunks])
                rows = await asyncio.to_thread(read, job["filename"], data)
                done = {d["_id"].split(":", 1)[1] async for d in self.done.find({"job": job_id}, {"_id": 1})}
                checkpoint = DoneKeys(self.done, job_id, done)
                report = await run(
                    KINDS[job["kind"]],
                    rows,
                    self._context(),
                    self._caller(token),
                    job["dryRun"],
                    checkpoint,
                    self._progress(job_id),
                )
                await self._finish(job, report)
        except Interrupted as e:
            await self._fail(job_id, str(e), resumable=True)
        except DomainError as e:  # the file cannot be read; a lookup refused
            await self._fail(job_id, e.message, resumable=False)
        except asyncio.CancelledError:
            await asyncio.shield(self._fail(job_id, STOPPED, resumable=True))
            raise
        except Exception:
            log.exception("import %s failed", job_id)
            await self._fail(job_id, "the import stopped on an internal error; resumeImport(id) tries again", True)
        finally:
            renewing.cancel()

    def _context(self) -> Context:
        zone = ZoneInfo(self.settings.timezone)
        return Context(datetime.now(zone).date(), zone, self.keyed)

    def _caller(self, token: str) -> Any:
        async def call(service: str, verb: str, body: dict) -> Any:
            return await self.rpc.call(service, verb, body, token)

        return call

    def _progress(self, job_id: str) -> Any:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last[0] < PROGRESS_EVERY_S and done != total:
                return
            last[0] = time.monotonic()
            task = asyncio.create_task(self._set(job_id, progress={"done": done, "total": total}))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

        return progress

    async def _finish(self, job: dict[str, Any], report: Report) -> None:
        counts = {
            "rows": report.rows,
            "records": report.items,
            "imported": report.imported,
            "present": report.present,
            "before": report.before,
        }
        await self._set(
            job["_id"],
            status=JobStatus.DONE.value,
            report=counts,
            problems=[p.as_dict() for p in report.problems[:PROBLEMS_KEPT]],
            problemCount=len(report.problems),
            finishedAt=datetime.now(UTC),
        )
        await self._forget_file(job["_id"])
        audit.info(
            "import %s done: %s by %s, %s, %d problems",
            job["_id"],
            job["kind"],
            audit_who(self.settings, job["owner"]),
            counts,
            len(report.problems),
        )

    async def sweep(self, now: datetime | None = None) -> tuple[int, int]:
        """Unfinished jobs whose lease ran out (their gateway stopped) become FAILED and resumable;
        jobs, their files and their keys go past their retention. Returns (failed, deleted)."""
        now = now or datetime.now(UTC)
        stopped = {"status": JobStatus.FAILED.value, "error": STOPPED, "resumable": True, "finishedAt": now}
        failed = await fail_stale(self.jobs, now, stopped)
        deleted = 0
        async for job_id in expired(self.jobs, now, self.settings.import_retention_s, 200):
            await self.blobs.delete(blob_key(job_id))
            await self.done.delete_many({"job": job_id})
            await self.jobs.delete_one({"_id": job_id})
            deleted += 1
        return failed, deleted

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def template_endpoint(request: Request) -> Response:
    """`GET /imports/templates/{kind}.xlsx|.csv`: the blank file of a kind (no data: no sign-in)."""
    name = request.path_params["name"]
    kind, _, fmt = name.rpartition(".")
    if kind not in KINDS or fmt not in FORMATS:
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": f"no template {name}; kinds: {', '.join(KINDS)}; formats: xlsx, csv",
                        "extensions": {"code": "NOT_FOUND"},
                    }
                ]
            },
            status_code=404,
        )
    data = await asyncio.to_thread(template, KINDS[kind], fmt)
    filename = f"{KINDS[kind].title}模板.{fmt}"
    media = XLSX_TYPE if fmt == "xlsx" else "text/csv; charset=utf-8"
    return Response(data, media_type=media, headers={"content-disposition": content_disposition(filename)})
