"""组织关系转接: the two-sided transfer workflow, its deadline, and a property test that no
sequence of commands leaves a member with two organisations or two open transfers."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.organizations.domain import (MemberStatus, TransferStatus, approve_transfer,
                                           cancel_transfer, reject_transfer, request_transfer,
                                           sweep_overdue)
from shared.errors import BadInput, Conflict, DomainError, Forbidden
from tests.unit.org_fixtures import ADMIN_K, ADMIN_T1, ADMIN_T2, OPERATOR_M1, T0, member, tree

DAY = timedelta(days=1)


def setup(by=ADMIN_T2, **kw):
    orgs = tree()
    m = member(orgs["gb-g3"])
    m.drain_events()
    tr = request_transfer(id="tr1", member=m, from_org=orgs["gb-g3"], to_org=orgs["gb-g1"],
                          by=by, now=T0, reason="搬家", **kw)
    return orgs, m, tr


def test_happy_path_moves_the_membership():
    orgs, m, tr = setup()
    assert (m.status, m.open_transfer_id, m.version) == (MemberStatus.TRANSFERRING, "tr1", 2)
    assert tr.deadline_at == T0 + 30 * DAY
    (e,) = tr.drain_events()
    assert e.type == "TRANSFER_REQUESTED" and e.region_path == orgs["gb-g3"].anchor_path
    assert e.data["toPath"] == list(orgs["gb-g1"].anchor_path)
    with pytest.raises(Forbidden):  # only the receiving side approves
        approve_transfer(tr, m, orgs["gb-g1"], ADMIN_T2, T0 + DAY)
    with pytest.raises(BadInput):
        approve_transfer(tr, m, orgs["gb-g2"], ADMIN_T1, T0 + DAY)
    approve_transfer(tr, m, orgs["gb-g1"], ADMIN_T1, T0 + DAY)
    assert (m.org_id, m.org_path, m.status, m.open_transfer_id) == (
        "gb-g1", orgs["gb-g1"].anchor_path, MemberStatus.ACTIVE, None)
    assert tr.status is TransferStatus.APPROVED and tr.decided_at == T0 + DAY
    assert [e.type for e in tr.pending_events] == ["TRANSFER_APPROVED"]
    with pytest.raises(Conflict):  # approve twice
        approve_transfer(tr, m, orgs["gb-g1"], ADMIN_T1, T0 + DAY)


def test_either_side_may_request_but_not_operators_or_strangers():
    setup(by=ADMIN_T1)  # the receiving side pulls the member
    with pytest.raises(Forbidden):
        setup(by=OPERATOR_M1)
    orgs = tree()
    m = member(orgs["gb-g1"])
    with pytest.raises(Forbidden):
        request_transfer(id="x", member=m, from_org=orgs["gb-g1"], to_org=orgs["gb-g2"],
                         by=ADMIN_T2, now=T0)


def test_request_checks():
    orgs = tree()
    m = member(orgs["gb-g3"])
    with pytest.raises(Conflict, match="belongs to"):
        request_transfer(id="x", member=m, from_org=orgs["gb-g1"], to_org=orgs["gb-g2"],
                         by=ADMIN_K, now=T0)
    with pytest.raises(BadInput):
        request_transfer(id="x", member=m, from_org=orgs["gb-g3"], to_org=orgs["gb-g3"],
                         by=ADMIN_K, now=T0)
    with pytest.raises(BadInput):
        request_transfer(id="x", member=m, from_org=orgs["gb-g3"], to_org=orgs["gb-g1"],
                         by=ADMIN_K, now=T0, deadline_days=0)
    assert m.version == 1 and m.open_transfer_id is None


def test_second_request_while_one_is_open_conflicts():
    orgs, m, tr = setup()
    with pytest.raises(Conflict, match="already has an open transfer"):
        request_transfer(id="tr2", member=m, from_org=orgs["gb-g3"], to_org=orgs["gb-g2"],
                         by=ADMIN_K, now=T0)
    assert m.open_transfer_id == "tr1"


def test_reject_needs_a_reason_and_keeps_the_member():
    orgs, m, tr = setup()
    with pytest.raises(BadInput):
        reject_transfer(tr, m, " ", ADMIN_T1, T0)
    reject_transfer(tr, m, "材料不全", ADMIN_T1, T0)
    assert (m.org_id, m.status, tr.status, tr.decision_note) == (
        "gb-g3", MemberStatus.ACTIVE, TransferStatus.REJECTED, "材料不全")
    with pytest.raises(Conflict):
        approve_transfer(tr, m, orgs["gb-g1"], ADMIN_T1, T0)
    # a new request is possible once the first is closed
    request_transfer(id="tr2", member=m, from_org=orgs["gb-g3"], to_org=orgs["gb-g1"],
                     by=ADMIN_T2, now=T0)


def test_cancel_by_either_side():
    orgs, m, tr = setup()
    cancel_transfer(tr, m, ADMIN_T2, T0, "申请有误")
    assert tr.status is TransferStatus.CANCELLED and m.open_transfer_id is None
    with pytest.raises(Conflict):
        cancel_transfer(tr, m, ADMIN_T2, T0)
    orgs, m, tr = setup()
    cancel_transfer(tr, m, ADMIN_T1, T0)
    with pytest.raises(Forbidden):
        setup_tr = setup()
        cancel_transfer(setup_tr[2], setup_tr[1], OPERATOR_M1, T0)


def test_a_stale_transfer_cannot_touch_another_open_one():
    orgs, m, tr1 = setup()
    cancel_transfer(tr1, m, ADMIN_T2, T0)
    tr2 = request_transfer(id="tr2", member=m, from_org=orgs["gb-g3"], to_org=orgs["gb-g2"],
                           by=ADMIN_T2, now=T0)
    tr1_copy = tr1.model_copy(update={"status": TransferStatus.REQUESTED})  # a stale read
    with pytest.raises(Conflict, match="not waiting"):
        approve_transfer(tr1_copy, m, orgs["gb-g1"], ADMIN_T1, T0)
    assert m.open_transfer_id == tr2.id


def test_overdue_after_the_deadline_flagged_once():
    orgs, m, tr = setup(deadline_days=10)
    assert not tr.overdue(T0 + 10 * DAY) and not sweep_overdue(tr, T0 + 10 * DAY)
    assert tr.overdue(T0 + 10 * DAY + timedelta(seconds=1))
    assert sweep_overdue(tr, T0 + 11 * DAY)
    assert not sweep_overdue(tr, T0 + 12 * DAY)
    assert tr.pending_events[-1].type == "TRANSFER_OVERDUE"
    approve_transfer(tr, m, orgs["gb-g1"], ADMIN_T1, T0 + 12 * DAY)  # late is still allowed
    assert not tr.overdue(T0 + 99 * DAY)


# ---- property: one organisation, at most one open transfer --------------------------------
ORG_IDS = ["gb-g1", "gb-g2", "gb-g3", "bg-b1"]
command = st.one_of(
    st.tuples(st.just("request"), st.sampled_from(ORG_IDS), st.sampled_from(ORG_IDS)),
    st.tuples(st.sampled_from(["approve", "reject", "cancel", "sweep"]),
              st.integers(min_value=0, max_value=5), st.sampled_from(ORG_IDS)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(command, max_size=25))
def test_no_sequence_leaves_two_organisations_or_two_open_transfers(commands):
    orgs = tree()
    m = member(orgs["gb-g1"])
    transfers = []
    now = T0
    for name, a, b in commands:
        now += DAY * 7
        try:
            if name == "request":
                transfers.append(request_transfer(
                    id=f"tr{len(transfers)}", member=m, from_org=orgs[a], to_org=orgs[b],
                    by=ADMIN_K, now=now))
            elif transfers:
                tr = transfers[a % len(transfers)]
                if name == "approve":
                    approve_transfer(tr, m, orgs[b], ADMIN_K, now)
                elif name == "reject":
                    reject_transfer(tr, m, "不符合", ADMIN_K, now)
                elif name == "cancel":
                    cancel_transfer(tr, m, ADMIN_K, now)
                else:
                    sweep_overdue(tr, now)
        except DomainError:
            pass
        open_ = [t for t in transfers if t.is_open]
        assert len(open_) <= 1
        assert m.open_transfer_id == (open_[0].id if open_ else None)
        assert (m.status is MemberStatus.TRANSFERRING) == bool(open_)
        assert m.org_id in orgs and m.org_path == orgs[m.org_id].anchor_path
        approved = [t for t in transfers if t.status is TransferStatus.APPROVED]
        assert m.org_id == (approved[-1].to_org_id if approved else "gb-g1")
