"""`work.meetings`: the caller's community's joint meetings coming up (rules in domain/work.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.organizations.domain import work
from services.organizations.domain.meetings import JointMeeting
from services.organizations.handlers.common import Feature
from shared.auth import STAFF_ROLES, Principal
from shared.contracts.work import WorkQuery
from shared.messaging.rpc import Request
from shared.mongo import now
from shared.work import most_urgent


class MeetingWork(Feature):
    async def meetings(self, req: Request) -> dict[str, Any]:
        q, p = req.parse(WorkQuery), req.principal
        node = self.ctx.territory.get(p.region) if p.region else None
        path = list(node["path"]) if node else []
        levels = [(self.ctx.territory.get(r) or {}).get("level") for r in path]
        community = work.community_of(p, path, levels) if node else None
        if community is None:
            return {"items": [], "truncated": False}
        at = now()
        query = work.meeting_filter(community, at, timedelta(days=q.horizonDays))
        # a community holds a meeting or two a month: the window's are a handful, read whole
        found = [m for m in await self.store.meetings.find(query, sort="scheduled_at") if work.pending(m)]
        items = most_urgent(found, lambda m: work.meeting_due(m, at), q.first)
        return {"items": [self.shown(p, m) for m in items], "truncated": len(found) > q.first}

    def shown(self, p: Principal, m: JointMeeting) -> dict[str, Any]:
        """Staff read the whole meeting; anyone else whose day it is (grid workers, building
        leaders) its time, place, chair and agenda, not its minutes, resolutions or evidence."""
        dto = self.views.meeting(m)
        if p.role in STAFF_ROLES:
            return dto
        return dto | {"attachments": [], "minutes": "", "attendedMemberIds": [], "resolutions": []}
