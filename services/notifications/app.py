"""Wires the notifications service: `create_runtime(settings)` connects nothing until started."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.notifications.domain.events import EVENTS
from services.notifications.handlers.deliver import CONSUMER, Deliverer
from services.notifications.handlers.inbox import Inbox
from services.notifications.handlers.table import verbs
from services.notifications.providers import make_provider
from services.notifications.sender import Sender
from services.notifications.store import INDEXES, PREFERENCES, SERVICE, NotificationStore
from shared.asyncapi import document_events
from shared.privacy import FieldCipher, purpose_key
from shared.rekey import Sealed, serve_rekey
from shared.service import ServiceRuntime
from shared.settings import Settings

SOURCES = ("grids", "cases", "organizations", "volunteers")  # every service's events reach the rule table
INBOX_KEY_PURPOSE = "inbox-key"
INBOX_WORKERS = 8


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes.update(INDEXES)
    store = NotificationStore(rt.db)
    cipher = FieldCipher.from_settings(settings)
    secret = purpose_key(settings, INBOX_KEY_PURPOSE)
    tz = ZoneInfo(settings.timezone)
    rt.routes(verbs(Inbox(rt, store, cipher, secret)))
    serve_rekey(rt, cipher, Sealed(PREFERENCES, ("wechat_openid_enc",)))  # `yiwang rekey`
    deliverer = Deliverer(rt, store, secret, tz)
    providers = {channel: make_provider(channel, settings) for channel in ("SMS", "WECHAT")}
    lease_s = settings.notify_send_timeout_s * 3 + 30
    sender = Sender(
        store, deliverer, cipher, providers, tz, settings.notify_poll_s, settings.notify_max_attempts, lease_s
    )
    deliverer.kick = sender.kick
    for source in SOURCES:
        # Events of a source are handled INBOX_WORKERS at a time: each waits on a request to the
        # owning service and a transaction, and a notification needs no order among them.
        rt.consume(source, CONSUMER, deliverer.on_event, max_workers=INBOX_WORKERS)
    document_events(rt, EVENTS, delta=False)
    rt.sender = sender  # type: ignore[attr-defined]  # tests read what it sent

    async def start_sender() -> None:
        sender.start()

    rt.on_start(start_sender)
    rt.on_stop(sender.stop)
    return rt
