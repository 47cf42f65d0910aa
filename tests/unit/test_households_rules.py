"""Households' pure rules (services/grids/domain/households.py): persons, ID numbers (GB 11643),
phones, places, tags, the scope (its predicate and filter agree), masking and counters."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.grids.domain import households as hh
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.territory import Relation
from tests.unit.test_scope import REGIONS, matches, principals, trees

TODAY = date(2026, 12, 6)


def id_number(first17: str) -> str:
    return first17 + hh.id_check_digit(first17)


GOOD_ID = id_number("11010519491231002")  # the standard's own example: 11010519491231002X


def test_check_digit_of_the_standards_example():
    assert GOOD_ID == "11010519491231002X"
    assert hh.check_id_number("11010519491231002x", TODAY) == "11010519491231002X"
    assert hh.id_facts(GOOD_ID) == ("FEMALE", 1949)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("11010519491231002", "17 digits"),
        ("110105194912310021", "check digit"),
        ("110105194902300023", "birth date"),  # 30 February
        (id_number("11010520991231002"), "out of range"),
        (id_number("01010519491231002"), "area code"),
        ("110105491231002", "15 digits"),
        ("1101051949123100AX", "17 digits"),
    ],
)
def test_bad_id_numbers(value, why):
    with pytest.raises(BadInput, match=why.split()[0] if why != "15 digits" else "15"):
        hh.check_id_number(value, TODAY)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_one_wrong_digit_is_caught(first17):
    good = id_number(first17)
    for i in range(18):
        for c in "0123456789X":
            if c != good[i] and (i == 17 or c != "X"):
                bad = good[:i] + c + good[i + 1 :]
                assert hh.id_check_digit(bad[:17]) != bad[17]


@pytest.mark.parametrize(
    ("given_", "stored"),
    [("138 1234 5678", "13812345678"), ("+8613812345678", "13812345678"), ("010-62345678", "01062345678")],
)
def test_phones(given_, stored):
    assert hh.check_phone(given_) == stored


@pytest.mark.parametrize("bad", ["12345", "12812345678", "1381234567", "abc", "62345678"])
def test_bad_phones(bad):
    with pytest.raises(BadInput, match="phone"):
        hh.check_phone(bad)


def test_person_takes_gender_and_birth_year_from_the_id_number():
    p = hh.check_person("HEAD", " 王  大明 ", "13812345678", GOOD_ID, None, None, TODAY)
    assert (p.name, p.gender, p.birth_year, p.relation) == ("王 大明", "FEMALE", 1949, Relation.HEAD)
    with pytest.raises(BadInput, match="gender"):
        hh.check_person("HEAD", "王大明", None, GOOD_ID, "MALE", None, TODAY)
    with pytest.raises(BadInput, match="birth year"):
        hh.check_person("HEAD", "王大明", None, GOOD_ID, None, 1950, TODAY)
    with pytest.raises(BadInput, match="relation"):
        hh.check_person("BOSS", "王大明", None, None, None, None, TODAY)
    for bad in ("", "王2", "<b>王</b>", "王" * 33):
        with pytest.raises(BadInput, match="name"):
            hh.check_person("HEAD", bad, None, None, None, None, TODAY)


def person(rel="HEAD", by=None, idn=None) -> hh.Person:
    return hh.Person(Relation(rel), "某人", None, idn, None, by)


def test_persons_of_a_household():
    hh.check_persons(person(), [person("SPOUSE"), person("CHILD")])
    with pytest.raises(BadInput, match="HEAD"):
        hh.check_persons(person("SPOUSE"), [])
    with pytest.raises(BadInput, match="one head"):
        hh.check_persons(person(), [person("HEAD")])
    with pytest.raises(BadInput, match="spouse"):
        hh.check_persons(person(), [person("SPOUSE"), person("SPOUSE")])
    with pytest.raises(BadInput, match="ID number"):
        hh.check_persons(person(idn=GOOD_ID), [person("SPOUSE", idn=GOOD_ID)])
    with pytest.raises(BadInput, match="at most"):
        hh.check_persons(person(), [person("OTHER")] * (hh.MAX_MEMBERS + 1))


def test_places():
    assert hh.check_place(" 2 ", "301") == ("2", "301")
    assert hh.check_place("", "") == (None, None)
    assert hh.place_key("b1", None, "1") == "b1||1"
    with pytest.raises(BadInput, match="without a room"):
        hh.check_place("2", None)
    with pytest.raises(BadInput, match="room"):
        hh.check_place(None, "3 01")


def test_tags():
    assert hh.check_tags(["TENANT", "LOW_INCOME"], [person()], TODAY) == ["LOW_INCOME", "TENANT"]
    assert hh.check_tags(["ELDERLY_ALONE"], [person(by=1950)], TODAY) == ["ELDERLY_ALONE"]
    with pytest.raises(BadInput, match="one person"):
        hh.check_tags(["ELDERLY_ALONE"], [person(), person("SPOUSE")], TODAY)
    with pytest.raises(BadInput, match="60"):
        hh.check_tags(["ELDERLY_ALONE"], [person(by=1990)], TODAY)
    with pytest.raises(BadInput, match="child"):
        hh.check_tags(["LEFT_BEHIND_CHILD"], [person(by=1950), person("GRANDCHILD", by=2000)], TODAY)
    assert hh.check_tags(["LEFT_BEHIND_CHILD"], [person(by=1950), person("GRANDCHILD", by=2015)], TODAY)
    with pytest.raises(BadInput, match="unknown"):
        hh.check_tags(["RICH"], [person()], TODAY)
    with pytest.raises(BadInput, match="twice"):
        hh.check_tags(["TENANT", "TENANT"], [person()], TODAY)


def test_masking():
    assert [hh.mask_person_name(n) for n in ("张三", "张小三", "欧阳小明", "王")] == ["张*", "张*三", "欧**明", "*"]
    assert hh.mask_id_number("110101199001011234") == "110***********1234"
    plain = {"relation": "HEAD", "name": "张小三", "phone": "13812345678", "idNumber": GOOD_ID}
    assert hh.masked_person(plain, contact=False) | {"relation": "HEAD"} == {
        "relation": "HEAD",
        "name": "张*三",
        "phone": "138****5678",
        "idNumber": "110***********002X",
    }
    assert hh.masked_person(plain, contact=True)["phone"] == "13812345678"
    assert hh.masked_person(plain, contact=True)["idNumber"] == "110***********002X"


DOC = {"_id": "hh1", "buildingId": "b1", "gridId": "g1", "path": ["c", "g1", "b1"], "linkedMemberIds": ["m1"]}


def p_(role, region=None, member=None):
    return Principal(sub="u", role=role, region=region, member=member)


def test_who_sees_names_and_phones():
    assert hh.sees_contact(p_(Role.GRID_WORKER, "g1"), DOC)
    assert not hh.sees_contact(p_(Role.GRID_WORKER, "c"), DOC)
    assert hh.sees_contact(p_(Role.VOLUNTEER, "c", "m1"), DOC)
    assert not hh.sees_contact(p_(Role.VOLUNTEER, "c", "m2"), DOC)
    assert not hh.sees_contact(p_(Role.ADMIN, "c"), DOC)
    assert not hh.sees_contact(p_(Role.SUPERADMIN), DOC)


def test_figures_only_above_the_community():
    for level in ("CITY", "COUNTY", "TOWNSHIP"):
        with pytest.raises(Forbidden, match="figures only"):
            hh.check_not_figures_only(p_(Role.ADMIN, "x"), level)
        assert hh.household_scope(p_(Role.OPERATOR, "c"), level).empty
    with pytest.raises(Forbidden, match="figures only"):
        hh.check_not_figures_only(p_(Role.SUPERADMIN), None)
    hh.check_not_figures_only(p_(Role.GRID_WORKER, "g1"), "TOWNSHIP")  # a worker's token names a grid
    assert hh.household_scope(p_(Role.ADMIN, "c"), "COMMUNITY").admits(DOC)
    assert not hh.household_scope(p_(Role.DEPARTMENT, "c"), "COMMUNITY").admits(DOC)
    assert not hh.household_scope(p_(Role.RESIDENT, "c"), "COMMUNITY").admits(DOC)
    assert hh.household_scope(p_(Role.SERVICE), None).admits(DOC)
    assert hh.household_scope(p_(Role.VOLUNTEER, "c", "m1"), "COMMUNITY").admits(DOC)
    assert not hh.household_scope(p_(Role.VOLUNTEER, "c"), "COMMUNITY").admits(DOC)
    assert hh.level_of_path(["a", "b", "c"]) == "TOWNSHIP" and hh.level_of_path([]) is None


def test_writers():
    hh.check_may_write(p_(Role.GRID_WORKER, "g1"), "GRID")
    hh.check_may_write(p_(Role.SERVICE), None)
    for p, level in ((p_(Role.VOLUNTEER, "c", "m1"), "COMMUNITY"), (p_(Role.ADMIN, "t"), "TOWNSHIP")):
        with pytest.raises(Forbidden):
            hh.check_may_write(p, level)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), p=principals)
def test_scope_predicate_and_filter_agree(data, p):
    tree = data.draw(trees())
    level = data.draw(st.sampled_from([None, "CITY", "TOWNSHIP", "COMMUNITY", "GRID"]))
    scope = hh.household_scope(p, level, data.draw(st.none() | st.sampled_from(REGIONS)))
    for _ in range(4):
        leaf = data.draw(st.sampled_from(REGIONS))
        doc = {"_id": "h", "path": tree[leaf], "linkedMemberIds": data.draw(st.lists(st.sampled_from(["m1", "m2"])))}
        assert scope.admits(doc) == matches(scope.filter(), doc)
        if p.role in (Role.DEPARTMENT, Role.RESIDENT):
            assert not scope.admits(doc)


def test_counters_and_recount():
    doc = {"_id": "h", "path": ["c", "g"], "residentCount": 3, "tags": ["LOW_INCOME", "TENANT"], "movedOutAt": None}
    c = hh.counters_of_household(doc)
    assert c == Counter({"householdCount": 1, "residentCount": 3, "tag.LOW_INCOME": 1, "tag.TENANT": 1})
    assert hh.counters_of_household({**doc, "movedOutAt": TODAY}) == Counter()
    delta = hh.counter_delta(c, hh.counters_of_household({**doc, "residentCount": 2, "tags": ["LOW_INCOME"]}))
    assert delta == Counter({"residentCount": -1, "tag.TENANT": -1})
    totals = hh.recount_households([doc, {**doc, "path": ["c", "g2"]}, {**doc, "movedOutAt": TODAY}])
    assert totals["c"]["householdCount"] == 2 and totals["g2"]["residentCount"] == 3
    figures = hh.household_figures({"householdCount": 2, "tag.TENANT": 2})
    assert figures["residentCount"] == 0 and {"tag": "TENANT", "count": 2} in figures["byTag"]
    with pytest.raises(Conflict, match="moved out"):
        hh.check_active({"_id": "h", "movedOutAt": TODAY})
