"""The tables of each export, read from the services with the caller's own token: the services
answer only what the caller may read, masked for them, so an export never shows more than the
API would. Column headers are the glossary's Chinese terms; figures are the platform's own
(trend metrics over the window for regions, department figures, report counts by category)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from gateway.clients import CasesClient, GridsClient, checked
from gateway.exports.files import Table
from shared.contracts import cases as cc
from shared.contracts import grids as gc
from shared.contracts.common import TrendQuery
from shared.vocabulary.cases import CHANNEL_NAMES

PAGE = 100  # a case list's largest page
IN_FLIGHT = 8  # figure calls of one export at once
MAX_CHILDREN = 1000
TOP_CATEGORIES = 20  # of the monthly report

STATUS = {"REPORTED": "待受理", "ACCEPTED": "已受理", "ASSIGNED": "已派单", "IN_PROGRESS": "处置中",
          "RESOLVED": "已办结", "CLOSED": "已结案", "REJECTED": "不予受理"}  # fmt: skip
LEVEL = {"BUILDING": "楼栋", "GRID": "网格", "COMMUNITY": "社区", "TOWNSHIP": "街道/乡镇", "COUNTY": "区县",
         "CITY": "市"}  # fmt: skip

CASE_HEADERS = ["案件编号", "标题", "类别", "渠道", "状态", "处置层级", "所属网格", "上报人", "联系电话",
                "处置人", "上报时间", "办结时限", "是否超期", "办结时间", "办结层级", "满意度评价"]  # fmt: skip
# (header, trend metric of the cases service): 三率 and the rest over the window, by region
REGION_FIGURES = [("上报量", "reported"), ("办结量", "resolved"), ("响应率", "response_rate"),
                  ("解决率", "resolution_rate"), ("满意率", "satisfaction_rate"), ("按期办结率", "on_time_rate"),
                  ("枫桥占比", "fengqiao_share"), ("期末超期件数", "overdue")]  # fmt: skip
# (header, field of the department's figures)
DEPT_FIGURES = [("接件量", "received"), ("主办", "lead"), ("协办", "cooperating"), ("办结量", "resolved"),
                ("按期办结", "resolvedOnTime"), ("退单", "returned"), ("重办", "reworked"),
                ("延期数", "extensionCount"), ("督办数", "urgeCount"), ("响应率", "responseRate"),
                ("解决率", "resolutionRate"),
                ("满意率", "satisfactionRate"), ("按期办结率", "onTimeRate"), ("回退率", "returnRate"),
                ("重办率", "reworkRate")]  # fmt: skip
RATES = frozenset({"响应率", "解决率", "满意率", "按期办结率", "枫桥占比", "回退率", "重办率", "占比"})


@dataclass(frozen=True)
class Window:
    """Local days [first, last] of the city's time zone."""

    first: date
    last: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), self.tz)

    @property
    def end(self) -> datetime:
        """Exclusive: the start of the day after the last."""
        return datetime.combine(self.last + timedelta(days=1), time(), self.tz)

    @property
    def last_day(self) -> datetime:
        """The start of the last day: what an inclusive day range (department figures) reads to."""
        return datetime.combine(self.last, time(), self.tz)


class Services:
    """The services as the caller sees them (their token), for one export."""

    def __init__(self, cases: CasesClient, grids: GridsClient, tz: ZoneInfo):
        self.cases, self.grids, self.tz = cases, grids, tz
        self.limit = asyncio.Semaphore(IN_FLIGHT)

    async def bounded(self, call: Callable[[], Awaitable[Any]]) -> Any:
        async with self.limit:
            return await call()

    def local(self, value: str | None) -> str | None:
        if not value:
            return None
        return datetime.fromisoformat(value).astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")


def case_row(s: Services, c: dict[str, Any]) -> list[Any]:
    reporter, assignee = c.get("reporter") or {}, c.get("assignee") or {}
    return [
        c["id"],
        c["title"],
        c.get("categoryName") or c["categoryCode"],
        CHANNEL_NAMES.get(c["channel"], c["channel"]),
        STATUS.get(c["status"], c["status"]),
        LEVEL.get(c["level"], c["level"]),
        c.get("regionName") or c["regionId"],
        reporter.get("name"),
        reporter.get("phone"),
        (assignee.get("name") or assignee.get("id")) if assignee else None,
        s.local(c.get("createdAt")),
        s.local(c.get("dueAt")),
        "是" if c.get("overdue") else "否",
        s.local(c.get("resolvedAt")),
        LEVEL.get(c.get("resolvedAtLevel") or "", None),
        c.get("rating"),
    ]


async def count_cases(cases: CasesClient, query: dict[str, Any]) -> int:
    """How many cases the filter finds for the caller (the service's scope and count)."""
    page = await cases.list(checked(cc.ListCases, **query, page={"first": 1, "after": None}, withTotal=True))
    return int(page["totalCount"])


async def case_table(s: Services, query: dict[str, Any], max_rows: int, title: str = "案件") -> Table:
    """The filter's cases, newest first, a bounded page at a time, at most `max_rows`."""
    table = Table(title, CASE_HEADERS)
    after = None
    while len(table.rows) < max_rows:
        first = min(PAGE, max_rows - len(table.rows))
        page = await s.cases.list(
            checked(cc.ListCases, **query, page={"first": first, "after": after}, withTotal=False)
        )
        table.rows += [case_row(s, c) for c in page["items"]]
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    return table


async def children(s: Services, region_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    while len(out) < MAX_CHILDREN:
        page = await s.grids.list_regions(
            checked(gc.ListRegions, parentId=region_id, page={"first": 100, "after": after})
        )
        out += page["items"]
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    return out


async def region_figures(s: Services, region: dict[str, Any], window: Window, title: str = "按区域") -> Table:
    """The region (its total) and each child: the trend metrics over the window as one span."""

    async def one(region_id: str, metric: str) -> float | None:
        q = {"regionId": region_id, "metric": metric, "from": window.start, "to": window.end, "interval": "SPAN"}
        reply = await s.bounded(lambda: s.cases.trend(checked(TrendQuery, q)))
        return reply["points"][0]["value"] if reply["points"] else None

    rows = [(region, f"{region['name']}（合计）"), *((c, c["name"]) for c in await children(s, region["id"]))]
    values = await asyncio.gather(*(one(r["id"], m) for r, _ in rows for _, m in REGION_FIGURES))
    n = len(REGION_FIGURES)
    table = Table(title, ["区域编号", "区域", "层级", *(h for h, _ in REGION_FIGURES)], percent=RATES)
    for i, (r, name) in enumerate(rows):
        table.rows.append([r["id"], name, LEVEL.get(r["level"], r["level"]), *values[i * n : (i + 1) * n]])
    return table


async def department_figures(s: Services, region_id: str, window: Window, title: str = "按部门") -> Table:
    """Each department that handles the region's cases (the directory the rankings read): its
    figures in the region over the window's days."""
    ranked = await s.cases.department_rankings(
        checked(cc.DepartmentRankingsQuery, regionId=region_id, metric="received", first=100)
    )

    async def stats(dept: dict[str, Any]) -> dict[str, Any]:
        q = {"deptCode": dept["code"], "regionId": region_id, "from": window.start, "to": window.last_day}
        return await s.bounded(lambda: s.cases.department_stats(checked(cc.DepartmentStatsQuery, q)))

    depts = sorted((x["department"] for x in ranked["items"]), key=lambda d: (d["level"], d["code"]))
    figures = await asyncio.gather(*(stats(d) for d in depts))
    table = Table(title, ["部门编号", "部门名称", "层级", *(h for h, _ in DEPT_FIGURES)], percent=RATES)
    for d, f in zip(depts, figures, strict=True):
        table.rows.append(
            [d["code"], d["name"], LEVEL.get(d["level"], d["level"]), *(f.get(k) for _, k in DEPT_FIGURES)]
        )
    return table


async def category_figures(s: Services, region_id: str, window: Window, first: int | None = None,
                           title: str = "按类别") -> Table:  # fmt: skip
    """Reports per category in the window, most first (the `first` of them), with their share."""
    reply = await s.cases.category_counts(
        checked(cc.CategoryCountsQuery, regionId=region_id, since=window.start, until=window.end)
    )
    items = reply["items"]
    total = sum(x["count"] for x in items)
    table = Table(title, ["排名", "类别编号", "类别名称", "上报量", "占比"], percent=RATES)
    for i, x in enumerate(items[:first] if first else items, 1):
        table.rows.append([i, x["categoryCode"], x["categoryName"], x["count"], round(x["count"] / total, 4)])
    return table
