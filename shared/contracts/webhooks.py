"""Request models of the notifications service's webhook verbs (`webhook.*`)."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.common import Page, Wire


class RegisterWebhook(Wire):
    url: str = Field(min_length=1, max_length=2048)
    eventTypes: list[str] = Field(min_length=1, max_length=50)
    regionId: str = Field(min_length=1, max_length=64)
    idempotencyKey: str | None = Field(default=None, min_length=1, max_length=128)


class WebhookPage(Page):
    pass


class DeliveryPage(Page):
    webhookId: str = Field(min_length=1, max_length=64)


class Redeliver(Wire):
    deliveryId: str = Field(min_length=1, max_length=160)
