"""`fund.*`: the community fund (活动经费, 费随事转): accounts per community and year, spendings,
their approval, and the public summary (rules in domain/funds.py)."""

from __future__ import annotations

from typing import Any

from services.organizations import funds_views as fv
from services.organizations.deliberation_store import DeliberationStore
from services.organizations.domain import funds as fd
from services.organizations.funds_store import FundStore
from services.organizations.handlers.common import Feature, OrgContext
from shared.commands import page_reply
from shared.contracts import funds as w
from shared.errors import BadInput, NotFound
from shared.ids import new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now
from shared.records import Records
from shared.vocabulary.deliberation import ProposalStage
from shared.vocabulary.resources import FundTargetKind


async def proposal_in_community(uow: UnitOfWork, proposals: Records, proposal_id: str, community_id: str) -> None:
    """A spending for a PROPOSAL names a proposal of the account's community that is being carried out
    (实施, after its decision's notice period): money follows a decision residents could object to."""
    proposal = await proposals.get(proposal_id, uow)
    if proposal is None or proposal.community_id != community_id:
        raise BadInput(
            f"proposal {proposal_id} is not a proposal of community {community_id}",
            {"target": {"kind": "PROPOSAL", "id": proposal_id}},
        )
    if proposal.stage is not ProposalStage.IMPLEMENTING:
        raise BadInput(
            f"proposal {proposal_id} is {proposal.stage}: spending on a proposal waits for IMPLEMENTING (实施), "
            "after its decision was noticed",
            {"target": {"kind": "PROPOSAL", "id": proposal_id}, "stage": str(proposal.stage)},
        )


class Funds(Feature):
    def __init__(self, ctx: OrgContext):
        super().__init__(ctx)
        self.funds = FundStore(ctx.store.db)
        self.proposals = DeliberationStore(ctx.store.db).proposals

    @property
    def threshold_fen(self) -> int:
        return fd.to_fen(self.ctx.settings.fund_approval_above, "YIWANG_FUND_APPROVAL_ABOVE", zero=True)

    def account_view(self, account: fd.FundAccount) -> dict:
        return fv.account(account, self.threshold_fen)

    async def open(self, req: Request) -> dict:
        c, p = req.parse(w.OpenFundAccount), req.principal
        community = self.ctx.node(c.communityId, "community", p)
        granted = fd.to_fen(c.granted, "granted", zero=True)
        own = None if c.approvalAbove is None else fd.to_fen(c.approvalAbove, "approvalAbove", zero=True)

        async def work(uow: UnitOfWork) -> fd.FundAccount:
            existing = await self.funds.accounts.get(fd.account_id(community.id, fd.check_year(c.year)), uow)
            if existing is not None:
                self.ctx.authorize(p, fd.Action.MANAGE_FUNDS, existing)
                existing.same_grant(granted, own)
                return existing
            account = fd.FundAccount.open(
                community=community,
                year=c.year,
                granted_fen=granted,
                approval_above_fen=own,
                deployment_threshold_fen=self.threshold_fen,
                by=p,
                now=now(),
            )
            await self.funds.accounts.insert(uow, account)
            await self.funds.add_figures(uow, None, account)
            self.ctx.emit(uow, account)
            return account

        return self.account_view(await self.rt.transact(work))

    async def account(self, req: Request) -> dict:
        q, p = req.parse(w.FundAccountQuery), req.principal
        community = self.ctx.node(q.communityId, "community", p)
        account = await self.funds.accounts.get(fd.account_id(community.id, q.year))
        if account is None:
            raise NotFound(f"community {community.id} has no fund account for {q.year}")
        self.ctx.authorize(p, fd.Action.VIEW, account)
        return self.account_view(account)

    async def check_target(self, uow: UnitOfWork, account: fd.FundAccount, target: fd.FundTarget) -> None:
        """A PROJECT or PROPOSAL target is a record of the account's community."""
        if target.kind is FundTargetKind.PROJECT and target.id:
            project = await self.store.projects.get(target.id, uow)
            if project is None or project.community_path[-1] != account.community_id:
                raise BadInput(
                    f"project {target.id} is not a project of community {account.community_id}",
                    {"target": target.model_dump(mode="json")},
                )
        if target.kind is FundTargetKind.PROPOSAL and target.id:
            await proposal_in_community(uow, self.proposals, target.id, account.community_id)

    async def spend(self, req: Request) -> dict:
        c, p = req.parse(w.RecordSpending), req.principal
        community = self.ctx.node(c.communityId, "community", p)
        amount = fd.to_fen(c.amount)
        target = fd.FundTarget(kind=c.target.kind, id=c.target.id or None)

        async def work(uow: UnitOfWork) -> str:
            account = await self.funds.accounts.get(fd.account_id(community.id, c.year), uow)
            if account is None:
                raise NotFound(f"community {community.id} has no fund account for {c.year}")
            self.ctx.authorize(p, fd.Action.MANAGE_FUNDS, account)  # before anything is said of the target
            await self.check_target(uow, account, target)
            before = account.model_copy(deep=True)
            entry = fd.record_spending(
                account,
                id=new_id("fe"),
                amount_fen=amount,
                purpose=c.purpose,
                target=target,
                attachment_ids=tuple(c.attachmentIds),
                deployment_threshold_fen=self.threshold_fen,
                by=p,
                now=now(),
            )
            await self.funds.take(uow, before, account, amount)
            await self.funds.entries.insert(uow, entry)
            self.ctx.emit(uow, entry)
            return entry.id

        return await self.ctx.idempotent(p, "fund.spend", c.idempotencyKey, work, self.entry_view)

    async def entry_view(self, entry_id: str) -> dict:
        return fv.entry(await self.funds.entries.load(entry_id))

    async def approve(self, req: Request) -> dict:
        c, p = req.parse(w.DecideSpending), req.principal

        async def decide(entry: fd.FundEntry, uow: UnitOfWork) -> None:
            at = now()
            if not entry.decide(c.approve, c.note, p, at):
                return  # decided so already: a retry
            account = await self.funds.accounts.load(entry.account_id, uow)
            before = account.model_copy(deep=True)
            account.settle(entry.amount_fen, c.approve, at)
            await self.funds.settle(uow, before, account, entry.amount_fen)

        entry = await self.ctx.change(
            self.funds.entries, c.entryId, None, decide, by=p, action=lambda e: fd.check_approver(p, e)
        )
        return fv.entry(entry)

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(w.ListFundEntries), req.principal
        community = self.ctx.node(q.communityId, "community", p)
        query = {"account_id": fd.account_id(community.id, q.year), **self.ctx.list_scope(p, community.id)}
        return await self.ctx.page(self.funds.entries, query, q.first, q.after, fv.entry)

    async def by_target(self, req: Request) -> dict:
        """The spendings linked to one record (index on target.kind, target.id), in the caller's scope."""
        q, p = req.parse(w.EntriesByTarget), req.principal
        query: dict[str, Any] = {"target.kind": str(q.kind), "target.id": q.id, **self.ctx.list_scope(p, None)}
        return await self.ctx.page(self.funds.entries, query, q.first, q.after, fv.entry)

    async def summary(self, req: Request) -> dict:
        """The public summary (两公开): anyone may read a community's totals and what was spent on what."""
        q = req.parse(w.ListFundEntries)
        community = self.ctx.node(q.communityId, "community")
        if community.level != "COMMUNITY":
            raise BadInput(f"a fund belongs to a COMMUNITY, not a {community.level}", {"id": community.id})
        account = await self.funds.accounts.get(fd.account_id(community.id, q.year))
        if account is None:
            return {"communityName": community.name, "account": None, "entries": page_reply([], 0, False)}
        items, total, more = await self.funds.entries.page({"account_id": account.id}, q.first, q.after)
        return {
            "communityName": community.name,
            "account": self.account_view(account),
            "entries": page_reply([fv.public_entry(e) for e in items], total, more),
        }

    async def figures(self, region_ids: list[str]) -> dict[str, dict]:
        """The fund block of the organisations' figures of each region."""
        counters = await self.funds.figures(region_ids)
        return {r: fv.figures(counters.get(r, {})) for r in region_ids}
