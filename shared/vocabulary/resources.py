"""Service lists, the community fund and the three lists' categories (seed 001: 五项服务, 费随事转,
活动经费; seed 003: 需求清单 / 资源清单 / 项目清单): one definition for the domain, the wire contracts
and the GraphQL enums."""

from __future__ import annotations

from enum import StrEnum


class ServiceListKind(StrEnum):
    """五项服务: the five service lists of a community."""

    CARE = "CARE"  # 关爱服务
    PUBLIC = "PUBLIC"  # 公共服务
    GOVERNMENT = "GOVERNMENT"  # 政务服务
    MARKET = "MARKET"  # 市场服务
    SOCIAL = "SOCIAL"  # 社会服务


class ServiceProviderKind(StrEnum):
    UNIT = "UNIT"  # a co-building unit (驻区单位)
    TEAM = "TEAM"  # a volunteer team
    DEPARTMENT = "DEPARTMENT"  # a government department


class FundTargetKind(StrEnum):
    """What a spending from the community fund is for (费随事转)."""

    PROPOSAL = "PROPOSAL"
    PROJECT = "PROJECT"
    ACTIVITY = "ACTIVITY"
    SERVICE_ORDER = "SERVICE_ORDER"
    OTHER = "OTHER"


class FundEntryStatus(StrEnum):
    COMMITTED = "COMMITTED"  # above the approval threshold: reserved, waiting for a higher-level admin
    SPENT = "SPENT"
    REJECTED = "REJECTED"


class NeedStatus(StrEnum):
    OPEN = "OPEN"
    MATCHED = "MATCHED"  # a resource or project answers it
    DONE = "DONE"
    CLOSED = "CLOSED"  # withdrawn or no longer relevant


class ListCategory(StrEnum):
    """What a need is about and what a resource offers: the three lists are matched by it."""

    ELDERLY_CARE = "ELDERLY_CARE"  # 养老助老
    CHILDREN = "CHILDREN"  # 儿童关爱
    HEALTH = "HEALTH"  # 医疗健康
    EDUCATION = "EDUCATION"  # 教育培训
    EMPLOYMENT = "EMPLOYMENT"  # 就业帮扶
    ENVIRONMENT = "ENVIRONMENT"  # 环境整治
    FACILITIES = "FACILITIES"  # 设施改造
    CULTURE = "CULTURE"  # 文体活动
    SAFETY = "SAFETY"  # 平安建设
    LEGAL = "LEGAL"  # 法律服务
    OTHER = "OTHER"


NEED_TRANSITIONS: dict[NeedStatus, frozenset[NeedStatus]] = {
    NeedStatus.OPEN: frozenset({NeedStatus.MATCHED, NeedStatus.CLOSED}),
    NeedStatus.MATCHED: frozenset({NeedStatus.OPEN, NeedStatus.DONE, NeedStatus.CLOSED}),
    NeedStatus.DONE: frozenset({NeedStatus.CLOSED}),
    NeedStatus.CLOSED: frozenset(),
}

# The fund figures of a region (counters kept with the writes, in fen: integers), beside the organisations' own.
FUND_COUNTER_DEFINITIONS: dict[str, str] = {
    "fund_accounts": "Community fund accounts (活动经费) in the region, every year.",
    "fund_granted": "Money granted to the community funds in the region, in fen.",
    "fund_committed": "Money committed (spendings waiting for approval) in the region, in fen.",
    "fund_spent": "Money spent from the community funds in the region, in fen.",
}
