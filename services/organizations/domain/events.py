"""Domain events and the base every aggregate of this service shares.

One event model for the whole service: `type` is the UPPER_SNAKE event name (one of
EVENT_TYPES), `data` its fields. `region_path` is the path of the record's organisation
(a member's: its organisation's anchor path), so the service publishes it on
`subject(event)` = `yiwang.evt.organizations.<TYPE>.<path…>`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from shared.auth import Principal, public_actor
from shared.domain import DomainEvent

SUBJECT_PREFIX = "yiwang.evt.organizations"

EVENT_TYPES: dict[str, str] = {
    "ORGANIZATION_CREATED": "a party organisation was set up on a territory node",
    "ORGANIZATION_UPDATED": "name or other details of an organisation changed",
    "POSITION_APPOINTED": "a member took a committee role (with its term)",
    "POSITION_ENDED": "a committee term was ended early",
    "UNIT_JOINED_COMMITTEE": "a co-building unit joined a community's 大党委",
    "UNIT_LEFT_COMMITTEE": "a co-building unit left a community's 大党委",
    "ORGANIZATION_WEAK": "no organisational life for the period: 软弱涣散 risk",
    "ORGANIZATION_RECOVERED": "a weak organisation recorded organisational life again",
    "LIFE_RECORDED": "a 三会一课 or 主题党日 record was added",
    "MEMBER_REGISTERED": "a party member was registered",
    "MEMBER_UPDATED": "a member's category, phone or home changed",
    "MEMBER_CONTACT_REVEALED": "audit: an admin saw a member's phone and ID number unmasked",
    "TRANSFER_REQUESTED": "组织关系转接 requested",
    "TRANSFER_APPROVED": "the receiving side approved; the membership moved",
    "TRANSFER_REJECTED": "the receiving side rejected, with a reason",
    "TRANSFER_CANCELLED": "the transfer was withdrawn",
    "TRANSFER_OVERDUE": "an open transfer passed its deadline",
    "DUAL_REGISTERED": "an in-service member registered with their residential community",
    "DUAL_REGISTRATION_ENDED": "a 双报到 registration was ended",
    "UNIT_TWINNED": "an employer's branch twinned with a community",
    "FEEDBACK_RECORDED": "service hours were added to a member's quarterly feedback",
    "UNIT_REGISTERED": "a co-building unit was registered",
    "UNIT_UPDATED": "a co-building unit's contacts changed",
    "LINKAGE_RECORDED": "a three-party linkage was recorded for an estate",
    "MEETING_SCHEDULED": "a joint meeting was scheduled, with its rotating chair",
    "AGENDA_ITEM_ADDED": "an agenda item was added to a joint meeting",
    "MEETING_HELD": "minutes and attendance of a joint meeting were recorded",
    "RESOLUTION_ADDED": "a resolution with action items was adopted",
    "CASE_REQUESTED": "an action item is to become a case (channel JOINT_MEETING)",
    "CASE_LINKED": "the case created for an action item was recorded",
    "CASE_STATUS_UPDATED": "the status of an action item's case changed",
    "NEED_POSTED": "a community posted a need (需求清单)",
    "RESOURCE_OFFERED": "a unit offered a resource (资源清单)",
    "PROJECT_PROPOSED": "a project matched a need to a resource (项目清单)",
    "PROJECT_STATUS_CHANGED": "a project moved along PROPOSED → AGREED → IN_PROGRESS → DONE",
    # evidence
    "MEETING_ATTACHMENT_ADDED": "a photo, video, document or recording was added to a joint meeting",
}


class OrgEvent(DomainEvent):
    """What happened, in the past tense, to the record `aggregate`/`aggregate_id`. Events of
    one command share `version`."""

    service_name: ClassVar[str] = "organizations"
    known_types: ClassVar[Collection[str]] = EVENT_TYPES
    subject_prefix: ClassVar[str] = SUBJECT_PREFIX

    type: str
    aggregate: str
    aggregate_id: str
    version: int
    at: datetime
    actor: str | None
    region_path: tuple[str, ...]
    data: dict[str, Any] = {}

    @property
    def record_kind(self) -> str:
        return self.aggregate

    @property
    def record_id(self) -> str:
        return self.aggregate_id


def event_from_wire(data: dict[str, Any]) -> OrgEvent:
    return OrgEvent.from_wire(data)


class Aggregate(BaseModel):
    """Base of every record with a version and pending events. A command checks first, then
    calls `_change` once and `_emit` for each event, so a command that raises leaves the
    record as it was."""

    aggregate_name: ClassVar[str] = "record"

    id: str
    version: int = 1
    updated_at: datetime | None = None
    pending_events: list[OrgEvent] = Field(default_factory=list, exclude=True)

    @property
    def scope_path(self) -> tuple[str, ...]:
        raise NotImplementedError

    def _change(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now

    def _emit(self, type: str, by: Principal | None, now: datetime, /, **data: Any) -> OrgEvent:
        """Record event `type` with fields `data`, published under the record's own path."""
        return self._emit_at(self.scope_path, type, by, now, **data)

    def _emit_at(
        self, path: tuple[str, ...], type: str, by: Principal | None, now: datetime, /, **data: Any
    ) -> OrgEvent:
        """Record event `type` published under `path` (a member's 双报到 events: the community's).
        The parameters are positional-only, so an event field of any name lands in `data`."""
        event = OrgEvent(
            type=type,
            aggregate=self.aggregate_name,
            aggregate_id=self.id,
            version=self.version,
            at=now,
            actor=public_actor(by),
            region_path=path,
            data=_jsonable(data),
        )
        self.pending_events.append(event)
        return event

    def drain_events(self) -> list[OrgEvent]:
        events, self.pending_events = self.pending_events, []
        return events


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, BaseModel):
            v = v.model_dump(mode="json")
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out
