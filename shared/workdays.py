"""Working time: weekends, public holidays, 调休 working weekends and office hours (pure, no I/O).

A `WorkCalendar` knows, per year, the public holidays and the weekend days that are working
days (调休) of the State Council's arrangement; a year it has no arrangement for counts
weekends only and says so (`YearArrangement.published`). Working time is the office hours
(`OfficeHours`, local time in the calendar's zone) of working days. `add(t, seconds)` is the
earliest instant by which that much working time has passed since `t`; `between(a, b)` is the
working time in [a, b). So `between(t, add(t, x)) == x`, both are monotone, and a holiday
never counts while a 调休 Saturday does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from shared.errors import BadInput

FIRST_YEAR, LAST_YEAR = 2000, 2100  # years a calendar may be given for
DEFAULT_OFFICE_HOURS = "08:30-12:00,14:00-17:30"  # 机关 hours: a working day of 7 hours
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_SEARCH_DAYS = 3 * 366  # a calendar with no working day in three years is refused


class WorkCalendarSource(StrEnum):
    """Where a year's arrangement comes from."""

    PUBLISHED = "PUBLISHED"  # the State Council's, from the file shipped with Yiwang (shared/calendars)
    EDITED = "EDITED"  # set by an administrator (setWorkCalendar)
    WEEKENDS_ONLY = "WEEKENDS_ONLY"  # none: weekends off, every weekday worked


@dataclass(frozen=True)
class OfficeHours:
    """The periods of a working day, local time, in order and not overlapping."""

    periods: tuple[tuple[time, time], ...]

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """`"08:30-12:00,14:00-17:30"`; ValueError naming what is wrong."""
        periods: list[tuple[time, time]] = []
        for part in text.split(","):
            m = _PERIOD.match(part)
            if not m:
                raise ValueError(f"office hours {text!r}: {part.strip()!r} is not HH:MM-HH:MM")
            h1, m1, h2, m2 = (int(x) for x in m.groups())
            if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
                raise ValueError(f"office hours {text!r}: {part.strip()!r} is not a time of day")
            start, end = time(h1, m1), (time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2))
            if end <= start or (periods and start < periods[-1][1]):
                raise ValueError(f"office hours {text!r}: periods must be in order, each ending after it starts")
            periods.append((start, end))
        return cls(tuple(periods))

    @property
    def day_seconds(self) -> float:
        """Working seconds in one working day."""
        return sum(_seconds(e) - _seconds(s) for s, e in self.periods)

    def __str__(self) -> str:
        return ",".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self.periods)


def _seconds(t: time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


@dataclass(frozen=True)
class YearArrangement:
    """One year's arrangement: holidays (off, whatever the weekday) and 调休 workdays (weekend
    days worked). `published`: False when the year has no arrangement and counts weekends only."""

    year: int
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    source: WorkCalendarSource = WorkCalendarSource.PUBLISHED
    note: str = ""  # where it comes from: the notice, or who edited it

    @classmethod
    def weekends_only(cls, year: int) -> YearArrangement:
        return cls(year, source=WorkCalendarSource.WEEKENDS_ONLY, note="no arrangement for this year: weekends only")

    @property
    def published(self) -> bool:
        """False when the year falls back to weekends only."""
        return self.source is not WorkCalendarSource.WEEKENDS_ONLY


def check_arrangement(year: int, holidays: Iterable[date], workdays: Iterable[date]) -> tuple[list[date], list[date]]:
    """The holidays and workdays of an edit, sorted and without repeats; BadInput for a year
    out of range, a date outside the year, a date both a holiday and a workday, or a 调休
    workday that is not a Saturday or Sunday (a weekday is a working day already)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadInput(f"year must be from {FIRST_YEAR} to {LAST_YEAR}", {"year": year})
    hs, ws = sorted(set(holidays)), sorted(set(workdays))
    outside = [d.isoformat() for d in (*hs, *ws) if d.year != year]
    if outside:
        raise BadInput(f"dates outside {year}: {', '.join(outside)}", {"year": year, "outside": outside})
    both = sorted(set(hs) & set(ws))
    if both:
        raise BadInput(
            f"a day cannot be both a holiday and a workday: {', '.join(d.isoformat() for d in both)}",
            {"both": [d.isoformat() for d in both]},
        )
    weekdays = [d.isoformat() for d in ws if d.weekday() < 5]
    if weekdays:
        raise BadInput(
            f"a 调休 workday is a Saturday or Sunday worked; these are weekdays: {', '.join(weekdays)}",
            {"weekdays": weekdays},
        )
    first, last = date(year, 1, 1), date(year, 12, 31)
    weekdays_off = sum(1 for d in hs if d.weekday() < 5)
    all_weekdays = sum(1 for i in range((last - first).days + 1) if (first + timedelta(days=i)).weekday() < 5)
    if all_weekdays - weekdays_off + len(ws) <= 0:
        raise BadInput(f"{year} would have no working day at all; deadlines could not be counted", {"year": year})
    return hs, ws


def arrangements_from_json(data: Mapping[str, Any]) -> dict[int, YearArrangement]:
    """The years of a calendar file (`{"years": {"2026": {"holidays": [...], "workdays": [...],
    "source": "<the notice>"}}}`), each checked as an edit is; ValueError naming the year."""
    out: dict[int, YearArrangement] = {}
    for key, body in (data.get("years") or {}).items():
        try:
            year = int(key)
            hs, ws = check_arrangement(
                year,
                (date.fromisoformat(x) for x in body.get("holidays", [])),
                (date.fromisoformat(x) for x in body.get("workdays", [])),
            )
        except (BadInput, ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"calendar year {key!r}: {getattr(e, 'message', e)}") from None
        out[year] = YearArrangement(
            year, frozenset(hs), frozenset(ws), WorkCalendarSource.PUBLISHED, str(body.get("source", ""))
        )
    return out


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and office hours in one time zone, over the years it has arrangements for."""

    years: Mapping[int, YearArrangement] = field(default_factory=dict)
    hours: OfficeHours = field(default_factory=lambda: OfficeHours.parse(DEFAULT_OFFICE_HOURS))
    zone: str = "Asia/Shanghai"
    # Count time as it fell `shift` earlier (history drawn on an earlier year's calendar and
    # moved to the present keeps its deadlines: see `shifted`).
    shift: timedelta = timedelta()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tz", ZoneInfo(self.zone))

    @property
    def tz(self) -> ZoneInfo:
        return self._tz  # type: ignore[attr-defined]

    def year(self, year: int) -> YearArrangement:
        return self.years.get(year) or YearArrangement.weekends_only(year)

    def with_year(self, arrangement: YearArrangement) -> WorkCalendar:
        return WorkCalendar({**self.years, arrangement.year: arrangement}, self.hours, self.zone, self.shift)

    def with_years(self, years: Mapping[int, YearArrangement]) -> WorkCalendar:
        return WorkCalendar(dict(years), self.hours, self.zone, self.shift)

    def shifted(self, by: timedelta) -> WorkCalendar:
        """This calendar as seen by times `by` later: `shifted(by).add(t + by, x) == add(t, x) + by`.
        For history drawn in one year and moved to another, whose deadlines move with it."""
        return WorkCalendar(self.years, self.hours, self.zone, self.shift + by)

    def working_days(self, year: int) -> int:
        """Working days in `year`."""
        day, n = date(year, 1, 1), 0
        while day.year == year:
            n += self.is_workday(day)
            day += timedelta(days=1)
        return n

    def is_workday(self, day: date) -> bool:
        y = self.years.get(day.year)
        if y is not None:
            if day in y.holidays:
                return False
            if day in y.workdays:
                return True
        return day.weekday() < 5

    @property
    def day_seconds(self) -> float:
        return self.hours.day_seconds

    def _periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's office periods as UTC instants (none on a day off)."""
        if not self.is_workday(day):
            return []
        return [
            (
                datetime.combine(day, s, self.tz).astimezone(UTC),
                datetime.combine(day, e, self.tz).astimezone(UTC),
            )
            for s, e in self.hours.periods
        ]

    def add(self, start: datetime, seconds: float) -> datetime:
        """The earliest instant by which `seconds` of working time have passed since `start`
        (`start` itself for 0). A deadline at the end of a period is that end (17:30), not the
        next morning."""
        if seconds < 0:
            raise ValueError("working time to add must not be negative")
        at = _utc(start)
        left = timedelta(seconds=seconds)
        if not left:
            return at
        if self.shift:
            return self.shifted(-self.shift).add(at - self.shift, seconds) + self.shift
        day = at.astimezone(self.tz).date()
        for _ in range(_SEARCH_DAYS):
            for s, e in self._periods(day):
                if e <= at:
                    continue
                begin = max(s, at)
                if left <= e - begin:
                    return begin + left
                left -= e - begin
            day += timedelta(days=1)
        raise BadInput("the work calendar has no working day within three years")

    def between(self, a: datetime, b: datetime) -> float:
        """Working seconds in [a, b); 0 when b is not after a."""
        a, b = _utc(a), _utc(b)
        if b <= a:
            return 0.0
        if self.shift:
            return self.shifted(-self.shift).between(a - self.shift, b - self.shift)
        total = timedelta()
        day, last = a.astimezone(self.tz).date(), b.astimezone(self.tz).date()
        while day <= last:
            for s, e in self._periods(day):
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds()

    def add_days(self, start: datetime, days: float) -> datetime:
        """`days` working days of office hours after `start`."""
        return self.add(start, days * self.day_seconds)

    def add_hours(self, start: datetime, hours: float) -> datetime:
        return self.add(start, hours * 3600)


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("working time needs an aware datetime")
    return t.astimezone(UTC)
