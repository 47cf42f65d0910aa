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
from services.notifications.webhooks import wire as wire_webhooks
from services.notifications.webhooks.events import EVENT_MODELS as WEBHOOK_EVENTS
from services.notifications.webhooks.store import WEBHOOKS
from shared.asyncapi import document_events
from shared.privacy import FieldCipher, purpose_key
from shared.rekey import Sealed, serve_rekey
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.territory import TerritoryReplica

SOURCES = ("grids", "cases", "organizations", "volunteers")  # every service's events reach the rule table
INBOX_KEY_PURPOSE = "inbox-key"
INBOX_WORKERS = 8
INBOX_KEY_DOC = (
    "The recipient's inbox key: 32 hex digits, an HMAC of the recipient (收件人), never the person's id; "
    "`notification.inboxKeys` gives a reader its own"
)


def create_runtime(settings: Settings) -> ServiceRuntime:
    rt = ServiceRuntime(SERVICE, settings)
    rt.indexes.update(INDEXES)
    store = NotificationStore(rt.db)
    cipher = FieldCipher.from_settings(settings)
    secret = purpose_key(settings, INBOX_KEY_PURPOSE)
    tz = ZoneInfo(settings.timezone)
    rt.routes(verbs(Inbox(rt, store, cipher, secret)))
    # `yiwang rekey`; webhooks: their signing secrets too
    serve_rekey(rt, cipher, Sealed(PREFERENCES, ("wechat_openid_enc",)), Sealed(WEBHOOKS, ("secret_enc",)))
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
    # the subject's last token is the recipient's inbox key (notification.inboxKeys), not a region path
    document_events(rt, EVENTS, delta=False, typed=True, key=("inboxKey", INBOX_KEY_DOC))
    document_events(rt, WEBHOOK_EVENTS, delta=False)  # webhooks: their audit events, on the region path
    rt.sender = sender  # type: ignore[attr-defined]  # tests read what it sent

    async def start_sender() -> None:
        sender.start()

    rt.on_start(start_sender)
    rt.on_stop(sender.stop)
    # webhooks: signed deliveries of events to registered URLs, own consumers and dispatcher
    wire_webhooks(rt, TerritoryReplica(rt, settings.locator_resync_s), cipher)
    return rt
