"""Departments: the directory of each county and city, dispatch to 主办/协办, replies, 退单/延期/挂起
requests and their decision, 督办, and the per-department figures and rankings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.case_types import Case, CaseRequest, case_node, case_request_node
from gateway.schema.common import Connection, command, connection, ctx, page_args, when
from gateway.schema.loads import load_region
from gateway.schema.territory import Region
from gateway.schema.unified import SortOrder
from shared.contracts import cases as cc
from shared.errors import Forbidden
from shared.vocabulary.cases import DEPT_COUNTERS, RANKING_METRICS


@strawberry.type(description="A contact of a department; `phone` is masked except to the department itself")
class DepartmentContact:
    name: str
    title: str | None
    phone: str | None


@strawberry.type(description="A department (县直/市直部门) of the directory of a county or a city")
class Department:
    id: strawberry.ID
    code: str = strawberry.field(description="Unique within its region; a department token's `dept` claim")
    name: str
    level: str = strawberry.field(description="COUNTY or CITY: the level of its region")
    region_id: strawberry.ID
    contacts: list[DepartmentContact]
    created_at: datetime

    @strawberry.field(description="The county or city whose directory holds it")
    async def region(self, info: Info) -> Region:
        try:
            return Region(dto=await load_region(info, str(self.region_id)))
        except Forbidden:
            rid = str(self.region_id)
            return Region(dto={"id": rid, "name": rid, "level": self.level, "code": None, "partial": True})


def department_node(d: dict) -> Department:
    return Department(
        id=strawberry.ID(d["id"]),
        code=d["code"],
        name=d["name"],
        level=d["level"],
        region_id=strawberry.ID(d["regionId"]),
        contacts=[DepartmentContact(name=c["name"], title=c.get("title"), phone=c.get("phone")) for c in d["contacts"]],
        created_at=when(d["createdAt"]),
    )


DepartmentConnection = Connection[Department]


@strawberry.type(
    description="A department's figures within a region (its own, or one below it), over all time or the "
    "days of [from, to]: counts of what happened in those days, and the rates of those counts"
)
class DepartmentStats:
    department: Department
    region_id: strawberry.ID
    received: int = strawberry.field(description=DEPT_COUNTERS["received"])
    lead: int = strawberry.field(description=DEPT_COUNTERS["lead"])
    cooperating: int = strawberry.field(description=DEPT_COUNTERS["cooperating"])
    responded: int = strawberry.field(description=DEPT_COUNTERS["responded"])
    replied: int = strawberry.field(description=DEPT_COUNTERS["replied"])
    resolved: int = strawberry.field(description=DEPT_COUNTERS["resolved"])
    resolved_on_time: int = strawberry.field(description=DEPT_COUNTERS["resolved_on_time"])
    returned: int = strawberry.field(description=DEPT_COUNTERS["returned"])
    reworked: int = strawberry.field(description=DEPT_COUNTERS["reworked"])
    extension_count: int = strawberry.field(description="延期数: " + DEPT_COUNTERS["extensions"])
    urge_count: int = strawberry.field(description=DEPT_COUNTERS["urged"])
    rated: int = strawberry.field(description=DEPT_COUNTERS["rated"])
    satisfied: int = strawberry.field(description=DEPT_COUNTERS["satisfied"])
    response_rate: float | None = strawberry.field(description=RANKING_METRICS["responseRate"])
    resolution_rate: float | None = strawberry.field(description=RANKING_METRICS["resolutionRate"])
    on_time_rate: float | None = strawberry.field(description=RANKING_METRICS["onTimeRate"])
    satisfaction_rate: float | None = strawberry.field(description=RANKING_METRICS["satisfactionRate"])
    return_rate: float | None = strawberry.field(description=RANKING_METRICS["returnRate"])
    rework_rate: float | None = strawberry.field(description=RANKING_METRICS["reworkRate"])


STAT_FIELDS = {
    "received": "received",
    "lead": "lead",
    "cooperating": "cooperating",
    "responded": "responded",
    "replied": "replied",
    "resolved": "resolved",
    "resolved_on_time": "resolvedOnTime",
    "returned": "returned",
    "reworked": "reworked",
    "extension_count": "extensionCount",
    "urge_count": "urgeCount",
    "rated": "rated",
    "satisfied": "satisfied",
    "response_rate": "responseRate",
    "resolution_rate": "resolutionRate",
    "on_time_rate": "onTimeRate",
    "satisfaction_rate": "satisfactionRate",
    "return_rate": "returnRate",
    "rework_rate": "reworkRate",
}


def stats_node(d: dict, department: dict, region_id: str) -> DepartmentStats:
    return DepartmentStats(
        department=department_node(department),
        region_id=strawberry.ID(region_id),
        **{name: d[key] for name, key in STAT_FIELDS.items()},
    )


@strawberry.type(description="A department's place in a ranking; departments without a value come last")
class DepartmentRank:
    rank: int
    value: float | None
    department: Department
    stats: DepartmentStats


@strawberry.input(description="A department for the directory of a county or a city")
class DepartmentContactInput:
    name: str
    title: str | None = None
    phone: str | None = None


@strawberry.input(description="A department of a county's or a city's directory")
class CreateDepartmentInput:
    code: str = strawberry.field(description="UPPER_SNAKE, unique within the region, e.g. HOUSING")
    name: str
    region_id: strawberry.ID = strawberry.field(description="A COUNTY or a CITY")
    level: str | None = strawberry.field(default=None, description="COUNTY or CITY; must be the region's level")
    contacts: list[DepartmentContactInput] | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the first department"
    )


METRICS_DESCRIPTION = "One of: " + "; ".join(f"{k} ({v})" for k, v in RANKING_METRICS.items())
Version = Annotated[
    int | None, strawberry.argument(description="Refuse with CONFLICT unless the case is still at this version")
]


@strawberry.type
class DepartmentsQuery:
    @strawberry.field(description="The department directory of a region and of the regions below it, by id")
    async def departments(
        self, info: Info, region_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> DepartmentConnection:
        page = await ctx(info).cases.departments(
            checked(cc.ListDepartments, regionId=str(region_id), page=page_args(first, after))
        )
        return connection(page, department_node)

    @strawberry.field(
        description="A department's figures (按期办结率, 回退率, 重办率, 延期数, 三率) within a region: the "
        "department is found by code in the directory of the region or the nearest one above it"
    )
    async def department_stats(
        self,
        info: Info,
        dept_code: str,
        region_id: strawberry.ID,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> DepartmentStats:
        query: dict[str, Any] = {"deptCode": dept_code, "regionId": str(region_id), "from": from_, "to": to}
        d = await ctx(info).cases.department_stats(checked(cc.DepartmentStatsQuery, query))
        return stats_node(d, d["department"], d["regionId"])

    @strawberry.field(
        description="The departments that handle the region's cases (its directory, those above and below "
        "it), ranked by a metric of their figures in the region. " + METRICS_DESCRIPTION
    )
    async def department_rankings(
        self,
        info: Info,
        region_id: strawberry.ID,
        metric: str,
        order: SortOrder | None = SortOrder.DESC,
        first: int | None = 20,
    ) -> list[DepartmentRank]:
        d = await ctx(info).cases.department_rankings(
            checked(
                cc.DepartmentRankingsQuery,
                regionId=str(region_id),
                metric=metric,
                order=(order or SortOrder.DESC).value,
                first=20 if first is None else first,
            )
        )
        return [
            DepartmentRank(
                rank=x["rank"],
                value=x["value"],
                department=department_node(x["department"]),
                stats=stats_node(x["stats"], x["department"], str(region_id)),
            )
            for x in d["items"]
        ]


def _payload(input: Any) -> dict[str, Any]:
    return {
        "code": input.code,
        "name": input.name,
        "regionId": str(input.region_id),
        "level": input.level,
        "contacts": [{"name": c.name, "title": c.title, "phone": c.phone} for c in input.contacts or []],
        "idempotencyKey": input.idempotency_key,
    }


@strawberry.type
class DepartmentsMutation:
    @strawberry.mutation(
        description="Admins of the region or above: add a department to a county's or city's directory"
    )
    async def create_department(self, info: Info, input: CreateDepartmentInput) -> Department:
        body = _payload(input)
        return department_node(
            await ctx(info).cases.create_department(
                checked(cc.CreateDepartment, **{k: v for k, v in body.items() if v is not None})
            )
        )

    @strawberry.mutation(
        description="派单 to departments of the directory of the case's county (or city): `lead` (主办) becomes "
        "the assignee, each of `cooperating` (协办) replies; from ACCEPTED, or ASSIGNED before work starts"
    )
    async def dispatch_case(
        self,
        info: Info,
        id: strawberry.ID,
        lead: str,
        cooperating: list[str] | None = None,
        expected_version: Version = None,
    ) -> Case:
        return case_node(
            await ctx(info).cases.dispatch(
                command(cc.DispatchCase, id, expected_version, lead=lead, cooperating=cooperating or [])
            )
        )

    @strawberry.mutation(
        description="反馈: a department on the case (主办 or 协办) replies, with attachments of the case"
    )
    async def reply_to_case(
        self,
        info: Info,
        id: strawberry.ID,
        text: str,
        attachment_ids: list[strawberry.ID] | None = None,
        expected_version: Version = None,
        idempotency_key: str | None = None,
    ) -> Case:
        ids = [str(i) for i in attachment_ids or []]
        body = command(
            cc.ReplyToCase, id, expected_version, text=text, attachmentIds=ids, idempotencyKey=idempotency_key
        )
        return case_node(await ctx(info).cases.reply(body))

    @strawberry.mutation(description="退单: the lead department asks to hand the case back; the centre decides")
    async def request_case_return(
        self,
        info: Info,
        id: strawberry.ID,
        reason: str,
        expected_version: Version = None,
        idempotency_key: str | None = None,
    ) -> CaseRequest:
        body = command(cc.RaiseRequest, id, expected_version, reason=reason, idempotencyKey=idempotency_key)
        return case_request_node(await ctx(info).cases.request_return(body))

    @strawberry.mutation(
        description="延期: the lead department asks for a later deadline (`until`, after now and after the "
        "current deadline); the centre decides"
    )
    async def request_case_extension(
        self,
        info: Info,
        id: strawberry.ID,
        until: datetime,
        reason: str,
        expected_version: Version = None,
        idempotency_key: str | None = None,
    ) -> CaseRequest:
        body = command(
            cc.RequestExtension, id, expected_version, until=until, reason=reason, idempotencyKey=idempotency_key
        )
        return case_request_node(await ctx(info).cases.request_extension(body))

    @strawberry.mutation(description="挂起: the lead department or staff ask to stop the clock; the centre decides")
    async def suspend_case(
        self,
        info: Info,
        id: strawberry.ID,
        reason: str,
        expected_version: Version = None,
        idempotency_key: str | None = None,
    ) -> CaseRequest:
        body = command(cc.RaiseRequest, id, expected_version, reason=reason, idempotencyKey=idempotency_key)
        return case_request_node(await ctx(info).cases.suspend(body))

    @strawberry.mutation(description="Resume a suspended case: its deadlines move on by the time it stood still")
    async def resume_case(self, info: Info, id: strawberry.ID, expected_version: Version = None) -> Case:
        return case_node(await ctx(info).cases.resume(command(cc.CaseCommand, id, expected_version)))

    @strawberry.mutation(
        description="The dispatching centre (staff whose scope covers the case) approves or refuses a request; "
        "never one's own"
    )
    async def decide_case_request(
        self, info: Info, request_id: strawberry.ID, approve: bool, note: str | None = None
    ) -> CaseRequest:
        return case_request_node(
            await ctx(info).cases.decide_request(
                checked(cc.DecideCaseRequest, requestId=str(request_id), approve=approve, note=note)
            )
        )

    @strawberry.mutation(description="督办: staff of a level above the one handling the case press for it")
    async def urge_case(
        self,
        info: Info,
        id: strawberry.ID,
        note: str,
        expected_version: Version = None,
        idempotency_key: str | None = None,
    ) -> Case:
        body = command(cc.UrgeCase, id, expected_version, note=note, idempotencyKey=idempotency_key)
        return case_node(await ctx(info).cases.urge(body))
