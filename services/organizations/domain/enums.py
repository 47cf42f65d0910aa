"""The closed vocabularies of the organizations domain: the terms come from shared.vocabulary.organizations
(one definition for the domain, the wire contracts and the GraphQL enums); the permission keys are the domain's own."""

from __future__ import annotations

from enum import StrEnum

from shared.vocabulary.organizations import (
    ANCHOR_LEVEL,
    PARENT_TYPE,
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

__all__ = [
    "ANCHOR_LEVEL",
    "PARENT_TYPE",
    "AgendaSource",
    "Gender",
    "LifeKind",
    "MemberCategory",
    "MemberStatus",
    "OrgType",
    "PositionRole",
    "ProjectStatus",
    "TransferStatus",
    "UnitKind",
    "Action",
]


class Action(StrEnum):
    """What a principal does; the keys of the permission table."""

    VIEW = "view"
    MANAGE_ORG = "manage_org"
    MANAGE_MEMBER = "manage_member"
    VIEW_OWN_RECORD = "view_own_record"
    REQUEST_TRANSFER = "request_transfer"
    DECIDE_TRANSFER = "decide_transfer"
    DUAL_REGISTER = "dual_register"
    MANAGE_UNIT = "manage_unit"
    MANAGE_MEETING = "manage_meeting"
    RECORD_MEETING = "record_meeting"
    RECORD_LIFE = "record_life"
    MANAGE_LISTS = "manage_lists"
    # deliberation
    DELIBERATE = "deliberate"
    SET_DELIBERATION_RULE = "set_deliberation_rule"
    # weak organisations
    RECTIFY = "rectify"
    RECORD_RECTIFICATION = "record_rectification"
    # committees: 红色业委会, 居委会 and 三方联动
    MANAGE_COMMITTEE = "manage_committee"
    RECORD_THREE_PARTY = "record_three_party"
    # funds and service lists
    MANAGE_FUNDS = "manage_funds"
    APPROVE_SPENDING = "approve_spending"
    MANAGE_CATALOGUE = "manage_catalogue"
