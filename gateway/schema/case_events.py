"""`caseEvents(regionId)`: every case event in a subtree as it happens, over graphql-transport-ws."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.events import stream_events, subtree_events
from gateway.schema.case_types import CaseEvent, when
from gateway.schema.common import ctx
from gateway.schema.enums import CaseStatus, HandlingLevel
from gateway.schema.loads import load_region
from shared.auth import Role
from shared.errors import Forbidden
from shared.messaging.envelope import CloudEvent
from shared.messaging.subjects import dept_filters

# Roles that see every case in their subtree; departments and volunteers see only their assignments,
# residents only their own reports, so a region-wide feed is not theirs.
WATCHERS = {Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER}


def event_node(e: CloudEvent) -> CaseEvent:
    d = e.data
    level, status = d.get("level"), d.get("status")
    return CaseEvent(
        type=d.get("type") or e.event,
        case_id=strawberry.ID(e.subject),
        at=when(d.get("at") or e.time),
        actor=d.get("actor", e.actor),
        level=HandlingLevel(level) if level else None,
        note=d.get("note"),
        status=CaseStatus(status) if status else None,
    )


async def department_events(c: Any, path: list[str]) -> AsyncIterator[CloudEvent]:
    """A department's feed: its own copies of the events of the cases it handles (the subject space
    `yiwang.dept.cases.<region>.<code>`), within the region at `path`."""
    p = c.principal
    feed = stream_events(c.nc, {"cases": dept_filters(p.region, p.dept)}, path)
    async with contextlib.aclosing(feed):
        async for delivery in feed:
            yield delivery.event


@strawberry.type
class CasesSubscription:
    @strawberry.subscription(
        description="Every case event in the region's subtree from now on. Staff in scope "
        "only; a grid worker may watch their own grid; a department, the cases it handles"
    )
    async def case_events(self, info: Info, region_id: strawberry.ID) -> AsyncGenerator[CaseEvent, None]:
        c = ctx(info)
        principal = c.principal
        if principal.role not in WATCHERS and principal.role is not Role.DEPARTMENT:
            raise Forbidden(f"role {principal.role} may not watch a region's case events")
        region = await load_region(info, str(region_id))
        if region.get("partial") or not principal.can_see_path(region["path"]):
            raise Forbidden(f"region {region['name']} is outside your scope")
        events = (
            department_events(c, region["path"])
            if principal.role is Role.DEPARTMENT
            else subtree_events(c.nc, "cases", region["path"])
        )
        async for event in events:
            c.principal  # noqa: B018 - a feed ends when its token expires
            # One context serves the whole connection: let `case` and its category be read afresh.
            with contextlib.suppress(KeyError):
                c.loaders.case_by_id.clear(event.subject)
            c.loaders.category_by_code.clear_all()
            yield event_node(event)
