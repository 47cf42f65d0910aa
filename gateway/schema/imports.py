"""Onboarding through the API (导入): `importFile` takes one file of a kind (the columns `yiwang import`
reads, shared/onboarding) as a GraphQL multipart request and runs it as a job; `importJob` shows its
progress, counts and problems by row and column; `resumeImport` goes on with one that was cut off.
Every row goes to the services with the caller's own token: their rules and scope decide it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from gateway.imports import ImportJobs
from gateway.multipart import StreamedUpload
from gateway.schema.common import ctx
from shared.auth import Role, require_any_role
from shared.errors import BadInput, Unavailable
from shared.onboarding.kinds import KINDS

IMPORTERS = frozenset({Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER})


@strawberry.enum(description="What an import file holds (README, Onboarding: the columns of each)")
class ImportKind(Enum):
    REGIONS = "regions"
    BUILDINGS = "buildings"
    GRID_WORKERS = "grid-workers"
    ORGANIZATIONS = "organizations"
    MEMBERS = "members"
    UNITS = "units"
    VOLUNTEERS = "volunteers"
    HOUSEHOLDS = "households"
    CASES = "cases"


@strawberry.enum(description="QUEUED, RUNNING (see done and total), DONE or FAILED (see error and resumable)")
class ImportJobStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


@strawberry.type(description="A row the import could not take: its row as the spreadsheet numbers it, its column")
class ImportProblem:
    row: int
    column: str | None = strawberry.field(description="The column's header; null when the row as a whole failed")
    reason: str


@strawberry.type(description="An import being run, or run: ask `importJob(id)` again until DONE or FAILED")
class ImportJob:
    id: strawberry.ID
    kind: ImportKind
    filename: str
    dry_run: bool = strawberry.field(description="Checked only: nothing was changed")
    status: ImportJobStatus
    done: int = strawberry.field(description="Records sent so far (while RUNNING)")
    total: int | None = strawberry.field(description="Records to send, once the file is checked")
    rows: int | None = strawberry.field(description="Rows of the file (once DONE)")
    records: int | None = strawberry.field(description="Records the rows make (a household's rows make one)")
    imported: int | None = strawberry.field(description="Records sent and accepted (one imported before: unchanged)")
    present: int | None = strawberry.field(description="Records there already (found by their code): not sent")
    before: int | None = strawberry.field(description="Records done by this job before it was resumed")
    problem_count: int = strawberry.field(description="Rows with a problem (the list shows the first 1,000)")
    problems: list[ImportProblem]
    error: str | None = strawberry.field(description="Why it FAILED")
    resumable: bool = strawberry.field(description="FAILED part-way: resumeImport(id) goes on where it stopped")
    created_at: datetime
    finished_at: datetime | None


def job_node(job: dict[str, Any]) -> ImportJob:
    report = job.get("report") or {}
    progress = job.get("progress") or {}
    return ImportJob(
        id=strawberry.ID(job["_id"]),
        kind=ImportKind(job["kind"]),
        filename=job["filename"],
        dry_run=job["dryRun"],
        status=ImportJobStatus(job["status"]),
        done=progress.get("done") or 0,
        total=progress.get("total"),
        rows=report.get("rows"),
        records=report.get("records"),
        imported=report.get("imported"),
        present=report.get("present"),
        before=report.get("before"),
        problem_count=job.get("problemCount") or 0,
        problems=[
            ImportProblem(row=p["row"], column=p["column"], reason=p["reason"]) for p in job.get("problems") or []
        ],
        error=job.get("error"),
        resumable=bool(job.get("resumable")),
        created_at=job["createdAt"],
        finished_at=job.get("finishedAt"),
    )


def _jobs(info: Info) -> ImportJobs:
    jobs = ctx(info).imports
    if jobs is None:
        raise Unavailable("imports are not available on this gateway")
    return jobs


@strawberry.type
class ImportsQuery:
    @strawberry.field(description="One of your own import jobs (anyone else's: NOT_FOUND)")
    async def import_job(self, info: Info, id: strawberry.ID) -> ImportJob:
        c = ctx(info)
        return job_node(await _jobs(info).get(str(id), c.principal.sub))


@strawberry.type
class ImportsMutation:
    @strawberry.mutation(
        description="Staff and grid workers: import one file of `kind` (GraphQL multipart request; .xlsx or .csv, "
        "regions also .geojson, .kml or a Shapefile .zip; at most 32 MB) as a job. A dry run (the default) checks "
        "every row and changes nothing; otherwise each good row goes to the services with your token, and "
        "importing the same file again changes nothing. One unfinished import per person"
    )
    async def import_file(self, info: Info, kind: ImportKind, file: Upload, dry_run: bool = True) -> ImportJob:
        c = ctx(info)
        require_any_role(c.principal, IMPORTERS, "import files")
        jobs = _jobs(info)
        if not isinstance(file, StreamedUpload):
            raise BadInput("send the file as a GraphQL multipart request (operations, map, then the file)")
        name = KINDS[kind.value].file_name(file.filename)
        chunks: AsyncIterator[bytes] = file.chunks()
        job = await jobs.submit(c.principal.sub, c.token, kind.value, name, chunks, dry_run)
        return job_node(job)

    @strawberry.mutation(
        description="Go on with one of your imports that stopped part-way (`resumable`), with your current token; "
        "the records it had done are not sent again"
    )
    async def resume_import(self, info: Info, id: strawberry.ID) -> ImportJob:
        c = ctx(info)
        require_any_role(c.principal, IMPORTERS, "import files")
        return job_node(await _jobs(info).resume(str(id), c.principal.sub, c.token))
