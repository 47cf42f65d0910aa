"""The pure domain of the `cases` service: the Case aggregate and its workflow, events,
permissions and masking, the dispatch catalogue, duplicates and region rollups.
No I/O and no clock: time and SLA settings are passed in."""
from .catalogue import DEFAULT_CATALOGUE, DEFAULT_CATEGORIES, DEPARTMENTS, Catalogue, Category
from .duplicates import distance_m, haversine_m, is_possible_duplicate, possible_duplicates
from .enums import (OPEN_STATUSES, Action, AssigneeKind, CaseChannel, CaseStatus,
                    HandlingLevel, RequestKind)
from .events import (EVENT_TYPES, CaseAccepted, CaseAssigned, CaseClosed, CaseContactRevealed, CaseDeliberated,
                     CaseEscalated, CaseEvent, CaseMerged, CaseOverdue, CaseRated, CaseReopened,
                     CaseRejected, CaseReported, CaseResolved, CaseReturned, CaseStarted,
                     event_from_wire)
from .hotspots import HotspotTrend, hotspots, trend_of
from .hotspots import windows as hotspots_windows
from .model import DEFAULT_SLA, Case, Sla, merge
from .policy import (PERMISSIONS, SYSTEM, authorize, in_scope, is_allowed, is_assignee,
                     mask_phone, may_see_contact)
from .rollups import (COUNTER_DEFINITIONS, COUNTER_KEYS, RATE_DEFINITIONS, RollupDelta,
                      counters_of, rates, recount, TREND_METRICS)
from .values import Assignee, GeoPoint, Reporter, TimelineEntry

__all__ = [
    "Action", "Assignee", "AssigneeKind", "COUNTER_DEFINITIONS", "COUNTER_KEYS", "Case",
    "CaseAccepted", "CaseAssigned", "CaseDeliberated", "CaseChannel", "CaseClosed", "CaseContactRevealed",
    "CaseEscalated", "CaseEvent", "CaseMerged", "CaseOverdue", "CaseRated", "CaseReopened",
    "CaseRejected", "CaseReported", "CaseResolved", "CaseReturned", "CaseStarted", "CaseStatus",
    "Catalogue", "Category", "DEFAULT_CATALOGUE", "DEFAULT_CATEGORIES", "DEFAULT_SLA",
    "DEPARTMENTS", "EVENT_TYPES", "GeoPoint", "HandlingLevel", "OPEN_STATUSES", "PERMISSIONS",
    "RATE_DEFINITIONS", "Reporter", "RequestKind", "RollupDelta", "SYSTEM", "Sla",
    "TimelineEntry", "authorize", "counters_of", "distance_m", "event_from_wire",
    "haversine_m", "HotspotTrend", "hotspots", "hotspots_windows", "trend_of", "TREND_METRICS", "in_scope", "is_allowed", "is_assignee", "is_possible_duplicate",
    "mask_phone", "may_see_contact", "merge", "possible_duplicates", "rates", "recount",
]
