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
}
EVENT_TYPES = frozenset(EVENT_DEFINITIONS)


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
