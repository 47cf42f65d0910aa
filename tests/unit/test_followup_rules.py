"""Unit tests of a case's follow-up: verification (核查), return visits (回访), corrections,
comments, and the counters and rates they feed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.cases.domain import (DEFAULT_CATALOGUE, Assignee, AssigneeKind, Attachment, Case, CaseChannel,
                                   CaseStatus, GeoPoint, HandlingLevel, RollupDelta, comment, correct,
                                   counters_of, flag_return_visit_overdue, rates, record_return_visit, recount,
                                   verify)
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.cases import CommentVisibility, ReturnVisitSatisfaction

S, L = CaseStatus, HandlingLevel
SAT, BASIC, DIS = (ReturnVisitSatisfaction.SATISFIED, ReturnVisitSatisfaction.BASICALLY_SATISFIED,
                   ReturnVisitSatisfaction.DISSATISFIED)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
SLA = {L.GRID: 3600, L.COMMUNITY: 7200, L.TOWNSHIP: 10800, L.COUNTY: 14400}
RV = 86400
PATHS = {"g1": ("c", "k", "t1", "m1", "g1"), "g2": ("c", "k", "t1", "m1", "g2"),
         "g3": ("c", "k", "t2", "m2", "g3")}
CAT = DEFAULT_CATALOGUE.get("DISPUTE_NEIGHBOR")
RESIDENT = Principal(sub="r1", role=Role.RESIDENT)
GW1 = Principal(sub="gw1", role=Role.GRID_WORKER, region="g1")
OP_T1 = Principal(sub="op-t1", role=Role.OPERATOR, region="t1")
OP_T2 = Principal(sub="op-t2", role=Role.OPERATOR, region="t2")
OP_M1 = Principal(sub="op-m1", role=Role.OPERATOR, region="m1")
ADMIN = Principal(sub="admin-k", role=Role.ADMIN, region="k")
DEPT = Principal(sub="hrss-1", role=Role.DEPARTMENT, region="k", dept="HRSS")
TO_DEPT = Assignee(kind=AssigneeKind.DEPARTMENT, id="HRSS")
TO_GW1 = Assignee(kind=AssigneeKind.GRID_WORKER, id="gw1")


def resolved(*, by_dept: bool = True, hotline: bool = False, category=CAT, grid: str = "g1") -> Case:
    """A case of `grid` resolved by HRSS (or its grid worker); a hotline caller has no account."""
    case = Case.report(id="c1", title="漏水", description="", category=category,
                       channel=CaseChannel.HOTLINE if hotline else CaseChannel.MINI_PROGRAM,
                       region_path=PATHS[grid], by=OP_T1 if hotline else RESIDENT, now=T0, sla=SLA,
                       reporter_name="张三", reporter_phone_enc="enc")
    case.accept(OP_T1, T0, SLA)
    case.assign(OP_T1, TO_DEPT if by_dept else TO_GW1, T0)
    case.start(DEPT if by_dept else GW1, T0)
    case.resolve(DEPT if by_dept else GW1, "已处理", T0 + timedelta(minutes=30), RV)
    case.drain_events()
    return case


# ---- verification ---------------------------------------------------------------------------
def test_a_department_resolution_waits_for_verification_before_rating_and_closing():
    case = resolved()
    assert case.verification_due and counters_of(case)["awaiting_verification"] == 1
    for refused in (lambda: case.rate(RESIDENT, 5, T0, SLA), lambda: case.close(OP_T1, T0)):
        with pytest.raises(Conflict) as e:
            refused()
        assert e.value.details["awaiting"] == "VERIFICATION"
    assert case.auto_close(T0 + timedelta(days=30), 60) is False
    verify(case, OP_T1, True, "现场核实已修复", None, T0 + timedelta(hours=2), SLA, RV)
    assert not case.verification_due and case.verification.passed and case.verification.by == "op-t1"
    assert case.rating_window_from == T0 + timedelta(hours=2)
    assert case.auto_close(T0 + timedelta(hours=2, seconds=59), 60) is False
    case.rate(RESIDENT, 4, T0 + timedelta(hours=3), SLA)
    assert case.status is S.CLOSED
    [event] = [e for e in case.drain_events() if e.type == "CASE_VERIFIED"]
    assert event.passed and event.counters["verified"] == 1


def test_a_grid_workers_resolution_needs_no_verification_unless_the_category_asks():
    assert not resolved(by_dept=False).verification_due
    strict = CAT.model_copy(update={"requires_verification": True})
    case = resolved(by_dept=False, category=strict)
    assert case.requires_verification and case.verification_due


def test_a_failed_verification_sends_the_case_back_to_its_handler_as_rework():
    case = resolved()
    with pytest.raises(BadInput):  # a failed verification says why
        verify(case, OP_T1, False, " ", None, T0, SLA, RV)
    verify(case, OP_T1, False, "路面仍有积水", None, T0 + timedelta(hours=1), SLA, RV)
    assert case.status is S.IN_PROGRESS and case.assignee == TO_DEPT and case.level is L.GRID
    assert case.rework_count == 1 and case.due_at == T0 + timedelta(hours=2)
    assert counters_of(case)["reworked"] == 1 and counters_of(case)["open"] == 1
    case.resolve(DEPT, "已再次处理", T0 + timedelta(hours=1, minutes=30), RV)
    assert case.verification_due  # each resolution is verified
    verify(case, OP_T1, True, None, None, T0 + timedelta(hours=2), SLA, RV)
    c = counters_of(case)
    assert (c["verified"], c["reworked"]) == (1, 1) and rates(c)["rework_rate"] == 1.0
    with pytest.raises(Conflict):  # verified already
        verify(case, OP_T1, True, None, None, T0 + timedelta(hours=3), SLA, RV)


def test_verification_is_by_staff_of_the_dispatching_level_or_above():
    case = resolved()  # handled at GRID: the community's operator and everyone above may verify
    for who, error in ((GW1, Forbidden), (DEPT, Forbidden), (RESIDENT, Forbidden), (OP_T2, Forbidden)):
        with pytest.raises(error):
            verify(case, who, True, None, None, T0, SLA, RV)
    verify(case, OP_M1, True, None, None, T0, SLA, RV)
    county = resolved()
    county.level = L.COUNTY  # handled by the county: the community's operator does not verify it
    with pytest.raises(Forbidden):
        verify(county, OP_M1, True, None, None, T0, SLA, RV)
    verify(county, ADMIN, True, None, None, T0, SLA, RV)


def test_verification_names_only_the_cases_own_attachments():
    case = resolved()
    with pytest.raises(BadInput):
        verify(case, OP_T1, True, None, ["att-x"], T0, SLA, RV)
    photo = Attachment(id="att-1", kind="PHOTO", content_type="image/jpeg", size=10, sha256="0" * 64,
                       blob_key="b", created_at=T0)
    case.attachments.append(photo)
    verify(case, OP_T1, True, None, ["att-1"], T0, SLA, RV)
    assert case.verification.attachment_ids == ["att-1"]


def test_only_a_resolved_case_is_verified():
    case = resolved()
    case.status = S.IN_PROGRESS
    with pytest.raises(Conflict):
        verify(case, OP_T1, True, None, None, T0, SLA, RV)


# ---- return visits --------------------------------------------------------------------------
def test_a_hotline_caller_gets_a_return_visit_task_that_the_sweeper_flags():
    case = resolved(by_dept=False, hotline=True)
    due = T0 + timedelta(minutes=30, seconds=RV)
    assert case.return_visit_due_at == due and counters_of(case)["return_visit_pending"] == 1
    assert not flag_return_visit_overdue(case, due - timedelta(seconds=1), OP_T1)
    record_return_visit(case, OP_T1, "rv1", None, False, "无人接听", due - timedelta(seconds=1), SLA)
    assert case.status is S.RESOLVED and case.return_visit_due_at == due  # the task stays open
    assert flag_return_visit_overdue(case, due, OP_T1)
    assert not flag_return_visit_overdue(case, due + timedelta(hours=1), OP_T1)  # once
    assert counters_of(case)["return_visit_overdue"] == 1
    record_return_visit(case, OP_T1, "rv2", BASIC, True, None, due + timedelta(hours=2), SLA)
    assert case.status is S.CLOSED and case.return_visit_due_at is None and not case.return_visit_overdue
    c = counters_of(case)
    assert (c["visited"], c["visit_satisfied"], c["rated"]) == (1, 1, 0)
    assert c["evaluated_by_channel.HOTLINE"] == 1 and c["satisfied_by_channel.HOTLINE"] == 1
    assert rates(c)["satisfaction_rate"] == 1.0
    events = [e.type for e in case.drain_events()]
    assert events.count("CASE_RETURN_VISITED") == 2 and "CASE_RETURN_VISIT_OVERDUE" in events


def test_a_resident_with_an_account_gets_no_return_visit_task():
    assert resolved(by_dept=False).return_visit_due_at is None


def test_a_dissatisfied_visit_reopens_once_then_closes():
    case = resolved(by_dept=False, hotline=True)
    record_return_visit(case, OP_T1, "rv1", DIS, True, None, T0 + timedelta(hours=1), SLA)
    assert case.status is S.ACCEPTED and case.reopened and case.assignee is None
    assert case.return_visit_due_at is None
    case.assign(OP_T1, TO_GW1, T0 + timedelta(hours=1))
    case.resolve(GW1, "再次处理", T0 + timedelta(hours=2), RV)
    assert case.return_visit_due_at is not None
    record_return_visit(case, OP_T1, "rv2", DIS, True, None, T0 + timedelta(hours=3), SLA)
    assert case.status is S.CLOSED
    c = counters_of(case)
    assert (c["visited"], c["visit_satisfied"]) == (2, 0) and rates(c)["satisfaction_rate"] == 0.0


def test_a_visit_to_a_closed_case_counts_and_changes_no_status():
    case = resolved(by_dept=False)
    case.rate(RESIDENT, 5, T0 + timedelta(hours=1), SLA)
    record_return_visit(case, ADMIN, "rv1", DIS, True, "仍有意见", T0 + timedelta(hours=2), SLA)
    assert case.status is S.CLOSED
    c = counters_of(case)
    # one rating (satisfied) and one reached visit (not): every channel, every evaluation counts
    assert rates(c)["satisfaction_rate"] == 0.5 and c["evaluated_by_channel.MINI_PROGRAM"] == 2


def test_return_visit_refusals():
    case = resolved()
    with pytest.raises(Conflict):  # waits for verification
        record_return_visit(case, OP_T1, "rv", SAT, True, None, T0, SLA)
    verify(case, OP_T1, True, None, None, T0, SLA, RV)
    with pytest.raises(BadInput):  # a reached caller's answer is required
        record_return_visit(case, OP_T1, "rv", None, True, None, T0, SLA)
    unreached = record_return_visit(case.model_copy(deep=True), OP_T1, "rv", SAT, False, None, T0, SLA)
    assert unreached.satisfaction is None  # nobody answered: no satisfaction recorded
    for who in (RESIDENT, GW1, DEPT, OP_T2):
        with pytest.raises(Forbidden):
            record_return_visit(case, who, "rv", SAT, True, None, T0, SLA)
    case.status = S.IN_PROGRESS
    with pytest.raises(Conflict):
        record_return_visit(case, OP_T1, "rv", SAT, True, None, T0, SLA)


# ---- corrections ----------------------------------------------------------------------------
def test_a_correction_moves_the_case_and_its_figures_to_another_grid():
    case = resolved(by_dept=False)
    other = Case.report(id="c2", title="x", description="", category=CAT, channel=CaseChannel.HOTLINE,
                        region_path=PATHS["g2"], by=OP_T1, now=T0, sla=SLA, reporter_name="李四")
    rollups = recount([case, other])
    before = case.model_copy(deep=True)
    correct(case, OP_T1, "网格划错", T0 + timedelta(hours=1), SLA, region_path=PATHS["g2"],
            location=GeoPoint(lng=120.1, lat=30.2))
    assert case.region_id == "g2" and case.status is S.RESOLVED and case.corrections == 1
    deltas = RollupDelta.deltas(before, case)
    assert [d.region_path for d in deltas] == [PATHS["g1"], PATHS["g2"]]
    for d in deltas:
        d.apply_to(rollups)
    assert rollups == recount([case, other]) and "g1" not in rollups
    with pytest.raises(ValueError):
        RollupDelta.between(before, case)
    [event] = case.drain_events()
    assert (event.type, event.from_region_id, event.to_region_id) == ("CASE_CORRECTED", "g1", "g2")
    assert event.point_changed and "120.1" not in event.model_dump_json()  # no coordinates


def test_a_correction_before_handling_takes_the_new_categorys_level_and_clock():
    case = Case.report(id="c1", title="x", description="", category=CAT, channel=CaseChannel.WALK_IN,
                       region_path=PATHS["g1"], by=OP_T1, now=T0, sla=SLA, reporter_name="李四")
    labour = DEFAULT_CATALOGUE.get("DISPUTE_LABOUR")  # TOWNSHIP
    correct(case, OP_T1, "实为劳资纠纷", T0 + timedelta(hours=1), SLA, category=labour)
    assert case.category_code == "DISPUTE_LABOUR" and case.level is L.TOWNSHIP
    assert case.due_at == T0 + timedelta(hours=1, seconds=SLA[L.TOWNSHIP])


def test_a_grid_workers_assignment_does_not_follow_the_case_to_another_grid():
    case = Case.report(id="c1", title="x", description="", category=CAT, channel=CaseChannel.WALK_IN,
                       region_path=PATHS["g1"], by=OP_T1, now=T0, sla=SLA, reporter_name="李四")
    case.accept(OP_T1, T0, SLA)
    case.assign(OP_T1, TO_GW1, T0)
    correct(case, OP_T1, "网格划错", T0, SLA, region_path=PATHS["g2"])
    assert case.status is S.ACCEPTED and case.assignee is None and case.location is None


def test_correction_refusals():
    case = resolved(by_dept=False)
    with pytest.raises(BadInput):  # nothing to correct
        correct(case, OP_T1, "无", T0, SLA, category=CAT, region_path=PATHS["g1"])
    with pytest.raises(Forbidden):  # another township's grid
        correct(case, OP_T1, "改", T0, SLA, region_path=PATHS["g3"])
    for who in (GW1, DEPT, RESIDENT):
        with pytest.raises(Forbidden):
            correct(case, who, "改", T0, SLA, region_path=PATHS["g2"])
    case.rate(RESIDENT, 5, T0, SLA)
    with pytest.raises(Conflict):  # closed
        correct(case, OP_T1, "改", T0, SLA, region_path=PATHS["g2"])


# ---- comments -------------------------------------------------------------------------------
def test_comments_residents_write_public_ones_and_events_carry_no_text():
    case = resolved(by_dept=False)
    with pytest.raises(Forbidden):
        comment(case, RESIDENT, "cm1", "内部", CommentVisibility.INTERNAL, None, T0)
    with pytest.raises(BadInput):
        comment(case, OP_T1, "cm1", "x" * 2001, CommentVisibility.PUBLIC, None, T0)
    with pytest.raises(BadInput):
        comment(case, OP_T1, "cm1", "  ", CommentVisibility.PUBLIC, None, T0)
    made = comment(case, RESIDENT, "cm1", "谢谢，已经修好了", CommentVisibility.PUBLIC, None, T0)
    assert made.author == "r1" and made.visibility is CommentVisibility.PUBLIC
    comment(case, OP_T1, "cm2", "回访时注意语气", CommentVisibility.INTERNAL, None, T0)
    for e in case.drain_events():
        assert e.type == "CASE_COMMENTED" and "修好" not in e.model_dump_json() and "语气" not in e.note
    other = Principal(sub="r9", role=Role.RESIDENT)
    with pytest.raises(Forbidden):  # not a reporter of the case
        comment(case, other, "cm3", "hi", CommentVisibility.PUBLIC, None, T0)


# ---- rates ----------------------------------------------------------------------------------
def test_return_rate_counts_returned_cases_among_dispatched():
    case = resolved()
    assert counters_of(case)["dispatched"] == 1 and counters_of(case)["returned"] == 0
    case2 = Case.report(id="c2", title="x", description="", category=CAT, channel=CaseChannel.WALK_IN,
                        region_path=PATHS["g1"], by=OP_T1, now=T0, sla=SLA, reporter_name="李四")
    case2.accept(OP_T1, T0, SLA)
    case2.assign(OP_T1, TO_DEPT, T0)
    case2.return_(DEPT, "不属本部门职责", T0)
    c = counters_of(case2)
    assert (c["dispatched"], c["returned"], c["returns"]) == (1, 1, 1)
    assert rates(recount([case, case2])["k"])["return_rate"] == 0.5
