"""A request carries its caller's deadline; a service skips one still queued after it (the
caller is gone) without touching the store, and serves one that is not."""
from __future__ import annotations

import time

import nats

from shared.jsonutil import dumps, loads
from shared.messaging.rpc import AUTH_HEADER, CLOCK_TOLERANCE_S, DEADLINE_HEADER, RpcClient, caller_gone
from shared.messaging.subjects import rpc_subject


def test_caller_gone_reads_the_deadline_with_a_tolerance_for_clocks():
    now = time.time()
    assert not caller_gone(None) and not caller_gone({})
    assert not caller_gone({DEADLINE_HEADER: "not a number"})
    assert not caller_gone({DEADLINE_HEADER: f"{now + 5}"})
    assert not caller_gone({DEADLINE_HEADER: f"{now - CLOCK_TOLERANCE_S / 2}"})
    assert caller_gone({DEADLINE_HEADER: f"{now - CLOCK_TOLERANCE_S - 1}"})


async def test_a_request_past_its_deadline_is_skipped_and_writes_nothing(stack):
    rt = await stack.start_service("grids")
    nc = await nats.connect(stack.settings.nats_url)
    try:
        token = stack.token()
        create = {"id": "late-city", "name": "迟到市", "level": "CITY"}
        headers = {AUTH_HEADER: f"Bearer {token}", DEADLINE_HEADER: f"{time.time() - 60:.3f}"}
        reply = loads((await nc.request(rpc_subject("grids", "region.create"), dumps(create),
                                        timeout=stack.settings.rpc_timeout_s, headers=headers)).data)
        assert reply["ok"] is False and reply["error"]["code"] == "UNAVAILABLE"
        assert "stopped waiting" in reply["error"]["message"]
        assert await rt.db.regions.count_documents({"_id": "late-city"}) == 0
        # RpcClient sends a live deadline: served.
        created = await RpcClient(nc, stack.settings.rpc_timeout_s).call("grids", "region.create", create, token)
        assert created["id"] == "late-city"
    finally:
        await nc.close()
