"""What callers see of funds, service catalogues and matching: wire DTOs, money in yuan. Nobody's
`sub` leaves the service: the public summary carries totals and each spending's purpose, amount,
target and status only."""

from __future__ import annotations

from typing import Any

from services.organizations import domain as d
from services.organizations.domain.funds import FundAccount, FundEntry, to_yuan


def account(a: FundAccount, deployment_threshold_fen: int) -> dict[str, Any]:
    return {
        "id": a.id,
        "communityId": a.community_id,
        "year": a.year,
        "granted": to_yuan(a.granted_fen),
        "committed": to_yuan(a.committed_fen),
        "spent": to_yuan(a.spent_fen),
        "balance": to_yuan(a.balance_fen),
        "approvalAbove": to_yuan(a.threshold(deployment_threshold_fen)),
        "createdAt": a.created_at,
        "version": a.version,
    }


def public_entry(e: FundEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "amount": to_yuan(e.amount_fen),
        "purpose": e.purpose,
        "target": {"kind": str(e.target.kind), "id": e.target.id},
        "status": str(e.status),
        "recordedAt": e.recorded_at,
    }


def entry(e: FundEntry) -> dict[str, Any]:
    return {
        **public_entry(e),
        "accountId": e.account_id,
        "communityId": e.community_id,
        "year": e.year,
        "attachmentIds": list(e.attachment_ids),
        "decidedAt": e.decided_at,
        "note": e.note,
        "version": e.version,
    }


def service(s: d.ServiceListEntry) -> dict[str, Any]:
    return {
        "id": s.id,
        "communityId": s.community_id,
        "kind": str(s.kind),
        "title": s.title,
        "description": s.description,
        "provider": {"kind": str(s.provider.kind), "id": s.provider.id, "name": s.provider.name},
        "howToOrder": s.how_to_order.model_dump(),
        "active": s.active,
        "version": s.version,
        "updatedAt": s.updated_at,
    }


def figures(counters: dict[str, int]) -> dict[str, Any]:
    """The fund block of a region's organisation figures."""
    return {
        "accountCount": counters.get("fund_accounts", 0),
        "granted": to_yuan(counters.get("fund_granted", 0)),
        "committed": to_yuan(counters.get("fund_committed", 0)),
        "spent": to_yuan(counters.get("fund_spent", 0)),
        "balance": to_yuan(
            counters.get("fund_granted", 0) - counters.get("fund_committed", 0) - counters.get("fund_spent", 0)
        ),
    }
