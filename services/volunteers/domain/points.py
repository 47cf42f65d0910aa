"""Points (积分): an append-only ledger per volunteer and the rules that write it.

Credit entries (ORDER, ACTIVITY, CASE, BACKFILL) are lots with an expiry. Redemptions
consume the oldest unexpired lots first (FIFO); an EXPIRY entry writes off what is left of
one expired lot (`source_id` = that lot's entry id). So after `expire(entries, now)` the sum
of all deltas equals `balance(entries, now)`, and neither is ever negative.

Redeeming is only safe if balances do not race: the service serialises redemptions per
volunteer (the store's condition is `balance ≥ cost`, i.e. `redeem_condition`), and takes
stock with a conditional decrement (`stock ≥ 1`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import BadInput, Conflict

from .enums import PostType, SourceKind


class PointsRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    points_per_hour: float = Field(default=1.0, ge=0)
    multipliers: Mapping[PostType, float] = Field(default_factory=dict)
    expiry_days: int = Field(default=365, ge=1)
    only_credit_hours: bool = True  # back-filled hours earn no points unless False

    def points_for(self, hours_tenths: int, post_type: PostType | None = None) -> int:
        """Whole points for hours given in tenths; fractions are dropped."""
        mult = self.multipliers.get(post_type, 1.0) if post_type else 1.0
        return math.floor(hours_tenths * self.points_per_hour * mult / 10 + 1e-9)


DEFAULT_RULES = PointsRules()


class LedgerEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    volunteer_id: str
    delta: int
    source_kind: SourceKind
    source_id: str
    at: datetime
    expires_at: datetime | None = None  # credits only
    region_path: tuple[str, ...] = ()  # the volunteer's home, for the figures
    # residents' points (domain/resident_points.py): `volunteer_id` is then the resident's ledger
    # account, `region_path` where the points were earned (or redeemed), `rule_code` the rule of a
    # credit and `first_here` whether it is the resident's first credit in that community
    resident: bool = False
    rule_code: str | None = None
    first_here: bool = False

    @property
    def key(self) -> tuple[SourceKind, str]:
        return self.source_kind, self.source_id


class CatalogueItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    cost: int
    stock: int


@dataclass
class _Lot:
    entry: LedgerEntry
    left: int

    def live(self, now: datetime) -> bool:
        return self.left > 0 and (self.entry.expires_at is None or now < self.entry.expires_at)


@dataclass
class LedgerState:
    """The ledger replayed: what is left of each credit lot."""

    lots: list[_Lot] = field(default_factory=list)
    keys: set[tuple[SourceKind, str]] = field(default_factory=set)

    def balance(self, now: datetime) -> int:
        return sum(lot.left for lot in self.lots if lot.live(now))


def replay(entries: Sequence[LedgerEntry]) -> LedgerState:
    """Fold the ledger in order (by `at`, then position): redemptions take from the oldest
    lots live at their time, expiries write off their own lot."""
    state = LedgerState()
    by_id: dict[str, _Lot] = {}
    for e in sorted(entries, key=lambda e: e.at):  # stable: ties keep ledger order
        state.keys.add(e.key)
        if e.source_kind.is_credit:
            lot = _Lot(e, e.delta)
            state.lots.append(lot)
            by_id[e.id] = lot
        elif e.source_kind is SourceKind.EXPIRY:
            expired = by_id.get(e.source_id)
            if expired is not None:
                expired.left = max(0, expired.left + e.delta)
        else:
            need = -e.delta
            for lot in state.lots:
                if need <= 0:
                    break
                if lot.live(e.at):
                    take = min(lot.left, need)
                    lot.left -= take
                    need -= take
    return state


def balance(entries: Sequence[LedgerEntry], now: datetime) -> int:
    """Points a volunteer can spend at `now`: unexpired, unspent credits."""
    return replay(entries).balance(now)


def award(
    entries: Sequence[LedgerEntry],
    *,
    entry_id: str,
    volunteer_id: str,
    source_kind: SourceKind,
    source_id: str,
    hours_tenths: int,
    now: datetime,
    rules: PointsRules = DEFAULT_RULES,
    post_type: PostType | None = None,
    backfilled: bool = False,
    region_path: Iterable[str] = (),
) -> LedgerEntry | None:
    """The credit entry for service hours, or None when there is nothing to add: already
    awarded for (source_kind, source_id) (idempotent), back-filled hours the rules do not
    convert, or fewer hours than one point."""
    if not source_kind.is_credit:
        raise BadInput(f"{source_kind} is not a source of points")
    if any(e.key == (source_kind, source_id) for e in entries):
        return None
    if (backfilled or source_kind is SourceKind.BACKFILL) and rules.only_credit_hours:
        return None
    points = rules.points_for(hours_tenths, post_type)
    if points <= 0:
        return None
    return credit(
        entry_id=entry_id,
        volunteer_id=volunteer_id,
        points=points,
        source_kind=source_kind,
        source_id=source_id,
        now=now,
        expiry_days=rules.expiry_days,
        region_path=region_path,
    )


def credit(
    *,
    entry_id: str,
    volunteer_id: str,
    points: int,
    source_kind: SourceKind,
    source_id: str,
    now: datetime,
    expiry_days: int,
    region_path: Iterable[str] = (),
    **extra: Any,
) -> LedgerEntry:
    """A credit lot of `points` expiring `expiry_days` after `now` (the one shape every award takes)."""
    return LedgerEntry(
        id=entry_id,
        volunteer_id=volunteer_id,
        delta=points,
        source_kind=source_kind,
        source_id=source_id,
        at=now,
        expires_at=now + timedelta(days=expiry_days),
        region_path=tuple(region_path),
        **extra,
    )


def expire(
    entries: Sequence[LedgerEntry], now: datetime, *, volunteer_id: str, region_path: Iterable[str] | None = ()
) -> list[LedgerEntry]:
    """EXPIRY entries for what is left of every lot past its expiry at `now` (idempotent:
    a lot written off leaves nothing); `region_path` None: each at its own lot's place (a
    resident's points expire where they were earned)."""
    out = []
    for lot in replay(entries).lots:
        exp = lot.entry.expires_at
        if lot.left > 0 and exp is not None and exp <= now:
            out.append(
                LedgerEntry(
                    id=f"exp:{lot.entry.id}",
                    volunteer_id=volunteer_id,
                    delta=-lot.left,
                    source_kind=SourceKind.EXPIRY,
                    source_id=lot.entry.id,
                    at=now,
                    region_path=lot.entry.region_path if region_path is None else tuple(region_path),
                    resident=lot.entry.resident,
                )
            )
    return out


def redeem_condition(entries: Sequence[LedgerEntry], item: CatalogueItem, now: datetime) -> None:
    """The rule the serialised redemption checks: stock left and `balance ≥ cost`."""
    if isinstance(item.cost, bool) or item.cost <= 0:
        raise BadInput(f"item {item.code} has no valid cost", {"cost": item.cost})
    if item.stock <= 0:
        raise Conflict(f"item {item.code} is out of stock", {"code": item.code})
    have = balance(entries, now)
    if have < item.cost:
        raise Conflict(f"{item.cost} points needed, {have} available", {"balance": have, "cost": item.cost})


def redeem(
    entries: Sequence[LedgerEntry],
    item: CatalogueItem,
    now: datetime,
    *,
    entry_id: str,
    volunteer_id: str,
    redemption_id: str,
    region_path: Iterable[str] = (),
    resident: bool = False,
) -> tuple[LedgerEntry, CatalogueItem]:
    """A REDEMPTION entry of −cost and the item with one less in stock."""
    if any(e.key == (SourceKind.REDEMPTION, redemption_id) for e in entries):
        raise Conflict(f"redemption {redemption_id} was already made")
    redeem_condition(entries, item, now)
    entry = LedgerEntry(
        id=entry_id,
        volunteer_id=volunteer_id,
        delta=-item.cost,
        source_kind=SourceKind.REDEMPTION,
        source_id=redemption_id,
        at=now,
        region_path=tuple(region_path),
        resident=resident,
    )
    return entry, item.model_copy(update={"stock": item.stock - 1})


def history(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """Newest first."""
    return sorted(entries, key=lambda e: e.at, reverse=True)
