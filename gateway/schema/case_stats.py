"""`overview.cases`: case figures of a region, read from the service's rollups.

Each figure's definition is the one the service computes it by (its rollups module)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from gateway.schema.common import ctx
from gateway.schema.enums import HandlingLevel
from shared.vocabulary.cases import COUNTER_DEFINITIONS, RATE_DEFINITIONS

_DEFS = COUNTER_DEFINITIONS | RATE_DEFINITIONS


def figure(name: str) -> Any:
    return strawberry.field(description=_DEFS[name])


@strawberry.type(description="Resolved cases at one handling level")
class LevelCount:
    level: HandlingLevel
    count: int


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
}
_RATES = {
    "response_rate": "responseRate",
    "resolution_rate": "resolutionRate",
    "satisfaction_rate": "satisfactionRate",
    "fengqiao_share": "fengqiaoShare",
}


def case_stats(dto: dict) -> CaseStats:
    by_level = dto.get("resolvedByLevel") or {}
    figures: dict[str, Any] = {k: int(dto.get(w) or 0) for k, w in _COUNTS.items()}
    figures |= {k: dto.get(w) for k, w in _RATES.items()}
    return CaseStats(
        **figures,
        resolved_by_level=[LevelCount(level=lvl, count=int(by_level.get(lvl.value, 0))) for lvl in HandlingLevel],
    )


async def load_case_stats(info: Info, region_id: str) -> CaseStats:
    return case_stats(await ctx(info).loaders.case_stats_by_region.load(region_id) or {})
