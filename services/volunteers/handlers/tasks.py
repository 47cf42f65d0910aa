"""Case tasks: a volunteer's list, and the `cases` events that make, move and resolve them
(a resolved task credits its hours once)."""

from __future__ import annotations

import logging

from services.volunteers import domain as d
from services.volunteers.handlers.common import Context
from services.volunteers.handlers.feedback import credit
from shared.auth import Principal
from shared.commands import page_reply
from shared.contracts import volunteers as w
from shared.messaging.envelope import CloudEvent
from shared.mongo import UnitOfWork, now

log = logging.getLogger("yiwang.volunteers")


async def listing(cx: Context, q: w.ListTasks, p: Principal) -> dict:
    v = await cx.me(p, q.volunteerId)
    items, total, more = await cx.store.tasks.page({"volunteer_id": v.id}, q.first, q.after)
    return page_reply([cx.views.task(t) for t in items], total, more)


async def volunteer_of_assignee(cx: Context, assignee_id: str) -> d.Volunteer | None:
    """A case's VOLUNTEER assignee may name the volunteer, their member id or their sub."""
    v = await cx.store.volunteers.get(assignee_id)
    if v is None:
        v = await cx.store.by_member(assignee_id)
    if v is None:
        v = await cx.store.by_sub(assignee_id)
    return v


async def on_case_event(cx: Context, event: CloudEvent) -> None:
    case_id, step = event.subject, d.case_step(event.event, event.data)
    if step is None:
        return
    if step.step == "ASSIGN":
        await _assign(cx, event, str(step.assignee_id))
    elif await cx.store.tasks.get(case_id) is not None:  # RESOLVE; no transaction for most cases' resolution
        await _resolve(cx, case_id)


async def _assign(cx: Context, event: CloudEvent, assignee_id: str) -> None:
    case_id = event.subject
    v = await volunteer_of_assignee(cx, assignee_id)
    if v is None:
        log.info("case %s went to %s, who is not a registered volunteer", case_id, assignee_id)
        return

    async def assign(uow: UnitOfWork) -> None:
        task = await cx.store.tasks.get(case_id, uow)
        if task is None:
            task = d.VolunteerTask.from_case(
                case_id=case_id, title=f"案件 {case_id}", path=event.path, volunteer_id=v.id, now=now()
            )
            await cx.put(uow, cx.store.tasks, task)
        else:
            version, before = task.version, task.model_copy(deep=True)
            if task.reassign(v.id, now()):
                await cx.put(uow, cx.store.tasks, task, before, version)

    await cx.rt.transact(assign)


async def _resolve(cx: Context, case_id: str) -> None:
    async def resolve(uow: UnitOfWork) -> None:
        task = await cx.store.tasks.get(case_id, uow)
        if task is None:
            return
        version, before = task.version, task.model_copy(deep=True)
        if task.resolve(now(), default_hours=cx.settings.volunteer_case_hours):
            await cx.put(uow, cx.store.tasks, task, before, version)
            await credit(cx, uow, task.volunteer_id, task, d.SourceKind.CASE, task.hours_tenths)

    await cx.rt.transact(resolve)
