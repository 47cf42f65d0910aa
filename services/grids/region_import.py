"""`region.import`: up to 500 regions in one transaction (a city's territory: seeding, onboarding).

The rules of `region.create`, region by region in the batch's order: an id of the right form, a
name and a code, a parent one level up (stored already, or earlier in the batch), a boundary that
lies inside its nearest bounded ancestor's, and a grid's that overlaps no other grid (stored, or
anywhere in the batch). Then, for the whole batch at once: `insert_many` of the regions and of
their rollups, the node counters summed into one increment per region (and day bucket), one
boundary-write number for the batch (`GridStore.take_geometry_turn`: the batch's grids join every
replica's locator together), and a REGION_CREATED event per region, as `region.create` records
(the other services' territory replicas follow them).

Why: one `region.create` per region wrote the same ancestors' rollups every time (the creates
conflict with one another beyond a few in flight) and, for a grid, rebuilt the locator's polygon
tree before its overlap check, so a city's 5,000 regions loaded at a few a second, slower as
the territory grew.

All or nothing: a bad region is a BAD_INPUT naming its index and id (a parent in another's
scope is refused as a create would be); nothing is written. A region whose id is stored already
is skipped (an import sent again adds nothing); a batch re-sent with the same `importId` returns
its first reply. Batches are written one at a time (they add to the same rollups) and wait while
the outbox relay has more than `shared.bulk.BACKLOG_MAX` events to publish (`shared.bulk.run_batch`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

from shapely.geometry.base import BaseGeometry

from services.grids import domain
from services.grids.handlers.boundaries import Boundaries
from services.grids.handlers.context import GridContext
from services.grids.store import region_doc, region_from_doc
from services.grids.views import region_dto
from shared.auth import Principal, hidden
from shared.bulk import named, run_batch
from shared.contracts.grids import ImportedRegion, ImportRegions
from shared.errors import BadInput, DomainError
from shared.geo import PolygonIndex, parse_boundary
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now
from shared.trends import city_tz, day_of, fold_days


@dataclass
class _Prepared:
    """What is checked before any read: the id, the level, the boundary's form."""

    index: int
    r: ImportedRegion
    level: domain.Level
    geom: BaseGeometry | None


def prepare(p: Principal, c: ImportRegions) -> list[_Prepared]:
    """Each region's own checks, in order; ids unique in the batch, parents before children."""
    out: list[_Prepared] = []
    seen: set[str] = set()
    for i, r in enumerate(c.regions):
        try:
            domain.check_id(r.id)
            if r.id in seen:
                raise BadInput("the id appears twice in the batch")
            level = domain.Level(r.level)
            domain.check_may_create(p, level)
            geom = parse_boundary(r.boundary) if r.boundary is not None else None
        except DomainError as e:
            raise named("regions", i, r.id, e) from None
        seen.add(r.id)
        out.append(_Prepared(i, r, level, geom))
    position = {x.r.id: x.index for x in out}
    for x in out:  # a parent named later in the batch cannot be created first
        if x.r.parentId is not None and position.get(x.r.parentId, -1) > x.index:
            raise named(
                "regions",
                x.index,
                x.r.id,
                BadInput(f"its parent {x.r.parentId} comes later in the batch; put it first"),
            )
    return out


class RegionImporter:
    def __init__(self, ctx: GridContext, boundaries: Boundaries):
        self.ctx, self.rt, self.boundaries = ctx, ctx.rt, boundaries
        self._writing = asyncio.Lock()

    async def handle(self, req: Request) -> dict:
        p, c = req.principal, req.parse(ImportRegions)
        written: dict[str, Any] = {}  # what the locator learns once the batch commits

        async def write(uow: UnitOfWork, prepared: list[_Prepared]) -> dict:
            grids: list[dict] = []
            result, written["seq"] = await self.write(uow, p, c.importId, prepared, grids)
            written["grids"] = grids
            return result

        result = await run_batch(
            self.rt,
            f"region.import:{c.importId}",
            self._writing,
            "region.import",
            lambda: prepare(p, c),
            write,
            "some of these regions were created at the same time; send the batch again",
            len(c.regions),
        )
        if not result.get("replayed"):
            for g in written.get("grids", []):
                self.ctx.locator.put(g)
            self.ctx.locator.wrote(written.get("seq"))
        return result

    async def write(
        self, uow: UnitOfWork, p: Principal, import_id: str, prepared: list[_Prepared], grids: list[dict]
    ) -> tuple[dict, int | None]:
        store = self.ctx.store
        ids = [x.r.id for x in prepared]
        stored = await store.docs_in(ids, uow)
        todo = [x for x in prepared if x.r.id not in stored]
        mine = {x.r.id for x in todo}
        parents = await store.docs_in(sorted({x.r.parentId for x in todo if x.r.parentId} - mine), uow)
        for x in todo:  # a stored parent: in the caller's scope, as region.create loads it
            pid = x.r.parentId
            if pid and pid not in mine and (pid not in parents or not domain.SCOPE.admits(p, parents[pid])):
                raise named("regions", x.index, x.r.id, hidden(p, f"region {pid}"))
        # The stored ancestors' boundaries, for the nearest bounded ancestor of each new region.
        above = sorted({a for d in parents.values() for a in d["path"][:-1]} - set(parents))
        shapes: dict[str, dict] = {**parents, **await store.docs_in(above, uow)}
        seq = await self.boundaries.turn(uow) if any(x.geom is not None for x in todo) else None
        overlaps_in_batch = batch_overlaps(todo)
        at, docs = now(), []
        totals: dict[str, Counter] = {}
        days: dict[tuple[str, str], dict[str, int]] = {}
        day = day_of(at, city_tz())
        for x in todo:
            parent_doc = shapes.get(x.r.parentId) if x.r.parentId else None
            try:
                parent = region_from_doc(parent_doc) if parent_doc else None
                if x.r.parentId and parent is None:
                    raise BadInput(f"its parent {x.r.parentId} does not exist")
                r = domain.new_region(x.r.id, x.r.name, x.level, parent, x.r.code, x.r.attrs)
                if x.geom is not None:
                    container = domain.nearest_bounded([shapes[i] for i in r.path[:-1] if i in shapes])

                    def overlaps(geom: BaseGeometry, exclude: str, x: _Prepared = x) -> list[tuple[dict, Any]]:
                        return self.ctx.locator.conflicts(geom, exclude) + overlaps_in_batch.get(x.r.id, [])

                    domain.check_placed(r, x.geom, container, [], overlaps)
            except DomainError as e:
                raise named("regions", x.index, x.r.id, e) from None
            r.boundary = x.r.boundary
            ancestors = domain.ancestors_below(parent_doc.get("ancestors", []), parent) if parent_doc and parent else []
            doc = {
                **region_doc(r, ancestors),
                "createdAt": at,
                "updatedAt": at,
                **({"geomSeq": seq} if x.geom is not None and seq is not None else {}),
            }
            docs.append(doc)
            shapes[r.id] = doc  # its children later in the batch find it here
            node = domain.counters_of_node(x.level)
            for n in r.path:
                totals.setdefault(n, Counter()).update(node)
            fold_days(days, r.path, day, dict(node))
        if docs:
            # the new regions' own rollups are written whole; the stored ancestors' are added to
            own = {d["_id"]: totals.pop(d["_id"]) for d in docs if d["_id"] in totals}
            await store.insert_many(uow, docs, own)
            await store.bump_nodes(uow, totals, days)
            uow.record(*(self.ctx.region_event(p, "REGION_CREATED", d) for d in docs))
            grids.extend(region_dto(d) for d in docs if d["level"] == "GRID" and d.get("boundary"))
        result = {
            "importId": import_id,
            "imported": len(docs),
            "skipped": [i for i in ids if i in stored],
            "ids": ids,
            "replayed": False,
        }
        return result, seq


def batch_overlaps(todo: list[_Prepared]) -> dict[str, list[tuple[dict, Any]]]:
    """For each grid of the batch, the grids earlier in the batch that it overlaps (one polygon
    tree for the batch, not one per grid)."""
    order = {x.r.id: x.index for x in todo}
    grids = {x.r.id: x for x in todo if x.level is domain.Level.GRID and x.geom is not None}
    index = PolygonIndex()
    for gid, x in grids.items():
        index.put(gid, x.geom)
    out: dict[str, list[tuple[dict, Any]]] = {}
    for a, b, common in index.overlapping_pairs():
        first, second = sorted((a, b), key=order.__getitem__)
        earlier = grids[first].r
        out.setdefault(second, []).append(({"id": earlier.id, "name": earlier.name}, common))
    return out
