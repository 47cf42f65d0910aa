"""A GraphQL client that behaves like a careful real one: it retries a request, unchanged (so
with the same idempotency key), while the platform answers UNAVAILABLE, a 5xx without a
GraphQL body, or the connection fails; anything else is the answer."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

# Generous: a write blocked by a transaction a killed process left open waits for the store
# to reap it (~60 s today); only a hang should outlast this.
RETRY_DEADLINE_S = 300.0
FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.1, 2.0


@dataclass
class Answer:
    """The last answer to a request: `data`, or the error `code` and `message`; `retried` is
    True when an earlier attempt may have reached the platform (its answer was lost)."""

    data: dict[str, Any] | None
    code: str | None = None
    message: str = ""
    attempts: int = 1
    retried: bool = False
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.code is None and self.data is not None


class Retry(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class GqlClient:
    def __init__(self, url: str, deadline_s: float = RETRY_DEADLINE_S):
        # A long read timeout: the gateway answers UNAVAILABLE itself after its RPC timeout.
        self.http = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(60.0, connect=5.0),
                                      limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        self.deadline_s = deadline_s
        self.retries: Counter[str] = Counter()  # why requests were retried, for the report

    async def close(self) -> None:
        await self.http.aclose()

    async def once(self, query: str, variables: dict[str, Any], token: str) -> Answer:
        try:
            r = await self.http.post("/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError as e:
            raise Retry(type(e).__name__) from e
        try:
            body = r.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or ("data" not in body and "errors" not in body):
            if r.status_code >= 500:
                raise Retry(f"HTTP {r.status_code}")
            return Answer(None, f"HTTP {r.status_code}", r.text[:300])
        errors = body.get("errors") or []
        if errors:
            codes = [(e.get("extensions") or {}).get("code", "") for e in errors]
            if "UNAVAILABLE" in codes:
                raise Retry("UNAVAILABLE")
            return Answer(body.get("data"), codes[0] or "NO_CODE", errors[0].get("message", ""))
        return Answer(body.get("data"))

    async def call(self, query: str, variables: dict[str, Any], token: str) -> Answer:
        """Send until an answer that is not a transient failure, or the deadline."""
        deadline = time.monotonic() + self.deadline_s
        backoff, attempts, reached = FIRST_BACKOFF_S, 0, False
        while True:
            attempts += 1
            try:
                answer = await self.once(query, variables, token)
                answer.attempts, answer.retried = attempts, reached
                return answer
            except Retry as r:
                self.retries[r.reason] += 1
                # A connect error means the request never left; anything else may have been applied.
                reached = reached or r.reason not in ("ConnectError", "ConnectTimeout")
                if time.monotonic() > deadline:
                    return Answer(None, "GAVE_UP", f"still {r.reason} after {self.deadline_s:g}s",
                                  attempts, reached)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
