"""A region moved in the territory (grids' REGION_MOVED): each service re-paths its records
in the moved subtree and shifts the subtree's figures from the ancestors it left to those it
joined, in one transaction, once per event (redeliveries find it done).

Records are found by the service's own path indexes: every collection with an index on a
field named `...path` (`path`, a transfer's `to_path`) is searched for documents whose field
holds the moved region, and in each such document every list of ids that starts with the old
path (the record's path, its model's `region_path`, a destination) starts with the new one.
Scope checks read those paths, so until this runs an admin of the old county would still see
the moved township's records and one of the new county would not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.mongo import Transactor, UnitOfWork, first_time
from shared.records import flatten
from shared.territory import MovedHook
from shared.trends import bucket_id


@dataclass(frozen=True)
class Figures:
    """A collection of figures a move shifts: the counter `fields` of its documents (`c`, an
    `imported` share, hotspot cells `h`); `daily`: one document per region and day, keyed
    `region|day` with `r` and `d`, else one per region, keyed by it."""

    collection: str
    fields: tuple[str, ...]
    daily: bool = False


# a service's rollups and the day buckets trends read (shared/records.add_rollups)
ROLLUPS_AND_DAYS = (Figures("rollups", ("c",)), Figures("rollup_days", ("c",), daily=True))


def repathed(value: Any, old: list[str], new: list[str]) -> Any:
    """`value` with every list of ids that starts with `old` starting with `new` instead; the
    same object when nothing in it does."""
    if isinstance(value, list):
        n = len(old)
        if len(value) >= n and value[:n] == old and all(isinstance(x, str) for x in value):
            return [*new, *value[n:]]
        items = [repathed(x, old, new) for x in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        out = {k: repathed(v, old, new) for k, v in value.items()}
        return out if any(out[k] is not value[k] for k in value) else value
    return value


def path_fields(indexes: dict[str, list[IndexModel]]) -> dict[str, list[str]]:
    """Collection -> its indexed fields that hold region paths."""
    out: dict[str, list[str]] = {}
    for coll, models in indexes.items():
        fields = sorted({k for m in models for k in m.document["key"] if k.split(".")[-1].endswith("path")})
        if fields:
            out[coll] = fields
    return out


async def repath_subtree(
    db: AsyncDatabase,
    uow: UnitOfWork,
    indexes: dict[str, list[IndexModel]],
    root: str,
    old_path: list[str],
    new_path: list[str],
) -> int:
    """Re-path every record under `root`; returns how many documents changed. Idempotent:
    a record already re-pathed no longer starts with the old path."""
    changed = 0
    for coll, fields in path_fields(indexes).items():
        seen: set[Any] = set()
        ops: list[UpdateOne] = []
        for f in fields:
            async for doc in db[coll].find({f: root}, session=uow.session):
                if doc["_id"] in seen:
                    continue
                seen.add(doc["_id"])
                sets = {
                    k: nv for k, v in doc.items() if k != "_id" and (nv := repathed(v, old_path, new_path)) is not v
                }
                if sets:
                    ops.append(UpdateOne({"_id": doc["_id"]}, {"$set": sets}))
        if ops:
            await db[coll].bulk_write(ops, ordered=False, session=uow.session)
            changed += len(ops)
    return changed


async def shift_figures(
    db: AsyncDatabase, uow: UnitOfWork, root: str, leave: list[str], join: list[str], figures: Sequence[Figures]
) -> None:
    """What `root`'s subtree adds to the figures leaves the ancestors in `leave` and joins those
    in `join`."""
    if not leave and not join:
        return
    for fig in figures:
        ops: list[UpdateOne] = []
        async for doc in db[fig.collection].find({"r": root} if fig.daily else {"_id": root}, session=uow.session):
            incs = {f"{f}.{k}": v for f in fig.fields for k, v in flatten(doc.get(f, {})).items() if v}
            if not incs:
                continue
            for regions, sign in ((leave, -1), (join, 1)):
                for region in regions:
                    update: dict[str, Any] = {"$inc": {k: sign * v for k, v in incs.items()}}
                    if fig.daily:
                        update["$setOnInsert"] = {"r": region, "d": doc["d"]}
                    ops.append(
                        UpdateOne({"_id": bucket_id(region, doc["d"]) if fig.daily else region}, update, upsert=True)
                    )
        if ops:
            await db[fig.collection].bulk_write(ops, ordered=False, session=uow.session)


def follow_moves(
    name: str, db: AsyncDatabase, transact: Transactor, indexes: dict[str, list[IndexModel]], figures: Sequence[Figures]
) -> MovedHook:
    """The TerritoryReplica `on_moved` hook of a service: re-path and shift in one transaction,
    once per event id."""

    async def on_moved(event_id: str, root: str, old_path: list[str], new_path: list[str]) -> None:
        async def work(uow: UnitOfWork) -> None:
            if not await first_time(uow, f"{name}-region-moved", event_id):
                return
            await repath_subtree(db, uow, indexes, root, old_path, new_path)
            left, joined = old_path[:-1], new_path[:-1]
            await shift_figures(
                db, uow, root, [a for a in left if a not in joined], [a for a in joined if a not in left], figures
            )

        await transact(work)

    return on_moved
