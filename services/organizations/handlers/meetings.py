"""`meeting.*`: joint meetings of a 大党委 (党建联席会议) with a rotating chair, agenda, minutes,
resolutions, case hotspots raised for deliberation, and action items that become cases in
`cases`, whose progress comes back as events (rules in domain/meetings.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from services.organizations import domain as d
from services.organizations.handlers.common import Feature
from shared.auth import Principal
from shared.contracts import organizations as w
from shared.errors import DomainError, NotFound
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now

log = logging.getLogger("yiwang.organizations")


class Meetings(Feature):
    async def schedule(self, req: Request) -> dict:
        c, p = req.parse(w.ScheduleMeeting), req.principal

        async def schedule(uow: UnitOfWork) -> str:
            committee = await self.ctx.scoped(self.store.orgs, c.committeeId, p, uow)
            history = await self.store.chair_history(committee.id, uow)
            meeting = d.JointMeeting.schedule(
                id=new_id("jm"),
                committee=committee,
                scheduled_at=c.scheduledAt,
                chair_history=history,
                unavailable=set(c.unavailableUnitIds),
                by=p,
                now=now(),
            )
            await self.ctx.put(uow, self.store.meetings, meeting)
            return meeting.id

        return await self.ctx.idempotent(p, "meeting.schedule", c.idempotencyKey, schedule, self.view)

    async def view(self, meeting_id: str) -> dict:
        return self.views.meeting(await self.store.meetings.load(meeting_id))

    async def change(
        self,
        p: Principal,
        meeting_id: str,
        expected: int | None,
        command: Callable[[d.JointMeeting, UnitOfWork], Any],
        action: d.Action,
    ) -> dict:
        """Apply `command` to a meeting the caller may do `action` to (at `expected`, if given)."""
        m = await self.ctx.change(self.store.meetings, meeting_id, expected, command, by=p, action=action)
        return self.views.meeting(m)

    async def agenda(self, req: Request) -> dict:
        c, p = req.parse(w.AgendaInput), req.principal
        return await self.change(
            p,
            c.id,
            c.expectedVersion,
            lambda m, _: m.add_agenda_item(d.AgendaSource(c.source), c.ref, c.title, p, now()),
            d.Action.RECORD_MEETING,
        )

    async def minutes(self, req: Request) -> dict:
        c, p = req.parse(w.MinutesInput), req.principal
        return await self.change(
            p,
            c.id,
            c.expectedVersion,
            lambda m, _: m.record_minutes(c.minutes, c.attendedUnitIds, c.attendedMemberIds, p, now()),
            d.Action.RECORD_MEETING,
        )

    async def resolution(self, req: Request) -> dict:
        c, p = req.parse(w.ResolutionInput), req.principal
        return await self.change(
            p,
            c.id,
            c.expectedVersion,
            lambda m, _: m.add_resolution(c.text, c.actionItems, p, now(), c.agendaItemIds),
            d.Action.MANAGE_MEETING,
        )

    async def raise_hotspot(self, req: Request) -> dict:
        """Put a case hotspot on the agenda of the community's next joint meeting (or the one
        named), with the cases behind it as `cases` reports them now."""
        c, p = req.parse(w.RaiseHotspot), req.principal
        grid = self.ctx.node(c.gridId, "grid", p)
        meeting = await self.meeting_for(p, d.hotspot_community(grid), c.meetingId)
        d.authorize(p, d.Action.RECORD_MEETING, meeting)  # before reading cases on the caller's behalf
        until = c.until or now()
        spot = await self.rt.rpc.call(
            "cases",
            "hotspot.cases",
            {
                "gridId": grid.id,
                "categoryCode": c.categoryCode,
                "since": c.since.isoformat(),
                "until": until.isoformat(),
                "first": d.MAX_HOTSPOT_CASES,
            },
            self.rt.token(),
        )
        m = await self.ctx.change(
            self.store.meetings,
            meeting.id,
            None,
            by=p,
            action=d.Action.RECORD_MEETING,
            command=lambda m, _: m.raise_hotspot(
                grid_id=grid.id,
                grid_path=grid.path,
                category_code=c.categoryCode,
                category_name=spot["categoryName"],
                grid_name=spot["gridName"],
                since=c.since,
                until=until,
                case_ids=spot["caseIds"],
                count=spot["total"],
                by=p,
                now=now(),
            ),
        )
        return self.views.meeting(m)

    async def meeting_for(self, p: Principal, community_id: str, meeting_id: str | None) -> d.JointMeeting:
        """The meeting named (held by the community), else the next one of its 大党委."""
        if meeting_id:
            m = await self.ctx.scoped(self.store.meetings, meeting_id, p)
            d.check_held_by(m, community_id)
            return m
        committee_id = await self.store.org_holding(d.uniqueness_key(d.OrgType.COMMUNITY_COMMITTEE, community_id))
        if committee_id is None:
            raise NotFound(f"community {community_id} has no 大党委 (COMMUNITY_COMMITTEE) to deliberate it")
        return d.next_meeting(await self.store.meetings_of(committee_id), now(), committee_id)

    async def request_case(self, req: Request) -> dict:
        """Record the case request with the meeting (so it survives any failure), then create
        the case at once; the consumer of CASE_REQUESTED retries if this attempt fails."""
        c, p = req.parse(w.CaseFromItem), req.principal

        def request(m: d.JointMeeting, _: UnitOfWork) -> None:
            grid = self.ctx.node(c.gridId, "grid")
            d.check_case_grid(m, grid)
            m.request_case(c.itemId, c.categoryCode, c.description, p, now(), grid_id=grid.id)

        m = await self.ctx.change(
            self.store.meetings, c.id, c.expectedVersion, request, by=p, action=d.Action.MANAGE_MEETING
        )
        try:
            m = await self.create_case(m.id, c.itemId)
        except DomainError as e:
            log.warning("case for %s item %s not created yet (%s); it will be retried", m.id, c.itemId, e)
        return self.views.meeting(m)

    async def create_case(self, meeting_id: str, item_id: str) -> d.JointMeeting:
        """Report the action item's case to `cases` (idempotent by key) and link it."""
        meeting = await self.store.meetings.load(meeting_id)
        item = meeting.item(item_id)
        if not item.awaits_case:
            return meeting
        payload = d.case_report(item, await self.store.orgs.get(meeting.committee_id))
        case = await self.rt.rpc.call("cases", "case.report", payload, self.rt.token())

        async def link(uow: UnitOfWork) -> d.JointMeeting:
            m = await self.store.meetings.load(meeting_id, uow)
            version = m.version
            if m.link_case(item_id, case["id"], now(), case["status"]):
                await self.store.link_case(uow, case["id"], m.id, item_id)
                await self.ctx.put(uow, self.store.meetings, m, None, version)
            return m

        return await self.rt.transact(link)

    async def get(self, req: Request) -> dict | None:
        return await self.ctx.read(req, self.store.meetings, lambda p, m: self.views.meeting(m))

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(w.ListMeetings), req.principal
        if q.committeeId:
            org = await self.ctx.scoped(self.store.orgs, q.committeeId, p)
            query: dict[str, Any] = {"committee_id": org.id}
        else:
            query = self.ctx.list_scope(p, q.regionId)
        return await self.ctx.page(self.store.meetings, query, q.first, q.after, self.views.meeting)

    # -- events from this service and from cases -------------------------------------------
    async def on_own_event(self, event: CloudEvent) -> None:
        """CASE_REQUESTED: make sure the action item's case exists and is linked."""
        if event.event == "CASE_REQUESTED":
            await self.create_case(event.subject, event.data["itemId"])

    async def on_case_event(self, event: CloudEvent) -> None:
        """Progress of joint meetings' action items, from their cases' events."""
        case_id, version = event.subject, event.aggversion or 0
        link = await self.store.case_link(case_id)
        if link is not None and version > link.get("version", 0):
            await self.case_progress(link["meeting_id"], case_id, event.data.get("status", ""), version)

    async def case_progress(self, meeting_id: str, case_id: str, status: str, version: int) -> None:
        """Apply case version `version` once, in order: an older or repeated one changes nothing."""

        async def work(uow: UnitOfWork) -> None:
            if not await self.store.advance_case_link(uow, case_id, version):
                return
            m = await self.store.meetings.load(meeting_id, uow)
            v = m.version
            if status and m.update_case_status(case_id, status, now()):
                await self.ctx.put(uow, self.store.meetings, m, None, v)

        await self.rt.transact(work)
