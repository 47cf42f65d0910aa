"""The gateway's JetStream reader for subscriptions: subtree filters, new events only, bounded buffer."""
from __future__ import annotations

import asyncio

import nats
import pytest

from gateway.events import subtree_events
from shared.errors import Unavailable
from shared.messaging.envelope import make_event
from shared.messaging.streams import ensure_streams
from shared.messaging.subjects import event_subject

A1 = ["city", "county-a", "town-a", "comm-a", "grid-a1"]
B1 = ["city", "county-b", "town-b", "comm-b", "grid-b1"]


async def publish(js, path: list[str], case_id: str, event: str = "REPORTED") -> None:
    e = make_event("cases", event, case_id, {"type": event, "level": "GRID"}, path=path)
    await js.publish(event_subject(e), e.model_dump_json().encode(), headers={"Nats-Msg-Id": e.id})


@pytest.fixture
async def js(settings):
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    await ensure_streams(js, 60)
    yield nc, js
    await nc.close()


async def test_only_new_events_of_the_subtree_arrive(js):
    nc, jsc = js
    await publish(jsc, A1, "old")  # before the subscription: not replayed
    stream = subtree_events(nc, "cases", ["city", "county-a", "town-a"])
    first = asyncio.ensure_future(anext(stream))
    while (await jsc.stream_info("YIWANG_CASES")).state.consumer_count == 0:
        await asyncio.sleep(0.02)
    await publish(jsc, B1, "sibling")
    await publish(jsc, ["city", "county-a"], "above")  # an ancestor's event is not in the subtree
    await publish(jsc, A1, "mine")
    await publish(jsc, ["city", "county-a", "town-a"], "at-node")
    got = [(await asyncio.wait_for(first, 5)).subject, (await asyncio.wait_for(anext(stream), 5)).subject]
    assert got == ["mine", "at-node"]
    await stream.aclose()
    info = await jsc.stream_info("YIWANG_CASES")
    assert info.state.consumer_count == 0  # the ephemeral consumer is deleted on close


async def test_a_subscriber_that_falls_behind_is_told_so(js):
    nc, jsc = js
    stream = subtree_events(nc, "cases", A1, buffer=3)
    first = asyncio.ensure_future(anext(stream))
    while (await jsc.stream_info("YIWANG_CASES")).state.consumer_count == 0:
        await asyncio.sleep(0.02)
    for i in range(8):
        await publish(jsc, A1, f"c{i}")
    assert (await asyncio.wait_for(first, 5)).subject == "c0"
    await asyncio.sleep(0.3)  # the rest overflow the buffer of 3
    with pytest.raises(Unavailable, match="fell too far behind"):
        for _ in range(8):
            await asyncio.wait_for(anext(stream), 5)
    await stream.aclose()
