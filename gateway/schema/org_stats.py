"""Party organisation figures of a region (`overview.organizations`), from the rollups of the organizations service."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from gateway.schema.common import ctx
from gateway.schema.enums import MemberCategory, PartyOrgType
from gateway.schema.fund_stats import FundStats, fund_stats
from shared.vocabulary.organizations import COUNTER_DEFINITIONS

# --- figures (`overview.organizations`) -------------------------------------------------------------------


def figure(name: str) -> Any:
    return strawberry.field(description=COUNTER_DEFINITIONS[name])


@strawberry.type(description="Organisations of one type")
class OrgTypeCount:
    type: PartyOrgType
    count: int


@strawberry.type(description="Members of one category")
class MemberCategoryCount:
    category: MemberCategory
    count: int


@strawberry.type(
    description="Party organisation figures of a region and everything below it, kept with the "
    "writes. Coverages are null while their denominator is 0."
)
class OrgStats:
    organization_count: int = figure("organizations")
    by_type: list[OrgTypeCount] = strawberry.field(description="Organisations anchored in the region, per type")
    member_count: int = figure("members")
    members_by_category: list[MemberCategoryCount] = strawberry.field(description="Members, per category")
    transferring_count: int = figure("members_transferring")
    dual_registered_count: int = figure("dual_registered")
    twinned_unit_count: int = figure("twinned_units")
    weak_count: int = figure("weak_organizations")
    grid_count: int = strawberry.field(description="Grids (网格) in the region, from the territory")
    building_count: int = strawberry.field(description="Buildings (楼栋) in the region, from the territory")
    grids_with_branch: int = figure("grids_with_branch")
    buildings_with_group: int = figure("buildings_with_group")
    branch_coverage: float | None = strawberry.field(
        description="网格党支部覆盖率: gridsWithBranch / gridCount; null while gridCount is 0"
    )
    building_group_coverage: float | None = strawberry.field(
        description="楼栋党小组覆盖率: buildingsWithGroup / buildingCount; null while buildingCount is 0"
    )
    # weak organisations
    weak_flagged_count: int = figure("weak_flagged")
    under_rectification_count: int = figure("under_rectification")
    rectified_count: int = figure("rectified")
    # committees: branches outside the chain, 红色业委会, 居委会, 三方联动, 单位报到
    non_territorial_count: int = figure("non_territorial_organizations")
    idle_branch_count: int = figure("idle_branches")
    branch_dual_registered_count: int = figure("branch_dual_registered")
    owners_committee_count: int = figure("owners_committees")
    red_owners_committee_count: int = figure("red_owners_committees")
    red_committee_share: float | None = strawberry.field(
        description="Share of owners' committees in office with party members holding seats (红色业委会); null "
        "while there is none"
    )
    party_seat_share: float | None = strawberry.field(
        description="Seats on owners' committees in office held by party members, as a share; null while none"
    )
    residents_committee_count: int = figure("residents_committees")
    three_party_meeting_count: int = figure("three_party_meetings")
    unit_registration_count: int = figure("unit_registrations")
    unit_service_count: int = figure("unit_services")
    funds: FundStats = strawberry.field(description="The community funds (活动经费) of the region")  # funds


_COUNTS = {
    "organization_count": "organizationCount",
    "member_count": "memberCount",
    "transferring_count": "transferringCount",
    "dual_registered_count": "dualRegisteredCount",
    "twinned_unit_count": "twinnedUnitCount",
    "weak_count": "weakCount",
    "grid_count": "gridCount",
    "building_count": "buildingCount",
    "grids_with_branch": "gridsWithBranch",
    "buildings_with_group": "buildingsWithGroup",
    # weak organisations
    "weak_flagged_count": "weakFlaggedCount",
    "under_rectification_count": "underRectificationCount",
    "rectified_count": "rectifiedCount",
}
_RATES = {"branch_coverage": "branchCoverage", "building_group_coverage": "buildingGroupCoverage"}
# committees
_COUNTS.update(
    {
        "non_territorial_count": "nonTerritorialCount",
        "idle_branch_count": "idleBranchCount",
        "branch_dual_registered_count": "branchDualRegisteredCount",
        "owners_committee_count": "ownersCommitteeCount",
        "red_owners_committee_count": "redOwnersCommitteeCount",
        "residents_committee_count": "residentsCommitteeCount",
        "three_party_meeting_count": "threePartyMeetingCount",
        "unit_registration_count": "unitRegistrationCount",
        "unit_service_count": "unitServiceCount",
    }
)
_RATES.update({"red_committee_share": "redCommitteeShare", "party_seat_share": "partySeatShare"})


def org_stats(dto: dict) -> OrgStats:
    by_type = {x["type"]: x["count"] for x in dto.get("byType") or []}
    by_category = {x["category"]: x["count"] for x in dto.get("membersByCategory") or []}
    figures: dict[str, Any] = {k: int(dto.get(w) or 0) for k, w in _COUNTS.items()}
    rates: dict[str, Any] = {k: dto.get(w) for k, w in _RATES.items()}
    return OrgStats(
        **figures,
        **rates,
        by_type=[OrgTypeCount(type=t, count=int(by_type.get(t.value, 0))) for t in PartyOrgType],
        members_by_category=[
            MemberCategoryCount(category=c, count=int(by_category.get(c.value, 0))) for c in MemberCategory
        ],
        funds=fund_stats(dto.get("funds")),
    )


async def load_org_stats(info: Info, region_id: str) -> OrgStats:
    return org_stats(await ctx(info).loaders.org_stats_by_region.load(region_id) or {})
