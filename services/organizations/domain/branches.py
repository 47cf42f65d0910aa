"""Party branches outside the territorial chain (机关, 企业, 两新, 物业, 商圈): their members'
双报到 counted for them, unit 报到 with a community (commitments and the services delivered),
and the idle signal (空转): no 双报到 activity and no service delivered for a period."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.errors import BadInput, Conflict
from shared.vocabulary.territory import Level

from .enums import Action
from .events import Aggregate
from .organization import Organization
from .policy import SYSTEM, authorize
from .units import Unit
from .values import Node, text

DEFAULT_IDLE_DAYS = 60
MAX_COMMITMENTS, MAX_SERVICES = 20, 500


def last_activity(org: Organization) -> datetime:
    """When the branch last showed activity: a service delivered or a member's 双报到
    (counted from its creation when it never had any)."""
    return org.last_service_at or org.created_at


def is_idle(org: Organization, now: datetime, period_days: int = DEFAULT_IDLE_DAYS) -> bool:
    """空转: a non-territorial branch with no activity for `period_days`."""
    if org.type.territorial:
        return False
    if period_days <= 0:
        raise BadInput("the idle period must be a positive number of days")
    return now - last_activity(org) >= timedelta(days=period_days)


def note_activity(org: Organization, at: datetime, now: datetime) -> bool:
    """A member's 双报到 or a service delivered by the branch's unit: newer activity is kept and
    clears the idle flag. Returns whether the branch changed."""
    if org.type.territorial:
        return False
    newer = org.last_service_at is None or at > org.last_service_at
    if not newer and not org.idle:
        return False
    org._change(now)
    if newer:
        org.last_service_at = at
    if org.idle:
        org.idle = False
        org._emit("BRANCH_ACTIVE", SYSTEM, now, lastActivityAt=last_activity(org).isoformat())
    return True


def count_dual(org: Organization, delta: int, now: datetime, activity: bool = True) -> bool:
    """A member of the branch started (+1) or ended (−1) a 双报到; a start is activity (not a
    member with one moving in: `activity` False)."""
    if org.type.territorial or delta == 0:
        return False
    org._change(now)
    org.dual_registered = max(0, org.dual_registered + delta)
    if delta > 0 and activity:
        note_activity(org, now, now)
    return True


def sweep_idle(org: Organization, now: datetime, period_days: int = DEFAULT_IDLE_DAYS) -> bool:
    """The periodic check: flags the branch idle once. Returns whether it changed."""
    if org.idle or not is_idle(org, now, period_days):
        return False
    org._change(now)
    org.idle = True
    org._emit("BRANCH_IDLE", SYSTEM, now, periodDays=period_days, lastActivityAt=last_activity(org).isoformat())
    return True


class ServiceDelivered(BaseModel):
    model_config = ConfigDict(frozen=True)

    what: str
    at: datetime


def registration_id(unit_id: str, community_id: str) -> str:
    return f"ur:{unit_id}:{community_id}"


class UnitRegistration(Aggregate):
    """单位报到: a unit registers with a community, with its commitments (承诺事项) and the
    services it delivers there, recorded as they happen."""

    aggregate_name: ClassVar[str] = "unit_registration"

    unit_id: str
    unit_path: tuple[str, ...]
    community_id: str
    community_path: tuple[str, ...]
    commitments: list[str] = Field(default_factory=list)
    services: list[ServiceDelivered] = Field(default_factory=list)
    registered_at: datetime

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def register(
        cls, *, unit: Unit, community: Node, commitments: Iterable[str], by: Principal, now: datetime
    ) -> UnitRegistration:
        if community.level is not Level.COMMUNITY:
            raise BadInput(f"{community.name or community.id} is a {community.level}, not a COMMUNITY")
        promised = [text(c, "commitment", 200) for c in commitments]
        if len(promised) > MAX_COMMITMENTS:
            raise BadInput(f"at most {MAX_COMMITMENTS} commitments")
        reg = cls(
            id=registration_id(unit.id, community.id),
            unit_id=unit.id,
            unit_path=unit.region_path,
            community_id=community.id,
            community_path=community.path,
            commitments=list(dict.fromkeys(promised)),
            registered_at=now,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_UNIT, reg)
        reg._emit(
            "UNIT_REGISTERED_WITH_COMMUNITY",
            by,
            now,
            unitId=unit.id,
            communityId=community.id,
            commitments=len(reg.commitments),
        )
        return reg

    def record_service(self, what: str, at: datetime, by: Principal, now: datetime) -> ServiceDelivered:
        """A service the unit delivered to the community (what, when); not in the future."""
        authorize(by, Action.MANAGE_UNIT, self)
        if at > now:
            raise BadInput("a service is recorded once delivered, not ahead", {"at": at.isoformat()})
        if len(self.services) >= MAX_SERVICES:
            raise Conflict(f"registration {self.id} holds {MAX_SERVICES} services already")
        service = ServiceDelivered(what=text(what, "what", 200), at=at)
        self._change(now)
        self.services.append(service)
        self._emit(
            "UNIT_SERVICE_RECORDED",
            by,
            now,
            unitId=self.unit_id,
            communityId=self.community_id,
            what=service.what,
            deliveredAt=at.isoformat(),
            serviceCount=len(self.services),
        )
        return service
