"""Community funds (活动经费, 费随事转), service catalogues (五项服务) and three-lists matching: types,
queries and thin mutations over the organizations service (FUNDS_API in shared/contracts/funds.py).
Money is in yuan with two decimals at most; the service keeps it in fen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema import fund_enums  # noqa: F401  # the vocabulary's GraphQL enums, registered once
from gateway.schema.common import Connection, connection, dto_type, from_dto, listing, orgs, value_of, when
from gateway.schema.org_types import Need, Project, UnitResource, need_node, project_node, resource_node
from gateway.schema.territory import Region, required_region
from shared.contracts import funds as fc
from shared.vocabulary.resources import (
    FundEntryStatus,
    FundTargetKind,
    NeedStatus,
    ServiceListKind,
    ServiceProviderKind,
)


def _money(value: Any) -> float:
    return float(value or 0)


# --- types ------------------------------------------------------------------------------------------------


@strawberry.type(description="What a spending is for: a proposal, project, activity or service order, or OTHER")
class FundTarget:
    kind: FundTargetKind
    id: strawberry.ID | None


def _target(dto: dict) -> FundTarget:
    t = dto.get("target") or {}
    return FundTarget(kind=FundTargetKind(t.get("kind", "OTHER")), id=strawberry.ID(t["id"]) if t.get("id") else None)


@dto_type(description="A spending from a community fund")
class FundEntry:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    year: int = from_dto(convert=int)
    amount: float = from_dto(convert=_money, description="In yuan")
    purpose: str = from_dto()

    @strawberry.field
    def target(self) -> FundTarget:
        return _target(self.dto)

    attachment_ids: list[strawberry.ID] = from_dto(default=[], description="Receipts, photos (uploadAttachment)")
    status: FundEntryStatus = from_dto()
    recorded_at: datetime = from_dto(convert=when)
    decided_at: datetime | None = from_dto(convert=when)
    note: str = from_dto(default="", description="The approver's note (a rejection's reason)")
    version: int = from_dto(convert=int)


def entry_node(dto: dict) -> FundEntry:
    return FundEntry(dto=dto)


FundEntryConnection = Connection[FundEntry]


@dto_type(description="A community's fund (活动经费) for a year; money in yuan, balance = granted − committed − spent")
class FundAccount:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    year: int = from_dto(convert=int)
    granted: float = from_dto(convert=_money)
    committed: float = from_dto(convert=_money, description="Spendings waiting for approval")
    spent: float = from_dto(convert=_money)
    balance: float = from_dto(convert=_money)
    approval_above: float = from_dto(convert=_money, description="Spendings above this wait for approval")
    created_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int)

    @strawberry.field(description="Its spendings, newest first")
    async def entries(self, info: Info, first: int | None = None, after: str | None = None) -> FundEntryConnection:
        q = {"communityId": self.dto["communityId"], "year": self.dto["year"]}
        return connection(await orgs(info).list_fund_entries(listing(fc.ListFundEntries, q, first, after)), entry_node)


@dto_type(description="A spending as the public sees it (两公开): what was spent on what, no names")
class PublicFundEntry:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    amount: float = from_dto(convert=_money)
    purpose: str = from_dto()

    @strawberry.field
    def target(self) -> FundTarget:
        return _target(self.dto)

    status: FundEntryStatus = from_dto()
    recorded_at: datetime = from_dto(convert=when)


PublicFundEntryConnection = Connection[PublicFundEntry]


@strawberry.type(description="The public summary of a community's fund for a year: totals and spendings (两公开)")
class FundSummary:
    community_id: strawberry.ID
    community_name: str = strawberry.field(description="The community's name (its Region is for staff)")
    year: int
    opened: bool = strawberry.field(description="False while the community has no fund for the year (all zero)")
    granted: float
    committed: float
    spent: float
    balance: float
    entries: PublicFundEntryConnection


@strawberry.type
class ServiceProvider:
    kind: ServiceProviderKind
    id: strawberry.ID
    name: str


@strawberry.type(description="How a resident orders a service")
class HowToOrder:
    channel: str = strawberry.field(description="窗口, 热线, 小程序…")
    contact: str = strawberry.field(description="The service's public contact")
    hours: str


@dto_type(description="A service of a community's catalogue (五项服务)")
class ServiceListEntry:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    community_id: strawberry.ID = from_dto(description="The community (anyone); `community` is for staff in scope")

    @strawberry.field
    async def community(self, info: Info) -> Region:
        return await required_region(info, self.dto["communityId"])

    kind: ServiceListKind = from_dto()
    title: str = from_dto()
    description: str = from_dto(default="")

    @strawberry.field
    def provider(self) -> ServiceProvider:
        p = self.dto["provider"]
        return ServiceProvider(kind=ServiceProviderKind(p["kind"]), id=strawberry.ID(p["id"]), name=p["name"])

    @strawberry.field
    def how_to_order(self) -> HowToOrder:
        h = self.dto["howToOrder"]
        return HowToOrder(channel=h["channel"], contact=h.get("contact", ""), hours=h.get("hours", ""))

    active: bool = from_dto(default=True)
    updated_at: datetime | None = from_dto(convert=when)
    version: int = from_dto(convert=int)


@strawberry.type(description="Three-lists matching: resources and projects of a need's category, nearest first")
class NeedSuggestions:
    need: Need
    resources: list[UnitResource]
    projects: list[Project]


# --- inputs -----------------------------------------------------------------------------------------------


@strawberry.input
class FundTargetInput:
    kind: FundTargetKind
    id: strawberry.ID | None = None


@strawberry.input(description="A spending from a community's fund of a year")
class RecordSpendingInput:
    community_id: strawberry.ID
    year: int
    amount: float = strawberry.field(description="Yuan, two decimals at most, more than 0")
    purpose: str
    target: FundTargetInput
    attachment_ids: list[strawberry.ID] | None = None
    idempotency_key: str | None = None


@strawberry.input
class ServiceProviderInput:
    kind: ServiceProviderKind
    id: strawberry.ID = strawberry.field(description="The unit's id (checked), or the team's or department's")
    name: str = strawberry.field(description="For a unit, its registered name is used")


@strawberry.input
class HowToOrderInput:
    channel: str
    contact: str | None = None
    hours: str | None = None


@strawberry.input
class AddServiceListEntryInput:
    community_id: strawberry.ID
    kind: ServiceListKind
    title: str
    description: str | None = None
    provider: ServiceProviderInput
    how_to_order: HowToOrderInput
    idempotency_key: str | None = None


@strawberry.input(description="The fields to change; unset ones stay")
class UpdateServiceListEntryInput:
    kind: ServiceListKind | None = None
    title: str | None = None
    description: str | None = None
    provider: ServiceProviderInput | None = None
    how_to_order: HowToOrderInput | None = None


def _service_entry(dto: dict) -> ServiceListEntry:
    return ServiceListEntry(dto=dto)


# --- queries and mutations --------------------------------------------------------------------------------


@strawberry.type
class FundsQuery:
    @strawberry.field(description="A community's fund for a year (staff in scope)")
    async def fund_account(self, info: Info, community_id: strawberry.ID, year: int) -> FundAccount:
        dto = await orgs(info).fund_account(checked(fc.FundAccountQuery, communityId=community_id, year=year))
        return FundAccount(dto=dto)

    @strawberry.field(description="The spendings of a community's fund for a year, newest first (staff in scope)")
    async def fund_entries(
        self, info: Info, community_id: strawberry.ID, year: int, first: int | None = None, after: str | None = None
    ) -> FundEntryConnection:
        q = {"communityId": community_id, "year": year}
        return connection(await orgs(info).list_fund_entries(listing(fc.ListFundEntries, q, first, after)), entry_node)

    @strawberry.field(description="The public summary of a community's fund for a year: anyone may read it (两公开)")
    async def fund_summary(
        self, info: Info, community_id: strawberry.ID, year: int, first: int | None = None, after: str | None = None
    ) -> FundSummary:
        q = {"communityId": community_id, "year": year}
        dto = await orgs(info).fund_summary(listing(fc.ListFundEntries, q, first, after))
        account = dto.get("account") or {}
        return FundSummary(
            community_id=community_id,
            community_name=dto.get("communityName") or "",
            year=year,
            opened=bool(account),
            granted=_money(account.get("granted")),
            committed=_money(account.get("committed")),
            spent=_money(account.get("spent")),
            balance=_money(account.get("balance")),
            entries=connection(dto["entries"], lambda d: PublicFundEntry(dto=d)),
        )

    @strawberry.field(description="A community's service catalogue (五项服务): anyone may read it")
    async def service_catalogue(
        self,
        info: Info,
        community_id: strawberry.ID,
        kind: ServiceListKind | None = None,
        include_retired: Annotated[bool, strawberry.argument(description="Staff of the community only")] = False,
    ) -> list[ServiceListEntry]:
        q = checked(fc.CatalogueQuery, communityId=community_id, kind=value_of(kind), includeRetired=include_retired)
        return [_service_entry(x) for x in (await orgs(info).service_catalogue(q))["items"]]

    @strawberry.field(description="Three-lists matching: resources and projects for a need, nearest regions first")
    async def need_suggestions(self, info: Info, need_id: strawberry.ID, first: int = 10) -> NeedSuggestions:
        dto = await orgs(info).suggest_for_need(checked(fc.SuggestForNeed, needId=need_id, first=first))
        return NeedSuggestions(
            need=need_node(dto["need"]),
            resources=[resource_node(x) for x in dto["resources"]],
            projects=[project_node(x) for x in dto["projects"]],
        )


@strawberry.type
class FundsMutation:
    @strawberry.mutation(
        description="Open a community's fund for a year (one per community and year; the same grant "
        "again returns it). `approvalAbove`: the community's own threshold, at most the deployment's"
    )
    async def create_fund_account(
        self,
        info: Info,
        community_id: strawberry.ID,
        year: int,
        granted: float,
        approval_above: float | None = None,
    ) -> FundAccount:
        body = checked(
            fc.OpenFundAccount, communityId=community_id, year=year, granted=granted, approvalAbove=approval_above
        )
        return FundAccount(dto=await orgs(info).open_fund_account(body))

    @strawberry.mutation(
        description="Spend from a community's fund: at or below the threshold at once, above it "
        "committed until approved; never below zero"
    )
    async def record_spending(self, info: Info, input: RecordSpendingInput) -> FundEntry:
        return entry_node(await orgs(info).record_spending(checked(fc.RecordSpending, input)))

    @strawberry.mutation(
        description="An admin above the community (not the recorder) approves or rejects a "
        "committed spending; a rejection needs a note"
    )
    async def approve_spending(
        self, info: Info, entry_id: strawberry.ID, approve: bool, note: str | None = None
    ) -> FundEntry:
        body = checked(fc.DecideSpending, entryId=entry_id, approve=approve, note=note)
        return entry_node(await orgs(info).decide_spending(body))

    @strawberry.mutation(description="Add a service to a community's catalogue (五项服务)")
    async def add_service_list_entry(self, info: Info, input: AddServiceListEntryInput) -> ServiceListEntry:
        return _service_entry(await orgs(info).add_service(checked(fc.AddServiceEntry, input)))

    @strawberry.mutation(description="Change a service of a community's catalogue")
    async def update_service_list_entry(
        self, info: Info, id: strawberry.ID, input: UpdateServiceListEntryInput, expected_version: int | None = None
    ) -> ServiceListEntry:
        body = checked(fc.UpdateServiceEntry, input, id=id, expectedVersion=expected_version)
        return _service_entry(await orgs(info).update_service(body))

    @strawberry.mutation(description="Take a service out of a community's catalogue, with a reason")
    async def retire_service_list_entry(
        self, info: Info, id: strawberry.ID, reason: str, expected_version: int | None = None
    ) -> ServiceListEntry:
        body = checked(fc.RetireServiceEntry, id=id, reason=reason, expectedVersion=expected_version)
        return _service_entry(await orgs(info).retire_service(body))

    @strawberry.mutation(description="Move a need: OPEN → MATCHED → DONE, back to OPEN, or CLOSED with a reason")
    async def update_need_status(
        self,
        info: Info,
        id: strawberry.ID,
        status: NeedStatus,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Need:
        body = checked(fc.MoveNeed, id=id, status=status.value, note=note, expectedVersion=expected_version)
        return need_node(await orgs(info).move_need(body))
