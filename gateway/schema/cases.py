"""Cases: queries and thin mutations. Each builds the service payload, calls `cases`, wraps the DTO;
the service checks roles, scope and workflow rules and masks personal data."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.case_types import (
    Case,
    CaseCatalogue,
    CaseCategory,
    CaseConnection,
    Reporter,
    case_node,
    catalogue_node,
    category_node,
    load_case,
    reporter_node,
)
from gateway.schema.common import Reader, command, connection, ctx, drop_none, page_args, reader, selects, value_of
from gateway.schema.enums import AssigneeKind, CaseChannel, CaseStatus, HandlingLevel, RequestKind
from shared.contracts import cases as cc


@strawberry.input(description="A report: a point (lng, lat), located to its grid, or a grid's regionId")
class ReportCaseInput:
    title: str
    description: str = ""
    category_code: str
    channel: CaseChannel
    reporter_name: str
    reporter_phone: str | None = None
    lng: float | None = None
    lat: float | None = None
    region_id: strawberry.ID | None = strawberry.field(default=None, description="A GRID, or a BUILDING of one")
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the first case"
    )
    kind: RequestKind | None = strawberry.field(default=None, description="Default: the category's kind")
    reporter_sub: str | None = strawberry.field(
        default=None, description="Staff entering a report for a resident with an account: their `sub`"
    )
    building_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The BUILDING of the case's grid it happened in (楼栋); a category handled at BUILDING "
        "level then starts there. A building leader's own building when it reports without one",
    )


@strawberry.input
class AssigneeInput:
    kind: AssigneeKind
    id: str
    name: str | None = None


@strawberry.input
class CaseFilter:
    region_id: strawberry.ID | None = strawberry.field(default=None, description="Cases in this subtree")
    status: CaseStatus | None = None
    statuses: list[CaseStatus] | None = strawberry.field(default=None, description="Any of these statuses")
    level: HandlingLevel | None = None
    overdue: bool | None = None
    category: str | None = strawberry.field(default=None, description="A category code")
    mine: bool = strawberry.field(
        default=False, description="Only your own reports (residents) or assignments (handlers)"
    )


@strawberry.input(description="A category's SLA at one level")
class CaseLevelSlaInput:
    level: HandlingLevel
    working: str = strawberry.field(description='"4h" working hours, "2d" working days')


@strawberry.input(description="A catalogue entry to add or replace (by code)")
class CaseCategoryInput:
    code: str
    name: str
    default_level: HandlingLevel
    group: str | None = None
    department: str | None = None
    sla_seconds: int | None = None
    kind: RequestKind | None = None
    sla_working: str | None = strawberry.field(
        default=None, description='Working time instead of slaSeconds: "4h" working hours, "2d" working days'
    )
    sla_by_level: list[CaseLevelSlaInput] | None = strawberry.field(
        default=None, description="The SLA at some levels, in working time; before slaWorking"
    )
    requires_verification: bool = strawberry.field(
        default=False, description="A resolution waits for the centre's verification (核查) whoever handled it"
    )
    requires_after_photo: bool | None = strawberry.field(
        default=None, description="Resolve only with a RESOLUTION-stage photo on the case"
    )


def list_payload(f: CaseFilter | None) -> dict[str, Any]:
    if f is None:
        return {}
    statuses = list(dict.fromkeys([s.value for s in f.statuses or []] + ([f.status.value] if f.status else [])))
    return drop_none(
        {
            "regionId": f.region_id,
            "status": statuses or None,
            "level": value_of(f.level),
            "overdue": f.overdue,
            "categoryCode": f.category,
            "mine": f.mine or None,
        }
    )


read_case: Reader[Case] = reader(load_case, case_node)


@strawberry.type
class CasesQuery:
    @strawberry.field
    async def case(self, info: Info, id: strawberry.ID) -> Case | None:
        return await read_case(info, str(id))

    @strawberry.field(description="Cases in your scope, newest first (residents: their own)")
    async def cases(
        self, info: Info, filter: CaseFilter | None = None, first: int | None = None, after: str | None = None
    ) -> CaseConnection:
        page = await ctx(info).cases.list(
            checked(
                cc.ListCases,
                **list_payload(filter),
                page=page_args(first, after),
                withTotal=selects(info, "totalCount"),
            )
        )
        return connection(page, case_node)

    @strawberry.field(description="The current dispatch catalogue (派单目录)")
    async def case_categories(self, info: Info) -> list[CaseCategory]:
        return [category_node(c) for c in (await ctx(info).cases.catalogue())["categories"]]

    @strawberry.field(description="The dispatch catalogue with its version")
    async def case_catalogue(self, info: Info) -> CaseCatalogue:
        return catalogue_node(await ctx(info).cases.catalogue())


Version = Annotated[
    int | None, strawberry.argument(description="Refuse with CONFLICT unless the case is still at this version")
]


@strawberry.type
class CasesMutation:
    @strawberry.mutation(description="Report a case (上报); a point is located to its grid")
    async def report_case(self, info: Info, input: ReportCaseInput) -> Case:
        return case_node(await ctx(info).cases.report(checked(cc.ReportCase, input)))

    @strawberry.mutation(description="受理: take the case on at its level; starts the SLA clock")
    async def accept_case(self, info: Info, id: strawberry.ID, expected_version: Version = None) -> Case:
        return case_node(await ctx(info).cases.accept(command(cc.CaseCommand, id, expected_version)))

    @strawberry.mutation(
        description="派单: to a grid worker, the community, a department, a volunteer or (at BUILDING level) "
        "the building's leader"
    )
    async def assign_case(
        self, info: Info, id: strawberry.ID, assignee: AssigneeInput, expected_version: Version = None
    ) -> Case:
        return case_node(await ctx(info).cases.assign(command(cc.AssignCase, id, expected_version, assignee=assignee)))

    @strawberry.mutation(description="处置: the assignee starts work")
    async def start_case(self, info: Info, id: strawberry.ID, expected_version: Version = None) -> Case:
        return case_node(await ctx(info).cases.start(command(cc.CaseCommand, id, expected_version)))

    @strawberry.mutation(description="办结: record how it was solved; the reporter is asked to rate")
    async def resolve_case(
        self, info: Info, id: strawberry.ID, resolution: str, expected_version: Version = None
    ) -> Case:
        return case_node(
            await ctx(info).cases.resolve(command(cc.ResolveCase, id, expected_version, resolution=resolution))
        )

    @strawberry.mutation(description="上报: move the case one level up, with a new deadline")
    async def escalate_case(self, info: Info, id: strawberry.ID, reason: str, expected_version: Version = None) -> Case:
        return case_node(await ctx(info).cases.escalate(command(cc.WithReason, id, expected_version, reason=reason)))

    @strawberry.mutation(description="不予受理, with the reason the reporter will see")
    async def reject_case(self, info: Info, id: strawberry.ID, reason: str, expected_version: Version = None) -> Case:
        return case_node(await ctx(info).cases.reject(command(cc.WithReason, id, expected_version, reason=reason)))

    @strawberry.mutation(description="退单: a department hands an assignment back, with the reason")
    async def return_case(self, info: Info, id: strawberry.ID, reason: str, expected_version: Version = None) -> Case:
        return case_node(await ctx(info).cases.return_(command(cc.WithReason, id, expected_version, reason=reason)))

    @strawberry.mutation(description="评价 1–5 by a reporter: 1–2 reopen the case once, 3–5 close it")
    async def rate_case(
        self, info: Info, id: strawberry.ID, score: int, comment: str | None = None, expected_version: Version = None
    ) -> Case:
        return case_node(
            await ctx(info).cases.rate(command(cc.RateCase, id, expected_version, score=score, comment=comment))
        )

    @strawberry.mutation(description="结案 without a rating (e.g. after a follow-up call)")
    async def close_case(
        self, info: Info, id: strawberry.ID, note: str | None = None, expected_version: Version = None
    ) -> Case:
        return case_node(await ctx(info).cases.close(command(cc.CloseCase, id, expected_version, note=note)))

    @strawberry.mutation(
        description="并单: fold a duplicate into another case; every reporter keeps following "
        "and rating it. `force` merges across categories or distance. "
        "Returns the case merged into"
    )
    async def merge_case(
        self,
        info: Info,
        id: strawberry.ID,
        into_id: strawberry.ID,
        force: bool = False,
        expected_version: Version = None,
    ) -> Case:
        return case_node(
            await ctx(info).cases.merge(
                command(cc.MergeCase, id, expected_version, intoId=str(into_id), force=force or None)
            )
        )

    @strawberry.mutation(description="Admins: a reporter's phone unmasked; leaves CONTACT_REVEALED in the timeline")
    async def reveal_reporter_contact(
        self, info: Info, case_id: strawberry.ID, reason: str, reporter_index: int = 0
    ) -> Reporter:
        d = await ctx(info).cases.reveal_contact(
            checked(cc.RevealContact, caseId=str(case_id), reason=reason, reporterIndex=reporter_index)
        )
        return reporter_node({**d, "index": reporter_index})

    @strawberry.mutation(description="Admins: add or replace a catalogue entry")
    async def upsert_case_category(self, info: Info, input: CaseCategoryInput) -> CaseCatalogue:
        return catalogue_node(await ctx(info).cases.upsert_category(checked(cc.CategoryInput, input)))

    @strawberry.mutation(description="Admins: remove a catalogue entry (cases keep its code and name)")
    async def remove_case_category(self, info: Info, code: str) -> CaseCatalogue:
        return catalogue_node(await ctx(info).cases.remove_category(checked(cc.RemoveCategory, code=code)))
