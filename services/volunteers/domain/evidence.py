"""Who may attach evidence to a service order or an activity (the records' own rules; the adding
itself is shared.attachments.add_attachment)."""

from __future__ import annotations

from shared.auth import Principal, Role
from shared.errors import Conflict, Forbidden

from .activities import Activity
from .enums import Action, OrderStatus
from .orders import ServiceOrder
from .policy import is_allowed

ORDER_EVENT, ACTIVITY_EVENT = "ORDER_ATTACHMENT_ADDED", "ACTIVITY_ATTACHMENT_ADDED"


def may_attach_to_order(order: ServiceOrder, p: Principal) -> None:
    """Staff of the order's community, the resident who ordered it and the volunteer who took it;
    not to a rejected or cancelled order."""
    if order.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
        raise Conflict(f"service order {order.id} is {order.status}: it takes no evidence")
    if is_allowed(p, Action.REVIEW_ORDER, order):
        return
    if p.role is Role.RESIDENT and p.sub == order.resident_sub:
        return
    if p.role is Role.VOLUNTEER and order.taker_sub is not None and p.sub == order.taker_sub:
        return
    raise Forbidden(f"only staff, the resident and the volunteer of service order {order.id} may add evidence to it")


def may_attach_to_activity(activity: Activity, p: Principal) -> None:
    """Staff of the activity's region, and the volunteers signed up for it."""
    if is_allowed(p, Action.MANAGE_ACTIVITY, activity):
        return
    if p.role is Role.VOLUNTEER and any(x.sub == p.sub for x in activity.signups):
        return
    raise Forbidden(f"only staff and the volunteers of activity {activity.id} may add evidence to it")
