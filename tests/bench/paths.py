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
import json
from datetime import UTC, datetime
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from tests.bench.raw_rates import timed
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
    nc = await nats.connect(url, name="bench-event-publication")
    made: list[float] = []
    after_reply: list[float] = []
    try:
        js = nc.jetstream()
        start = datetime.fromtimestamp(min(cases.values()) - 1, UTC)
        sub = await js.pull_subscribe("yiwang.evt.cases.REPORTED.>", stream="YIWANG_CASES",
                                      config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME,
                                                            opt_start_time=start))
        seen: set[str] = set()
        while len(seen) < len(cases):
            try:
                msgs = await sub.fetch(500, timeout=2)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            for m in msgs:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    e = json.loads(m.data)
                    case = e["subject"]
                    if case not in cases or case in seen:
                        continue
                    seen.add(case)
                    stored = m.metadata.timestamp.timestamp()
                    made.append(stored - datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp())
                    if case in replied:
                        after_reply.append(stored - replied[case])
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    finally:
        await nc.close()
    return {"events": len(made), "reports": len(cases), "missed": len(cases) - len(made),
            "made_to_stream": latency_summary(made), "reply_to_stream": latency_summary(after_reply)}
