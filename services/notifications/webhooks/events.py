"""The webhook events the notifications service publishes (audit records), as models for its AsyncAPI document."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WebhookRegistered(BaseModel):
    """A webhook was registered (the audit record: who, which URL, which events; never its secret)."""

    aggregate: str = Field("webhook", description="kind of record: webhook")
    aggregateId: str = Field(description="the webhook's id (also the CloudEvent `subject`)")
    url: str = Field(description="where it delivers, without its query string (which may carry a token)")
    eventTypes: list[str] = Field(description="the event types it receives")
    regionId: str = Field(description="the region whose subtree's events it receives")
    departmentKey: str | None = Field(
        None, description="`<region>:<code>` of a department's webhook (部门: only its department's cases)"
    )


class WebhookDeactivated(BaseModel):
    """A webhook was deactivated: nothing more is delivered to it."""

    aggregate: str = Field("webhook", description="kind of record: webhook")
    aggregateId: str = Field(description="the webhook's id (also the CloudEvent `subject`)")
    url: str = Field(description="where it delivered, without its query string")


EVENT_MODELS: dict[str, type[BaseModel]] = {
    "WEBHOOK_REGISTERED": WebhookRegistered,
    "WEBHOOK_DEACTIVATED": WebhookDeactivated,
}
