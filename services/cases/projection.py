"""Region rollups of cases, folded from the service's own events (see shared/messaging/projector).

Each command's first event carries `delta` = counters_of(after) − counters_of(before); the
rollup of a region is the sum of the deltas of events in its subtree, which equals a recount
of the cases (`domain.recount`) at every moment the projector has caught up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from services.cases.store import CaseStore
from shared.domain import RollupDelta
from shared.mongo import UnitOfWork
from shared.territory import TerritoryReplica
from shared.trends import city_tz, day_of, fold_days

# rollups (region -> counters), day buckets ((region, day) -> counters), hotspot cells
# ((grid, category, day) -> (grid path, reports))
Totals = tuple[
    dict[str, dict[str, int]], dict[tuple[str, str], dict[str, int]], dict[tuple[str, str, str], tuple[list[str], int]]
]


def event_delta(before: dict[str, int] | None, after: dict[str, int]) -> dict[str, int]:
    return RollupDelta.of((), before, after).changes


def totals(outbox_docs: list[dict], path_of: Callable[[str], list[str] | None]) -> Totals:
    """Rollups, day buckets (by the event's local day) and hotspot cells (grid ×
    category × day: reports, duplicates included) of a batch of events. `path_of(grid id)`
    is the grid's current path (None for a grid it does not know: the event's own path)."""
    acc: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    days: dict[tuple[str, str], dict[str, int]] = {}
    hot: dict[tuple[str, str, str], tuple[list[str], int]] = {}
    tz = city_tz()
    for doc in outbox_docs:
        envelope = doc["envelope"]
        data = envelope["data"]
        delta = data.get("delta") or {}
        if not delta:
            continue
        event_path = data.get("region_path") or []
        # The grid's current path: a region moved since the event still adds up right.
        path = path_of(event_path[-1]) if event_path else None
        path = path or event_path
        counted = _with_building(path, data.get("building_id"))  # building: its figures count the case too
        for region in counted:
            for k, v in delta.items():
                acc[region][k] += v
        day = day_of(_when(data.get("at") or envelope.get("time")), tz)
        fold_days(days, counted, day, delta)
        if data.get("delta_from") and data.get("from_region_path"):  # a case corrected to another grid
            old = data["from_region_path"]
            old_path = _with_building(path_of(old[-1]) or old, data.get("from_building_id"))
            for region in old_path:
                for k, v in data["delta_from"].items():
                    acc[region][k] += v
            fold_days(days, old_path, day, data["delta_from"])
        if delta.get("total", 0) > 0 and data.get("category_code") and path:
            key = (path[-1], data["category_code"], day)
            hot[key] = (list(path), hot.get(key, (path, 0))[1] + delta["total"])
    return acc, days, hot


class RollupProjection:
    def __init__(self, store: CaseStore, territory: TerritoryReplica):
        self.store, self.territory = store, territory

    async def apply(self, uow: UnitOfWork, outbox_docs: list[dict], imported: bool = False) -> None:
        """Add a batch's figures, in the transaction. `imported`: the envelopes are imported
        history, which never reaches the outbox; the figures also keep it as their `imported`
        share, so a replay of the event log can start from it."""
        rollups, days, hot = totals(outbox_docs, self.territory.path)
        await self.store.add_to_rollups(uow, rollups, imported=imported)
        await self.store.add_to_days(uow, days, imported=imported)
        await self.store.add_to_hotspots(uow, hot, imported=imported)


def _with_building(path: list[str], building: str | None) -> list[str]:
    """The regions whose figures an event adds to: the grid's path, and the case's building."""
    return [*path, building] if building and building not in path else list(path)


def _when(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
