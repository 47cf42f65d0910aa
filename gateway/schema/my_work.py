"""`myWork`: a mobile app's home screen in one query. Each service's `work.*` verb is asked for
the caller's part of the day, all at once, each within `YIWANG_MY_WORK_BUDGET_S`; a part that
does not answer in time is named in `unavailable` and the rest is shown. Items are merged in
one order of urgency (shared/work.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from gateway.clients import CasesClient, Dto, GridsClient, OrganizationsClient, ServiceClient, VolunteersClient
from gateway.context import Context
from gateway.schema.case_types import Case, case_node
from gateway.schema.common import ctx, graphql_enum, when
from gateway.schema.org_types import JointMeeting, meeting_node
from gateway.schema.visits import VisitDue
from gateway.schema.volunteer_types import Activity, ServiceOrder, activity_node, order_node
from shared.auth import Principal, Role
from shared.contracts import grids as gc
from shared.contracts.work import WORK_FIRST_MAX, WorkQuery
from shared.errors import BadInput, Forbidden, Unavailable
from shared.work import WorkItemKind, most_urgent

log = logging.getLogger("yiwang.gateway")
C = TypeVar("C", bound=ServiceClient)
K = WorkItemKind
graphql_enum(WorkItemKind, description="What an item of a working day is")

NOT_HERE = (
    "myWork is the working day of grid workers, building leaders, staff, departments and volunteers; "
    "a resident follows their own reports with `cases`"
)


@strawberry.type(description="One thing to do today, with its deadline: the typed lists of MyWork hold the records")
class WorkItem:
    kind: WorkItemKind
    id: strawberry.ID = strawberry.field(description="The record's id (a visit's: its household's)")
    title: str
    due_at: datetime | None = strawberry.field(
        description="Its deadline or time: a case's SLA deadline, a visit's due date, an order's wished time, "
        "an activity's or meeting's start; null when it has none (an order without a wished time)"
    )
    overdue: bool = strawberry.field(description="Past its deadline (cases, visits, orders not yet started)")
    status: str | None = strawberry.field(description="The record's status, where it has one")


@strawberry.type(description="A working day: everything the caller has to do, most urgent first, and by kind")
class MyWork:
    items: list[WorkItem] = strawberry.field(description="Every item below, overdue first, then by dueAt")
    visits: list[VisitDue] = strawberry.field(description="Household visits due today or overdue")
    cases: list[Case] = strawberry.field(description="To accept or assign at your level, or in your hands")
    orders: list[ServiceOrder] = strawberry.field(description="Service orders waiting or under way in your area")
    activities: list[Activity] = strawberry.field(description="Activities of your area coming up")
    meetings: list[JointMeeting] = strawberry.field(description="Joint meetings of your community coming up")
    unavailable: list[str] = strawberry.field(
        description="Services that did not answer in time: their parts are empty, the rest is shown"
    )
    truncated: bool = strawberry.field(description="Some part held more than `first` items; the most urgent are shown")
    generated_at: datetime


@dataclass(frozen=True)
class Part:
    """One service's part of the day: how to ask for it (a budgeted client's verb method), and how
    its reply becomes the DTOs of MyWork's lists."""

    service: str
    ask: Callable[[Context, float, int], Awaitable[Dto]]  # (context, budget in s, first) → the reply
    lists: Callable[[Dto], dict[str, list[Dto]]]  # field of MyWork → the DTOs of that list


def _budgeted(c: Context, client: type[C], budget_s: float) -> C:
    """The service's client with the caller's token, waiting at most `budget_s` for a reply."""
    return client(c.rpc, c.token, timeout_s=budget_s)


PARTS = (
    # grids' answer is {items: [VisitDue DTO], total}
    Part(
        "grids",
        lambda c, b, n: _budgeted(c, GridsClient, b).work_visits(gc.WorkQuery(first=n)),
        lambda r: {"visits": r["items"]},
    ),
    Part(
        "cases",
        lambda c, b, n: _budgeted(c, CasesClient, b).work_cases(WorkQuery(first=n)),
        lambda r: {"cases": r["items"]},
    ),
    Part(
        "volunteers",
        lambda c, b, n: _budgeted(c, VolunteersClient, b).work_volunteers(WorkQuery(first=n)),
        lambda r: {"orders": r["orders"], "activities": r["activities"]},
    ),
    Part(
        "organizations",
        lambda c, b, n: _budgeted(c, OrganizationsClient, b).work_meetings(WorkQuery(first=n)),
        lambda r: {"meetings": r["items"]},
    ),
)


def _item(kind: WorkItemKind, dto: Dto, at: datetime) -> WorkItem:
    """The item of one record: its title and deadline, as each kind has them."""
    if kind is K.VISIT:  # id: the household's; title: the rule that makes the visit due
        due = when(dto["dueAt"])
        title = dto.get("ruleName") or dto.get("rule") or "走访"
        return WorkItem(
            kind=kind, id=dto["householdId"], title=title, due_at=due, overdue=bool(dto["overdue"]), status=None
        )
    if kind is K.CASE:
        due = when(dto.get("dueAt"))
        overdue = bool(dto.get("overdue")) or (due is not None and due < at)
        return WorkItem(kind=kind, id=dto["id"], title=dto["title"], due_at=due, overdue=overdue, status=dto["status"])
    if kind is K.ORDER:
        due = when(dto.get("wishedAt"))
        late = due is not None and due < at and dto["status"] in ("PENDING_REVIEW", "OPEN", "DISPATCHED", "TAKEN")
        return WorkItem(kind=kind, id=dto["id"], title=dto["category"], due_at=due, overdue=late, status=dto["status"])
    if kind is K.ACTIVITY:
        return WorkItem(
            kind=kind, id=dto["id"], title=dto["title"], due_at=when(dto["startsAt"]), overdue=False, status=None
        )
    return WorkItem(
        kind=kind, id=dto["id"], title="党建联席会议", due_at=when(dto["scheduledAt"]), overdue=False, status=None
    )


KINDS = {"visits": K.VISIT, "cases": K.CASE, "orders": K.ORDER, "activities": K.ACTIVITY, "meetings": K.MEETING}
NODES: dict[str, Callable[[Dto], Any]] = {
    "visits": lambda dto: VisitDue(dto=dto),
    "cases": case_node,
    "orders": order_node,
    "activities": activity_node,
    "meetings": meeting_node,
}


def require_worker(p: Principal) -> None:
    if p.role is Role.RESIDENT:
        raise Forbidden(NOT_HERE, {"role": str(p.role)})


async def _ask(c: Context, part: Part, first: int) -> Dto | None:
    """The part's reply, or None when its service did not answer within the budget."""
    budget = c.settings.my_work_budget_s
    try:
        return await asyncio.wait_for(part.ask(c, budget, first), budget * 1.5)
    except (Unavailable, TimeoutError) as e:
        log.warning("myWork: %s did not answer: %s", part.service, e)
        return None


async def my_work(info: Info, first: int) -> MyWork:
    c = ctx(info)
    require_worker(c.principal)
    asks: list[Awaitable[Dto | None]] = [_ask(c, part, first) for part in PARTS]
    replies = await asyncio.gather(*asks)
    at = datetime.now(UTC)
    lists: dict[str, list[Dto]] = {name: [] for name in KINDS}
    unavailable, truncated = [], False
    for part, reply in zip(PARTS, replies, strict=True):
        if reply is None:
            unavailable.append(part.service)
            continue
        truncated = truncated or bool(reply.get("truncated")) or reply.get("total", 0) > len(reply.get("items") or [])
        for name, dtos in part.lists(reply).items():
            lists[name] = dtos
    items = [_item(KINDS[name], dto, at) for name, dtos in lists.items() for dto in dtos]
    return MyWork(
        items=most_urgent(items, lambda i: (i.due_at, i.overdue), len(items)),
        visits=[NODES["visits"](x) for x in lists["visits"]],
        cases=[NODES["cases"](x) for x in lists["cases"]],
        orders=[NODES["orders"](x) for x in lists["orders"]],
        activities=[NODES["activities"](x) for x in lists["activities"]],
        meetings=[NODES["meetings"](x) for x in lists["meetings"]],
        unavailable=unavailable,
        truncated=truncated,
        generated_at=at,
    )


@strawberry.type
class MyWorkQuery:
    @strawberry.field(
        description="Your working day in one call (a mobile app's home screen): visits due, cases to accept or handle, "
        "service orders and activities of your area, your community's joint meetings, most urgent first. "
        "Residents: FORBIDDEN (their reports are in `cases`)"
    )
    async def my_work(self, info: Info, first: int | None = None) -> MyWork:
        n = 50 if first is None else first
        if not 1 <= n <= WORK_FIRST_MAX:
            raise BadInput(f"`first` must be between 1 and {WORK_FIRST_MAX}")
        return await my_work(info, n)
