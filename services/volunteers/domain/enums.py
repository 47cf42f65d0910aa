"""The closed vocabularies of the volunteers domain: the terms come from shared.vocabulary.volunteers
(one definition for the domain, the wire contracts and the GraphQL enums); the permission keys are the domain's own."""

from __future__ import annotations

from enum import StrEnum

from shared.vocabulary.volunteers import (
    ACTIVE_ORDER_STATUSES,
    DONE_ORDER_STATUSES,
    CheckMethod,
    OrderStatus,
    PostStatus,
    PostType,
    SourceKind,
    TargetKind,
    TaskStatus,
    VolunteerKind,
)

__all__ = [
    "ACTIVE_ORDER_STATUSES",
    "DONE_ORDER_STATUSES",
    "CheckMethod",
    "OrderStatus",
    "PostStatus",
    "PostType",
    "SourceKind",
    "TargetKind",
    "TaskStatus",
    "VolunteerKind",
    "Action",
]


class Action(StrEnum):
    """What a principal does; the keys of the permission table."""

    VIEW = "view"
    REGISTER_VOLUNTEER = "register_volunteer"
    MANAGE_TEAM = "manage_team"
    MANAGE_POST = "manage_post"
    CLAIM_POST = "claim_post"
    PLACE_ORDER = "place_order"
    REVIEW_ORDER = "review_order"
    DISPATCH_ORDER = "dispatch_order"
    TAKE_ORDER = "take_order"
    WORK_ORDER = "work_order"  # start / complete, by the taker
    RATE_ORDER = "rate_order"
    CANCEL_OWN_ORDER = "cancel_own_order"
    CANCEL_ORDER = "cancel_order"  # by the community, with a reason
    MANAGE_ACTIVITY = "manage_activity"
    SIGN_UP = "sign_up"
    CHECK_IN = "check_in"
    BACKFILL_HOURS = "backfill_hours"
    REDEEM_POINTS = "redeem_points"
    # residents' points
    AWARD_RESIDENT_POINTS = "award_resident_points"  # staff record that a resident did what a rule names
    REDEEM_RESIDENT_POINTS = "redeem_resident_points"  # a resident, from their own ledger
    # units take service orders: staff accept, start and complete on a co-building unit's behalf
    WORK_UNIT_ORDER = "work_unit_order"
