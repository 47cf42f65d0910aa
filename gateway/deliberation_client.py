"""Typed calls to deliberation (一征三议两公开) in the organizations service: one named method per verb,
taking the verb's request model from `shared/contracts/deliberation.py` (DELIBERATION_API)."""

from __future__ import annotations

from gateway.clients import Dto, ServiceClient
from shared.contracts import deliberation as dc
from shared.contracts.common import ById


class DeliberationClient(ServiceClient):
    service = "organizations"

    async def submit_proposal(self, body: dc.SubmitProposal) -> Dto:
        return await self.send("proposal.submit", body)

    async def support_proposal(self, body: ById) -> Dto:
        return await self.send("proposal.support", body)

    async def advance_proposal(self, body: dc.AdvanceProposal) -> Dto:
        return await self.send("proposal.advance", body)

    async def record_vote(self, body: dc.RecordVote) -> Dto:
        return await self.send("proposal.vote", body)

    async def get_proposal(self, body: ById) -> Dto | None:
        return await self.send("proposal.get", body)

    async def list_proposals(self, body: dc.ListProposals) -> Dto:
        return await self.send("proposal.list", body)

    async def list_notices(self, body: dc.ListNotices) -> Dto:
        return await self.send("notice.list", body)

    async def object_to_notice(self, body: dc.ObjectToNotice) -> Dto:
        return await self.send("notice.object", body)

    async def set_rule(self, body: dc.SetDeliberationRule) -> Dto:
        return await self.send("rule.set", body)

    async def get_rule(self, body: ById) -> Dto:
        return await self.send("rule.get", body)
