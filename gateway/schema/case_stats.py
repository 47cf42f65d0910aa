"""`overview.cases`: case figures of a region, read from the service's rollups.

Each figure's definition is the one the service computes it by (its rollups module)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from gateway.schema.common import ctx
from gateway.schema.enums import CaseChannel, HandlingLevel
from shared.vocabulary.cases import COUNTER_DEFINITIONS, RATE_DEFINITIONS

_DEFS = COUNTER_DEFINITIONS | RATE_DEFINITIONS


def figure(name: str) -> Any:
    return strawberry.field(description=_DEFS[name])


@strawberry.type(description="Resolved cases at one handling level")
class LevelCount:
    level: HandlingLevel
    count: int


@strawberry.type(description="满意率 of the cases that came in through one channel")
class ChannelSatisfaction:
    channel: CaseChannel
    evaluated: int = strawberry.field(description="Reporters' ratings plus reached return visits")
    satisfied: int = strawberry.field(description="Ratings of 4–5 plus reached visits SATISFIED or BASICALLY_SATISFIED")

    @strawberry.field(description="satisfied / evaluated; null while nothing was evaluated")
    def rate(self) -> float | None:
        return self.satisfied / self.evaluated if self.evaluated else None


@strawberry.type(
    description="Case figures of a region and everything below it, kept with the writes. "
    "Rates are null while their denominator is 0."
)
class CaseStats:
    total: int = figure("total")
    open: int = figure("open")
    overdue: int = figure("overdue")
    resolved: int = figure("resolved")
    closed: int = figure("closed")
    rejected: int = figure("rejected")
    merged: int = figure("merged")
    responded: int = figure("responded")
    resolved_on_time: int = figure("resolved_on_time")
    rated: int = figure("rated")
    satisfied: int = figure("satisfied")
    awaiting_rating: int = figure("awaiting_rating")
    resolved_by_level: list[LevelCount] = strawberry.field(
        description=" ".join(COUNTER_DEFINITIONS[f"resolved_by_level.{lvl.value}"] for lvl in HandlingLevel)
    )
    response_rate: float | None = figure("response_rate")
    resolution_rate: float | None = figure("resolution_rate")
    satisfaction_rate: float | None = figure("satisfaction_rate")
    fengqiao_share: float | None = figure("fengqiao_share")
    # follow-up: verification, return visits, handling (API.md "v2: command centre")
    on_time_rate: float | None = figure("on_time_rate")
    return_rate: float | None = figure("return_rate")
    rework_rate: float | None = figure("rework_rate")
    awaiting_verification: int = figure("awaiting_verification")
    verified: int = figure("verified")
    reworked: int = figure("reworked")
    visited: int = figure("visited")
    visit_satisfied: int = figure("visit_satisfied")
    return_visit_pending: int = figure("return_visit_pending")
    return_visit_overdue: int = figure("return_visit_overdue")
    dispatched: int = figure("dispatched")
    returned: int = figure("returned")
    return_count: int = figure("returns")
    extension_count: int = figure("extensions")
    urge_count: int = figure("urges")
    corrected: int = figure("corrected")
    property_disputes: int = figure("property_disputes")  # committees: disputes per estate
    open_property_disputes: int = figure("property_disputes_open")
    satisfaction_by_channel: list[ChannelSatisfaction] = strawberry.field(
        default_factory=list,
        description="满意率 by the channel cases came in through: ratings and reached return visits",
    )


_COUNTS = {
    "total": "total",
    "open": "open",
    "overdue": "overdue",
    "resolved": "resolved",
    "closed": "closed",
    "rejected": "rejected",
    "merged": "merged",
    "responded": "responded",
    "resolved_on_time": "resolvedOnTime",
    "rated": "rated",
    "satisfied": "satisfied",
    "awaiting_rating": "awaitingRating",
    # follow-up
    "awaiting_verification": "awaitingVerification",
    "verified": "verified",
    "reworked": "reworked",
    "visited": "visited",
    "visit_satisfied": "visitSatisfied",
    "return_visit_pending": "returnVisitPending",
    "return_visit_overdue": "returnVisitOverdue",
    "dispatched": "dispatched",
    "returned": "returned",
    "return_count": "returnCount",
    "extension_count": "extensionCount",
    "urge_count": "urgeCount",
    "corrected": "corrected",
    "property_disputes": "propertyDisputes",  # committees
    "open_property_disputes": "openPropertyDisputes",
}
_RATES = {
    "response_rate": "responseRate",
    "resolution_rate": "resolutionRate",
    "satisfaction_rate": "satisfactionRate",
    "fengqiao_share": "fengqiaoShare",
    "on_time_rate": "onTimeRate",
    "return_rate": "returnRate",
    "rework_rate": "reworkRate",
}


def case_stats(dto: dict) -> CaseStats:
    by_level = dto.get("resolvedByLevel") or {}
    figures: dict[str, Any] = {k: int(dto.get(w) or 0) for k, w in _COUNTS.items()}
    figures |= {k: dto.get(w) for k, w in _RATES.items()}
    return CaseStats(
        **figures,
        resolved_by_level=[LevelCount(level=lvl, count=int(by_level.get(lvl.value, 0))) for lvl in HandlingLevel],
        satisfaction_by_channel=[
            ChannelSatisfaction(
                channel=CaseChannel(x["channel"]),
                evaluated=int(x.get("evaluated") or 0),
                satisfied=int(x.get("satisfied") or 0),
            )
            for x in dto.get("satisfactionByChannel") or []
        ],
    )


async def load_case_stats(info: Info, region_id: str) -> CaseStats:
    return case_stats(await ctx(info).loaders.case_stats_by_region.load(region_id) or {})
