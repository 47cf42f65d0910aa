"""Case clocks: SLA spans in working time or wall-clock seconds, deadlines, due-soon warnings
and pausing a deadline (pure; the calendar is `shared/workdays.py`).

`Clock` is the service's SLA object: the calendar, each handling level's span and the share
of a deadline's time left at which CASE_DUE_SOON is due. A `Span` is an amount of working
time ("2d": two working days of office hours, "4h": four working hours) or of wall-clock
seconds (a category's `slaSeconds`, or `YIWANG_SLA_<LEVEL>_S` when set). `start + span` is
the deadline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.workdays import WorkCalendar

from . import events as ev
from .enums import OPEN_STATUSES, HandlingLevel
from .policy import SYSTEM

if TYPE_CHECKING:
    from .model import Case

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dh])\s*$")
DEFAULT_LEVEL_SPANS: dict[HandlingLevel, str] = {
    HandlingLevel.BUILDING: "1d",
    HandlingLevel.GRID: "2d",
    HandlingLevel.COMMUNITY: "3d",
    HandlingLevel.TOWNSHIP: "5d",
    HandlingLevel.COUNTY: "7d",
}
DEFAULT_DUE_SOON_SHARE = 0.2


@dataclass(frozen=True)
class Span:
    """An SLA amount: `working` seconds of office time on `calendar`, or wall-clock seconds."""

    seconds: float
    working: bool
    calendar: WorkCalendar | None = field(default=None, compare=False, repr=False)

    @classmethod
    def wall(cls, seconds: float) -> Span:
        return cls(float(seconds), False)

    @classmethod
    def parse(cls, text: str, calendar: WorkCalendar) -> Span:
        """`"2d"` (working days) or `"4h"` (working hours); ValueError otherwise."""
        m = _SPAN.match(text or "")
        if not m or float(m.group(1)) <= 0:
            raise ValueError(f"{text!r} is not a working-time SLA such as 2d (working days) or 4h (working hours)")
        amount = float(m.group(1))
        per = calendar.day_seconds if m.group(2) == "d" else 3600.0
        return cls(amount * per, True, calendar)

    def after(self, start: datetime) -> datetime:
        """The deadline of a clock started at `start`."""
        if self.working and self.calendar is not None:
            return self.calendar.add(start, self.seconds)
        return start + timedelta(seconds=self.seconds)

    def __radd__(self, start: datetime) -> datetime:
        return self.after(start)


def check_span(text: str | None) -> str | None:
    """A catalogue entry's working-time SLA as stored ("2d", "4h"), or ValueError."""
    if text is None:
        return None
    m = _SPAN.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a working-time SLA such as 2d (working days) or 4h (working hours)")
    return f"{m.group(1)}{m.group(2)}"


class Clock:
    """The SLA of every level on one calendar, and the due-soon share (0: no warnings)."""

    def __init__(
        self,
        calendar: WorkCalendar,
        levels: Mapping[HandlingLevel, Span],
        due_soon_share: float = DEFAULT_DUE_SOON_SHARE,
    ):
        if not 0 <= due_soon_share < 1:
            raise ValueError("the due-soon share is from 0 (no warnings) to below 1")
        self.calendar, self.levels, self.due_soon_share = calendar, dict(levels), due_soon_share

    @classmethod
    def of(
        cls,
        calendar: WorkCalendar,
        working: Mapping[HandlingLevel, str] | None = None,
        wall_s: Mapping[HandlingLevel, int | None] | None = None,
        due_soon_share: float = DEFAULT_DUE_SOON_SHARE,
    ) -> Clock:
        """Each level's span: its wall-clock seconds when given, else its working-time span."""
        working = {**DEFAULT_LEVEL_SPANS, **(working or {})}
        wall_s = wall_s or {}
        levels = {
            lvl: Span.wall(s) if (s := wall_s.get(lvl)) else Span.parse(working[lvl], calendar) for lvl in HandlingLevel
        }
        return cls(calendar, levels, due_soon_share)

    def shifted(self, seconds: float) -> Clock:
        """The clock of history drawn `seconds` earlier and moved to now: its working time
        counts the calendar as it fell then (`WorkCalendar.shifted`)."""
        return self.with_calendar(self.calendar.shifted(timedelta(seconds=seconds))) if seconds else self

    def with_calendar(self, calendar: WorkCalendar) -> Clock:
        levels = {lvl: Span(s.seconds, s.working, calendar if s.working else None) for lvl, s in self.levels.items()}
        return Clock(calendar, levels, self.due_soon_share)

    def span(self, level: HandlingLevel, wall_s: int | None = None, working: str | None = None) -> Span:
        """The span a case has at `level`: its category's (wall-clock seconds, then working
        time), else the level's."""
        if wall_s:
            return Span.wall(wall_s)
        if working:
            return Span.parse(working, self.calendar)
        return self.levels[level]

    def deadline(
        self, start: datetime, level: HandlingLevel, wall_s: int | None = None, working: str | None = None
    ) -> datetime:
        return self.span(level, wall_s, working).after(start)

    def elapsed(self, start: datetime, end: datetime, working: bool) -> float:
        """The time a clock counts between two instants."""
        return self.calendar.between(start, end) if working else max(0.0, (end - start).total_seconds())

    def warn_at(self, start: datetime, due: datetime, working: bool) -> datetime | None:
        """When `due_soon_share` of the clock's time from `start` to `due` is left (None: no
        warnings, or no time at all)."""
        if not self.due_soon_share or due <= start:
            return None
        total = self.elapsed(start, due, working)
        if total <= 0:
            return None
        used = total * (1 - self.due_soon_share)
        if working:
            return self.calendar.add(start, used)
        return start + timedelta(seconds=used)

    def moved(self, due: datetime, paused_at: datetime, resumed_at: datetime, working: bool) -> datetime:
        """`due` moved later by the time the clock stood still from `paused_at` to
        `resumed_at` (working time for a working-time deadline: a pause over a weekend moves
        nothing)."""
        pause = self.elapsed(paused_at, resumed_at, working)
        if working:
            return self.calendar.add(due, pause) if pause else due
        return due + timedelta(seconds=pause)


def wall_clock(levels: Mapping[HandlingLevel, int]) -> Clock:
    """A clock of wall-clock seconds per level (a mapping given where a Clock is expected)."""
    return Clock(WorkCalendar(), {lvl: Span.wall(s) for lvl, s in levels.items()}, DEFAULT_DUE_SOON_SHARE)


def paused(case: Case) -> bool:
    """Whether the case's clock stands still (挂起: `suspended_at` set)."""
    return case.suspended_at is not None


def sweep_at(case: Case) -> datetime | None:
    """When the sweeper next has something to do for the case: its due-soon warning, then its
    deadline. None when nothing: closed, paused, or already flagged overdue (a new deadline
    re-arms it). Stored and indexed, so a sweep reads only the cases it acts on."""
    if case.status not in OPEN_STATUSES or case.due_at is None or case.overdue or paused(case):
        return None
    if case.due_soon_at is not None and not case.due_soon_sent and case.due_soon_at < case.due_at:
        return case.due_soon_at
    return case.due_at


def arm(case: Case, due: datetime | None, start: datetime, span: Span | None, clock: Clock | None) -> None:
    """Start the clock of a new deadline (or stop it: `due` None): when it started, whether it
    counts working time, and when its due-soon warning is due. CASE_DUE_SOON is re-armed."""
    case.due_soon_sent = False
    if due is None:
        case.due_from, case.due_working, case.due_soon_at = None, False, None
        return
    working = bool(span and span.working)
    case.due_from, case.due_working = start, working
    case.due_soon_at = clock.warn_at(start, due, working) if clock else _wall_warn(start, due)
    if case.due_soon_at is None:
        case.due_soon_sent = True  # nothing to warn of


def _wall_warn(start: datetime, due: datetime) -> datetime | None:
    if due <= start:
        return None
    return start + (due - start) * (1 - DEFAULT_DUE_SOON_SHARE)


def warn_due_soon(case: Case, now: datetime) -> bool:
    """The sweeper's due-soon rule: once per deadline, when its share of time is left and the
    deadline has not passed, record CASE_DUE_SOON. Returns whether it did."""
    if sweep_at(case) is None or case.due_soon_sent or case.due_soon_at is None or case.due_at is None:
        return False
    if not case.due_soon_at <= now < case.due_at:
        return False
    case._change(now)
    case.due_soon_sent = True
    case._emit(ev.CaseDueSoon, SYSTEM, now, due_at=case.due_at, note="即将超期 (due soon)")
    return True


def resume_deadline(case: Case, paused_at: datetime, resumed_at: datetime, clock: Clock) -> None:
    """On 恢复 (resume): move the case's deadline, and its due-soon warning, later by the time its
    clock stood still (working time for a working-time deadline). The warning already sent stays
    sent. Changes nothing on a case without a deadline."""
    if case.due_at is None:
        return
    case.due_at = clock.moved(case.due_at, paused_at, resumed_at, case.due_working)
    if case.due_soon_at is not None:
        case.due_soon_at = clock.moved(case.due_soon_at, paused_at, resumed_at, case.due_working)


def is_due_soon(case: Case, now: datetime) -> bool:
    """An open case with a running clock whose due-soon share of time has begun and whose
    deadline has not passed (`Case.dueSoon`)."""
    if case.status not in OPEN_STATUSES or case.due_at is None or case.overdue or paused(case):
        return False
    return case.due_soon_at is not None and case.due_soon_at <= now < case.due_at


def set_deadline(case: Case, until: datetime, clock: Clock) -> None:
    """An explicit new deadline (an approved extension's `until`), its clock started now (the
    command's `_change` first): its due-soon share is measured as the case's clock counts time
    (working time, unless its current deadline runs on wall-clock seconds)."""
    working = case.due_working if case.due_at is not None else True
    case._span = (Span(0.0, working, clock.calendar if working else None), clock)
    case._set_due(until)
