"""Exports (导出): cases, figures and the monthly assessment report (月度考核) as xlsx or CSV, made
as jobs with a download link. A mutation checks the caller's role and scope (the services, asked
with the caller's token) and queues the job; `exportJob` answers its state and, once DONE, a
signed link that lives `YIWANG_DOWNLOAD_TTL_S`."""

from __future__ import annotations

import math
import re
import time as clock
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from gateway.context import Context
from gateway.exports import tables as t
from gateway.exports.files import ExportFormat as Format
from gateway.exports.jobs import ExportJobs, JobStatus
from gateway.exports.links import export_path, link_key
from gateway.schema.cases import CaseFilter, list_payload
from gateway.schema.common import ctx, graphql_enum
from gateway.schema.loads import load_visible_region
from shared.auth import STAFF_ROLES, require_any_role
from shared.errors import BadInput, Unavailable

MAX_DAYS = 366
GROUP_NAMES = {"REGION": "区域", "DEPARTMENT": "部门", "CATEGORY": "类别"}
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

graphql_enum(Format, description="XLSX (a sheet per part) or CSV (UTF-8 with BOM; several parts: a zip of them)")
graphql_enum(JobStatus, name="ExportJobStatus", description="QUEUED, RUNNING, DONE or FAILED")
ExportFormat = Format
ExportJobStatus = JobStatus


@strawberry.enum(description="What an export holds")
class ExportKind(Enum):
    CASES = "CASES"
    FIGURES = "FIGURES"
    MONTHLY_REPORT = "MONTHLY_REPORT"


@strawberry.enum(description="The rows of a figures export: the region's child regions, its departments, or categories")
class FigureGrouping(Enum):
    REGION = "REGION"
    DEPARTMENT = "DEPARTMENT"
    CATEGORY = "CATEGORY"


@strawberry.type(description="An export being made, or made: ask `exportJob(id)` again until DONE or FAILED")
class ExportJob:
    id: strawberry.ID
    kind: ExportKind
    format: ExportFormat
    status: ExportJobStatus
    rows: int | None = strawberry.field(description="Rows written, every sheet together (once DONE)")
    error: str | None = strawberry.field(description="Why it FAILED; ask again for a new job")
    filename: str
    created_at: datetime
    finished_at: datetime | None
    url: str | None = strawberry.field(
        description="Once DONE: a signed download link, valid for a few minutes; read the job again for a fresh one"
    )


def _jobs(info: Info) -> ExportJobs:
    jobs = ctx(info).exports
    if jobs is None:
        raise Unavailable("exports are not available on this gateway")
    return jobs


def job_node(c: Context, job: dict[str, Any]) -> ExportJob:
    url = None
    if job["status"] == JobStatus.DONE.value:
        ttl = c.settings.download_ttl_s
        step = max(1, ttl // 10)  # rounded up, so repeated reads give the same link
        expires = math.ceil((clock.time() + ttl) / step) * step
        base = c.settings.public_url.rstrip("/") or str(c.request.base_url).rstrip("/")
        url = base + export_path(link_key(c.settings.jwt_secret), job["_id"], expires)
    return ExportJob(
        id=strawberry.ID(job["_id"]),
        kind=ExportKind(job["kind"]),
        format=Format(job["format"]),
        status=JobStatus(job["status"]),
        rows=job.get("rows"),
        error=job.get("error"),
        filename=job["filename"],
        created_at=job["createdAt"],
        finished_at=job.get("finishedAt"),
        url=url,
    )


def _services(c: Context) -> t.Services:
    return t.Services(c.cases, c.grids, ZoneInfo(c.settings.timezone))


def _staff(c: Context) -> None:
    require_any_role(c.principal, STAFF_ROLES, "export cases or figures")


def window(first: date, last: date, tz: ZoneInfo) -> t.Window:
    if last < first:
        raise BadInput("`to` lies before `from`")
    if (last - first).days >= MAX_DAYS:
        raise BadInput(f"an export's window is at most {MAX_DAYS} days; narrow `from` and `to`")
    return t.Window(first, last, tz)


def month_window(month: str, tz: ZoneInfo) -> t.Window:
    m = MONTH.match(month)
    if m is None:
        raise BadInput(f"`month` must be YYYY-MM, e.g. 2026-01; not {month!r}")
    first = date(int(m.group(1)), int(m.group(2)), 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return t.Window(first, last, tz)


FormatArg = Annotated[Format, strawberry.argument(description="Default XLSX")]


@strawberry.type
class ExportsQuery:
    @strawberry.field(description="One of your own export jobs (anyone else's: NOT_FOUND)")
    async def export_job(self, info: Info, id: strawberry.ID) -> ExportJob:
        c = ctx(info)
        return job_node(c, await _jobs(info).get(str(id), c.principal.sub))


@strawberry.type
class ExportsMutation:
    @strawberry.mutation(
        description="Staff: the cases a `cases(filter:)` query finds for you, newest first, personal data masked "
        "as the API masks it for you; at most YIWANG_EXPORT_MAX_ROWS (more: BAD_INPUT, narrow the filter)"
    )
    async def export_cases(
        self, info: Info, filter: CaseFilter | None = None, format: FormatArg = Format.XLSX
    ) -> ExportJob:
        c = ctx(info)
        _staff(c)
        jobs, query = _jobs(info), list_payload(filter)
        cap = c.settings.export_max_rows
        found = await t.count_cases(c.cases, query)  # the service's scope check, and the count
        if found > cap:
            raise BadInput(
                f"the filter finds {found} cases; an export holds at most {cap}: narrow it (a region, a status, "
                "a category)",
                {"found": found, "maxRows": cap},
            )
        s = _services(c)

        async def build() -> list[t.Table]:
            return [await t.case_table(s, query, cap)]

        stamp = datetime.now(s.tz).strftime("%Y%m%d-%H%M")
        job = await jobs.submit(c.principal.sub, ExportKind.CASES.value, format, query, f"案件导出-{stamp}", build)
        return job_node(c, job)

    @strawberry.mutation(
        description="Staff: the case figures of a region from one local day to another (both included), a row "
        "per child region (the region's total first), per department, or per category"
    )
    async def export_figures(
        self,
        info: Info,
        region_id: strawberry.ID,
        group_by: FigureGrouping,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
        format: FormatArg = Format.XLSX,
    ) -> ExportJob:
        c = ctx(info)
        _staff(c)
        jobs, s = _jobs(info), _services(c)
        w = window(from_, to, s.tz)
        region = await load_visible_region(info, str(region_id))
        grouping = group_by.value

        async def build() -> list[t.Table]:
            if grouping == "REGION":
                return [await t.region_figures(s, region, w)]
            if grouping == "DEPARTMENT":
                return [await t.department_figures(s, region["id"], w)]
            return [await t.category_figures(s, region["id"], w)]

        params = {"regionId": region["id"], "groupBy": grouping, "from": w.first.isoformat(), "to": w.last.isoformat()}
        name = f"{region['name']}-{GROUP_NAMES[grouping]}统计-{w.first:%Y%m%d}-{w.last:%Y%m%d}"
        return job_node(c, await jobs.submit(c.principal.sub, ExportKind.FIGURES.value, format, params, name, build))

    @strawberry.mutation(
        description="Staff: the monthly assessment report (月度考核) of a county or city: 三率 by child region and "
        "by department, the top categories, and the cases overdue now; xlsx a sheet each, CSV a zip of four"
    )
    async def export_monthly_report(
        self, info: Info, region_id: strawberry.ID, month: str, format: FormatArg = Format.XLSX
    ) -> ExportJob:
        c = ctx(info)
        _staff(c)
        jobs, s = _jobs(info), _services(c)
        w = month_window(month, s.tz)
        region = await load_visible_region(info, str(region_id))
        cap = c.settings.export_max_rows
        overdue = {"regionId": region["id"], "overdue": True}

        async def build() -> list[t.Table]:
            return [
                await t.region_figures(s, region, w, "三率（按区域）"),
                await t.department_figures(s, region["id"], w, "三率（按部门）"),
                await t.category_figures(s, region["id"], w, t.TOP_CATEGORIES, "高频类别"),
                await t.case_table(s, overdue, cap, "超期案件"),
            ]

        params = {"regionId": region["id"], "month": month}
        name = f"{region['name']}-月度考核-{month}"
        return job_node(
            c, await jobs.submit(c.principal.sub, ExportKind.MONTHLY_REPORT.value, format, params, name, build)
        )
