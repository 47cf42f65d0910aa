"""The closed vocabularies of cases, as the API names them."""
from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="Where a case is handled: 网格 社区 街道乡镇 县直部门, lowest first")
class HandlingLevel(Enum):
    GRID = "GRID"
    COMMUNITY = "COMMUNITY"
    TOWNSHIP = "TOWNSHIP"
    COUNTY = "COUNTY"


@strawberry.enum(description="上报 → 受理 → 派单 → 处置 → 办结 → 结案, or 不予受理")
class CaseStatus(Enum):
    REPORTED = "REPORTED"
    ACCEPTED = "ACCEPTED"
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    RESOLVED = "RESOLVED"
    CLOSED = "CLOSED"
    REJECTED = "REJECTED"


@strawberry.enum(description="How a case came in: 小程序, 12345 热线, 网格员走访, 来访, 联席会议 action item, other")
class CaseChannel(Enum):
    MINI_PROGRAM = "MINI_PROGRAM"
    HOTLINE = "HOTLINE"
    GRID_PATROL = "GRID_PATROL"
    WALK_IN = "WALK_IN"
    JOINT_MEETING = "JOINT_MEETING"
    OTHER = "OTHER"


@strawberry.enum(description="12345 request types: 咨询 求助 投诉 举报 建议")
class RequestKind(Enum):
    CONSULTATION = "CONSULTATION"
    HELP = "HELP"
    COMPLAINT = "COMPLAINT"
    REPORT = "REPORT"
    SUGGESTION = "SUGGESTION"


@strawberry.enum(description="Who a case is assigned to; the assignee id is a principal `sub`, a department "
                             "code, a volunteer member id, or the community region id")
class AssigneeKind(Enum):
    GRID_WORKER = "GRID_WORKER"
    DEPARTMENT = "DEPARTMENT"
    VOLUNTEER = "VOLUNTEER"
    COMMUNITY = "COMMUNITY"
