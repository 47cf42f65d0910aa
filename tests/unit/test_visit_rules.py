"""The visiting rules and visits' pure rules: schedules, due and overdue, the place check, coverage, recount."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.grids.domain import visits as vd
from services.grids.domain.visit_rules import (
    DEFAULT_RULES,
    ROUTINE,
    RuleKind,
    VisitRule,
    check_kind,
    check_rules,
    next_due,
    schedule_of,
)
from shared.errors import BadInput
from shared.vocabulary.territory import HouseholdTag

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
TAGS = [str(t) for t in HouseholdTag]


def test_default_rules_are_valid_and_cover_the_must_visit_groups():
    rules = check_rules(list(DEFAULT_RULES), TAGS)
    must_visit = {r.tag: r.interval_days for r in rules if r.kind is RuleKind.MUST_VISIT}
    assert must_visit["ELDERLY_ALONE"] == 7 and must_visit["LOW_INCOME"] == 30 and must_visit["DISABLED"] == 30
    occasions = {r.code for r in rules if r.kind is RuleKind.MUST_ATTEND}
    assert {"ILLNESS", "BEREAVEMENT", "DISPUTE", "HARDSHIP"} <= occasions


def test_the_shortest_interval_of_a_households_tags_wins():
    s = schedule_of(["LOW_INCOME", "ELDERLY_ALONE", "TENANT"], DEFAULT_RULES)
    assert s is not None and (s.rule, s.interval_days) == ("ELDERLY_ALONE", 7)
    assert schedule_of(["TENANT"], DEFAULT_RULES) is None
    assert schedule_of([], DEFAULT_RULES) is None
    inactive = [
        VisitRule("ELDERLY_ALONE", "x", RuleKind.MUST_VISIT, "ELDERLY_ALONE", 7, active=False),
        *DEFAULT_RULES[1:],
    ]
    s = schedule_of(["LOW_INCOME", "ELDERLY_ALONE"], inactive)
    assert s is not None and s.rule == "LOW_INCOME"


def test_next_due_counts_from_the_last_visit_or_registration():
    s = schedule_of(["VETERAN"], DEFAULT_RULES)
    assert next_due(s, None, T0) == T0 + timedelta(days=90)
    assert next_due(s, T0 + timedelta(days=10), T0) == T0 + timedelta(days=100)
    assert next_due(None, T0, T0) is None


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: [*r, r[0]], "given twice"),
        (lambda r: [VisitRule("x", "n", RuleKind.MUST_ATTEND, within_days=1)], "rule code"),
        (lambda r: [VisitRule(ROUTINE, "n", RuleKind.MUST_ATTEND, within_days=1)], "rule code"),
        (lambda r: [VisitRule("AA", "n", RuleKind.MUST_VISIT, tag="NOPE", interval_days=7)], "not a household tag"),
        (lambda r: [VisitRule("AA", "n", RuleKind.MUST_VISIT, tag="VETERAN", interval_days=0)], "intervalDays"),
        (lambda r: [VisitRule("AA", "n", RuleKind.MUST_VISIT, tag="VETERAN", interval_days=999)], "intervalDays"),
        (lambda r: [VisitRule("AA", "n", RuleKind.MUST_ATTEND, within_days=None)], "withinDays"),
        (lambda r: [VisitRule("AA", "n", RuleKind.MUST_ATTEND, tag="VETERAN", within_days=1)], "withinDays only"),
        (lambda r: [VisitRule("AA", " ", RuleKind.MUST_ATTEND, within_days=1)], "name"),
        (
            lambda r: [
                VisitRule("AA", "n", RuleKind.MUST_VISIT, tag="VETERAN", interval_days=7),
                VisitRule("BB", "n", RuleKind.MUST_VISIT, tag="VETERAN", interval_days=9),
            ],
            "already has an active rule",
        ),
        (lambda r: [], "at least one"),
    ],
)
def test_a_bad_rule_set_is_refused_naming_the_fault(change, message):
    with pytest.raises(BadInput, match=message):
        check_rules(change(list(DEFAULT_RULES)), TAGS)


def test_a_visit_kind_is_an_active_rule_or_routine():
    assert check_kind("ILLNESS", DEFAULT_RULES) == "ILLNESS"
    assert check_kind(ROUTINE, DEFAULT_RULES) == ROUTINE
    with pytest.raises(BadInput, match="not an active visiting rule"):
        check_kind("PICNIC", DEFAULT_RULES)


def test_a_visit_lies_in_its_grid_or_carries_a_reason_and_is_flagged():
    assert vd.check_place("g1", "g1", True, None) == (False, None)
    assert vd.check_place("g1", "g1", True, "ignored") == (False, None)
    with pytest.raises(BadInput, match="outside the grid"):
        vd.check_place("g2", "g1", True, None)
    with pytest.raises(BadInput, match="no place was given"):
        vd.check_place(None, "g1", False, "  ")
    assert vd.check_place("g2", "g1", True, "met at the clinic") == (True, "met at the clinic")
    assert vd.check_place(None, "g1", False, "phone call") == (True, "phone call")
    with pytest.raises(BadInput, match="overrideReason"):
        vd.check_place(None, "g1", False, "x" * 201)


def test_a_visits_time_is_not_ahead_nor_too_old():
    assert vd.check_at(T0 + timedelta(minutes=4), T0) == T0 + timedelta(minutes=4)
    with pytest.raises(BadInput, match="future"):
        vd.check_at(T0 + timedelta(minutes=6), T0)
    with pytest.raises(BadInput, match="within 30 days"):
        vd.check_at(T0 - timedelta(days=31), T0)
    assert vd.check_at(T0 - timedelta(days=200), T0, timedelta(days=400)) == T0 - timedelta(days=200)


def household(**kw) -> dict:
    return {
        "_id": "hh1",
        "path": ["c", "g", "b"],
        "gridId": "g",
        "buildingId": "b",
        "tags": ["ELDERLY_ALONE"],
        "registeredAt": T0,
        **kw,
    }


def test_state_follows_tags_and_visits_and_keeps_overdue_only_while_past_due():
    s = vd.state_of(household(), DEFAULT_RULES, T0)
    assert s == {
        "mustVisit": True,
        "visitRule": "ELDERLY_ALONE",
        "nextVisitDue": T0 + timedelta(days=7),
        "visitOverdue": False,
    }
    late = T0 + timedelta(days=9)
    # the sweeper, not the schedule, marks a lapse (so it is raised once)
    assert vd.state_of(household(), DEFAULT_RULES, late)["visitOverdue"] is False
    h = household(**{**s, "visitOverdue": True})
    assert vd.state_of(h, DEFAULT_RULES, late)["visitOverdue"] is True
    # a visit clears it
    assert vd.state_of({**h, "lastVisitAt": late}, DEFAULT_RULES, late)["visitOverdue"] is False
    # moving out ends the schedule
    gone = vd.state_of({**h, "movedOutAt": late}, DEFAULT_RULES, late)
    assert gone == {"mustVisit": False, "visitRule": None, "nextVisitDue": None, "visitOverdue": False}
    assert vd.state_delta(h, gone) == Counter({"mustVisitCount": -1, "overdueVisits": -1})


def test_the_sweeper_test_and_the_due_view():
    s = vd.state_of(household(), DEFAULT_RULES, T0)
    h = household(**s)
    assert not vd.now_overdue(h, T0 + timedelta(days=6))
    assert vd.now_overdue(h, T0 + timedelta(days=8))
    assert not vd.now_overdue({**h, "visitOverdue": True}, T0 + timedelta(days=8))
    due = vd.visit_due(h, DEFAULT_RULES, T0 + timedelta(days=8))
    assert due["overdue"] and due["rule"] == "ELDERLY_ALONE" and due["ruleName"].startswith("独居老人")


def test_coverage_and_recount():
    assert vd.coverage(0, 0) is None
    assert vd.coverage(10, 2) == 0.8
    hs = [
        household(_id="a", mustVisit=True, visitOverdue=True),
        household(_id="b", mustVisit=True, visitOverdue=False),
        household(_id="c", mustVisit=False),
        household(_id="d", mustVisit=True, visitOverdue=True, movedOutAt=T0),
    ]
    visits = [{"path": ["c", "g", "b"]}, {"path": ["c", "g", "b2"]}]
    totals = vd.recount(hs, visits)
    assert totals["c"] == Counter({"mustVisitCount": 2, "overdueVisits": 1, "visitCount": 2})
    assert totals["b2"] == Counter({"visitCount": 1})
