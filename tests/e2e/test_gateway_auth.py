"""Who gets in at the gateway: a person's valid, bounded token, over HTTP and at a websocket's
`connection_init`; never a service identity, a token that lives too long, or none; only the
graphql-transport-ws protocol; a live feed ends when its token expires."""
from __future__ import annotations

import asyncio
import json
import time

import jwt
import websockets

from shared.auth import service_token
from shared.identity import dev_signing_key, new_signing_key, settings_token
from shared.identity import mint_token as sign
from tests.cases_gateway import (
    IN_A1,
    OP_A,
    R1,
    Subscriber,
    consumer_count,
    eventually,
    init_answer,
    report,
    start_cases_stack,
    wait_consumers,
)
from tests.infra import Stack

EVENTS = "subscription($r: ID!) { caseEvents(regionId: $r) { type caseId } }"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def forged(stack: Stack, **claims: object) -> str:
    """Signed with the issuer's own key, claims it never gives."""
    now = int(time.time())
    key = dev_signing_key(stack.settings)
    return jwt.encode({"sub": "x", "iat": now, "exp": now + 600, "iss": "yiwang", "aud": "yiwang", **claims},
                      key.private, algorithm="ES256", headers={"kid": key.kid})


def refused_tokens(stack: Stack) -> dict[str, str]:
    s = stack.settings
    now = int(time.time())
    return {
        "a service's own token": service_token(s.jwt_secret, "cases"),
        "a person's key claiming the service role": forged(stack, role="service"),
        "a token for 100 years": settings_token(s, sub="x", role="superadmin", ttl_s=100 * 365 * 86400),
        "an expired token": settings_token(s, sub="x", role="superadmin", ttl_s=-60),
        "another issuer's token": sign(new_signing_key(), sub="x", role="superadmin"),
        "another audience": forged(stack, role="superadmin", aud="another-app"),
        "HS256 on the internal key": jwt.encode({"sub": "x", "role": "superadmin", "iat": now, "exp": now + 600,
                                                 "iss": "yiwang", "aud": "yiwang"}, s.jwt_secret, algorithm="HS256"),
        "a department without its dept": settings_token(s, sub="x", role="department", region="county-a"),
        "garbage": "not-a-token",
    }


async def test_http_refuses_service_identities_and_unbounded_tokens(stack):
    await start_cases_stack(stack)
    for what, token in refused_tokens(stack).items():
        body = await stack.gql("{ me { sub role } cases(first: 1) { totalCount } }", token=token)
        assert body.get("data") is None and {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHENTICATED"}, what
    r = await stack.http.get("/asyncapi/cases.json", headers=bearer(service_token(stack.settings.jwt_secret, "x")))
    assert r.status_code == 401
    day = settings_token(stack.settings, sub="ok", role="superadmin", ttl_s=stack.settings.jwt_max_ttl_s)
    assert (await stack.ok("{ me { sub role } }", token=day))["me"] == {"sub": "ok", "role": "superadmin"}


async def test_websocket_authenticates_at_connection_init(stack):
    await start_cases_stack(stack)
    assert await init_answer(stack, None) == "closed 4403"
    assert await init_answer(stack, {}) == "closed 4403"
    assert await init_answer(stack, {"Authorization": "Basic dXNlcjpwYXNz"}) == "closed 4403"
    for what, token in refused_tokens(stack).items():
        assert await init_answer(stack, bearer(token)) == "closed 4403", what
    assert await init_answer(stack, bearer(stack.token(**OP_A))) == "connection_ack"


async def test_the_legacy_graphql_ws_protocol_is_off(stack):
    await start_cases_stack(stack)
    url = f"ws://127.0.0.1:{stack.settings.http_port}/graphql"
    async with websockets.connect(url, subprotocols=["graphql-ws"]) as ws:
        assert ws.subprotocol is None  # not offered
        try:
            await ws.send(json.dumps({"type": "connection_init", "payload": bearer(stack.token())}))
            message = await asyncio.wait_for(ws.recv(), 10)
            raise AssertionError(f"the legacy protocol answered: {message}")
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 4406


async def test_a_feed_ends_when_its_token_expires(stack):
    await start_cases_stack(stack)
    # A short life, doubled until the feed was set up before it ended (a busy machine may take long
    # to connect and subscribe; a feed that starts with an expired token is another test).
    ttl = 8
    while True:
        token = settings_token(stack.settings, sub="op-short", role="operator", region="town-a", ttl_s=ttl)
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        await eventually(lambda: consumer_count(stack), lambda n: n == 0, timeout=30)  # an earlier try's feed gone
        try:
            async with Subscriber(stack, token) as ws:
                await ws.subscribe(EVENTS, {"r": "town-a"})
                await wait_consumers(stack, 1)
                if time.time() < expires - 1:
                    while time.time() < expires:  # the token's own expiry, not a guess
                        await asyncio.sleep(expires - time.time())
                    await report(stack, R1, IN_A1)
                    message = await ws.receive()
                    break
        except AssertionError:  # refused at connection_init: it expired while connecting
            assert time.time() >= expires
        ttl *= 2
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"], message
