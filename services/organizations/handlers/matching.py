"""`need.move` and `need.suggest`: a need's status, and three-lists matching (rules in
domain/lists.py and domain/matching.py)."""

from __future__ import annotations

from typing import Any

from services.organizations import domain as d
from services.organizations.domain import matching
from services.organizations.funds_store import FundStore
from services.organizations.handlers.common import Feature, OrgContext
from shared.contracts import funds as w
from shared.messaging.rpc import Request
from shared.mongo import now
from shared.records import Records


class Matching(Feature):
    def __init__(self, ctx: OrgContext):
        super().__init__(ctx)
        self.funds = FundStore(ctx.store.db)

    async def move(self, req: Request) -> dict:
        c, p = req.parse(w.MoveNeed), req.principal
        need = await self.ctx.change(
            self.store.needs,
            c.id,
            c.expectedVersion,
            lambda n, _: n.move_to(c.status, p, now(), c.note),
            by=p,
            action=d.Action.MANAGE_LISTS,
        )
        return self.views.need(need)

    async def nearest(self, repo: Records, need: d.Need, first: int) -> list[Any]:
        """Records of the need's category, ring by ring (its community first), until `first`."""
        found: list[Any] = []
        seen: set[str] = set()
        for region in matching.rings(need):
            if len(found) >= first:
                break
            more = await self.funds.in_ring(repo, str(need.category), region, seen, first - len(found))
            found += more
            seen |= {x.id for x in more}
        return found

    async def suggest(self, req: Request) -> dict:
        q, p = req.parse(w.SuggestForNeed), req.principal
        need = await self.ctx.scoped(self.store.needs, q.needId, p)
        resources = await self.nearest(self.store.resources, need, q.first)
        projects = [x for x in await self.nearest(self.store.projects, need, q.first + 1) if x.need_id != need.id]
        return {
            "need": self.views.need(need),
            "resources": [self.views.resource(r) for r in resources],
            "projects": [self.views.project(x) for x in projects[: q.first]],
        }
