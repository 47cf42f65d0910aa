"""Residents' points (积分制) and units' service orders, pure: rules and caps per period, expiry and
redemption on the volunteers' ledger rules, the figures and their recount, where a unit may serve."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.volunteers import domain as d
from services.volunteers.domain.resident_points import period_start
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 10, 7, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in the city
COMMUNITY = ("c", "k", "t1", "m1")
GRID = (*COMMUNITY, "g1")
OTHER = ("c", "k", "t1", "m2")
RULES = {r.code: r for r in d.DEFAULT_RESIDENT_RULES}
OPERATOR = Principal(sub="op-m1", role=Role.OPERATOR, region="m1")
RESIDENT = Principal(sub="res-1", role=Role.RESIDENT)


def award(entries, code="RUBBISH_SORTING", occasion="2026-10-07", at=T0, path=GRID, community="m1", n=[0]):
    n[0] += 1
    e = d.award_resident(entries, rule=RULES[code], occasion=occasion, entry_id=f"e{n[0]}", account_id="ra-1",
                         community_id=community, region_path=path, now=at, expiry_days=365, tz=TZ)
    if e is not None:
        entries.append(e)
    return e


def test_the_default_table_names_what_seed_004_rewards():
    assert {"DELIBERATION", "ACTIVITY", "RUBBISH_SORTING", "VOLUNTEER_SERVICE"} <= set(RULES)
    assert RULES["DELIBERATION"].description == "参与议事" and RULES["RUBBISH_SORTING"].cap == 1
    assert d.check_rules(list(d.DEFAULT_RESIDENT_RULES)) == d.DEFAULT_RESIDENT_RULES


def test_a_table_needs_rules_each_code_once():
    with pytest.raises(BadInput):
        d.check_rules([])
    with pytest.raises(BadInput, match="twice"):
        d.check_rules([RULES["ACTIVITY"], RULES["ACTIVITY"]])
    with pytest.raises(BadInput, match="no points rule"):
        d.rule_of(d.DEFAULT_RESIDENT_RULES, "NO_SUCH")


def test_an_award_is_a_credit_lot_where_it_was_earned_once_per_occasion():
    entries: list = []
    e = award(entries)
    assert (e.delta, e.source_kind, e.rule_code, e.resident, e.region_path) == (1, d.SourceKind.RULE,
                                                                                "RUBBISH_SORTING", True, GRID)
    assert e.expires_at == T0 + timedelta(days=365) and e.first_here
    assert award(entries) is None  # the same occasion again: the first award stands
    assert d.balance(entries, T0) == 1
    with pytest.raises(BadInput, match="occasion"):
        award(entries, occasion="  ")
    with pytest.raises(BadInput):
        award(entries, occasion="x", path=OTHER)  # not in community m1


@pytest.mark.parametrize(("code", "cap", "step"), [
    ("RUBBISH_SORTING", 1, timedelta(hours=1)),   # once a day
    ("ACTIVITY", 4, timedelta(hours=12)),         # four times a week
    ("DELIBERATION", 4, timedelta(days=1)),       # four times a month
])
def test_caps_count_awards_per_calendar_period_of_the_city(code, cap, step):
    entries: list = []
    for i in range(cap):
        award(entries, code, occasion=f"o{i}", at=T0 + i * step)
    with pytest.raises(Conflict, match=f"at most {'once' if cap == 1 else f'{cap} times'} per"):
        award(entries, code, occasion="one-too-many", at=T0 + cap * step)
    period = RULES[code].period
    nxt = period_start(period, T0, TZ) + {"DAY": timedelta(days=1), "WEEK": timedelta(days=7),
                                          "MONTH": timedelta(days=31)}[period.value]
    assert award(entries, code, occasion="next-period", at=nxt + timedelta(hours=1)) is not None


def test_periods_start_at_local_midnight_mondays_and_first_days():
    late = datetime(2026, 10, 6, 17, 0, tzinfo=UTC)  # 01:00 on Wednesday 7 October in the city
    assert period_start(d.Period.DAY, late, TZ) == datetime(2026, 10, 7, tzinfo=TZ)
    assert period_start(d.Period.WEEK, late, TZ) == datetime(2026, 10, 5, tzinfo=TZ)
    assert period_start(d.Period.MONTH, late, TZ) == datetime(2026, 10, 1, tzinfo=TZ)
    assert period_start(d.Period.YEAR, late, TZ) == datetime(2026, 1, 1, tzinfo=TZ)


def test_a_rule_without_a_cap_awards_every_occasion():
    free = d.ResidentPointsRule(code="TREE", description="植树", points=2, cap=None)
    entries = []
    for i in range(30):
        entries.append(d.award_resident(entries, rule=free, occasion=str(i), entry_id=str(i), account_id="ra",
                                        community_id="m1", region_path=COMMUNITY, now=T0, expiry_days=30, tz=TZ))
    assert d.balance(entries, T0) == 60


def test_residents_redeem_fifo_and_expire_with_the_volunteers_ledger_rules():
    entries: list = []
    award(entries, "DELIBERATION", "p1", at=T0)
    award(entries, "DELIBERATION", "p2", at=T0 + timedelta(days=200), path=OTHER, community="m2")
    item = d.CatalogueItem(code="SOAP", name="洗衣皂", cost=3, stock=2)
    entry, item = d.redeem(entries, item, T0 + timedelta(days=201), entry_id="r1", volunteer_id="ra-1",
                           redemption_id="r1", region_path=d.redemption_place(entries), resident=True)
    entries.append(entry)
    assert entry.resident and entry.region_path == OTHER and item.stock == 1  # counted where they last earned
    assert d.balance(entries, T0 + timedelta(days=201)) == 7
    with pytest.raises(Conflict, match="needed"):
        d.redeem(entries, d.CatalogueItem(code="TV", name="电视", cost=50, stock=1), T0 + timedelta(days=201),
                 entry_id="r2", volunteer_id="ra-1", redemption_id="r2", resident=True)
    # the first lot (5, of which 3 were spent) lapses a year on, where it was earned
    later = T0 + timedelta(days=366)
    out = d.expire(entries, later, volunteer_id="ra-1", region_path=None)
    assert [(e.delta, e.region_path, e.resident) for e in out] == [(-2, GRID, True)]
    entries += out
    assert d.balance(entries, later) == sum(e.delta for e in entries) == 5
    assert d.expire(entries, later, volunteer_id="ra-1", region_path=None) == []


def test_resident_figures_count_apart_from_volunteers_and_recount():
    entries: list = []
    award(entries, "ACTIVITY", "a1")
    award(entries, "ACTIVITY", "a2")  # a second award in m1: the resident is counted once there
    award(entries, "ACTIVITY", "a3", path=OTHER, community="m2")
    live: dict = {}
    for e in entries:
        d.RollupDelta.of(e.region_path, None, d.counters_of(e)).apply_to(live)
    assert live == d.recount(entries)
    assert live["m1"] == {"resident_points_awarded": 6, "residents_with_points": 1}
    assert live["k"] == {"resident_points_awarded": 9, "residents_with_points": 2}
    assert "points_issued" not in live["k"]


def test_who_reads_a_residents_ledger():
    d.resident_ledger_reader(RESIDENT, own=True)
    with pytest.raises(Forbidden):
        d.resident_ledger_reader(RESIDENT, own=False)
    d.resident_ledger_reader(OPERATOR, own=False)
    with pytest.raises(Forbidden):
        d.resident_ledger_reader(Principal(sub="v", role=Role.VOLUNTEER, region="m1"), own=False)
    assert d.in_ledger_scope(OPERATOR, GRID) and not d.in_ledger_scope(OPERATOR, OTHER)


# -- units take service orders ---------------------------------------------------------------------------
def order(now=T0) -> d.ServiceOrder:
    o = d.ServiceOrder.place(id="so-1", category="维修", description="楼道灯坏了", path=(*GRID, "b1"), by=RESIDENT,
                             now=now, building_id="b1")
    o.approve(OPERATOR, now)
    return o


def test_a_unit_serves_its_community_or_its_street():
    d.require_unit_in_area((*GRID, "b1"), COMMUNITY, "u1", COMMUNITY)
    d.require_unit_in_area((*GRID, "b1"), COMMUNITY, "u1", (*GRID,))
    d.require_unit_in_area((*GRID, "b1"), COMMUNITY, "u1", ("c", "k", "t1"))  # 驻区单位 of the street
    for elsewhere in (OTHER, ("c", "k"), ("c", "k", "t2")):
        with pytest.raises(BadInput, match="unit u1"):
            d.require_unit_in_area((*GRID, "b1"), COMMUNITY, "u1", elsewhere)


def test_a_units_order_is_accepted_and_worked_by_staff_and_rated_by_the_resident():
    o = order()
    o.dispatch(OPERATOR, d.Target(kind=d.TargetKind.UNIT, id="u1", name="物业公司"), T0)
    vol = d.Volunteer.model_validate({"id": "v1", "sub": "v", "name": "x", "region_path": COMMUNITY,
                                      "volunteer_kind": "RESIDENT", "created_at": T0, "updated_at": T0})
    with pytest.raises(Forbidden):
        o.take(Principal(sub="v", role=Role.VOLUNTEER, region="m1"), vol, T0)
    with pytest.raises(Forbidden):  # staff of another community
        o.accept_for_unit(Principal(sub="op2", role=Role.OPERATOR, region="m2"), "王师傅", T0)
    o.accept_for_unit(OPERATOR, "物业维修班 王师傅", T0)
    assert (o.status, o.taker_id, o.unit_handler) == (d.OrderStatus.TAKEN, "u1", "物业维修班 王师傅")
    other_desk = Principal(sub="op-m1-b", role=Role.OPERATOR, region="m1")
    o.start(other_desk, T0)
    o.complete(OPERATOR, 1.5, T0)
    o.rate(RESIDENT, 5, T0)
    events = o.drain_events()
    assert all("物业维修班" not in str(e.data) for e in events)  # the handler, a person, never on the bus
    assert next(e for e in events if e.type == "ORDER_COMPLETED").data["unit_id"] == "u1"
    assert d.counters_of(o)["unit_orders_completed"] == 1 and d.counters_of(o)["service_hours_tenths"] == 0
    assert d.unit_recount([o]) == {"u1": {"orders": 1, "completed": 1, "hours_tenths": 15, "rated": 1,
                                          "rating_sum": 5}}


def test_a_volunteers_order_cannot_be_accepted_for_a_unit_and_redispatch_moves_unit_figures():
    o = order()
    o.dispatch(OPERATOR, d.Target(kind=d.TargetKind.VOLUNTEER, id="v1"), T0)
    with pytest.raises(Conflict, match="not dispatched to a unit"):
        o.accept_for_unit(OPERATOR, "王师傅", T0)
    before = o.model_copy(deep=True)
    o.dispatch(OPERATOR, d.Target(kind=d.TargetKind.UNIT, id="u1"), T0)
    live: dict = {}
    for delta in d.unit_deltas(before, o):
        delta.apply_to(live)
    before = o.model_copy(deep=True)
    o.dispatch(OPERATOR, d.Target(kind=d.TargetKind.UNIT, id="u2"), T0)
    for delta in d.unit_deltas(before, o):
        delta.apply_to(live)
    assert live == d.unit_recount([o]) == {"u2": {"orders": 1, "open": 1}}
