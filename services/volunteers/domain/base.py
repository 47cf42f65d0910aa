"""What every aggregate of the domain shares: version, events, status checks, input checks."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, Field

from shared import domain as shared_domain
from shared.auth import Principal, public_actor
from shared.errors import BadInput, Conflict

from .events import VolunteersEvent

NAME_MAX, TEXT_MAX, NOTE_MAX = 64, 2000, 500
MAX_HOURS = 24.0


def text(value: str | None, what: str, limit: int = NOTE_MAX, required: bool = True) -> str:
    return shared_domain.text(value, what, limit, required)


def region_path(path: Iterable[str], what: str = "regionPath") -> tuple[str, ...]:
    p = tuple(path)
    if not p or len(set(p)) != len(p) or not all(p):
        raise BadInput(f"{what} must list distinct region ids top-down", {what: list(p)})
    return p


def hours_tenths(hours: float, what: str = "hours", limit: float = MAX_HOURS) -> int:
    """Validate service hours (0 < hours ≤ limit, to a tenth) and return them in tenths."""
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not math.isfinite(hours):
        raise BadInput(f"{what} must be a number", {what: str(hours)})
    if not 0 < hours <= limit:
        raise BadInput(f"{what} must be more than 0 and at most {limit:g}", {what: hours})
    tenths = round(hours * 10)
    if abs(hours * 10 - tenths) > 1e-6:
        raise BadInput(f"{what} are given to a tenth of an hour", {what: hours})
    return tenths


class _HasStatus(Protocol):
    """An aggregate with a lifecycle (orders, posts, tasks): what `_require` reads."""

    kind: ClassVar[str]

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> StrEnum: ...


class Aggregate(BaseModel):
    """A record with a region path, a version bumped once per successful command and the
    events that command recorded. A command that raises leaves the record as it was."""

    kind: ClassVar[str] = ""

    id: str
    region_path: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    version: int = 1
    pending_events: list[VolunteersEvent] = Field(default_factory=list, exclude=True)

    def drain_events(self) -> list[VolunteersEvent]:
        out, self.pending_events = self.pending_events, []
        return out

    def _require(self: _HasStatus, action: str, *allowed: StrEnum) -> None:
        status = self.status
        if status not in allowed:
            raise Conflict(
                f"cannot {action} {self.kind} {self.id}: it is {status}; allowed from {', '.join(allowed)}",
                {"status": str(status), "allowed": [str(s) for s in allowed]},
            )

    def _change(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now

    def _emit(self, type_: str, by: Principal | None, now: datetime, **data: Any) -> None:
        from .rollups import counters_of

        self.pending_events.append(
            VolunteersEvent(
                type=type_,
                subject_kind=self.kind,
                subject_id=self.id,
                version=self.version,
                at=now,
                actor=public_actor(by),  # a resident's order names the role, not the person
                region_path=self.region_path,
                data=data,
                counters=counters_of(self),
            )
        )
