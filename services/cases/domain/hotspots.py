"""Hotspots (热点): grid × category clusters of reports in a window, with their trend.

Pure: the service hands in cells (reports of one category in one grid on one local day);
the window is compared with the window of the same length just before it.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum

MIN_CLUSTER = 2  # one report is a case, not a cluster
RISE = 1.5       # a change by this factor (and by at least MIN_CLUSTER) is a trend


class HotspotTrend(StrEnum):
    NEW = "NEW"          # nothing in the previous window
    RISING = "RISING"
    STEADY = "STEADY"
    FALLING = "FALLING"


def windows(since: date, until: date) -> tuple[date, date]:
    """(first day of the previous window, days in the window) for the window [since, until]."""
    if until < since:
        raise ValueError("the window ends before it starts")
    length = (until - since).days + 1
    return since - timedelta(days=length), length


def trend_of(count: int, previous: int) -> HotspotTrend:
    if previous == 0:
        return HotspotTrend.NEW
    if count - previous >= MIN_CLUSTER and count >= RISE * previous:
        return HotspotTrend.RISING
    if previous - count >= MIN_CLUSTER and previous >= RISE * count:
        return HotspotTrend.FALLING
    return HotspotTrend.STEADY


def hotspots(cells: Iterable[dict], since: date, until: date, first: int) -> list[dict]:
    """The `first` busiest grid × category clusters of the window [since, until] (local days),
    most reports first (then the steepest rise), each with its count in the previous window
    of the same length and a count per day. Cells: {g, cat, d: ISO day, n}."""
    prev_start, length = windows(since, until)
    lo, mid, hi = prev_start.isoformat(), since.isoformat(), until.isoformat()
    acc: dict[tuple[str, str], dict] = {}
    for c in cells:
        day = c["d"]
        if not lo <= day <= hi:
            continue
        spot = acc.setdefault((c["g"], c["cat"]), {"count": 0, "previous": 0, "daily": {}})
        if day >= mid:
            spot["count"] += c["n"]
            spot["daily"][day] = spot["daily"].get(day, 0) + c["n"]
        else:
            spot["previous"] += c["n"]
    out = []
    for (grid, cat), s in acc.items():
        if s["count"] < MIN_CLUSTER:
            continue
        daily = [{"day": (since + timedelta(days=i)).isoformat(),
                  "count": s["daily"].get((since + timedelta(days=i)).isoformat(), 0)} for i in range(length)]
        out.append({"gridId": grid, "categoryCode": cat, "count": s["count"], "previousCount": s["previous"],
                    "trend": str(trend_of(s["count"], s["previous"])), "daily": daily})
    out.sort(key=lambda h: (-h["count"], -(h["count"] - h["previousCount"]), h["gridId"], h["categoryCode"]))
    return out[:first]
