"""The unified view above the community: rankings of a node's children, trends, hotspots
and raising a hotspot to the community's joint meeting. Every figure comes from a service's
rollups (or its day buckets and hotspot cells), cut to the caller's scope by that service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.cadres import cadre_coverage  # links:
from gateway.schema.case_types import CaseCategory, category_node
from gateway.schema.common import ctx, grids
from gateway.schema.enums import TrendInterval
from gateway.schema.household_stats import linked_household_share, visit_coverage
from gateway.schema.org_types import JointMeeting, meeting_node
from gateway.schema.territory import Region, load_region, load_visible_region
from shared.auth import require_figures
from shared.contracts import cases as cc
from shared.contracts import grids as gc
from shared.contracts import organizations as oc
from shared.contracts.common import TrendQuery
from shared.errors import BadInput, DomainError, Unavailable

MAX_CHILDREN = 1000


@strawberry.enum(description="Ascending or descending")
class SortOrder(Enum):
    ASC = "ASC"
    DESC = "DESC"


# metric -> (service, the service's trend metric)
TRENDS: dict[str, tuple[str, str]] = {
    "CASES_REPORTED": ("cases", "reported"),
    "CASES_RESOLVED": ("cases", "resolved"),
    "CASES_CLOSED": ("cases", "closed"),
    "CASES_REJECTED": ("cases", "rejected"),
    "OPEN_CASES": ("cases", "open"),
    "OVERDUE_CASES": ("cases", "overdue"),
    "RESPONSE_RATE": ("cases", "response_rate"),
    "RESOLUTION_RATE": ("cases", "resolution_rate"),
    "SATISFACTION_RATE": ("cases", "satisfaction_rate"),
    "FENGQIAO_SHARE": ("cases", "fengqiao_share"),
    "ON_TIME_RATE": ("cases", "on_time_rate"),  # follow-up: the on-time share (resolutionRate's former meaning)
    "PARTY_MEMBERS": ("organizations", "members"),
    "PARTY_ORGANIZATIONS": ("organizations", "organizations"),
    "WEAK_ORGANIZATIONS": ("organizations", "weak_organizations"),
    "DUAL_REGISTERED": ("organizations", "dual_registered"),
    "SERVICE_HOURS": ("volunteers", "service_hours"),
    "COMPLETED_ORDERS": ("volunteers", "completed_orders"),
    "POINTS_ISSUED": ("volunteers", "points_issued"),
    "VOLUNTEERS": ("volunteers", "volunteers"),
    "OPEN_ORDERS": ("volunteers", "open_orders"),
    # visits: grids' day buckets
    "VISITS_RECORDED": ("grids", "visits_recorded"),
    "OVERDUE_VISITS": ("grids", "overdue_visits"),
    "HOUSEHOLDS": ("grids", "households"),
    "RESIDENT_POINTS_AWARDED": ("volunteers", "resident_points_awarded"),  # residents' points
    # weak organisations: the score's flag and rectification plans
    "WEAK_FLAGGED": ("organizations", "weak_flagged"),
    "UNDER_RECTIFICATION": ("organizations", "under_rectification"),
    "RECTIFIED": ("organizations", "rectified"),
}
if TYPE_CHECKING:  # the members are the keys of TRENDS, made at run time; a type checker sees an Enum

    class TrendMetric(Enum): ...
else:
    TrendMetric = strawberry.enum(
        Enum("TrendMetric", {k: k for k in TRENDS}),
        description="What a trend follows: flows (CASES_REPORTED, SERVICE_HOURS, ...) are "
        "summed per interval, stocks (OPEN_CASES, PARTY_MEMBERS, ...) are the "
        "value at its end, rates divide two flows of the interval",
    )


def _get(key: str) -> Callable[[dict], float | None]:
    return lambda dto: dto.get(key)


# metric -> (the overview part's loader, the figure in that part's DTO)
RANKINGS: dict[str, tuple[str, Callable[[dict], float | None]]] = {
    "CASES_TOTAL": ("case_stats_by_region", _get("total")),
    "OPEN_CASES": ("case_stats_by_region", _get("open")),
    "OVERDUE_CASES": ("case_stats_by_region", _get("overdue")),
    "RESOLVED_CASES": ("case_stats_by_region", _get("resolved")),
    "RESPONSE_RATE": ("case_stats_by_region", _get("responseRate")),
    "RESOLUTION_RATE": ("case_stats_by_region", _get("resolutionRate")),
    "SATISFACTION_RATE": ("case_stats_by_region", _get("satisfactionRate")),
    "FENGQIAO_SHARE": ("case_stats_by_region", _get("fengqiaoShare")),
    # follow-up
    "ON_TIME_RATE": ("case_stats_by_region", _get("onTimeRate")),
    "RETURN_RATE": ("case_stats_by_region", _get("returnRate")),
    "REWORK_RATE": ("case_stats_by_region", _get("reworkRate")),
    "PARTY_ORGANIZATIONS": ("org_stats_by_region", _get("organizationCount")),
    "PARTY_MEMBERS": ("org_stats_by_region", _get("memberCount")),
    "WEAK_ORGANIZATIONS": ("org_stats_by_region", _get("weakCount")),
    "BRANCH_COVERAGE": ("org_stats_by_region", _get("branchCoverage")),
    "BUILDING_GROUP_COVERAGE": ("org_stats_by_region", _get("buildingGroupCoverage")),
    "DUAL_REGISTERED": ("org_stats_by_region", _get("dualRegisteredCount")),
    # weak organisations
    "WEAK_FLAGGED": ("org_stats_by_region", _get("weakFlaggedCount")),
    "UNDER_RECTIFICATION": ("org_stats_by_region", _get("underRectificationCount")),
    "VOLUNTEERS": ("volunteer_stats_by_region", _get("volunteerCount")),
    "ACTIVE_POSTS": ("volunteer_stats_by_region", _get("activePosts")),
    "OPEN_ORDERS": ("volunteer_stats_by_region", _get("openOrders")),
    "COMPLETED_ORDERS": ("volunteer_stats_by_region", _get("completedOrders")),
    "SERVICE_HOURS": ("volunteer_stats_by_region", _get("serviceHours")),
    "GRIDS": ("grid_stats_by_region", _get("gridCount")),
    "GRID_WORKERS": ("grid_stats_by_region", _get("gridWorkerCount")),
    "BUILDINGS": ("grid_stats_by_region", _get("buildingCount")),
    # links: communities and grids with a cadre / communities and grids
    "CADRE_COVERAGE": ("grid_stats_by_region", cadre_coverage),
    # households:
    "HOUSEHOLDS": ("household_stats_by_region", _get("householdCount")),
    "VISIT_COVERAGE": ("household_stats_by_region", visit_coverage),
    "OVERDUE_VISITS": ("household_stats_by_region", _get("overdueVisits")),
    "LINKED_HOUSEHOLD_SHARE": ("household_stats_by_region", linked_household_share),
}
if TYPE_CHECKING:  # the members are the keys of RANKINGS, made at run time

    class RankingMetric(Enum): ...
else:
    RankingMetric = strawberry.enum(
        Enum("RankingMetric", {k: k for k in RANKINGS}),
        description="A figure of the overview to rank a node's children by",
    )


@strawberry.enum(description="A hotspot's window against the window of the same length just before it")
class HotspotTrend(Enum):
    NEW = "NEW"
    RISING = "RISING"
    STEADY = "STEADY"
    FALLING = "FALLING"


@strawberry.type(description="One interval of a trend")
class TrendPoint:
    start: datetime
    end: datetime = strawberry.field(description="Exclusive")
    value: float | None = strawberry.field(description="Null for a rate with nothing to divide by")


@strawberry.type(description="A figure of a region per interval, read from day buckets kept with the writes")
class Trend:
    metric: TrendMetric
    interval: TrendInterval
    kind: str = strawberry.field(description="FLOW (summed per interval), STOCK (value at the end) or RATIO")
    description: str
    points: list[TrendPoint]
    region_id: strawberry.Private[str]

    @strawberry.field
    async def region(self, info: Info) -> Region:
        return Region(dto=await load_region(info, self.region_id))


@strawberry.type(description="A child region's place in a ranking")
class RankingEntry:
    rank: int = strawberry.field(description="1 is first in the order asked; regions without a value come last")
    value: float | None
    region: Region


@strawberry.type
class HotspotDay:
    day: date
    count: int


@strawberry.type(description="热点: a cluster of reports of one category in one grid within a window")
class Hotspot:
    id: strawberry.ID = strawberry.field(description="grid:category, stable across windows")
    count: int = strawberry.field(description="Reports in the window, duplicates included")
    previous_count: int = strawberry.field(description="Reports in the window of the same length before it")
    trend: HotspotTrend
    daily: list[HotspotDay]
    since: date
    until: date
    category_code: str
    category_name: str = strawberry.field(description="As the catalogue named it when counted")
    grid_id: strawberry.Private[str]

    @strawberry.field(description="The grid")
    async def region(self, info: Info) -> Region:
        return Region(dto=await load_region(info, self.grid_id))

    @strawberry.field(description="The catalogue entry; null once removed from the catalogue")
    async def category(self, info: Info) -> CaseCategory | None:
        dto = await ctx(info).loaders.category_by_code.load(self.category_code)
        return category_node(dto) if dto else None


@strawberry.input
class RaiseHotspotInput:
    grid_id: strawberry.ID
    category_code: str
    since: datetime
    until: datetime | None = None
    meeting_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the next joint meeting of the grid's community's 大党委"
    )


async def _children(info: Info, region_id: str) -> list[dict]:
    out: list[dict] = []
    after = None
    while True:
        page = await grids(info).list_regions(
            checked(gc.ListRegions, parentId=region_id, page={"first": 100, "after": after})
        )
        out += page["items"]
        if not page["hasNextPage"] or len(out) >= MAX_CHILDREN:
            return out
        after = page["endCursor"]


def rank(values: list[tuple[dict, float | None]], descending: bool) -> list[tuple[int, dict, float | None]]:
    """Order by value (missing values last, ties by name then id); equal values share a rank."""
    known = sorted(((d, v) for d, v in values if v is not None), key=lambda x: (x[0]["name"], x[0]["id"]))
    known.sort(key=lambda x: x[1], reverse=descending)  # stable: ties stay by name
    missing = sorted((x for x in values if x[1] is None), key=lambda x: (x[0]["name"], x[0]["id"]))
    ordered: list[tuple[dict, float | None]] = [*known, *missing]
    out: list[tuple[int, dict, float | None]] = []
    for i, (dto, v) in enumerate(ordered):
        same = out and v is not None and out[-1][2] == v
        out.append((out[-1][0] if same else i + 1, dto, v))
    return out


@strawberry.type
class UnifiedQuery:
    @strawberry.field(
        description="A node's children ranked by one figure of their overviews, in one batched call "
        "per service; regions without the figure (e.g. a rate with no cases) come last"
    )
    async def rankings(
        self,
        info: Info,
        region_id: strawberry.ID,
        metric: RankingMetric,
        order: SortOrder = SortOrder.DESC,
        first: int = 10,
    ) -> list[RankingEntry]:
        require_figures(ctx(info).principal)
        if not 1 <= first <= 100:
            raise BadInput("`first` must be between 1 and 100")
        await load_visible_region(info, str(region_id))
        loader_name, figure = RANKINGS[metric.value]
        children = await _children(info, str(region_id))
        loader = getattr(ctx(info).loaders, loader_name)
        results = await asyncio.gather(*(loader.load(c["id"]) for c in children), return_exceptions=True)
        failed = [r for r in results if isinstance(r, Unavailable)]
        if failed:
            raise failed[0]
        values: list[tuple[dict, Any]] = []
        for child, r in zip(children, results, strict=True):
            if isinstance(r, BaseException) and not isinstance(r, DomainError):
                raise r
            values.append((child, figure(r) if isinstance(r, dict) else None))
        ranked = rank(values, descending=order is SortOrder.DESC)[:first]
        return [
            RankingEntry(rank=i, value=float(v) if v is not None else None, region=Region(dto=dto))
            for i, dto, v in ranked
        ]

    @strawberry.field(
        description="One figure of a region per DAY, WEEK or MONTH from `from` to `to`, read from day "
        "buckets kept with the writes (days in the city's time zone)"
    )
    async def trend(
        self,
        info: Info,
        region_id: strawberry.ID,
        metric: TrendMetric,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        interval: TrendInterval = TrendInterval.DAY,
    ) -> Trend:
        service, name = TRENDS[metric.value]
        query = {"regionId": str(region_id), "metric": name, "from": from_, "to": to, "interval": interval.value}
        reply = await ctx(info).figures(service).trend(checked(TrendQuery, query))
        return Trend(
            metric=metric,
            interval=interval,
            kind=reply["kind"],
            description=reply["description"],
            region_id=str(region_id),
            points=[TrendPoint(start=_dt(p["start"]), end=_dt(p["end"]), value=p["value"]) for p in reply["points"]],
        )

    @strawberry.field(
        description="热点: the busiest grid × category clusters of reports in the region since `since` "
        "(until `until`, default now; by local day), each against the window before it"
    )
    async def hotspots(
        self, info: Info, region_id: strawberry.ID, since: datetime, until: datetime | None = None, first: int = 10
    ) -> list[Hotspot]:
        reply = await ctx(info).cases.hotspots(
            checked(cc.HotspotQuery, regionId=str(region_id), since=since, until=until, first=first)
        )
        lo, hi = date.fromisoformat(reply["since"]), date.fromisoformat(reply["until"])
        return [
            Hotspot(
                id=strawberry.ID(f"{h['gridId']}:{h['categoryCode']}"),
                count=h["count"],
                previous_count=h["previousCount"],
                trend=HotspotTrend(h["trend"]),
                daily=[HotspotDay(day=date.fromisoformat(x["day"]), count=x["count"]) for x in h["daily"]],
                since=lo,
                until=hi,
                grid_id=h["gridId"],
                category_code=h["categoryCode"],
                category_name=h["categoryName"],
            )
            for h in reply["items"]
        ]


def _dt(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@strawberry.type
class UnifiedMutation:
    @strawberry.mutation(
        description="Put a hotspot (a grid × category cluster since `since`) on the agenda of the "
        "grid's community's next joint meeting, with its cases; a resolution naming "
        "that agenda item links back to them. Raising it again changes nothing"
    )
    async def raise_hotspot_to_joint_meeting(self, info: Info, input: RaiseHotspotInput) -> JointMeeting:
        payload: dict[str, Any] = {
            "gridId": str(input.grid_id),
            "categoryCode": input.category_code,
            "since": input.since.isoformat(),
        }
        if input.until:
            payload["until"] = input.until.isoformat()
        if input.meeting_id:
            payload["meetingId"] = str(input.meeting_id)
        return meeting_node(await ctx(info).organizations.raise_hotspot(checked(oc.RaiseHotspot, **payload)))
