"""The pure domain of the `organizations` service: the party organisation tree on the
territory, members and their transfers, 双报到, co-building units, joint meetings,
organisational life, the three lists, permissions and region rollups.
No I/O and no clock: time comes in as `now`; encryption happens outside."""
from .dual import FeedbackRecord, UnitTwinning, dual_register, feedback_id, twinning_key
from .enums import (ANCHOR_LEVEL, PARENT_TYPE, Action, AgendaSource, Gender, LifeKind,
                    MemberCategory, MemberStatus, OrgType, PositionRole, ProjectStatus,
                    TransferStatus, UnitKind)
from .events import EVENT_TYPES, SUBJECT_PREFIX, OrgEvent, event_from_wire
from .life import LifeRecord, record_life
from .lists import TRANSITIONS, Need, Project, Resource
from .meetings import (CASE_CHANNEL, MAX_HOTSPOT_CASES, hotspot_ref, ActionItem, AgendaItem, ChairPick, JointMeeting,
                       Resolution, idempotency_key, next_chair)
from .member import DualRegistration, PartyMember, adulthood, check_dates
from .organization import (DEFAULT_WEAK_DAYS, Organization, Position, check_placement,
                           expected_parent_path, is_weak, uniqueness_key)
from .policy import PERMISSIONS, SYSTEM, authorize, is_allowed, is_self
from .rollups import (COUNTER_DEFINITIONS, COUNTER_KEYS, RollupDelta, counters_of, coverage,
                      deltas, recount)
from .units import Linkage, Unit
from .transfer import (DEFAULT_DEADLINE_DAYS, Transfer, approve_transfer, authorize_decision, authorize_either_side,
                       cancel_transfer, reject_transfer, request_transfer, sweep_overdue)
from .values import Contact, Node, Quarter, Term, mask_id_number

__all__ = [
    "ANCHOR_LEVEL", "Action", "ActionItem", "AgendaItem", "AgendaSource", "CASE_CHANNEL",
    "COUNTER_DEFINITIONS", "COUNTER_KEYS", "ChairPick", "Contact", "DEFAULT_DEADLINE_DAYS",
    "DEFAULT_WEAK_DAYS", "DualRegistration", "EVENT_TYPES", "FeedbackRecord", "Gender",
    "JointMeeting", "LifeKind", "LifeRecord", "MemberCategory", "MemberStatus", "Need", "Node",
    "OrgEvent", "OrgType", "Organization", "PARENT_TYPE", "PERMISSIONS", "PartyMember",
    "Position", "PositionRole", "Project", "ProjectStatus", "Quarter", "Resolution",
    "Resource", "RollupDelta", "SUBJECT_PREFIX", "SYSTEM", "TRANSITIONS", "Term", "Transfer",
    "TransferStatus", "Unit", "UnitKind", "UnitTwinning", "Linkage", "adulthood",
    "approve_transfer", "authorize", "authorize_decision", "authorize_either_side", "cancel_transfer", "check_dates", "check_placement",
    "counters_of", "coverage", "deltas", "dual_register", "event_from_wire",
    "expected_parent_path", "feedback_id", "idempotency_key", "is_allowed", "is_self",
    "is_weak", "mask_id_number", "next_chair", "recount", "record_life", "reject_transfer",
    "MAX_HOTSPOT_CASES", "hotspot_ref", "request_transfer", "sweep_overdue", "twinning_key", "uniqueness_key",
]
