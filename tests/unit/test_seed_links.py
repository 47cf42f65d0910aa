"""The demo's 包联 and 党员联户 plans: deterministic, within the cap, the 中心户 first."""
from __future__ import annotations

from collections import Counter

from ops.cli.seed_links import cadre_plan, link_plan
from services.grids.domain.links import MAX_HOUSEHOLDS_PER_MEMBER


def test_cadres_are_drawn_the_same_each_time_with_the_level_of_their_role():
    communities = [{"id": f"m{i}"} for i in range(30)]
    grids = [{"id": f"g{i}"} for i in range(100)]
    a, b = cadre_plan(communities, grids, "demo"), cadre_plan(communities, grids, "demo")
    assert a == b
    roles = Counter(x["role"] for x in a)
    assert 25 <= roles["STREET_CADRE"] <= 30 and roles["COMMUNITY_CADRE"] >= 80 and roles["FIRST_SECRETARY"] >= 1
    assert all(x["regionId"].startswith("g") == (x["role"] == "COMMUNITY_CADRE") for x in a)
    assert len({x["idempotencyKey"] for x in a}) == len(a) and len({x["sub"] for x in a}) == len(a)


def test_links_start_with_the_center_household_and_keep_to_the_cap():
    households = {"b1": [f"h1-{i:02d}" for i in range(40)], "b2": [f"h2-{i:02d}" for i in range(8)]}
    centers = {"b1": "pm-center"}
    residents = {"b1": ["pm-a", "pm-center"], "b2": ["pm-a"]}
    held: dict[str, int] = {}
    plan = link_plan(households, centers, residents, {}, "demo", held)
    assert plan[0]["memberId"] == "pm-center"
    per_member = Counter()
    for p in plan:
        per_member[p["memberId"]] += len(p["householdIds"])
        assert len(set(p["householdIds"])) == len(p["householdIds"])
    assert all(n <= MAX_HOUSEHOLDS_PER_MEMBER for n in per_member.values()) and per_member == Counter(held)
    linked = [h for p in plan for h in p["householdIds"]]
    assert len(linked) == len(set(linked))  # no household twice
    assert not {h for h in linked if h.startswith("h2")} - set(households["b2"])
    # a building without residents is looked after by its building group's members
    plan = link_plan({"b3": ["h3"]}, {}, {}, {"b3": ["pm-g"]}, "demo")
    assert plan == [{"memberId": "pm-g", "householdIds": ["h3"], "idempotencyKey": "demo:link:pm-g:b3"}]
