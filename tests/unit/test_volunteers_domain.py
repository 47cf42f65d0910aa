"""Unit tests of the volunteers domain: capacity, first taker wins, sign-up limits,
check-in by code and by polygon, hours, points, every illegal order transition, rollups."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.volunteers.domain import (Activity, CatalogueItem, LedgerEntry, MemberRef,
                                        OrderStatus, Post, PostType, PointsRules, RollupDelta,
                                        ServiceOrder, SourceKind, Target, TargetKind, Team,
                                        Volunteer, VolunteerTask, award, balance, can_claim,
                                        claims_of, counters_of, credit_hours_tenths, expire,
                                        phone_for, quarterly_feedback, recount, records_of,
                                        redeem, take_filter, wish_wall)
from services.volunteers.domain.orders import GeoPoint
from shared.auth import Principal, Role
from shared.errors import BadInput, Conflict, Forbidden, NotFound

T0 = datetime(2026, 10, 10, 8, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
PATH = ("c", "k", "t1", "m1")
GRID_PATH = ("c", "k", "t1", "m1", "g1")
ADMIN = Principal(sub="admin-k", role=Role.ADMIN, region="k")
OPERATOR = Principal(sub="op-m1", role=Role.OPERATOR, region="m1")
OTHER_OP = Principal(sub="op-m2", role=Role.OPERATOR, region="m2")
RESIDENT = Principal(sub="res1", role=Role.RESIDENT)
OTHER_RES = Principal(sub="res2", role=Role.RESIDENT)
MEMBERS = {"mem-7": MemberRef(member_id="mem-7", org_id="org-1", in_service=True,
                              work_unit_id="unit-3")}
GRID = {"type": "Polygon", "coordinates": [[[116.0, 39.0], [116.01, 39.0], [116.01, 39.01],
                                            [116.0, 39.01], [116.0, 39.0]]]}


def vol(n: int, member_id: str | None = None) -> tuple[Volunteer, Principal]:
    p = Principal(sub=f"v{n}", role=Role.VOLUNTEER, region="m1", member=member_id)
    v = Volunteer.register(id=f"vol{n}", sub=p.sub, name=f"志愿者{n}", home_path=PATH,
                           by=OPERATOR, now=T0, member_id=member_id, members=MEMBERS,
                           phone_enc="enc", skills=["维修"])
    return v, p


def post(capacity=2) -> Post:
    return Post.create(id="p1", title="垃圾分类督导", post_type=PostType.ENVIRONMENT,
                       capacity=capacity, anchor_path=GRID_PATH, by=OPERATOR, now=T0)


def order(by=RESIDENT) -> ServiceOrder:
    return ServiceOrder.place(id="o1", category="助老", description="帮忙买菜", path=PATH,
                              by=by, now=T0, building_id="b1", wished_at=T0 + 24 * H)


def order_at(status: OrderStatus) -> tuple[ServiceOrder, Volunteer, Principal]:
    o = order()
    v, p = vol(1)
    if status is OrderStatus.REJECTED:
        o.reject(OPERATOR, "不属于服务范围", T0)
    elif status is OrderStatus.CANCELLED:
        o.cancel(RESIDENT, T0)
    elif status is not OrderStatus.PENDING_REVIEW:
        o.approve(OPERATOR, T0)
    steps = [OrderStatus.DISPATCHED, OrderStatus.TAKEN, OrderStatus.IN_PROGRESS,
             OrderStatus.COMPLETED, OrderStatus.RATED]
    if status in steps:
        o.dispatch(OPERATOR, Target(kind=TargetKind.VOLUNTEER, id=v.id), T0)
    if status in steps[1:]:
        o.take(p, v, T0)
    if status in steps[2:]:
        o.start(p, T0)
    if status in steps[3:]:
        o.complete(p, 2.5, T0 + 3 * H)
    if status in steps[4:]:
        o.rate(RESIDENT, 5, T0 + 4 * H)
    assert o.status is status
    o.drain_events()
    return o, v, p


# ---- volunteers, teams --------------------------------------------------------------------
def test_register_party_member_needs_the_replica_and_records_an_event():
    v, _ = vol(7, "mem-7")
    assert v.volunteer_kind == "PARTY_MEMBER" and v.in_service_member
    [e] = v.drain_events()
    assert e.type == "VOLUNTEER_REGISTERED"
    assert e.subject == "yiwang.evt.volunteers.VOLUNTEER_REGISTERED.c.k.t1.m1"
    assert e.counters["volunteers"] == 1
    with pytest.raises(NotFound):
        vol(8, "mem-unknown")


def test_resident_registers_only_themself():
    v = Volunteer.register(id="x", sub="someone-else", name="王五", home_path=PATH, by=RESIDENT,
                           now=T0)
    assert v.sub == RESIDENT.sub


def test_team_membership():
    a, _ = vol(1)
    b, _ = vol(2)
    team = Team.create(id="t", name="红马甲", leader=a, path=PATH, by=OPERATOR, now=T0)
    team.add_member(OPERATOR, b, T0)
    with pytest.raises(Conflict):
        team.add_member(OPERATOR, b, T0)
    with pytest.raises(Conflict):
        team.remove_member(OPERATOR, a.id, T0)
    with pytest.raises(Forbidden):
        team.add_member(OTHER_OP, b, T0)
    team.remove_member(OPERATOR, b.id, T0)
    assert team.member_ids == [a.id] and team.version == 3


# ---- posts --------------------------------------------------------------------------------
def test_post_capacity_and_one_claim_per_volunteer():
    p = post(capacity=2)
    (v1, p1), (v2, p2), (v3, p3) = vol(1), vol(2), vol(3)
    p.claim(p1, v1, T0)
    with pytest.raises(Conflict, match="already claimed"):
        p.claim(p1, v1, T0)
    p.claim(p2, v2, T0)
    version = p.version
    with pytest.raises(Conflict, match="full"):
        p.claim(p3, v3, T0)
    assert p.version == version and p.claimed_count == 2 == len(p.claimants)
    p.release(p1, v1, T0)
    p.claim(p3, v3, T0)
    assert [c.volunteer_id for c in p.claimants] == ["vol2", "vol3"]
    assert claims_of([p], "vol3") == [p] and claims_of([p], "vol1") == []
    with pytest.raises(NotFound):
        p.release(p1, v1, T0)


def test_claim_only_for_yourself_and_staff_may_release_anyone():
    p = post()
    (v1, p1), (_, p2) = vol(1), vol(2)
    with pytest.raises(Forbidden):
        p.claim(p2, v1, T0)
    with pytest.raises(Forbidden):
        p.claim(OPERATOR, v1, T0)
    p.claim(p1, v1, T0)
    p.release(OPERATOR, v1, T0)
    assert p.claimed_count == 0


def test_can_claim_is_the_pure_rule_and_closed_posts_refuse():
    p = post(capacity=1)
    can_claim(p, "vol1")
    p.close(OPERATOR, T0)
    with pytest.raises(Conflict, match="CLOSED"):
        can_claim(p, "vol1")


def test_post_capacity_is_validated():
    for bad in (0, -1, True, 1.5):
        with pytest.raises(BadInput):
            post(capacity=bad)


# ---- orders -------------------------------------------------------------------------------
def test_order_happy_path_records_events_and_counters():
    o = order()
    v, p = vol(1)
    o.approve(OPERATOR, T0)
    assert wish_wall([o], "m1") == [o]
    o.take(p, v, T0)  # grab from the wish wall
    o.start(p, T0 + H)
    o.complete(p, 1.5, T0 + 3 * H)
    o.rate(RESIDENT, 4, T0 + 4 * H, "很好")
    types = [e.type for e in o.drain_events()]
    assert types == ["ORDER_PLACED", "ORDER_APPROVED", "ORDER_TAKEN", "ORDER_STARTED",
                     "ORDER_COMPLETED", "ORDER_RATED"]
    assert o.version == 6 and o.hours == 1.5
    assert counters_of(o)["service_hours_tenths"] == 15
    assert counters_of(o)["completed_orders"] == 1


def test_order_needs_location_or_building_and_a_resident():
    with pytest.raises(BadInput):
        ServiceOrder.place(id="o", category="助老", description="x", path=PATH, by=RESIDENT,
                           now=T0)
    o = ServiceOrder.place(id="o", category="助老", description="x", path=PATH, by=RESIDENT,
                           now=T0, location=GeoPoint(lng=116.0, lat=39.0))
    assert o.resident_sub == "res1"
    with pytest.raises(Forbidden):
        order(by=OPERATOR)


def test_first_taker_wins_exactly_once():
    o, _, _ = order_at(OrderStatus.OPEN)
    (v1, p1), (v2, p2) = vol(1), vol(2)
    cond = take_filter(o)
    assert cond["status"] == "OPEN"
    o.take(p1, v1, T0)
    with pytest.raises(Conflict, match="it is TAKEN; allowed from OPEN, DISPATCHED"):
        o.take(p2, v2, T0)
    assert o.taker_id == "vol1"


def test_dispatched_order_is_taken_only_by_its_target():
    o, v, p = order_at(OrderStatus.DISPATCHED)
    v2, p2 = vol(2)
    with pytest.raises(Forbidden):
        o.take(p2, v2, T0)
    team = Team.create(id="t", name="队", leader=v2, path=PATH, by=OPERATOR, now=T0)
    o.dispatch(OPERATOR, Target(kind=TargetKind.TEAM, id="t"), T0)  # 改派
    with pytest.raises(Forbidden):
        o.take(p, v, T0, team=team)
    o.take(p2, v2, T0, team=team)
    ps = post()
    ps.claim(p, v, T0)
    o.dispatch(OPERATOR, Target(kind=TargetKind.POST, id="p1",
                                post_type=PostType.ENVIRONMENT), T0)
    assert o.taker_id is None
    o.take(p, v, T0, post=ps)
    o.start(p, T0)
    with pytest.raises(Conflict):
        o.dispatch(OPERATOR, Target(kind=TargetKind.VOLUNTEER, id="vol2"), T0)


def test_only_the_taker_works_and_hours_are_bounded():
    o, _, p = order_at(OrderStatus.TAKEN)
    _, p2 = vol(2)
    with pytest.raises(Forbidden):
        o.start(p2, T0)
    o.start(p, T0)
    for bad in (0, -1, 24.5, float("nan"), 1.25, True):
        with pytest.raises(BadInput):
            o.complete(p, bad, T0)
    o.complete(p, 24, T0)
    assert o.hours_tenths == 240


def test_rate_only_by_the_placer_with_1_to_5():
    o, _, _ = order_at(OrderStatus.COMPLETED)
    with pytest.raises(Forbidden):
        o.rate(OTHER_RES, 5, T0)
    for bad in (0, 6, True, 4.5):
        with pytest.raises(BadInput):
            o.rate(RESIDENT, bad, T0)
    o.rate(RESIDENT, 1, T0)
    assert o.status is OrderStatus.RATED


def test_cancel_by_resident_before_start_and_by_community_with_a_reason():
    o, _, _ = order_at(OrderStatus.TAKEN)
    o.cancel(RESIDENT, T0)
    assert o.status is OrderStatus.CANCELLED
    o, _, _ = order_at(OrderStatus.IN_PROGRESS)
    with pytest.raises(Conflict):
        o.cancel(RESIDENT, T0)
    with pytest.raises(BadInput):
        o.cancel(OPERATOR, T0)
    with pytest.raises(Forbidden):
        o.cancel(OTHER_RES, T0, "x")
    o.cancel(OPERATOR, T0, "居民已搬离")
    assert o.cancel_reason == "居民已搬离"


def test_reject_needs_a_reason():
    o = order()
    with pytest.raises(BadInput):
        o.reject(OPERATOR, " ", T0)
    with pytest.raises(Forbidden):
        o.reject(OTHER_OP, "x", T0)
    o.reject(OPERATOR, "重复", T0)
    assert o.reject_reason == "重复"


S = OrderStatus
ALLOWED = {
    "approve": {S.PENDING_REVIEW}, "reject": {S.PENDING_REVIEW},
    "dispatch": {S.OPEN, S.DISPATCHED, S.TAKEN}, "take": {S.OPEN, S.DISPATCHED},
    "start": {S.TAKEN}, "complete": {S.IN_PROGRESS}, "rate": {S.COMPLETED},
    "cancel_resident": {S.PENDING_REVIEW, S.OPEN, S.DISPATCHED, S.TAKEN},
    "cancel_community": {S.PENDING_REVIEW, S.OPEN, S.DISPATCHED, S.TAKEN, S.IN_PROGRESS},
}


def _do(command: str, o: ServiceOrder, v: Volunteer, p: Principal) -> None:
    if command == "approve":
        o.approve(OPERATOR, T0)
    elif command == "reject":
        o.reject(OPERATOR, "r", T0)
    elif command == "dispatch":
        o.dispatch(OPERATOR, Target(kind=TargetKind.VOLUNTEER, id=v.id), T0)
    elif command == "take":
        o.take(p, v, T0)
    elif command == "start":
        o.start(p if o.taker_sub else Principal(sub="root", role=Role.SUPERADMIN), T0)
    elif command == "complete":
        o.complete(p if o.taker_sub else Principal(sub="root", role=Role.SUPERADMIN), 1, T0)
    elif command == "rate":
        o.rate(RESIDENT, 5, T0)
    elif command == "cancel_resident":
        o.cancel(RESIDENT, T0)
    else:
        o.cancel(OPERATOR, T0, "r")


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("command", list(ALLOWED))
def test_every_order_transition_is_allowed_or_a_typed_conflict(status, command):
    o, v, p = order_at(status)
    before = o.model_dump()
    if status in ALLOWED[command]:
        _do(command, o, v, p)
        assert o.version == before["version"] + 1 and len(o.pending_events) == 1
    else:
        with pytest.raises(Conflict) as err:
            _do(command, o, v, p)
        assert f"it is {status}" in err.value.message
        assert set(err.value.details["allowed"]) == {str(s) for s in ALLOWED[command]}
        assert o.model_dump() == before and o.pending_events == []


# ---- case tasks ---------------------------------------------------------------------------
def test_case_task_credits_hours_once():
    t = VolunteerTask.from_case(case_id="case-1", title="独居老人探访", path=GRID_PATH,
                                volunteer_id="vol1", now=T0)
    assert t.resolve(T0 + H, default_hours=2.0)
    assert not t.resolve(T0 + 2 * H, hours=5)
    assert t.hours == 2.0 and t.version == 2
    assert [e.type for e in t.drain_events()] == ["TASK_ASSIGNED", "TASK_RESOLVED"]
    assert counters_of(t)["service_hours_tenths"] == 20


# ---- activities ---------------------------------------------------------------------------
def activity(capacity=2, code="123456", boundary=GRID) -> Activity:
    return Activity.create(id="a1", title="社区清洁日", path=GRID_PATH, starts_at=T0 + H,
                           ends_at=T0 + 4 * H, capacity=capacity, by=OPERATOR, now=T0,
                           check_code=code, boundary=boundary)


def test_sign_up_never_overbooks_and_cancel_frees_a_slot():
    a = activity(capacity=2)
    (v1, p1), (v2, p2), (v3, p3) = vol(1), vol(2), vol(3)
    a.sign_up(p1, v1, T0)
    with pytest.raises(Conflict, match="already signed up"):
        a.sign_up(p1, v1, T0)
    a.sign_up(p2, v2, T0)
    with pytest.raises(Conflict, match="full"):
        a.sign_up(p3, v3, T0)
    a.cancel_sign_up(p1, v1, T0)
    a.sign_up(p3, v3, T0)
    assert a.signed_count == 2 == len(a.signups)
    with pytest.raises(Conflict, match="over"):
        activity().sign_up(p1, v1, T0 + 4 * H)


def test_check_in_by_code_compares_the_code():
    a = activity()
    v, p = vol(1)
    a.sign_up(p, v, T0)
    with pytest.raises(BadInput, match="does not match"):
        a.check_in(p, v, T0 + H, code="654321")
    with pytest.raises(Conflict):
        a.check_in(p, v, T0, code="123456")  # too early (more than 30 min before)
    a.check_in(p, v, T0 + H, code="123456")
    with pytest.raises(Conflict):
        a.check_in(p, v, T0 + H, code="123456")
    a.check_out(p, v, T0 + 2 * H + timedelta(minutes=59), code="123456")
    assert a.attendance(v.id).hours == 1.5
    assert [e.data.get("method") for e in a.pending_events[-2:]] == ["CODE", "CODE"]


def test_check_in_by_location_inside_the_grid_polygon():
    a = activity(code=None)
    v, p = vol(1)
    a.sign_up(p, v, T0)
    with pytest.raises(BadInput, match="outside"):
        a.check_in(p, v, T0 + H, point=(116.02, 39.005))
    with pytest.raises(BadInput):
        a.check_in(p, v, T0 + H, code="123456")  # no code set
    with pytest.raises(BadInput):
        a.check_in(p, v, T0 + H)
    a.check_in(p, v, T0 + H, point=(116.005, 39.005))
    a.check_out(p, v, T0 + 2 * H, point=(116.01, 39.01))  # on the corner: covered
    assert a.attendance(v.id).hours == 1.0


def test_not_signed_up_cannot_check_in():
    a = activity()
    v, p = vol(1)
    with pytest.raises(NotFound):
        a.check_in(p, v, T0 + H, code="123456")


@pytest.mark.parametrize("minutes,expected", [(0, 0), (29, 0), (30, 5), (59, 5), (60, 10),
                                              (119, 15), (180, 30), (600, 30)])
def test_credit_hours_round_down_to_half_hours_and_cap_at_duration(minutes, expected):
    assert credit_hours_tenths(T0, T0 + timedelta(minutes=minutes), 3 * H) == expected


def test_backfill_is_admin_only_marked_and_bounded():
    a = activity()
    v, p = vol(1)
    with pytest.raises(Forbidden):
        a.backfill(OPERATOR, v, 2, "忘记签到", T0)
    with pytest.raises(BadInput):
        a.backfill(ADMIN, v, 3.5, "忘记签到", T0)  # longer than the activity
    with pytest.raises(BadInput):
        a.backfill(ADMIN, v, 2, "", T0)
    a.backfill(ADMIN, v, 2, "忘记签到", T0 + 5 * H)
    att = a.attendance(v.id)
    assert att.backfilled and att.hours == 2 and a.signed_count == 0
    with pytest.raises(Conflict):
        a.backfill(ADMIN, v, 1, "again", T0)
    assert a.pending_events[-1].data["backfilled"] is True
    [rec] = records_of(a)
    assert rec.backfilled


# ---- points -------------------------------------------------------------------------------
RULES = PointsRules(points_per_hour=2, multipliers={PostType.LEGAL_AID: 1.5}, expiry_days=30)


def credit(ledger, n, hours_tenths=10, at=T0, rules=RULES, **kw):
    e = award(ledger, entry_id=f"e{n}", volunteer_id="vol1", source_kind=kw.pop("kind",
              SourceKind.ORDER), source_id=f"s{n}", hours_tenths=hours_tenths, now=at,
              rules=rules, **kw)
    if e:
        ledger.append(e)
    return e


def test_award_is_idempotent_per_source_and_follows_the_rules():
    ledger: list[LedgerEntry] = []
    assert credit(ledger, 1, 15).delta == 3
    assert credit(ledger, 1, 15) is None
    assert credit(ledger, 2, 10, post_type=PostType.LEGAL_AID).delta == 3
    assert credit(ledger, 3, 10, backfilled=True) is None
    assert credit(ledger, 4, 10, kind=SourceKind.BACKFILL) is None
    loose = PointsRules(only_credit_hours=False)
    assert credit(ledger, 5, 10, kind=SourceKind.BACKFILL, rules=loose).delta == 1
    assert credit(ledger, 6, 5, rules=PointsRules()) is None  # half an hour: 0 points
    with pytest.raises(BadInput):
        credit(ledger, 7, kind=SourceKind.REDEMPTION)
    assert balance(ledger, T0) == 7
    assert ledger[0].expires_at == T0 + timedelta(days=30)


def test_expiry_is_fifo_after_redemptions():
    ledger: list[LedgerEntry] = []
    credit(ledger, 1, 50, at=T0)               # 10 points, expires T0+30d
    credit(ledger, 2, 50, at=T0 + timedelta(days=10))  # 10 points, expires T0+40d
    item = CatalogueItem(code="soap", name="肥皂", cost=12, stock=3)
    entry, item = redeem(ledger, item, T0 + timedelta(days=20), entry_id="r1",
                         volunteer_id="vol1", redemption_id="red-1")
    ledger.append(entry)
    assert item.stock == 2 and balance(ledger, T0 + timedelta(days=20)) == 8
    day35 = T0 + timedelta(days=35)
    assert balance(ledger, day35) == 8  # first lot fully spent: nothing lost
    assert expire(ledger, day35, volunteer_id="vol1") == []
    day45 = T0 + timedelta(days=45)
    [exp] = expire(ledger, day45, volunteer_id="vol1")
    assert exp.delta == -8 and exp.source_id == "e2"
    ledger.append(exp)
    assert balance(ledger, day45) == 0 == sum(e.delta for e in ledger)
    assert expire(ledger, day45, volunteer_id="vol1") == []


def test_redemption_never_below_zero():
    ledger: list[LedgerEntry] = []
    credit(ledger, 1, 20)  # 4 points
    item = CatalogueItem(code="cup", name="杯子", cost=5, stock=1)
    with pytest.raises(Conflict, match="5 points needed, 4 available"):
        redeem(ledger, item, T0, entry_id="r", volunteer_id="vol1", redemption_id="x")
    cheap = item.model_copy(update={"cost": 4})
    entry, left = redeem(ledger, cheap, T0, entry_id="r", volunteer_id="vol1",
                         redemption_id="x")
    ledger.append(entry)
    assert balance(ledger, T0) == 0 and left.stock == 0
    credit(ledger, 2, 50)
    with pytest.raises(Conflict, match="out of stock"):
        redeem(ledger, left, T0, entry_id="r2", volunteer_id="vol1", redemption_id="y")
    with pytest.raises(Conflict, match="already"):
        redeem(ledger, cheap, T0, entry_id="r3", volunteer_id="vol1", redemption_id="x")
    with pytest.raises(BadInput):
        redeem(ledger, cheap.model_copy(update={"cost": 0}), T0, entry_id="r4",
               volunteer_id="vol1", redemption_id="z")


# ---- feedback, masking, rollups -----------------------------------------------------------
def test_quarterly_feedback_of_an_in_service_member():
    v, p = vol(7, "mem-7")
    o, _, _ = order_at(OrderStatus.OPEN)
    o.take(p, v, T0)
    o.start(p, T0)
    o.complete(p, 2, T0 + 2 * H)
    t = VolunteerTask.from_case(case_id="c9", title="调解", path=GRID_PATH, volunteer_id=v.id,
                                now=T0)
    t.resolve(T0 + H, hours=1)
    late = VolunteerTask.from_case(case_id="c10", title="x", path=GRID_PATH, volunteer_id=v.id,
                                   now=T0)
    late.resolve(datetime(2027, 1, 1, 1, tzinfo=timezone.utc), hours=3)  # 2027Q1 in China
    records = [r for x in (o, t, late) for r in records_of(x)]
    fb = quarterly_feedback(records, v, "2026Q4")
    assert (fb.hours, fb.orders, fb.cases, fb.activities) == (3.0, 1, 1, 0)
    assert fb.member_id == "mem-7" and fb.work_unit_id == "unit-3"
    with pytest.raises(BadInput):
        quarterly_feedback(records, vol(1)[0], "2026Q4")
    with pytest.raises(BadInput):
        quarterly_feedback(records, v, "2026-Q4")


def test_phone_is_masked_for_those_who_do_not_need_it():
    v, p = vol(1)
    _, other = vol(2)
    assert phone_for(p, v, "13812345678") == "13812345678"
    assert phone_for(OPERATOR, v, "13812345678") == "13812345678"
    assert phone_for(OTHER_OP, v, "13812345678") == "138****5678"
    assert phone_for(other, v, "13812345678") == "138****5678"
    assert phone_for(RESIDENT, v, "13812345678") == "138****5678"


def test_rollup_deltas_sum_to_a_recount():
    live: dict[str, dict[str, int]] = {}
    records = []

    def step(before, after):
        RollupDelta.between(before, after).apply_to(live)

    v1, p1 = vol(1)
    step(None, v1)
    ps = post(capacity=1)
    step(None, ps)
    b = ps.model_copy(deep=True)
    ps.claim(p1, v1, T0)
    step(b, ps)
    o = order()
    step(None, o)
    for cmd in (lambda: o.approve(OPERATOR, T0), lambda: o.take(p1, v1, T0),
                lambda: o.start(p1, T0), lambda: o.complete(p1, 2.5, T0)):
        b = o.model_copy(deep=True)
        cmd()
        step(b, o)
    ledger: list[LedgerEntry] = []
    e = credit(ledger, 1, 25, region_path=PATH)
    step(None, e)
    records += [v1, ps, o, e]
    assert live == recount(records)
    assert live["m1"] == {"volunteers": 1, "active_posts": 1, "claimed_posts": 1,
                          "completed_orders": 1,
                          "service_hours_tenths": 25, "points_issued": 5}
    assert live["g1"] == {"active_posts": 1, "claimed_posts": 1}
    assert counters_of(o)["open_orders"] == 0
