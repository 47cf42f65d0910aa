"""Exports end to end through the gateway: cases, figures and the monthly report as xlsx and CSV,
made as jobs and downloaded by their signed link; checked against the API's own answers (masked
phones, figures), scope, bad input, forged and expired links, someone else's job, and a job a
stopped gateway left unfinished."""
from __future__ import annotations

import asyncio
import csv
import io
import time
import zipfile
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from pymongo import AsyncMongoClient

from gateway.exports.links import export_path, link_key
from gateway.exports.tables import CASE_HEADERS
from tests.cases_gateway import ADMIN_A, GW_A1, IN_A1, IN_B1, OP_A, codes, eventually, report, start_cases_stack
from tests.infra import make_settings

JOB = "id kind format status rows error url filename createdAt finishedAt"
EXPORT_CASES = f"mutation($f: CaseFilter, $fmt: ExportFormat!) {{ exportCases(filter: $f, format: $fmt) {{ {JOB} }} }}"
EXPORT_FIGURES = f"""mutation($r: ID!, $g: FigureGrouping!, $from: Date!, $to: Date!, $fmt: ExportFormat!) {{
  exportFigures(regionId: $r, groupBy: $g, from: $from, to: $to, format: $fmt) {{ {JOB} }} }}"""
EXPORT_MONTH = f"""mutation($r: ID!, $m: String!, $fmt: ExportFormat!) {{
  exportMonthlyReport(regionId: $r, month: $m, format: $fmt) {{ {JOB} }} }}"""
GET_JOB = f"query($id: ID!) {{ exportJob(id: $id) {{ {JOB} }} }}"
TZ = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(TZ).date()
ADMIN_A2 = {"role": "admin", "region": "county-a", "sub": "admin-a2"}


@pytest.fixture
def settings(nats_server, mongo_server):
    return make_settings(nats_server.port, mongo_server.port, export_max_rows=3, export_sweep_s=0.3)


@pytest.fixture
async def world(stack):
    await start_cases_stack(stack)
    for _ in range(3):
        await report(stack, point=IN_A1)
    await report(stack, point=IN_B1)
    overview = "query($r: ID!) { overview(regionId: $r) { cases { total } } }"
    await eventually(lambda: stack.ok(overview, {"r": "county-a"}), lambda d: d["overview"]["cases"]["total"] == 3)
    return stack


async def finished(stack, job: dict, who: dict) -> dict:
    async def read() -> dict:
        return (await stack.ok(GET_JOB, {"id": job["id"]}, **who))["exportJob"]

    return await eventually(read, lambda j: j["status"] in ("DONE", "FAILED"), timeout=30)


async def download(stack, job: dict) -> tuple[bytes, dict]:
    assert job["status"] == "DONE", job["error"]
    url = urlsplit(job["url"])
    r = await stack.http.get(f"{url.path}?{url.query}")
    assert r.status_code == 200, r.text
    return r.content, dict(r.headers)


def sheet_rows(data: bytes, title: str | None = None) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book[title] if title else book.worksheets[0]
    return [[c.value for c in row] for row in sheet.iter_rows()]


async def test_cases_export_as_xlsx_and_csv_shows_what_the_api_shows(world):
    s = world
    job = (await s.ok(EXPORT_CASES, {"f": {"regionId": "county-a"}, "fmt": "XLSX"}, **ADMIN_A))["exportCases"]
    assert job["kind"] == "CASES" and job["status"] in ("QUEUED", "RUNNING", "DONE") and job["url"] is None or job[
        "status"] == "DONE"
    done = await finished(s, job, ADMIN_A)
    assert done["rows"] == 3 and done["filename"].startswith("案件导出-") and done["filename"].endswith(".xlsx")
    data, headers = await download(s, done)
    assert headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert headers["content-disposition"].startswith("attachment;")
    assert unquote(headers["content-disposition"].split("filename*=UTF-8''")[1]) == done["filename"]
    rows = sheet_rows(data)
    assert rows[0] == CASE_HEADERS
    api = (await s.ok("""query { cases(filter: {regionId: "county-a"}, first: 10) { edges { node {
        id title reporter { name phone } } } } }""", **ADMIN_A))["cases"]["edges"]
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {e["node"]["id"] for e in api}
    for e in api:
        row = by_id[e["node"]["id"]]
        assert row[1] == e["node"]["title"]
        assert (row[7], row[8]) == (e["node"]["reporter"]["name"], e["node"]["reporter"]["phone"]) == ("张三",
                                                                                                       "138****5678")
    assert all(r[4] == "待受理" and r[12] == "否" for r in rows[1:])

    csv_job = (await s.ok(EXPORT_CASES, {"f": {"regionId": "town-a"}, "fmt": "CSV"}, **OP_A))["exportCases"]
    data, headers = await download(s, await finished(s, csv_job, OP_A))
    assert headers["content-type"].startswith("text/csv") and data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == CASE_HEADERS and len(table) == 4 and {r[8] for r in table[1:]} == {"138****5678"}


async def test_figures_by_region_category_and_department_match_the_api(world):
    s = world
    day = TODAY.isoformat()
    v = {"r": "county-a", "from": day, "to": day, "fmt": "XLSX"}
    job = (await s.ok(EXPORT_FIGURES, v | {"g": "REGION"}, **ADMIN_A))["exportFigures"]
    rows = sheet_rows((await download(s, await finished(s, job, ADMIN_A)))[0])
    assert rows[0][:5] == ["区域编号", "区域", "层级", "上报量", "办结量"] and "响应率" in rows[0]
    assert [r[0] for r in rows[1:]] == ["county-a", "town-a"] and rows[1][1] == "a区（合计）"
    start = datetime.combine(TODAY, datetime.min.time(), TZ)
    trend = """query($r: ID!, $m: TrendMetric!, $from: DateTime!, $to: DateTime!) {
      trend(regionId: $r, metric: $m, from: $from, to: $to, interval: SPAN) { points { value } } }"""
    for metric, header in (("CASES_REPORTED", "上报量"), ("RESPONSE_RATE", "响应率"), ("OVERDUE_CASES", "期末超期件数")):
        tv = {"r": "town-a", "m": metric, "from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}
        points = (await s.ok(trend, tv, **ADMIN_A))["trend"]["points"]
        assert len(points) == 1 and rows[2][rows[0].index(header)] == points[0]["value"]
    assert rows[2][rows[0].index("上报量")] == 3

    job = (await s.ok(EXPORT_FIGURES, v | {"g": "CATEGORY"}, **ADMIN_A))["exportFigures"]
    rows = sheet_rows((await download(s, await finished(s, job, ADMIN_A)))[0])
    assert rows == [["排名", "类别编号", "类别名称", "上报量", "占比"], [1, "ENV_GARBAGE", rows[1][2], 3, 1]]

    job = (await s.ok(EXPORT_FIGURES, v | {"g": "DEPARTMENT", "fmt": "CSV"}, **ADMIN_A))["exportFigures"]
    data, _ = await download(s, await finished(s, job, ADMIN_A))
    assert data.decode("utf-8-sig").splitlines()[0].startswith("部门编号,部门名称,层级,接件量")

    bad = await s.gql(EXPORT_FIGURES, v | {"g": "REGION", "from": day, "to": (TODAY - timedelta(days=1)).isoformat()},
                      **ADMIN_A)
    assert codes(bad) == ["BAD_USER_INPUT"]


async def test_the_monthly_report_has_its_four_parts(world):
    s = world
    month = TODAY.strftime("%Y-%m")
    job = (await s.ok(EXPORT_MONTH, {"r": "county-a", "m": month, "fmt": "XLSX"}, **ADMIN_A))["exportMonthlyReport"]
    done = await finished(s, job, ADMIN_A)
    assert done["filename"] == f"a区-月度考核-{month}.xlsx"
    data, _ = await download(s, done)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["三率（按区域）", "三率（按部门）", "高频类别", "超期案件"]
    assert sheet_rows(data, "三率（按区域）")[1][3] == 3
    assert sheet_rows(data, "高频类别")[1][1:4] == ["ENV_GARBAGE", sheet_rows(data, "高频类别")[1][2], 3]
    assert sheet_rows(data, "超期案件") == [CASE_HEADERS]  # nothing overdue yet

    job = (await s.ok(EXPORT_MONTH, {"r": "county-a", "m": month, "fmt": "CSV"}, **ADMIN_A))["exportMonthlyReport"]
    done = await finished(s, job, ADMIN_A)
    data, headers = await download(s, done)
    assert headers["content-type"] == "application/zip" and done["filename"].endswith(".zip")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["1-三率（按区域）.csv", "2-三率（按部门）.csv", "3-高频类别.csv", "4-超期案件.csv"]

    for m in ("2026-13", "2026-1", "january"):
        assert codes(await s.gql(EXPORT_MONTH, {"r": "county-a", "m": m, "fmt": "XLSX"}, **ADMIN_A)) == [
            "BAD_USER_INPUT"]


async def test_scope_role_size_other_peoples_jobs_and_links(world):
    s = world
    day = TODAY.isoformat()
    fig = {"r": "county-b", "g": "REGION", "from": day, "to": day, "fmt": "XLSX"}
    assert codes(await s.gql(EXPORT_FIGURES, fig, **ADMIN_A)) == ["FORBIDDEN"]
    assert codes(await s.gql(EXPORT_MONTH, {"r": "county-b", "m": "2026-01", "fmt": "XLSX"}, **ADMIN_A)) == [
        "FORBIDDEN"]
    assert codes(await s.gql(EXPORT_CASES, {"f": {"regionId": "county-b"}, "fmt": "CSV"}, **ADMIN_A)) == ["FORBIDDEN"]
    assert codes(await s.gql(EXPORT_CASES, {"f": {"regionId": "grid-a1"}, "fmt": "CSV"}, **GW_A1)) == ["FORBIDDEN"]
    too_many = await s.gql(EXPORT_CASES, {"f": None, "fmt": "CSV"})  # a superadmin: all 4 cases, over the cap of 3
    assert codes(too_many) == ["BAD_USER_INPUT"] and "narrow" in too_many["errors"][0]["message"]

    job = await finished(s, (await s.ok(EXPORT_CASES, {"f": {"regionId": "town-a"}, "fmt": "CSV"}, **ADMIN_A))[
        "exportCases"], ADMIN_A)
    assert codes(await s.gql(GET_JOB, {"id": job["id"]}, **ADMIN_A2)) == ["NOT_FOUND"]
    url = urlsplit(job["url"])
    forged = url.query.replace("sig=", "sig=x")
    assert (await s.http.get(f"{url.path}?{forged}")).status_code == 403
    key = link_key(s.settings.jwt_secret)
    assert (await s.http.get(export_path(key, job["id"], int(time.time()) - 1))).status_code == 410
    assert (await s.http.get(export_path(key, job["id"], int(time.time()) + 60))).status_code == 200


async def test_a_job_left_unfinished_by_a_stopped_gateway_fails_with_a_reason(world):
    s = world
    client: AsyncMongoClient = AsyncMongoClient(s.settings.mongo_uri, tz_aware=True)
    try:
        now = datetime.now(UTC)
        await client[s.settings.db_name("gateway")]["jobs"].insert_one(
            {"_id": "exp-stale", "owner": "admin-a", "kind": "CASES", "format": "XLSX", "params": {},
             "status": "RUNNING", "rows": None, "error": None, "filename": "案件导出.xlsx", "createdAt": now,
             "finishedAt": None, "leaseUntil": now - timedelta(seconds=1)})
        job = await finished(s, {"id": "exp-stale"}, ADMIN_A)
        assert job["status"] == "FAILED" and "ask for it again" in job["error"] and job["url"] is None
    finally:
        await client.close()
    await asyncio.sleep(0)
