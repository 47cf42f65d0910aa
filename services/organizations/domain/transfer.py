"""组织关系转接: moving a member between organisations as a two-sided workflow.

request (by the sending side's admin, or the receiving side's) → approve or reject by the
receiving side, or cancel by either; a deadline (default 30 days) and an overdue flag.
A member belongs to exactly one organisation and has at most one open transfer: the
commands check `member.open_transfer_id`, and the service saves member and transfer
together with a version check, so concurrent requests or approvals lose with Conflict.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from shared.auth import Principal
from shared.errors import BadInput, Conflict, Forbidden

from .enums import Action, MemberStatus, TransferStatus
from .events import Aggregate
from .member import PartyMember, check_member_org
from .organization import Organization
from .policy import SYSTEM, authorize
from .values import text

DEFAULT_DEADLINE_DAYS = 30
T = TransferStatus


class Transfer(Aggregate):
    aggregate_name: ClassVar[str] = "transfer"

    member_id: str
    from_org_id: str
    from_path: tuple[str, ...]
    to_org_id: str
    to_path: tuple[str, ...]
    status: TransferStatus = T.REQUESTED
    reason: str = ""
    requested_at: datetime
    deadline_at: datetime
    decided_at: datetime | None = None
    decision_note: str | None = None
    overdue_flagged: bool = False

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.from_path

    @property
    def is_open(self) -> bool:
        return self.status is T.REQUESTED

    def overdue(self, now: datetime) -> bool:
        return self.is_open and now > self.deadline_at

    def _emit_t(self, type: str, by: Principal, now: datetime, /, **data: object) -> None:
        self._emit(
            type,
            by,
            now,
            memberId=self.member_id,
            fromOrgId=self.from_org_id,
            toOrgId=self.to_org_id,
            toPath=self.to_path,
            **data,
        )


def authorize_either_side(by: Principal, action: Action, transfer: Transfer) -> None:
    """`action` on a transfer by someone on the sending or the receiving side."""
    try:
        authorize(by, action, transfer, transfer.from_path)
    except Forbidden:
        authorize(by, action, transfer, transfer.to_path)


def request_transfer(
    *,
    id: str,
    member: PartyMember,
    from_org: Organization,
    to_org: Organization,
    by: Principal,
    now: datetime,
    reason: str = "",
    deadline_days: int = DEFAULT_DEADLINE_DAYS,
) -> Transfer:
    if member.org_id != from_org.id:
        raise Conflict(f"member {member.id} belongs to {member.org_id}, not {from_org.id}", {"orgId": member.org_id})
    if to_org.id == from_org.id:
        raise BadInput("a transfer goes to another organisation")
    check_member_org(to_org)
    if deadline_days <= 0:
        raise BadInput("the transfer deadline must be a positive number of days")
    transfer = Transfer(
        id=id,
        member_id=member.id,
        from_org_id=from_org.id,
        from_path=from_org.anchor_path,
        to_org_id=to_org.id,
        to_path=to_org.anchor_path,
        reason=text(reason, "reason", 500, False),
        requested_at=now,
        deadline_at=now + timedelta(days=deadline_days),
        updated_at=now,
    )
    authorize_either_side(by, Action.REQUEST_TRANSFER, transfer)
    if member.open_transfer_id is not None:
        raise Conflict(
            f"member {member.id} already has an open transfer {member.open_transfer_id}",
            {"transferId": member.open_transfer_id},
        )
    member._change(now)
    member.status, member.open_transfer_id = MemberStatus.TRANSFERRING, id
    transfer._emit_t("TRANSFER_REQUESTED", by, now, reason=transfer.reason, deadlineAt=transfer.deadline_at.isoformat())
    return transfer


def _check_open(transfer: Transfer, member: PartyMember, verb: str) -> None:
    if not transfer.is_open:
        raise Conflict(
            f"transfer {transfer.id} is {transfer.status}; it cannot be {verb}", {"status": str(transfer.status)}
        )
    if member.id != transfer.member_id or member.open_transfer_id != transfer.id:
        raise Conflict(f"member {member.id} is not waiting on transfer {transfer.id}")


def _close(transfer: Transfer, member: PartyMember, status: TransferStatus, now: datetime, note: str | None) -> None:
    transfer._change(now)
    transfer.status, transfer.decided_at, transfer.decision_note = status, now, note
    member._change(now)
    member.status, member.open_transfer_id = MemberStatus.ACTIVE, None


def authorize_decision(by: Principal, transfer: Transfer) -> None:
    """Approving or rejecting is the receiving side's."""
    authorize(by, Action.DECIDE_TRANSFER, transfer, transfer.to_path)


def approve_transfer(
    transfer: Transfer, member: PartyMember, to_org: Organization, by: Principal, now: datetime
) -> None:
    """The receiving side accepts: the membership moves to `to_org`."""
    authorize_decision(by, transfer)
    _check_open(transfer, member, "approved")
    if to_org.id != transfer.to_org_id:
        raise BadInput(f"transfer {transfer.id} goes to {transfer.to_org_id}, not {to_org.id}")
    _close(transfer, member, T.APPROVED, now, None)
    member.org_id, member.org_path = to_org.id, to_org.anchor_path
    transfer._emit_t("TRANSFER_APPROVED", by, now)


def reject_transfer(transfer: Transfer, member: PartyMember, reason: str, by: Principal, now: datetime) -> None:
    authorize_decision(by, transfer)
    note = text(reason, "reason", 500)
    _check_open(transfer, member, "rejected")
    _close(transfer, member, T.REJECTED, now, note)
    transfer._emit_t("TRANSFER_REJECTED", by, now, reason=note)


def cancel_transfer(transfer: Transfer, member: PartyMember, by: Principal, now: datetime, reason: str = "") -> None:
    authorize_either_side(by, Action.REQUEST_TRANSFER, transfer)
    note = text(reason, "reason", 500, required=False) or None
    _check_open(transfer, member, "cancelled")
    _close(transfer, member, T.CANCELLED, now, note)
    transfer._emit_t("TRANSFER_CANCELLED", by, now, reason=note)


def sweep_overdue(transfer: Transfer, now: datetime) -> bool:
    """The periodic check: flags an open transfer past its deadline, once."""
    if transfer.overdue_flagged or not transfer.overdue(now):
        return False
    transfer._change(now)
    transfer.overdue_flagged = True
    transfer._emit_t("TRANSFER_OVERDUE", SYSTEM, now, deadlineAt=transfer.deadline_at.isoformat())
    return True
