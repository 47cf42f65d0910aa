"""Trends from day buckets: pure rules, no I/O.

Every service keeps, with the writes that change its rollups, one bucket per region and
local day (`<region>|YYYY-MM-DD`) holding the net change of each counter that day. A trend
is read from those buckets, never from raw records:

- a FLOW (cases reported, hours served) is the sum of the day changes inside an interval;
- a STOCK (open cases, members) is the value at the end of an interval: today's rollup minus
  every change after the interval's end;
- a RATIO (satisfaction, on-time resolution) divides two flows of the interval, null when
  nothing happened.

Days are local to the city (`YIWANG_TIMEZONE`); weeks start on Monday; months on the 1st.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.errors import BadInput

MAX_POINTS = 400  # a year and a bit of days; longer spans take WEEK or MONTH


class Interval(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    SPAN = "SPAN"  # the whole window as one point (an export's figures from one day to another)


class Kind(StrEnum):
    FLOW = "FLOW"
    STOCK = "STOCK"
    RATIO = "RATIO"


@dataclass(frozen=True)
class Metric:
    kind: Kind
    keys: tuple[str, ...]  # summed counters (the numerator of a ratio)
    per: tuple[str, ...] = ()  # a ratio's denominator: sum of these ...
    minus: tuple[str, ...] = ()  # ... less these
    scale: float = 1.0  # e.g. 0.1 for counters kept in tenths
    description: str = ""


def city_tz() -> ZoneInfo:
    """The city's time zone (`YIWANG_TIMEZONE`), which days, weeks and months follow."""
    from shared.settings import get_settings

    return ZoneInfo(get_settings().timezone)


def day_of(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).date().isoformat()


def bucket_id(region: str, day: str) -> str:
    return f"{region}|{day}"


def _start(d: date, interval: Interval) -> date:
    if interval is Interval.WEEK:
        return d - timedelta(days=d.weekday())
    if interval is Interval.MONTH:
        return d.replace(day=1)
    return d


def _next(d: date, interval: Interval) -> date:
    if interval is Interval.DAY:
        return d + timedelta(days=1)
    if interval is Interval.WEEK:
        return d + timedelta(days=7)
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def buckets(start: datetime, end: datetime, interval: Interval, tz: ZoneInfo) -> list[tuple[date, date]]:
    """[first day, first day of the next bucket) for every bucket that overlaps [start, end):
    aligned to local days, Monday weeks and calendar months."""
    if start.tzinfo is None or end.tzinfo is None:
        raise BadInput("give `from` and `to` with a time zone offset, e.g. 2026-11-01T00:00:00+08:00")
    if end <= start:
        raise BadInput("`to` must be after `from`")
    first, last = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz).date()
    if interval is Interval.SPAN:
        return [(first, last + timedelta(days=1))]
    out: list[tuple[date, date]] = []
    d = _start(first, interval)
    while d <= last:
        nxt = _next(d, interval)
        out.append((d, nxt))
        if len(out) > MAX_POINTS:
            raise BadInput(f"that is more than {MAX_POINTS} points; use a longer interval or a shorter span")
        d = nxt
    return out


def _sum(counters: Mapping[str, int], keys: Sequence[str]) -> int:
    return sum(int(counters.get(k, 0)) for k in keys)


def series(
    metric: Metric,
    days: Mapping[str, Mapping[str, int]],
    current: Mapping[str, int],
    spans: Sequence[tuple[date, date]],
    tz: ZoneInfo,
) -> list[dict]:
    """The points of a trend. `days` maps ISO day -> net counter changes that day and must
    cover every day from the first span on (for stocks: up to today); `current` is the
    region's rollup now."""
    points = []
    for lo, hi in spans:
        inside = [c for d, c in days.items() if lo.isoformat() <= d < hi.isoformat()]
        if metric.kind is Kind.STOCK:
            later = [c for d, c in days.items() if d >= hi.isoformat()]
            value: float | None = _sum(current, metric.keys) - sum(_sum(c, metric.keys) for c in later)
        elif metric.kind is Kind.FLOW:
            value = sum(_sum(c, metric.keys) for c in inside)
        else:
            num = sum(_sum(c, metric.keys) for c in inside)
            den = sum(_sum(c, metric.per) - _sum(c, metric.minus) for c in inside)
            value = round(num / den, 4) if den > 0 else None
        if value is not None and metric.kind is not Kind.RATIO:
            value = round(value * metric.scale, 4) if metric.scale != 1.0 else value
        points.append(
            {"start": datetime.combine(lo, time(), tz), "end": datetime.combine(hi, time(), tz), "value": value}
        )
    return points


def fold_days(
    totals: dict[tuple[str, str], dict[str, int]], path: Sequence[str], day: str, changes: Mapping[str, int]
) -> None:
    """Add one change to the (region, day) buckets of every region on `path`."""
    for region in path:
        acc = totals.setdefault((region, day), {})
        for k, v in changes.items():
            if v:
                acc[k] = acc.get(k, 0) + v
