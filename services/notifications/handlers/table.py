"""The subject table of the notifications service: every verb and its handler (each verb
checks its own caller: everyone with a person's token has an inbox, a service none)."""

from __future__ import annotations

from services.notifications.handlers.inbox import Inbox
from shared.messaging.rpc import Handler


def verbs(inbox: Inbox) -> dict[str, Handler]:
    return {
        "notification.list": inbox.page,
        "notification.get": inbox.get,
        "notification.markRead": inbox.mark_read,
        "notification.inboxKeys": inbox.inbox_keys,
        "preferences.get": inbox.get_preferences,
        "preferences.set": inbox.set_preferences,
    }
