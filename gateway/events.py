"""Live events for subscriptions: an ephemeral ordered JetStream consumer on one region subtree.

Delivery starts with new events (no replay). Each subscription has a bounded buffer; a client
too slow to keep up loses its subscription with UNAVAILABLE instead of silently missing events."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from shared.errors import Unavailable
from shared.messaging.envelope import CloudEvent
from shared.messaging.streams import stream_name
from shared.messaging.subjects import subtree_filters

log = logging.getLogger("yiwang.gateway.events")
BUFFER = 256


async def subtree_events(nc: NatsClient | None, service: str, path: Sequence[str],
                         buffer: int = BUFFER) -> AsyncIterator[CloudEvent]:
    """Every event `service` publishes from here on for the node at `path` and below it."""
    if nc is None or not nc.is_connected:
        raise Unavailable("the message bus is not reachable")
    queue: asyncio.Queue[Msg] = asyncio.Queue(maxsize=buffer)
    overflowed = asyncio.Event()

    async def on_msg(msg: Msg) -> None:
        try:
            queue.put_nowait(msg)
        except asyncio.QueueFull:
            overflowed.set()

    js, stream = nc.jetstream(), stream_name(service)
    filters = subtree_filters(list(path), service=service)
    try:
        sub = await js.subscribe(filters[0], stream=stream, cb=on_msg, ordered_consumer=True,
                                 deliver_policy=DeliverPolicy.NEW,
                                 config=ConsumerConfig(filter_subjects=filters, deliver_policy=DeliverPolicy.NEW))
    except NotFoundError as e:
        raise Unavailable(f"the {service} event stream does not exist yet; is the {service} service running?") from e
    try:
        while True:
            msg = await queue.get()
            if overflowed.is_set():
                raise Unavailable("you fell too far behind and events were dropped; subscribe again")
            try:
                event = CloudEvent.model_validate_json(msg.data)
            except ValueError:
                log.warning("skipping a malformed event on %s", msg.subject)
                continue
            if path[-1] in event.path:  # the filter already ensures it; never trust one check alone
                yield event
    finally:
        with contextlib.suppress(Exception):
            consumer = (await sub.consumer_info()).name  # an ordered consumer may have been recreated
            await sub.unsubscribe()
            await js.delete_consumer(stream, consumer)  # rather than wait for the inactivity timeout
