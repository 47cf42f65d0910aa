"""Webhooks: events delivered, signed, to URLs units and departments register (`wire` adds them to the service)."""

from __future__ import annotations

from shared.privacy import FieldCipher
from shared.service import ServiceRuntime
from shared.territory import TerritoryReplica


def wire(rt: ServiceRuntime, territory: TerritoryReplica, cipher: FieldCipher) -> None:
    """The webhook collections, verbs, durable consumers (`notifications-webhooks` on each source
    service's stream: a slow webhook never holds the inbox back) and the dispatcher."""
    from services.notifications.webhooks.dispatcher import Dispatcher
    from services.notifications.webhooks.hooks import HookCache
    from services.notifications.webhooks.intake import CONSUMER, SOURCES, Intake
    from services.notifications.webhooks.store import INDEXES
    from services.notifications.webhooks.verbs import WebhookVerbs

    rt.indexes.update(INDEXES)
    hooks = HookCache(rt.db)
    dispatcher = Dispatcher(rt.db, cipher, rt.settings, hooks)
    rt.routes(WebhookVerbs(rt.db, rt.transact, territory, cipher, rt.settings, dispatcher.hint, hooks).table())
    intake = Intake(rt.db, hooks, dispatcher)
    for source in SOURCES:  # events in any order: each is rows of its own (ids decide, not order)
        rt.consume(source, CONSUMER, intake.on_event, max_workers=rt.settings.webhook_workers)
    # tests and the bench read their state (the territory this service knows, the dispatcher's slots)
    rt.webhooks = dispatcher  # type: ignore[attr-defined]
    rt.webhook_territory = territory  # type: ignore[attr-defined]

    async def start() -> None:
        dispatcher.start()

    rt.on_start(start)
    rt.on_stop(dispatcher.stop)
