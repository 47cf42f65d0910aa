"""The periodic write-off of expired points. One replica sweeps at a time (a lease); each
pass reads only credit lots past their expiry that were not yet looked at, through an index
on (expiry_pending, expires_at), and handles each volunteer in its own transaction."""

from __future__ import annotations

from datetime import datetime

from services.volunteers.handlers.common import Context
from services.volunteers.handlers.points import expire_points
from shared.loops import LeasedLoop
from shared.mongo import now

BATCH = 200


class Sweeper(LeasedLoop):
    def __init__(self, cx: Context):
        super().__init__(
            cx.rt.db, "volunteers-sweeper", self.sweep_once, cx.settings.volunteer_sweep_s, drain_on_stop=False
        )
        self.cx = cx

    async def sweep_once(self, at: datetime | None = None) -> bool:
        at = at or now()
        due = await self.cx.store.due_for_expiry(at, BATCH)
        for volunteer_id in dict.fromkeys(due):
            await expire_points(self.cx, volunteer_id, at)
        return len(due) == BATCH
