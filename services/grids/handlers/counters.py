"""Region figures (`domain/counters.py`): how many counties, …, grids and grid workers lie below each region."""

from __future__ import annotations

from typing import Any

from services.grids import domain
from services.grids.handlers.context import GridContext
from shared.auth import hidden
from shared.contracts.common import ByIds
from shared.messaging.rpc import Request, item_error


class Counters:
    def __init__(self, ctx: GridContext):
        self.ctx = ctx

    async def stats(self, req: Request) -> dict:
        q, p = req.parse(ByIds), req.principal
        docs = await self.ctx.store.rollup_docs(q.ids)
        out: dict[str, Any] = {}
        for i in q.ids:
            d = docs.get(i)
            if d is None or not domain.SCOPE.admits(p, d):
                out[i] = item_error(hidden(p, f"region {i}"))
            else:
                out[i] = domain.counters_view(d["counters"])
        return {"items": out}
