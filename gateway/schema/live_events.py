"""`events(regionId, services, types, after)`: every service's events in a subtree as they happen,
resumable after a reconnect from the cursor of the last event seen.

One ephemeral ordered JetStream consumer per service (gateway.events.stream_events), filtered by
the server to the subtree (and to `types`), merged in arrival order. Event data goes out through an
allowlist per service and event type: ids, types, statuses, levels, counts, times and titles; no
phones, ID numbers, names of people, principal subs, free text or precise locations."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
from collections.abc import AsyncGenerator, Mapping
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.events import Delivery, stream_events
from gateway.schema.case_events import WATCHERS
from gateway.schema.common import ctx
from gateway.schema.territory import load_region
from shared.auth import Principal, Role
from shared.errors import BadInput, Forbidden
from shared.messaging.streams import SERVICES
from shared.messaging.subjects import dept_filters, subtree_filters

# Who may watch which service's events in their subtree: the staff of caseEvents (a grid worker
# their own grid); party records (organizations) are for admins and operators only, as in that service.
SERVICE_WATCHERS: dict[str, frozenset[Role]] = {
    "grids": frozenset(WATCHERS),
    "cases": frozenset(WATCHERS | {Role.DEPARTMENT}),  # a department: the cases it handles
    "organizations": frozenset({Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR}),
    "volunteers": frozenset(WATCHERS),
}
TYPES_MAX = 20
_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")  # one subject token, never a wildcard

# ---- personal data ------------------------------------------------------------------------------
# A spec maps the keys that may leave to True (a scalar, or a list of scalars), COUNTS (a flat map of
# numbers) or a nested spec (a map, or a list of maps). Every other key is dropped, and so is a value
# of an unexpected shape under an allowed key. An event type not listed keeps its service's COMMON keys.
COUNTS = "counts"
Spec = Mapping[str, Any]

_ASSIGNEE: Spec = {"kind": True, "id": True}  # not `name`: the name of a person or department
_REGION: Spec = {
    "id": True,
    "name": True,
    "level": True,
    "code": True,
    "parentId": True,
    "path": True,
    "ancestors": {"id": True, "name": True, "level": True, "code": True},
    "version": True,
    "createdAt": True,
    "updatedAt": True,
}  # not `attrs` (free-form) nor `boundary`
_WORKER: Spec = {"id": True, "role": True, "gridId": True}  # not `name`, `sub`
_ROLE: Spec = {"assignment": {"role": True, "regionId": True, "dept": True}, "previousRole": True}
_CADRE: Spec = {"id": True, "regionId": True, "level": True, "role": True, "active": True}  # links: not `sub`
_MEMBER_LINK: Spec = {"memberId": True, "communityId": True, "householdIds": True, "linkedCount": True}  # links:
_TRANSFER: Spec = {"memberId": True, "fromOrgId": True, "toOrgId": True, "toPath": True, "deadlineAt": True}
_LEDGER: Spec = {
    "volunteerId": True,
    "delta": True,
    "sourceKind": True,
    "sourceId": True,
    "expiresAt": True,
    "itemCode": True,
}

COMMON: dict[str, Spec] = {
    # not `actor` (the envelope has it), `note` (free text: titles, reasons, residents' comments), `counters`
    "cases": {
        "type": True,
        "case_id": True,
        "version": True,
        "at": True,
        "status": True,
        "level": True,
        "region_path": True,
        "building_id": True,  # building: a region id, like the path
        "delta": COUNTS,
    },
    "grids": {},
    "organizations": {"aggregate": True, "aggregateId": True},
    "volunteers": {"kind": True},
}

ALLOWED: dict[str, dict[str, Spec]] = {
    "cases": {
        # not `location`: where a resident stood or lives; the region is on the event
        "REPORTED": {
            "title": True,
            "category_code": True,
            "kind": True,
            "channel": True,
            "region_id": True,
            "due_at": True,
        },
        "ACCEPTED": {"due_at": True},
        "ASSIGNED": {"assignee": _ASSIGNEE},
        "STARTED": {"assignee": _ASSIGNEE},
        "RESOLVED": {"on_time": True},  # not `resolution`
        "RATED": {"score": True},  # not `reporter_sub`, `comment`
        "CLOSED": {"rating": True},
        "REOPENED": {"due_at": True},
        "REJECTED": {},  # not `reason`
        "ESCALATED": {"from_level": True, "due_at": True, "by_sweeper": True},  # not `reason`
        "OVERDUE": {"due_at": True},
        "RETURNED": {"returned_by": _ASSIGNEE},  # not `reason`
        "MERGED": {"from_id": True, "into_id": True},
        "CONTACT_REVEALED": {"reporter_index": True},  # not `reason`
        "DELIBERATED": {"meeting_id": True, "resolution_id": True},  # the resolution's text is in `note`
        # follow-up: not a verification's or visit's note, a correction's reason, a comment's text
        "CASE_VERIFIED": {
            "passed": True,
            "rework_count": True,
            "attachment_ids": True,
            "due_at": True,
            "return_visit_due_at": True,
        },
        "CASE_RETURN_VISITED": {"visit_id": True, "reached": True, "satisfaction": True, "channel": True},
        "CASE_RETURN_VISIT_OVERDUE": {"return_visit_due_at": True},
        "CASE_CORRECTED": {
            "from_category": True,
            "to_category": True,
            "from_region_id": True,
            "to_region_id": True,
            "point_changed": True,
            "from_level": True,
            "due_at": True,
        },
        "CASE_COMMENTED": {"visibility": True, "author_role": True, "attachment_ids": True},
        "CATALOGUE_CHANGED": {"version": True},
        # clocks
        "DUE_SOON": {"due_at": True},
        "WORK_CALENDAR_CHANGED": {"year": True, "version": True, "source": True, "holidays": True, "workdays": True},
        # departments: department keys (`<region>:<code>`), request ids and kinds; no text
        "CASE_DISPATCHED": {"lead": True, "cooperating": True, "due_at": True},
        "CASE_REPLIED": {"dept": True, "role": True, "attachment_count": True},
        "CASE_REQUEST_RAISED": {"request_id": True, "kind": True, "dept": True, "until": True},
        "CASE_REQUEST_DECIDED": {"request_id": True, "kind": True, "approved": True, "dept": True, "due_at": True},
        "CASE_SUSPENDED": {"request_id": True},
        "CASE_RESUMED": {"paused_s": True, "due_at": True},
        "CASE_URGED": {"urge_count": True, "by_region": True, "lead": True},
        "ATTACHMENT_ADDED": {"attachment_id": True, "kind": True, "stage": True, "size": True},  # evidence
    },
    "grids": {
        "REGION_CREATED": {"region": _REGION},
        "REGION_UPDATED": {"region": _REGION, "changed": True},
        "REGION_MOVED": {"region": _REGION, "oldPath": True, "newPath": True},
        "BOUNDARY_SET": {"region": _REGION},
        "WORKER_REGISTERED": {"worker": _WORKER},
        "WORKER_ASSIGNED": {"worker": _WORKER},
        "WORKER_UNASSIGNED": {"worker": _WORKER},
        # links: ids, roles and counts (not the cadre's `sub`)
        "CADRE_ASSIGNED": {"assignment": _CADRE},
        "CADRE_UNASSIGNED": {"assignment": _CADRE},
        "MEMBER_LINKED": _MEMBER_LINK,
        "MEMBER_UNLINKED": _MEMBER_LINK,
        # sign-in: which role was given or taken where (not to whom)
        "ROLE_ASSIGNED": _ROLE,
        "ROLE_REVOKED": _ROLE,
    },
    "organizations": {
        "ORGANIZATION_CREATED": {
            "name": True,
            "orgType": True,
            "anchorId": True,
            "parentId": True,
            "householdMemberId": True,
        },
        "ORGANIZATION_UPDATED": {"name": True},
        # not `holder_name` / `holderName`
        "POSITION_APPOINTED": {"member_id": True, "unit_id": True, "role": True, "term": {"start": True, "end": True}},
        "POSITION_ENDED": {"role": True, "end": True},
        "UNIT_JOINED_COMMITTEE": {"unitId": True},
        "UNIT_LEFT_COMMITTEE": {"unitId": True},
        "ORGANIZATION_WEAK": {"periodDays": True, "lastLifeAt": True},
        "ORGANIZATION_RECOVERED": {},
        "LIFE_RECORDED": {"recordId": True, "kind": True, "heldAt": True, "attendance": True},
        # not `homeBuildingId` (where a member lives) nor MEMBER_UPDATED's `phone` marker
        "MEMBER_REGISTERED": {"orgId": True, "category": True},
        "MEMBER_UPDATED": {"category": True},
        "MEMBER_CONTACT_REVEALED": {},  # not `reason`
        "TRANSFER_REQUESTED": _TRANSFER,  # not `reason`, here and below
        "TRANSFER_APPROVED": _TRANSFER,
        "TRANSFER_REJECTED": _TRANSFER,
        "TRANSFER_CANCELLED": _TRANSFER,
        "TRANSFER_OVERDUE": _TRANSFER,
        "DUAL_REGISTERED": {"memberOrgId": True, "communityId": True, "orgPath": True},
        "DUAL_REGISTRATION_ENDED": {"communityId": True},
        "UNIT_TWINNED": {"branchId": True, "branchPath": True, "communityId": True},
        "FEEDBACK_RECORDED": {
            "memberId": True,
            "quarter": True,
            "sourceEventId": True,
            "sourceVersion": True,
            "hours": True,
            "services": True,
            "totalHours": True,
            "totalServices": True,
        },
        "UNIT_REGISTERED": {"name": True, "kind": True},
        "UNIT_UPDATED": {"contacts": True},  # a count
        "LINKAGE_RECORDED": {"estate": True, "committeeId": True, "propertyCompanyId": True, "ownersCommitteeId": True},
        "MEETING_SCHEDULED": {"committeeId": True, "scheduledAt": True, "chairUnitId": True, "skippedUnits": True},
        # not `ref`: may name a resident
        "AGENDA_ITEM_ADDED": {
            "id": True,
            "source": True,
            "title": True,
            "case_ids": True,
            "caseIds": True,
            "hotspot": {"gridId": True, "categoryCode": True, "since": True, "until": True, "count": True},
        },
        "MEETING_HELD": {"units": True, "members": True},  # `members`: a count
        "RESOLUTION_ADDED": {
            "resolutionId": True,
            "items": True,
            "agendaItemIds": True,
            "caseIds": True,
            "communityId": True,
        },  # not `text`
        "CASE_REQUESTED": {"itemId": True, "title": True, "categoryCode": True, "regionId": True, "channel": True},
        "CASE_LINKED": {"itemId": True, "caseId": True, "status": True},
        "CASE_STATUS_UPDATED": {"itemId": True, "caseId": True, "status": True},
        "NEED_POSTED": {"title": True, "category": True},
        "RESOURCE_OFFERED": {"unitId": True, "title": True, "category": True},
        "PROJECT_PROPOSED": {"needId": True, "resourceId": True, "title": True},
        "PROJECT_STATUS_CHANGED": {"fromStatus": True, "status": True},  # not `note`
        "MEETING_ATTACHMENT_ADDED": {
            "attachment_id": True,
            "attachment_kind": True,
            "stage": True,
            "size": True,
        },  # evidence
        # deliberation: stages, counts and ids; never who proposed, supported or objected, nor what they wrote
        "PROPOSAL_SUBMITTED": {"communityId": True, "proposalSource": True, "title": True},
        "PROPOSAL_SUPPORTED": {"supportCount": True},
        "PROPOSAL_ADVANCED": {
            "fromStage": True,
            "toStage": True,
            "noticeId": True,
            "caseIds": True,
            "orderIds": True,
            "projectIds": True,
            "caseRequested": True,
        },
        "PROPOSAL_VOTED": {
            "fromStage": True,
            "toStage": True,
            "passed": True,
            "roll": True,
            "attended": True,
            "votesFor": True,
            "votesAgainst": True,
            "abstentions": True,
        },
        "PROPOSAL_REJECTED": {"fromStage": True, "byVote": True},
        "NOTICE_PUBLISHED": {"proposalId": True, "noticeKind": True, "endsAt": True},
        "NOTICE_OBJECTED": {"proposalId": True, "objectionId": True, "objections": True},
        "OBJECTION_ANSWERED": {"proposalId": True, "objectionIds": True},
        "RESULT_PUBLISHED": {"fromStage": True, "noticeId": True, "caseIds": True},
        "PROPOSAL_CASE_LINKED": {"caseId": True},
        "DELIBERATION_RULE_SET": {"quorum": True, "majority": True, "noticePeriodS": True},
        "PARTICIPATION_RECORDED": {"proposalId": True, "act": True, "ruleCode": True},
        # weak organisations: scores and steps, never a task's title, note or who is responsible
        "WEAK_ORGANIZATION_FLAGGED": {"organizationId": True, "score": True, "threshold": True, "signals": True},
        "WEAK_ORGANIZATION_CLEARED": {"organizationId": True, "score": True, "threshold": True, "clearedBy": True},
        "WEAK_SETTINGS_CHANGED": {"threshold": True, "windowDays": True, "minCases": True, "settingsVersion": True},
        "RECTIFICATION_STARTED": {"organizationId": True, "tasks": True, "reviewAt": True, "score": True},
        "RECTIFICATION_TASK_COMPLETED": {"organizationId": True, "taskId": True, "late": True, "open": True},
        "RECTIFICATION_TASK_OVERDUE": {"organizationId": True, "taskId": True, "dueAt": True},
        "RECTIFICATION_REVIEWED": {"organizationId": True, "passed": True, "score": True, "threshold": True},
        # committees: ids, dates, counts and flags; never a candidate's, attendee's or committee member's name
        "OWNERS_COMMITTEE_CREATED": {
            "communityId": True,
            "estate": True,
            "buildingIds": True,
            "filedByOrgId": True,
            "filedOn": True,
            "seats": True,
            "candidates": True,
        },
        "COMMITTEE_CANDIDATE_ADDED": {"candidateId": True},
        "COMMITTEE_CANDIDATE_VETTED": {"candidateId": True, "check": True, "passed": True, "qualified": True},
        "COMMITTEE_ELECTED": {"seatsHeld": True, "partySeats": True, "red": True, "termStart": True, "termEnd": True},
        "COMMITTEE_TERM_ENDED": {"end": True},
        "RESIDENTS_COMMITTEE_RECORDED": {
            "communityId": True,
            "name": True,
            "members": True,
            "termStart": True,
            "termEnd": True,
        },
        "THREE_PARTY_MEETING_RECORDED": {
            "communityId": True,
            "estate": True,
            "ownersCommitteeId": True,
            "residentsCommitteeId": True,
            "propertyCompanyId": True,
            "heldAt": True,
            "attendees": True,
            "items": True,
        },
        "THREE_PARTY_CASE_REQUESTED": {
            "itemId": True,
            "title": True,
            "categoryCode": True,
            "regionId": True,
            "channel": True,
            "buildingId": True,
        },
        "THREE_PARTY_CASE_LINKED": {"itemId": True, "caseId": True, "status": True},
        "THREE_PARTY_PROPOSAL_REQUESTED": {"itemId": True, "title": True, "communityId": True},
        "UNIT_REGISTERED_WITH_COMMUNITY": {"unitId": True, "communityId": True, "commitments": True},
        "UNIT_SERVICE_RECORDED": {
            "unitId": True,
            "communityId": True,
            "what": True,
            "deliveredAt": True,
            "serviceCount": True,
        },
        "BRANCH_IDLE": {"periodDays": True, "lastActivityAt": True},
        "BRANCH_ACTIVE": {"lastActivityAt": True},
        # funds and service lists: amounts, purposes, targets and kinds (a service's contact is never on the bus)
        "FUND_ACCOUNT_CREATED": {"communityId": True, "year": True, "granted": True},
        "SPENDING_RECORDED": {
            "accountId": True,
            "year": True,
            "amount": True,
            "purpose": True,
            "targetKind": True,
            "targetId": True,
            "status": True,
        },
        "SPENDING_APPROVED": {"accountId": True, "amount": True},
        "SPENDING_REJECTED": {"accountId": True, "amount": True},
        "SERVICE_LIST_ENTRY_ADDED": {
            "communityId": True,
            "kind": True,
            "title": True,
            "providerKind": True,
            "providerId": True,
        },
        "SERVICE_LIST_ENTRY_UPDATED": {
            "communityId": True,
            "kind": True,
            "title": True,
            "providerKind": True,
            "providerId": True,
            "changed": True,
        },
        "SERVICE_LIST_ENTRY_RETIRED": {"communityId": True, "kind": True},
        "NEED_STATUS_CHANGED": {"fromStatus": True, "status": True},  # not `note`
    },
    "volunteers": {
        "VOLUNTEER_REGISTERED": {"member_id": True},  # not `sub`, `skills`
        "VOLUNTEER_UPDATED": {},  # not `skills`, `availability`: a person's profile
        "TEAM_CREATED": {"name": True, "leader_id": True},
        "TEAM_MEMBER_ADDED": {"volunteer_id": True},
        "TEAM_MEMBER_REMOVED": {"volunteer_id": True},
        "POST_CREATED": {"title": True, "post_type": True, "capacity": True},
        "POST_CLOSED": {"released": True},
        "POST_CLAIMED": {"volunteer_id": True, "member_id": True, "claimed_count": True},
        "POST_RELEASED": {"volunteer_id": True, "claimed_count": True},
        "ORDER_PLACED": {"category": True, "wished_at": True},
        "ORDER_APPROVED": {},
        "ORDER_REJECTED": {},  # not `reason`
        "ORDER_DISPATCHED": {"target": {"kind": True, "id": True, "post_type": True}, "previous_taker": True},
        "ORDER_TAKEN": {"volunteer_id": True, "grabbed": True},
        "ORDER_STARTED": {"volunteer_id": True},
        "ORDER_COMPLETED": {"volunteer_id": True, "hours": True},
        "ORDER_RATED": {"score": True, "volunteer_id": True},
        "ORDER_CANCELLED": {"volunteer_id": True},  # not `reason`
        "ORDER_ATTACHMENT_ADDED": {
            "attachment_id": True,
            "attachment_kind": True,
            "stage": True,
            "size": True,
        },  # evidence
        "ACTIVITY_ATTACHMENT_ADDED": {"attachment_id": True, "attachment_kind": True, "stage": True, "size": True},
        "TASK_ASSIGNED": {"case_id": True, "volunteer_id": True},
        "TASK_RESOLVED": {"case_id": True, "volunteer_id": True, "hours": True},
        "ACTIVITY_CREATED": {"title": True, "capacity": True, "starts_at": True, "ends_at": True},
        "ACTIVITY_SIGNED_UP": {"volunteer_id": True, "signed_count": True},
        "ACTIVITY_SIGNUP_CANCELLED": {"volunteer_id": True, "signed_count": True},
        "ACTIVITY_CHECKED_IN": {"volunteer_id": True, "method": True},
        "ACTIVITY_CHECKED_OUT": {"volunteer_id": True, "method": True, "hours": True, "backfilled": True},
        "HOURS_BACKFILLED": {"volunteer_id": True, "hours": True, "backfilled": True},  # not `reason`
        "POINTS_AWARDED": _LEDGER,
        "POINTS_REDEEMED": _LEDGER,
        "POINTS_EXPIRED": _LEDGER,
        "QUARTERLY_FEEDBACK": {
            "member_id": True,
            "org_id": True,
            "work_unit_id": True,
            "volunteer_id": True,
            "quarter": True,
            "hours": True,
            "hours_backfilled": True,
            "orders": True,
            "activities": True,
            "cases": True,
            "feedbackVersion": True,
        },
        # residents' points: the ledger account, never the resident
        "RESIDENT_POINTS_AWARDED": {
            "accountId": True,
            "delta": True,
            "sourceKind": True,
            "ruleCode": True,
            "expiresAt": True,
            "firstHere": True,
        },
        "RESIDENT_POINTS_REDEEMED": {"accountId": True, "delta": True, "sourceKind": True, "itemCode": True},
        "RESIDENT_POINTS_EXPIRED": {"accountId": True, "delta": True, "sourceKind": True},
        "RESIDENT_POINTS_RULES_SET": {"codes": True, "tableVersion": True},
    },
}
# units take service orders: the unit that has an order (not its handler, a person), and its name
for _type in ("ORDER_TAKEN", "ORDER_STARTED", "ORDER_COMPLETED", "ORDER_RATED", "ORDER_CANCELLED"):
    ALLOWED["volunteers"][_type] = {**ALLOWED["volunteers"][_type], "unit_id": True}
ALLOWED["volunteers"]["ORDER_DISPATCHED"] = {
    **ALLOWED["volunteers"]["ORDER_DISPATCHED"],
    "target": {"kind": True, "id": True, "post_type": True, "name": True},
}
# committees: a non-territorial branch names its unit
ALLOWED["organizations"]["ORGANIZATION_CREATED"] = {**ALLOWED["organizations"]["ORGANIZATION_CREATED"], "unitId": True}
ALLOWED["organizations"]["LINKAGE_RECORDED"] = {
    **ALLOWED["organizations"]["LINKAGE_RECORDED"],
    "ownersCommitteeRecordId": True,  # committees: the estate's red committee
}


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _pick(value: Any, spec: Any) -> tuple[bool, Any]:
    """(keep, value) of one value under one spec entry."""
    if spec is True:
        if _scalar(value):
            return True, value
        if isinstance(value, list) and all(_scalar(v) for v in value):
            return True, value
        return False, None
    if spec == COUNTS:
        if isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) for k, v in value.items()
        ):
            return True, value
        return False, None
    if isinstance(spec, Mapping):
        if isinstance(value, dict):
            return True, _pick_map(value, spec)
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return True, [_pick_map(v, spec) for v in value]
        if value is None:
            return True, None
    return False, None


def _pick_map(data: Mapping[str, Any], spec: Spec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in spec.items():
        if key in data:
            keep, value = _pick(data[key], sub)
            if keep:
                out[key] = value
    return out


def allowed_spec(service: str, event_type: str) -> Spec:
    common = COMMON.get(service, {})
    own = ALLOWED.get(service, {}).get(event_type)
    return {**common, **own} if own is not None else common


def public_data(service: str, event_type: str, data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The event's data as the live feed may show it: allowlisted keys only."""
    return _pick_map(data or {}, allowed_spec(service, event_type))


# ---- cursors ------------------------------------------------------------------------------------
# base64url(compact JSON {"r": region id, "p": {service: last stream sequence delivered or known}})
# "." base64url(HMAC-SHA256 of it, 16 bytes), keyed from the JWT secret: a cursor is not forgeable,
# belongs to one region and is opaque to clients.
_CURSOR_LABEL = b"yiwang/live-events/cursor/v1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _cursor_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CURSOR_LABEL, hashlib.sha256).digest()


def encode_cursor(secret: str, region_id: str, positions: Mapping[str, int]) -> str:
    payload = json.dumps(
        {"r": region_id, "p": dict(sorted(positions.items()))}, separators=(",", ":"), ensure_ascii=False
    ).encode()
    mac = hmac.new(_cursor_key(secret), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(mac)}"


def decode_cursor(secret: str, region_id: str, cursor: str) -> dict[str, int]:
    """The stream positions of a cursor of this region's feed; BAD_INPUT for anything else."""
    bad = BadInput("`after` is not a cursor of this feed: pass the `cursor` of the last event you received")
    try:
        head, tail = cursor.split(".")
        payload, mac = _unb64(head), _unb64(tail)
    except ValueError:
        raise bad from None
    if not hmac.compare_digest(mac, hmac.new(_cursor_key(secret), payload, hashlib.sha256).digest()[:16]):
        raise bad
    try:
        body = json.loads(payload)
        region, positions = body["r"], body["p"]
    except (ValueError, KeyError, TypeError):
        raise bad from None
    if region != region_id:
        raise BadInput("`after` is a cursor of another region's feed", {"regionId": region})
    if not isinstance(positions, dict) or not all(
        s in SERVICES and isinstance(n, int) and not isinstance(n, bool) and n >= 0 for s, n in positions.items()
    ):
        raise bad
    return positions


# ---- the subscription ---------------------------------------------------------------------------
@strawberry.type(
    description="One event of the live feed. `data` keeps ids, types, statuses, levels, counts, "
    "times and titles, never personal data"
)
class LiveEvent:
    id: strawberry.ID = strawberry.field(description="The CloudEvent id")
    cursor: str = strawberry.field(description="Opaque; pass as `after` to resume right after this event")
    service: str = strawberry.field(description="grids | cases | organizations | volunteers")
    type: str = strawberry.field(description="The event name, e.g. REPORTED, MEMBER_REGISTERED, ORDER_PLACED")
    subject: str = strawberry.field(description="The id of the record the event is about, e.g. the case id")
    at: datetime
    actor: str | None
    region_id: strawberry.ID | None = strawberry.field(description="The deepest region on the event's path")
    region_path: list[strawberry.ID]
    data: JSON | None = strawberry.field(description="The event's data with personal data removed")


def live_event(d: Delivery, cursor: str) -> LiveEvent:
    e = d.event
    path = e.path
    return LiveEvent(
        id=strawberry.ID(e.id),
        cursor=cursor,
        service=d.service,
        type=e.event,
        subject=e.subject,
        at=e.time,
        actor=e.actor,
        region_id=strawberry.ID(path[-1]) if path else None,
        region_path=[strawberry.ID(p) for p in path],
        data=JSON(public_data(d.service, e.event, e.data)),
    )


def chosen_services(principal: Principal, services: list[str] | None) -> list[str]:
    """The services to read, in a stable order: those named (each must exist and be watchable by
    the caller's role), or every one the caller's role may watch."""
    if services is None:
        return [s for s in SERVICES if principal.role in SERVICE_WATCHERS[s]]
    unknown = sorted({s for s in services if s not in SERVICES})
    if unknown or not services:
        raise BadInput(f"`services` takes one or more of {', '.join(SERVICES)}", {"unknown": unknown})
    for s in services:
        if principal.role not in SERVICE_WATCHERS[s]:
            raise Forbidden(f"role {principal.role} may not watch {s} events")
    return [s for s in SERVICES if s in services]


def chosen_types(types: list[str] | None) -> list[str] | None:
    if types is None:
        return None
    distinct = sorted(set(types))
    if not distinct or len(distinct) > TYPES_MAX or not all(_TYPE.match(t) for t in distinct):
        raise BadInput(f"`types` takes 1 to {TYPES_MAX} event names such as REPORTED or ORDER_PLACED")
    return distinct


def filters_for(path: list[str], service: str, types: list[str] | None, p: Principal | None = None) -> list[str]:
    if p is not None and p.role is Role.DEPARTMENT and p.region and p.dept:  # its own subject space
        return [f for t in types or ["*"] for f in dept_filters(p.region, p.dept, service, t)]
    if types is None:
        return subtree_filters(path, service=service)
    return [f for t in types for f in subtree_filters(path, service=service, event=t)]


@strawberry.type
class LiveEventsSubscription:
    @strawberry.subscription(
        description="Every event of the listed services (default: all you may watch) in "
        "the region's subtree as it happens, optionally only some event `types`. "
        "With `after` (a `cursor` of this region's feed) it resumes right after "
        "that event, missing none. Staff in scope only; a grid worker may watch "
        "their own grid (not organizations); a department, the events of the cases it handles"
    )
    async def events(
        self,
        info: Info,
        region_id: strawberry.ID,
        services: list[str] | None = None,
        types: list[str] | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[LiveEvent, None]:
        c = ctx(info)
        principal = c.principal
        if principal.role not in WATCHERS and principal.role is not Role.DEPARTMENT:
            raise Forbidden(f"role {principal.role} may not watch a region's events")
        chosen, kinds = chosen_services(principal, services), chosen_types(types)
        region = await load_region(info, str(region_id))
        if region.get("partial") or not principal.can_see_path(region["path"]):
            raise Forbidden(f"region {region['name']} is outside your scope")
        secret, rid = c.settings.jwt_secret, region["id"]
        resume = decode_cursor(secret, rid, after) if after is not None else None
        sources = {s: filters_for(region["path"], s, kinds, principal) for s in chosen}
        feed = stream_events(
            c.nc,
            sources,
            region["path"],
            after=resume,
            resume_hint="subscribe again with `after`: the cursor of the last event you received",
        )
        async with contextlib.aclosing(feed):
            async for d in feed:
                c.principal  # noqa: B018 - a feed ends when its token expires
                yield live_event(d, encode_cursor(secret, rid, d.positions))
