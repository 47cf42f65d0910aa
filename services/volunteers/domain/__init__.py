"""The pure domain of the `volunteers` service: volunteers and teams, posts and claims,
service orders, case tasks, activities with check-in, the points ledger, 双报到 feedback,
region rollups and permissions. No I/O and no clock: time and rules are passed in."""
from .activities import (Activity, Attendance, can_sign_up, credit_hours_tenths,
                         signup_filter)
from .enums import (ACTIVE_ORDER_STATUSES, DONE_ORDER_STATUSES, Action, CheckMethod,
                    OrderStatus, PostStatus, PostType, SourceKind, TargetKind, TaskStatus,
                    VolunteerKind)
from .events import (EVENT_DEFINITIONS, EVENT_TYPES, SUBJECT_PREFIX, VolunteersEvent,
                     event_from_wire)
from .feedback import (QuarterlyFeedback, ServiceRecord, quarter_bounds, quarter_of,
                       quarterly_feedback, records_of)
from .orders import GeoPoint, ServiceOrder, Target, take_filter, wish_wall
from .people import MemberRef, Team, Volunteer
from .points import (DEFAULT_RULES, CatalogueItem, LedgerEntry, PointsRules, award, balance,
                     expire, history, redeem, redeem_condition, replay)
from .policy import (PERMISSIONS, SYSTEM, acting_as, authorize, authorize_profile_edit, authorize_release,
                     in_scope, is_allowed, may_see_phone, phone_for)
from .posts import Claim, Post, can_claim, claim_filter, claims_of
from .rollups import COUNTER_DEFINITIONS, COUNTER_KEYS, RollupDelta, counters_of, recount
from .tasks import DEFAULT_CASE_HOURS, VolunteerTask

__all__ = [
    "ACTIVE_ORDER_STATUSES", "Action", "Activity", "Attendance", "COUNTER_DEFINITIONS",
    "COUNTER_KEYS", "CatalogueItem", "CheckMethod", "Claim", "DEFAULT_CASE_HOURS",
    "DEFAULT_RULES", "DONE_ORDER_STATUSES", "EVENT_DEFINITIONS", "EVENT_TYPES", "GeoPoint",
    "LedgerEntry", "MemberRef", "OrderStatus", "PERMISSIONS", "PointsRules", "Post",
    "PostStatus", "PostType", "QuarterlyFeedback", "RollupDelta", "SUBJECT_PREFIX", "SYSTEM",
    "ServiceOrder", "ServiceRecord", "SourceKind", "Target", "TargetKind", "TaskStatus", "Team",
    "Volunteer", "VolunteerKind", "VolunteerTask", "VolunteersEvent", "acting_as", "authorize", "authorize_profile_edit", "authorize_release",
    "award", "balance", "can_claim", "can_sign_up", "claim_filter", "claims_of", "counters_of",
    "credit_hours_tenths", "event_from_wire", "expire", "history", "in_scope", "is_allowed",
    "may_see_phone", "phone_for", "quarter_bounds", "quarter_of", "quarterly_feedback",
    "recount", "records_of", "redeem", "redeem_condition", "replay", "signup_filter",
    "take_filter", "wish_wall",
]
