"""The community funds' figures of a region (`overview.organizations.funds`), kept with the writes."""

from __future__ import annotations

import strawberry

from shared.vocabulary.resources import FUND_COUNTER_DEFINITIONS


@strawberry.type(description="Community funds (活动经费) of the communities in a region, every year, in yuan")
class FundStats:
    account_count: int = strawberry.field(description=FUND_COUNTER_DEFINITIONS["fund_accounts"])
    granted: float = strawberry.field(description="Money granted to the funds")
    committed: float = strawberry.field(description="Money committed: spendings waiting for approval")
    spent: float = strawberry.field(description="Money spent")
    balance: float = strawberry.field(description="granted − committed − spent")


def fund_stats(dto: dict | None) -> FundStats:
    d = dto or {}
    return FundStats(
        account_count=int(d.get("accountCount") or 0),
        granted=float(d.get("granted") or 0),
        committed=float(d.get("committed") or 0),
        spent=float(d.get("spent") or 0),
        balance=float(d.get("balance") or 0),
    )
