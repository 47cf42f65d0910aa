"""Territory: the levels of the region tree and the roles of grid workers."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    CITY = "CITY"
    COUNTY = "COUNTY"
    TOWNSHIP = "TOWNSHIP"
    COMMUNITY = "COMMUNITY"
    GRID = "GRID"
    BUILDING = "BUILDING"


class WorkerRole(StrEnum):
    """一张网三大员."""

    BASIC = "BASIC"  # 基础网格员
    CONVENIENCE = "CONVENIENCE"  # 便民服务员
    FINANCE = "FINANCE"  # 财经管理员


WORKER_ROLE_NAMES = {
    WorkerRole.BASIC: "基础网格员",
    WorkerRole.CONVENIENCE: "便民服务员",
    WorkerRole.FINANCE: "财经管理员",
}


# households: the tags of a household (实有人口), the relation of a person to its head, and the
# roles of a cadre tied to a region (包联).
class HouseholdTag(StrEnum):
    ELDERLY_ALONE = "ELDERLY_ALONE"  # 独居老人
    EMPTY_NEST = "EMPTY_NEST"  # 空巢老人
    LOW_INCOME = "LOW_INCOME"  # 低保
    DISABLED = "DISABLED"  # 残疾
    LEFT_BEHIND_CHILD = "LEFT_BEHIND_CHILD"  # 留守儿童
    VETERAN = "VETERAN"  # 退役军人
    KEY_CONCERN = "KEY_CONCERN"  # 重点关注
    TENANT = "TENANT"  # 租户
    SERIOUS_ILLNESS = "SERIOUS_ILLNESS"  # 重病
    HARDSHIP = "HARDSHIP"  # 困难家庭
    SPECIAL_CARE = "SPECIAL_CARE"  # 优抚对象
    MARTYR_FAMILY = "MARTYR_FAMILY"  # 烈属


class Relation(StrEnum):
    """与户主关系."""

    HEAD = "HEAD"  # 户主
    SPOUSE = "SPOUSE"  # 配偶
    CHILD = "CHILD"  # 子女
    PARENT = "PARENT"  # 父母
    GRANDCHILD = "GRANDCHILD"  # 孙子女
    SIBLING = "SIBLING"  # 兄弟姐妹
    OTHER = "OTHER"  # 其他
    TENANT = "TENANT"  # 租客


class CadreRole(StrEnum):
    """包联: who a cadre is tied to."""

    STREET_CADRE = "STREET_CADRE"  # 街道干部联社区 → a COMMUNITY
    COMMUNITY_CADRE = "COMMUNITY_CADRE"  # 社区干部联网格 → a GRID
    MEMBER_BUILDING = "MEMBER_BUILDING"  # 党员联楼栋 → a BUILDING
    BUILDING_LEADER = "BUILDING_LEADER"  # 楼栋长 → a BUILDING
    FIRST_SECRETARY = "FIRST_SECRETARY"  # 第一书记 → a COMMUNITY
