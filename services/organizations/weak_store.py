"""MongoDB access for the weak-organisation score and rectification: the standing per
organisation (`weak_standings`, id = the organisation's), the plans (`rectifications`), the
deployment's settings, and the rating sweep's cursor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.organizations.domain.rectification import RectificationPlan
from services.organizations.domain.weak import SETTINGS_ID, WeakSettingsRecord, WeakStanding
from shared.paging import KEY
from shared.records import Records, until

CURSOR_ID = "weak-rating"
PATH = [("path", ASCENDING), (KEY, ASCENDING)]
WEAK_INDEXES = {
    # weakOrganizations(regionId): the flagged ones of a subtree, in bounded pages (shared/paging)
    "weak_standings": [IndexModel(PATH), IndexModel([("flagged", ASCENDING), ("path", ASCENDING), (KEY, ASCENDING)])],
    "rectifications": [
        IndexModel(PATH),
        IndexModel([("org_id", ASCENDING), (KEY, ASCENDING)]),
        IndexModel([("next_due_at", ASCENDING)]),  # the sweeper's overdue tasks
    ],
    "weak_settings": [],
    "sweep_cursors": [],
}


def _extra(record: BaseModel) -> dict[str, Any]:
    if isinstance(record, RectificationPlan):
        return {"next_due_at": record.next_due_at}
    return {}


class WeakStore:
    def __init__(self, db: AsyncDatabase):
        def records(name: str, model: type, what: str) -> Records:
            return Records(db, name, model, what, path_of=lambda r: r.scope_path, extra=_extra)

        self.standings = records("weak_standings", WeakStanding, "weak-organisation standing")
        self.plans = records("rectifications", RectificationPlan, "rectification plan")
        self.settings = records("weak_settings", WeakSettingsRecord, "weak-score settings")
        self.cursors = db.sweep_cursors

    async def settings_record(self) -> WeakSettingsRecord | None:
        return await self.settings.get(SETTINGS_ID)

    async def plans_due(self, at: datetime, limit: int) -> list[str]:
        """Open plans with a task past its deadline not yet raised (index on next_due_at)."""
        return [x["_id"] for x in await self.plans.coll.find({"next_due_at": until(at)}, {"_id": 1}).to_list(limit)]

    async def cursor(self) -> str:
        doc = await self.cursors.find_one({"_id": CURSOR_ID})
        return doc["after"] if doc else ""

    async def move_cursor(self, after: str) -> None:
        await self.cursors.update_one({"_id": CURSOR_ID}, {"$set": {"after": after}}, upsert=True)
