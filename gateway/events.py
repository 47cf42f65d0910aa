"""Live events for subscriptions: ephemeral ordered JetStream consumers on one region subtree.

`open_consumer` opens one service's consumer (subject filters, a start sequence); `stream_events`
merges one or more of them into a single feed in arrival order, each event with the position of
every stream as of that event (what a resumable cursor is made of); `subtree_events` is the plain
feed of one service from now on, for `caseEvents`.

Delivery starts with new events, or, given `after`, right after a known position of each stream.
Each feed has a bounded buffer. A live event that finds it full ends the feed with UNAVAILABLE instead
of being silently missed. Events that were already in the stream when the feed opened (a resumed
feed catching up) are paced instead: when the buffer is half full that stream's consumer is closed
and reopened after the last event taken once the buffer has drained, so catching up on a long
backlog never overflows and never loses an event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from shared.errors import Unavailable
from shared.messaging.envelope import CloudEvent
from shared.messaging.streams import stream_name
from shared.messaging.subjects import subtree_filters

log = logging.getLogger("yiwang.gateway.events")
BUFFER = 256


@dataclass(frozen=True)
class Delivery:
    """One event of a feed. `positions`: per service, the last stream sequence this feed has
    delivered, this event included (for a stream with nothing delivered yet, where it started);
    resuming after them yields exactly what followed this event."""

    service: str
    seq: int
    event: CloudEvent
    positions: Mapping[str, int]


@contextlib.asynccontextmanager
async def bus_errors(service: str) -> AsyncIterator[None]:
    """JetStream API failures as UNAVAILABLE: a missing stream, or a bus that does not answer."""
    try:
        yield
    except NotFoundError as e:
        raise Unavailable(f"the {service} event stream does not exist yet; is the {service} service running?") from e
    except (NatsError, TimeoutError) as e:
        raise Unavailable(f"the message bus did not answer about the {service} event stream") from e


async def open_consumer(
    js: JetStreamContext, service: str, filters: Sequence[str], start_seq: int, cb: Callable[[Msg], Awaitable[None]]
) -> JetStreamContext.PushSubscription:
    """An ephemeral ordered push consumer on `service`'s stream: the messages matching `filters`
    from stream sequence `start_seq` on, to `cb`. Raises Unavailable when the stream is missing."""
    start_seq = max(start_seq, 1)
    config = ConsumerConfig(
        filter_subjects=list(filters), deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start_seq
    )
    async with bus_errors(service):
        sub = await js.subscribe(
            filters[0],
            stream=stream_name(service),
            cb=cb,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            config=config,
        )
    # An ordered consumer that is reset (missed heartbeats) restarts after the last sequence it
    # saw, 0 before its first message: it would replay the whole stream. Start it where we did.
    jsi = getattr(getattr(sub, "_sub", None), "_jsi", None)
    if jsi is not None and getattr(jsi, "_sseq", start_seq) < start_seq - 1:
        jsi._sseq = start_seq - 1
    return sub


async def close_consumer(js: JetStreamContext, sub: JetStreamContext.PushSubscription) -> None:
    """Stop delivery and delete the consumer at once rather than wait for its inactivity timeout."""
    consumer = getattr(sub, "_consumer", None)  # an ordered consumer may have been recreated under a new name
    with contextlib.suppress(Exception):
        await sub.unsubscribe()
    if consumer:
        with contextlib.suppress(Exception):
            await js.delete_consumer(sub._stream, consumer)


@dataclass(eq=False)
class _Stream:
    """One service's consumer inside a feed, and where it stands."""

    service: str
    filters: list[str]
    backlog_until: int  # the stream's last sequence when the feed opened: up to it, events are paced
    enqueued: int  # the last sequence put in the buffer
    delivered: int  # the last sequence taken from the buffer
    sub: JetStreamContext.PushSubscription | None = None
    generation: int = 0
    paused: bool = False


async def stream_events(
    nc: NatsClient | None,
    sources: Mapping[str, Sequence[str]],
    path: Sequence[str],
    after: Mapping[str, int] | None = None,
    buffer: int = BUFFER,
    resume_hint: str = "subscribe again",
) -> AsyncGenerator[Delivery, None]:
    """The events of each service in `sources` (service → subject filters) at the node `path` and
    below, merged in arrival order: from now on, or for a service in `after` from right after that
    stream sequence (clamped to what the stream still holds)."""
    if nc is None or not nc.is_connected:
        raise Unavailable("the message bus is not reachable")
    if not sources:
        raise ValueError("no streams to read")
    js = nc.jetstream()
    queue: asyncio.Queue[tuple[_Stream, int, Msg]] = asyncio.Queue(maxsize=buffer)
    high, low = max(buffer // 2, 1), buffer // 4  # backlog pauses at `high`, resumes at `low`
    overflowed = asyncio.Event()
    streams: list[_Stream] = []

    def receiver(s: _Stream, generation: int) -> Callable[[Msg], Awaitable[None]]:
        async def on_msg(msg: Msg) -> None:
            if overflowed.is_set() or s.paused or s.generation != generation:
                return  # a paused stream is read again from `enqueued + 1`
            try:
                seq = msg.metadata.sequence.stream
            except Exception:  # noqa: BLE001 - not a JetStream message
                return
            if seq <= s.enqueued:
                return  # already taken (an ordered consumer replays after a reset)
            if seq <= s.backlog_until and queue.qsize() >= high:
                s.paused = True
                return
            try:
                queue.put_nowait((s, seq, msg))
            except asyncio.QueueFull:
                overflowed.set()
                return
            s.enqueued = seq

        return on_msg

    async def open_(s: _Stream) -> None:
        s.generation += 1
        s.paused = False
        s.sub = await open_consumer(js, s.service, s.filters, s.enqueued + 1, receiver(s, s.generation))

    async def close(s: _Stream) -> None:
        if s.sub is not None:
            sub, s.sub = s.sub, None
            await close_consumer(js, sub)

    try:
        for service, filters in sources.items():
            async with bus_errors(service):
                state = (await js.stream_info(stream_name(service))).state
            last, first = state.last_seq, max(state.first_seq, 1)
            start = last + 1
            if after is not None and service in after:
                start = min(max(after[service] + 1, first), last + 1)
            s = _Stream(service, list(filters), backlog_until=last, enqueued=start - 1, delivered=start - 1)
            streams.append(s)
            await open_(s)
        while True:
            for s in streams:
                if s.paused and s.sub is not None:
                    await close(s)
            if queue.qsize() <= low:
                for s in streams:
                    if s.paused:
                        await open_(s)
            s, seq, msg = await queue.get()
            if overflowed.is_set():
                raise Unavailable(f"you fell too far behind and events were dropped; {resume_hint}")
            s.delivered = seq
            try:
                event = CloudEvent.model_validate_json(msg.data)
            except ValueError:
                log.warning("skipping a malformed event on %s", msg.subject)
                continue
            if path and path[-1] not in event.path:  # the filter already ensures it; never trust one check alone
                continue
            yield Delivery(s.service, seq, event, {x.service: x.delivered for x in streams})
    finally:
        for s in streams:
            await close(s)


async def subtree_events(
    nc: NatsClient | None, service: str, path: Sequence[str], buffer: int = BUFFER
) -> AsyncIterator[CloudEvent]:
    """Every event `service` publishes from here on for the node at `path` and below it."""
    feed = stream_events(nc, {service: subtree_filters(list(path), service=service)}, path, buffer=buffer)
    async with contextlib.aclosing(feed):
        async for delivery in feed:
            yield delivery.event
