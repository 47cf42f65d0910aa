"""双报到 beyond the member record: an employer's branch twinned with a community, and the
quarterly feedback of a member's service sent to their work unit."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.auth import Principal
from shared.errors import BadInput
from shared.vocabulary.territory import Level

from .enums import Action
from .events import Aggregate
from .member import PartyMember
from .organization import Organization
from .policy import SYSTEM, authorize
from .values import Node, Quarter


def twinning_key(branch_id: str, community_id: str) -> str:
    return f"{branch_id}:{community_id}"


class UnitTwinning(Aggregate):
    """单位报到: an employer's branch, outside the community, twins with it."""

    aggregate_name: ClassVar[str] = "twinning"

    branch_id: str
    branch_path: tuple[str, ...]
    community_id: str
    community_path: tuple[str, ...]
    registered_at: datetime

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def register(cls, *, branch: Organization, community: Node, by: Principal, now: datetime) -> UnitTwinning:
        if community.level is not Level.COMMUNITY:
            raise BadInput(f"{community.id} is a {community.level}, not a COMMUNITY")
        if community.contains(branch.anchor_path) and branch.type.territorial:
            raise BadInput(
                f"branch {branch.id} lies inside community {community.id}; twinning "
                "is for an employer's branch from outside"
            )
        twin = cls(
            id=twinning_key(branch.id, community.id),
            branch_id=branch.id,
            branch_path=branch.anchor_path,
            community_id=community.id,
            community_path=community.path,
            registered_at=now,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_ORG, twin)
        twin._emit("UNIT_TWINNED", by, now, branchId=branch.id, branchPath=branch.anchor_path, communityId=community.id)
        return twin


def feedback_id(member_id: str, quarter: Quarter) -> str:
    return f"{member_id}:{quarter}"


def services_in_quarter(orders: int, activities: int, cases: int) -> int:
    """What a member's quarterly feedback counts as services: the service orders, activities
    and cases handed to them (as `volunteers` counts each)."""
    return orders + activities + cases


class FeedbackRecord(Aggregate):
    """A member's service in one quarter (hours, services) for their work unit, summed from
    `volunteers` and `cases` events; each source event counts once."""

    aggregate_name: ClassVar[str] = "feedback"

    member_id: str
    quarter: str
    org_path: tuple[str, ...]  # the member's organisation: the work unit's side
    community_id: str | None = None  # where the service was done
    hours: float = 0.0
    services: int = 0
    source_event_ids: list[str] = Field(default_factory=list)
    source_version: int = 0  # of the volunteers service's running totals last applied

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.org_path

    @classmethod
    def open(cls, member: PartyMember, quarter: Quarter) -> FeedbackRecord:
        return cls(
            id=feedback_id(member.id, quarter),
            member_id=member.id,
            quarter=str(quarter),
            org_path=member.org_path,
            community_id=member.active_dual.community_id if member.active_dual else None,
        )

    def add(self, source_event_id: str, hours: float, services: int, now: datetime) -> bool:
        """Add one source event's service; returns False (and changes nothing) for an event
        already counted."""
        if not source_event_id:
            raise BadInput("a feedback entry needs its source event id")
        if hours < 0 or services < 0:
            raise BadInput("hours and services cannot be negative")
        if source_event_id in self.source_event_ids:
            return False
        self._change(now)
        self.hours = round(self.hours + hours, 2)
        self.services += services
        self.source_event_ids.append(source_event_id)
        self._emit(
            "FEEDBACK_RECORDED",
            SYSTEM,
            now,
            memberId=self.member_id,
            quarter=self.quarter,
            sourceEventId=source_event_id,
            hours=hours,
            services=services,
            totalHours=self.hours,
            totalServices=self.services,
        )
        return True

    def set_totals(self, source_version: int, hours: float, services: int, now: datetime) -> bool:
        """The quarter's running totals from `volunteers` (QUARTERLY_FEEDBACK): a newer
        version replaces the last; an older or repeated one changes nothing."""
        if hours < 0 or services < 0:
            raise BadInput("hours and services cannot be negative")
        if source_version <= self.source_version:
            return False
        self._change(now)
        self.source_version, self.hours, self.services = source_version, round(hours, 2), services
        self._emit(
            "FEEDBACK_RECORDED",
            SYSTEM,
            now,
            memberId=self.member_id,
            quarter=self.quarter,
            sourceVersion=source_version,
            totalHours=self.hours,
            totalServices=self.services,
        )
        return True


def dual_register(member: PartyMember, community: Node, by: Principal, now: datetime) -> None:
    """双报到 (see PartyMember.dual_register)."""
    member.dual_register(community, by, now)
