"""Visits (走访): record one, list them, a grid's visit plan, the visiting rules (三必到五必访), a case
from a visit's finding."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.case_types import Attachment, Case, GeoPoint, attachment_nodes, case_node
from gateway.schema.cases import ReportCaseInput
from gateway.schema.common import (
    Connection,
    LazyRecord,
    Node,
    connection,
    ctx,
    drop_none,
    dto_type,
    from_dto,
    grids,
    listing,
    when,
)
from gateway.schema.loads import load_case
from gateway.schema.territory import Region, load_region
from shared.contracts import cases as cc
from shared.contracts import grids as gc
from shared.contracts.common import ById
from shared.errors import Forbidden, Unavailable

if TYPE_CHECKING:
    from gateway.schema.households import Household

HouseholdRef = Annotated["Household", strawberry.lazy("gateway.schema.households")]
HOUSEHOLD = LazyRecord("Household", "gateway.schema.households")


@dto_type(description="A visit (走访) to a household or a building; `findings` to whoever sees the household")
class Visit(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field
    async def household(self, info: Info) -> HouseholdRef | None:
        hid = self.dto.get("householdId")
        if not hid:
            return None
        try:
            dto = await ctx(info).loaders.household_by_id.load(hid)
        except Forbidden:
            return None
        return HOUSEHOLD.of(dto) if dto else None

    @strawberry.field
    async def building(self, info: Info) -> Region | None:
        try:
            return Region(dto=await load_region(info, self.dto["buildingId"]))
        except Forbidden:
            return None

    kind: str = from_dto(description="A visiting rule's code (see visitRules), or ROUTINE")
    findings: str | None = from_dto()
    at: datetime = from_dto(convert=when)

    @strawberry.field(description="Where it was recorded (checked against the grid)")
    def location(self) -> GeoPoint | None:
        loc = self.dto.get("location")
        return GeoPoint(lng=loc["lng"], lat=loc["lat"]) if loc else None

    flagged: bool = from_dto(default=False, description="Recorded outside the grid (or with no place), with a reason")
    override_reason: str | None = from_dto()
    visitor: str = from_dto(description="The `sub` of who visited")

    @strawberry.field
    def attachments(self) -> list[Attachment]:
        return attachment_nodes(self.dto.get("attachments"))

    @strawberry.field(description="The case reported from this visit's finding (channel GRID_PATROL)")
    async def case(self, info: Info) -> Case | None:
        case_id = self.dto.get("caseId")
        if not case_id:
            return None
        try:
            dto = await load_case(info, case_id)
        except Forbidden:
            return None
        return case_node(dto) if dto else None

    created_at: datetime = from_dto(convert=when)
    version: int = from_dto()


def visit_node(dto: dict) -> Visit:
    return Visit(dto=dto)


async def read_visit(info: Info, visit_id: str) -> Visit | None:
    """The single read of a visit (its query and node(id:)): FORBIDDEN outside the caller's household scope."""
    dto = await grids(info).get_visit(checked(ById, id=visit_id))
    return visit_node(dto) if dto else None


@strawberry.type(description="A visit due (or overdue) to a household under a must-visit rule")
class VisitDue:
    dto: strawberry.Private[dict[str, Any]]

    @strawberry.field
    async def household(self, info: Info) -> HouseholdRef:
        return HOUSEHOLD.of(await ctx(info).loaders.household_by_id.load(self.dto["householdId"]))

    @strawberry.field
    async def rule(self, info: Info) -> VisitRule:
        found = await ctx(info).loaders.visit_rule_by_code.load(self.dto["rule"])
        return VisitRule(
            dto=found or {"code": self.dto["rule"], "name": self.dto.get("ruleName") or "", "kind": "MUST_VISIT"}
        )

    @strawberry.field
    def due_at(self) -> datetime:
        return when(self.dto["dueAt"])

    @strawberry.field
    def overdue(self) -> bool:
        return bool(self.dto["overdue"])


@dto_type(
    description="A visiting rule: a must-visit group (必访, by household tag, every intervalDays) or a "
    "must-attend occasion (必到, within withinDays of hearing of it)"
)
class VisitRule:
    dto: strawberry.Private[dict[str, Any]]

    code: str = from_dto()
    name: str = from_dto()
    kind: str = from_dto(description="MUST_VISIT or MUST_ATTEND")
    tag: str | None = from_dto()
    interval_days: int | None = from_dto()
    within_days: int | None = from_dto()
    active: bool = from_dto(default=True)


@strawberry.input
class RecordVisitInput:
    household_id: strawberry.ID | None = None
    building_id: strawberry.ID | None = strawberry.field(
        default=None, description="A visit to a building, no household"
    )
    kind: str = strawberry.field(description="A visiting rule's code, or ROUTINE")
    findings: str | None = None
    at: datetime | None = strawberry.field(default=None, description="Default: now")
    lng: float | None = None
    lat: float | None = None
    override_reason: str | None = strawberry.field(
        default=None, description="Why the place lies outside the grid (or there is none); the visit is then flagged"
    )
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the first visit"
    )


@strawberry.input
class VisitRuleInput:
    code: str
    name: str
    kind: str = strawberry.field(description="MUST_VISIT or MUST_ATTEND")
    tag: str | None = None
    interval_days: int | None = None
    within_days: int | None = None
    active: bool = True


@strawberry.type
class VisitsQuery:
    @strawberry.field(description="Visits in a region (its subtree), newest first; a community and below")
    async def visits(
        self,
        info: Info,
        region_id: strawberry.ID,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Visit]:
        q = listing(gc.ListVisits, {"regionId": str(region_id), "from": from_, "to": to}, first, after)
        return connection(await grids(info).list_visits(q), visit_node)

    @strawberry.field(description="A grid's visits due (within `withinDays`, default 7) and overdue, soonest first")
    async def visit_plan(self, info: Info, grid_id: strawberry.ID, within_days: int | None = None) -> list[VisitDue]:
        q = checked(gc.VisitPlanQuery, drop_none({"gridId": str(grid_id), "withinDays": within_days}))
        return [VisitDue(dto=d) for d in (await grids(info).visit_plan(q))["items"]]

    @strawberry.field(description="The visiting rules (三必到五必访) every region follows")
    async def visit_rules(self, info: Info) -> list[VisitRule]:
        ctx(info).principal  # noqa: B018 - a valid token
        return [VisitRule(dto=r) for r in (await grids(info).visit_rules())["rules"]]

    @strawberry.field
    async def visit(self, info: Info, id: strawberry.ID) -> Visit | None:
        return await read_visit(info, str(id))


@strawberry.type
class VisitsMutation:
    @strawberry.mutation(description="走访: record a visit to a household (or a building) where it happens")
    async def record_visit(self, info: Info, input: RecordVisitInput) -> Visit:
        body = checked(gc.RecordVisit, input)
        return visit_node(await grids(info).record_visit(body))

    @strawberry.mutation(
        description="Turn a visit's finding into a case (channel GRID_PATROL), linked both ways; "
        "asked again, the same case"
    )
    async def report_from_visit(self, info: Info, visit_id: strawberry.ID, input: ReportCaseInput) -> Case:
        report = checked(cc.ReportCase, input)
        body = checked(
            gc.ReportFromVisit, visitId=str(visit_id), report=report.model_dump(mode="json", exclude_unset=True)
        )
        visit = await grids(info).report_from_visit(body)
        dto = await load_case(info, visit["caseId"]) if visit.get("caseId") else None
        if dto is None:  # recorded with the visit, reported by grids' consumer in a moment
            raise Unavailable("the case is being reported from the visit; ask again to read it")
        return case_node(dto)

    @strawberry.mutation(description="Set the visiting rules (a city's administrator); households are rescheduled")
    async def set_visit_rules(self, info: Info, rules: list[VisitRuleInput]) -> list[VisitRule]:
        body = checked(gc.SetVisitRules, rules=rules)
        return [VisitRule(dto=r) for r in (await grids(info).set_visit_rules(body))["rules"]]
