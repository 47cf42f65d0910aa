"""The events the notifications service publishes (for the AsyncAPI document and its readers)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.domain.rules import LinkKind


class Link(BaseModel):
    kind: LinkKind = Field(description="what the notification is about: CASE, ORDER, VISIT, MEETING or ACTIVITY")
    id: str = Field(description="its id")


class NotificationAdded(BaseModel):
    """A notification (站内信) was added to an inbox. The subject's last token is the inbox key
    (`notification.inboxKeys` gives a reader its own); the title and body are read with the
    reader's token, never carried here."""

    model_config = ConfigDict(extra="forbid")

    notificationId: str = Field(description="the inbox row's id (sortable by the event's time)")
    notificationType: str = Field(description="the event type it tells of, e.g. CASE_ACCEPTED (案件已受理)")
    link: Link | None = Field(default=None, description="the record it is about")


class PreferencesChanged(BaseModel):
    """A person changed their notification preferences (audit: which fields, never their values;
    the subject's last token is their inbox key)."""

    model_config = ConfigDict(extra="forbid")

    fields: list[str] = Field(description="the preferences changed: channels, mutedTypes, quietHours, wechatOpenId")


EVENTS: dict[str, type[BaseModel]] = {
    "NOTIFICATION_ADDED": NotificationAdded,
    "PREFERENCES_CHANGED": PreferencesChanged,
}
