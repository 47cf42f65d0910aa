"""Hotspots (热点): grid × category clusters of reports in a window, with their trend.

Pure: the service hands in cells (reports of one category in one grid on one local day);
the window is compared with the window of the same length just before it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from shared.errors import BadInput

MAX_WINDOW_DAYS = 366  # a hotspot window is at most a year
MIN_CLUSTER = 2  # one report is a case, not a cluster
RISE = 1.5  # a change by this factor (and by at least MIN_CLUSTER) is a trend


class HotspotTrend(StrEnum):
    NEW = "NEW"  # nothing in the previous window
    RISING = "RISING"
    STEADY = "STEADY"
    FALLING = "FALLING"


def window_days(since: datetime, until: datetime, tz: tzinfo) -> tuple[date, date]:
    """The local days [first, last] of a hotspot query's window [since, until): `since` before
    `until`, at most a year apart (in local days)."""
    if until <= since:
        raise BadInput("`since` must be before `until` (default: now)")
    since_day, until_day = since.astimezone(tz).date(), until.astimezone(tz).date()
    if (until_day - since_day).days > MAX_WINDOW_DAYS:
        raise BadInput("a hotspot window is at most a year")
    return since_day, until_day


def windows(since: date, until: date) -> tuple[date, int]:
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


def hotspots(days: Iterable[tuple[str, Mapping[str, int]]], since: date, until: date, first: int) -> list[dict]:
    """The `first` busiest grid × category clusters of the window [since, until] (local days),
    most reports first (then the steepest rise, then grid and category), each with its count in
    the previous window of the same length and a count per day. `days`: (ISO local day,
    {"<grid>|<category>": reports}), as the store keeps a subtree's cells, one mapping a day.

    A city's two windows are tens of thousands of cells: they are summed by key as they come,
    and only the clusters returned get their days counted out."""
    prev_start, length = windows(since, until)
    lo, mid, hi = prev_start.isoformat(), since.isoformat(), until.isoformat()
    count: dict[str, int] = {}
    previous: dict[str, int] = {}
    window: list[tuple[str, Mapping[str, int]]] = []
    for day, cells in days:
        if not lo <= day <= hi:
            continue
        acc = previous
        if day >= mid:
            acc = count
            window.append((day, cells))
        for key, n in cells.items():
            acc[key] = acc.get(key, 0) + n

    def rank(item: tuple[str, int]) -> tuple:
        key, n = item
        return (-n, previous.get(key, 0) - n, *key.split("|", 1))

    top = heapq.nsmallest(first, ((k, n) for k, n in count.items() if n >= MIN_CLUSTER), key=rank)
    span = [(since + timedelta(days=i)).isoformat() for i in range(length)]
    out = []
    for key, n in top:
        grid, cat = key.split("|", 1)
        per_day: dict[str, int] = {}
        for day, cells in window:
            per_day[day] = per_day.get(day, 0) + cells.get(key, 0)
        before = previous.get(key, 0)
        out.append(
            {
                "gridId": grid,
                "categoryCode": cat,
                "count": n,
                "previousCount": before,
                "trend": str(trend_of(n, before)),
                "daily": [{"day": day, "count": per_day.get(day, 0)} for day in span],
            }
        )
    return out


def category_counts(days: Iterable[tuple[str, Mapping[str, int]]], since: date, until: date) -> dict[str, int]:
    """Reports per category in the window [since, until] (local days), from the same cells as
    hotspots: every grid's, one report or many (an export's figures by category)."""
    lo, hi = since.isoformat(), until.isoformat()
    out: dict[str, int] = {}
    for day, cells in days:
        if lo <= day <= hi:
            for key, n in cells.items():
                cat = key.split("|", 1)[1]
                out[cat] = out.get(cat, 0) + n
    return {k: v for k, v in out.items() if v}
