"""Bounded cost per request, tried as an attacker would against a real gateway on uvicorn: each
costly request is answered as a client error, and another user's request goes through while
the attack is in flight. The timeouts here are the gateway's (short, from the settings); the
test's own waits are many times longer and only bound a failure. The gateway shares the test's
event loop, so its header timeout must outlast the loop's busiest moment here (ten 11 KB
documents parsed at once on a loaded machine) or the test's own clients would be cut before
they could write."""
from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import websockets

from tests.cases_gateway import GET, codes
from tests.cases_helpers import REPORT, start_cases_stack
from tests.infra import make_settings

HEADER_TIMEOUT_S, BODY_TIMEOUT_S = 5.0, 5.0
MAX_BODY = 300 * 1024  # a 15-fold body (4.6 MB) is more than loopback buffers hold
BURST = 40
REQUEST_BYTES = 32 * 1024  # a request costs one more per this much body
PATIENCE_S = 60.0  # only a failing gateway makes a test wait this long


@pytest.fixture
def settings(nats_server, mongo_server):
    # A rate so low no request refills a bucket during a test: the burst is what a principal has.
    return make_settings(nats_server.port, mongo_server.port, http_header_timeout_s=HEADER_TIMEOUT_S,
                         http_body_timeout_s=BODY_TIMEOUT_S, http_max_body_bytes=MAX_BODY,
                         rate_limit_per_s=0.01, rate_limit_burst=BURST, rate_limit_request_bytes=REQUEST_BYTES)


@pytest.fixture
async def limited(stack):
    """grids, cases and the gateway, one case reported: `stack.case_id`."""
    client = await start_cases_stack(stack)
    case = await client("case.report", stack.token(role="resident", sub="r1"), **REPORT, regionId="grid-a1")
    stack.case_id = case["id"]
    yield stack
    await client.close()


@pytest.fixture
async def raw(limited):
    """Opens raw connections to the gateway; closes every one at the end, failed test or not
    (an open one would hold the gateway's shutdown)."""
    writers: list[asyncio.StreamWriter] = []

    async def connect(first: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", limited.settings.http_port)
        writers.append(writer)
        if first:
            writer.write(first)
            await writer.drain()
        return reader, writer

    yield connect
    for writer in writers:
        writer.close()


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """All the gateway sends until it closes the connection."""
    out = b""
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            out += chunk
    return out


async def answers_of(*readers: asyncio.StreamReader) -> list[bytes]:
    async with asyncio.timeout(PATIENCE_S):
        return await asyncio.gather(*(until_closed(r) for r in readers))


async def normal_read(stack, sub: str) -> None:
    """Another user's ordinary request, which must succeed."""
    data = await stack.ok(GET, {"id": stack.case_id}, role="superadmin", sub=sub)
    assert data["case"]["id"] == stack.case_id


async def post(stack, body: bytes | dict, token: str | None, **headers: str):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return await stack.http.post("/graphql", content=content,
                                 headers={"Content-Type": "application/json", **auth, **headers})


def me990(i: int) -> dict:
    """The issue's 11 KB document, a new text each time (what is parsed is cached by text)."""
    return {"query": "{ " + "me { sub } " * 990 + f"}} # {i}"}


async def test_unauthenticated_requests_get_no_parsing_or_validation(limited, raw):
    attacks = [post(limited, me990(i), None) for i in range(10)]
    answers = await asyncio.gather(*attacks, normal_read(limited, "reader"))
    for r in answers[:-1]:
        assert r.status_code == 401 and codes(r.json()) == ["UNAUTHENTICATED"]
        assert r.headers["www-authenticate"] == "Bearer"
    # The answer does not wait for the body: it is refused from the headers alone.
    reader, _ = await raw(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 5000\r\n\r\n")
    [answer] = await answers_of(reader)
    assert answer.startswith(b"HTTP/1.1 401")


async def test_field_budget_refuses_large_documents_before_validation(limited):
    token = limited.token(sub="staff")
    answers = await asyncio.gather(*(post(limited, me990(i), token) for i in range(10)), normal_read(limited, "reader"))
    for r in answers[:-1]:
        assert r.status_code == 200
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert f"more than {limited.settings.graphql_max_fields} fields" in error["message"]
    # within the budget, the same document shape goes through
    assert (await limited.ok("{ " + "me { sub } " * 10 + "}", sub="staff"))["me"]["sub"] == "staff"


async def test_list_and_string_arguments_are_capped_at_the_gateway(limited):
    token = limited.token(sub="staff")
    statuses = {"query": "query($s: [CaseStatus!]) { cases(filter: {statuses: $s}) { totalCount } }",
                "variables": {"s": ["REPORTED"] * 5000}}
    answers = await asyncio.gather(*(post(limited, statuses, token) for _ in range(8)), normal_read(limited, "reader"))
    for r in answers[:-1]:
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"] == f"variable $s: 5000 items, more than {limited.settings.graphql_max_list_items}"
    # a list within the cap, duplicates and all, is answered
    body = await limited.gql(statuses["query"], {"s": ["REPORTED"] * 20}, sub="staff")
    assert body["data"]["cases"]["totalCount"] == 1
    # a string over the cap, as a variable and as a literal
    long = "长" * (limited.settings.graphql_max_string_length + 1)
    body = await limited.gql("mutation($i: ReportCaseInput!) { reportCase(input: $i) { id } }",
                             {"i": {**REPORT, "description": long, "lng": 113.005, "lat": 30.005}}, role="resident",
                             sub="r2")
    assert codes(body) == ["BAD_USER_INPUT"] and "$i.description" in body["errors"][0]["message"]
    body = await limited.gql('{ case(id: "' + "x" * (limited.settings.graphql_max_string_length + 1) + '") { id } }',
                             sub="staff")
    assert codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["message"].startswith("argument case(id)")
    assert (await limited.ok("query($f: CaseFilter) { cases(filter: $f) { totalCount } }",
                             {"f": {"mine": True}}, role="resident", sub="r2"))["cases"]["totalCount"] == 0


async def test_body_over_the_cap_is_refused_while_it_is_read(limited, raw):
    token = limited.token(sub="staff")
    # declared: refused before a byte of it is sent
    reader, _ = await raw(f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          f"Authorization: Bearer {token}\r\nContent-Length: {150 * 1024 * 1024}\r\n\r\n".encode())
    [answer] = await answers_of(reader)
    assert answer.startswith(b"HTTP/1.1 413") and b"BAD_USER_INPUT" in answer
    # chunked: refused once it passes the cap, while the body is still open. (The client stops
    # there to read the answer: bytes the gateway has not read when it closes, or written after,
    # would reset the connection and lose the answer in the client's kernel.)
    chunk = b"x" * (MAX_BODY // 2 + 1)
    reader, _ = await raw(f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
                          + b"%x\r\n%s\r\n%x\r\n%s" % (len(chunk), chunk, len(chunk), chunk))
    [answer] = await answers_of(reader)
    assert answer.startswith(b"HTTP/1.1 413") and b"larger than" in answer, answer[:100]
    # a client that sends its whole body before it reads (httpx does) gets the 413, not a reset
    r = await post(limited, {"query": "{ me { sub } }" + " " * (15 * MAX_BODY)}, token)
    assert r.status_code == 413 and codes(r.json()) == ["BAD_USER_INPUT"]
    # under the cap, a body is read and answered
    padded = {"query": "{ me { sub } }" + " " * (MAX_BODY - 100)}
    r = await post(limited, padded, token)
    assert r.status_code == 200 and r.json()["data"]["me"]["sub"] == "staff"


async def test_slow_and_silent_clients_are_cut_while_others_are_served(limited, raw):
    token = limited.token(sub="staff")
    partial_headers = b"POST /graphql HTTP/1.1\r\nHost: x\r\nX-Slow: "
    partial_body = (f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n{{\"query\"").encode()
    slow_headers = [(await raw(partial_headers))[0] for _ in range(20)]
    slow_bodies = [(await raw(partial_body))[0] for _ in range(20)]
    silent = [(await raw())[0] for _ in range(20)]
    # While they hang on, another user is served (on a connection of its own).
    await normal_read(limited, "reader")
    answers = await answers_of(*slow_headers, *slow_bodies, *silent)  # the gateway closes each
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers[:20]), answers[:20]
    assert all(a.startswith(b"HTTP/1.1 408 ") and b"BAD_USER_INPUT" in a for a in answers[20:40]), answers[20:40]
    assert answers[40:] == [b""] * 20  # a connection that said nothing is closed without a word


async def test_oversized_headers_are_refused(limited, raw):
    reader, _ = await raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
                          + b"a" * (limited.settings.http_max_header_bytes + 1))
    [answer] = await answers_of(reader)
    assert answer.startswith(b"HTTP/1.1 431")


async def test_deep_json_surrogates_and_constants_are_client_errors(limited):
    token = limited.token(sub="staff")
    cases = [(b'{"query":"{ me { sub } }","variables":{"v":' + b"[" * 5000 + b"]" * 5000 + b"}}", "nested deeper"),
             (b'{"query":"{ me { sub } }","variables":{"v":' + b"[" * 40 + b"]" * 40 + b"}}", "nested deeper"),
             (b'{"query":"query($v:ID){ pointsBalance(volunteerId:$v) }","variables":{"v":"\\ud800"}}', "surrogate"),
             (b'{"query":"query($v:Float){ me { sub } }","variables":{"v":NaN}}', "NaN")]
    answers = await asyncio.gather(*(post(limited, body, token) for body, _ in cases), normal_read(limited, "reader"))
    for r, (_, reason) in zip(answers, cases, strict=False):
        assert r.status_code == 400 and reason in r.text, (reason, r.status_code, r.text[:200])
    # the same over a websocket: the connection is closed as a protocol error (4400), not a crash
    url = f"ws://127.0.0.1:{limited.settings.http_port}/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send('{"type":"connection_init","payload":' + "[" * 5000 + "]" * 5000 + "}")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(PATIENCE_S):
                await ws.recv()
        assert closed.value.rcvd.code == 4400


async def test_rate_limit_answers_429_with_retry_after_per_principal(limited):
    flood = limited.token(sub="flood")
    answers = await asyncio.gather(*(post(limited, {"query": "{ me { sub } }"}, flood) for _ in range(BURST + 10)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * BURST + [429] * 10
    refused = next(r for r in answers if r.status_code == 429)
    assert codes(refused.json()) == ["RATE_LIMITED"]
    assert int(refused.headers["retry-after"]) >= 1
    # other principals are not held up by it
    await normal_read(limited, "reader")
    # a large body costs more of the bucket: here eight requests' worth more
    heavy = limited.token(sub="heavy")
    assert (await post(limited, {"query": "{ me { sub } }" + " " * (8 * REQUEST_BYTES)}, heavy)).status_code == 200
    answers = await asyncio.gather(*(post(limited, {"query": "{ me { sub } }"}, heavy) for _ in range(BURST)))
    assert sorted(r.status_code for r in answers) == [200] * (BURST - 1 - 8) + [429] * 9
    # unauthenticated requests count by address, apart from any principal
    assert (await post(limited, {"query": "{ me { sub } }"}, None)).status_code == 401
