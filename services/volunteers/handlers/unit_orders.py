"""Units take service orders (rules in domain/orders.py and domain/unit_orders.py): the unit a
dispatch names, as the organizations service knows it (asked with this service's token), checked
to serve the order's community; staff's record of the unit's acceptance; figures per unit."""

from __future__ import annotations

from typing import Any

from services.volunteers import domain as d
from services.volunteers.handlers.common import Context
from shared.auth import Principal
from shared.contracts import volunteers as w
from shared.contracts.common import ByIds
from shared.errors import BadInput, NotFound
from shared.mongo import now


async def unit_target(cx: Context, order_id: str, unit_id: str, p: Principal) -> d.Target:
    """The UNIT target of a dispatch: the unit exists (organizations `unit.get`) and serves the
    order's community (`d.require_unit_in_area`). Read before the dispatch's transaction."""
    order = await cx.scoped(cx.store.orders, order_id, p)
    d.authorize(p, d.Action.DISPATCH_ORDER, order)  # before anything is asked of the organizations
    try:
        unit = await cx.rt.rpc.call("organizations", "unit.get", {"id": unit_id}, cx.rt.token())
    except NotFound:
        unit = None
    if not unit:
        raise BadInput(f"co-building unit {unit_id} does not exist", {"unitId": unit_id})
    community = cx.community_path(order.region_path[-1])
    d.require_unit_in_area(order.region_path, community, unit["id"], unit["regionPath"])
    return d.Target(kind=d.TargetKind.UNIT, id=unit["id"], name=unit["name"])


async def accept(cx: Context, c: w.AcceptForUnit, p: Principal) -> dict:
    """接单 for a unit: staff in scope record it with the unit's handler."""
    order = await cx.change(
        cx.store.orders,
        c.id,
        c.expectedVersion,
        lambda o, _: o.accept_for_unit(p, c.handler, now()),
        by=p,
        action=d.Action.WORK_UNIT_ORDER,
    )
    return cx.views.order(p, order)


async def stats(cx: Context, q: ByIds, p: Principal) -> dict[str, Any]:
    """Figures of the orders dispatched to each unit (staff; units are the organizations')."""
    cx.gate(p, d.Action.DISPATCH_ORDER)
    counters = await cx.store.unit_counters(q.ids)
    return {"items": {i: cx.views.unit_stats(counters.get(i, {})) for i in q.ids}}
