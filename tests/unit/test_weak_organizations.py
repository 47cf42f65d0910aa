"""The weak-organisation score (软弱涣散) and the rectification plan (整顿): pure rules."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.organizations.domain import OrgType, is_weak, recount
from services.organizations.domain.rectification import PlanStatus, RectificationPlan, TaskInput
from services.organizations.domain.weak import (
    DEFAULT_RULES,
    HIGH_IS_BAD,
    SignalRule,
    WeakInputs,
    WeakSettings,
    WeakSettingsRecord,
    WeakSignal,
    WeakStanding,
    score,
)
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden
from tests.unit.org_fixtures import ADMIN_K, ADMIN_T1, ADMIN_T2, OPERATOR_M1, SUPER, T0, tree

S = WeakSettings()
ADMIN_M1 = Principal(sub="admin-m1", role=Role.ADMIN, region="m1")
ADMIN_G1 = Principal(sub="admin-g1", role=Role.ADMIN, region="g1")
CITY_ADMIN = Principal(sub="admin-c", role=Role.ADMIN, region="c")


def healthy(**kw) -> WeakInputs:
    base = dict(days_since_life=10, life_in_window=4, in_service_members=4, dual_active=3, cases=20,
                fengqiao_share=0.8, overdue_cases=0, members=6, member_visits=12)
    return WeakInputs(**{**base, **kw})


def by_signal(result) -> dict:
    return {s.signal: s for s in result.signals}


# -- the score ------------------------------------------------------------------------------
def test_a_healthy_branch_scores_zero_and_every_signal_says_why():
    r = score(healthy(), S)
    assert r.score == 0 and not r.over
    assert [s.signal for s in r.signals] == [x.signal for x in DEFAULT_RULES]
    assert all(s.reason.endswith(": fine.") for s in r.signals)
    assert by_signal(r)[WeakSignal.DUAL_SHARE].value == 0.75


def test_no_life_for_the_period_alone_flags_like_is_weak():
    r = score(healthy(days_since_life=90), S)
    s = by_signal(r)[WeakSignal.LIFE_RECENCY]
    assert (s.value, s.threshold, s.points) == (90, 90, 50)
    assert "90 days since its last organisational life" in s.reason and s.reason.endswith("+50.")
    assert r.over and r.score == 50
    assert not score(healthy(days_since_life=89), S).over


def test_each_signal_adds_its_points_on_its_bad_side():
    r = score(healthy(life_in_window=1, dual_active=1, fengqiao_share=0.4, overdue_cases=5, member_visits=2), S)
    pts = {k: v.points for k, v in by_signal(r).items()}
    assert pts == {WeakSignal.LIFE_RECENCY: 0, WeakSignal.LIFE_FREQUENCY: 20, WeakSignal.DUAL_SHARE: 10,
                   WeakSignal.FENGQIAO_SHARE: 10, WeakSignal.OVERDUE_CASES: 10, WeakSignal.MEMBER_VISITS: 10}
    assert r.score == 60 and r.over
    assert "40% of its region's resolved cases" in by_signal(r)[WeakSignal.FENGQIAO_SHARE].reason


def test_signals_without_figures_add_nothing_and_say_so():
    r = score(WeakInputs(days_since_life=0, life_in_window=5), S)
    s = by_signal(r)
    for sig in (WeakSignal.DUAL_SHARE, WeakSignal.FENGQIAO_SHARE, WeakSignal.OVERDUE_CASES, WeakSignal.MEMBER_VISITS):
        assert s[sig].value is None and s[sig].points == 0 and s[sig].reason.startswith("Not counted")
    few = by_signal(score(healthy(cases=3, fengqiao_share=0.0), S))[WeakSignal.FENGQIAO_SHARE]
    assert few.points == 0 and "fewer than the 5" in few.reason


def test_settings_change_weights_and_thresholds_and_are_checked():
    s = S.changed(threshold=20, window_days=30, min_cases=0, now=T0,
                  rules=[SignalRule(signal=WeakSignal.LIFE_FREQUENCY, threshold=5, points=25)])
    assert s.version == 1 and s.rule(WeakSignal.LIFE_FREQUENCY).points == 25
    assert s.rule(WeakSignal.LIFE_RECENCY) == S.rule(WeakSignal.LIFE_RECENCY)  # unnamed rules keep theirs
    r = score(healthy(life_in_window=4), s)
    assert r.score == 25 and r.over and "last 30 days" in by_signal(r)[WeakSignal.LIFE_FREQUENCY].reason
    for bad in (dict(threshold=0), dict(window_days=0), dict(min_cases=-1)):
        with pytest.raises(BadInput):
            S.changed(**{"threshold": 50, "window_days": 90, "min_cases": 5, "rules": [], "now": T0, **bad})
    with pytest.raises(BadInput):
        S.changed(threshold=50, window_days=90, min_cases=5, now=T0,
                  rules=[SignalRule(signal=WeakSignal.DUAL_SHARE, threshold=2, points=1)])  # a share above 1
    rec = WeakSettingsRecord(id="weak-score", updated_at=T0)
    rec.change(threshold=40, window_days=60, min_cases=3, rules=[], by=CITY_ADMIN, now=T0)
    (e,) = rec.drain_events()
    assert e.type == "WEAK_SETTINGS_CHANGED" and e.data["threshold"] == 40 and e.region_path == ()


inputs = st.builds(
    WeakInputs,
    days_since_life=st.integers(0, 2000), life_in_window=st.integers(0, 50),
    in_service_members=st.integers(0, 50), dual_active=st.integers(0, 50),
    cases=st.none() | st.integers(0, 500), fengqiao_share=st.none() | st.floats(0, 1),
    overdue_cases=st.none() | st.integers(0, 100), members=st.integers(0, 80),
    member_visits=st.none() | st.integers(0, 1000),
).filter(lambda i: i.dual_active <= i.in_service_members)


@settings(max_examples=300, deadline=None)
@given(inputs)
def test_property_the_score_is_the_sum_of_the_points_and_bounded(i):
    r = score(i, S)
    assert r.score == sum(s.points for s in r.signals)
    assert 0 <= r.score <= sum(x.points for x in S.rules)
    for s in r.signals:
        assert s.points in (0, s.max_points) and s.reason
        if s.value is None:
            assert s.points == 0
        else:
            bad = s.value >= s.threshold if HIGH_IS_BAD[s.signal] else s.value < s.threshold
            assert (s.points > 0) == (bad and s.max_points > 0)
    assert r.over == (r.score >= S.threshold)


@settings(max_examples=200, deadline=None)
@given(inputs, st.integers(1, 400))
def test_property_more_days_without_life_never_lowers_the_score(i, more):
    later = i.model_copy(update={"days_since_life": i.days_since_life + more})
    assert score(later, S).score >= score(i, S).score


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 400))
def test_property_is_weak_implies_flagged_by_default(days):
    org = tree()["gb-g1"]
    now = T0 + timedelta(days=days)
    if is_weak(org, None, now):
        assert score(WeakInputs(days_since_life=(now - org.created_at).days, life_in_window=0), S).over


# -- the standing ----------------------------------------------------------------------------
def flagged_standing(org_id: str = "gb-g1") -> WeakStanding:
    org = tree()[org_id]
    s = WeakStanding.of(org, T0)
    s.rate(org, score(healthy(days_since_life=120, life_in_window=0), S), 0, T0)
    return s


def test_the_standing_flags_once_clears_below_and_is_idempotent():
    org = tree()["gb-g1"]
    s = WeakStanding.of(org, T0)
    bad = score(healthy(days_since_life=120), S)
    assert s.rate(org, bad, 0, T0)
    (e,) = s.drain_events()
    assert e.type == "WEAK_ORGANIZATION_FLAGGED" and e.data["signals"] == ["LIFE_RECENCY"]
    assert s.flagged and recount([s]) == {k: {"weak_flagged": 1} for k in org.anchor_path}
    assert not s.rate(org, bad, 0, T0 + timedelta(hours=1))  # the same score again: nothing
    assert s.drain_events() == []
    assert s.rate(org, score(healthy(), S), 0, T0 + timedelta(days=1))
    (e,) = s.drain_events()
    assert e.type == "WEAK_ORGANIZATION_CLEARED" and e.data["clearedBy"] == "SCORE" and not s.flagged
    assert recount([s]) == {}


# -- the plan --------------------------------------------------------------------------------
def tasks(n: int = 2, days: int = 10) -> list[TaskInput]:
    return [TaskInput(title=f"整改{i}", responsible="支部书记", due_at=T0 + timedelta(days=days + i)) for i in range(n)]


def start(s: WeakStanding, by: Principal = ADMIN_T1, **kw) -> RectificationPlan:
    args = dict(id="rp1", standing=s, tasks=tasks(), review_at=T0 + timedelta(days=30), note="", by=by, now=T0)
    return RectificationPlan.start(**{**args, **kw})


def test_a_plan_is_for_a_flagged_org_by_admins_above_it():
    s = flagged_standing()
    for who in (ADMIN_G1, OPERATOR_M1, ADMIN_T2):  # its own admins, an operator, a sibling township
        with pytest.raises(Forbidden):
            start(s, by=who)
    for who in (ADMIN_M1, ADMIN_T1, ADMIN_K, SUPER):
        assert start(s.model_copy(deep=True), by=who).status is PlanStatus.OPEN
    plan = start(s)
    (e,) = plan.drain_events()
    assert e.type == "RECTIFICATION_STARTED" and e.data["tasks"] == 2 and s.plan_id == "rp1"
    with pytest.raises(Conflict):  # one open plan at a time
        start(s, id="rp2")
    calm = WeakStanding.of(tree()["gb-g1"], T0)
    with pytest.raises(Conflict):
        start(calm)


def test_a_townships_own_committee_is_rectified_by_its_township():
    org = tree()["twc-t1"]
    s = WeakStanding.of(org, T0)
    s.rate(org, score(healthy(days_since_life=120), S), 0, T0)
    assert start(s, by=ADMIN_T1).org_id == "twc-t1"
    with pytest.raises(Forbidden):
        start(flagged_standing("cc-m1"), by=ADMIN_M1)  # a community's own admins do not


def test_plan_inputs_are_checked():
    s = flagged_standing()
    with pytest.raises(BadInput):
        start(s, tasks=[])
    with pytest.raises(BadInput):
        start(s, tasks=tasks(days=40))  # due after the review
    with pytest.raises(BadInput):
        start(s, review_at=T0 - timedelta(days=1))
    with pytest.raises(BadInput):
        start(s, tasks=[TaskInput(title=" ", responsible="x", due_at=T0 + timedelta(days=1))])


def test_tasks_complete_once_and_overdue_is_raised_once():
    s = flagged_standing()
    plan = start(s)
    plan.drain_events()
    assert plan.next_due_at == T0 + timedelta(days=10)
    with pytest.raises(Forbidden):
        plan.complete_task("t1", "", Principal(sub="gw", role=Role.GRID_WORKER, region="g1"), T0)
    plan.complete_task("t1", "已开展组织生活", OPERATOR_M1, T0 + timedelta(days=1))
    (e,) = plan.drain_events()
    assert e.type == "RECTIFICATION_TASK_COMPLETED" and e.data == {"organizationId": "gb-g1", "taskId": "t1",
                                                                     "late": False, "open": 1}
    with pytest.raises(Conflict):
        plan.complete_task("t1", "", OPERATOR_M1, T0 + timedelta(days=2))
    assert not plan.raise_overdue(T0 + timedelta(days=5))
    assert plan.raise_overdue(T0 + timedelta(days=12))
    (e,) = plan.drain_events()
    assert e.type == "RECTIFICATION_TASK_OVERDUE" and e.data["taskId"] == "t2"
    assert not plan.raise_overdue(T0 + timedelta(days=13)) and plan.next_due_at is None


def test_a_review_passes_only_below_the_threshold_with_every_task_done():
    s = flagged_standing()
    plan = start(s)
    with pytest.raises(Conflict, match="not done"):
        plan.review(True, "", s, ADMIN_T1, T0 + timedelta(days=2))
    for t in ("t1", "t2"):
        plan.complete_task(t, "", OPERATOR_M1, T0 + timedelta(days=1))
    with pytest.raises(Conflict, match="still 70"):
        plan.review(True, "", s, ADMIN_T1, T0 + timedelta(days=2))
    with pytest.raises(Forbidden):
        plan.review(False, "", s, ADMIN_G1, T0 + timedelta(days=2))
    plan.drain_events()
    plan.review(False, "整改不到位", s, ADMIN_T1, T0 + timedelta(days=2))
    (e,) = plan.drain_events()
    assert e.data["passed"] is False and plan.status is PlanStatus.OPEN and s.flagged
    # the sweeper scores it again: better now, but the flag stays while the plan is open
    org = tree()["gb-g1"]
    s.drain_events()
    assert s.rate(org, score(healthy(), S), 0, T0 + timedelta(days=3))
    assert s.flagged and s.drain_events() == []
    plan.review(True, "整改到位", s, ADMIN_T1, T0 + timedelta(days=4))
    assert plan.status is PlanStatus.PASSED and not s.flagged and s.plan_id is None and s.rectified_count == 1
    assert [e.type for e in s.drain_events()] == ["WEAK_ORGANIZATION_CLEARED"]
    assert recount([s, plan]) == {k: {"rectified": 1} for k in org.anchor_path}
    with pytest.raises(Conflict):
        plan.review(True, "", s, ADMIN_T1, T0 + timedelta(days=5))


def test_figures_count_open_plans_and_flagged_orgs():
    s = flagged_standing()
    plan = start(s)
    assert recount([s, plan])["g1"] == {"weak_flagged": 1, "under_rectification": 1}
    assert OrgType.GRID_BRANCH  # (the org type the standing keeps)
    assert s.org_type == "GRID_BRANCH"
