"""What the command handlers of a record-based service share: load, apply, save one record
with a version check; run a create once per idempotency key. The service says how a record
is saved (`put`: the store write, its rollup deltas and its events), who may see a record
(`scope_rule`, a `shared.scope.ScopeRule` whose filter its lists use too, or its own `visible`)
and who may do an action to it (`authorize`).

A record the caller names is checked in this order: does it exist and lie in the caller's
scope (one answer for both, `shared.auth.hidden`), may the caller do this action to it, is it
still at the version the caller expects; only then does the command run."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from shared.auth import Principal, hidden, require_figures
from shared.contracts.common import TrendQuery
from shared.errors import BadInput, Conflict, LostRace
from shared.messaging.rpc import Request, item_error
from shared.mongo import UnitOfWork, recall, remember, remembered
from shared.records import Records
from shared.scope import ScopeRule
from shared.service import ServiceRuntime
from shared.territory import TerritoryReplica
from shared.trends import Interval, Kind, Metric, buckets, city_tz, series


def page_reply(items: list[dict], total: int, more: bool) -> dict:
    """A list verb's reply: one page, the total, and the cursor (the last item's id)."""
    return {"items": items, "totalCount": total, "hasNextPage": more, "endCursor": items[-1]["id"] if items else None}


class RecordCommands:
    rt: ServiceRuntime
    scope_rule: ScopeRule | None = None  # who sees which record; lists read `scope_rule.filter(p)`

    async def put(
        self, uow: UnitOfWork, repo: Records, record: Any, before: Any | None = None, version: int | None = None
    ) -> None:
        """Insert (version None) or save a record (version: the one it was read at), add its
        rollup deltas, and record its events: one command's writes, in its unit of work."""
        if version is None:
            await repo.insert(uow, record)
        else:
            await repo.save(uow, record, version)
        await self.add_rollups(uow, before, record)
        self.emit(uow, record)

    async def add_rollups(self, uow: UnitOfWork, before: Any | None, after: Any) -> None:
        """Add what changing `before` into `after` (None: a new record) does to the region figures."""
        raise NotImplementedError

    def emit(self, uow: UnitOfWork, record: Any) -> None:
        """Record the events the record has drained (in the outbox, with its write)."""
        raise NotImplementedError

    def visible(self, p: Principal, record: Any) -> bool:
        """Whether `p` may see `record` at all (role and scope): by default, the service's
        `scope_rule`, the one its lists filter by."""
        if self.scope_rule is None:
            raise NotImplementedError("a record service gives its `scope_rule` or its own `visible`")
        return self.scope_rule.admits(p, record)

    def authorize(self, p: Principal, action: Any, record: Any) -> None:
        """Raise Forbidden unless `p` may do `action` to `record`."""
        raise NotImplementedError

    async def scoped(self, repo: Records, record_id: str, p: Principal, uow: UnitOfWork | None = None) -> Any:
        """A record the caller named, if it exists and they may see it; FORBIDDEN alike when it does
        not exist and when it lies outside their scope (NOT_FOUND to an unrestricted caller)."""
        record = await repo.get(record_id, uow)
        if record is None or not self.visible(p, record):
            raise hidden(p, f"{repo.what} {record_id}")
        return record

    async def readable(self, p: Principal, repo: Records, record_id: str) -> Any | None:
        """A get verb's record: None when it does not exist to an unrestricted caller; else as `scoped`."""
        if p.unrestricted:
            return await repo.get(record_id)
        return await self.scoped(repo, record_id, p)

    async def change(
        self,
        repo: Records,
        record_id: str,
        expected: int | None,
        command: Callable[[Any, UnitOfWork], Any],
        retries: int = 0,
        *,
        by: Principal,
        action: Any = None,
    ) -> Any:
        """Load one record (`scoped`), check `action` (an action for `authorize`, or a function of
        the record raising Forbidden; before the version, so a caller who may not act learns
        nothing of it), apply `command` (sync or async), save it.
        With `retries`, a lost version race runs again on the fresh record, so the command's own
        rule (capacity, first taker) decides, never the race."""

        async def work(uow: UnitOfWork) -> Any:
            record = await self.scoped(repo, record_id, by, uow)
            if callable(action):
                action(record)
            elif action is not None:
                self.authorize(by, action, record)
            if expected is not None and expected != record.version:
                raise Conflict(
                    f"{repo.what} {record_id} is at version {record.version}, not {expected}",
                    {"currentVersion": record.version},
                )
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
            except LostRace:
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")

    async def idempotent(
        self,
        p: Principal,
        verb: str,
        key: str | None,
        fn: Callable[[UnitOfWork], Awaitable[str]],
        view: Callable[[str], Awaitable[dict]],
    ) -> dict:
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

    async def batch(self, ids: list[str], p: Principal, repo: Records, view: Callable[[Principal, Any], dict]) -> dict:
        """A batch read: each id's view, or (as `readable`) None or a FORBIDDEN item."""
        found = await repo.many(ids)
        items: dict[str, Any] = {}
        for i in ids:
            record = found.get(i)
            if record is None and p.unrestricted:
                items[i] = None
            elif record is None or not self.visible(p, record):
                items[i] = item_error(hidden(p, f"{repo.what} {i}"))
            else:
                items[i] = view(p, record)
        return {"items": items}


DaysOf = Callable[[str, str, str | None], Awaitable[dict[str, dict[str, int]]]]
CountersOf = Callable[[list[str]], Awaitable[dict[str, dict[str, int]]]]


async def trend_reply(
    req: Request, territory: TerritoryReplica, metrics: dict[str, Metric], days_of: DaysOf, counters_of: CountersOf
) -> dict:
    """`trend.series`: one metric of one region per interval, from the day buckets kept with
    the writes (shared/trends); never a scan of the records."""
    require_figures(req.principal)
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
    return {
        "regionId": q.regionId,
        "metric": q.metric,
        "kind": str(metric.kind),
        "interval": q.interval,
        "description": metric.description,
        "points": series(metric, days, current, spans, tz),
    }
