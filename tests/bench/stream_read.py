"""Reading back what the platform published: the envelopes of one stream's subject since a time,
each with the time the stream stored it (one pull consumer, deleted afterwards)."""
from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy


async def envelopes_since(url: str, subject: str, stream: str, since: datetime,
                          name: str = "bench-read-back") -> AsyncGenerator[tuple[dict[str, Any], float], None]:
    """(envelope, unix time stored) of every message on `subject` stored since `since`, until
    two seconds pass with nothing more; a message that is not an envelope is skipped. A reader
    that stops early closes it (`contextlib.aclosing`)."""
    nc = await nats.connect(url, name=name)
    try:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since)
        sub = await nc.jetstream().pull_subscribe(subject, stream=stream, config=config)
        try:
            while True:
                try:
                    msgs = await sub.fetch(500, timeout=2)
                except (TimeoutError, nats.errors.TimeoutError):
                    return
                for m in msgs:
                    try:
                        envelope = json.loads(m.data)
                    except ValueError:
                        continue
                    if isinstance(envelope, dict):
                        yield envelope, m.metadata.timestamp.timestamp()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
    finally:
        await nc.close()


def envelope_time(envelope: dict[str, Any]) -> float:
    """The unix time an envelope says it was made (CloudEvents `time`)."""
    return datetime.fromisoformat(envelope["time"].replace("Z", "+00:00")).timestamp()
