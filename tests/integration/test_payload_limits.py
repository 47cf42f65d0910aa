"""Service-side caps: a caller that bypasses the gateway with a valid token, on plain nats-py,
cannot hand the store a 20,000-element `$in`, an unbounded string, a deep or malformed payload;
and the message bus's own payload limit answers as a client error, both ways."""
from __future__ import annotations

import asyncio
import json

import nats
import pytest

from shared.errors import BadInput
from shared.messaging.rpc import RpcClient
from shared.service import ServiceRuntime


async def request(nc, verb: str, body: bytes | dict, token: str) -> dict:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    msg = await nc.request(f"yiwang.cases.{verb}", data, timeout=30, headers={"Authorization": f"Bearer {token}"})
    return json.loads(msg.data)


def refused(reply: dict, *fragments: str) -> None:
    assert reply["ok"] is False and reply["error"]["code"] == "BAD_INPUT", reply
    for fragment in fragments:
        assert fragment in reply["error"]["message"], reply["error"]["message"]


async def test_the_cases_service_refuses_unbounded_payloads_from_any_caller(stack):
    await stack.start_service("cases")
    nc = await nats.connect(stack.settings.nats_url)
    token = stack.token()  # a valid staff token: only the caps stand in the way
    try:
        huge = {"status": ["REPORTED"] * 20_000, "first": 20}
        attacks = [request(nc, "case.list", huge, token) for _ in range(10)]
        normal = request(nc, "case.list", {"status": ["REPORTED", "ACCEPTED"], "first": 5}, token)
        *answers, fine = await asyncio.gather(*attacks, normal)
        for reply in answers:
            refused(reply, "status: 20000 items, more than", str(stack.settings.rpc_max_items))
        assert fine["ok"] is True and fine["result"]["totalCount"] == 0
        # within the generic bound, the contract holds the field to its own: seven statuses
        refused(await request(nc, "case.list", {"status": ["REPORTED"] * 8}, token), "status")
        # strings, with or without a bound of their own in the contract
        refused(await request(nc, "case.get", {"id": "x" * (stack.settings.rpc_max_string_length + 1)}, token),
                "id: a string of")
        refused(await request(nc, "case.get", {"id": "x" * 65}, token), "id")
        # deep, a lone surrogate, NaN, a huge object
        refused(await request(nc, "case.get", b'{"id":' + b"[" * 5000 + b"]" * 5000 + b"}", token), "nested deeper")
        refused(await request(nc, "case.get", b'{"id":"\\ud800"}', token), "surrogate")
        refused(await request(nc, "case.get", b'{"id":NaN}', token), "NaN")
        refused(await request(nc, "case.list", {f"k{i}": 1 for i in range(5000)}, token), "5000 members")
    finally:
        await nc.close()


async def test_the_bus_payload_limit_is_a_client_error_for_the_caller(stack):
    await stack.start_service("cases")
    nc = await nats.connect(stack.settings.nats_url)
    try:
        rpc = RpcClient(nc, stack.settings.rpc_timeout_s)
        with pytest.raises(BadInput, match="too large to send"):
            await rpc.call("cases", "case.get", {"id": "x" * (nc.max_payload + 1)}, stack.token())
    finally:
        await nc.close()


async def test_an_answer_too_large_for_the_bus_is_an_error_not_a_timeout(stack):
    rt = ServiceRuntime("probe", stack.settings)

    async def everything(req):
        return {"blob": "x" * (rt.broker.config.connection_state.connection.max_payload + 1)}

    rt.route("everything", everything)
    await rt.start()
    stack.runtimes.append(rt)
    nc = await nats.connect(stack.settings.nats_url)
    try:
        # Without the check the reply fails to publish and this ends in Unavailable (no answer).
        rpc = RpcClient(nc, timeout_s=60)
        with pytest.raises(BadInput, match="more than the message bus carries"):
            await rpc.call("probe", "everything", {}, stack.token())
    finally:
        await nc.close()
