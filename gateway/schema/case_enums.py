"""The closed vocabularies of cases, as the API names them."""

from __future__ import annotations

from gateway.schema.common import graphql_enum
from shared.vocabulary.cases import AssigneeKind, CaseChannel, CaseStatus, HandlingLevel, RequestKind

HandlingLevel = graphql_enum(
    HandlingLevel, description="Where a case is handled: 网格 社区 街道乡镇 县直部门, lowest first"
)


CaseStatus = graphql_enum(CaseStatus, description="上报 → 受理 → 派单 → 处置 → 办结 → 结案, or 不予受理")


CaseChannel = graphql_enum(
    CaseChannel, description="How a case came in: 小程序, 12345 热线, 网格员走访, 来访, 联席会议 action item, other"
)


RequestKind = graphql_enum(RequestKind, description="12345 request types: 咨询 求助 投诉 举报 建议")


AssigneeKind = graphql_enum(
    AssigneeKind,
    description="Who a case is assigned to; the assignee id is a principal `sub`, a department code, a volunteer member id, or the community region id",
)
