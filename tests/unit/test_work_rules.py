"""The rules of a working day (myWork): whose records each service's `work.*` verb reads, that
every filter is answered by an index of one equality per field (no `$in`, no null), and the order
of urgency."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.cases.domain import work as cw
from services.cases.domain.enums import HandlingLevel
from services.cases.store import INDEXES as CASE_INDEXES
from services.organizations.domain import work as ow
from services.organizations.store import INDEXES as ORG_INDEXES
from services.volunteers.domain import work as vw
from services.volunteers.store import INDEXES as VOL_INDEXES
from shared.auth import Principal, Role
from shared.work import most_urgent, urgency

NOW = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)


def served(query: dict, indexes: list) -> bool:
    """An index whose leading fields are the query's equalities (then its one range, if any)."""
    assert not any(isinstance(v, dict) and "$in" in v for v in query.values())
    assert None not in query.values()
    eq = {k for k, v in query.items() if not isinstance(v, dict)}
    ranges = [k for k, v in query.items() if isinstance(v, dict)]
    for index in indexes:
        keys = list(index.document["key"])
        if set(keys[: len(eq)]) == eq and (not ranges or keys[len(eq): len(eq) + 1] == ranges):
            return True
    return False


def who(role: str, region: str | None = "g1", **kw) -> Principal:
    return Principal(sub=f"s-{role}", role=Role(role), region=region, **kw)


@pytest.mark.parametrize("p, level", [
    (who("grid_worker"), HandlingLevel.GRID),
    (who("admin", "c1"), HandlingLevel.COMMUNITY),
    (who("operator", "t1"), HandlingLevel.TOWNSHIP),
    (who("department", "county", dept="ZJJ"), HandlingLevel.COUNTY),
    (who("volunteer", "c1", member="m1"), HandlingLevel.COMMUNITY),
])
def test_every_case_filter_rides_an_index(p, level):
    filters = cw.work_filters(p, level)
    assert filters
    for f in filters:
        assert served(f, CASE_INDEXES["cases"]), f


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.SUPERADMIN, Role.SERVICE)])
@pytest.mark.parametrize("level", list(HandlingLevel))
def test_every_roles_case_filters_ride_an_index_at_every_level(role, level):
    """Whatever scope a role has now or is given later (the case scope decides the filter's
    fields), its day is read on an index: a new scope field needs its (field, level, status) index."""
    p = Principal(sub="s", role=role, region="r1", dept="D", member="m1")
    for f in cw.work_filters(p, level):
        assert served(f, CASE_INDEXES["cases"]), f


def test_a_grid_workers_cases_are_their_grids_at_grid_level_and_their_own():
    filters = cw.work_filters(who("grid_worker"), HandlingLevel.GRID)
    assert {"region_id": "g1", "level": "GRID", "status": "REPORTED"} in filters
    assert {"region_id": "g1", "level": "GRID", "status": "ACCEPTED"} in filters
    assert {"assigneeKey": "GRID_WORKER:s-grid_worker", "status": "IN_PROGRESS"} in filters
    assert not any(f.get("level") == "COMMUNITY" for f in filters)


def test_whose_cases_a_day_holds():
    dept = cw.work_filters(who("department", "county", dept="ZJJ"), HandlingLevel.COUNTY)
    assert all(f["deptKeys"] == "county:ZJJ" and f["status"] in ("ASSIGNED", "IN_PROGRESS") for f in dept)
    vol = cw.work_filters(who("volunteer", "c1", member="m1"), HandlingLevel.COMMUNITY)
    assert {f["assigneeKey"] for f in vol} == {"VOLUNTEER:s-volunteer", "VOLUNTEER:m1"}  # takes on none
    assert cw.work_filters(who("superadmin", None), None) == []
    assert cw.work_filters(who("resident", None), None) == []
    city = cw.work_filters(who("admin", "city"), cw.level_of("CITY"))
    assert city == []  # a city handles at no level, and nobody assigns cases to an admin


def test_a_cases_deadline_and_overdue():
    assert cw.due_of({"due_at": NOW.replace(tzinfo=None), "overdue": False}, NOW + timedelta(seconds=1)) == (NOW, True)
    assert cw.due_of({"due_at": NOW, "overdue": False}, NOW - timedelta(hours=1)) == (NOW, False)
    assert cw.due_of({"due_at": None, "overdue": True}, NOW) == (None, True)


def test_volunteer_filters_ride_indexes_and_look_only_locally():
    worker = who("grid_worker")
    place = vw.place_of(worker, "g1", "GRID")
    assert place == vw.WorkPlace(region="g1")
    for f in [*vw.order_filters(worker, place, None), vw.activity_filter(place, NOW)]:
        coll = "orders" if "status" in f else "activities"
        assert served(f, VOL_INDEXES[coll]), f
    vol = who("volunteer", "c1")
    for f in vw.order_filters(vol, vw.place_of(vol, "c1", "COMMUNITY"), "v1"):
        assert served(f, VOL_INDEXES["orders"]), f
    assert vw.place_of(who("admin", "t1"), "t1", "TOWNSHIP") is None  # above a community: no day here
    assert vw.place_of(who("department", "county", dept="ZJJ"), "county", "COUNTY") is None
    assert vw.place_of(who("superadmin", None), None, None) is None


def test_meetings_are_the_communitys_for_those_who_work_there():
    path, levels = ["city", "c1", "g1"], ["CITY", "COMMUNITY", "GRID"]
    assert ow.community_of(who("grid_worker"), path, levels) == "c1"
    assert ow.community_of(who("operator", "c1"), path[:2], levels[:2]) == "c1"
    for p in (who("department", "g1", dept="X"), who("volunteer", "c1"), who("resident", None)):
        assert ow.community_of(p, path, levels) is None
    assert ow.community_of(who("admin", "city"), path[:1], levels[:1]) is None
    f = ow.meeting_filter("c1", NOW, timedelta(days=14))
    assert served(f, ORG_INDEXES["meetings"]) and f["scheduled_at"]["$lte"] == NOW + timedelta(days=31)
    assert ow.meeting_filter("c1", NOW, timedelta(days=60))["scheduled_at"]["$lte"] == NOW + timedelta(days=60)


def test_urgency_overdue_first_then_nearest_then_none():
    items = [("late-later", NOW + timedelta(hours=1), True), ("none", None, False),
             ("soon", NOW + timedelta(minutes=5), False), ("late", NOW - timedelta(days=1), True),
             ("tomorrow", NOW + timedelta(days=1), False)]
    order = [i[0] for i in most_urgent(items, lambda i: (i[1], i[2]), 10)]
    assert order == ["late", "late-later", "soon", "tomorrow", "none"]
    assert urgency(NOW.replace(tzinfo=None), False) == urgency(NOW, False)  # naive stored times are UTC
    assert len(most_urgent(items, lambda i: (i[1], i[2]), 2)) == 2
