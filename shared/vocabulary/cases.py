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
    """Lowest first: escalation (上报) moves a case one step along this order."""

    BUILDING = "BUILDING"  # 楼栋: the building's 楼栋长 / 党员中心户, "小事不出楼栋" (only a case with a building)
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

    @property
    def above_grid(self) -> int:
        """How many steps above the grid the level's region is on a case's path (which ends with
        the grid): GRID 0, COMMUNITY 1, TOWNSHIP 2, COUNTY 3; BUILDING, below the grid, -1."""
        return self.rank - list(HandlingLevel).index(HandlingLevel.GRID)


# 枫桥经验 "小事不出楼栋、小事不出网格、大事不出社区": the levels the Fengqiao share counts
FENGQIAO_LEVELS: tuple[HandlingLevel, ...] = (HandlingLevel.BUILDING, HandlingLevel.GRID, HandlingLevel.COMMUNITY)


class CaseChannel(StrEnum):
    MINI_PROGRAM = "MINI_PROGRAM"  # 小程序
    HOTLINE = "HOTLINE"  # 12345 热线
    GRID_PATROL = "GRID_PATROL"  # 网格员走访
    WALK_IN = "WALK_IN"  # 来访
    JOINT_MEETING = "JOINT_MEETING"  # 党建联席会议 action item
    OTHER = "OTHER"


# How a channel is named on a sheet (exports write these; imports read them, with a few aliases)
CHANNEL_NAMES = {
    CaseChannel.MINI_PROGRAM: "小程序",
    CaseChannel.HOTLINE: "12345热线",
    CaseChannel.GRID_PATROL: "网格员走访",
    CaseChannel.WALK_IN: "来访",
    CaseChannel.JOINT_MEETING: "党建联席会议",
    CaseChannel.OTHER: "其他",
}


class AssigneeKind(StrEnum):
    GRID_WORKER = "GRID_WORKER"  # id: the worker's principal sub
    DEPARTMENT = "DEPARTMENT"  # id: the department code (县直部门)
    VOLUNTEER = "VOLUNTEER"  # id: member id or principal sub
    COMMUNITY = "COMMUNITY"  # id: the community region id of the case
    BUILDING_LEADER = "BUILDING_LEADER"  # building: 楼栋长 / 党员中心户 of the case's building; id: their sub


class RequestKind(StrEnum):
    """Beijing 12345 request types."""

    CONSULTATION = "CONSULTATION"  # 咨询
    HELP = "HELP"  # 求助
    COMPLAINT = "COMPLAINT"  # 投诉
    REPORT = "REPORT"  # 举报
    SUGGESTION = "SUGGESTION"  # 建议


# ---- v2: command centre (API.md "v2: command centre") -------------------------------------
class AttachmentKind(StrEnum):
    PHOTO = "PHOTO"
    VIDEO = "VIDEO"
    DOCUMENT = "DOCUMENT"
    AUDIO = "AUDIO"


class AttachmentStage(StrEnum):
    """When in a case's life a piece of evidence was taken."""

    REPORT = "REPORT"  # 上报 (before)
    HANDLING = "HANDLING"  # 处置 (during)
    RESOLUTION = "RESOLUTION"  # 办结 (after)
    VERIFICATION = "VERIFICATION"  # 核查
    OTHER = "OTHER"


class HandlerRole(StrEnum):
    LEAD = "LEAD"  # 主办
    COOPERATING = "COOPERATING"  # 协办


class CaseRequestKind(StrEnum):
    RETURN = "RETURN"  # 退单
    EXTENSION = "EXTENSION"  # 延期
    SUSPENSION = "SUSPENSION"  # 挂起


class CaseRequestStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REFUSED = "REFUSED"


# departments: where a 主办/协办 department stands on a case
class HandlerStatus(StrEnum):
    ACTIVE = "ACTIVE"  # 办理中
    REPLIED = "REPLIED"  # a cooperating department has replied (协办已反馈)
    RESOLVED = "RESOLVED"  # the lead resolved the case (主办办结)
    RELEASED = "RELEASED"  # no longer on the case: returned (退单), re-dispatched or escalated


class ReturnVisitSatisfaction(StrEnum):
    SATISFIED = "SATISFIED"  # 满意
    BASICALLY_SATISFIED = "BASICALLY_SATISFIED"  # 基本满意
    DISSATISFIED = "DISSATISFIED"  # 不满意


class CommentVisibility(StrEnum):
    INTERNAL = "INTERNAL"  # staff and handlers only
    PUBLIC = "PUBLIC"  # the reporters see it too


# The figures of a region (rollup counters kept with the writes): each name with what it counts,
# read by the service's rollups and by the gateway's field descriptions.
SATISFIED_FROM = 4  # 满意 (4) and 非常满意 (5)

PROPERTY_DISPUTE_CATEGORIES = frozenset({"DISPUTE_PROPERTY", "PROPERTY_SERVICE", "PROPERTY_FACILITY"})
"""The catalogue's categories a property dispute (物业纠纷) of an estate is filed under."""

COUNTER_DEFINITIONS: dict[str, str] = {
    "total": "Cases reported in the region, merged duplicates included.",
    "open": "Cases with work outstanding: REPORTED, ACCEPTED, ASSIGNED or IN_PROGRESS "
    "(a reopened case is open again). Merged duplicates are not counted.",
    "awaiting_rating": "Cases RESOLVED and not yet closed.",
    "overdue": "Open cases the SLA sweeper found past their deadline and that have no new "
    "deadline yet (below COUNTY the sweeper escalates at once, so mostly COUNTY).",
    "responded": "Cases that got a first response by a person: accepted, rejected, "
    "dispatched, handled or escalated by hand.",
    "resolved": "Cases resolved at least once, counted once even if reopened.",
    "resolved_on_time": "Resolved cases whose latest resolution met its deadline, with no "
    "SLA breach in the case's life.",
    "closed": "Cases closed after resolution (by rating, follow-up or timeout); merged duplicates are not counted.",
    "rejected": "Cases not accepted (不予受理).",
    "merged": "Reports merged into another case (并单); they count only here and in total.",
    "rated": "Cases rated by a reporter for their latest resolution.",
    "satisfied": f"Rated cases whose rating is {SATISFIED_FROM} or 5 (满意, 非常满意).",
    **{
        f"resolved_by_level.{lvl}": f"Resolved cases whose latest resolution was at {lvl} level."
        for lvl in HandlingLevel
    },
    # follow-up: verification, return visits, handling figures (API.md "v2: command centre")
    "awaiting_verification": "Cases RESOLVED whose resolution waits for verification (核查) by the "
    "dispatching centre; part of awaiting_rating.",
    "verified": "Cases verified (核查) at least once.",
    "reworked": "Verified cases that failed a verification at least once and went back to handling (重办).",
    "visited": "Reached return visits (回访) of the case: every reached visit counts once.",
    "visit_satisfied": "Reached return visits whose answer was SATISFIED or BASICALLY_SATISFIED.",
    "return_visit_pending": "Cases with an open return-visit task (回访): resolved for a caller without "
    "an account and not yet reached.",
    "return_visit_overdue": "Open return-visit tasks past their deadline.",
    "dispatched": "Cases dispatched to a handler at least once (派单: assigned by the centre, "
    "or taken on by a grid worker).",
    "returned": "Dispatched cases a handler sent back at least once (退单, approved or direct).",
    "returns": "Returns by handlers (退单), approved or direct, over the cases' lives.",
    "extensions": "Approved extensions (延期) over the cases' lives.",
    "urges": "Urgings (督办) over the cases' lives.",
    "corrected": "Cases whose category, location or grid was corrected after intake.",
    # committees: property disputes per estate (an owners' committee's buildings)
    "property_disputes": "Property-management disputes and complaints (物业纠纷, 物业服务质量, 小区公共设施维修: "
    "categories DISPUTE_PROPERTY, PROPERTY_SERVICE, PROPERTY_FACILITY), merged duplicates not counted; in a building "
    "when the case names one.",
    "property_disputes_open": "Property disputes with work outstanding (as `open`).",
    **{
        f"evaluated_by_channel.{ch}": f"Evaluations of cases reported through {ch}: reporters' ratings "
        "plus reached return visits."
        for ch in CaseChannel
    },
    **{
        f"satisfied_by_channel.{ch}": f"Satisfied evaluations of cases reported through {ch}: ratings of "
        f"{SATISFIED_FROM}–5 plus reached visits SATISFIED or BASICALLY_SATISFIED."
        for ch in CaseChannel
    },
}

RATE_DEFINITIONS: dict[str, str] = {
    "response_rate": "响应率: responded / (total − merged); cases reported that got a first response by a "
    "person, over every channel.",
    "resolution_rate": "解决率: resolved / (total − merged − rejected); cases taken on that were resolved at "
    "least once, over every channel.",
    "satisfaction_rate": "满意率: (satisfied + visit_satisfied) / (rated + visited); reporters' ratings of "
    f"{SATISFIED_FROM}–5 and reached return visits (回访) SATISFIED or BASICALLY_SATISFIED, among ratings "
    "and reached visits, over every channel.",
    "on_time_rate": "按期办结率: resolved_on_time / resolved; resolutions that met their deadline with no SLA breach.",
    "return_rate": "回退率: returned / dispatched; dispatched cases a handler sent back (退单).",
    "rework_rate": "重办率: reworked / verified; verified cases that failed a verification (核查) at least once.",
    "fengqiao_share": "枫桥 share: resolved at BUILDING, GRID or COMMUNITY / resolved; problems solved "
    "without leaving the community (小事不出楼栋、不出网格，大事不出社区).",
}


# departments: what each department's figures count (rollup counters `dept.<region>:<code>.<name>`
# of every region on a case's path) and the metrics departmentRankings ranks by
DEPT_COUNTERS: dict[str, str] = {
    "received": "Cases dispatched to the department, as lead or cooperating (each dispatch counts).",
    "lead": "Cases it received as lead (主办).",
    "cooperating": "Cases it received as cooperating department (协办).",
    "responded": "Dispatches it acted on: a reply, start, resolution or request.",
    "replied": "Dispatches as cooperating department it replied to.",
    "resolved": "Cases it resolved as lead.",
    "resolved_on_time": "Cases it resolved as lead by the deadline, with no SLA breach in the case's life.",
    "returned": "Cases it led and handed back by an approved 退单.",
    "reworked": "Cases it resolved as lead that had to be handled again (重办, failed verification).",
    "extensions": "Approved 延期 it asked for.",
    "urged": "督办 received while it led a case.",
    "rated": "Evaluations of the cases it resolved as lead, every channel: reporters' ratings and reached "
    "return visits (回访).",
    "satisfied": f"Of those, satisfied: ratings of {SATISFIED_FROM} or 5, return visits SATISFIED or "
    "BASICALLY_SATISFIED.",
}

RANKING_METRICS: dict[str, str] = {
    "received": "Cases received (lead or cooperating).",
    "resolved": "Cases resolved as lead.",
    "responseRate": "响应率: responded / received.",
    "resolutionRate": "解决率: resolved / (lead − returned), the cases it kept as lead that it resolved.",
    "onTimeRate": "按期办结率: resolved on time / resolved.",
    "satisfactionRate": "满意率: satisfied / rated.",
    "returnRate": "回退率: returned / lead.",
    "reworkRate": "重办率: reworked / resolved.",
    "extensionCount": "延期数: approved extensions.",
    "urgeCount": "督办 received.",
}
