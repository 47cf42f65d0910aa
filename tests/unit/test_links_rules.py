"""包联 and 党员联户 rules: roles and levels, limits, coverage transitions, the recount."""
from __future__ import annotations

from collections import Counter

import pytest

from services.grids.domain import Level, Region
from services.grids.domain import cadres as c
from shared.errors import BadInput, Conflict


def test_each_role_takes_one_level():
    assert c.CADRE_LEVEL[c.CadreRole.STREET_CADRE] is Level.COMMUNITY
    assert c.CADRE_LEVEL[c.CadreRole.COMMUNITY_CADRE] is Level.GRID
    assert c.CADRE_LEVEL[c.CadreRole.BUILDING_LEADER] is Level.BUILDING
    c.check_cadre_region(c.CadreRole.FIRST_SECRETARY, "COMMUNITY", "x")
    with pytest.raises(BadInput, match="is assigned to a GRID"):
        c.check_cadre_region(c.CadreRole.COMMUNITY_CADRE, "COMMUNITY", "x")
    with pytest.raises(BadInput, match="unknown cadre role"):
        c.check_cadre_role("MAYOR")
    assert set(c.CADRE_ROLE_NAMES) == set(c.CadreRole) == set(c.CADRE_LEVEL)


@pytest.mark.parametrize("sub", ["", "  ", "a b", "x" * 65])
def test_a_sub_is_one_word(sub):
    with pytest.raises(BadInput):
        c.check_cadre_sub(sub)


def test_limits_refuse_rather_than_truncate():
    c.check_new_assignment(c.MAX_ASSIGNMENTS_PER_SUB - 1, c.MAX_ASSIGNMENTS_PER_REGION - 1)
    with pytest.raises(Conflict, match="at most"):
        c.check_new_assignment(c.MAX_ASSIGNMENTS_PER_SUB, 0)
    with pytest.raises(Conflict, match="at most"):
        c.check_new_assignment(0, c.MAX_ASSIGNMENTS_PER_REGION)


def test_coverage_counts_a_region_once():
    assert c.counters_of_cadres("COMMUNITY", 0, 1) == Counter({"communitiesWithCadre": 1})
    assert c.counters_of_cadres("COMMUNITY", 1, 2) == Counter()
    assert c.counters_of_cadres("GRID", 1, 0) == Counter({"gridsWithCadre": -1})
    assert c.counters_of_cadres("GRID", 2, 1) == Counter()
    assert c.counters_of_cadres("BUILDING", 0, 1) == Counter()  # buildings are not a coverage figure
    assert c.coverage(1, 0) is None and c.coverage(1, 4) == 0.25


def test_recount_cadres_matches_live_transitions():
    def r(i: str, level: Level, path: list[str]) -> Region:
        return Region(id=i, name=i, level=level, path=path, parent_id=path[-2] if len(path) > 1 else None,
                      code=None, boundary=None, attrs={}, version=1)

    regions = [r("t", Level.TOWNSHIP, ["t"]), r("m", Level.COMMUNITY, ["t", "m"]), r("g", Level.GRID, ["t", "m", "g"]),
               r("g2", Level.GRID, ["t", "m", "g2"]), r("b", Level.BUILDING, ["t", "m", "g", "b"])]
    totals = c.recount_cadres(regions, ["m", "m", "g", "b", "gone"])
    assert totals["t"] == Counter({"communitiesWithCadre": 1, "gridsWithCadre": 1})
    assert totals["g2"] == Counter()


# -- 党员联户 ------------------------------------------------------------------------------------
from services.grids.domain import links as lk  # noqa: E402


def test_a_member_serves_where_they_live_are_organised_or_registered():
    m = {"id": "pm1", "orgPath": ["c", "k", "t", "m1", "g1"], "dualRegistration": None}
    assert lk.member_in_community(m, "m1", None)
    assert not lk.member_in_community(m, "m2", None)
    assert lk.member_in_community(m, "m2", ["c", "k", "t", "m2", "g", "b"])  # lives there
    dual = {**m, "dualRegistration": {"communityId": "m2", "active": True}}
    assert lk.member_in_community(dual, "m2", None)
    ended = {**m, "dualRegistration": {"communityId": "m2", "active": False}}
    assert not lk.member_in_community(ended, "m2", None)
    with pytest.raises(BadInput, match="neither lives nor is organised"):
        lk.check_member_in_community(m, "m2", None)


def test_one_community_per_request_and_no_household_twice():
    assert lk.check_one_community([{"communityId": "m"}, {"communityId": "m"}]) == "m"
    with pytest.raises(BadInput, match="one community"):
        lk.check_one_community([{"communityId": "m"}, {"communityId": "m2"}])
    with pytest.raises(BadInput, match="named twice"):
        lk.check_household_ids(["h1", "h1"])


def test_linked_twice_is_a_conflict_and_unlinking_needs_a_link():
    docs = [{"_id": "h1", "linkedMemberIds": ["pm1"]}, {"_id": "h2", "linkedMemberIds": []}]
    with pytest.raises(Conflict, match="already linked to h1"):
        lk.check_not_linked("pm1", docs)
    lk.check_not_linked("pm2", docs)
    with pytest.raises(BadInput, match="not linked to h2"):
        lk.check_linked("pm1", docs)


def test_the_cap_counts_what_is_held_and_asked_for():
    lk.check_cap(lk.MAX_HOUSEHOLDS_PER_MEMBER - 2, 2)
    with pytest.raises(Conflict, match=f"at most {lk.MAX_HOUSEHOLDS_PER_MEMBER}"):
        lk.check_cap(lk.MAX_HOUSEHOLDS_PER_MEMBER - 1, 2)


def test_a_household_counts_while_it_has_a_member():
    assert lk.counters_of_links(0, 1) == Counter({"linkedHouseholdCount": 1})
    assert lk.counters_of_links(1, 2) == Counter()
    assert lk.counters_of_links(1, 0) == Counter({"linkedHouseholdCount": -1})
    from services.grids.domain import households as hh
    live = {"linkedMemberIds": ["pm1"], "residentCount": 1, "path": ["m", "g", "b"]}
    assert hh.standing_counters(live)["linkedHouseholdCount"] == 1  # what moving out takes away
    moved = {**live, "movedOutAt": "2026-01-01"}
    assert lk.recount_links([live, moved, {**live, "linkedMemberIds": []}]) == {
        r: Counter({"linkedHouseholdCount": 1}) for r in ("m", "g", "b")}


def test_visits_count_for_the_visitor_and_the_member():
    visits = [{"visitor": "gw1"}, {"visitor": "v1", "visitorMember": "pm1"}, {"visitor": "v1", "visitorMember": "pm1"}]
    assert lk.recount_visitors(visits) == {"visitor:gw1": 1, "visitor:v1": 2, "member:pm1": 2}
