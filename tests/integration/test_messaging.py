"""Dead letters, replicas sharing work, and request-reply errors, on real NATS and SecantusDB."""
from __future__ import annotations

import asyncio
from collections import Counter

import nats

from shared.messaging.envelope import make_event
from shared.messaging.rpc import RpcClient
from shared.messaging.subjects import event_subject
from shared.service import ServiceRuntime


async def test_poison_message_lands_in_dead_letter_subject(settings):
    rt = ServiceRuntime("volunteers", settings)  # any service name; a consumer of grids events
    seen: list[str] = []

    async def handler(event):
        if event.data.get("poison"):
            raise ValueError("cannot handle this")
        seen.append(event.subject)

    rt.consume("grids", "probe", handler)
    await rt.start()
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    dlq = await js.subscribe("yiwang.dlq.>", ordered_consumer=True)
    try:
        bad = make_event("grids", "REGION_CREATED", "bad", {"poison": True}, path=["x"])
        good = make_event("grids", "REGION_CREATED", "good", {}, path=["x"])
        await js.publish(event_subject(bad), bad.model_dump_json().encode())
        await js.publish("yiwang.evt.grids.REGION_CREATED.x", b"{not json")
        await js.publish(event_subject(good), good.model_dump_json().encode())
        dead = [await dlq.next_msg(timeout=20), await dlq.next_msg(timeout=20)]
        assert {m.subject for m in dead} == {"yiwang.dlq.volunteers.probe"}
        assert {m.headers["Yiwang-Deliveries"] for m in dead} == {str(settings.max_deliver)}
        assert any("cannot handle this" in m.headers["Yiwang-Error"] for m in dead)
        assert any(m.data == b"{not json" for m in dead)
        assert seen == ["good"], "a poison message does not block the ones behind it"
    finally:
        await nc.close()
        await rt.stop()


async def test_two_replicas_share_requests_and_jetstream_work(settings):
    handled: Counter = Counter()
    effects: Counter = Counter()
    replicas = []
    for name in ("r1", "r2"):
        rt = ServiceRuntime("cases", settings)

        async def work(req, name=name):
            handled[name] += 1
            await asyncio.sleep(0.005)
            return name

        async def on_event(event, name=name):
            handled[f"evt-{name}"] += 1
            effects[event.subject] += 1
            await asyncio.sleep(0.02)

        rt.route("work", work)
        rt.consume("grids", "share", on_event)
        await rt.start()
        replicas.append(rt)
    nc = await nats.connect(settings.nats_url)
    try:
        token = replicas[0].token()
        rpc = RpcClient(nc, settings.rpc_timeout_s)
        await asyncio.gather(*(rpc.call("cases", "work", {}, token) for _ in range(200)))
        assert handled["r1"] + handled["r2"] == 200
        assert handled["r1"] > 0 and handled["r2"] > 0, handled
        js = nc.jetstream()
        for i in range(120):
            e = make_event("grids", "REGION_UPDATED", f"n{i}", {}, path=["c"])
            await js.publish(event_subject(e), e.model_dump_json().encode(), headers={"Nats-Msg-Id": e.id})
        for _ in range(300):
            if sum(effects.values()) >= 120:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # let any duplicate show itself
        assert len(effects) == 120 and set(effects.values()) == {1}, "each event had its effect once"
        assert handled["evt-r1"] > 0 and handled["evt-r2"] > 0, handled
    finally:
        await nc.close()
        for rt in replicas:
            await rt.stop()


async def test_consumer_of_an_older_kind_is_recreated_from_its_ack_floor(settings):
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    from shared.messaging.streams import ensure_streams

    await ensure_streams(js, settings.duplicate_window_s)
    events = [make_event("grids", "REGION_UPDATED", f"m{i}", {}, path=["c"]) for i in range(3)]
    for e in events[:2]:
        await js.publish(event_subject(e), e.model_dump_json().encode())
    old = await js.pull_subscribe("yiwang.evt.grids.>", durable="organizations-probe", stream="YIWANG_GRIDS")
    for m in await old.fetch(2, timeout=5):
        await m.ack_sync()
    await old.unsubscribe()
    await js.publish(event_subject(events[2]), events[2].model_dump_json().encode())

    rt = ServiceRuntime("organizations", settings)
    seen: list[str] = []

    async def handler(event):
        seen.append(event.subject)

    rt.consume("grids", "probe", handler)
    await rt.start()
    try:
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert seen == ["m2"], "acknowledged events are not delivered again, the rest are"
        info = await js.consumer_info("YIWANG_GRIDS", "organizations-probe")
        assert info.config.deliver_group == "organizations-probe"
    finally:
        await rt.stop()
        await nc.close()
