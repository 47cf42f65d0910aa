"""Working-day clocks: the work calendar (shared/workdays.py), the shipped arrangements, SLA spans
and deadlines, due-soon warnings and pausing (services/cases/domain/clocks.py). Pure: no I/O."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cases import domain as d
from services.cases.domain import DEFAULT_CATALOGUE, Case, CaseChannel, Clock, Span, sweep_at, warn_due_soon
from services.cases.handlers.context import sla_of
from shared.auth import Principal, Role
from shared.calendars import shipped
from shared.errors import BadInput
from shared.settings import Settings
from shared.workdays import (
    OfficeHours,
    WorkCalendar,
    WorkCalendarSource,
    YearArrangement,
    arrangements_from_json,
    check_arrangement,
)

CST = timezone(timedelta(hours=8))
CAL = WorkCalendar(shipped())
DAY = CAL.day_seconds  # 7 office hours


def at(y: int, m: int, day: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, day, h, mi, tzinfo=CST)


# ---- the shipped arrangements ---------------------------------------------------------------
def test_the_shipped_years_are_the_state_councils_arrangements():
    years = shipped()
    assert {2025, 2026} <= set(years)
    y25, y26 = years[2025], years[2026]
    # 2025: 春节 1/28–2/4 with 1/26 (Sun) and 2/8 (Sat) worked; 国庆中秋 10/1–10/8, 9/28 and 10/11 worked
    assert date(2025, 1, 28) in y25.holidays and date(2025, 2, 4) in y25.holidays
    assert y25.workdays == {date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
                            date(2025, 10, 11)}
    assert len([x for x in y25.holidays if x.month == 10]) == 8
    # 2026: 春节 2/15–2/23 (9 days), 2/14 and 2/28 worked; 国庆 10/1–10/7, 9/20 and 10/10 worked
    assert {date(2026, 2, 15) + timedelta(days=i) for i in range(9)} <= y26.holidays
    assert y26.workdays == {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                            date(2026, 9, 20), date(2026, 10, 10)}
    assert all(a.source is WorkCalendarSource.PUBLISHED and "国务院办公厅" in a.note for a in years.values())
    assert all(w.weekday() >= 5 for a in years.values() for w in a.workdays)


def test_a_year_without_an_arrangement_counts_weekends_only_and_says_so():
    y = CAL.year(2031)
    assert y.source is WorkCalendarSource.WEEKENDS_ONLY and not y.published
    assert CAL.working_days(2031) == sum(1 for i in range(365) if (date(2031, 1, 1) + timedelta(days=i)).weekday() < 5)
    assert CAL.year(2026).published
    # 2026: 365 days, 104 weekend days, 33 holidays of which 14 fall on a weekend, 6 调休 workdays
    assert CAL.working_days(2026) == 365 - 104 - (33 - 14) + 6 == 248


# ---- the calendar's rules -------------------------------------------------------------------
def test_holidays_are_off_and_tiaoxiu_weekends_are_worked():
    assert not CAL.is_workday(date(2026, 10, 1))  # 国庆, a Thursday
    assert CAL.is_workday(date(2026, 10, 10))  # 调休 Saturday
    assert CAL.is_workday(date(2026, 2, 14))
    assert not CAL.is_workday(date(2026, 3, 7))  # an ordinary Saturday
    assert CAL.is_workday(date(2026, 3, 9))


def test_adding_working_time_skips_nights_lunch_weekends_and_holidays():
    # Friday 15:00 before 春节: 2 working days = Sat 2/14 (调休) 15:00, then 2/24 (after the holiday) 15:00
    assert CAL.add_days(at(2026, 2, 13, 15), 2) == at(2026, 2, 24, 15)
    # Before office hours: the clock starts at 08:30
    assert CAL.add_hours(at(2026, 3, 9, 7), 1) == at(2026, 3, 9, 9, 30)
    # Over lunch (12:00–14:00)
    assert CAL.add_hours(at(2026, 3, 9, 11), 2) == at(2026, 3, 9, 15)
    # A full day from the start of one ends at that day's close, not the next morning
    assert CAL.add_days(at(2026, 3, 9, 8, 30), 1) == at(2026, 3, 9, 17, 30)
    # Reported on Saturday: counted from Monday morning
    assert CAL.add_hours(at(2026, 3, 7, 10), 3) == at(2026, 3, 9, 11, 30)
    # Zero: the instant itself
    assert CAL.add(at(2026, 3, 7, 10), 0) == at(2026, 3, 7, 10)


def test_measuring_working_time():
    assert CAL.between(at(2026, 3, 9, 8, 30), at(2026, 3, 9, 17, 30)) == DAY
    assert CAL.between(at(2026, 10, 1), at(2026, 10, 8)) == 0  # the National Day week
    assert CAL.between(at(2026, 10, 9, 17, 30), at(2026, 10, 12)) == DAY  # the 调休 Saturday 10/10
    assert CAL.between(at(2026, 3, 9, 12), at(2026, 3, 9, 9)) == 0


def test_office_hours_and_the_time_zone_are_settings():
    hours = OfficeHours.parse("09:00-12:00,13:00-18:00")
    assert hours.day_seconds == 8 * 3600 and str(hours) == "09:00-12:00,13:00-18:00"
    for bad in ("9-12", "12:00-09:00", "09:00-12:00,11:00-13:00", "25:00-26:00"):
        with pytest.raises(ValueError):
            OfficeHours.parse(bad)
    berlin = WorkCalendar({}, hours, "Europe/Berlin")
    assert berlin.add_hours(datetime(2026, 3, 9, 7, 0, tzinfo=UTC), 1) == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        Settings(office_hours="all day")
    with pytest.raises(ValueError):
        Settings(sla_grid_working="2 weeks")


def test_an_edit_is_checked():
    assert check_arrangement(2027, [date(2027, 1, 1), date(2027, 1, 1)], [date(2027, 2, 6)]) == (
        [date(2027, 1, 1)], [date(2027, 2, 6)])
    with pytest.raises(BadInput, match="both a holiday and a workday"):
        check_arrangement(2027, [date(2027, 2, 6)], [date(2027, 2, 6)])
    with pytest.raises(BadInput, match="outside 2027"):
        check_arrangement(2027, [date(2026, 12, 31)], [])
    with pytest.raises(BadInput, match="weekdays: 2027-02-08"):
        check_arrangement(2027, [], [date(2027, 2, 8)])  # a Monday is a working day already
    with pytest.raises(BadInput, match="year must be"):
        check_arrangement(1999, [], [])
    every_day = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]
    with pytest.raises(BadInput, match="no working day"):
        check_arrangement(2027, every_day, [])
    with pytest.raises(ValueError, match="calendar year '2027'"):
        arrangements_from_json({"years": {"2027": {"holidays": ["2027-02-08"], "workdays": ["2027-02-08"]}}})


# ---- properties ---------------------------------------------------------------------------------
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31),
                        timezones=st.just(CST)).map(lambda t: t.replace(microsecond=0))
amounts = st.integers(min_value=0, max_value=int(15 * DAY))


@settings(max_examples=300, deadline=None)
@given(instants, amounts)
def test_adding_then_measuring_gives_back_the_amount(t, seconds):
    due = CAL.add(t, seconds)
    assert due >= t
    assert abs(CAL.between(t, due) - seconds) < 1e-3


@settings(max_examples=300, deadline=None)
@given(instants, amounts, amounts)
def test_adding_is_monotone_in_the_amount_and_the_start(t, a, b):
    lo, hi = sorted((a, b))
    assert CAL.add(t, lo) <= CAL.add(t, hi)
    later = t + timedelta(seconds=b)
    assert CAL.add(t, a) <= CAL.add(later, a)


@settings(max_examples=200, deadline=None)
@given(instants, instants, instants)
def test_measuring_is_additive_and_monotone(a, b, c):
    a, b, c = sorted((a, b, c))
    assert abs(CAL.between(a, c) - CAL.between(a, b) - CAL.between(b, c)) < 1e-3
    assert CAL.between(a, b) <= CAL.between(a, c)


@settings(max_examples=200, deadline=None)
@given(instants, amounts)
def test_holidays_never_count_and_tiaoxiu_days_do(t, seconds):
    due = CAL.add(t, seconds)
    day = t.date()
    while day <= due.date():
        inside = CAL.between(max(t, at(day.year, day.month, day.day)),
                             min(due, at(day.year, day.month, day.day) + timedelta(days=1)))
        if not CAL.is_workday(day):
            assert inside == 0
        day += timedelta(days=1)
    # every 调休 workday is a full working day
    for a in shipped().values():
        for w in a.workdays:
            assert CAL.between(at(w.year, w.month, w.day), at(w.year, w.month, w.day) + timedelta(days=1)) == DAY


@settings(max_examples=100, deadline=None)
@given(instants, amounts, st.integers(min_value=-400, max_value=400))
def test_a_shifted_calendar_moves_deadlines_with_the_history(t, seconds, days):
    by = timedelta(days=days, seconds=17)
    assert CAL.shifted(by).add(t + by, seconds) == CAL.add(t, seconds) + by
    assert CAL.shifted(by).between(t + by, t + by + timedelta(days=3)) == CAL.between(t, t + timedelta(days=3))


# ---- SLA spans and the case's clock ---------------------------------------------------------
REPORTER = Principal(sub="r-1", role=Role.RESIDENT)
PATH = ("city", "k", "t", "m", "g")


def report(now: datetime, sla: d.Sla, code: str = "OTHER", category: d.Category | None = None) -> Case:
    return Case.report(id="c1", title="路灯坏了", description="", category=category or DEFAULT_CATALOGUE.get(code),
                       channel=CaseChannel.MINI_PROGRAM, region_path=PATH, by=REPORTER, now=now, sla=sla,
                       reporter_name="张三")


def test_the_settings_give_working_days_and_wall_clock_seconds_when_set():
    clock = sla_of(Settings())
    assert clock.levels[d.HandlingLevel.GRID] == Span(2 * DAY, True)
    assert clock.levels[d.HandlingLevel.COUNTY] == Span(7 * DAY, True)
    tiny = sla_of(Settings(sla_grid_s=20, sla_community_working="4h"))
    assert tiny.levels[d.HandlingLevel.GRID] == Span(20, False)
    assert tiny.levels[d.HandlingLevel.COMMUNITY] == Span(4 * 3600, True)


def test_deadlines_count_working_days_and_the_category_wins():
    clock = sla_of(Settings())
    case = report(at(2026, 9, 30, 16), clock)  # the eve of National Day: GRID, 2 working days
    assert case.due_at == at(2026, 10, 9, 16) and case.due_working and case.due_from == at(2026, 9, 30, 16)
    hazard = report(at(2026, 9, 30, 16), clock, "SAFETY_FIRE_EXIT")  # 4 wall-clock hours: nights count
    assert hazard.due_at == at(2026, 9, 30, 20) and not hazard.due_working
    worked = DEFAULT_CATALOGUE.get("OTHER").model_copy(update={"sla_work": "4h"})
    quick = report(at(2026, 9, 30, 16), clock, category=worked)
    assert quick.due_at == at(2026, 10, 8, 11)  # 1.5 h on 9/30, then (10/1-10/7 off) 10/8 08:30 + 2.5 h
    with pytest.raises(BadInput):
        d.new_category("X_CAT", "x", None, "GRID", sla_seconds=3600, sla_work="4h")
    with pytest.raises(BadInput):
        d.new_category("X_CAT", "x", None, "GRID", sla_work="tomorrow")


def test_the_deadline_a_command_sets_comes_from_the_clock_and_resolved_on_time_uses_it():
    clock = sla_of(Settings())
    case = report(at(2026, 9, 30, 16), clock)
    staff = Principal(sub="op", role=Role.SUPERADMIN)
    case.accept(staff, at(2026, 10, 9, 9), clock)
    assert case.due_at == at(2026, 10, 12, 9)  # Fri 10/9, Sat 10/10 (调休), Mon 10/12
    case.resolve(staff, "修好了", at(2026, 10, 11, 10))  # a Sunday, before the deadline
    assert case.resolved_on_time and case.due_at is None and sweep_at(case) is None


def test_due_soon_is_sent_once_per_deadline_and_rearmed_by_a_new_one():
    clock = sla_of(Settings())
    case = report(at(2026, 3, 9, 8, 30), clock)  # Monday: due Tuesday 17:30 (14 working hours)
    assert case.due_at == at(2026, 3, 10, 17, 30)
    warn = case.due_soon_at
    assert warn == at(2026, 3, 10, 14, 42)  # 20 % of 14 h = 2 h 48 min before the close
    assert sweep_at(case) == warn and not d.is_due_soon(case, warn - timedelta(seconds=1))
    assert warn_due_soon(case, warn - timedelta(seconds=1)) is False
    case.drain_events()
    version = case.version
    assert warn_due_soon(case, warn) is True
    assert case.version == version + 1 and case.timeline[-1].type == "DUE_SOON" and case.due_soon_sent
    [event] = case.drain_events()
    assert event.type == "DUE_SOON" and event.due_at == case.due_at and event.actor == d.SYSTEM.sub
    assert warn_due_soon(case, warn + timedelta(minutes=5)) is False  # once
    assert d.is_due_soon(case, warn + timedelta(minutes=5)) and sweep_at(case) == case.due_at
    # the deadline passes: the sweeper escalates, and the new deadline re-arms the warning
    assert case.sweep(case.due_at, clock)
    assert case.level is d.HandlingLevel.COMMUNITY and not case.due_soon_sent
    assert case.due_soon_at is not None and sweep_at(case) == case.due_soon_at


def test_a_warning_whose_deadline_already_passed_is_not_sent():
    clock = sla_of(Settings())
    case = report(at(2026, 3, 9, 8, 30), clock)
    assert warn_due_soon(case, case.due_at) is False  # the sweeper escalates it instead
    no_warnings = Clock(clock.calendar, clock.levels, 0)
    quiet = report(at(2026, 3, 9, 8, 30), no_warnings)
    assert quiet.due_soon_at is None and quiet.due_soon_sent and sweep_at(quiet) == quiet.due_at


def test_a_plain_mapping_still_gives_wall_clock_deadlines():
    case = report(datetime(2026, 3, 7, 10, tzinfo=UTC), d.DEFAULT_SLA)  # a Saturday: wall clock counts it
    assert case.due_at == datetime(2026, 3, 9, 10, tzinfo=UTC) and not case.due_working
    assert case.due_soon_at == datetime(2026, 3, 9, 10, tzinfo=UTC) - timedelta(hours=48 * 0.2)


class Suspendable(Case):
    suspended_at: datetime | None = None  # as the departments' suspension adds it


def test_a_paused_clock_is_not_swept_and_resuming_moves_the_deadline_by_working_time():
    clock = sla_of(Settings())
    case = Suspendable.model_validate(report(at(2026, 9, 28, 9), clock).model_dump())
    assert case.due_at == at(2026, 9, 30, 9)  # Mon 09:00 + 14 working hours: 6.5 + 7 + 0.5
    case.suspended_at = at(2026, 9, 29, 10)  # 6 working hours left
    assert sweep_at(case) is None and case.sweep(at(2026, 10, 20), clock) is False
    assert warn_due_soon(case, at(2026, 9, 30, 8)) is False
    # resumed after the National Day week (10/1-10/7): paused 5.5 h on 9/29, 7 h on 9/30, 0.5 h on 10/8
    d.resume_deadline(case, case.suspended_at, at(2026, 10, 8, 9), clock)
    case.suspended_at = None
    assert case.due_at == at(2026, 10, 8, 17)  # the 6 hours left, from 10/8 09:00 (lunch 12:00-14:00)
    assert clock.calendar.between(at(2026, 10, 8, 9), case.due_at) == 6 * 3600
    assert sweep_at(case) == case.due_soon_at and case.due_soon_at < case.due_at
    # a pause over a weekend moves a working-time deadline not at all
    assert clock.moved(at(2026, 3, 10, 12), at(2026, 3, 7, 9), at(2026, 3, 8, 18), True) == at(2026, 3, 10, 12)
    # a wall-clock deadline moves by the wall-clock pause
    assert clock.moved(at(2026, 3, 10, 12), at(2026, 3, 7, 9), at(2026, 3, 8, 9), False) == at(2026, 3, 11, 12)


def test_an_explicit_deadline_counts_wall_clock_for_its_warning():
    clock = sla_of(Settings())
    case = report(at(2026, 3, 9, 9), clock)
    case._change(at(2026, 3, 9, 10))
    case._set_due(at(2026, 3, 14, 10))  # e.g. an approved extension's `until`
    assert not case.due_working and case.due_soon_at == at(2026, 3, 13, 10)


def test_weekends_only_years_still_count_office_hours():
    cal = WorkCalendar({2031: YearArrangement.weekends_only(2031)})
    assert cal.add_days(datetime(2031, 1, 3, 9, tzinfo=CST), 1) == datetime(2031, 1, 6, 9, tzinfo=CST)


def test_a_category_may_give_its_sla_per_level():
    clock = sla_of(Settings())
    cat = d.new_category("X_CAT", "x", None, "GRID", sla_work="1d", sla_levels=[("GRID", "4h")])
    assert cat.working_at(d.HandlingLevel.GRID) == "4h" and cat.working_at(d.HandlingLevel.COUNTY) == "1d"
    case = report(at(2026, 3, 9, 8, 30), clock, category=cat)
    assert case.due_at == at(2026, 3, 9, 14, 30)  # 4 working hours, lunch skipped
    staff = Principal(sub="op", role=Role.SUPERADMIN)
    case.escalate(staff, "需社区协调", at(2026, 3, 9, 9), clock)
    assert case.due_at == at(2026, 3, 10, 9)  # COMMUNITY: the category's 1 working day
    for bad in ([("GRID", "4h"), ("GRID", "1d")], [("GRID", "soon")]):
        with pytest.raises(BadInput):
            d.new_category("X_CAT", "x", None, "GRID", sla_levels=bad)
    with pytest.raises(BadInput):
        d.new_category("X_CAT", "x", None, "GRID", sla_seconds=3600, sla_levels=[("GRID", "4h")])


def test_an_explicit_deadline_through_the_clock_keeps_the_cases_working_time():
    clock = sla_of(Settings())
    case = report(at(2026, 3, 9, 9), clock)
    case._change(at(2026, 3, 9, 10))
    d.set_deadline(case, at(2026, 3, 16, 10), clock)  # a week on: 5 working days = 35 h
    assert case.due_at == at(2026, 3, 16, 10) and case.due_working
    assert case.due_soon_at == clock.calendar.add(at(2026, 3, 9, 10), 0.8 * 35 * 3600) == at(2026, 3, 13, 10)
