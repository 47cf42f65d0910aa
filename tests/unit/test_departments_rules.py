"""Departments on a case (domain/handling.py): dispatch to 主办/协办, replies, the resolve rule,
requests and their decision, suspension and resume, 督办, the scope rule and the figures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.cases.domain import SCOPE, CaseStatus, HandlingLevel, counters_of, is_allowed, Action, recount, verify
from services.cases.domain.handling import (DeptRef, check_metric, dept_figures, dept_stats, paused_time)
from services.cases.domain.model import Case
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden, NotFound
from shared.vocabulary.cases import CaseRequestKind as K, CaseRequestStatus, HandlerStatus
from tests.unit.test_cases_domain import ADMIN, OPERATOR, RESIDENT, SLA, T0, report

S, L = CaseStatus, HandlingLevel
HOUSING = DeptRef(code="HOUSING", name="住建局", region_id="k")
URBAN = DeptRef(code="URBAN_MGMT", name="城管局", region_id="k")
WATER = DeptRef(code="WATER", name="水务局", region_id="c")  # the city's
P_HOUSING = Principal(sub="zj-1", role=Role.DEPARTMENT, region="k", dept="HOUSING")
P_URBAN = Principal(sub="cg-1", role=Role.DEPARTMENT, region="k", dept="URBAN_MGMT")
P_URBAN_CITY = Principal(sub="cg-c", role=Role.DEPARTMENT, region="c", dept="URBAN_MGMT")  # same code, city
P_WATER = Principal(sub="sw-1", role=Role.DEPARTMENT, region="c", dept="WATER")
CITY_ADMIN = Principal(sub="admin-c", role=Role.ADMIN, region="c")
T = T0 + timedelta(minutes=5)


def dispatched(*cooperating: DeptRef) -> Case:
    case = report()
    case.accept(OPERATOR, T0, SLA)
    case.dispatch(OPERATOR, HOUSING, list(cooperating or (URBAN,)), T)
    case.drain_events()
    return case


def types(case: Case) -> list[str]:
    return [e.type for e in case.drain_events()]


def test_dispatch_makes_the_lead_the_assignee_and_every_department_a_handler_in_scope():
    case = dispatched(URBAN, WATER)
    assert case.status is S.ASSIGNED and case.assignee.id == "HOUSING"
    assert [(h.key, h.role, h.due_at) for h in case.handlers] == [
        ("k:HOUSING", "LEAD", case.due_at), ("k:URBAN_MGMT", "COOPERATING", case.due_at),
        ("c:WATER", "COOPERATING", case.due_at)]
    assert case.dept_keys == ["k:HOUSING", "k:URBAN_MGMT", "c:WATER"]
    for p in (P_HOUSING, P_URBAN, P_WATER):
        assert SCOPE.admits(p, case)
    assert not SCOPE.admits(P_URBAN_CITY, case)  # the city's 城管 is another department
    # only the lead acts as the assignee; a cooperating department replies
    assert is_allowed(P_HOUSING, Action.START, case) and not is_allowed(P_URBAN, Action.START, case)
    assert not is_allowed(P_URBAN, Action.RESOLVE, case)


def test_dispatch_refusals():
    case = report()
    with pytest.raises(Conflict):
        case.dispatch(OPERATOR, HOUSING, [], T)  # not accepted yet
    case.accept(OPERATOR, T0, SLA)
    with pytest.raises(BadInput, match="one role"):
        case.dispatch(OPERATOR, HOUSING, [HOUSING], T)
    with pytest.raises(Forbidden):
        case.dispatch(P_HOUSING, HOUSING, [], T)
    case.dispatch(OPERATOR, HOUSING, [URBAN], T)
    with pytest.raises(Conflict, match="already dispatched"):
        case.dispatch(OPERATOR, HOUSING, [URBAN], T)
    case.dispatch(OPERATOR, URBAN, [], T)  # re-dispatch before work starts releases the others
    assert [h.status for h in case.handlers] == [HandlerStatus.RELEASED, HandlerStatus.RELEASED, HandlerStatus.ACTIVE]
    assert not SCOPE.admits(P_HOUSING, case)


def test_the_lead_resolves_after_every_cooperating_reply_or_its_deadline():
    case = dispatched(URBAN)
    case.start(P_HOUSING, T)
    with pytest.raises(Conflict, match="waits for the replies") as e:
        case.resolve(P_HOUSING, "已修复", T)
    assert e.value.details == {"waitingFor": ["k:URBAN_MGMT"]}
    with pytest.raises(Forbidden):
        case.reply(P_URBAN_CITY, "不是我们", None, T)
    with pytest.raises(BadInput):
        case.reply(P_URBAN, "  ", None, T)
    with pytest.raises(BadInput, match="no attachment"):
        case.reply(P_URBAN, "已清理", ["a-missing"], T)
    case.reply(P_URBAN, "已清理占道", None, T)
    assert types(case) == ["STARTED", "CASE_REPLIED"]
    assert case.handlers[1].status is HandlerStatus.REPLIED
    case.resolve(P_HOUSING, "已修复", T)
    assert case.status is S.RESOLVED and case.handlers[0].status is HandlerStatus.RESOLVED

    late = dispatched(URBAN)
    late.start(P_HOUSING, T)
    late.resolve(P_HOUSING, "已修复", late.handlers[1].due_at)  # the cooperating deadline passed
    assert late.status is S.RESOLVED


def test_an_extension_moves_the_deadline_once_approved_by_someone_else():
    case = dispatched()
    due = case.due_at
    with pytest.raises(BadInput, match="past"):
        case.raise_request(P_HOUSING, K.EXTENSION, "需要采购", T, until=T - timedelta(hours=1))
    with pytest.raises(BadInput, match="after the current deadline"):
        case.raise_request(P_HOUSING, K.EXTENSION, "需要采购", T, until=due)
    with pytest.raises(Forbidden):
        case.raise_request(P_URBAN, K.EXTENSION, "需要采购", T, until=due + timedelta(days=1))
    r = case.raise_request(P_HOUSING, K.EXTENSION, "需要采购", T, until=due + timedelta(days=2))
    assert r.id == "c1:r1" and r.status is CaseRequestStatus.PENDING
    with pytest.raises(Conflict, match="already waiting"):
        case.raise_request(P_HOUSING, K.EXTENSION, "再延", T, until=due + timedelta(days=3))
    with pytest.raises(Forbidden):
        case.decide(P_HOUSING, r.id, True, None, T)  # a department does not decide
    with pytest.raises(NotFound):
        case.decide(OPERATOR, "c1:r9", True, None, T)
    case.decide(OPERATOR, r.id, True, "同意", T)
    assert case.due_at == due + timedelta(days=2) and r.decided_by == OPERATOR.sub
    with pytest.raises(Conflict, match="already approved"):
        case.decide(ADMIN, r.id, False, None, T)
    assert types(case) == ["CASE_REQUEST_RAISED", "CASE_REQUEST_DECIDED"]
    figures = dept_stats(dept_figures(counters_of(case))["k:HOUSING"])
    assert figures["extensionCount"] == 1 and figures["responseRate"] == 1.0


def test_nobody_decides_their_own_request():
    case = dispatched()
    r = case.raise_request(OPERATOR, K.SUSPENSION, "等待产权认定", T)
    with pytest.raises(Forbidden, match="your own"):
        case.decide(OPERATOR, r.id, True, None, T)


def test_an_approved_return_releases_the_departments_and_a_refused_one_changes_nothing():
    case = dispatched(URBAN)
    r1 = case.raise_request(P_HOUSING, K.RETURN, "不属于本部门职责", T)
    case.decide(OPERATOR, r1.id, False, "属于职责范围", T)
    assert case.status is S.ASSIGNED and case.lead.key == "k:HOUSING"
    r2 = case.raise_request(P_HOUSING, K.RETURN, "确不属于", T)
    case.decide(OPERATOR, r2.id, True, None, T)
    assert case.status is S.ACCEPTED and case.assignee is None and case.lead is None
    assert case.dept_keys == [] and not SCOPE.admits(P_HOUSING, case)
    assert dept_stats(dept_figures(counters_of(case))["k:HOUSING"])["returnRate"] == 1.0
    case.dispatch(OPERATOR, URBAN, [], T)  # re-dispatch
    assert case.lead.key == "k:URBAN_MGMT"


def test_the_v1_return_is_refused_on_a_dispatched_case():
    case = dispatched()
    with pytest.raises(Conflict, match="requestCaseReturn"):
        case.return_(P_HOUSING, "不属于", T)


def test_a_suspended_case_is_not_swept_and_resuming_moves_the_deadline_by_the_pause():
    case = dispatched()
    r = case.raise_request(P_HOUSING, K.SUSPENSION, "等待鉴定", T)
    case.decide(OPERATOR, r.id, True, None, T)
    assert case.suspended and types(case) == ["CASE_REQUEST_RAISED", "CASE_REQUEST_DECIDED", "CASE_SUSPENDED"]
    due = case.due_at
    assert not case.sweep(due + timedelta(days=30), SLA)
    later = T + timedelta(days=3)
    with pytest.raises(Forbidden):
        case.resume(P_URBAN, later)
    case.resume(P_HOUSING, later)
    assert not case.suspended and case.due_at == due + paused_time(T, later) == due + timedelta(days=3)
    assert case.handlers[1].due_at == case.due_at
    with pytest.raises(Conflict, match="not suspended"):
        case.resume(OPERATOR, later)


def test_urging_is_for_a_level_above_the_handling_region():
    case = dispatched()  # handled at GRID level in g1: everyone from the community up may urge
    with pytest.raises(Forbidden):
        case.urge(Principal(sub="gw", role=Role.ADMIN, region="g1"), "抓紧", T)
    case.urge(ADMIN, "请加快办理", T)
    case.urge(CITY_ADMIN, "市级督办", T)
    assert case.urge_count == 2 and types(case) == ["CASE_URGED", "CASE_URGED"]
    assert dept_stats(dept_figures(counters_of(case))["k:HOUSING"])["urgeCount"] == 2
    with pytest.raises(Forbidden):
        case.urge(RESIDENT, "快点", T)


def test_department_figures_are_region_counters_that_recount_and_replay_alike():
    case = dispatched(URBAN)
    before = counters_of(case)
    case.reply(P_URBAN, "已配合", None, T)
    case.start(P_HOUSING, T)
    case.resolve(P_HOUSING, "已修复", T)
    verify(case, OPERATOR, True, None, None, T, SLA, 3600)  # a department's resolution waits for 核查
    case.rate(RESIDENT, 5, T, SLA)
    figures = dept_figures(counters_of(case))
    assert dept_stats(figures["k:HOUSING"]) | {} == dept_stats(figures["k:HOUSING"])
    lead = dept_stats(figures["k:HOUSING"])
    assert (lead["received"], lead["resolved"], lead["onTimeRate"], lead["satisfactionRate"]) == (1, 1, 1.0, 1.0)
    coop = dept_stats(figures["k:URBAN_MGMT"])
    assert (coop["cooperating"], coop["replied"], coop["resolved"]) == (1, 1, 0)
    assert before["dept.k:HOUSING.received"] == 1
    assert recount([case])["c"]["dept.k:HOUSING.resolved"] == 1


def test_ranking_metrics_are_named():
    assert check_metric("onTimeRate") == "onTimeRate"
    with pytest.raises(BadInput, match="unknown ranking metric"):
        check_metric("speed")


def test_case_documents_round_trip_with_handlers():
    from services.cases.store import case_doc, case_from_doc
    case = dispatched(URBAN)
    case.raise_request(P_HOUSING, K.EXTENSION, "需要采购", T, until=case.due_at + timedelta(days=1))
    doc = case_doc(case)
    assert doc["deptKeys"] == ["k:HOUSING", "k:URBAN_MGMT"]
    back = case_from_doc(doc)
    assert back.handlers == case.handlers and back.requests == case.requests
    assert datetime.now(timezone.utc) > back.requests[0].requested_at


def test_a_department_dispatched_again_is_decided_for_as_it_stands_now():
    """Escalated (the departments released) and dispatched again to the same lead: its new
    request is decided against its new place on the case, not the released one."""
    case = dispatched()
    case.escalate(OPERATOR, "需上级协调", T, SLA)
    case.dispatch(ADMIN, HOUSING, [], T)
    r = case.raise_request(P_HOUSING, K.RETURN, "不属于", T)
    case.decide(ADMIN, r.id, True, None, T)
    assert case.status is S.ACCEPTED and [h.returned for h in case.handlers] == [False, False, True]


def test_a_failed_verification_gives_the_case_back_to_its_lead_and_counts_as_rework():
    case = dispatched(URBAN)
    case.reply(P_URBAN, "已配合", None, T)
    case.start(P_HOUSING, T)
    case.resolve(P_HOUSING, "已修复", T)
    assert case.lead.status is HandlerStatus.RESOLVED
    verify(case, OPERATOR, False, "现场仍有渗水", None, T, SLA, 3600)
    assert case.status is S.IN_PROGRESS and case.rework_count == 1
    assert case.lead.status is HandlerStatus.ACTIVE and case.lead.resolved_at is None
    case.resolve(P_HOUSING, "已重新修复", T)  # the lead resolves again; the cooperating one replied before
    lead = dept_stats(dept_figures(counters_of(case))["k:HOUSING"])
    assert (lead["resolved"], lead["reworked"]) == (1, 1)


def test_approved_returns_and_extensions_count_in_the_case_figures():
    case = dispatched(URBAN)
    case.start(P_HOUSING, T)
    ext = case.raise_request(P_HOUSING, K.EXTENSION, "需采购材料", T, case.due_at + timedelta(days=3))
    case.decide(OPERATOR, ext.id, True, None, T, SLA)
    assert case.extensions == 1 and counters_of(case)["extensions"] == 1
    back = case.raise_request(P_HOUSING, K.RETURN, "非本部门职责", T)
    case.decide(OPERATOR, back.id, True, None, T, SLA)
    assert case.status is S.ACCEPTED and case.returns == 1 and case.ever_assigned
    assert counters_of(case)["returned"] == 1


def test_a_return_visit_counts_in_the_lead_departments_satisfaction():
    from services.cases.domain import record_return_visit
    from shared.vocabulary.cases import ReturnVisitSatisfaction

    case = dispatched(URBAN)
    case.reply(P_URBAN, "已配合", None, T)
    case.start(P_HOUSING, T)
    case.resolve(P_HOUSING, "已修复", T)
    verify(case, OPERATOR, True, None, None, T, SLA, 3600)
    record_return_visit(case, OPERATOR, "rv-1", ReturnVisitSatisfaction.DISSATISFIED, False, "未接通", T, SLA)
    record_return_visit(case, OPERATOR, "rv-2", ReturnVisitSatisfaction.BASICALLY_SATISFIED, True, None, T, SLA)
    lead = dept_stats(dept_figures(counters_of(case))["k:HOUSING"])
    assert (lead["rated"], lead["satisfied"], lead["satisfactionRate"]) == (1, 1, 1.0)  # the unreached call: none
    assert case.status is S.CLOSED


def test_a_case_keeps_a_bounded_number_of_urges_replies_and_requests():
    from services.cases.domain.handling import REPLIES_MAX, URGES_MAX

    case = dispatched(URBAN)
    for _ in range(URGES_MAX):
        case.urge(ADMIN, "请加快", T)
    with pytest.raises(Conflict, match="at most"):
        case.urge(ADMIN, "请加快", T)
    for _ in range(REPLIES_MAX):
        case.reply(P_URBAN, "已配合", None, T)
    with pytest.raises(Conflict, match="at most"):
        case.reply(P_URBAN, "已配合", None, T)
    assert case.urge_count == URGES_MAX and len(case.handlers[1].replies) == REPLIES_MAX
