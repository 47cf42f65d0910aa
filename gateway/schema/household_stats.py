"""Household figures of a region (`overview.households`), from the grids service's rollups: households,
residents, households per tag, and the visit and 联户 figures counted on them."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from gateway.schema.common import ctx


def visit_coverage(dto: dict[str, Any]) -> float | None:
    """走访覆盖率: must-visit households not overdue / must-visit households; None while there are none."""
    must = int(dto.get("mustVisitCount") or 0)
    return None if must <= 0 else max(must - int(dto.get("overdueVisits") or 0), 0) / must


def linked_household_share(dto: dict[str, Any]) -> float | None:
    """联户覆盖率: households with a linked party member / households; None while there are none."""
    total = int(dto.get("householdCount") or 0)
    return None if total <= 0 else int(dto.get("linkedHouseholdCount") or 0) / total


@strawberry.type(description="Households holding one tag")
class HouseholdTagCount:
    tag: str = strawberry.field(description="A household tag (ELDERLY_ALONE 独居老人, LOW_INCOME 低保, …)")
    count: int


@strawberry.type(
    description="Household figures (实有人口) of a region and everything below it, kept with the writes; "
    "staff above the community see these figures, not the households. Rates are null while their "
    "denominator is 0."
)
class HouseholdStats:
    dto: strawberry.Private[dict[str, Any]]
    household_count: int = strawberry.field(description="Households living in the region (moved-out ones not)")
    resident_count: int = strawberry.field(description="Persons of those households")
    by_tag: list[HouseholdTagCount] = strawberry.field(description="Households per tag, every tag listed")
    must_visit_count: int = strawberry.field(description="Households under a must-visit rule (三必到五必访)")
    overdue_visits: int = strawberry.field(description="Must-visit households past their due visit")
    visit_coverage: float | None = strawberry.field(
        description="(mustVisitCount − overdueVisits) / mustVisitCount: the share visited on time"
    )
    linked_household_count: int = strawberry.field(description="Households with at least one linked party member")
    linked_household_share: float | None = strawberry.field(
        description="linkedHouseholdCount / householdCount (党员联户)"
    )


def household_stats(dto: dict[str, Any]) -> HouseholdStats:
    return HouseholdStats(
        dto=dto,
        household_count=int(dto.get("householdCount") or 0),
        resident_count=int(dto.get("residentCount") or 0),
        by_tag=[HouseholdTagCount(tag=x["tag"], count=int(x["count"])) for x in dto.get("byTag") or []],
        must_visit_count=int(dto.get("mustVisitCount") or 0),
        overdue_visits=int(dto.get("overdueVisits") or 0),
        visit_coverage=visit_coverage(dto),
        linked_household_count=int(dto.get("linkedHouseholdCount") or 0),
        linked_household_share=linked_household_share(dto),
    )


async def load_household_stats(info: Info, region_id: str) -> HouseholdStats:
    return household_stats(await ctx(info).loaders.household_stats_by_region.load(region_id) or {})
