"""What the command handlers of a record-based service share: load, apply, save one record
with a version check; run a create once per idempotency key. The service says how a record
is saved (`put`: the store write, its rollup deltas and its events)."""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.auth import Principal
from shared.contracts.common import TrendQuery
from shared.errors import BadInput, Conflict, Forbidden
from shared.messaging.rpc import Request, item_error
from shared.mongo import UnitOfWork, recall, remember, remembered
from shared.records import Records
from shared.service import ServiceRuntime
from shared.territory import TerritoryReplica
from shared.trends import Interval, Kind, Metric, buckets, city_tz, series

LOST_RACE = "changed while you were working"  # the message of Records.save's version conflict


def page_reply(items: list[dict], total: int, more: bool) -> dict:
    """A list verb's reply: one page, the total, and the cursor (the last item's id)."""
    return {"items": items, "totalCount": total, "hasNextPage": more,
            "endCursor": items[-1]["id"] if items else None}


class RecordCommands:
    rt: ServiceRuntime

    async def put(self, uow: UnitOfWork, repo: Records, record: Any, before: Any | None = None,
                  version: int | None = None) -> None:
        raise NotImplementedError

    async def change(self, repo: Records, record_id: str, expected: int | None,
                     command: Callable[[Any, UnitOfWork], Any], retries: int = 0) -> Any:
        """Load one record, apply `command` (sync or async), save it. With `retries`, a lost
        version race runs again on the fresh record, so the command's own rule (capacity,
        first taker) decides, never the race."""
        async def work(uow: UnitOfWork) -> Any:
            record = await repo.load(record_id, uow)
            if expected is not None and expected != record.version:
                raise Conflict(f"{repo.what} {record_id} is at version {record.version}, not {expected}",
                               {"currentVersion": record.version})
            version, before = record.version, record.model_copy(deep=True)
            result = command(record, uow)
            if inspect.isawaitable(result):
                await result
            if record.version != version:
                await self.put(uow, repo, record, before, version)
            return record

        for attempt in range(retries + 1):
            try:
                return await self.rt.transact(work)
            except Conflict as e:
                if attempt == retries or LOST_RACE not in e.message:
                    raise
        raise AssertionError("unreachable")

    async def idempotent(self, p: Principal, verb: str, key: str | None, fn: Callable[[UnitOfWork], Awaitable[str]],
                         view: Callable[[str], Awaitable[dict]]) -> dict:
        """Run a create once per (caller, idempotency key); a retry returns the first record."""
        k = f"{verb}:{p.sub}:{key}" if key else None

        async def work(uow: UnitOfWork) -> str:
            if k and (done := await recall(uow, k)):
                return done
            record_id = await fn(uow)
            if k:
                await remember(uow, k, record_id)
            return record_id

        try:
            record_id = await self.rt.transact(work)
        except DuplicateKeyError:
            if k and (done := await remembered(self.rt.db, k)):
                return await view(done)
            raise
        return await view(record_id)

    async def batch(self, ids: list[str], p: Principal, repo: Records, visible: Callable[[Principal, Any], bool],
                    view: Callable[[Principal, Any], dict]) -> dict:
        """A batch read: each id's view, None if it does not exist, or a FORBIDDEN item."""
        found = await repo.many(ids)
        items: dict[str, Any] = {}
        for i in ids:
            record = found.get(i)
            items[i] = None if record is None else (view(p, record) if visible(p, record) else item_error(
                Forbidden(f"{repo.what} {i} is outside your scope")))
        return {"items": items}


DaysOf = Callable[[str, str, str | None], Awaitable[dict[str, dict[str, int]]]]
CountersOf = Callable[[list[str]], Awaitable[dict[str, dict[str, int]]]]


async def trend_reply(req: Request, territory: TerritoryReplica, metrics: dict[str, Metric],
                      days_of: DaysOf, counters_of: CountersOf) -> dict:
    """`trend.series`: one metric of one region per interval, from the day buckets kept with
    the writes (shared/trends); never a scan of the records."""
    q, p = req.parse(TrendQuery), req.principal
    metric = metrics.get(q.metric)
    if metric is None:
        raise BadInput(f"unknown metric {q.metric}; known here: {', '.join(sorted(metrics))}")
    territory.visible_path(p, q.regionId)
    tz = city_tz()
    spans = buckets(q.from_, q.to, Interval(q.interval), tz)
    stock = metric.kind is Kind.STOCK
    last = None if stock else (spans[-1][1] - timedelta(days=1)).isoformat()  # a stock needs every later day
    days = await days_of(q.regionId, spans[0][0].isoformat(), last)
    current = (await counters_of([q.regionId])).get(q.regionId, {}) if stock else {}
    return {"regionId": q.regionId, "metric": q.metric, "kind": str(metric.kind), "interval": q.interval,
            "description": metric.description, "points": series(metric, days, current, spans, tz)}
