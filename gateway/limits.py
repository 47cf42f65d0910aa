"""Bounded cost per HTTP request, before any GraphQL work is done for it.

In the order a request meets them:

1. Header read timeout and size (`BoundedHttpTools`, the connection's protocol): a client that
   does not finish its request line and headers within `YIWANG_HTTP_HEADER_TIMEOUT_S` of
   connecting (or of starting its next request on a kept-alive connection) gets 408 and is
   disconnected (one that never sent a byte is just disconnected), and one whose headers pass
   `YIWANG_HTTP_MAX_HEADER_BYTES` gets 431. Uvicorn bounds only the idle time between requests
   (`timeout_keep_alive`), and llhttp no header size: a slowloris that sent a header byte now
   and then was held for as long as it liked.
2. Rate limit (`RequestLimits`): a token bucket per principal, the token's `sub` when it carries a
   valid one, the client's address otherwise; over it, 429 with `Retry-After`. A request costs
   one more per `YIWANG_RATE_LIMIT_REQUEST_BYTES` of its body, charged once the body is in.
3. Authentication: `POST /graphql` without a valid token is answered 401 before its body is read,
   so an unauthenticated request gets no parsing or validation work.
4. Body size and read timeout, for any request that has a body: a `Content-Length` over
   `YIWANG_HTTP_MAX_BODY_BYTES` is refused with 413 without keeping a byte of it (up to 16 times
   the cap is read and dropped first, so that a client that sends before it reads sees the
   413 rather than a reset; a larger one is answered at once); a chunked body is counted as it arrives
   and refused the moment it passes the cap; a body not complete
   within `YIWANG_HTTP_BODY_TIMEOUT_S` gets 408. The application is handed the body whole,
   once it is in. A refusal that leaves part of a body unread closes the connection.
5. JSON shape (`LimitedGraphQL.decode_json`, for bodies and websocket messages): nesting deeper
   than `YIWANG_JSON_MAX_DEPTH`, lone UTF-16 surrogates and NaN/Infinity are refused (400; on a
   websocket, close 4400) instead of failing later as a server error.

The document budget and the argument caps, which need the schema, are in
`gateway.document_limits`. Every limit holds per gateway process: N gateways behind a balancer
let a principal N times the rate.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

from cross_web import HTTPException
from strawberry.asgi import GraphQL
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.context import Context
from gateway.http import GRAPHQL_RESPONSE_JSON, negotiate
from shared.auth import Principal
from shared.errors import BadInput, DomainError, Unavailable
from shared.identity import Verifier
from shared.limits import RejectedJson, loads_bounded, shape_only
from shared.logs import request_id
from shared.settings import Settings

DRAIN_FACTOR = 16  # of a body over the cap, up to this many times the cap is read (and dropped) before the 413
Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class RateLimiter:
    """Token buckets: each key may spend `burst` requests at once and `rate_per_s` a second
    after that. An idle key's bucket refills and is then forgotten, so memory follows the keys
    active in the last `burst / rate_per_s` seconds (and never more than `max_keys`).

    A dozen lines of our own rather than a library: the limiter runs in the one gateway process,
    in memory, on the event loop, and must say when the next request will be allowed
    (`Retry-After`); the libraries that do this well (e.g. `limits`) bring storage backends and a
    background expiry thread this does not need."""

    def __init__(
        self, rate_per_s: float, burst: int, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ):
        self.rate, self.burst, self.max_keys, self.clock = rate_per_s, max(1, burst), max_keys, clock
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float:
        """Spend one request of `key`: 0 when allowed, else the seconds until it would be."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        tokens = self._tokens(key, now)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self.buckets[key] = (tokens, now)
        self._forget_full(now)
        return wait

    def charge(self, key: str, cost: float) -> None:
        """Spend `cost` more of `key` for a request already allowed (a large one): its bucket
        may go below empty, and its next requests wait until it has refilled."""
        if self.enabled and cost > 0:
            now = self.clock()
            self.buckets[key] = (self._tokens(key, now) - cost, now)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self.buckets.pop(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def _forget_full(self, now: float) -> None:
        while self.buckets:
            key, (tokens, at) = next(iter(self.buckets.items()))
            full = now - at >= (self.burst - tokens) / self.rate
            if len(self.buckets) <= self.max_keys and not full:
                return
            del self.buckets[key]


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            raw = value.decode("latin-1")
            return raw.removeprefix("Bearer ").strip() if raw.startswith("Bearer ") else ""
    return None


async def authenticate(scope: Scope, verifier: Verifier) -> tuple[Principal | None, DomainError | str]:
    """The principal of a request's bearer token, or None and why not (a key the issuer rotated
    in is fetched here, so the request's resolvers find it loaded)."""
    token = _bearer(scope)
    if not token:
        return None, "send `Authorization: Bearer <token>`; `yiwang token` mints one in development"
    try:
        return await verifier.person_async(token), ""
    except Unavailable as e:  # the identity provider's keys, or the role assignments, cannot be read now
        return None, e
    except DomainError as e:
        return None, e.message


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def send_error(
    send: Send,
    scope: Scope,
    status: int,
    code: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    close: bool = False,
) -> None:
    """A GraphQL-shaped error answer (`{"errors": [{message, extensions: {code}}]}`), in the
    media type the client asked for and with its `X-Request-ID` (or a new one), like every
    answer the GraphQL view gives."""
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}, ensure_ascii=False).encode()
    asked = dict(scope.get("headers") or ())
    media = (
        GRAPHQL_RESPONSE_JSON
        if negotiate(asked.get(b"accept", b"").decode("latin-1")) == GRAPHQL_RESPONSE_JSON
        else "application/json"
    )
    rid = request_id(asked.get(b"x-request-id", b"").decode("latin-1") or None)
    head = [
        (b"content-type", f"{media}; charset=utf-8".encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", rid.encode()),
        *(headers or []),
        *([(b"connection", b"close")] if close else []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _is_upload(scope: Scope) -> bool:
    """A multipart POST to /graphql (the GraphQL multipart request: a file upload)."""
    if scope["method"] != "POST" or scope["path"] != "/graphql":
        return False
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            return value.split(b";")[0].strip().lower() == b"multipart/form-data"
    return False


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class RequestLimits:
    """ASGI middleware: rate limit, authentication before work, bounded body (see the module)."""

    def __init__(self, app: Callable, settings: Settings, verifier: Verifier, limiter: RateLimiter | None = None):
        self.app, self.settings, self.verifier = app, settings, verifier
        self.limiter = limiter or RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # Browsers cannot set headers on a websocket: its handshakes count by address.
            if wait := self.limiter.take(f"addr:{client_address(scope)}"):
                await send({"type": "websocket.close", "code": 1013, "reason": f"retry after {math.ceil(wait)} s"})
                return
            return await self.app(scope, receive, send)
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        principal, why = await authenticate(scope, self.verifier)
        key = f"sub:{principal.sub}" if principal else f"addr:{client_address(scope)}"
        # Every refusal closes the connection: a body left unread would otherwise be drained
        # after the answer with no deadline at all.
        if wait := self.limiter.take(key):
            seconds = max(1, math.ceil(wait))
            await send_error(
                send,
                scope,
                429,
                "RATE_LIMITED",
                f"too many requests; retry after {seconds} s",
                [(b"retry-after", str(seconds).encode())],
                close=True,
            )
            return
        if principal is None and scope["method"] == "POST" and scope["path"] == "/graphql":
            if isinstance(why, DomainError):
                await send_error(send, scope, 503, "UNAVAILABLE", why.message, [(b"retry-after", b"5")], close=True)
            else:
                await send_error(
                    send, scope, 401, "UNAUTHENTICATED", why, [(b"www-authenticate", b"Bearer")], close=True
                )
            return
        if not _has_body(scope):
            return await self.app(scope, receive, send)
        if _is_upload(scope):
            return await self._upload(scope, receive, send, key)
        body = await self._read_body(scope, receive, send)
        if body is None:
            return
        # A request costs one more per YIWANG_RATE_LIMIT_REQUEST_BYTES of body: parsing an 11 KB
        # document at the token limit costs ~30 ms, a 300-byte one well under 1 ms.
        self.limiter.charge(key, len(body) // self.settings.rate_limit_request_bytes)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes

        await self.app(scope, replay, send)

    async def _upload(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        """A multipart upload to /graphql goes to the application as it arrives (gateway/multipart.py
        reads it as a stream), bounded by the largest file accepted and `YIWANG_UPLOAD_TIMEOUT_S`; it
        costs one more request per `YIWANG_UPLOAD_RATE_BYTES` (charged as the bytes come). An answer
        given before the whole body was read closes the connection."""
        s = self.settings
        cap = max(s.upload_max_bytes.values()) + s.http_max_body_bytes
        deadline = asyncio.get_running_loop().time() + s.upload_timeout_s
        state = {"size": 0, "charged": 0, "more": True}

        async def bounded() -> dict[str, Any]:
            left = deadline - asyncio.get_running_loop().time()
            try:
                async with asyncio.timeout(max(left, 0.001)):
                    message = await receive()
            except TimeoutError:
                raise BadInput(f"the upload did not arrive within {s.upload_timeout_s:g} s") from None
            if message["type"] == "http.request":
                state["size"] += len(message.get("body", b""))
                state["more"] = message.get("more_body", False)
                if state["size"] > cap:
                    raise BadInput(f"the request body is larger than {cap} bytes", {"maxBytes": cap})
                owed = state["size"] // s.upload_rate_bytes - state["charged"]
                if owed > 0:
                    self.limiter.charge(key, owed)
                    state["charged"] += owed
            return message

        async def closing(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and state["more"]:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, bounded, closing)

    async def _read_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None when it was refused (the answer is sent).

        A chunked body is refused the moment it passes the cap. One whose `Content-Length` is
        over the cap is refused too, but if it is at most `DRAIN_FACTOR` times the cap it is
        first read (and dropped) within the body deadline: most clients send the whole body
        before they read, and closing on unread bytes resets the connection, so they would see
        a reset instead of the 413. A larger one, or one whose client waits for `100 Continue`,
        is answered at once and the connection closed."""
        cap = self.settings.http_max_body_bytes
        headers = dict(scope.get("headers") or ())
        declared = _int(headers.get(b"content-length"))
        too_large = f"the request body is larger than {cap} bytes"
        if declared is not None and declared > cap:
            too_large = f"the request body is {declared} bytes; at most {cap} are accepted"
            if declared > DRAIN_FACTOR * cap or headers.get(b"expect", b"").lower() == b"100-continue":
                await send_error(send, scope, 413, "BAD_USER_INPUT", too_large, close=True)
                return None
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.settings.http_body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    piece = message.get("body", b"")
                    size += len(piece)
                    more = message.get("more_body", False)
                    if size > cap or (declared is not None and declared > cap):
                        chunks = []
                        if declared is None or size > DRAIN_FACTOR * cap or not more:  # chunked: at once
                            await send_error(send, scope, 413, "BAD_USER_INPUT", too_large, close=more)
                            return None
                        continue
                    chunks.append(piece)
                    if not more:
                        return b"".join(chunks)
        except TimeoutError:
            await send_error(
                send,
                scope,
                408,
                "BAD_USER_INPUT",
                f"the request body did not arrive within {self.settings.http_body_timeout_s:g} s",
                close=True,
            )
            return None


def _int(value: bytes | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class LimitedGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with the JSON bounds on bodies and websocket messages."""

    settings: Settings

    def decode_json(self, data: str | bytes) -> object:
        return loads_bounded(data, shape_only(self.settings.json_max_depth))

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except RejectedJson as e:
            raise HTTPException(400, f"Refused request body: {e.reason}") from e
        except json.JSONDecodeError as e:
            raise HTTPException(400, "Unable to parse request body as JSON") from e


class BoundedHttpTools(HttpToolsProtocol):
    """Uvicorn's httptools protocol with a deadline and a size cap on each request's line and
    headers (llhttp itself bounds neither)."""

    header_timeout_s: float = 10.0
    max_header_bytes: int = 64 * 1024
    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0
    _bytes_seen = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))  # a server connection's, as uvicorn assumes
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        self._bytes_seen = True
        if self._header_timer is not None:
            self._header_bytes += len(data)
        super().data_received(data)
        if (
            self._header_timer is not None
            and self._header_bytes > self.max_header_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(
                b"431 Request Header Fields Too Large",
                b"the request line and headers are larger than %d bytes" % self.max_header_bytes,
            )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._bytes_seen:
            self._refuse(b"408 Request Timeout", b"the request headers did not arrive in time")
        else:  # a connection that never said anything is just closed
            self.transport.close()

    def _refuse(self, status: bytes, message: bytes) -> None:
        self._cancel_header_timer()
        self.transport.write(
            b"HTTP/1.1 %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, len(message), message)
        )
        self.transport.close()


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options that bound what a connection may hold (used by `python -m gateway` and
    the tests' gateway alike)."""
    protocol = type(
        "GatewayHttpProtocol",
        (BoundedHttpTools,),
        {"header_timeout_s": settings.http_header_timeout_s, "max_header_bytes": settings.http_max_header_bytes},
    )
    return {
        "http": protocol,
        "timeout_keep_alive": settings.http_keep_alive_s,
        "ws_max_size": settings.http_max_body_bytes,
    }
