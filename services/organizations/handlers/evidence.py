"""`meeting.attach` (ATTACHMENTS_API): evidence of a joint meeting (photos of the meeting, its
sign-in sheet, the minutes as signed), by the staff who may record it."""

from __future__ import annotations

from services.organizations import domain as d
from services.organizations.handlers.common import Feature
from shared.attachments import serve_attach
from shared.contracts.attachments import AttachEvidence
from shared.messaging.rpc import Request

EVENT = "MEETING_ATTACHMENT_ADDED"


class MeetingEvidence(Feature):
    async def attach(self, req: Request) -> dict:
        c, p = req.parse(AttachEvidence), req.principal
        limit = self.rt.settings.attachments_per_record

        def may(meeting: d.JointMeeting, who: object) -> None:
            d.authorize(p, d.Action.RECORD_MEETING, meeting)

        return await serve_attach(self.ctx, self.store.meetings, "meeting.attach", c, p, may, limit, EVENT)
