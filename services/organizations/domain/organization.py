"""The party organisation tree on the territory: placement rules, committee positions with
terms, the 大党委's member units, and the weak flag (软弱涣散)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel, Field

from shared.auth import Principal
from shared.errors import BadInput, Conflict, NotFound
from shared.vocabulary.territory import Level

from .enums import Action, OrgType, PositionRole
from .events import Aggregate
from .policy import SYSTEM, authorize
from .values import Node, Term, text

_LEVELS = list(Level)
DEFAULT_WEAK_DAYS = 90


class Position(BaseModel):
    """A seat on the organisation's committee for a term. A part-time member (兼职委员)
    comes from a unit on the 大党委 and need not be a member record here."""

    holder_name: str
    member_id: str | None = None
    unit_id: str | None = None
    role: PositionRole
    term: Term

    def same_holder(self, other: Position) -> bool:
        if self.member_id or other.member_id:
            return self.member_id == other.member_id
        return (self.holder_name, self.unit_id) == (other.holder_name, other.unit_id)


def expected_parent_path(org_type: OrgType, anchor: Node) -> tuple[str, ...] | None:
    """The anchor path the parent must have: the nearest ancestor of the parent type's level
    on the child's anchor path (the same node for a 党员中心户 under its 楼栋党小组)."""
    parent_type = org_type.parent_type
    if parent_type is None:
        return None
    up = _LEVELS.index(anchor.level) - _LEVELS.index(parent_type.anchor_level)
    if up >= len(anchor.path):
        raise BadInput(f"the path of {anchor.id} does not reach a {parent_type.anchor_level}")
    return anchor.path[: len(anchor.path) - up]


def check_placement(
    org_type: OrgType, anchor: Node, parent: Organization | None, household_member_id: str | None = None
) -> None:
    """Raise BadInput unless the anchor's level matches the type and the parent is the
    organisation of the parent type on the nearest ancestor of the right level. A
    non-territorial branch (机关, 企业…) has no parent and stays out of the chain."""
    if not org_type.territorial:
        check_outside_chain(org_type, parent, household_member_id)
        return
    if parent is not None and not parent.type.territorial:
        raise BadInput(
            f"{parent.name} ({parent.type}) is outside the territorial chain: it cannot be the parent of a {org_type}",
            {"parentId": parent.id, "parentType": str(parent.type)},
        )
    if anchor.level is not org_type.anchor_level:
        raise BadInput(
            f"a {org_type} is anchored to a {org_type.anchor_level}, not a {anchor.level}",
            {"type": str(org_type), "level": str(anchor.level)},
        )
    if (org_type is OrgType.CENTER_HOUSEHOLD) != bool(household_member_id):
        raise BadInput("a CENTER_HOUSEHOLD, and only it, names its member household", {"type": str(org_type)})
    want = expected_parent_path(org_type, anchor)
    if want is None:
        if parent is not None:
            raise BadInput(f"a {org_type} is the top of the tree and has no parent")
        return
    if parent is None:
        raise BadInput(f"a {org_type} needs its {org_type.parent_type} as parent")
    if parent.type is not org_type.parent_type or parent.anchor_path != want:
        raise BadInput(
            f"the parent of a {org_type} on {anchor.id} must be the {org_type.parent_type} of {want[-1]}",
            {"parentId": parent.id, "parentType": str(parent.type)},
        )


def check_outside_chain(org_type: OrgType, parent: Organization | None, household_member_id: str | None) -> None:
    """A non-territorial branch is anchored to a unit and a region of any level, with no parent."""
    if parent is not None:
        raise BadInput(
            f"a {org_type} branch is outside the territorial chain and has no parent",
            {"type": str(org_type), "parentId": parent.id},
        )
    if household_member_id:
        raise BadInput("a CENTER_HOUSEHOLD, and only it, names its member household", {"type": str(org_type)})


def uniqueness_key(
    org_type: OrgType, anchor_id: str, household_member_id: str | None = None, unit_id: str | None = None
) -> str:
    """One organisation per (type, anchor); 党员中心户: one per member household; a
    non-territorial branch: one per (type, unit)."""
    if not org_type.territorial:
        return f"{org_type}:unit:{unit_id}"
    key = f"{org_type}:{anchor_id}"
    return f"{key}:{household_member_id}" if org_type is OrgType.CENTER_HOUSEHOLD else key


def is_weak(
    org: Organization, last_activity_at: datetime | None, now: datetime, period_days: int = DEFAULT_WEAK_DAYS
) -> bool:
    """软弱涣散 risk: no organisational life for `period_days` (counted from the
    organisation's creation when it never had any). A 党员中心户 holds no meetings."""
    if org.type is OrgType.CENTER_HOUSEHOLD:
        return False
    if period_days <= 0:
        raise BadInput("the weak period must be a positive number of days")
    since = last_activity_at or org.created_at
    return now - since >= timedelta(days=period_days)


class Organization(Aggregate):
    """A party organisation (党组织) anchored to a territory node."""

    aggregate_name: ClassVar[str] = "organization"

    name: str
    type: OrgType
    anchor_id: str
    anchor_path: tuple[str, ...]
    parent_id: str | None = None
    household_member_id: str | None = None
    positions: list[Position] = Field(default_factory=list)
    unit_ids: list[str] = Field(default_factory=list)  # 大党委 units, in rotation order
    created_at: datetime
    last_life_at: datetime | None = None
    weak: bool = False
    # non-territorial branches (domain/branches.py): the unit, 双报到 activity and the idle flag (空转)
    unit_id: str | None = None
    dual_registered: int = 0
    last_service_at: datetime | None = None
    idle: bool = False

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.anchor_path

    @property
    def key(self) -> str:
        return uniqueness_key(self.type, self.anchor_id, self.household_member_id, self.unit_id)

    @classmethod
    def create(
        cls,
        *,
        id: str,
        name: str,
        type: OrgType,
        anchor: Node,
        parent: Organization | None,
        by: Principal,
        now: datetime,
        household_member_id: str | None = None,
        unit_id: str | None = None,
    ) -> Organization:
        check_placement(type, anchor, parent, household_member_id)
        if type.territorial == bool(unit_id):
            raise BadInput("a non-territorial branch, and only it, is anchored to a unit (unitId)", {"type": str(type)})
        org = cls(
            id=id,
            name=text(name, "name"),
            type=type,
            anchor_id=anchor.id,
            anchor_path=anchor.path,
            parent_id=parent.id if parent else None,
            household_member_id=household_member_id,
            unit_id=unit_id,
            created_at=now,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_ORG, org)
        org._emit(
            "ORGANIZATION_CREATED",
            by,
            now,
            name=org.name,
            orgType=str(type),
            anchorId=anchor.id,
            parentId=org.parent_id,
            householdMemberId=household_member_id,
            **({"unitId": unit_id} if unit_id else {}),
        )
        return org

    def check_unique(self, existing: Iterable[Organization]) -> None:
        for other in existing:
            if other.id != self.id and other.key == self.key:
                raise Conflict(f"{self.anchor_id} already has a {self.type}: {other.id}", {"existingId": other.id})

    def rename(self, name: str, by: Principal, now: datetime) -> None:
        authorize(by, Action.MANAGE_ORG, self)
        new = text(name, "name")
        if new == self.name:
            return
        self._change(now)
        self.name = new
        self._emit("ORGANIZATION_UPDATED", by, now, name=new)

    # ---- committee ------------------------------------------------------------------
    def appoint(self, position: Position, by: Principal, now: datetime) -> None:
        """A holder can't hold two overlapping terms of one role here; one SECRETARY at a
        time; a PART_TIME_MEMBER sits for a unit of this 大党委."""
        authorize(by, Action.MANAGE_ORG, self)
        text(position.holder_name, "holderName")
        if position.role is PositionRole.PART_TIME_MEMBER:
            if self.type is not OrgType.COMMUNITY_COMMITTEE:
                raise BadInput("part-time members sit on a COMMUNITY_COMMITTEE (大党委)")
            if position.unit_id not in self.unit_ids:
                raise BadInput(f"unit {position.unit_id} is not on the 大党委 of {self.id}")
        for p in self.positions:
            if p.role is not position.role or not p.term.overlaps(position.term):
                continue
            if p.same_holder(position):
                raise Conflict(
                    f"{position.holder_name} already holds {p.role} for an overlapping term", {"role": str(p.role)}
                )
            if p.role is PositionRole.SECRETARY:
                raise Conflict(
                    f"{self.id} already has a SECRETARY ({p.holder_name}) in that term", {"role": "SECRETARY"}
                )
        self._change(now)
        self.positions.append(position)
        self._emit("POSITION_APPOINTED", by, now, **position.model_dump(mode="json"))

    def end_position(self, role: PositionRole, holder_name: str, end: date, by: Principal, now: datetime) -> None:
        """End the holder's term of `role` that covers `end` on that day."""
        authorize(by, Action.MANAGE_ORG, self)
        i = next(
            (
                i
                for i, p in enumerate(self.positions)
                if p.role is role and p.holder_name == holder_name and p.term.covers(end)
            ),
            None,
        )
        if i is None:
            raise NotFound(f"{holder_name} holds no {role} term covering {end} in {self.id}")
        self._change(now)
        old = self.positions[i]
        self.positions[i] = old.model_copy(update={"term": Term(start=old.term.start, end=end)})
        self._emit("POSITION_ENDED", by, now, role=str(role), holderName=holder_name, end=end.isoformat())

    def holders(self, role: PositionRole, day: date) -> list[Position]:
        return [p for p in self.positions if p.role is role and p.term.covers(day)]

    # ---- 大党委 ---------------------------------------------------------------------
    def add_unit(self, unit_id: str, by: Principal, now: datetime) -> None:
        authorize(by, Action.MANAGE_ORG, self)
        if self.type is not OrgType.COMMUNITY_COMMITTEE:
            raise BadInput("units join the enlarged committee of a COMMUNITY_COMMITTEE")
        if unit_id in self.unit_ids:
            raise Conflict(f"unit {unit_id} is already on the 大党委 of {self.id}")
        self._change(now)
        self.unit_ids.append(unit_id)
        self._emit("UNIT_JOINED_COMMITTEE", by, now, unitId=unit_id)

    def remove_unit(self, unit_id: str, by: Principal, now: datetime) -> None:
        authorize(by, Action.MANAGE_ORG, self)
        if unit_id not in self.unit_ids:
            raise NotFound(f"unit {unit_id} is not on the 大党委 of {self.id}")
        self._change(now)
        self.unit_ids.remove(unit_id)
        self._emit("UNIT_LEFT_COMMITTEE", by, now, unitId=unit_id)

    # ---- organisational life ----------------------------------------------------------
    def note_life(self, held_at: datetime, now: datetime) -> None:
        """Called by life.record_life: a newer activity clears the weak flag."""
        if self.last_life_at is None or held_at > self.last_life_at:
            self.last_life_at = held_at
        if self.weak:
            self.weak = False
            self._emit("ORGANIZATION_RECOVERED", SYSTEM, now)

    def sweep_weak(self, now: datetime, period_days: int = DEFAULT_WEAK_DAYS) -> bool:
        """The periodic check: flags the organisation weak once. Returns whether it changed."""
        if self.weak or not is_weak(self, self.last_life_at, now, period_days):
            return False
        self._change(now)
        self.weak = True
        self._emit(
            "ORGANIZATION_WEAK",
            SYSTEM,
            now,
            periodDays=period_days,
            lastLifeAt=self.last_life_at.isoformat() if self.last_life_at else None,
        )
        return True
