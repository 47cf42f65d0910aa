"""Wire models of the community fund, the service catalogue and three-lists matching (verbs of
the organizations service; the replies are in FUNDS_API)."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.common import Page, Wire
from shared.vocabulary.resources import (
    FundTargetKind,
    ListCategory,
    NeedStatus,
    ServiceListKind,
    ServiceProviderKind,
)

Id = Field(min_length=1, max_length=64)
Key = Field(default=None, max_length=128)
Year = Field(ge=2000, le=2100)


class OpenFundAccount(Wire):
    communityId: str = Id
    year: int = Year
    granted: float = Field(ge=0)  # yuan, two decimals at most
    approvalAbove: float | None = Field(default=None, ge=0)  # the community's own, stricter threshold


class FundAccountQuery(Wire):
    communityId: str = Id
    year: int = Year


class FundTargetInput(Wire):
    kind: FundTargetKind
    id: str | None = Field(default=None, max_length=64)


class RecordSpending(Wire):
    communityId: str = Id
    year: int = Year
    amount: float = Field(gt=0)  # yuan, two decimals at most
    purpose: str = Field(min_length=1, max_length=200)
    target: FundTargetInput
    attachmentIds: list[str] = Field(default_factory=list, max_length=20)
    idempotencyKey: str | None = Key


class DecideSpending(Wire):
    entryId: str = Id
    approve: bool
    note: str = Field(default="", max_length=500)


class ListFundEntries(Page):
    communityId: str = Id
    year: int = Year


class EntriesByTarget(Page):
    """`fund.entries`: the spendings linked to one proposal, project, activity or order."""

    kind: FundTargetKind
    id: str = Id


class ProviderInput(Wire):
    kind: ServiceProviderKind
    id: str = Id
    name: str = Field(min_length=1, max_length=100)


class HowToOrderInput(Wire):
    channel: str = Field(min_length=1, max_length=100)
    contact: str = Field(default="", max_length=100)
    hours: str = Field(default="", max_length=100)


class AddServiceEntry(Wire):
    communityId: str = Id
    kind: ServiceListKind
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    provider: ProviderInput
    howToOrder: HowToOrderInput
    idempotencyKey: str | None = Key


class UpdateServiceEntry(Wire):
    id: str = Id
    kind: ServiceListKind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    provider: ProviderInput | None = None
    howToOrder: HowToOrderInput | None = None
    expectedVersion: int | None = None


class RetireServiceEntry(Wire):
    id: str = Id
    reason: str = Field(min_length=1, max_length=500)
    expectedVersion: int | None = None


class CatalogueQuery(Wire):
    communityId: str = Id
    kind: ServiceListKind | None = None
    includeRetired: bool = False


class MoveNeed(Wire):
    id: str = Id
    status: NeedStatus
    note: str = Field(default="", max_length=500)
    expectedVersion: int | None = None


class SuggestForNeed(Wire):
    needId: str = Id
    first: int = Field(default=10, ge=1, le=50)


CategoryName = ListCategory

FUNDS_API = """
Verbs (yiwang.organizations.<verb>) and their replies:
  fund.open OpenFundAccount -> FundAccount (one per community and year: the same grant again returns it)
  fund.account FundAccountQuery -> FundAccount | null     fund.spend RecordSpending -> FundEntry
  fund.approve DecideSpending -> FundEntry                fund.list ListFundEntries -> Page of FundEntry
  fund.entries EntriesByTarget -> Page of FundEntry (staff in scope: by proposal, project, activity, order)
  fund.summary ListFundEntries -> {communityName, account, entries} (anyone: totals; purposes, amounts, targets)
  catalogue.add AddServiceEntry -> ServiceEntry   catalogue.update UpdateServiceEntry -> ServiceEntry
  catalogue.retire RetireServiceEntry -> ServiceEntry   catalogue.list CatalogueQuery -> {items} (anyone)
  need.move MoveNeed -> Need    need.suggest SuggestForNeed -> {resources: [Resource], projects: [Project]}
FundAccount: {id communityId year granted committed spent balance approvalAbove createdAt version} (yuan)
FundEntry: {id accountId communityId year amount purpose target {kind id} attachmentIds status recordedAt
  decidedAt note version}; the public summary's entries carry id amount purpose target status recordedAt only.
"""

FUNDS_REQUESTS: dict[str, type[Wire]] = {
    "fund.open": OpenFundAccount,
    "fund.account": FundAccountQuery,
    "fund.spend": RecordSpending,
    "fund.approve": DecideSpending,
    "fund.list": ListFundEntries,
    "fund.entries": EntriesByTarget,
    "fund.summary": ListFundEntries,
    "catalogue.add": AddServiceEntry,
    "catalogue.update": UpdateServiceEntry,
    "catalogue.retire": RetireServiceEntry,
    "catalogue.list": CatalogueQuery,
    "need.move": MoveNeed,
    "need.suggest": SuggestForNeed,
}
