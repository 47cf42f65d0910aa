"""The demo data generator (ops/cli/seed.py), without I/O: deterministic, the city's counts,
grids that tile their communities, and a case history whose every step the domain accepts."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from shapely.geometry import shape
from shapely.ops import unary_union

from ops.cli import seed as s
from services.cases import domain as d
from services.cases.handlers.context import sla_of
from services.cases.importer import FollowUpSteps, apply_step
from shared.settings import Settings
from shared.auth import Principal, Role
from shared.contracts.cases import ImportedCase

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
TODAY = date(2026, 11, 21)
# The cases service's clock by default: working days of the shipped calendar (clocks)
CLOCK = sla_of(Settings())


def history_for(plan: s.Plan, now: datetime, **kw) -> s.CaseHistory:
    return s.history_for(plan, now, sla=CLOCK, **kw)


@pytest.fixture(scope="module")
def city() -> s.Plan:
    return s.city_plan()


def test_city_counts_match_the_source_documents(city):
    counts = {level: len(city.by_level(level)) for level in ("CITY", "COUNTY", "TOWNSHIP", "COMMUNITY", "GRID")}
    assert counts == {"CITY": 1, "COUNTY": 7, "TOWNSHIP": 16, "COMMUNITY": 177, "GRID": 1000}
    per_community = Counter(g["parentId"] for g in city.by_level("GRID"))
    assert set(per_community.values()) <= {5, 6, 7} and len(per_community) == 177
    per_grid = Counter(b["parentId"] for b in city.by_level("BUILDING"))
    assert set(per_grid.values()) <= {3, 4, 5} and len(per_grid) == 1000
    assert len(city.workers) == 1000 and len({w["sub"] for w in city.workers}) == 1000
    ids = [r["id"] for level in city.levels for r in level]
    assert len(ids) == len(set(ids)) and ids[:3] == ["city", "city-k0", "city-k1"]
    assert all(len(i) <= 48 and i == i.lower() for i in ids)
    names = [r["name"] for r in city.by_level("COMMUNITY")]
    assert len(set(names)) == 177 and all(n.endswith(("社区", "村")) for n in names)


def test_grids_tile_their_communities_and_nest(city):
    boundary = {r["id"]: shape(r["boundary"]) for level in city.levels[:5] for r in level}
    children: dict[str, list[str]] = {}
    for level in city.levels[1:5]:
        for r in level:
            children.setdefault(r["parentId"], []).append(r["id"])
    for parent, kids in children.items():
        outer, parts = boundary[parent], [boundary[k] for k in kids]
        assert abs(unary_union(parts).area - outer.area) < 1e-12, parent  # no gap
        assert abs(sum(p.area for p in parts) - outer.area) < 1e-12, parent  # no overlap
        assert all(outer.buffer(1e-9).covers(p) for p in parts), parent


def test_the_generator_is_deterministic(city):
    again = s.city_plan()
    assert again.levels == city.levels and again.workers == city.workers
    one, two = s.city_party(city, TODAY), s.city_party(again, TODAY)
    assert one.members == two.members and one.orgs == two.orgs and one.households == two.households
    assert s.city_volunteers(city).orders == s.city_volunteers(again).orders
    h1 = history_for(city, NOW, count=3000).cases()
    h2 = history_for(again, NOW, count=3000).cases()
    assert h1 == h2 and len({c["id"] for c in h1}) == 3000


def test_city_people_and_party(city):
    party = s.city_party(city, TODAY)
    sizes = [len(level) for level in party.orgs]
    assert sizes[:2] == [16, 177] and 900 <= sizes[2] <= 1000 and 2200 <= sum(sizes) + len(party.households) <= 2800
    assert len(party.members) == 50_000
    assert len({m["id"] for m in party.members}) == 50_000
    assert len({m["idNumber"] for m in party.members}) == 50_000
    keys = {o["key"] for level in party.orgs for o in level}
    assert all(m["organizationKey"] in keys for m in party.members)
    assert all(m["birthDate"] < m["joinDate"] <= TODAY.isoformat() for m in party.members)
    categories = Counter(m["category"] for m in party.members)
    assert categories["RETIRED"] > categories["IN_SERVICE"] > categories["FLOATING"]
    assert all(h["anchorId"] in keys for h in party.households)
    vp = s.city_volunteers(city)
    assert len(vp.volunteers) == 2000 and len(vp.posts) == 354 and len(vp.orders) > 177


def test_small_keeps_the_demo_territory():
    from ops.cli import demo

    plan = s.small_plan()
    assert plan.levels == demo.plan() and plan.workers == demo.workers(demo.plan()[4])
    grid = next(g for g in plan.grids if g.id == "demo-k0t0m0g1")
    assert grid.community_name == "幸福社区" and grid.path == ["demo-city", "demo-k0", "demo-k0t0", "demo-k0t0m0",
                                                               "demo-k0t0m0g1"]


def replay(plan: s.Plan, items: list[dict], now: datetime = NOW) -> list[d.Case]:
    """Each planned case through the pure domain, as case.import runs it, loaded at `now`."""
    cats = {c.code: c for c in d.DEFAULT_CATALOGUE.categories}
    # as case.import counts it: the calendar moved with the history (its calendarShiftS)
    sla = CLOCK.shifted((now.replace(microsecond=0) - s.REFERENCE_NOW).total_seconds())
    paths = {g.id: g.path for g in plan.grids}
    importer = Principal(sub="svc:seed", role=Role.SERVICE)
    out = []
    for raw in items:
        ic = ImportedCase.model_validate(raw)
        case = d.Case.report(id=ic.id, title=ic.title, description=ic.description, category=cats[ic.categoryCode],
                             channel=d.CaseChannel(ic.channel), region_path=paths[ic.regionId],
                             by=importer.model_copy(update={"sub": ic.reporterSub or importer.sub}),
                             now=ic.reportedAt, sla=sla, reporter_name=ic.reporterName, reporter_sub=ic.reporterSub,
                             building_id=ic.buildingId)
        at = ic.reportedAt
        followup = FollowUpSteps(lambda w: d.Routed({"path": paths[w.regionId]}, None), d.DEFAULT_CATALOGUE,
                                 d.DEFAULT_RETURN_VISIT_S)
        for step in ic.steps:
            assert at <= step.at <= now, (ic.id, step)
            version = case.version
            apply_step(case, step, importer.model_copy(update={"sub": step.actor or importer.sub}), ic.reporterSub, sla,
                       followup)
            assert case.version > version, (ic.id, step)
            at = step.at
        # Nothing left for the live sweeper: no open case is past a deadline it was not flagged for.
        assert not (case.status in d.OPEN_STATUSES and case.due_at and case.due_at <= now and not case.overdue), ic.id
        ready = case.rating_window_from or case.resolved_at
        assert not (case.status is d.CaseStatus.RESOLVED and not case.verification_due and (now - ready).days >= 7), ic.id
        assert not (case.return_visit_due_at and case.return_visit_due_at <= now), ic.id  # nothing for the sweeper
        out.append(case)
    return out


def test_case_history_mix_and_every_step_is_legal(city):
    history = history_for(city, NOW, count=6000)
    items = history.cases()
    cases = replay(city, items)
    street = {g.id: g.path[2] for g in city.grids}
    keys = [(street[c["regionId"]], c["reportedAt"]) for c in items]
    assert keys == sorted(keys)  # street by street, oldest first: few regions and days per import batch
    channels = Counter(c.channel for c in cases)
    for name, share in (("MINI_PROGRAM", 0.45), ("HOTLINE", 0.25), ("GRID_PATROL", 0.25), ("WALK_IN", 0.05)):
        assert abs(channels[name] / len(cases) - share) < 0.03, name
    counters = d.recount(cases)["city"]
    assert d.rates(counters)["fengqiao_share"] > 0.8
    assert 0.01 < counters.get("rejected", 0) / len(cases) < 0.06
    assert 0.8 < d.rates(counters)["satisfaction_rate"] < 0.98
    assert sum(c.escalations > 0 for c in cases) > 0.08 * len(cases)
    assert sum(c.overdue_count > 0 for c in cases) > 0.02 * len(cases)
    recent = [c for c in cases if (NOW - c.created_at).days < 14]
    old = [c for c in cases if (NOW - c.created_at).days > 30]
    assert 0.1 < sum(c.status in d.OPEN_STATUSES for c in recent) / len(recent) < 0.7
    assert not any(c.status in d.OPEN_STATUSES for c in old)
    # Hotspots: the surging grid × category pairs stand out in the last ten days.
    last = Counter((c.region_id, c.category_code) for c in cases if (NOW - c.created_at).days < 10)
    assert last.most_common(1)[0][1] >= 3 * sorted(last.values())[len(last) // 2]
    # Follow-up: verification (some failed once), return visits to callers without an account,
    # a few corrections and comments.
    verified = [c for c in cases if c.verifications]
    assert len(verified) > 0.1 * len(cases)
    assert 0.05 < sum(c.rework_count > 0 for c in verified) / len(verified) < 0.2
    callers = [c for c in cases if c.channel in ("HOTLINE", "WALK_IN") and c.status is d.CaseStatus.CLOSED]
    assert sum(any(v.reached for v in c.return_visits) for c in callers) > 0.9 * len(callers)
    assert any(not v.reached for c in callers for v in c.return_visits)
    assert 0 < sum(c.corrections > 0 for c in cases) < 0.02 * len(cases)
    assert 0 < sum(any(t.type == "CASE_COMMENTED" for t in c.timeline) for c in cases) < 0.05 * len(cases)
    assert 0.85 < d.rates(counters)["satisfaction_rate"] < 0.98 and counters["visited"] > 0
    # The numbers the seeder reports are the domain's numbers.
    st = history.stats
    assert st.by_status == dict(Counter(str(c.status) for c in cases))
    assert sum(st.resolved_by_level.values()) == counters["resolved"]


def test_small_history_is_legal_and_sized():
    plan = s.small_plan()
    items = history_for(plan, NOW).cases()
    assert 1500 <= len(items) <= 3000
    assert {c["regionId"] for c in items} <= {g.id for g in plan.grids}
    replay(plan, items)


# ---- the same demo whenever it is loaded ------------------------------------------------
LOAD_MOMENTS = (NOW, NOW + timedelta(days=1, hours=5, minutes=7, seconds=3), NOW + timedelta(days=41, hours=13, minutes=59))


def relative(items: list[dict], now: datetime) -> list[dict]:
    """The planned cases with every time as seconds before `now`, and without ids (made of times)."""
    def ago(t: str) -> float:
        return (now - datetime.fromisoformat(t)).total_seconds()

    return [{**{k: v for k, v in c.items() if k != "id"}, "reportedAt": ago(c["reportedAt"]),
             "steps": [{**s_, "at": ago(s_["at"])} for s_ in c["steps"]]} for c in items]


def test_the_history_is_the_same_whenever_it_is_loaded():
    """Tomorrow, at another hour, a month on: the same cases, as long before the load, with
    the same steps, so every figure a fresh demo shows is the same (README's among them)."""
    plan = s.small_plan()
    runs = []
    for now in LOAD_MOMENTS:
        items = history_for(plan, now).cases()
        assert all(datetime.fromisoformat(c["reportedAt"]) < now for c in items)
        runs.append((relative(items, now), d.recount(replay(plan, items, now))))
    first_items, first_figures = runs[0]
    for items, figures in runs[1:]:
        assert items == first_items
        assert figures == first_figures
    assert first_figures["demo-k0"]["total"] > 500  # the county the README looks at has its share


def test_the_demos_other_dates_follow_the_load_day():
    from zoneinfo import ZoneInfo

    from ops.cli import demo
    from services.organizations.domain.member import adulthood

    zone = ZoneInfo("Asia/Shanghai")
    for today in (date(2026, 12, 6), date(2027, 1, 5), date(2028, 2, 29), date(2031, 6, 30)):
        meeting = datetime.fromisoformat(demo.first_meeting(today, zone))
        assert meeting.date() == today + timedelta(days=14) and meeting.hour == 9
        assert meeting.utcoffset() == timedelta(hours=8)
        for i in range(4 * 72):
            born, joined = map(date.fromisoformat, demo.member_dates(i, today))
            assert adulthood(born) <= joined <= today
            again = demo.member_dates(i, today + timedelta(days=30))
            assert [date.fromisoformat(x) - born for x in again] == [timedelta(days=30), joined - born + timedelta(days=30)]
    party = s.city_party(s.city_plan(), TODAY, members=2000)
    assert all(adulthood(date.fromisoformat(m["birthDate"])) <= date.fromisoformat(m["joinDate"]) <= TODAY
               for m in party.members)
    assert all(5 <= c["meetingInDays"] <= 60 for c in party.committees)
