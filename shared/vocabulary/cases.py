"""Cases: status, handling level, channel, assignee kind and request kind (names fixed by API.md)."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    REPORTED = "REPORTED"  # 上报, waiting for 受理
    ACCEPTED = "ACCEPTED"  # 受理, waiting for 派单 at its level
    ASSIGNED = "ASSIGNED"  # 派单
    IN_PROGRESS = "IN_PROGRESS"  # 处置
    RESOLVED = "RESOLVED"  # 办结, waiting for 评价 / 结案
    CLOSED = "CLOSED"  # 结案 (also: merged into another case)
    REJECTED = "REJECTED"  # 不予受理

    @property
    def is_open(self) -> bool:
        """Work outstanding: not yet resolved, closed or rejected."""
        return self in OPEN_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self in (CaseStatus.CLOSED, CaseStatus.REJECTED)


OPEN_STATUSES = frozenset({CaseStatus.REPORTED, CaseStatus.ACCEPTED, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS})


class HandlingLevel(StrEnum):
    GRID = "GRID"
    COMMUNITY = "COMMUNITY"
    TOWNSHIP = "TOWNSHIP"
    COUNTY = "COUNTY"  # 县直部门: the top, cannot escalate further

    def next_level(self) -> HandlingLevel | None:
        """The level a case escalates to (上报), or None at COUNTY."""
        order = list(HandlingLevel)
        i = order.index(self)
        return order[i + 1] if i + 1 < len(order) else None

    @property
    def rank(self) -> int:
        return list(HandlingLevel).index(self)


class CaseChannel(StrEnum):
    MINI_PROGRAM = "MINI_PROGRAM"  # 小程序
    HOTLINE = "HOTLINE"  # 12345 热线
    GRID_PATROL = "GRID_PATROL"  # 网格员走访
    WALK_IN = "WALK_IN"  # 来访
    JOINT_MEETING = "JOINT_MEETING"  # 党建联席会议 action item
    OTHER = "OTHER"


class AssigneeKind(StrEnum):
    GRID_WORKER = "GRID_WORKER"  # id: the worker's principal sub
    DEPARTMENT = "DEPARTMENT"  # id: the department code (县直部门)
    VOLUNTEER = "VOLUNTEER"  # id: member id or principal sub
    COMMUNITY = "COMMUNITY"  # id: the community region id of the case


class RequestKind(StrEnum):
    """Beijing 12345 request types."""

    CONSULTATION = "CONSULTATION"  # 咨询
    HELP = "HELP"  # 求助
    COMPLAINT = "COMPLAINT"  # 投诉
    REPORT = "REPORT"  # 举报
    SUGGESTION = "SUGGESTION"  # 建议
