"""Wire models of the notifications service (request payloads); replies are in NOTIFICATIONS_API.

Every verb is `yiwang.notifications.<verb>` with the caller's JWT; each caller reads and
changes only the rows of its own recipient keys (its `sub:`, and its department's, grid's or
volunteer record's shared inbox)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from shared.contracts.common import Wire

MAX_PAGE = 100  # rows per page of an inbox
MAX_MARK = 100  # ids per markRead
MAX_MUTED = 50  # muted event types per recipient
EventType = Field(min_length=1, max_length=64, pattern=r"^[A-Z][A-Z0-9_]*$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

NOTIFICATIONS_API = """
notification.list {unreadOnly?, first (1..100, default 20), after?}
    -> {items: [Notification], total, hasNext, endCursor}
notification.get {id} -> Notification (NOT_FOUND outside the caller's recipient keys)
notification.markRead {ids: [..] (<= 100)} -> {count} (only the caller's rows; others ignored)
notification.inboxKeys {} -> {keys: [..]} (the subject tokens of NOTIFICATION_ADDED for the caller's keys)
preferences.get {} -> Preferences
preferences.set {channels?: {SMS, WECHAT}, mutedTypes?: [EVENT_TYPE], quietHours?: {start, end}|null,
                 wechatOpenId?: str|null} -> Preferences
Notification: {id, type, title, body, at, read, readAt, link: {kind: CASE|ORDER|VISIT|MEETING|ACTIVITY, id}|null}
Preferences: {channels: {SMS: bool, WECHAT: bool}, mutedTypes: [..], quietHours: {start, end}|null, timeZone,
             wechatBound: bool}
"""


class ListNotifications(Wire):
    unreadOnly: bool = False
    first: int = Field(default=20, ge=1, le=MAX_PAGE)
    after: str | None = Field(default=None, min_length=1, max_length=200)


class NotificationId(Wire):
    id: str = Field(min_length=1, max_length=200)


class MarkRead(Wire):
    ids: list[str] = Field(max_length=MAX_MARK)

    @field_validator("ids")
    @classmethod
    def _sizes(cls, ids: list[str]) -> list[str]:
        if any(not 0 < len(i) <= 200 for i in ids):
            raise ValueError("each id is 1 to 200 characters")
        return ids


class NoArgs(Wire):
    pass


class Channels(Wire):
    SMS: bool = False
    WECHAT: bool = False


class QuietHours(Wire):
    start: str = Field(description="HH:MM, city time")
    end: str = Field(description="HH:MM, city time; before start means the next morning")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not CLOCK.match(v):
            raise ValueError("a time of day is HH:MM (00:00 to 23:59)")
        return v


class SetPreferences(Wire):
    """Only the fields given change; `quietHours: null` ends quiet hours, `wechatOpenId: null`
    unbinds WeChat."""

    channels: Channels | None = None
    mutedTypes: list[str] | None = Field(default=None, max_length=MAX_MUTED)
    quietHours: QuietHours | None = None
    wechatOpenId: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{6,64}$")

    @field_validator("mutedTypes")
    @classmethod
    def _types(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and any(not re.fullmatch(r"[A-Z][A-Z0-9_]{0,63}", t) for t in v):
            raise ValueError("an event type is upper case, like CASE_ACCEPTED")
        return v


# Service-only: who a case or an order concerns (cases `case.audience`, volunteers `order.audience`).
class AudienceQuery(Wire):
    id: str = Field(min_length=1, max_length=64)
    phones: bool = False
