"""JetStream consumers: ack after the write, retry with backoff, dead-letter after N deliveries."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker
from faststream.nats.annotations import NatsMessage
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from shared.messaging.envelope import CloudEvent
from shared.messaging.streams import stream_name
from shared.messaging.subjects import EVT, dlq_subject

log = logging.getLogger("yiwang.consumer")
EventHandler = Callable[[CloudEvent], Awaitable[None]]


def backoff_s(delivered: int) -> float:
    return min(0.2 * 2 ** (delivered - 1), 30.0)


async def prepare_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    """Before subscribing: a durable consumer of another kind (say, a pull consumer an older
    version made) is recreated from just past its acknowledged floor, so nothing is skipped
    and nothing acknowledged is delivered again."""
    durable = config.durable_name
    if not durable:
        return  # an ephemeral consumer has no earlier version to replace
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError:
        return
    if info.config.deliver_group == config.deliver_group and info.config.deliver_subject:
        return
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    log.warning("recreating consumer %s on %s from stream sequence %d", durable, stream, floor + 1)
    await js.delete_consumer(stream, durable)
    config.deliver_policy, config.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, floor + 1


def register_consumer(
    broker: NatsBroker,
    *,
    service: str,
    source: str,
    name: str,
    handler: EventHandler,
    max_deliver: int,
    events: str = ">",
    ack_wait_s: float = 60.0,
    max_workers: int = 1,
) -> tuple[str, ConsumerConfig]:
    """A durable consumer `<service>-<name>` on `<source>`'s stream, shared by replicas.

    `NACK_ON_ERROR` with a bounded `max_deliver`: a failing message is redelivered with
    backoff; on its last delivery it goes to `yiwang.dlq.<service>.<name>` with the error
    and is acknowledged, so one poison message never blocks the stream.
    """
    durable = f"{service}-{name}"
    dlq = dlq_subject(service, name)

    async def on_event(message: NatsMessage) -> None:
        raw = message.raw_message
        delivered = raw.metadata.num_delivered
        try:
            event = CloudEvent.model_validate_json(message.body)
            await handler(event)
        except Exception as e:  # noqa: BLE001 - every failure is retried or dead-lettered
            if delivered >= max_deliver:
                log.error("%s gave up on %s after %d deliveries: %s", durable, raw.subject, delivered, e)
                await broker.config.connection_state.stream.publish(
                    dlq,
                    message.body,
                    headers={
                        "Yiwang-Error": repr(e)[:1000],
                        "Yiwang-Subject": raw.subject,
                        "Yiwang-Consumer": durable,
                        "Yiwang-Deliveries": str(delivered),
                        "Nats-Msg-Id": f"dlq:{durable}:{raw.metadata.sequence.stream}",
                    },
                )
                return
            log.warning("%s failed on %s (delivery %d): %s", durable, raw.subject, delivered, e)
            await message.nack(delay=backoff_s(delivered))

    on_event.__name__ = f"consume_{source}_{name}"
    # A durable push consumer with a deliver group: replicas share its messages, and no
    # fetch loop polls (nats-py 2.16 raises a timeout type FastStream 0.7's pull loop misses).
    # FastStream warns that durable push consumers cannot scale out; with a deliver group
    # they do (tests/integration/test_messaging.py shows two replicas splitting the work).
    config = ConsumerConfig(
        durable_name=durable,
        deliver_group=durable,
        ack_policy=JsAckPolicy.EXPLICIT,
        max_deliver=max_deliver,
        ack_wait=ack_wait_s,  # a message its consumer died holding is delivered again after this
        max_ack_pending=256,
        deliver_policy=DeliverPolicy.ALL,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The JetStream Push consumer with the `durable` option")
        subscriber = broker.subscriber(
            f"{EVT}.{source}.{events}",
            queue=durable,
            stream=JStream(stream_name(source), declare=False),
            durable=durable,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            config=config,
            title=f"{durable}:{source}",  # one durable name may read several streams
            # more than one: messages handled concurrently (for a handler whose events need no order)
            max_workers=max_workers,
        )
    subscriber(on_event)
    return stream_name(source), config
