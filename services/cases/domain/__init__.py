"""The pure domain of the `cases` service: the Case aggregate and its workflow, events,
permissions, list scope and masking, the dispatch catalogue, routing a report to its grid,
duplicates, hotspots and region rollups.
No I/O and no clock: time and SLA settings are passed in."""
from shared.vocabulary.cases import COUNTER_DEFINITIONS, RATE_DEFINITIONS

from .catalogue import DEFAULT_CATALOGUE, DEFAULT_CATEGORIES, DEPARTMENTS, Catalogue, Category, new_category
from .duplicates import distance_m, haversine_m, is_possible_duplicate, possible_duplicates
from .enums import OPEN_STATUSES, Action, AssigneeKind, CaseChannel, CaseStatus, HandlingLevel, RequestKind
from .events import (
                    EVENT_TYPES,
                    CaseAccepted,
                    CaseAssigned,
                    CaseClosed,
                    CaseContactRevealed,
                    CaseDeliberated,
                    CaseEscalated,
                    CaseEvent,
                    CaseMerged,
                    CaseOverdue,
                    CaseRated,
                    CaseRejected,
                    CaseReopened,
                    CaseReported,
                    CaseResolved,
                    CaseReturned,
                    CaseStarted,
                    event_from_wire,
)
from .hotspots import HotspotTrend, hotspots, trend_of, window_days
from .hotspots import windows as hotspots_windows
from .model import DEFAULT_SLA, Case, Sla, check_expected_version, merge
from .policy import (
                    PERMISSIONS,
                    SYSTEM,
                    assignee_keys,
                    authorize,
                    check_may_report,
                    in_scope,
                    is_allowed,
                    is_assignee,
                    list_scope,
                    mask_phone,
                    may_see_contact,
)
from .rollups import (
                    COUNTER_KEYS,
                    TREND_METRICS,
                    RollupDelta,
                    counters_of,
                    rates,
                    recount,
)
from .routing import Routed, Whereabouts, route
from .values import Assignee, GeoPoint, Reporter, TimelineEntry, refusal

__all__ = [
    "Action", "Assignee", "assignee_keys", "AssigneeKind", "authorize", "Case", "CaseAccepted", "CaseAssigned",
    "CaseChannel", "CaseClosed", "CaseContactRevealed", "CaseDeliberated", "CaseEscalated", "CaseEvent", "CaseMerged",
    "CaseOverdue", "CaseRated", "CaseRejected", "CaseReopened", "CaseReported", "CaseResolved", "CaseReturned",
    "CaseStarted", "CaseStatus", "Catalogue", "Category", "check_expected_version", "check_may_report",
    "COUNTER_DEFINITIONS", "COUNTER_KEYS", "counters_of", "DEFAULT_CATALOGUE", "DEFAULT_CATEGORIES", "DEFAULT_SLA",
    "DEPARTMENTS", "distance_m", "event_from_wire", "EVENT_TYPES", "GeoPoint", "HandlingLevel", "haversine_m",
    "hotspots", "hotspots_windows", "HotspotTrend", "in_scope", "is_allowed", "is_assignee", "is_possible_duplicate",
    "list_scope", "mask_phone", "may_see_contact", "merge", "new_category", "OPEN_STATUSES", "PERMISSIONS",
    "possible_duplicates", "RATE_DEFINITIONS", "rates", "recount", "refusal", "Reporter", "RequestKind",
    "RollupDelta", "route", "Routed", "Sla", "SYSTEM", "TimelineEntry", "TREND_METRICS", "trend_of", "Whereabouts",
    "window_days",
]
