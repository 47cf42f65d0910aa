"""Units take service orders (相关单位接单): staff record a co-building unit's acceptance, and read the
figures of the orders dispatched to the units they see (scope is the organizations service's)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.clients import checked, item_or_error
from gateway.schema.common import command, orgs, vols
from gateway.schema.volunteer_types import ServiceOrder, order_node
from shared.contracts import volunteers as vc
from shared.contracts.common import ByIds
from shared.errors import DomainError

MAX_UNITS = 100


@strawberry.type(description="Service orders dispatched to a co-building unit (相关单位接单), kept with the writes")
class UnitOrderStats:
    unit_id: strawberry.ID
    unit_name: str
    orders: int = strawberry.field(description="Orders dispatched to the unit (and not re-dispatched elsewhere)")
    open_orders: int = strawberry.field(description="Not yet done: DISPATCHED, TAKEN, IN_PROGRESS")
    completed_orders: int = strawberry.field(description="COMPLETED or RATED")
    hours: float = strawberry.field(description="Service hours of the completed orders")
    rated_orders: int
    average_rating: float | None = strawberry.field(description="The residents' average rating, 1–5")


@strawberry.type
class UnitOrdersQuery:
    @strawberry.field(description="Staff: figures of the orders of co-building units in your scope")
    async def unit_order_stats(
        self, info: Info, unit_ids: Annotated[list[strawberry.ID], strawberry.argument(description="At most 100")]
    ) -> list[UnitOrderStats]:
        ids = list(dict.fromkeys(str(i) for i in unit_ids))[:MAX_UNITS]
        stats = await vols(info).unit_order_stats(checked(ByIds, ids=ids))  # the role's gate first
        units = (await orgs(info).batch_units(checked(ByIds, ids=ids)))["items"]
        out = []
        for i in ids:
            unit = item_or_error(units.get(i))
            if isinstance(unit, DomainError):  # naming a unit outside your scope is refused, as for one unit
                raise unit
            if not unit:
                continue
            s = stats["items"][i]
            out.append(
                UnitOrderStats(
                    unit_id=strawberry.ID(i),
                    unit_name=unit["name"],
                    orders=s["orders"],
                    open_orders=s["openOrders"],
                    completed_orders=s["completedOrders"],
                    hours=float(s["hours"]),
                    rated_orders=s["ratedOrders"],
                    average_rating=s["averageRating"],
                )
            )
        return out


@strawberry.type
class UnitOrdersMutation:
    @strawberry.mutation(
        description="接单 for a co-building unit: staff in scope record that the unit accepted an order "
        "dispatched to it, and who at the unit handles it; staff then start and complete it"
    )
    async def accept_service_order_for_unit(
        self,
        info: Info,
        id: strawberry.ID,
        handler: Annotated[str, strawberry.argument(description="Who at the unit does it, e.g. 物业维修班 王师傅")],
        expected_version: int | None = None,
    ) -> ServiceOrder:
        return order_node(
            await vols(info).accept_order_for_unit(command(vc.AcceptForUnit, id, expected_version, handler=handler))
        )
