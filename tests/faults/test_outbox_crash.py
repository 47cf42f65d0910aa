"""A kill between commit and publish loses nothing and duplicates nothing."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import nats
from pymongo import AsyncMongoClient

from shared.messaging.rpc import RpcClient
from shared.mongo import OUTBOX


def service_env(settings, **extra) -> dict:
    return {**os.environ, "YIWANG_NATS_URL": settings.nats_url, "YIWANG_MONGO_URL": settings.mongo_url,
            "YIWANG_DB_SUFFIX": settings.db_suffix, "YIWANG_RELAY_POLL_S": "0.2", "YIWANG_LOG_LEVEL": "WARNING",
            "YIWANG_ISSUER_KEY_FILE": str(settings.issuer_key_file),
            **extra}


async def wait_ping(rpc: RpcClient, token: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await rpc.call("grids", "ping", {}, token, timeout_s=1)
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def stream_events(js, subject_filter: str) -> list:
    sub = await js.subscribe(subject_filter, ordered_consumer=True, deliver_policy=nats.js.api.DeliverPolicy.ALL)
    out = []
    try:
        while True:
            out.append(await sub.next_msg(timeout=1.0))
    except nats.errors.TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return out


async def relay_once(stack, db) -> None:
    """Start the service until its relay has published everything, then stop it."""
    rt = await stack.start_service("grids")
    for _ in range(100):
        if await db[OUTBOX].count_documents({"published": False}) == 0:
            break
        await asyncio.sleep(0.05)
    await stack.stop_service(rt)


async def test_kill_between_commit_and_publish(settings, stack):
    nc = await nats.connect(settings.nats_url)
    rpc, token = RpcClient(nc, settings.rpc_timeout_s), stack.token()
    crashing = subprocess.Popen([sys.executable, "-m", "services.grids"],
                                env=service_env(settings, YIWANG_FAULT="crash_after_commit"))
    try:
        await wait_ping(rpc, token)
        try:
            await rpc.call("grids", "region.create", {"id": "c1", "name": "甲市", "level": "CITY"}, token, timeout_s=5)
        except Exception:
            pass  # the process died before answering
        assert crashing.wait(10) == 137
    finally:
        if crashing.poll() is None:
            crashing.kill()
    mongo = AsyncMongoClient(settings.mongo_url)
    db = mongo[settings.db_name("grids")]
    assert await db.regions.count_documents({"_id": "c1"}) == 1, "the commit survived the crash"
    pending = await db[OUTBOX].find({"published": False}).to_list(None)
    assert len(pending) == 1, "the event is committed but not yet published"
    event_id = pending[0]["_id"]
    js = nc.jetstream()
    assert await stream_events(js, "yiwang.evt.grids.>") == []

    # A restarted service publishes it once; a second restart publishes nothing more.
    for _ in range(2):
        await relay_once(stack, db)
    msgs = await stream_events(js, "yiwang.evt.grids.>")
    assert [m.headers["Nats-Msg-Id"] for m in msgs] == [event_id]
    assert msgs[0].subject == "yiwang.evt.grids.REGION_CREATED.c1"

    # Crash after publish but before the mark: the republish is dropped by JetStream.
    await db[OUTBOX].update_one({"_id": event_id}, {"$set": {"published": False}})
    await relay_once(stack, db)
    assert len(await stream_events(js, "yiwang.evt.grids.>")) == 1
    await mongo.close()
    await nc.close()
