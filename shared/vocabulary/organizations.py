"""Party organisations: types, positions, members, transfers, units, meetings and lists (GLOSSARY.md)."""

from __future__ import annotations

from enum import StrEnum

from shared.vocabulary.deliberation import DELIBERATION_COUNTERS
from shared.vocabulary.territory import Level


class OrgType(StrEnum):
    TOWNSHIP_WORKING_COMMITTEE = "TOWNSHIP_WORKING_COMMITTEE"  # 街道党工委 (大工委)
    COMMUNITY_COMMITTEE = "COMMUNITY_COMMITTEE"  # 社区党委 / 大党委 / 党总支
    GRID_BRANCH = "GRID_BRANCH"  # 网格党支部
    BUILDING_GROUP = "BUILDING_GROUP"  # 楼栋党小组
    CENTER_HOUSEHOLD = "CENTER_HOUSEHOLD"  # 党员中心户
    # non-territorial: anchored to a unit and a region of any level, outside the street→building chain
    AGENCY = "AGENCY"  # 机关党组织
    ENTERPRISE = "ENTERPRISE"  # 企业党组织
    NEW_ECONOMIC = "NEW_ECONOMIC"  # 两新组织党组织
    PROPERTY_COMPANY = "PROPERTY_COMPANY"  # 物业企业党组织
    MARKET = "MARKET"  # 商圈市场党组织

    @property
    def anchor_level(self) -> Level:
        return ANCHOR_LEVEL[self]

    @property
    def parent_type(self) -> OrgType | None:
        return PARENT_TYPE[self]

    @property
    def territorial(self) -> bool:
        """On the street→building chain (anchored to a node of its own level under its parent type)."""
        return self in ANCHOR_LEVEL


ANCHOR_LEVEL: dict[OrgType, Level] = {
    OrgType.TOWNSHIP_WORKING_COMMITTEE: Level.TOWNSHIP,
    OrgType.COMMUNITY_COMMITTEE: Level.COMMUNITY,
    OrgType.GRID_BRANCH: Level.GRID,
    OrgType.BUILDING_GROUP: Level.BUILDING,
    OrgType.CENTER_HOUSEHOLD: Level.BUILDING,
}
PARENT_TYPE: dict[OrgType, OrgType | None] = {
    OrgType.TOWNSHIP_WORKING_COMMITTEE: None,
    OrgType.COMMUNITY_COMMITTEE: OrgType.TOWNSHIP_WORKING_COMMITTEE,
    OrgType.GRID_BRANCH: OrgType.COMMUNITY_COMMITTEE,
    OrgType.BUILDING_GROUP: OrgType.GRID_BRANCH,
    OrgType.CENTER_HOUSEHOLD: OrgType.BUILDING_GROUP,
}
# non-territorial branches: no parent on the chain, anchored to a unit and a region of any level
NON_TERRITORIAL: frozenset[OrgType] = frozenset(t for t in OrgType if t not in ANCHOR_LEVEL)
PARENT_TYPE.update({t: None for t in NON_TERRITORIAL})


class PositionRole(StrEnum):
    SECRETARY = "SECRETARY"  # 书记
    DEPUTY_SECRETARY = "DEPUTY_SECRETARY"  # 副书记
    COMMITTEE_MEMBER = "COMMITTEE_MEMBER"  # 委员
    PART_TIME_MEMBER = "PART_TIME_MEMBER"  # 大党委 兼职委员, from a co-building unit
    FIRST_SECRETARY = "FIRST_SECRETARY"  # 第一书记


class MemberCategory(StrEnum):
    IN_SERVICE = "IN_SERVICE"  # 在职党员
    RETIRED = "RETIRED"  # 退休党员
    FLOATING = "FLOATING"  # 流动党员
    OTHER = "OTHER"


class MemberStatus(StrEnum):
    ACTIVE = "ACTIVE"
    TRANSFERRING = "TRANSFERRING"  # an open 组织关系转接


class Gender(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"


class TransferStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class UnitKind(StrEnum):
    AGENCY = "AGENCY"  # 机关事业单位
    ENTERPRISE = "ENTERPRISE"  # 企业
    SCHOOL = "SCHOOL"  # 学校
    SOCIAL_ORG = "SOCIAL_ORG"  # 社会组织
    PROPERTY_COMPANY = "PROPERTY_COMPANY"  # 物业公司
    OWNERS_COMMITTEE = "OWNERS_COMMITTEE"  # 业主委员会


class AgendaSource(StrEnum):
    UNIT = "UNIT"
    RESIDENT = "RESIDENT"
    CASE_HOTSPOT = "CASE_HOTSPOT"


class LifeKind(StrEnum):
    """三会一课 and 主题党日."""

    BRANCH_GENERAL_MEETING = "BRANCH_GENERAL_MEETING"  # 支部党员大会
    BRANCH_COMMITTEE_MEETING = "BRANCH_COMMITTEE_MEETING"  # 支委会
    GROUP_MEETING = "GROUP_MEETING"  # 党小组会
    PARTY_LECTURE = "PARTY_LECTURE"  # 党课
    THEMED_PARTY_DAY = "THEMED_PARTY_DAY"  # 主题党日


class ProjectStatus(StrEnum):
    PROPOSED = "PROPOSED"
    AGREED = "AGREED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


# The figures of a region (rollup counters kept with the writes): each name with what it counts,
# read by the service's rollups and by the gateway's field descriptions.
COUNTER_DEFINITIONS: dict[str, str] = {
    "organizations": "Party organisations of the territorial chain (街道党工委 → 党员中心户) anchored in the region.",
    **{f"organizations.{t}": f"Organisations of type {t} anchored in the region." for t in OrgType},
    "grids_with_branch": "Grids with a GRID_BRANCH (网格党支部); coverage = this / gridCount.",
    "buildings_with_group": "Buildings with a BUILDING_GROUP (楼栋党小组); coverage = this / buildingCount.",
    "weak_organizations": "Organisations flagged weak (软弱涣散 risk): no organisational life "
    "for the configured period.",
    "members": "Party members whose organisation is in the region.",
    **{f"members.{c}": f"Members of category {c}." for c in MemberCategory},
    "members_transferring": "Members with an open membership transfer.",
    "dual_registered": "In-service members with an active 双报到 registration with a "
    "community in the region (counted where they live, not where they work).",
    "twinned_units": "Employers' branches twinned with a community in the region (单位报到).",
    # deliberation
    **DELIBERATION_COUNTERS,
    # weak organisations
    "weak_flagged": "Organisations whose weak score (软弱涣散) is at or over the threshold, flagged by "
    "the sweeper and not yet cleared.",
    "under_rectification": "Rectification plans (整顿) open in the region.",
    "rectified": "Rectification plans that passed their review (the organisation's flag cleared).",
}
# committees: 红色业委会, 三方联动 and non-territorial branches (单位报到, 空转)
COUNTER_DEFINITIONS.update(
    {
        "non_territorial_organizations": "Party organisations outside the territorial chain (机关, 企业, 两新, "
        "物业, 商圈) anchored in the region.",
        "idle_branches": "Non-territorial branches with no 双报到 activity or service delivered for the configured "
        "period (空转).",
        "branch_dual_registered": "Members of non-territorial branches in the region with an active 双报到 "
        "(counted where their branch is).",
        "owners_committees": "Owners' committees (业委会) in office in the region, one per estate (小区).",
        "red_owners_committees": "Owners' committees in office with party members holding seats (红色业委会); "
        "estates with a red committee.",
        "owners_committee_seats": "Seats held on owners' committees in office.",
        "owners_committee_party_seats": "Seats on owners' committees in office held by party members.",
        "residents_committees": "Communities with a residents' committee (居委会) recorded.",
        "three_party_meetings": "三方联动 meetings (居委会 + 物业 + 业委会) recorded.",
        "unit_registrations": "Units registered with a community in the region (单位报到).",
        "unit_services": "Services delivered by registered units to communities in the region.",
    }
)
