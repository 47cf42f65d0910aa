"""The pure domain of the `organizations` service: the party organisation tree on the
territory, members and their transfers, 双报到, co-building units, joint meetings,
organisational life, the three lists, permissions and region rollups.
No I/O and no clock: time comes in as `now`; encryption happens outside."""

from shared.vocabulary.organizations import COUNTER_DEFINITIONS

from .dual import FeedbackRecord, UnitTwinning, dual_register, feedback_id, services_in_quarter, twinning_key
from .enums import (
    ANCHOR_LEVEL,
    PARENT_TYPE,
    Action,
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
from .events import EVENT_FIELDS, EVENT_TYPES, FIELD_DESCRIPTIONS, SUBJECT_PREFIX, OrgEvent, event_from_wire
from .life import LifeRecord, record_life
from .lists import TRANSITIONS, Need, Project, Resource
from .meetings import (
    CASE_CHANNEL,
    MAX_HOTSPOT_CASES,
    ActionItem,
    AgendaItem,
    ChairPick,
    JointMeeting,
    Resolution,
    case_report,
    check_case_grid,
    check_held_by,
    hotspot_community,
    hotspot_ref,
    idempotency_key,
    next_chair,
    next_meeting,
)
from .member import DualRegistration, PartyMember, adulthood, check_dates
from .organization import (
    DEFAULT_WEAK_DAYS,
    Organization,
    Position,
    check_placement,
    expected_parent_path,
    is_weak,
    uniqueness_key,
)
from .policy import PERMISSIONS, RECEIVING, SCOPE, SYSTEM, authorize, is_allowed, is_self, visible
from .rollups import COUNTER_KEYS, RollupDelta, counters_of, coverage, deltas, recount
from .territory import region_counts
from .transfer import (
    DEFAULT_DEADLINE_DAYS,
    Transfer,
    approve_transfer,
    authorize_decision,
    authorize_either_side,
    cancel_transfer,
    reject_transfer,
    request_transfer,
    sweep_overdue,
)
from .units import Linkage, Unit, committee_area, join_committee
from .values import Contact, Node, Quarter, Term, mask_id_number

__all__ = [
    "Action",
    "ActionItem",
    "adulthood",
    "AgendaItem",
    "AgendaSource",
    "ANCHOR_LEVEL",
    "approve_transfer",
    "authorize",
    "authorize_decision",
    "authorize_either_side",
    "cancel_transfer",
    "CASE_CHANNEL",
    "case_report",
    "ChairPick",
    "check_case_grid",
    "check_dates",
    "check_held_by",
    "check_placement",
    "committee_area",
    "Contact",
    "COUNTER_DEFINITIONS",
    "COUNTER_KEYS",
    "counters_of",
    "coverage",
    "DEFAULT_DEADLINE_DAYS",
    "DEFAULT_WEAK_DAYS",
    "deltas",
    "dual_register",
    "DualRegistration",
    "event_from_wire",
    "EVENT_FIELDS",
    "EVENT_TYPES",
    "FIELD_DESCRIPTIONS",
    "expected_parent_path",
    "feedback_id",
    "FeedbackRecord",
    "Gender",
    "hotspot_community",
    "hotspot_ref",
    "idempotency_key",
    "is_allowed",
    "is_self",
    "is_weak",
    "join_committee",
    "JointMeeting",
    "LifeKind",
    "LifeRecord",
    "Linkage",
    "mask_id_number",
    "MAX_HOTSPOT_CASES",
    "MemberCategory",
    "MemberStatus",
    "Need",
    "next_chair",
    "next_meeting",
    "Node",
    "Organization",
    "OrgEvent",
    "OrgType",
    "PARENT_TYPE",
    "PartyMember",
    "PERMISSIONS",
    "Position",
    "PositionRole",
    "Project",
    "ProjectStatus",
    "Quarter",
    "record_life",
    "recount",
    "region_counts",
    "RECEIVING",
    "reject_transfer",
    "request_transfer",
    "Resolution",
    "Resource",
    "RollupDelta",
    "SCOPE",
    "services_in_quarter",
    "SUBJECT_PREFIX",
    "sweep_overdue",
    "SYSTEM",
    "Term",
    "Transfer",
    "TransferStatus",
    "TRANSITIONS",
    "twinning_key",
    "uniqueness_key",
    "Unit",
    "UnitKind",
    "UnitTwinning",
    "visible",
]

# funds and service lists
from .catalogue import HowToOrder, Provider, ServiceListEntry  # noqa: E402
from .funds import FundAccount, FundEntry, FundTarget, record_spending  # noqa: E402

__all__ += ["FundAccount", "FundEntry", "FundTarget", "HowToOrder", "Provider", "record_spending", "ServiceListEntry"]
