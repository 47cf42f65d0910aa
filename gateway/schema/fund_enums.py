"""The GraphQL enums of funds, service catalogues and three-lists matching (shared.vocabulary.resources),
registered once, before any type uses them."""

from __future__ import annotations

from gateway.schema.common import graphql_enum
from shared.vocabulary.resources import (
    FundEntryStatus,
    FundTargetKind,
    ListCategory,
    NeedStatus,
    ServiceListKind,
    ServiceProviderKind,
)

__all__ = ["FundEntryStatus", "FundTargetKind", "ListCategory", "NeedStatus", "ServiceListKind", "ServiceProviderKind"]


graphql_enum(FundTargetKind, description="What a spending from a community fund is for (费随事转)")
graphql_enum(
    FundEntryStatus,
    description="SPENT at once at or below the approval threshold; above it COMMITTED until an admin above the "
    "community approves (SPENT) or rejects it (REJECTED)",
)
graphql_enum(
    ServiceListKind,
    description="五项服务",
    values={
        "CARE": "关爱服务",
        "PUBLIC": "公共服务",
        "GOVERNMENT": "政务服务",
        "MARKET": "市场服务",
        "SOCIAL": "社会服务",
    },
)
graphql_enum(
    ServiceProviderKind, description="Who provides a service: a co-building unit, a volunteer team, a department"
)
graphql_enum(NeedStatus, description="A need (需求清单): OPEN → MATCHED → DONE, or CLOSED")
graphql_enum(ListCategory, description="What a need is about and what a resource offers (三张清单 are matched by it)")
