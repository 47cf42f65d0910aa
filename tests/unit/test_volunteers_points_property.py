"""Property: over random award / redeem / expire sequences with time advancing, the balance
is never negative and equals the ledger's unexpired, unspent credits, computed here by an
independent FIFO model."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from services.volunteers.domain import (CatalogueItem, LedgerEntry, PointsRules, SourceKind,
                                        award, balance, expire, redeem)
from shared.errors import Conflict

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RULES = PointsRules(points_per_hour=1, expiry_days=10)

ops = st.lists(st.tuples(st.sampled_from(["award", "redeem", "expire", "replay"]),
                         st.integers(0, 6 * 24),   # hours to advance
                         st.integers(1, 80)),      # tenths of hours, or cost
               max_size=40)


def model_balance(lots: list[list], now: datetime) -> int:
    return sum(left for _, exp, left in lots if now < exp)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_balance_never_negative_and_equals_unexpired_unspent(steps):
    ledger: list[LedgerEntry] = []
    lots: list[list] = []  # [entry id, expires_at, points left], oldest first
    now = T0
    for i, (op, advance, n) in enumerate(steps):
        now += timedelta(hours=advance)
        if op in ("award", "replay"):
            source = f"s{i}" if op == "award" or not ledger else ledger[0].source_id
            e = award(ledger, entry_id=f"e{i}", volunteer_id="v", source_kind=SourceKind.ORDER,
                      source_id=source, hours_tenths=n, now=now, rules=RULES)
            if op == "replay" and ledger:
                assert e is None
            if e is not None:
                ledger.append(e)
                lots.append([e.id, e.expires_at, e.delta])
        elif op == "redeem":
            item = CatalogueItem(code="x", name="x", cost=max(1, n // 10), stock=1)
            have = model_balance(lots, now)
            try:
                entry, _ = redeem(ledger, item, now, entry_id=f"r{i}", volunteer_id="v",
                                  redemption_id=f"r{i}")
            except Conflict:
                assert have < item.cost
            else:
                assert have >= item.cost
                ledger.append(entry)
                need = item.cost
                for lot in lots:
                    if now < lot[1] and need:
                        take = min(lot[2], need)
                        lot[2] -= take
                        need -= take
        else:
            ledger += expire(ledger, now, volunteer_id="v")
            for lot in lots:
                if lot[1] <= now:
                    lot[2] = 0
            assert sum(e.delta for e in ledger) == balance(ledger, now)
        b = balance(ledger, now)
        assert b >= 0
        assert b == model_balance(lots, now)
