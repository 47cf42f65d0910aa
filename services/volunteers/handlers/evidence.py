"""`order.attach` and `activity.attach` (ATTACHMENTS_API): evidence of a service order or an activity."""

from __future__ import annotations

from services.volunteers.domain import evidence
from services.volunteers.handlers.common import Context
from shared.attachments import serve_attach
from shared.auth import Principal
from shared.contracts.attachments import AttachEvidence


async def order_attach(cx: Context, c: AttachEvidence, p: Principal) -> dict:
    limit = cx.rt.settings.attachments_per_record
    return await serve_attach(
        cx, cx.store.orders, "order.attach", c, p, evidence.may_attach_to_order, limit, evidence.ORDER_EVENT
    )


async def activity_attach(cx: Context, c: AttachEvidence, p: Principal) -> dict:
    limit, may = cx.rt.settings.attachments_per_record, evidence.may_attach_to_activity
    return await serve_attach(cx, cx.store.activities, "activity.attach", c, p, may, limit, evidence.ACTIVITY_EVENT)
