"""Unit tests of the cases domain: every transition, every typed error, masking, duplicates,
the catalogue and the rollups."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from services.cases.domain import (COUNTER_KEYS, DEFAULT_CATALOGUE, DEPARTMENTS, EVENT_TYPES,
                                   PERMISSIONS, RATE_DEFINITIONS, Action, Assignee, AssigneeKind,
                                   Case, CaseChannel, CaseStatus, Category, GeoPoint,
                                   HandlingLevel, RequestKind, RollupDelta, authorize,
                                   counters_of, event_from_wire, haversine_m, is_allowed,
                                   is_possible_duplicate, Candidate, mask_phone, may_see_contact, merge,
                                   possible_duplicates, rates, recount, verify)
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden

S, L = CaseStatus, HandlingLevel
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
SLA = {L.GRID: 3600, L.COMMUNITY: 7200, L.TOWNSHIP: 10800, L.COUNTY: 14400}
# city c ─ county k ─ townships t1, t2 ─ communities m1 (t1), m2 (t2) ─ grids g1, g2 (m1), g3 (m2)
PATHS = {"g1": ("c", "k", "t1", "m1", "g1"), "g2": ("c", "k", "t1", "m1", "g2"),
         "g3": ("c", "k", "t2", "m2", "g3")}
CAT = DEFAULT_CATALOGUE.get("DISPUTE_NEIGHBOR")  # GRID level, no SLA override

RESIDENT = Principal(sub="r1", role=Role.RESIDENT)
OTHER_RESIDENT = Principal(sub="r2", role=Role.RESIDENT)
GW1 = Principal(sub="gw1", role=Role.GRID_WORKER, region="g1")
GW2 = Principal(sub="gw2", role=Role.GRID_WORKER, region="g2")
OPERATOR = Principal(sub="op-t1", role=Role.OPERATOR, region="t1")
OPERATOR_T2 = Principal(sub="op-t2", role=Role.OPERATOR, region="t2")
ADMIN = Principal(sub="admin-k", role=Role.ADMIN, region="k")
ADMIN_T2 = Principal(sub="admin-t2", role=Role.ADMIN, region="t2")
DEPT = Principal(sub="hrss-1", role=Role.DEPARTMENT, region="k", dept="HRSS")
OTHER_DEPT = Principal(sub="fire-1", role=Role.DEPARTMENT, region="k", dept="FIRE")
VOLUNTEER = Principal(sub="vol1", role=Role.VOLUNTEER, region="m1", member="mem-7")
SUPERADMIN = Principal(sub="root", role=Role.SUPERADMIN)

TO_DEPT = Assignee(kind=AssigneeKind.DEPARTMENT, id="HRSS", name="人社局")
TO_VOLUNTEER = Assignee(kind=AssigneeKind.VOLUNTEER, id="mem-7", name="李四")


def report(*, id="c1", grid="g1", by=RESIDENT, category=CAT, now=T0, location=None,
           **kw) -> Case:
    return Case.report(id=id, title="楼上漏水", description="楼上漏水到我家", category=category,
                       channel=kw.pop("channel", CaseChannel.MINI_PROGRAM),
                       region_path=PATHS[grid], by=by, now=now, sla=SLA,
                       reporter_name="张三", reporter_phone_enc="enc:13812345678",
                       location=location, **kw)


def at(status: CaseStatus, **kw) -> Case:
    """A case of grid g1 driven to `status` along the main path, events drained."""
    case = report(**kw)
    if status is not S.REPORTED:
        case.accept(OPERATOR, T0, SLA)
    if status in (S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED):
        case.assign(OPERATOR, TO_DEPT, T0)
    if status in (S.IN_PROGRESS, S.RESOLVED, S.CLOSED):
        case.start(DEPT, T0)
    if status in (S.RESOLVED, S.CLOSED):
        case.resolve(DEPT, "已调解", T0 + timedelta(minutes=30))
        # handled by a department: the centre verifies (核查) before the rating
        verify(case, OPERATOR, True, None, None, T0 + timedelta(minutes=40), SLA, 86400)
    if status is S.CLOSED:
        case.rate(RESIDENT, 5, T0 + timedelta(hours=1), SLA)
    if status is S.REJECTED:
        case.reject(OPERATOR, "不属于受理范围", T0)
    case.drain_events()
    return case


def types(case: Case) -> list[str]:
    return [e.type for e in case.drain_events()]


# ---- enums ----------------------------------------------------------------------------------
def test_levels_escalate_one_step_up_to_county():
    assert [lvl.next_level() for lvl in L] == [L.GRID, L.COMMUNITY, L.TOWNSHIP, L.COUNTY, None]


def test_event_types_are_the_fifteen_wire_names():
    # v1's fifteen names stay; the command centre (v2) adds its own
    assert set(EVENT_TYPES) >= {
        "REPORTED", "ACCEPTED", "ASSIGNED", "STARTED", "RESOLVED", "RATED", "CLOSED",
        "REOPENED", "REJECTED", "ESCALATED", "OVERDUE", "RETURNED", "MERGED",
        "CONTACT_REVEALED", "DELIBERATED",
        "DUE_SOON",  # clocks
        "ATTACHMENT_ADDED",  # evidence
        # departments (v2 events carry the CASE_ prefix on the wire)
        "CASE_DISPATCHED", "CASE_REPLIED", "CASE_REQUEST_RAISED", "CASE_REQUEST_DECIDED", "CASE_SUSPENDED",
        "CASE_RESUMED", "CASE_URGED"}
    assert {cls.__name__ for cls in EVENT_TYPES.values()} == {
        "Case" + "".join(w.title() for w in t.removeprefix("CASE_").split("_")) for t in EVENT_TYPES}


# ---- report ---------------------------------------------------------------------------------
def test_report_creates_a_reported_case_with_a_deadline_and_one_event():
    case = report()
    assert case.status is S.REPORTED and case.level is L.GRID and case.version == 1
    assert case.region_id == "g1" and case.community_id == "m1"
    assert case.region_at(L.TOWNSHIP) == "t1" and case.region_at(L.COUNTY) == "k"
    assert case.reporters[0].sub == "r1" and case.reporters[0].case_id_origin == "c1"
    assert case.due_at == T0 + timedelta(seconds=SLA[L.GRID])
    assert case.kind is RequestKind.HELP and case.accepted_at is None
    [event] = case.drain_events()
    assert event.type == "REPORTED" and event.event_id == "c1:1:REPORTED"
    assert event.region_path == PATHS["g1"] and event.counters == counters_of(case)
    assert [t.type for t in case.timeline] == ["REPORTED"]


def test_a_resident_always_reports_as_themself():
    case = report(reporter_sub="someone-else")
    assert case.reporters[0].sub == "r1"


def test_an_operator_takes_a_hotline_call_for_an_anonymous_caller():
    case = report(by=OPERATOR, channel=CaseChannel.HOTLINE)
    assert case.reporters[0].sub is None and case.channel is CaseChannel.HOTLINE


def test_category_sets_level_kind_and_sla_override():
    cat = DEFAULT_CATALOGUE.get("SAFETY_FIRE_EXIT")
    case = report(category=cat)
    assert case.kind is RequestKind.REPORT
    assert case.due_at == T0 + timedelta(seconds=cat.sla_seconds)
    labour = report(id="c2", category=DEFAULT_CATALOGUE.get("DISPUTE_LABOUR"))
    assert labour.level is L.TOWNSHIP


@pytest.mark.parametrize("kw, field", [
    ({"title": "  "}, "title"), ({"title": "x" * 201}, "title"),
    ({"reporter_name": ""}, "reporterName"),
])
def test_report_rejects_bad_text(kw, field):
    args = dict(id="c1", title="漏水", description="", category=CAT,
                channel=CaseChannel.WALK_IN, region_path=PATHS["g1"], by=RESIDENT, now=T0,
                sla=SLA, reporter_name="张三")
    with pytest.raises(BadInput) as e:
        Case.report(**{**args, **kw})
    assert e.value.details["field"] == field


@pytest.mark.parametrize("path", [(), ("k", "t1", "g1"), ("k", "t1", "t1", "g1"),
                                  ("c", "k", "", "m1", "g1")])
def test_report_rejects_a_bad_region_path(path):
    with pytest.raises(BadInput):
        Case.report(id="c1", title="漏水", description="", category=CAT,
                    channel=CaseChannel.WALK_IN, region_path=path, by=RESIDENT, now=T0,
                    sla=SLA, reporter_name="张三")


@pytest.mark.parametrize("who", [DEPT, VOLUNTEER, GW2, OPERATOR_T2])
def test_report_is_forbidden_to_other_roles_and_out_of_scope(who):
    with pytest.raises(Forbidden):
        report(by=who)


def test_grid_worker_reports_a_patrol_finding_in_their_grid():
    case = report(by=GW1, channel=CaseChannel.GRID_PATROL)
    assert case.reporters[0].sub == "gw1"


# ---- accept ---------------------------------------------------------------------------------
def test_accept_starts_the_timer_and_counts_as_first_response():
    case = report()
    later = T0 + timedelta(minutes=10)
    case.accept(GW1, later, SLA)
    assert case.status is S.ACCEPTED and case.version == 2
    assert case.accepted_at == later and case.due_at == later + timedelta(seconds=3600)
    assert types(case) == ["REPORTED", "ACCEPTED"]


def test_accept_twice_is_a_conflict_naming_status_and_allowed():
    case = at(S.ACCEPTED)
    with pytest.raises(Conflict) as e:
        case.accept(OPERATOR, T0, SLA)
    assert "ACCEPTED" in e.value.message and "REPORTED" in e.value.message
    assert e.value.details == {"status": "ACCEPTED", "allowed": ["REPORTED"]}


@pytest.mark.parametrize("who", [RESIDENT, DEPT, VOLUNTEER, GW2, OPERATOR_T2, ADMIN_T2])
def test_accept_forbidden(who):
    with pytest.raises(Forbidden):
        report().accept(who, T0, SLA)


def test_scope_follows_the_region_subtree():
    case = report()
    for who in (OPERATOR, ADMIN, GW1, SUPERADMIN):
        assert is_allowed(who, Action.ACCEPT, case)
    assert not is_allowed(OPERATOR_T2, Action.ACCEPT, case)


# ---- assign ---------------------------------------------------------------------------------
def test_assign_to_a_department_then_reassign():
    case = at(S.ACCEPTED)
    due = case.due_at
    case.assign(OPERATOR, TO_DEPT, T0)
    assert case.status is S.ASSIGNED and case.assignee == TO_DEPT and case.due_at == due
    case.assign(ADMIN, TO_VOLUNTEER, T0)
    assert case.assignee == TO_VOLUNTEER
    assert types(case) == ["ASSIGNED", "ASSIGNED"]
    with pytest.raises(Conflict):
        case.assign(ADMIN, TO_VOLUNTEER, T0)


def test_assign_before_accept_is_a_conflict():
    with pytest.raises(Conflict):
        report().assign(OPERATOR, TO_DEPT, T0)


@pytest.mark.parametrize("who", [GW1, DEPT, RESIDENT, OPERATOR_T2])
def test_assign_forbidden(who):
    with pytest.raises(Forbidden):
        at(S.ACCEPTED).assign(who, TO_DEPT, T0)


def test_assign_to_a_community_must_name_the_case_community():
    case = at(S.ACCEPTED)
    with pytest.raises(BadInput):
        case.assign(OPERATOR, Assignee(kind=AssigneeKind.COMMUNITY, id="m2"), T0)
    case.assign(OPERATOR, Assignee(kind=AssigneeKind.COMMUNITY, id="m1", name="一社区"), T0)
    assert case.assignee.id == "m1"


# ---- start ----------------------------------------------------------------------------------
def test_the_assigned_department_starts():
    case = at(S.ASSIGNED)
    case.start(DEPT, T0)
    assert case.status is S.IN_PROGRESS and types(case) == ["STARTED"]


@pytest.mark.parametrize("who", [OTHER_DEPT, VOLUNTEER, OPERATOR, RESIDENT, GW2])
def test_start_forbidden_to_anyone_but_the_assignee_or_grid_worker(who):
    with pytest.raises(Forbidden):
        at(S.ASSIGNED).start(who, T0)


def test_a_department_outside_the_region_is_out_of_scope():
    case = at(S.ASSIGNED)
    with pytest.raises(Forbidden):
        case.start(DEPT.model_copy(update={"region": "t2"}), T0)


def test_volunteer_works_a_case_assigned_to_them_by_member_id():
    case = at(S.ACCEPTED)
    case.assign(OPERATOR, TO_VOLUNTEER, T0)
    case.start(VOLUNTEER, T0)
    case.resolve(VOLUNTEER, "已上门服务", T0)
    assert case.status is S.RESOLVED


def test_grid_worker_takes_an_accepted_case_themself():
    case = at(S.ACCEPTED)
    case.start(GW1, T0)
    assert case.status is S.IN_PROGRESS
    assert case.assignee == Assignee(kind=AssigneeKind.GRID_WORKER, id="gw1", name="gw1")
    events = case.drain_events()
    assert [(e.type, e.status) for e in events] == [("ASSIGNED", S.ASSIGNED),
                                                    ("STARTED", S.IN_PROGRESS)]
    assert events[0].version == events[1].version == case.version


def test_start_without_assignee_by_staff_is_a_conflict():
    with pytest.raises(Conflict):
        at(S.ACCEPTED).start(SUPERADMIN, T0)


@pytest.mark.parametrize("status", [S.REPORTED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED, S.REJECTED])
def test_start_in_wrong_state_is_a_conflict(status):
    with pytest.raises(Conflict):
        at(status).start(GW1, T0)


# ---- resolve --------------------------------------------------------------------------------
def test_resolve_records_level_time_and_on_time():
    case = at(S.IN_PROGRESS)
    when = T0 + timedelta(minutes=20)
    case.resolve(DEPT, " 已调解 ", when)
    assert case.status is S.RESOLVED and case.resolved_at == when
    assert case.resolved_at_level is L.GRID and case.resolved_on_time is True
    assert case.resolution == "已调解" and case.due_at is None
    [event] = case.drain_events()
    assert event.type == "RESOLVED" and event.on_time is True


def test_resolve_after_the_deadline_is_not_on_time():
    case = at(S.IN_PROGRESS)
    case.resolve(DEPT, "晚了", case.due_at + timedelta(seconds=1))
    assert case.resolved_on_time is False


def test_grid_worker_resolves_on_the_spot():
    case = at(S.ACCEPTED)
    case.resolve(GW1, "当场劝解", T0)
    assert case.status is S.RESOLVED and case.assignee.id == "gw1"


def test_resolve_needs_a_resolution():
    with pytest.raises(BadInput):
        at(S.IN_PROGRESS).resolve(DEPT, "  ", T0)


@pytest.mark.parametrize("status", [S.REPORTED, S.RESOLVED, S.CLOSED, S.REJECTED])
def test_resolve_in_wrong_state_is_a_conflict(status):
    with pytest.raises(Conflict):
        at(status).resolve(GW1, "done", T0)


def test_operator_may_not_resolve():
    with pytest.raises(Forbidden):
        at(S.IN_PROGRESS).resolve(OPERATOR, "done", T0)


# ---- escalate -------------------------------------------------------------------------------
def test_escalation_chain_to_county_then_conflict():
    case = at(S.IN_PROGRESS)
    now = T0
    for expected in (L.COMMUNITY, L.TOWNSHIP, L.COUNTY):
        now += timedelta(minutes=5)
        case.escalate(ADMIN, "需上级协调", now, SLA)
        assert case.level is expected and case.status is S.ACCEPTED and case.assignee is None
        assert case.due_at == now + timedelta(seconds=SLA[expected])
    assert case.escalations == 3
    events = case.drain_events()
    assert [e.type for e in events] == ["ESCALATED"] * 3
    assert [e.from_level for e in events] == [L.GRID, L.COMMUNITY, L.TOWNSHIP]
    with pytest.raises(Conflict) as e:
        case.escalate(ADMIN, "再上报", now, SLA)
    assert "COUNTY" in e.value.message


def test_escalate_from_reported_is_a_first_response():
    case = report()
    case.escalate(GW1, "网格无法处理", T0, SLA)
    assert case.status is S.ACCEPTED and case.level is L.COMMUNITY and case.accepted_at == T0


def test_escalate_needs_a_reason():
    with pytest.raises(BadInput):
        report().escalate(OPERATOR, "", T0, SLA)


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED, S.REJECTED])
def test_escalate_in_wrong_state_is_a_conflict(status):
    with pytest.raises(Conflict):
        at(status).escalate(OPERATOR, "why", T0, SLA)


@pytest.mark.parametrize("who", [RESIDENT, DEPT, GW2])
def test_escalate_forbidden(who):
    with pytest.raises(Forbidden):
        at(S.ACCEPTED).escalate(who, "why", T0, SLA)


# ---- sweeper --------------------------------------------------------------------------------
def test_sweep_before_the_deadline_changes_nothing():
    case = at(S.ASSIGNED)
    before = case.model_dump()
    assert case.sweep(case.due_at - timedelta(seconds=1), SLA) is False
    assert case.model_dump() == before and case.pending_events == []


def test_sweep_past_the_deadline_emits_overdue_then_escalated():
    case = at(S.IN_PROGRESS)
    due, version = case.due_at, case.version
    now = due + timedelta(seconds=5)
    assert case.sweep(now, SLA) is True
    overdue, escalated = case.drain_events()
    assert (overdue.type, overdue.level, overdue.due_at, overdue.status) == (
        "OVERDUE", L.GRID, due, S.IN_PROGRESS)
    assert (escalated.type, escalated.from_level, escalated.level) == (
        "ESCALATED", L.GRID, L.COMMUNITY)
    assert escalated.by_sweeper and escalated.actor == "system:cases"
    assert case.level is L.COMMUNITY and case.status is S.ACCEPTED and case.assignee is None
    assert case.due_at == now + timedelta(seconds=SLA[L.COMMUNITY])
    assert case.version == version + 1 and case.overdue is False and case.overdue_count == 1
    assert [t.type for t in case.timeline[-2:]] == ["OVERDUE", "ESCALATED"]


def test_an_unaccepted_report_escalates_on_its_own():
    case = report()
    assert case.sweep(case.due_at, SLA) is True
    assert case.level is L.COMMUNITY and case.accepted_at is None
    assert counters_of(case)["responded"] == 0


def test_sweep_at_county_flags_overdue_once():
    case = at(S.ACCEPTED)
    for _ in range(3):
        case.escalate(OPERATOR, "上报", T0, SLA)
    case.drain_events()
    late = case.due_at + timedelta(hours=1)
    assert case.sweep(late, SLA) is False
    assert case.overdue and case.overdue_count == 1 and types(case) == ["OVERDUE"]
    assert case.sweep(late + timedelta(hours=1), SLA) is False
    assert case.pending_events == []
    assert counters_of(case)["overdue"] == 1
    case.resolve(SUPERADMIN, "县直部门处置完毕", late)
    assert not case.overdue and case.resolved_on_time is False


@pytest.mark.parametrize("status", [S.RESOLVED, S.CLOSED, S.REJECTED])
def test_sweep_ignores_cases_without_work_outstanding(status):
    case = at(status)
    assert case.sweep(T0 + timedelta(days=30), SLA) is False
    assert case.pending_events == []


def test_a_case_that_breached_its_sla_is_never_on_time():
    case = at(S.ACCEPTED)
    case.sweep(case.due_at, SLA)
    case.resolve(SUPERADMIN, "社区处置完毕", case.due_at - timedelta(seconds=1))
    assert case.resolved_on_time is False


# ---- reject ---------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [S.REPORTED, S.ACCEPTED])
def test_reject_with_a_reason(status):
    case = at(status)
    case.reject(OPERATOR, "重复诉求", T0)
    assert case.status is S.REJECTED and case.due_at is None and case.accepted_at is not None
    [event] = case.drain_events()
    assert event.reason == "重复诉求" and case.timeline[-1].note == "重复诉求"


def test_reject_needs_a_reason_and_an_early_state():
    with pytest.raises(BadInput):
        report().reject(OPERATOR, " ", T0)
    with pytest.raises(Conflict):
        at(S.ASSIGNED).reject(OPERATOR, "late", T0)


def test_a_reopened_case_cannot_be_rejected():
    case = at(S.RESOLVED)
    case.rate(RESIDENT, 1, T0, SLA)
    assert case.status is S.ACCEPTED
    with pytest.raises(Conflict):
        case.reject(OPERATOR, "不予受理", T0)


def test_grid_worker_may_not_reject():
    with pytest.raises(Forbidden):
        report().reject(GW1, "no", T0)


@pytest.mark.parametrize("status", [S.CLOSED, S.REJECTED])
def test_terminal_states_accept_no_workflow_command(status):
    case = at(status)
    commands = [lambda: case.accept(OPERATOR, T0, SLA),
                lambda: case.assign(OPERATOR, TO_DEPT, T0),
                lambda: case.start(GW1, T0),
                lambda: case.resolve(GW1, "x", T0),
                lambda: case.escalate(OPERATOR, "x", T0, SLA),
                lambda: case.reject(OPERATOR, "x", T0),
                lambda: case.close(OPERATOR, T0)]
    for command in commands:
        with pytest.raises(Conflict):
            command()
    assert case.status is status


# ---- return (退单) ---------------------------------------------------------------------------
@pytest.mark.parametrize("status", [S.ASSIGNED, S.IN_PROGRESS])
def test_department_returns_a_case(status):
    case = at(status)
    due = case.due_at
    case.return_(DEPT, "不属于本部门职责", T0)
    assert case.status is S.ACCEPTED and case.assignee is None and case.level is L.GRID
    assert case.due_at == due
    [event] = case.drain_events()
    assert event.type == "RETURNED" and event.returned_by == TO_DEPT


def test_return_rules():
    with pytest.raises(Forbidden):
        at(S.ASSIGNED).return_(OTHER_DEPT, "no", T0)
    with pytest.raises(Forbidden):
        at(S.ASSIGNED).return_(GW1, "no", T0)
    with pytest.raises(BadInput):
        at(S.ASSIGNED).return_(DEPT, "", T0)
    with pytest.raises(Conflict):
        at(S.ACCEPTED).return_(SUPERADMIN, "no", T0)


# ---- rate -----------------------------------------------------------------------------------
@pytest.mark.parametrize("score", [3, 4, 5])
def test_a_good_rating_closes(score):
    case = at(S.RESOLVED)
    case.rate(RESIDENT, score, T0, SLA, comment="谢谢")
    assert case.status is S.CLOSED and case.rating == score and case.closed_at == T0
    assert case.reporters[0].rating == score and case.reporters[0].comment == "谢谢"
    assert types(case) == ["RATED", "CLOSED"]


@pytest.mark.parametrize("score", [1, 2])
def test_a_bad_rating_reopens_once_then_closes(score):
    case = at(S.RESOLVED)
    now = T0 + timedelta(hours=2)
    case.rate(RESIDENT, score, now, SLA)
    assert case.status is S.ACCEPTED and case.reopened and case.level is L.GRID
    assert case.assignee is None and case.due_at == now + timedelta(seconds=SLA[L.GRID])
    assert case.rating is None and case.reporters[0].rating is None
    assert types(case) == ["RATED", "REOPENED"]
    case.resolve(GW1, "再次调解", now)
    case.rate(RESIDENT, score, now, SLA)
    assert case.status is S.CLOSED and case.rating == score
    assert types(case) == ["RESOLVED", "RATED", "CLOSED"]


@pytest.mark.parametrize("score", [0, 6, -1, True, 2.5, "5"])
def test_rating_must_be_1_to_5(score):
    with pytest.raises(BadInput):
        at(S.RESOLVED).rate(RESIDENT, score, T0, SLA)


@pytest.mark.parametrize("who", [OTHER_RESIDENT, OPERATOR, GW1, DEPT])
def test_only_a_reporter_may_rate(who):
    with pytest.raises(Forbidden):
        at(S.RESOLVED).rate(who, 5, T0, SLA)


def test_even_a_superadmin_cannot_rate_for_a_reporter():
    with pytest.raises(Forbidden):
        at(S.RESOLVED).rate(SUPERADMIN, 5, T0, SLA)


@pytest.mark.parametrize("status", [S.REPORTED, S.ACCEPTED, S.IN_PROGRESS, S.REJECTED])
def test_rating_before_resolution_is_a_conflict(status):
    with pytest.raises(Conflict):
        at(status).rate(RESIDENT, 5, T0, SLA)


def test_rating_twice_is_a_conflict():
    case = at(S.CLOSED)
    with pytest.raises(Conflict):
        case.rate(RESIDENT, 4, T0, SLA)


def test_close_without_rating_then_a_late_rating_is_recorded():
    case = at(S.RESOLVED)
    with pytest.raises(Forbidden):
        case.close(GW1, T0)
    case.close(OPERATOR, T0, "电话回访无人接听")
    assert case.status is S.CLOSED and case.rating is None
    case.rate(RESIDENT, 1, T0, SLA)
    assert case.status is S.CLOSED and case.rating == 1 and not case.reopened
    assert types(case) == ["CLOSED", "RATED"]


def test_auto_close_after_the_rating_window():
    case = at(S.RESOLVED)  # verified: the window runs from the verification
    assert case.auto_close(case.rating_window_from + timedelta(days=6), 7 * 86400) is False
    assert case.auto_close(case.rating_window_from + timedelta(days=7), 7 * 86400) is True
    assert case.status is S.CLOSED and types(case) == ["CLOSED"]
    assert at(S.IN_PROGRESS).auto_close(T0 + timedelta(days=30), 1) is False


# ---- contact reveal and masking -------------------------------------------------------------
def test_admin_reveals_a_contact_with_an_audit_event():
    case = at(S.ACCEPTED)
    version = case.version
    reporter = case.reveal_contact(ADMIN, "核实来电人身份", T0)
    assert reporter.phone_enc == "enc:13812345678" and case.version == version + 1
    [event] = case.drain_events()
    assert (event.type, event.actor, event.reason) == ("CONTACT_REVEALED", "admin-k", "核实来电人身份")


def test_reveal_rules():
    case = at(S.ACCEPTED)
    for who in (OPERATOR, GW1, RESIDENT, ADMIN_T2):
        with pytest.raises(Forbidden):
            case.reveal_contact(who, "need", T0)
    with pytest.raises(BadInput):
        case.reveal_contact(ADMIN, "", T0)
    with pytest.raises(BadInput):
        case.reveal_contact(ADMIN, "need", T0, reporter_index=1)


@pytest.mark.parametrize("phone, masked", [
    ("13812345678", "138****5678"), ("138 1234 5678", "138****5678"),
    ("010-12345678", "010****5678"), ("12345678", "123*5678"), ("1234567", "*****67"),
    ("123", "*23"), ("12", "**"), ("", ""),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_who_sees_the_reporter_phone():
    case = at(S.ASSIGNED)
    case.reporters.append(case.reporters[0].model_copy(update={"sub": "r2"}))
    assert may_see_contact(RESIDENT, case)
    assert not may_see_contact(RESIDENT, case, case.reporters[1])
    assert may_see_contact(OTHER_RESIDENT, case, case.reporters[1])
    assert may_see_contact(GW1, case) and not may_see_contact(GW2, case)
    assert may_see_contact(DEPT, case) and not may_see_contact(OTHER_DEPT, case)
    for who in (ADMIN, OPERATOR, SUPERADMIN, VOLUNTEER):
        assert not may_see_contact(who, case)


# ---- view scope -----------------------------------------------------------------------------
def test_view_scope_per_role():
    case = at(S.ASSIGNED)
    for who in (RESIDENT, GW1, OPERATOR, ADMIN, DEPT, SUPERADMIN):
        authorize(who, Action.VIEW, case)
    for who in (OTHER_RESIDENT, GW2, OPERATOR_T2, OTHER_DEPT, VOLUNTEER):
        with pytest.raises(Forbidden):
            authorize(who, Action.VIEW, case)


def test_permission_table_covers_every_action():
    assert set(PERMISSIONS) == set(Action)
    assert Role.SUPERADMIN not in set().union(*PERMISSIONS.values())


# ---- failures leave no trace ----------------------------------------------------------------
@pytest.mark.parametrize("status, command", [
    (S.RESOLVED, lambda c: c.rate(RESIDENT, 9, T0, SLA)),
    (S.ACCEPTED, lambda c: c.start(OPERATOR, T0)),
    (S.REPORTED, lambda c: c.resolve(GW1, "x", T0)),
    (S.ASSIGNED, lambda c: c.assign(OPERATOR, TO_DEPT, T0)),
    (S.IN_PROGRESS, lambda c: c.return_(DEPT, "", T0)),
])
def test_a_failed_command_leaves_the_case_unchanged(status, command):
    case = at(status)
    before = case.model_dump()
    with pytest.raises((BadInput, Conflict, Forbidden)):
        command(case)
    assert case.model_dump() == before and case.pending_events == []


# ---- merge ----------------------------------------------------------------------------------
def test_merge_folds_reporters_and_closes_the_duplicate():
    into = at(S.ASSIGNED, id="a")
    other = report(id="b", by=OTHER_RESIDENT)
    other.drain_events()
    merge(into, other, OPERATOR, T0)
    assert other.status is S.CLOSED and other.merged_into == "a" and other.due_at is None
    assert [r.sub for r in into.reporters] == ["r1", "r2"]
    assert into.reporters[1].case_id_origin == "b" and into.status is S.ASSIGNED
    for case in (into, other):
        [event] = case.drain_events()
        assert (event.type, event.from_id, event.into_id) == ("MERGED", "b", "a")
    assert counters_of(other) == {**dict.fromkeys(COUNTER_KEYS, 0), "total": 1, "merged": 1}
    # each reporter rates for themself; the first rating decides
    into.start(DEPT, T0)
    into.resolve(DEPT, "已处理", T0)
    verify(into, OPERATOR, True, None, None, T0, SLA, 86400)
    into.rate(OTHER_RESIDENT, 5, T0, SLA)
    assert into.status is S.CLOSED
    into.rate(RESIDENT, 2, T0, SLA)
    assert into.status is S.CLOSED and into.rating == 5
    assert [r.rating for r in into.reporters] == [2, 5]
    with pytest.raises(Conflict):
        other.rate(OTHER_RESIDENT, 5, T0, SLA)


def test_merge_keeps_one_entry_per_person():
    into, other = report(id="a"), report(id="b")
    merge(into, other, ADMIN, T0)
    assert len(into.reporters) == 1


def test_merge_rules():
    a = report(id="a")
    with pytest.raises(BadInput):
        merge(a, a, OPERATOR, T0)
    with pytest.raises(BadInput):
        merge(a, report(id="b", grid="g2"), OPERATOR, T0)
    cat = DEFAULT_CATALOGUE.get("ENV_NOISE")
    with pytest.raises(BadInput):
        merge(a, report(id="c", category=cat), OPERATOR, T0)
    merge(a, report(id="d", category=cat), OPERATOR, T0, force=True)
    with pytest.raises(Conflict):
        merge(at(S.RESOLVED, id="e"), report(id="f"), OPERATOR, T0)
    with pytest.raises(Conflict):
        merge(report(id="g"), at(S.REJECTED, id="h"), OPERATOR, T0)
    with pytest.raises(Forbidden):
        merge(report(id="i"), report(id="j"), GW1, T0)
    with pytest.raises(Forbidden):
        merge(report(id="k"), report(id="l"), OPERATOR_T2, T0)


# ---- duplicates -----------------------------------------------------------------------------
HERE = GeoPoint(lng=116.3975, lat=39.9087)
NEAR = GeoPoint(lng=116.3985, lat=39.9087)   # ~85 m east
FAR = GeoPoint(lng=116.4100, lat=39.9087)    # ~1 km east


def test_haversine():
    assert haversine_m(HERE, HERE) == 0
    one_degree = haversine_m(GeoPoint(lng=0, lat=0), GeoPoint(lng=0, lat=1))
    assert one_degree == pytest.approx(111_195, rel=1e-3)
    assert 80 < haversine_m(HERE, NEAR) < 90


def test_duplicates_by_category_distance_time_and_state():
    old = report(id="old", location=HERE)
    new = report(id="new", location=NEAR, now=T0 + timedelta(minutes=30))
    now = T0 + timedelta(minutes=30)
    assert is_possible_duplicate(new, old, 100, 3600, now)
    assert not is_possible_duplicate(new, old, 50, 3600, now)
    assert not is_possible_duplicate(new, old, 100, 1200, now)
    assert not is_possible_duplicate(new, new, 100, 3600, now)
    other_cat = report(id="x", location=HERE, category=DEFAULT_CATALOGUE.get("ENV_NOISE"))
    assert not is_possible_duplicate(new, other_cat, 100, 3600, now)
    assert not is_possible_duplicate(new, at(S.RESOLVED, id="r", location=HERE), 100, 3600, now)
    no_point = report(id="np")
    assert is_possible_duplicate(new, no_point, 100, 3600, now)
    assert not is_possible_duplicate(new, report(id="np3", grid="g3"), 100, 3600, now)
    far = report(id="far", location=FAR)
    found = possible_duplicates(new, [far, no_point, old], 2000, 3600, now)
    assert [c.id for c in found] == ["np", "old", "far"]


def test_the_rule_reads_candidates_as_it_reads_cases():
    """The store hands the rule `Candidate`s (only the fields it reads): same answers."""
    now = T0 + timedelta(minutes=30)
    new = report(id="new", location=NEAR, now=now)
    cases = [report(id="old", location=HERE), report(id="far", location=FAR), report(id="np"),
             at(S.RESOLVED, id="r", location=HERE), report(id="np3", grid="g3"),
             report(id="x", location=HERE, category=DEFAULT_CATALOGUE.get("ENV_NOISE"))]
    fields = Candidate.__dataclass_fields__
    candidates = [Candidate(**{k: getattr(c, k) for k in fields}) for c in cases]
    for radius, window in ((100, 3600), (50, 3600), (2000, 3600), (2000, 600)):
        assert ([c.id for c in possible_duplicates(new, candidates, radius, window, now)]
                == [c.id for c in possible_duplicates(new, cases, radius, window, now)])
    assert [c.id for c in possible_duplicates(new, candidates, 2000, 3600, now)] == ["np", "old", "far"]


# ---- catalogue ------------------------------------------------------------------------------
def test_default_catalogue_is_sensible():
    cats = DEFAULT_CATALOGUE.categories
    codes = [c.code for c in cats]
    assert len(cats) >= 20 and len(set(codes)) == len(codes)
    assert {"DISPUTE_NEIGHBOR", "DISPUTE_FAMILY", "DISPUTE_PROPERTY", "DISPUTE_LABOUR",
            "ENV_GARBAGE", "ENV_NOISE", "SAFETY_FIRE_EXIT", "SAFETY_HIGH_THROW",
            "SAFETY_EBIKE_CHARGING", "FACILITY_STREETLIGHT", "FACILITY_MANHOLE",
            "LIVELIHOOD_SUBSISTENCE", "POLICY_CONSULT", "SUGGESTION"} <= set(codes)
    assert {c.group for c in cats} >= {"矛盾纠纷", "环境卫生", "市政设施", "安全隐患", "民生服务",
                                       "物业管理", "政策咨询", "建议"}
    for c in cats:
        assert re.search(r"[\u4e00-\u9fff]", c.name), c.code
        assert c.department is None or c.department in DEPARTMENTS
    assert all(c.default_level in (L.BUILDING, L.GRID, L.COMMUNITY) for c in cats
               if c.group in ("矛盾纠纷", "环境卫生") and c.code != "DISPUTE_LABOUR")
    # building: small matters between neighbours are settled in the building (小事不出楼栋), nothing of
    # safety, money or the authorities
    at_building = {c.code for c in cats if c.default_level is L.BUILDING}
    assert {"DISPUTE_NEIGHBOR", "BUILDING_CORRIDOR_CLUTTER", "BUILDING_LEAK"} == at_building
    assert all(c.sla_seconds is None for c in cats if c.code in at_building)
    labour = DEFAULT_CATALOGUE.get("DISPUTE_LABOUR")
    assert (labour.default_level, labour.department) == (L.TOWNSHIP, "HRSS")
    assert DEFAULT_CATALOGUE.get("SUGGESTION").kind is RequestKind.SUGGESTION


def test_catalogue_edits_are_versioned():
    with pytest.raises(BadInput):
        DEFAULT_CATALOGUE.get("NOPE")
    edited = DEFAULT_CATALOGUE.upsert(Category(code="PET_NUISANCE", name="宠物扰民",
                                               default_level=L.GRID))
    assert edited.version == DEFAULT_CATALOGUE.version + 1
    assert edited.get("PET_NUISANCE").name == "宠物扰民"
    assert len(edited.remove("PET_NUISANCE").categories) == len(DEFAULT_CATALOGUE.categories)
    with pytest.raises(ValueError):
        Category(code="bad code", name="x", default_level=L.GRID)
    with pytest.raises(ValueError):
        Category(code="OK_CODE", name="x", default_level=L.GRID, sla_seconds=0)


# ---- events and rollups ---------------------------------------------------------------------
def test_events_round_trip_through_the_wire():
    case = at(S.ACCEPTED)
    case.escalate(OPERATOR, "上报", T0, SLA)
    [event] = case.drain_events()
    wire = event.to_wire()
    assert wire["type"] == "ESCALATED" and wire["level"] == "COMMUNITY"
    assert event_from_wire(wire) == event
    with pytest.raises(BadInput):
        event_from_wire({"type": "NOPE"})


def test_counters_of_a_closed_case_resolved_in_community():
    case = at(S.ACCEPTED)
    case.escalate(OPERATOR, "上报", T0, SLA)
    case.resolve(SUPERADMIN, "社区解决", T0)
    case.rate(RESIDENT, 3, T0, SLA)
    c = counters_of(case)
    assert {k for k, v in c.items() if v} == {
        "total", "responded", "resolved", "resolved_on_time", "closed", "rated",
        "resolved_by_level.COMMUNITY", "evaluated_by_channel.MINI_PROGRAM"}


def test_rollup_deltas_add_up_to_a_recount():
    rollups: dict[str, dict[str, int]] = {}
    cases = []
    for i, grid in enumerate(("g1", "g2", "g3")):
        case = report(id=f"c{i}", grid=grid, by=SUPERADMIN)
        RollupDelta.between(None, case).apply_to(rollups)
        cases.append(case)
    before = cases[0].model_copy(deep=True)
    cases[0].accept(OPERATOR, T0, SLA)
    delta = RollupDelta.between(before, cases[0])
    assert delta.changes == {"responded": 1} and delta.region_path == PATHS["g1"]
    delta.apply_to(rollups)
    before = cases[0].model_copy(deep=True)
    cases[0].resolve(GW1, "ok", T0)
    RollupDelta.between(before, cases[0]).apply_to(rollups)
    assert rollups == recount(cases)
    assert rollups["k"]["total"] == 3 and rollups["t1"]["total"] == 2
    assert rollups["g3"] == {"total": 1, "open": 1}
    assert rates(rollups["t1"]) == {"response_rate": 0.5, "resolution_rate": 0.5,
                                     "satisfaction_rate": None, "on_time_rate": 1.0, "return_rate": None,
                                     "rework_rate": None, "fengqiao_share": 1.0}
    assert not RollupDelta.between(cases[1], cases[1])


def test_rates_definitions_and_values():
    assert set(RATE_DEFINITIONS) == set(rates({}))
    assert rates({}) == dict.fromkeys(RATE_DEFINITIONS)
    r = rates({"total": 10, "merged": 2, "rejected": 3, "responded": 6, "resolved": 4, "resolved_on_time": 3,
               "rated": 4, "satisfied": 1, "resolved_by_level.GRID": 1,
               "resolved_by_level.COMMUNITY": 2, "resolved_by_level.COUNTY": 1,
               "visited": 4, "visit_satisfied": 3, "dispatched": 5, "returned": 1,
               "verified": 4, "reworked": 1})
    # 解决率 4 resolved of 10 − 2 merged − 3 rejected; 满意率 (1 + 3) of (4 ratings + 4 reached visits)
    assert r == {"response_rate": 0.75, "resolution_rate": 0.8, "satisfaction_rate": 0.5,
                 "on_time_rate": 0.75, "return_rate": 0.2, "rework_rate": 0.25, "fengqiao_share": 0.75}


def test_a_deliberation_is_noted_once_and_changes_no_status():
    from datetime import UTC, datetime

    from services.cases.domain import DEFAULT_CATALOGUE, Case, CaseChannel, DEFAULT_SLA
    from shared.auth import Principal, Role
    at = datetime(2026, 11, 1, tzinfo=UTC)
    case = Case.report(id="c1", title="垃圾", description="", category=DEFAULT_CATALOGUE.get("ENV_GARBAGE"),
                       channel=CaseChannel.MINI_PROGRAM, region_path=("city", "k", "t", "m", "g"),
                       by=Principal(sub="r", role=Role.RESIDENT), now=at, sla=DEFAULT_SLA,
                       reporter_name="张三", reporter_phone_enc="x", reporter_sub="r")
    case.drain_events()
    before = (case.status, case.level, case.version)
    assert case.note_deliberation("jm1", "r1", "增设清运班次", at)
    assert not case.note_deliberation("jm1", "r1", "增设清运班次", at)
    assert (case.status, case.level) == before[:2] and case.version == before[2] + 1
    [event] = case.drain_events()
    assert event.type == "DELIBERATED" and event.meeting_id == "jm1" and case.timeline[-1].note.startswith("jm1/r1")
