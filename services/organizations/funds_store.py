"""MongoDB access for the community funds, the service catalogues and three-lists matching.

An account's balance is kept as a field (`balance_fen`) so that a spending takes money with one
conditional update (`balance_fen >= amount`) in the spending's transaction: two spendings at once
can never both pass on the same balance. Fund figures per region are kept in `fund_rollups`
(their own block of the organisations' figures), recounted from the accounts by `recount_funds`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.organizations import domain as d
from services.organizations.domain.funds import FundAccount, FundEntry
from shared.domain import RollupDelta
from shared.errors import Conflict
from shared.mongo import UnitOfWork
from shared.paging import KEY
from shared.records import Records, add_rollups

PATH = [("path", ASCENDING), (KEY, ASCENDING)]
FUND_INDEXES: dict[str, list[IndexModel]] = {
    "fund_accounts": [IndexModel(PATH)],
    # a ledger: newest first by id (Records(newest=...)), so its lists' indexes end with _id
    "fund_entries": [
        IndexModel([("path", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("account_id", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("target.kind", ASCENDING), ("target.id", ASCENDING), ("_id", DESCENDING)]),
    ],
    "service_entries": [IndexModel(PATH), IndexModel([("community_id", ASCENDING), (KEY, ASCENDING)])],
    "fund_rollups": [],
    # matching: a category's resources and projects on a region's path (one ring per query)
    "resources": [IndexModel([("category", ASCENDING), ("path", ASCENDING), (KEY, ASCENDING)])],
    "projects": [IndexModel([("category", ASCENDING), ("path", ASCENDING), (KEY, ASCENDING)])],
}


def fund_counters(account: FundAccount | None) -> dict[str, int]:
    if account is None:
        return {}
    return {
        "fund_accounts": 1,
        "fund_granted": account.granted_fen,
        "fund_committed": account.committed_fen,
        "fund_spent": account.spent_fen,
    }


def fund_delta(before: FundAccount | None, after: FundAccount) -> RollupDelta:
    return RollupDelta.of(after.community_path, fund_counters(before), fund_counters(after))


def recount_funds(accounts: list[FundAccount]) -> dict[str, dict[str, int]]:
    """Fund figures from scratch: region id -> non-zero counters."""
    out: dict[str, dict[str, int]] = {}
    for a in accounts:
        fund_delta(None, a).apply_to(out)
    return out


class FundStore:
    def __init__(self, db: AsyncDatabase):
        self.db = db

        def records(name: str, model: type, what: str, extra: Any = lambda r: {}, newest: str | None = None) -> Records:
            return Records(db, name, model, what, path_of=lambda r: r.scope_path, extra=extra, newest=newest)

        self.accounts = records("fund_accounts", FundAccount, "fund account", lambda a: {"balance_fen": a.balance_fen})
        self.entries = records("fund_entries", FundEntry, "spending", newest="fe")  # a ledger: newest first
        self.services = records("service_entries", d.ServiceListEntry, "service")
        self.rollups = db.fund_rollups

    async def take(self, uow: UnitOfWork, before: FundAccount, after: FundAccount, amount_fen: int) -> None:
        """Move `before` to `after` (committed or spent up by `amount_fen`) if the balance still
        holds the amount, in one conditional update; else CONFLICT and the transaction aborts."""
        res = await self.accounts.coll.update_one(
            {"_id": after.id, "balance_fen": {"$gte": amount_fen}},
            {
                "$inc": {
                    "committed_fen": after.committed_fen - before.committed_fen,
                    "spent_fen": after.spent_fen - before.spent_fen,
                    "balance_fen": -amount_fen,
                    "version": 1,
                },
                "$set": {"updated_at": after.updated_at},
            },
            session=uow.session,
        )
        if res.matched_count != 1:
            raise Conflict("the fund's balance no longer holds this spending; read the account again", {"id": after.id})
        await self.add_figures(uow, before, after)

    async def settle(self, uow: UnitOfWork, before: FundAccount, after: FundAccount, amount_fen: int) -> None:
        """A committed amount decided: committed down by it, spent up (approved) or the balance
        up (rejected), on the condition that the amount is still committed."""
        spent = after.spent_fen - before.spent_fen
        res = await self.accounts.coll.update_one(
            {"_id": after.id, "committed_fen": {"$gte": amount_fen}},
            {
                "$inc": {
                    "committed_fen": -amount_fen,
                    "spent_fen": spent,
                    "balance_fen": amount_fen - spent,
                    "version": 1,
                },
                "$set": {"updated_at": after.updated_at},
            },
            session=uow.session,
        )
        if res.matched_count != 1:
            raise Conflict("the fund has less committed than this spending", {"id": after.id})
        await self.add_figures(uow, before, after)

    async def add_figures(self, uow: UnitOfWork, before: FundAccount | None, after: FundAccount) -> None:
        await add_rollups(self.rollups, uow, [fund_delta(before, after)])

    async def figures(self, ids: list[str]) -> dict[str, dict[str, int]]:
        return {
            x["_id"]: {k: int(v) for k, v in x.get("c", {}).items()}
            async for x in self.rollups.find({"_id": {"$in": ids}})
        }

    async def catalogue(self, community_id: str, kind: str | None, active_only: bool, limit: int) -> list[Any]:
        query: dict[str, Any] = {"community_id": community_id}
        found = await self.services.find(query, limit=limit, sort="_id")
        return [e for e in found if (kind is None or e.kind == kind) and (e.active or not active_only)]

    async def in_ring(self, repo: Records, category: str, region_id: str, skip: set[str], limit: int) -> list[Any]:
        """Up to `limit` records of `category` on `region_id`'s subtree, not in `skip` (index on
        category, path, _id)."""
        docs = (
            await repo.coll.find({"category": category, "path": region_id})
            .sort("_id", 1)
            .limit(limit + len(skip))
            .to_list(limit + len(skip))
        )
        return [repo.of(x) for x in docs if x["_id"] not in skip][:limit]


def at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
