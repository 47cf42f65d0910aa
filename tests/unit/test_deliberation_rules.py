"""一征三议两公开, pure: the stage machine, the quorum rule, the notice period, objections, support
and the figures by stage."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.organizations import domain as d
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.deliberation import ProposalSource, ProposalStage

S = ProposalStage
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
PATH = ("city", "county-a", "town-a", "comm-a")
COMMUNITY = d.Node(id="comm-a", level="COMMUNITY", path=PATH, name="示例社区")
ADMIN = Principal(sub="admin-a", role=Role.ADMIN, region="town-a")
OUTSIDER = Principal(sub="admin-b", role=Role.ADMIN, region="town-b")
RESIDENT = Principal(sub="wx-resident-1", role=Role.RESIDENT)
ROLL = [f"代表{i}" for i in range(1, 10)]  # nine representatives: 6 make a quorum of 2/3


def proposal(by: Principal = RESIDENT, **kw) -> d.Proposal:
    args = dict(id="pp1", community=COMMUNITY, title="修缮3号院", body="3号院路面破损，雨天积水", source=ProposalSource.RESIDENT,
                ref="", proposer_name="张三丰", by=by, now=T0)
    return d.Proposal.submit(**{**args, **kw})


def decided(rule: d.DeliberationRule | None = None) -> d.Proposal:
    p = proposal()
    p.propose(ADMIN, T0)
    p.discuss("两委会议同意提交居民代表会议", ADMIN, T0)
    p.record_vote(d.count_vote(ROLL, ROLL[:7], 6, 1, 0, rule or d.DeliberationRule(), T0), ADMIN, T0)
    return p


def noticed(period_s: int = 3600) -> tuple[d.Proposal, d.PublicNotice]:
    p = decided()
    n = p.publish_notice(notice_id="nt1", text_="决议：修缮3号院路面", period_s=None, min_period_s=period_s, by=ADMIN,
                         now=T0)
    return p, n


def types(*records) -> list[str]:
    return [e.type for r in records for e in r.drain_events()]


def test_a_resident_proposes_in_a_community_and_events_name_no_one():
    p = proposal()
    assert p.stage is S.COLLECTED and p.proposer_sub == RESIDENT.sub and p.proposer_name == "张三丰"
    [e] = p.drain_events()
    assert e.type == "PROPOSAL_SUBMITTED" and e.actor == "resident" and e.region_path == PATH
    assert RESIDENT.sub not in str(e.data) and "张三丰" not in str(e.data)
    with pytest.raises(BadInput, match="COMMUNITY"):
        proposal(community=d.Node(id="grid-a1", level="GRID", path=(*PATH, "grid-a1")))
    with pytest.raises(BadInput, match="as RESIDENT"):
        proposal(source=ProposalSource.UNIT, ref="u1")
    with pytest.raises(BadInput, match="ref"):
        proposal(by=ADMIN, source=ProposalSource.UNIT)
    with pytest.raises(Forbidden):
        proposal(by=OUTSIDER, source=ProposalSource.UNIT, ref="u1")
    assert proposal(by=ADMIN, source=ProposalSource.UNIT, ref="u1", proposer_name="示例物业").proposer_sub is None


def test_the_stages_go_forward_one_at_a_time_by_staff_in_scope():
    p = proposal()
    p.drain_events()
    with pytest.raises(Conflict, match="next stage is PROPOSED"):
        p.discuss("纪要", ADMIN, T0)
    with pytest.raises(Forbidden):
        p.propose(RESIDENT, T0)
    with pytest.raises(Forbidden):
        p.propose(OUTSIDER, T0)
    p.propose(ADMIN, T0)
    with pytest.raises(BadInput, match="minutes"):
        p.discuss("  ", ADMIN, T0)
    assert p.stage is S.PROPOSED
    p.discuss("两委商议纪要", ADMIN, T0)
    assert p.minutes == ["两委商议纪要"] and types(p) == ["PROPOSAL_ADVANCED", "PROPOSAL_ADVANCED"]
    with pytest.raises(Conflict):
        p.publish_notice(notice_id="n", text_="x", period_s=None, min_period_s=60, by=ADMIN, now=T0)
    assert [h.stage for h in p.history] == [S.COLLECTED, S.PROPOSED, S.DISCUSSED]


def test_quorum_roll_and_counts_are_checked_with_the_reason():
    rule = d.DeliberationRule()
    with pytest.raises(BadInput, match="not on the roll of representatives: 路人"):
        d.count_vote(ROLL, [*ROLL[:6], "路人"], 7, 0, 0, rule, T0)
    with pytest.raises(BadInput, match="add up to 5, but 6"):
        d.count_vote(ROLL, ROLL[:6], 4, 1, 0, rule, T0)
    with pytest.raises(BadInput, match="no quorum: 5 of 9 representatives attended, 6 needed"):
        d.count_vote(ROLL, ROLL[:5], 5, 0, 0, rule, T0)
    with pytest.raises(BadInput, match="twice"):
        d.count_vote([*ROLL, ROLL[0]], ROLL[:6], 6, 0, 0, rule, T0)
    # 6 present: more than half is 4 votes for
    assert d.count_vote(ROLL, ROLL[:6], 4, 2, 0, rule, T0).passed
    assert not d.count_vote(ROLL, ROLL[:6], 3, 2, 1, rule, T0).passed
    # a community's stricter rule: all of the roll, two thirds for
    strict = d.DeliberationRule(attendance_num=1, attendance_den=1, majority_num=2, majority_den=3)
    with pytest.raises(BadInput, match="no quorum"):
        d.count_vote(ROLL, ROLL[:8], 8, 0, 0, strict, T0)
    assert d.count_vote(ROLL, ROLL, 7, 2, 0, strict, T0).required_for == 7


def test_a_vote_decides_or_rejects_and_only_a_vote_decides():
    p = decided()
    assert p.stage is S.DECIDED and p.decision.passed and p.decision.required_attendance == 6
    assert types(p)[-1] == "PROPOSAL_VOTED"
    down = proposal()
    down.propose(ADMIN, T0)
    down.discuss("纪要", ADMIN, T0)
    down.drain_events()
    down.record_vote(d.count_vote(ROLL, ROLL[:6], 2, 4, 0, d.DeliberationRule(), T0), ADMIN, T0)
    assert down.stage is S.REJECTED and "voted down" in down.rejected_reason
    assert types(down) == ["PROPOSAL_VOTED", "PROPOSAL_REJECTED"]
    with pytest.raises(Conflict, match="closed"):
        down.reject("再议", ADMIN, T0)


def test_the_notice_period_is_at_least_the_configured_minimum():
    p = decided()
    with pytest.raises(BadInput, match="shorter than this community's minimum of 3600 s"):
        p.publish_notice(notice_id="n", text_="决议", period_s=60, min_period_s=3600, by=ADMIN, now=T0)
    with pytest.raises(BadInput, match="text"):
        p.publish_notice(notice_id="n", text_=" ", period_s=None, min_period_s=3600, by=ADMIN, now=T0)
    assert p.stage is S.DECIDED and p.version == decided().version  # nothing changed
    n = p.publish_notice(notice_id="n", text_="决议", period_s=7200, min_period_s=3600, by=ADMIN, now=T0)
    assert n.ends_at == T0 + timedelta(seconds=7200) and p.stage is S.NOTICED and p.public
    assert types(n) == ["NOTICE_PUBLISHED"]
    # A community's own period may be longer, never shorter than the deployment's.
    assert d.DeliberationRule(notice_period_s=86400).min_notice_s(3600) == 86400
    assert d.DeliberationRule().min_notice_s(3600) == 3600
    with pytest.raises(BadInput, match="shorter than the configured minimum"):
        d.DeliberationRule(notice_period_s=60).checked(3600)
    with pytest.raises(BadInput, match="fraction"):
        d.DeliberationRule(majority_num=3, majority_den=2).checked(60)


def test_objections_during_the_period_must_be_answered_before_implementation():
    p, n = noticed(3600)
    n.drain_events()
    o = n.object(RESIDENT.sub, "施工期间请保证出行", RESIDENT, T0 + timedelta(minutes=5))
    assert n.object(RESIDENT.sub, "施工期间请保证出行", RESIDENT, T0) is o  # a retry: nothing new
    with pytest.raises(Conflict, match="already"):
        n.object(RESIDENT.sub, "另一条", RESIDENT, T0)
    [e] = n.drain_events()
    assert e.type == "NOTICE_OBJECTED" and RESIDENT.sub not in str(e.data) and "出行" not in str(e.data)
    with pytest.raises(Conflict, match="notice period runs until"):
        p.implement(n, responses={}, links=d.Links(), case_request=None, by=ADMIN, now=T0 + timedelta(minutes=59))
    later = T0 + timedelta(hours=1)
    with pytest.raises(Conflict, match="notice period"):
        n.object("wx-other", "太晚了", RESIDENT, later)
    with pytest.raises(BadInput, match="unanswered o1"):
        p.implement(n, responses={}, links=d.Links(), case_request=None, by=ADMIN, now=later)
    assert p.stage is S.NOTICED
    p.implement(n, responses={"o1": "施工分段进行"}, links=d.Links(case_ids=["c1"], project_ids=["pj1"]),
                case_request=None, by=ADMIN, now=later)
    assert p.stage is S.IMPLEMENTING and n.objections[0].response == "施工分段进行"
    assert p.case_ids == ["c1"] and p.project_ids == ["pj1"]
    assert types(n) == ["OBJECTION_ANSWERED"]
    r = p.publish_result(notice_id="nt2", text_="3号院路面已修缮", links=d.Links(order_ids=["so1"]), by=ADMIN, now=later)
    assert p.stage is S.RESULT_PUBLISHED and r.kind.value == "RESULT" and p.notice_ids == ["nt1", "nt2"]
    assert "RESULT_PUBLISHED" in types(p) and p.order_ids == ["so1"]
    with pytest.raises(Conflict, match="closed"):
        p.reject("x", ADMIN, later)


def test_reject_from_any_open_stage_needs_a_reason():
    for stages in ([], ["propose"], ["propose", "discuss"]):
        p = proposal()
        for step in stages:
            p.propose(ADMIN, T0) if step == "propose" else p.discuss("纪要", ADMIN, T0)
        with pytest.raises(BadInput, match="reason"):
            p.reject(" ", ADMIN, T0)
        p.reject("不属于社区事务", ADMIN, T0)
        assert p.stage is S.REJECTED and p.rejected_reason == "不属于社区事务"


def test_support_until_the_vote_and_figures_by_stage():
    p = proposal()
    p.support(RESIDENT, T0)
    assert p.support_count == 1
    assert d.deltas(None, p)[0].changes == {"proposals": 1, "proposals.COLLECTED": 1}
    before = p.model_copy(deep=True)
    p.propose(ADMIN, T0)
    [delta] = d.deltas(before, p)
    assert delta.changes == {"proposals.COLLECTED": -1, "proposals.PROPOSED": 1} and set(delta.region_path) == set(PATH)
    p2 = decided()
    with pytest.raises(Conflict, match="until the representatives vote"):
        p2.support(RESIDENT, T0)
    assert d.recount([p, p2])["comm-a"] == {"proposals": 2, "proposals.PROPOSED": 1, "proposals.DECIDED": 1}


def test_who_reads_a_proposal():
    p = proposal()
    other = Principal(sub="wx-other", role=Role.RESIDENT)
    assert d.can_read(RESIDENT, p) and d.can_read(ADMIN, p)
    assert not d.can_read(other, p) and not d.can_read(OUTSIDER, p)
    assert d.can_read(other, p, supported=True)
    assert not d.can_read(Principal(sub="v", role=Role.VOLUNTEER, region="comm-a"), p)
    public, _ = noticed()
    assert d.can_read(other, public)


def test_a_notice_takes_a_bounded_number_of_objections():
    """One per resident, kept on the notice: past MAX_OBJECTIONS the notice refuses more."""
    from services.organizations.domain.deliberation import MAX_OBJECTIONS

    _, n = noticed(3600)
    at = T0 + timedelta(minutes=5)
    for i in range(MAX_OBJECTIONS):
        n.object(f"wx-{i}", "异议", RESIDENT, at)
    with pytest.raises(Conflict, match=f"{MAX_OBJECTIONS} objections already"):
        n.object("wx-one-more", "异议", RESIDENT, at)
    assert len(n.objections) == MAX_OBJECTIONS
