"""Webhooks: register a URL for signed event deliveries, read the delivery log, redeliver one."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from gateway.clients import WebhooksClient, checked
from gateway.schema.common import Connection, connection, ctx, page_args, when
from gateway.schema.loads import load_region
from gateway.schema.territory import Region
from shared.contracts import webhooks as wc
from shared.contracts.common import ById
from shared.errors import Forbidden


def webhooks(info: Info) -> WebhooksClient:
    c = ctx(info)
    c.principal  # noqa: B018 - deny by default: no call leaves without a valid token
    return WebhooksClient(c.rpc, c.token)


@strawberry.enum(description="PENDING: queued or being retried; DELIVERED: a 2xx answer; DEAD: out of tries")
class WebhookDeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"


@strawberry.type(description="One event's delivery to one webhook (one per event per webhook), with its tries")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="also sent as the X-Yiwang-Delivery header")
    webhook_id: strawberry.ID
    event_id: str = strawberry.field(description="the CloudEvent id (the body's `id`)")
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int = strawberry.field(description="tries made since it was queued (or redelivered)")
    next_at: datetime | None = strawberry.field(description="when a PENDING delivery is tried next")
    last_error: str | None
    response_status: int | None = strawberry.field(description="the HTTP status of the last answer, if any")
    created_at: datetime
    delivered_at: datetime | None


def delivery_node(d: dict) -> WebhookDelivery:
    return WebhookDelivery(
        id=strawberry.ID(d["id"]),
        webhook_id=strawberry.ID(d["webhookId"]),
        event_id=d["eventId"],
        event_type=d["eventType"],
        status=WebhookDeliveryStatus(d["status"]),
        attempts=d["attempts"],
        next_at=when(d.get("nextAt")),
        last_error=d.get("lastError"),
        response_status=d.get("responseStatus"),
        created_at=when(d["createdAt"]),
        delivered_at=when(d.get("deliveredAt")),
    )


WebhookDeliveryConnection = Connection[WebhookDelivery]


@strawberry.type(description="A URL that receives events (POST, the CloudEvents envelope, signed with its secret)")
class Webhook:
    id: strawberry.ID
    url: str
    event_types: list[str]
    region_id: strawberry.ID
    department_key: str | None = strawberry.field(description="`<region>:<code>` for a department's webhook")
    active: bool
    created_at: datetime

    @strawberry.field(description="The region whose subtree's events it receives")
    async def region(self, info: Info) -> Region | None:
        try:
            return Region(dto=await load_region(info, str(self.region_id)))
        except Forbidden:
            return None

    @strawberry.field(description="Its delivery log, newest first")
    async def deliveries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> WebhookDeliveryConnection:
        body = checked(wc.DeliveryPage, webhookId=str(self.id), page=page_args(first, after))
        return connection(await webhooks(info).deliveries(body), delivery_node)


def webhook_node(d: dict) -> Webhook:
    return Webhook(
        id=strawberry.ID(d["id"]),
        url=d["url"],
        event_types=d["eventTypes"],
        region_id=strawberry.ID(d["regionId"]),
        department_key=d.get("departmentKey"),
        active=d["active"],
        created_at=when(d["createdAt"]),
    )


WebhookConnection = Connection[Webhook]


@strawberry.type(description="A new webhook and its signing secret, shown this once (it is stored encrypted)")
class WebhookRegistration:
    webhook: Webhook
    secret: str


@strawberry.input(description="A webhook: where to POST, which event types, which region's subtree")
class RegisterWebhookInput:
    url: str = strawberry.field(description="http(s), no credentials; a public address in production")
    event_types: list[str] = strawberry.field(description="event types, e.g. CASE_ACCEPTED (at most 50)")
    region_id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.type
class WebhooksQuery:
    @strawberry.field(
        description="Webhooks: an administrator's of their region's subtree, a department's own (newest first)"
    )
    async def webhooks(self, info: Info, first: int | None = None, after: str | None = None) -> WebhookConnection:
        page = await webhooks(info).list(checked(wc.WebhookPage, page=page_args(first, after)))
        return connection(page, webhook_node)


@strawberry.type
class WebhooksMutation:
    @strawberry.mutation(
        description="Register a webhook (administrators for their region, departments for their cases); "
        "returns the signing secret once"
    )
    async def register_webhook(self, info: Info, input: RegisterWebhookInput) -> WebhookRegistration:
        body = checked(wc.RegisterWebhook, input)
        reply = await webhooks(info).register(body)
        return WebhookRegistration(webhook=webhook_node(reply["webhook"]), secret=reply["secret"])

    @strawberry.mutation(
        description="Stop deliveries to a webhook (its queued ones end DEAD); it stays listed, inactive, with its log"
    )
    async def deactivate_webhook(self, info: Info, id: strawberry.ID) -> Webhook:
        return webhook_node(await webhooks(info).deactivate(checked(ById, id=str(id))))

    @strawberry.mutation(description="Queue a delivery again, with a fresh set of tries")
    async def redeliver_webhook(self, info: Info, delivery_id: strawberry.ID) -> WebhookDelivery:
        return delivery_node(await webhooks(info).redeliver(checked(wc.Redeliver, deliveryId=str(delivery_id))))
