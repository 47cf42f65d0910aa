"""`yiwang replay volunteers`: the region figures (volunteers, teams, posts, orders, tasks,
activities, points of volunteers and residents) and the per-unit order figures recounted from
the records (shared/replay.py)."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.volunteers import domain as d
from services.volunteers.store import entry_of
from shared.replay import Figures, Report, record_of
from shared.replay import replay as replay_figures

REGION_FIGURES = Figures(
    name="region figures",
    collection="rollups",
    kinds=[
        ("volunteers", record_of(d.Volunteer)),
        ("teams", record_of(d.Team)),
        ("posts", record_of(d.Post)),
        ("orders", record_of(d.ServiceOrder)),
        ("tasks", record_of(d.VolunteerTask)),
        ("activities", record_of(d.Activity)),
        ("ledger", entry_of),  # volunteers' and residents' points
    ],
    recount=d.recount,
)
UNIT_FIGURES = Figures(
    name="unit order figures",
    collection="unit_rollups",
    kinds=[("orders", record_of(d.ServiceOrder))],
    recount=d.unit_recount,
)
FIGURES = (REGION_FIGURES, UNIT_FIGURES)


async def replay(db: AsyncDatabase, apply: bool = False) -> Report:
    return await replay_figures(db, FIGURES, apply)
