"""Two of the platform's own paths, timed so that each compares with the raw rate it is built from.

`service_requests`: a service request with nothing behind it. C concurrent loops (the
workload's clients) for N seconds call the cases service's `ping` through the platform's
`RpcClient`, with a person's token as the gateway forwards one: the request-reply of
`ceilings.nats_rr` plus what every service request adds (FastStream's subscriber and its
workers, the token's verification, `dispatch`, the reply). Compared with `nats_rr`.

`event_publication`: the cases events the report-only phase caused, read back from the
platform's stream (`YIWANG_CASES`, subject `yiwang.evt.cases.REPORTED.>`, the phase's cases
only). For each, `made_to_stream` = the stream's timestamp of the message − the envelope's
`time` (set by the handler as it made the event, before its transaction): the report's
transaction, the relay's wake-up, its outbox read and the publish with ack; and, apart,
`reply_to_stream` = the stream's timestamp − the moment the reporter had its reply (the relay's
lag behind the answer; below 0: published before the reply arrived). Compared with a raw
JetStream publish (`raw_rates.js_publish`).
"""
from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import nats

from tests.bench.raw_rates import timed
from tests.bench.stream_read import envelope_time, envelopes_since
from tests.bench.workload import latency_summary


async def service_requests(url: str, token: str, clients: int, seconds: float,
                           service: str = "cases") -> dict[str, Any]:
    from shared.messaging.rpc import RpcClient

    nc = await nats.connect(url, name="bench-service-requests")
    rpc = RpcClient(nc, timeout_s=5)
    try:
        async def ping(_: int, __: None) -> None:
            await rpc.call(service, "ping", {}, token)

        out = await timed(clients, seconds, lambda _: None, ping)
        return {**out, "service": service, "verb": "ping"}
    finally:
        await nc.close()


async def event_publication(url: str, sent: dict[str, tuple[float, str]], replied: dict[str, float],
                            phase: str = "report_only") -> dict[str, Any]:
    """`sent`/`replied`: the workload's (case id → (unix time sent, phase)) and (case id → unix
    time of the reply)."""
    cases = {c: t for c, (t, ph) in sent.items() if ph == phase}
    if not cases:
        return {"events": 0}
    made: list[float] = []
    after_reply: list[float] = []
    seen: set[str] = set()
    start = datetime.fromtimestamp(min(cases.values()) - 1, UTC)
    stream = envelopes_since(url, "yiwang.evt.cases.REPORTED.>", "YIWANG_CASES", start, name="bench-event-publication")
    async with contextlib.aclosing(stream):
        async for e, stored in stream:
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                case = e["subject"]
                if case not in cases or case in seen:
                    continue
                seen.add(case)
                made.append(stored - envelope_time(e))
                if case in replied:
                    after_reply.append(stored - replied[case])
            if len(seen) == len(cases):
                break
    return {"events": len(made), "reports": len(cases), "missed": len(cases) - len(made),
            "made_to_stream": latency_summary(made), "reply_to_stream": latency_summary(after_reply)}
