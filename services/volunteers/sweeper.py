"""The periodic write-off of expired points. One replica sweeps at a time (a lease); each
pass reads only credit lots past their expiry that were not yet looked at, through an index
on (expiry_pending, expires_at), and handles each volunteer in its own transaction."""
from __future__ import annotations

from datetime import datetime

from services.volunteers.handlers import Volunteers
from shared.loops import LeasedLoop
from shared.mongo import now

BATCH = 200


class Sweeper(LeasedLoop):
    def __init__(self, volunteers: Volunteers):
        super().__init__(volunteers.rt.db, "volunteers-sweeper", self.sweep_once,
                         volunteers.settings.volunteer_sweep_s, drain_on_stop=False)
        self.volunteers = volunteers

    async def sweep_once(self, at: datetime | None = None) -> bool:
        at = at or now()
        docs = await self.volunteers.store.ledger.find(
            {"expiry_pending": True, "expires_at": {"$lte": at}}, {"volunteer_id": 1}).to_list(BATCH)
        for volunteer_id in dict.fromkeys(x["volunteer_id"] for x in docs):
            await self.volunteers.expire_points(volunteer_id, at)
        return len(docs) == BATCH
