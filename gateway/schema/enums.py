"""The GraphQL enums: each is a term of shared.vocabulary (the class the domain and the contracts use),
named and described as API.md has them."""

from __future__ import annotations

from gateway.schema.common import graphql_enum
from shared.contracts.attachments import AttachTarget
from shared.trends import Interval
from shared.vocabulary.cases import (
    AssigneeKind,
    AttachmentKind,
    AttachmentStage,
    CaseChannel,
    CaseRequestKind,
    CaseRequestStatus,
    CaseStatus,
    CommentVisibility,
    HandlerRole,
    HandlerStatus,
    HandlingLevel,
    RequestKind,
    ReturnVisitSatisfaction,
)
from shared.vocabulary.organizations import (
    AgendaSource,
    Gender,
    LifeKind,
    MemberCategory,
    MemberStatus,
    OrgType,
    PositionRole,
    ProjectStatus,
    TransferStatus,
    UnitKind,
)
from shared.vocabulary.territory import Level, WorkerRole
from shared.vocabulary.volunteers import (
    OrderStatus,
    PointsPeriod,
    PostStatus,
    PostType,
    SourceKind,
    TargetKind,
    TaskStatus,
    VolunteerKind,
)

graphql_enum(HandlingLevel, description="Where a case is handled: 楼栋 网格 社区 街道乡镇 县直部门, lowest first")

graphql_enum(CaseStatus, description="上报 → 受理 → 派单 → 处置 → 办结 → 结案, or 不予受理")

graphql_enum(
    CaseChannel, description="How a case came in: 小程序, 12345 热线, 网格员走访, 来访, 联席会议 action item, other"
)

graphql_enum(RequestKind, description="12345 request types: 咨询 求助 投诉 举报 建议")

# follow-up (v2: command centre)
graphql_enum(ReturnVisitSatisfaction, description="A caller's answer at a return visit (回访): 满意 基本满意 不满意")

graphql_enum(
    CommentVisibility, description="Who reads a comment: INTERNAL staff and handlers; PUBLIC the reporters too"
)

graphql_enum(
    AssigneeKind,
    description="Who a case is assigned to; the assignee id is a principal `sub`, a department code, "
    "a volunteer member id, or the community region id",
)

graphql_enum(Level, name="RegionLevel", description="Levels of the territory tree: 市 区县 街道乡镇 社区村 网格 楼栋")

graphql_enum(
    WorkerRole,
    name="GridWorkerRole",
    description="一张网三大员: 基础网格员 BASIC, 便民服务员 CONVENIENCE, 财经管理员 FINANCE",
)

graphql_enum(
    OrgType,
    name="PartyOrgType",
    description="Party organisation types, top-down; each is anchored to one territory level",
    values={
        "TOWNSHIP_WORKING_COMMITTEE": "街道党工委 (大工委), anchored to a TOWNSHIP",
        "COMMUNITY_COMMITTEE": "社区党委/大党委 (or 党总支), anchored to a COMMUNITY",
        "GRID_BRANCH": "网格党支部, anchored to a GRID",
        "BUILDING_GROUP": "楼栋党小组, anchored to a BUILDING",
        "CENTER_HOUSEHOLD": "党员中心户, anchored to a BUILDING",
    },
)

graphql_enum(
    PositionRole,
    description="Positions in an organisation's leadership (班子)",
    values={
        "SECRETARY": "书记",
        "DEPUTY_SECRETARY": "副书记",
        "COMMITTEE_MEMBER": "委员",
        "PART_TIME_MEMBER": "兼职委员 of a 大党委, from a co-building unit",
        "FIRST_SECRETARY": "第一书记",
    },
)

graphql_enum(
    MemberCategory,
    description="Party member categories: 在职党员 IN_SERVICE, 退休党员 RETIRED, 流动党员 FLOATING, OTHER",
)

graphql_enum(Gender)

graphql_enum(MemberStatus, description="ACTIVE, or TRANSFERRING while a membership transfer (组织关系转接) is open")

graphql_enum(TransferStatus, description="组织关系转接: REQUESTED, then APPROVED, REJECTED or CANCELLED")

graphql_enum(
    UnitKind,
    description="Co-building units (共建单位): 机关事业单位 AGENCY, 企业 ENTERPRISE, 学校 SCHOOL, "
    "社会组织 SOCIAL_ORG, 物业公司 PROPERTY_COMPANY, 业主委员会 OWNERS_COMMITTEE",
)

graphql_enum(
    AgendaSource,
    description="Where a joint-meeting agenda item came from; `ref` is a unit id, a resident reference "
    "or a case hotspot id",
)

graphql_enum(
    LifeKind,
    description="三会一课 and 主题党日",
    values={
        "BRANCH_GENERAL_MEETING": "支部党员大会",
        "BRANCH_COMMITTEE_MEETING": "支委会",
        "GROUP_MEETING": "党小组会",
        "PARTY_LECTURE": "党课",
        "THEMED_PARTY_DAY": "主题党日",
    },
)

graphql_enum(
    ProjectStatus, description="A co-building project (项目清单): PROPOSED → AGREED → IN_PROGRESS → DONE, or CANCELLED"
)

graphql_enum(
    VolunteerKind,
    description="居民志愿者 RESIDENT, or 党员志愿者 PARTY_MEMBER (linked to a party member record)",
    values={"RESIDENT": "居民志愿者", "PARTY_MEMBER": "党员志愿者, linked to a member record of the organisations"},
)

graphql_enum(
    PostType,
    name="VolunteerPostType",
    description="Types of service posts (志愿服务岗位)",
    values={
        "POLICY_OUTREACH": "政策宣传",
        "CIVILITY": "文明督导",
        "ENVIRONMENT": "环境治理",
        "LEGAL_AID": "法律援助",
        "MEDIATION": "民事调解",
        "PARCEL_STATION": "快递驿站",
        "SAFETY": "安全",
    },
)

graphql_enum(
    PostStatus, name="VolunteerPostStatus", description="ACTIVE: open for claims; CLOSED: its claims were released"
)

graphql_enum(
    OrderStatus,
    name="ServiceOrderStatus",
    description="A service order: 点单 → 审核 → 派单 / 抢单 → 接单 → 服务 → 完成 → 评价, or 审核不通过, 取消",
    values={
        "PENDING_REVIEW": "待审核: placed (点单), waiting for the community's review",
        "OPEN": "待接单: approved, on the community's wish wall (心愿墙, 抢单)",
        "REJECTED": "审核不通过, with the reason",
        "DISPATCHED": "已派单 to a volunteer, a team or a post",
        "TAKEN": "已接单 by a volunteer",
        "IN_PROGRESS": "服务中",
        "COMPLETED": "已完成, with the service hours",
        "RATED": "已评价 by the resident",
        "CANCELLED": "已取消 by the resident or the community",
    },
)

graphql_enum(
    TargetKind,
    name="DispatchTargetKind",
    description="Whom an order is dispatched to (派单): a volunteer, a team, a post's holders or a co-building "
    "unit (UNIT: 相关单位接单, the community's staff record its acceptance and completion)",
)

graphql_enum(
    TaskStatus,
    name="VolunteerTaskStatus",
    description="A case handed to a volunteer: OPEN, then RESOLVED when the case is resolved",
)

graphql_enum(
    SourceKind,
    name="PointsSourceKind",
    description="Where a points ledger entry comes from",
    values={
        "ORDER": "A completed service order (credit)",
        "ACTIVITY": "Attendance of an activity (credit)",
        "CASE": "A resolved case task (credit)",
        "BACKFILL": "Hours back-filled by an admin (credit)",
        "REDEMPTION": "积分兑换 of a catalogue item (debit)",
        "EXPIRY": "Points written off when they expire (debit)",
        "RULE": "A resident's participation, by a rule of the residents' points table (credit)",
    },
)

graphql_enum(
    Interval,
    name="TrendInterval",
    description="DAY (local days), WEEK (Monday to Sunday), MONTH (calendar months) or SPAN (the local days "
    "from `from` to `to` as one point)",
)

# departments
graphql_enum(HandlerRole, description="A department's role on a case: 主办 (LEAD) or 协办 (COOPERATING)")
graphql_enum(
    HandlerStatus,
    description="Where a department stands on a case: ACTIVE, REPLIED (协办 replied), RESOLVED (主办 resolved), "
    "RELEASED (returned, re-dispatched or escalated)",
)
graphql_enum(CaseRequestKind, description="退单 (RETURN), 延期 (EXTENSION), 挂起 (SUSPENSION)")
graphql_enum(CaseRequestStatus, description="Waiting for the dispatching centre, or its decision")

# The schema's names for the terms (mypy reads these as type aliases)
RegionLevel = Level
GridWorkerRole = WorkerRole
PartyOrgType = OrgType
VolunteerPostType = PostType
VolunteerPostStatus = PostStatus
ServiceOrderStatus = OrderStatus
DispatchTargetKind = TargetKind
VolunteerTaskStatus = TaskStatus
PointsSourceKind = SourceKind
TrendInterval = Interval

# ---- evidence
graphql_enum(AttachmentKind, description="What an attachment is: a photo, a video, a document or a recording")
graphql_enum(
    AttachmentStage,
    description="When in a case's life a piece of evidence was taken: 上报, 处置, 办结 (after-photo), 核查, other",
)
graphql_enum(
    AttachTarget,
    name="AttachmentTargetKind",
    description="What an upload is attached to: a case, a volunteer service order, a joint meeting, an activity, "
    "a visit",
)

# residents' points
graphql_enum(
    PointsPeriod,
    name="PointsPeriod",
    description="The calendar period a residents' points rule caps its awards in (the city's local time)",
)
