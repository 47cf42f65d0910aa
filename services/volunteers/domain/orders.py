"""Service orders: 点单 → 审核 → 派单 / 抢单 → 接单 → 完成 → 评价.

PENDING_REVIEW ─approve→ OPEN (wish wall) ─dispatch→ DISPATCHED ─take→ TAKEN ─start→
IN_PROGRESS ─complete→ COMPLETED ─rate→ RATED. A volunteer may grab an OPEN order directly
(first wins: the store's update is conditional on `take_filter`, i.e. status still OPEN).
Reject from PENDING_REVIEW; re-dispatch before start; cancel by the resident before start
or by the community (with a reason) before completion.

A co-building unit (驻区单位, seed 000's 相关单位接单) takes an order as well: the community
dispatches it to the UNIT, and the community's staff record the unit's acceptance with the
name of the unit's handler, then its start and completion (`accept_for_unit`, `start`,
`complete`). Units are organisations, not accounts: their contacts are names, titles and phones
kept by the organizations service (domain/units.py), with no login of their own, and a community
office already phones the property company or the school and writes down who will come. So
staff in scope act on the unit's behalf (any of them, as the community's desk changes shifts),
and the resident rates the service as for a volunteer; a unit earns no points.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.domain import Attachment
from shared.errors import BadInput, Conflict, Forbidden

from .base import NAME_MAX, TEXT_MAX, Aggregate, hours_tenths, region_path, text
from .enums import Action, OrderStatus, PostType, TargetKind
from .people import Team, Volunteer
from .policy import acting_as, authorize
from .posts import Post

S = OrderStatus
BEFORE_START = (S.PENDING_REVIEW, S.OPEN, S.DISPATCHED, S.TAKEN)


class GeoPoint(BaseModel):
    model_config = ConfigDict(frozen=True)
    lng: float
    lat: float


class Target(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: TargetKind
    id: str
    post_type: PostType | None = None  # set for POST, for the points multiplier
    name: str | None = None  # a UNIT's name, as the organizations service has it


class ServiceOrder(Aggregate):
    """`region_path` ends with the community (or a grid / building below it)."""

    kind: ClassVar[str] = "order"

    resident_sub: str
    category: str
    description: str
    building_id: str | None = None
    location: GeoPoint | None = None
    wished_at: datetime | None = None
    status: OrderStatus = S.PENDING_REVIEW
    reject_reason: str | None = None
    target: Target | None = None
    taker_id: str | None = None
    taker_sub: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    hours_tenths: int = 0
    rating: int | None = None
    comment: str | None = None
    cancel_reason: str | None = None
    unit_handler: str | None = None  # units take service orders: who at the unit does it (never on the bus)
    attachments: list[Attachment] = Field(default_factory=list)  # evidence, in upload order

    @property
    def hours(self) -> float:
        return self.hours_tenths / 10

    @property
    def for_unit(self) -> bool:
        """Dispatched to a co-building unit: staff work it on the unit's behalf."""
        return self.target is not None and self.target.kind is TargetKind.UNIT

    @property
    def work_action(self) -> Action:
        """What starting or completing the order takes: the taker's, or staff's for a unit."""
        return Action.WORK_UNIT_ORDER if self.for_unit else Action.WORK_ORDER

    @classmethod
    def place(
        cls,
        *,
        id: str,
        category: str,
        description: str,
        path: list[str] | tuple,
        by: Principal,
        now: datetime,
        building_id: str | None = None,
        location: GeoPoint | None = None,
        wished_at: datetime | None = None,
    ) -> ServiceOrder:
        if building_id is None and location is None:
            raise BadInput("an order needs a location or a building", {"field": "location"})
        order = cls(
            id=id,
            resident_sub=by.sub,
            category=text(category, "category", NAME_MAX),
            description=text(description, "description", TEXT_MAX),
            building_id=building_id,
            location=location,
            wished_at=wished_at,
            region_path=region_path(path),
            created_at=now,
            updated_at=now,
        )
        authorize(by, Action.PLACE_ORDER, order)
        order._emit("ORDER_PLACED", by, now, category=order.category, wished_at=wished_at)
        return order

    def approve(self, by: Principal, now: datetime) -> None:
        authorize(by, Action.REVIEW_ORDER, self)
        self._require("approve", S.PENDING_REVIEW)
        self._change(now)
        self.status = S.OPEN
        self._emit("ORDER_APPROVED", by, now)

    def reject(self, by: Principal, reason: str, now: datetime) -> None:
        authorize(by, Action.REVIEW_ORDER, self)
        why = text(reason, "reason")
        self._require("reject", S.PENDING_REVIEW)
        self._change(now)
        self.status, self.reject_reason = S.REJECTED, why
        self._emit("ORDER_REJECTED", by, now, reason=why)

    def dispatch(self, by: Principal, target: Target, now: datetime) -> None:
        """派单, or 改派 of a DISPATCHED or TAKEN order before work starts."""
        authorize(by, Action.DISPATCH_ORDER, self)
        self._require("dispatch", S.OPEN, S.DISPATCHED, S.TAKEN)
        if target.kind is TargetKind.POST and target.post_type is None:
            raise BadInput("a dispatch to a post names the post's type", {"target": target.id})
        self._change(now)
        previous = self.taker_id
        self.status, self.target = S.DISPATCHED, target
        self.taker_id = self.taker_sub = self.unit_handler = None
        self._emit("ORDER_DISPATCHED", by, now, target=target.model_dump(mode="json"), previous_taker=previous)

    def take(
        self, by: Principal, volunteer: Volunteer, now: datetime, *, team: Team | None = None, post: Post | None = None
    ) -> None:
        """接单: grab an OPEN order, or accept one dispatched to you, your team or a post you
        hold (pass the team or post of the dispatch)."""
        authorize(by, Action.TAKE_ORDER, self)
        acting_as(by, volunteer.sub, "take an order")
        self._require("take", S.OPEN, S.DISPATCHED)
        if self.status is S.DISPATCHED and not self._is_target(volunteer, team, post):
            t = self.target
            raise Forbidden(
                f"order {self.id} was dispatched to {t.kind if t else '?'} {t.id if t else '?'}, not to you",
                {"orderId": self.id},
            )
        grabbed = self.status is S.OPEN
        self._change(now)
        self.status, self.taker_id, self.taker_sub = S.TAKEN, volunteer.id, volunteer.sub
        self._emit("ORDER_TAKEN", by, now, volunteer_id=volunteer.id, grabbed=grabbed)

    def accept_for_unit(self, by: Principal, handler: str, now: datetime) -> None:
        """接单 by a co-building unit, recorded by the community's staff with the unit's handler."""
        authorize(by, Action.WORK_UNIT_ORDER, self)
        who = text(handler, "handler", NAME_MAX)
        self._require("accept for a unit", S.DISPATCHED)
        if not self.for_unit:
            raise Conflict(f"order {self.id} was not dispatched to a unit", {"orderId": self.id})
        assert self.target is not None
        self._change(now)
        self.status, self.taker_id, self.taker_sub, self.unit_handler = S.TAKEN, self.target.id, None, who
        self._emit("ORDER_TAKEN", by, now, volunteer_id=None, unit_id=self.target.id, grabbed=False)

    def start(self, by: Principal, now: datetime) -> None:
        self._by_taker(by, "start")
        self._require("start", S.TAKEN)
        self._change(now)
        self.status, self.started_at = S.IN_PROGRESS, now
        self._emit("ORDER_STARTED", by, now, **self._taker())

    def complete(self, by: Principal, hours: float, now: datetime) -> None:
        self._by_taker(by, "complete")
        tenths = hours_tenths(hours)
        self._require("complete", S.IN_PROGRESS)
        self._change(now)
        self.status, self.completed_at, self.hours_tenths = S.COMPLETED, now, tenths
        self._emit("ORDER_COMPLETED", by, now, **self._taker(), hours=tenths / 10)

    def rate(self, by: Principal, score: int, now: datetime, comment: str | None = None) -> None:
        authorize(by, Action.RATE_ORDER, self)
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise BadInput("a rating is an integer from 1 to 5", {"score": score})
        note = text(comment, "comment", required=False) or None
        self._require("rate", S.COMPLETED)
        self._change(now)
        self.status, self.rating, self.comment = S.RATED, score, note
        self._emit("ORDER_RATED", by, now, score=score, **self._taker())

    def cancel(self, by: Principal, now: datetime, reason: str | None = None) -> None:
        """The resident cancels before work starts; the community, with a reason, until
        the order is completed."""
        if by.sub == self.resident_sub and not by.unrestricted:
            authorize(by, Action.CANCEL_OWN_ORDER, self)
            why = text(reason, "reason", required=False) or None
            self._require("cancel", *BEFORE_START)
        else:
            authorize(by, Action.CANCEL_ORDER, self)
            why = text(reason, "reason")
            self._require("cancel", *BEFORE_START, S.IN_PROGRESS)
        self._change(now)
        self.status, self.cancel_reason = S.CANCELLED, why
        self._emit("ORDER_CANCELLED", by, now, reason=why, **self._taker())

    def _taker(self) -> dict[str, Any]:
        """Who has the order, for its events: the volunteer, or the unit (`unit_id`)."""
        if self.for_unit:
            return {"volunteer_id": None, "unit_id": self.taker_id}
        return {"volunteer_id": self.taker_id}

    def _is_target(self, volunteer: Volunteer, team: Team | None, post: Post | None) -> bool:
        t = self.target
        if t is None or t.kind is TargetKind.UNIT:  # a unit's order is accepted for the unit
            return False
        if t.kind is TargetKind.VOLUNTEER:
            return t.id == volunteer.id
        if t.kind is TargetKind.TEAM:
            return team is not None and team.id == t.id and volunteer.id in team.member_ids
        return post is not None and post.id == t.id and post.claimed_by(volunteer.id)

    def _by_taker(self, by: Principal, what: str) -> None:
        if self.for_unit:  # staff in scope, on the unit's behalf
            authorize(by, Action.WORK_UNIT_ORDER, self)
            return
        authorize(by, Action.WORK_ORDER, self)
        if not by.unrestricted and by.sub != self.taker_sub:
            raise Forbidden(f"only the volunteer who took order {self.id} may {what} it")


def take_filter(order: ServiceOrder) -> dict[str, Any]:
    """The store's condition for `take`, computed on the order as loaded: still in the
    same status and version (for a grab: status == OPEN), so exactly one taker wins."""
    return {"_id": order.id, "status": order.status.value, "version": order.version}


def wish_wall(orders: list[ServiceOrder], community_id: str) -> list[ServiceOrder]:
    """Open orders of a community, oldest first."""
    return sorted(
        (o for o in orders if o.status is S.OPEN and community_id in o.region_path), key=lambda o: o.created_at
    )


def placement(building_id: str | None, lng: float | None, lat: float | None) -> str:
    """Where an order is placed: at a building (`BUILDING`) or at a point a grid contains
    (`POINT`); a building wins when both are given."""
    if building_id:
        return "BUILDING"
    if lng is not None and lat is not None:
        return "POINT"
    raise BadInput("say where: lng and lat, or the buildingId of a building")


def require_in_area(order: ServiceOrder, what: str, target_id: str, target_path: Sequence[str]) -> None:
    """An order goes to a volunteer, team or post whose region path shares a region with the
    order's path (the order's community or one of its grids, or above)."""
    if not any(r in target_path for r in order.region_path):
        raise BadInput(f"{what} {target_id} is not in the order's area")
