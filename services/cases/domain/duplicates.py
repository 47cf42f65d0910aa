"""Possible duplicates (疑似重复): open cases of the same category, near in space and time."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .enums import OPEN_STATUSES, CaseStatus
from .values import GeoPoint


class Nearby(Protocol):
    """What the rule reads of a case: a `Case`, or a `Candidate` read for the rule alone."""

    @property
    def id(self) -> str: ...
    @property
    def category_code(self) -> str: ...
    @property
    def status(self) -> CaseStatus: ...
    @property
    def merged_into(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def region_id(self) -> str: ...
    @property
    def location(self) -> GeoPoint | None: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """An earlier case as the rule reads it. A report compares itself with every recent case of
    its category nearby, hundreds where a street floods; building each as a full `Case` cost
    ~2 ms (pydantic resolves every default), which made a burst of such reports slow down as it
    grew."""

    id: str
    category_code: str
    status: CaseStatus
    merged_into: str | None
    created_at: datetime
    region_id: str
    location: GeoPoint | None


EARTH_RADIUS_M = 6_371_008.8


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lng - a.lng)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def distance_m(new: Nearby, existing: Nearby) -> float | None:
    """Metres between two cases, 0 for two cases of the same grid when either has no point,
    None when they cannot be compared."""
    if new.location is not None and existing.location is not None:
        return haversine_m(new.location, existing.location)
    return 0.0 if new.region_id == existing.region_id else None


def is_possible_duplicate(new: Nearby, existing: Nearby, radius_m: float, window_s: float, now: datetime) -> bool:
    """`existing` may report the same thing as `new`: another case of the same category,
    still open (not resolved, closed, rejected or merged), created within `window_s`
    seconds before `now`, and within `radius_m` metres (without a point on either side:
    in the same grid)."""
    if existing.id == new.id or existing.category_code != new.category_code:
        return False
    if existing.status not in OPEN_STATUSES or existing.merged_into is not None:
        return False
    age = (now - existing.created_at).total_seconds()
    if not 0 <= age <= window_s:
        return False
    d = distance_m(new, existing)
    return d is not None and d <= radius_m


def possible_duplicates(
    new: Nearby, candidates: Iterable[Nearby], radius_m: float, window_s: float, now: datetime
) -> list[Nearby]:
    """The candidates that may duplicate `new`, nearest first."""
    found = [c for c in candidates if is_possible_duplicate(new, c, radius_m, window_s, now)]
    return sorted(found, key=lambda c: (distance_m(new, c) or 0.0, c.created_at))
