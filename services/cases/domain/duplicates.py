"""Possible duplicates (疑似重复): open cases of the same category, near in space and time."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from .enums import OPEN_STATUSES
from .model import Case
from .values import GeoPoint

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lng - a.lng)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def distance_m(new: Case, existing: Case) -> float | None:
    """Metres between two cases, 0 for two cases of the same grid when either has no point,
    None when they cannot be compared."""
    if new.location is not None and existing.location is not None:
        return haversine_m(new.location, existing.location)
    return 0.0 if new.region_id == existing.region_id else None


def is_possible_duplicate(new: Case, existing: Case, radius_m: float, window_s: float, now: datetime) -> bool:
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
    new: Case, candidates: Iterable[Case], radius_m: float, window_s: float, now: datetime
) -> list[Case]:
    """The candidates that may duplicate `new`, nearest first."""
    found = [c for c in candidates if is_possible_duplicate(new, c, radius_m, window_s, now)]
    return sorted(found, key=lambda c: (distance_m(new, c) or 0.0, c.created_at))
