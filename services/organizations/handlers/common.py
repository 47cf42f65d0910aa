"""What every handler of the organizations service shares: the service context (runtime, store,
territory, cipher, views), how a record is saved (store write, rollup deltas, events), and how
single reads (`visible`) and lists (`list_scope`) read the one scope rule of the domain
(`domain/policy.py`: `SCOPE`, `RECEIVING`, `visible`).

Every command loads its records in one transaction, applies the domain rule, saves them with a
version check, adds the rollup deltas, and records the events in the outbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.organizations import domain as d
from services.organizations.store import OrgStore
from services.organizations.views import OrgViews
from shared.auth import Principal
from shared.commands import RecordCommands, page_reply
from shared.contracts.common import ById, ByIds
from shared.contracts.organizations import ListByRegion
from shared.errors import NotFound
from shared.messaging.envelope import make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork
from shared.privacy import FieldCipher
from shared.records import Records
from shared.service import ServiceRuntime
from shared.territory import TerritoryReplica

SERVICE = "organizations"


class OrgContext(RecordCommands):
    """The service context every handler works through: what a record is saved with (`put`),
    who may see it (`visible`), and the territory nodes and list scopes it reads."""

    def __init__(self, rt: ServiceRuntime, store: OrgStore, territory: TerritoryReplica, cipher: FieldCipher):
        self.rt, self.store, self.territory, self.cipher = rt, store, territory, cipher
        self.settings = rt.settings
        self.views = OrgViews(cipher)

    # -- the territory -------------------------------------------------------------------
    def node(self, region_id: str, what: str = "region", p: Principal | None = None) -> d.Node:
        """A region from the territory replica; given `p`, one in their scope (as `visible_path`)."""
        if p is not None:
            self.territory.visible_path(p, region_id, what)
        n = self.territory.get(region_id)
        if n is None:
            raise NotFound(f"{what} {region_id} is not known here (yet)")
        return d.Node(id=n["_id"], level=n["level"], path=tuple(n["path"]), name=n.get("name", ""))

    # -- saving --------------------------------------------------------------------------
    def emit(self, uow: UnitOfWork, *records: Any) -> None:
        """Record the pending events of `records` in the outbox of this unit of work."""
        for record in records:
            for e in record.drain_events():
                uow.record(
                    make_event(
                        SERVICE,
                        e.type,
                        e.aggregate_id,
                        {"aggregate": e.aggregate, "aggregateId": e.aggregate_id, **e.data},
                        path=list(e.region_path),
                        actor=e.actor,
                        version=e.version,
                        at=e.at,
                        id=e.event_id,
                    )
                )

    async def add_rollups(self, uow: UnitOfWork, before: Any | None, after: Any) -> None:
        await self.store.apply(uow, d.deltas(before, after))

    async def insert(self, repo: Records, make: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
        """A new record, made (and checked) by `make` in one transaction, inserted with its
        rollup deltas and events."""

        async def work(uow: UnitOfWork) -> Any:
            record = await make(uow)
            await self.put(uow, repo, record)
            return record

        return await self.rt.transact(work)

    def authorize(self, p: Principal, action: d.Action, record: Any) -> None:
        d.authorize(p, action, record)

    # -- reading one record or a few -----------------------------------------------------
    async def read(self, req: Request, repo: Records, view: Callable[[Principal, Any], dict]) -> dict | None:
        """A get verb: the record's view; None when it does not exist (to an unrestricted
        caller), else as `readable`."""
        q, p = req.parse(ById), req.principal
        record = await self.readable(p, repo, q.id)
        return view(p, record) if record else None

    async def read_batch(self, req: Request, repo: Records, view: Callable[[Principal, Any], dict]) -> dict:
        """A batch verb: each id's view, or None or a FORBIDDEN item (as `batch`)."""
        return await self.batch(req.parse(ByIds).ids, req.principal, repo, view)

    # -- scope: the domain's rule (d.SCOPE, d.visible), read by single reads and lists ---------
    def visible(self, p: Principal, record: Any) -> bool:
        return d.visible(p, record)

    def list_scope(self, p: Principal, region_id: str | None, either_side: bool = False) -> dict[str, Any]:
        """The filter of a list: what the caller sees (`d.SCOPE`) in the region asked for (which
        must be in scope), else in their whole scope; staff only (the verb's gate). A transfer
        is in it by either side (its sending or its receiving path, `d.RECEIVING`)."""
        scope = self.territory.within(p, region_id, d.SCOPE)
        if either_side:
            scope = scope | d.RECEIVING.of(p, region_id)
        return scope.filter()

    async def page(
        self,
        repo: Records,
        query: dict,
        first: int,
        after: str | None,
        view: Callable[[Any], dict],
        total: int | None = None,
    ) -> dict:
        """One page of a list verb: the records matching `query`, each through `view`; `total`
        when the caller has it from the rollups (else counted as far as bounded)."""
        items, total, more = await repo.page(query, first, after, total)
        return page_reply([view(x) for x in items], total, more)

    async def region_list(self, req: Request, repo: Records, view: Callable[[Any], dict]) -> dict:
        """A list verb of records in one region's subtree (`ListByRegion`)."""
        q, p = req.parse(ListByRegion), req.principal
        return await self.page(repo, self.list_scope(p, q.regionId), q.first, q.after, view)


class Feature:
    """The handlers of one feature, over the service context."""

    def __init__(self, ctx: OrgContext):
        self.ctx, self.store, self.views, self.rt = ctx, ctx.store, ctx.views, ctx.rt
