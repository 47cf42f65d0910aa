"""Domain events: what happened, in the past tense, with the region path for the subject
`yiwang.evt.volunteers.<TYPE>.<path…>`. Commands append them to `pending_events`; the
service layer drains them into its outbox."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, ClassVar

from shared.domain import DomainEvent

SUBJECT_PREFIX = "yiwang.evt.volunteers"

EVENT_DEFINITIONS: dict[str, str] = {
    "VOLUNTEER_REGISTERED": "A resident or party member registered as a volunteer.",
    "VOLUNTEER_UPDATED": "A volunteer's skills or availability changed.",
    "TEAM_CREATED": "A volunteer team was formed with its leader.",
    "TEAM_MEMBER_ADDED": "A volunteer joined a team.",
    "TEAM_MEMBER_REMOVED": "A volunteer left a team.",
    "POST_CREATED": "A standing service post (服务岗位) was opened.",
    "POST_CLOSED": "A post was closed; its claims end.",
    "POST_CLAIMED": "A volunteer claimed a post (亮身份、践承诺).",
    "POST_RELEASED": "A volunteer released a post they had claimed.",
    "ORDER_PLACED": "A resident ordered a service (点单).",
    "ORDER_APPROVED": "The community approved an order; it is on the wish wall.",
    "ORDER_REJECTED": "The community rejected an order, with a reason.",
    "ORDER_DISPATCHED": "The community dispatched (or re-dispatched) an order (派单).",
    "ORDER_TAKEN": "A volunteer took an order (接单 / 抢单).",
    "ORDER_STARTED": "The taker started the service.",
    "ORDER_COMPLETED": "The taker completed the service, with hours.",
    "ORDER_RATED": "The resident rated the service (1–5).",
    "ORDER_CANCELLED": "The resident or the community cancelled the order.",
    "TASK_ASSIGNED": "A case assigned to a volunteer entered their task list.",
    "TASK_RESOLVED": "A volunteer's case was resolved; hours were credited.",
    "ACTIVITY_CREATED": "An activity with slots was published.",
    "ACTIVITY_SIGNED_UP": "A volunteer signed up for an activity.",
    "ACTIVITY_SIGNUP_CANCELLED": "A volunteer cancelled their sign-up.",
    "ACTIVITY_CHECKED_IN": "A volunteer checked in (code or location).",
    "ACTIVITY_CHECKED_OUT": "A volunteer checked out; credit hours were recorded.",
    "HOURS_BACKFILLED": "An admin back-filled hours, with a reason (marked backfilled).",
    "POINTS_AWARDED": "Points were credited to a volunteer's ledger.",
    "POINTS_REDEEMED": "A volunteer redeemed points against a catalogue item.",
    "POINTS_EXPIRED": "Unspent points passed their expiry.",
    "QUARTERLY_FEEDBACK": "An in-service member's quarter of service, for 双报到.",
    # evidence
    "ORDER_ATTACHMENT_ADDED": "A photo, video, document or recording was added to a service order.",
    "ACTIVITY_ATTACHMENT_ADDED": "A photo, video, document or recording was added to an activity.",
    # residents' points
    "RESIDENT_POINTS_AWARDED": "A resident earned points by a rule of the table (参与议事, 垃圾分类 …).",
    "RESIDENT_POINTS_REDEEMED": "A resident redeemed points against a catalogue item.",
    "RESIDENT_POINTS_EXPIRED": "A resident's unspent points passed their expiry.",
    "RESIDENT_POINTS_RULES_SET": "An administrator set the residents' points rule table (audited).",
}
EVENT_TYPES = frozenset(EVENT_DEFINITIONS)


# The fields of each event's `data` beside `kind`, for the AsyncAPI document (app.event_models);
# tests/unit/test_asyncapi.py checks them against the `_emit` calls.
LEDGER = ("volunteerId", "delta", "sourceKind", "sourceId", "expiresAt")
ATTACHMENT = ("attachment_id", "attachment_kind", "stage", "size")
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "VOLUNTEER_REGISTERED": ("sub", "member_id", "kind", "skills"),
    "VOLUNTEER_UPDATED": ("skills", "availability"),
    "TEAM_CREATED": ("name", "leader_id"),
    "TEAM_MEMBER_ADDED": ("volunteer_id",),
    "TEAM_MEMBER_REMOVED": ("volunteer_id",),
    "POST_CREATED": ("title", "post_type", "capacity"),
    "POST_CLOSED": ("released",),
    "POST_CLAIMED": ("volunteer_id", "member_id", "claimed_count"),
    "POST_RELEASED": ("volunteer_id", "claimed_count"),
    "ORDER_PLACED": ("category", "wished_at"),
    "ORDER_APPROVED": (),
    "ORDER_REJECTED": ("reason",),
    "ORDER_DISPATCHED": ("target", "previous_taker"),
    "ORDER_TAKEN": ("volunteer_id", "grabbed"),
    "ORDER_STARTED": ("volunteer_id",),
    "ORDER_COMPLETED": ("volunteer_id", "hours"),
    "ORDER_RATED": ("volunteer_id", "score"),
    "ORDER_CANCELLED": ("volunteer_id", "reason"),
    "TASK_ASSIGNED": ("case_id", "volunteer_id"),
    "TASK_RESOLVED": ("case_id", "volunteer_id", "hours"),
    "ACTIVITY_CREATED": ("title", "starts_at", "ends_at", "capacity"),
    "ACTIVITY_SIGNED_UP": ("volunteer_id", "signed_count"),
    "ACTIVITY_SIGNUP_CANCELLED": ("volunteer_id", "signed_count"),
    "ACTIVITY_CHECKED_IN": ("volunteer_id", "method"),
    "ACTIVITY_CHECKED_OUT": ("volunteer_id", "method", "hours", "backfilled"),
    "HOURS_BACKFILLED": ("volunteer_id", "hours", "reason", "backfilled"),
    "POINTS_AWARDED": LEDGER,
    "POINTS_REDEEMED": (*LEDGER, "itemCode"),
    "POINTS_EXPIRED": LEDGER,
    "QUARTERLY_FEEDBACK": (
        "member_id",
        "org_id",
        "work_unit_id",
        "volunteer_id",
        "quarter",
        "hours",
        "hours_backfilled",
        "orders",
        "activities",
        "cases",
        "feedbackVersion",
    ),
    "ORDER_ATTACHMENT_ADDED": ATTACHMENT,
    "ACTIVITY_ATTACHMENT_ADDED": ATTACHMENT,
    # residents' points: the ledger account, never the resident's sub
    "RESIDENT_POINTS_AWARDED": ("accountId", "delta", "sourceKind", "ruleCode", "expiresAt", "firstHere"),
    "RESIDENT_POINTS_REDEEMED": ("accountId", "delta", "sourceKind", "itemCode"),
    "RESIDENT_POINTS_EXPIRED": ("accountId", "delta", "sourceKind"),
    "RESIDENT_POINTS_RULES_SET": ("codes", "tableVersion"),
}
# units take service orders: the events of an order a unit has name the unit
for _event in ("ORDER_TAKEN", "ORDER_STARTED", "ORDER_COMPLETED", "ORDER_RATED", "ORDER_CANCELLED"):
    EVENT_FIELDS[_event] = (*EVENT_FIELDS[_event], "unit_id")

FIELD_DESCRIPTIONS: dict[str, str] = {
    "kind": "The kind of record: volunteer, team, post, order, task, activity, ledger, feedback, rules",
    "VOLUNTEER_REGISTERED.kind": "The kind of volunteer (志愿者类型: a resident or a party member); on this "
    "event it takes the place of the record kind",
    "sub": "The principal `sub` of the volunteer's account",
    "member_id": "The party member (党员) record, for a member volunteer",
    "skills": "The volunteer's skills (特长), as codes",
    "availability": "When the volunteer is available (服务时间)",
    "name": "The team's name (队伍名称)",
    "leader_id": "The team leader (队长), a volunteer id",
    "volunteer_id": "The volunteer (志愿者)",
    "title": "The title (标题)",
    "post_type": "The kind of service post (服务岗位类型)",
    "capacity": "How many volunteers it takes",
    "released": "How many claims the closing ended",
    "claimed_count": "How many volunteers hold the post after the change",
    "category": "The service category (服务类别) ordered",
    "wished_at": "When the resident wishes the service",
    "reason": "The reason given (free text)",
    "target": "Whom it was dispatched to (a volunteer or team)",
    "previous_taker": "The volunteer who had it before a re-dispatch",
    "grabbed": "True when taken from the wish wall (抢单), false when dispatched (接单)",
    "hours": "Service hours (服务时长)",
    "score": "The resident's rating, 1 to 5",
    "case_id": "The case (案件) assigned to the volunteer",
    "starts_at": "When the activity starts",
    "ends_at": "When the activity ends",
    "signed_count": "How many signed up after the change",
    "method": "How: CODE (签到码) or LOCATION (定位)",
    "backfilled": "True when the hours were back-filled by an admin (补录)",
    "volunteerId": "The volunteer whose points ledger (积分) changed",
    "delta": "The points added (positive) or taken (negative)",
    "sourceKind": "What earned or spent the points (order, activity, task, redemption, expiry…)",
    "sourceId": "The id of that record",
    "expiresAt": "When the points expire, if they do",
    "itemCode": "The catalogue item redeemed (兑换物品)",
    "org_id": "The member's party organisation",
    "work_unit_id": "The member's employer (在职单位), for 双报到",
    "quarter": "The quarter, `YYYY-Qn`",
    "hours_backfilled": "Of the hours, those back-filled by an admin",
    "orders": "Service orders completed in the quarter",
    "activities": "Activities attended in the quarter",
    "cases": "Cases resolved in the quarter",
    "feedbackVersion": "The feedback's version for the member and quarter (a newer one replaces the older)",
    "attachment_id": "The file's id (its bytes are in the file store)",
    "attachment_kind": "What the file is: PHOTO, VIDEO, AUDIO or DOCUMENT",
    "stage": "When the file was taken, if said",
    "size": "The file's size in bytes",
    # residents' points
    "accountId": "The resident's points ledger account (an opaque id, not the resident's account)",
    "ruleCode": "The rule of the residents' points table that earned the points",
    "firstHere": "True when these are the resident's first points in this community",
    "codes": "The rule codes of the table as set",
    "tableVersion": "The version of the rule table after the change",
    # units take service orders
    "unit_id": "The co-building unit (驻区单位) that has the order, when it was dispatched to a unit",
}


class VolunteersEvent(DomainEvent):
    """One event. `subject_kind`/`subject_id` name the record (volunteer, team, post,
    order, task, activity, ledger); events of one command share `version`; `counters` is
    the record's contribution to the region rollups after the command."""

    service_name: ClassVar[str] = "volunteers"
    known_types: ClassVar[Collection[str]] = EVENT_TYPES
    subject_prefix: ClassVar[str] = SUBJECT_PREFIX

    type: str
    subject_kind: str
    subject_id: str
    version: int
    at: datetime
    actor: str | None
    region_path: tuple[str, ...]
    data: dict[str, Any] = {}
    counters: dict[str, int] = {}

    @property
    def record_kind(self) -> str:
        return self.subject_kind

    @property
    def record_id(self) -> str:
        return self.subject_id


def event_from_wire(data: dict[str, Any]) -> VolunteersEvent:
    return VolunteersEvent.from_wire(data)
