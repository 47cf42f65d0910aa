"""Trends and hotspots as pure rules: buckets align to local days, Monday weeks and months;
flows sum, stocks count back from today, ratios divide flows; hotspots compare windows."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.cases.domain import hotspots, trend_of
from shared.errors import BadInput
from shared.trends import Interval, Kind, Metric, buckets, day_of, series

TZ = ZoneInfo("Asia/Shanghai")


def at(*a: int) -> datetime:
    return datetime(*a, tzinfo=TZ)


def test_days_are_local_to_the_city():
    assert day_of(datetime.fromisoformat("2026-11-20T17:30:00+00:00"), TZ) == "2026-11-21"


def test_buckets_align_to_days_weeks_and_months():
    days = buckets(at(2026, 11, 1, 12), at(2026, 11, 4), Interval.DAY, TZ)
    assert days == [(date(2026, 11, d), date(2026, 11, d + 1)) for d in (1, 2, 3)]
    weeks = buckets(at(2026, 11, 4), at(2026, 11, 17), Interval.WEEK, TZ)
    assert [w[0].weekday() for w in weeks] == [0, 0, 0] and weeks[0][0] == date(2026, 11, 2)
    months = buckets(at(2025, 12, 15), at(2026, 2, 1), Interval.MONTH, TZ)
    assert months == [(date(2025, 12, 1), date(2026, 1, 1)), (date(2026, 1, 1), date(2026, 2, 1))]


@pytest.mark.parametrize("start,end,interval", [
    (at(2026, 11, 2), at(2026, 11, 1), Interval.DAY),
    (at(2024, 1, 1), at(2026, 1, 1), Interval.DAY),
    (datetime(2026, 11, 1), datetime(2026, 11, 2), Interval.DAY),
])
def test_bad_spans_are_refused(start, end, interval):
    with pytest.raises(BadInput):
        buckets(start, end, interval, TZ)


def test_flows_stocks_and_ratios():
    days = {"2026-11-01": {"total": 3, "open": 3, "rated": 2, "satisfied": 1},
            "2026-11-02": {"total": 1, "open": -2, "rated": 0},
            "2026-11-04": {"total": 2, "open": 2}}
    spans = buckets(at(2026, 11, 1), at(2026, 11, 3), Interval.DAY, TZ)
    flow = series(Metric(Kind.FLOW, ("total",)), days, {}, spans, TZ)
    assert [p["value"] for p in flow] == [3, 1]
    # Open today is 3 + (−2) + 2 = 3; at the end of each day, count back the later changes.
    stock = series(Metric(Kind.STOCK, ("open",)), days, {"open": 3}, spans, TZ)
    assert [p["value"] for p in stock] == [3, 1]
    ratio = series(Metric(Kind.RATIO, ("satisfied",), per=("rated",)), days, {}, spans, TZ)
    assert [p["value"] for p in ratio] == [0.5, None]
    hours = series(Metric(Kind.FLOW, ("tenths",), scale=0.1), {"2026-11-01": {"tenths": 25}}, {}, spans, TZ)
    assert [p["value"] for p in hours] == [2.5, 0]
    assert flow[0]["start"] == at(2026, 11, 1) and flow[0]["end"] == at(2026, 11, 2)


def test_hotspots_rank_clusters_against_the_window_before():
    cells = [("2026-11-20", {"g1|A": 4}), ("2026-11-14", {"g1|A": 1}),
             ("2026-11-19", {"g2|B": 2}), ("2026-11-13", {"g2|B": 6}),
             ("2026-11-21", {"g3|A": 1}),   # one report: not a cluster
             ("2026-11-01", {"g4|C": 9})]   # before both windows
    out = hotspots(cells, date(2026, 11, 15), date(2026, 11, 21), first=10)
    assert [(h["gridId"], h["count"], h["previousCount"], h["trend"]) for h in out] == [
        ("g1", 4, 1, "RISING"), ("g2", 2, 6, "FALLING")]
    assert len(out[0]["daily"]) == 7 and out[0]["daily"][5] == {"day": "2026-11-20", "count": 4}
    assert hotspots(cells, date(2026, 11, 15), date(2026, 11, 21), first=1)[0]["gridId"] == "g1"
    assert [trend_of(3, 0), trend_of(3, 3), trend_of(4, 3)] == ["NEW", "STEADY", "STEADY"]
