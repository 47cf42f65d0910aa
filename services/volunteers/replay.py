"""`yiwang replay volunteers`: the region figures (volunteers, teams, posts, orders, tasks,
activities, points of volunteers and residents) and the per-unit order figures recounted from
the records (shared/replay.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from services.volunteers import domain as d
from services.volunteers.store import entry_of
from shared.replay import Figures, Report
from shared.replay import replay as replay_figures


def _of(model: type[BaseModel]) -> Callable[[dict[str, Any]], Any]:
    return lambda doc: model.model_validate({**doc, "id": doc["_id"]})


REGION_FIGURES = Figures(
    name="region figures",
    collection="rollups",
    kinds=[
        ("volunteers", _of(d.Volunteer)),
        ("teams", _of(d.Team)),
        ("posts", _of(d.Post)),
        ("orders", _of(d.ServiceOrder)),
        ("tasks", _of(d.VolunteerTask)),
        ("activities", _of(d.Activity)),
        ("ledger", entry_of),  # volunteers' and residents' points
    ],
    recount=d.recount,
)
UNIT_FIGURES = Figures(
    name="unit order figures",
    collection="unit_rollups",
    kinds=[("orders", _of(d.ServiceOrder))],
    recount=d.unit_recount,
)
FIGURES = (REGION_FIGURES, UNIT_FIGURES)


async def replay(db: AsyncDatabase, apply: bool = False) -> Report:
    return await replay_figures(db, FIGURES, apply)
