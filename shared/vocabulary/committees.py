"""红色业委会 and 三方联动: the checks a candidate is vetted on, a committee's standing, and the
sides of a three-party meeting."""

from __future__ import annotations

from enum import StrEnum


class QualificationCheck(StrEnum):
    PARTY_MEMBERSHIP = "PARTY_MEMBERSHIP"  # 党员身份 (against the member records when a member is named)
    NO_ARREARS = "NO_ARREARS"  # 无欠缴物业费
    RESIDENCY = "RESIDENCY"  # 本小区业主 / 常住


class OwnersCommitteeStatus(StrEnum):
    PROPOSED = "PROPOSED"  # filed, candidates being vetted (资格审查)
    IN_OFFICE = "IN_OFFICE"  # elected, in its term
    TERM_ENDED = "TERM_ENDED"


class MeetingSide(StrEnum):
    RESIDENTS_COMMITTEE = "RESIDENTS_COMMITTEE"  # 居委会
    PROPERTY_COMPANY = "PROPERTY_COMPANY"  # 物业
    OWNERS_COMMITTEE = "OWNERS_COMMITTEE"  # 业委会
    PARTY_ORGANIZATION = "PARTY_ORGANIZATION"  # 社区党组织
    OTHER = "OTHER"
