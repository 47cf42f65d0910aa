"""The community fund's rules (domain/funds.py), the service catalogue's (domain/catalogue.py) and
three-lists matching (domain/lists.py, domain/matching.py): pure, no I/O."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.organizations.domain import funds as fd
from services.organizations.domain.catalogue import HowToOrder, Provider, ServiceListEntry
from services.organizations.domain.lists import Need, Project, Resource
from services.organizations.domain.matching import nearest_first, rings
from services.organizations.domain.units import Unit
from services.organizations.funds_store import fund_delta, recount_funds
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.resources import (
    FundEntryStatus,
    FundTargetKind,
    ListCategory,
    NeedStatus,
    ServiceListKind,
    ServiceProviderKind,
)
from tests.unit.org_fixtures import ADMIN_K, ADMIN_T1, ADMIN_T2, N, OPERATOR_M1, RESIDENT, SUPER, T0

ADMIN_M1 = Principal(sub="admin-m1", role=Role.ADMIN, region="m1")
ADMIN_M1_B = Principal(sub="admin-m1-b", role=Role.ADMIN, region="m1")
THRESHOLD = 500_000  # ¥5,000 in fen
OTHER = fd.FundTarget(kind=FundTargetKind.OTHER)


def account(granted: int = 20_000_000, own: int | None = None, by: Principal = ADMIN_T1) -> fd.FundAccount:
    a = fd.FundAccount.open(community=N["m1"], year=2026, granted_fen=granted, approval_above_fen=own,
                            deployment_threshold_fen=THRESHOLD, by=by, now=T0)
    a.drain_events()
    return a


def spend(a: fd.FundAccount, amount: int, by: Principal = ADMIN_M1, n: int = 0) -> fd.FundEntry:
    return fd.record_spending(a, id=f"fe-{n}", amount_fen=amount, purpose="修缮院落", target=OTHER,
                              attachment_ids=(), deployment_threshold_fen=THRESHOLD, by=by, now=T0)


# -- money ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("yuan", "fen"), [(1, 100), (0.01, 1), (5000, 500_000), (1234.56, 123_456), ("0.10", 10)])
def test_yuan_become_integer_fen(yuan, fen):
    assert fd.to_fen(yuan) == fen


@pytest.mark.parametrize("bad", [0, -1, 0.001, 1.005, float("nan"), float("inf"), 10**11, "abc"])
def test_amounts_are_positive_with_two_decimals_at_most(bad):
    with pytest.raises(BadInput):
        fd.to_fen(bad)


def test_a_grant_may_be_zero():
    assert fd.to_fen(0, "granted", zero=True) == 0


# -- the account ----------------------------------------------------------------------------------------------
def test_an_account_belongs_to_a_community_and_a_year():
    a = fd.FundAccount.open(community=N["m1"], year=2026, granted_fen=100, approval_above_fen=None,
                            deployment_threshold_fen=THRESHOLD, by=ADMIN_T1, now=T0)
    assert a.id == fd.account_id("m1", 2026) and a.balance_fen == 100
    [event] = a.drain_events()
    assert event.type == "FUND_ACCOUNT_CREATED" and event.data == {"communityId": "m1", "year": 2026, "granted": 1.0}
    with pytest.raises(BadInput):
        fd.FundAccount.open(community=N["g1"], year=2026, granted_fen=1, approval_above_fen=None,
                            deployment_threshold_fen=THRESHOLD, by=ADMIN_T1, now=T0)
    with pytest.raises(BadInput):
        fd.FundAccount.open(community=N["m1"], year=1999, granted_fen=1, approval_above_fen=None,
                            deployment_threshold_fen=THRESHOLD, by=ADMIN_T1, now=T0)


@pytest.mark.parametrize("who", [ADMIN_T2, OPERATOR_M1, RESIDENT])
def test_only_admins_over_the_community_open_its_fund(who):
    with pytest.raises(Forbidden):
        account(by=who)


def test_the_same_grant_again_is_a_retry_another_is_a_conflict():
    a = account(granted=1000)
    a.same_grant(1000, None)
    with pytest.raises(Conflict):
        a.same_grant(2000, None)


def test_a_community_threshold_may_be_stricter_never_looser():
    assert account(own=100_000).threshold(THRESHOLD) == 100_000
    with pytest.raises(BadInput):
        account(own=THRESHOLD + 1)
    # the deployment lowering its threshold later lowers every account's
    assert account(own=400_000).threshold(300_000) == 300_000


# -- spending ---------------------------------------------------------------------------------------------------
def test_at_or_below_the_threshold_money_is_spent_at_once():
    a = account()
    e = spend(a, THRESHOLD)
    assert e.status is FundEntryStatus.SPENT
    assert (a.spent_fen, a.committed_fen, a.balance_fen) == (THRESHOLD, 0, 20_000_000 - THRESHOLD)
    [event] = e.drain_events()
    assert event.type == "SPENDING_RECORDED" and event.data["status"] == "SPENT" and event.data["amount"] == 5000.0
    assert "admin-m1" not in {str(v) for v in event.data.values()}  # no sub in the data


def test_above_the_threshold_money_is_committed_until_approved():
    a = account()
    e = spend(a, THRESHOLD + 1)
    assert e.status is FundEntryStatus.COMMITTED
    assert (a.spent_fen, a.committed_fen) == (0, THRESHOLD + 1)


def test_a_spending_never_overdraws():
    a = account(granted=1000)
    spend(a, 600)
    with pytest.raises(Conflict) as err:
        spend(a, 401)
    assert err.value.details == {"balance": 4.0, "amount": 4.01}
    assert a.balance_fen == 400


def test_a_target_names_its_record():
    with pytest.raises(BadInput):
        fd.FundTarget(kind=FundTargetKind.PROJECT)
    assert fd.FundTarget(kind=FundTargetKind.OTHER).id is None


@pytest.mark.parametrize("who", [OPERATOR_M1, ADMIN_T2, RESIDENT])
def test_staff_without_the_right_cannot_spend(who):
    with pytest.raises(Forbidden):
        spend(account(), 100, by=who)


# -- approval -----------------------------------------------------------------------------------------------------
def test_an_admin_above_the_community_approves_and_the_money_is_spent():
    a = account()
    e = spend(a, 600_000)
    assert e.decide(True, "", ADMIN_T1, T0 + timedelta(hours=1))
    a.settle(e.amount_fen, True, T0)
    assert e.status is FundEntryStatus.SPENT and (a.committed_fen, a.spent_fen) == (0, 600_000)
    assert [x.type for x in e.drain_events()] == ["SPENDING_RECORDED", "SPENDING_APPROVED"]
    assert not e.decide(True, "", ADMIN_T1, T0)  # a retry changes nothing
    with pytest.raises(Conflict):
        e.decide(False, "no", ADMIN_T1, T0)


def test_a_rejection_gives_the_money_back_and_needs_a_reason():
    a = account(granted=1_000_000)
    e = spend(a, 600_000)
    with pytest.raises(BadInput):
        e.decide(False, " ", ADMIN_K, T0)
    e.decide(False, "超标", ADMIN_K, T0)
    a.settle(e.amount_fen, False, T0)
    assert e.status is FundEntryStatus.REJECTED and a.balance_fen == 1_000_000


@pytest.mark.parametrize("who", [ADMIN_M1_B, OPERATOR_M1, ADMIN_T2, RESIDENT])
def test_the_community_itself_others_and_other_roles_do_not_approve(who):
    e = spend(account(), 600_000)
    with pytest.raises(Forbidden):
        e.decide(True, "", who, T0)


def test_the_recorder_never_approves_their_own_spending():
    township_recorded = spend(account(), 600_000, by=ADMIN_T1)
    with pytest.raises(Forbidden):
        township_recorded.decide(True, "", ADMIN_T1, T0)
    township_recorded.decide(True, "", ADMIN_K, T0)
    root = Principal(sub="root", role=Role.SUPERADMIN)
    own = spend(account(), 600_000, by=root)
    with pytest.raises(Forbidden):
        own.decide(True, "", SUPER, T0)


# -- never below zero, whatever happens --------------------------------------------------------------------------
@given(st.integers(0, 2_000_000),
       st.lists(st.tuples(st.sampled_from(["spend", "approve", "reject"]), st.integers(1, 1_200_000)), max_size=30))
def test_the_balance_never_goes_below_zero_and_the_totals_add_up(granted, steps):
    a = account(granted=granted)
    entries: list[fd.FundEntry] = []
    for n, (op, amount) in enumerate(steps):
        if op == "spend":
            try:
                entries.append(spend(a, amount, n=n))
            except Conflict:
                assert amount > a.balance_fen
        else:
            open_ = [e for e in entries if e.status is FundEntryStatus.COMMITTED]
            if open_:
                e = open_[amount % len(open_)]
                e.decide(op == "approve", "理由", ADMIN_T1, T0)
                a.settle(e.amount_fen, op == "approve", T0)
        assert a.balance_fen >= 0
        assert a.committed_fen == sum(e.amount_fen for e in entries if e.status is FundEntryStatus.COMMITTED)
        assert a.spent_fen == sum(e.amount_fen for e in entries if e.status is FundEntryStatus.SPENT)
        assert a.granted_fen == a.balance_fen + a.committed_fen + a.spent_fen


def test_fund_figures_follow_the_account_and_agree_with_a_recount():
    a = account(granted=1000)
    live: dict[str, dict[str, int]] = {}
    fund_delta(None, a).apply_to(live)
    before = a.model_copy(deep=True)
    spend(a, 300)
    fund_delta(before, a).apply_to(live)
    assert live == recount_funds([a])
    assert live["t1"] == {"fund_accounts": 1, "fund_granted": 1000, "fund_spent": 300}


# -- the service catalogue ------------------------------------------------------------------------------------------
def service(by: Principal = OPERATOR_M1) -> ServiceListEntry:
    return ServiceListEntry.add(id="sv-1", community=N["m1"], kind=ServiceListKind.CARE, title="老年助餐",
                                description="", provider=Provider.of(ServiceProviderKind.TEAM, "t-1", "银发服务队"),
                                how_to_order=HowToOrder.of("社区服务站", "0710-1234567", "8:00-17:00"), by=by, now=T0)


def test_staff_keep_a_community_catalogue_and_the_contact_stays_off_the_bus():
    s = service()
    [event] = s.drain_events()
    assert event.type == "SERVICE_LIST_ENTRY_ADDED" and "0710-1234567" not in str(event.data)
    s.update(kind=None, title="老年助餐点", description=None, provider=None, how_to_order=None, by=OPERATOR_M1,
             now=T0)
    s.update(kind=None, title="老年助餐点", description=None, provider=None, how_to_order=None, by=OPERATOR_M1,
             now=T0)
    assert [e.data["changed"] for e in s.drain_events()] == [["title"]]
    s.retire("停办", OPERATOR_M1, T0)
    s.retire("停办", OPERATOR_M1, T0)
    assert not s.active and [e.type for e in s.drain_events()] == ["SERVICE_LIST_ENTRY_RETIRED"]
    with pytest.raises(Conflict):
        s.update(kind=ServiceListKind.PUBLIC, title=None, description=None, provider=None, how_to_order=None,
                 by=OPERATOR_M1, now=T0)


@pytest.mark.parametrize("who", [RESIDENT, ADMIN_T2])
def test_others_do_not_keep_the_catalogue(who):
    with pytest.raises(Forbidden):
        service(by=who)


def test_a_catalogue_belongs_to_a_community():
    with pytest.raises(BadInput):
        ServiceListEntry.add(id="sv-1", community=N["g1"], kind=ServiceListKind.CARE, title="x", description="",
                             provider=Provider.of(ServiceProviderKind.UNIT, "u", "单位"),
                             how_to_order=HowToOrder.of("窗口", "", ""), by=SUPER, now=T0)


# -- three-lists matching -------------------------------------------------------------------------------------------
def test_a_need_moves_open_matched_done_and_closes_with_a_reason():
    need = Need.post(id="nd-1", community=N["m1"], title="助餐", description="", by=ADMIN_T1, now=T0,
                     category=ListCategory.ELDERLY_CARE)
    assert need.status is NeedStatus.OPEN and need.drain_events()[0].data["category"] == "ELDERLY_CARE"
    need.move_to(NeedStatus.MATCHED, ADMIN_T1, T0)
    need.move_to(NeedStatus.MATCHED, ADMIN_T1, T0)  # a retry
    need.move_to(NeedStatus.DONE, ADMIN_T1, T0)
    with pytest.raises(Conflict):
        need.move_to(NeedStatus.OPEN, ADMIN_T1, T0)
    with pytest.raises(BadInput):
        need.move_to(NeedStatus.CLOSED, ADMIN_T1, T0)
    need.move_to(NeedStatus.CLOSED, ADMIN_T1, T0, "已完成归档")
    assert [e.data["status"] for e in need.drain_events()] == ["MATCHED", "DONE", "CLOSED"]


def test_suggestions_come_nearest_first():
    need = Need.post(id="nd-1", community=N["m1"], title="助餐", description="", by=ADMIN_T1, now=T0)
    assert rings(need) == ["m1", "t1", "k", "c"]
    found = [("far", N["m2"].path), ("near", N["g1"].path), ("town", N["t1"].path), ("near2", N["m1"].path)]
    assert nearest_first(found, rings(need), 3) == ["near", "near2", "town"]


def test_a_project_takes_its_need_category():
    need = Need.post(id="nd-1", community=N["m1"], title="助餐", description="", by=ADMIN_T1, now=T0,
                     category=ListCategory.ELDERLY_CARE)
    unit = Unit.register(id="u-1", name="食堂", kind="ENTERPRISE", region=N["m1"], contacts=[], by=ADMIN_T1, now=T0)
    res = Resource.offer(id="rs-1", unit=unit, title="食堂", description="", by=ADMIN_T1, now=T0,
                         category=ListCategory.ELDERLY_CARE)
    project = Project.propose(id="pj-1", need=need, resource=res, title="助餐点", by=ADMIN_T1, now=T0)
    assert project.category is ListCategory.ELDERLY_CARE
