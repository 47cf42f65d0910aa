"""The community fund (活动经费, 费随事转): one account per community and year, and its spendings.

Money is integer fen here (the API speaks yuan with two decimals). An account's balance is
granted − committed − spent and never goes below zero. A spending at or below the approval
threshold is spent at once; above it the money is committed until an admin above the community
(not whoever recorded it) approves (spent) or rejects it (released). The store repeats the
balance check in the same write (a conditional update), so concurrent spendings cannot overdraw.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.resources import FundEntryStatus, FundTargetKind

from .enums import Action
from .events import Aggregate
from .policy import authorize
from .values import Node, text

MAX_FEN = 10**12  # ¥10,000,000,000: more than any community fund
MIN_YEAR, MAX_YEAR = 2000, 2100
S = FundEntryStatus


def to_fen(amount: float | int | str, what: str = "amount", *, zero: bool = False) -> int:
    """Yuan with at most two decimals as integer fen; positive (or zero, given `zero`)."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise BadInput(f"{what} must be a number of yuan", {what: str(amount)}) from None
    if not value.is_finite() or (isinstance(amount, float) and not math.isfinite(amount)):
        raise BadInput(f"{what} must be a finite number of yuan", {what: str(amount)})
    fen = value * 100
    if fen != fen.to_integral_value():
        raise BadInput(f"{what} has at most two decimals (fen)", {what: str(amount)})
    if fen < 0 or (fen == 0 and not zero):
        raise BadInput(f"{what} must be {'zero or more' if zero else 'more than zero'}", {what: str(amount)})
    if fen > MAX_FEN:
        raise BadInput(f"{what} is more than ¥{MAX_FEN // 100:,}", {what: str(amount)})
    return int(fen)


def to_yuan(fen: int) -> float:
    return fen / 100


def yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def account_id(community_id: str, year: int) -> str:
    """One account per community and year: its id says which."""
    return f"fa:{community_id}:{year}"


def check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadInput(f"year must be between {MIN_YEAR} and {MAX_YEAR}", {"year": year})
    return year


def approval_threshold(deployment_fen: int, community_fen: int | None) -> int:
    """The amount above which a spending waits for approval: the community's own threshold may
    be stricter (lower) than the deployment's, never looser."""
    return deployment_fen if community_fen is None else min(community_fen, deployment_fen)


def needs_approval(amount_fen: int, threshold_fen: int) -> bool:
    return amount_fen > threshold_fen


class FundTarget(BaseModel):
    """What a spending is for: a proposal, project, activity or service order (by id), or OTHER."""

    model_config = ConfigDict(frozen=True)

    kind: FundTargetKind
    id: str | None = Field(default=None, max_length=100)

    def model_post_init(self, _: object) -> None:
        if self.kind is not FundTargetKind.OTHER and not (self.id or "").strip():
            raise BadInput(f"a {self.kind} target names its id", {"kind": str(self.kind)})


class FundAccount(Aggregate):
    aggregate_name: ClassVar[str] = "fund_account"

    community_id: str
    community_path: tuple[str, ...]
    year: int
    granted_fen: int
    committed_fen: int = 0
    spent_fen: int = 0
    approval_above_fen: int | None = None  # the community's own (stricter) threshold
    created_at: datetime | None = None

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @property
    def balance_fen(self) -> int:
        return self.granted_fen - self.committed_fen - self.spent_fen

    @classmethod
    def open(
        cls,
        *,
        community: Node,
        year: int,
        granted_fen: int,
        approval_above_fen: int | None,
        deployment_threshold_fen: int,
        by: Principal,
        now: datetime,
    ) -> FundAccount:
        if community.level != "COMMUNITY":
            raise BadInput(f"a fund account belongs to a COMMUNITY, not a {community.level}", {"id": community.id})
        if approval_above_fen is not None and approval_above_fen > deployment_threshold_fen:
            raise BadInput(
                "a community's approval threshold may be stricter than the deployment's "
                f"{yuan(deployment_threshold_fen)}, not looser",
                {"approvalAbove": to_yuan(approval_above_fen), "deployment": to_yuan(deployment_threshold_fen)},
            )
        account = cls(
            id=account_id(community.id, check_year(year)),
            community_id=community.id,
            community_path=community.path,
            year=year,
            granted_fen=granted_fen,
            approval_above_fen=approval_above_fen,
            created_at=now,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_FUNDS, account)
        granted = to_yuan(granted_fen)
        account._emit("FUND_ACCOUNT_CREATED", by, now, communityId=community.id, year=year, granted=granted)
        return account

    def same_grant(self, granted_fen: int, approval_above_fen: int | None) -> None:
        """A second `open` of this account: the same grant is a retry (the account as it is);
        another is a conflict."""
        if (granted_fen, approval_above_fen) != (self.granted_fen, self.approval_above_fen):
            raise Conflict(
                f"the {self.year} fund of community {self.community_id} exists "
                f"with a grant of {yuan(self.granted_fen)}",
                {"id": self.id, "granted": to_yuan(self.granted_fen)},
            )

    def threshold(self, deployment_fen: int) -> int:
        return approval_threshold(deployment_fen, self.approval_above_fen)

    def check_balance(self, amount_fen: int) -> None:
        if amount_fen > self.balance_fen:
            raise Conflict(
                f"the fund's balance is {yuan(self.balance_fen)}; a spending of {yuan(amount_fen)} would overdraw it",
                {"balance": to_yuan(self.balance_fen), "amount": to_yuan(amount_fen)},
            )

    def reserve(self, amount_fen: int, status: FundEntryStatus, now: datetime) -> None:
        """Take `amount_fen` from the balance: committed (waiting for approval) or spent."""
        self.check_balance(amount_fen)
        self._change(now)
        if status is S.COMMITTED:
            self.committed_fen += amount_fen
        else:
            self.spent_fen += amount_fen

    def settle(self, amount_fen: int, approved: bool, now: datetime) -> None:
        """A committed amount is decided: spent, or released back to the balance."""
        if amount_fen > self.committed_fen:
            raise Conflict("the fund has less committed than this spending", {"committed": to_yuan(self.committed_fen)})
        self._change(now)
        self.committed_fen -= amount_fen
        if approved:
            self.spent_fen += amount_fen


class FundEntry(Aggregate):
    """One spending from a community's fund."""

    aggregate_name: ClassVar[str] = "fund_entry"

    account_id: str
    community_id: str
    community_path: tuple[str, ...]
    year: int
    amount_fen: int
    purpose: str
    target: FundTarget
    attachment_ids: tuple[str, ...] = ()
    status: FundEntryStatus
    recorded_by: str  # the recorder's sub: never on the bus nor in the public summary
    recorded_at: datetime
    decided_at: datetime | None = None
    note: str = ""

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    def decide(self, approve: bool, note: str, by: Principal, now: datetime) -> bool:
        """Approve or reject a committed spending; False when it was decided so already (a retry)."""
        check_approver(by, self)
        done = S.SPENT if approve else S.REJECTED
        if self.status is done and self.decided_at is not None:
            return False
        if self.status is not S.COMMITTED:
            raise Conflict(
                f"spending {self.id} is {self.status}; it cannot be decided again", {"status": str(self.status)}
            )
        if not approve and not note.strip():
            raise BadInput("rejecting a spending needs a reason (note)")
        self._change(now)
        self.status, self.decided_at, self.note = done, now, text(note, "note", 500, False)
        self._emit(
            "SPENDING_APPROVED" if approve else "SPENDING_REJECTED",
            by,
            now,
            accountId=self.account_id,
            amount=to_yuan(self.amount_fen),
        )
        return True


def record_spending(
    account: FundAccount,
    *,
    id: str,
    amount_fen: int,
    purpose: str,
    target: FundTarget,
    attachment_ids: tuple[str, ...],
    deployment_threshold_fen: int,
    by: Principal,
    now: datetime,
) -> FundEntry:
    """A spending from `account`: checked, taken from the balance (committed above the
    threshold, spent at or below it), with its SPENDING_RECORDED event."""
    authorize(by, Action.MANAGE_FUNDS, account)
    status = S.COMMITTED if needs_approval(amount_fen, account.threshold(deployment_threshold_fen)) else S.SPENT
    entry = FundEntry(
        id=id,
        account_id=account.id,
        community_id=account.community_id,
        community_path=account.community_path,
        year=account.year,
        amount_fen=amount_fen,
        purpose=text(purpose, "purpose", 200),
        target=target,
        attachment_ids=tuple(dict.fromkeys(attachment_ids)),
        status=status,
        recorded_by=by.sub,
        recorded_at=now,
        updated_at=now,
    )
    account.reserve(amount_fen, status, now)
    entry._emit(
        "SPENDING_RECORDED",
        by,
        now,
        accountId=account.id,
        year=account.year,
        amount=to_yuan(amount_fen),
        purpose=entry.purpose,
        targetKind=str(target.kind),
        targetId=target.id,
        status=str(status),
    )
    return entry


def check_approver(by: Principal, entry: FundEntry) -> None:
    """An admin above the community (its township, county, city) or a superadmin approves, never
    whoever recorded the spending."""
    authorize(by, Action.APPROVE_SPENDING, entry)
    if by.sub == entry.recorded_by:
        raise Forbidden("whoever recorded a spending may not approve it", {"id": entry.id})
    if not by.unrestricted and by.region not in entry.community_path[:-1]:
        raise Forbidden("a spending above the threshold is approved by an admin above the community", {"id": entry.id})
