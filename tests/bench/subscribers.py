"""Websocket subscribers for the city benchmark, in a process of their own so the load
generator's event loop never delays a timestamp. Speaks graphql-transport-ws to the gateway.

    python -m tests.bench.subscribers --url ws://127.0.0.1:8000/graphql --token T --region R \
        --kinds caseEvents,events,caseEvents,events

Writes one JSON line per fact to stdout, until stdin is closed:
    {"sub": 0, "kind": "caseEvents", "status": "subscribed"}      (or "error" with "error"; an
                                                                   `events` refused: "unavailable")
    {"sub": 0, "case": "<case id>", "t": <unix time of receipt>}  (first REPORTED seen per case)
    {"sub": 0, "events": 123, "status": "closed"}                  (total events received)

Kind `notificationAdded` (a resident's inbox; one token each from --inbox-tokens, in order) reports
each case notification as {"sub": 3, "case": "CASE_ACCEPTED:<case id>", "t": …} (first receipt).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import websockets

QUERIES = {
    "caseEvents": "subscription($r: ID!) { caseEvents(regionId: $r) { type caseId at } }",
    "events": 'subscription($r: ID!) { events(regionId: $r, services: ["cases"]) '
              "{ id cursor service type subject at } }",
    "notificationAdded": "subscription { notificationAdded { id type at link { kind id } } }",
}


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def case_of(kind: str, data: dict) -> tuple[str | None, bool]:
    """(case id, whether it is its REPORTED event) of one `next` payload."""
    if kind == "caseEvents":
        e = data.get("caseEvents") or {}
        return e.get("caseId"), e.get("type") == "REPORTED"
    if kind == "notificationAdded":  # every case notification counts, keyed by its type
        n = data.get("notificationAdded") or {}
        link = n.get("link") or {}
        return (f"{n.get('type')}:{link.get('id')}" if link.get("kind") == "CASE" else None), True
    e = data.get("events") or {}
    return e.get("subject"), "REPORTED" in str(e.get("type", "")).upper()


async def subscriber(i: int, kind: str, url: str, token: str, region: str) -> None:
    """One connection. An `events` subscription the gateway refuses (not built yet) falls back
    to `caseEvents` on the same connection, and says so."""
    seen: set[str] = set()
    count = 0
    try:
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=None,
                                      open_timeout=30, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if ack.get("type") != "connection_ack":
                emit({"sub": i, "kind": kind, "status": "error", "error": f"no connection_ack: {ack}"})
                return
            op = 1
            await ws.send(json.dumps({"id": str(op), "type": "subscribe",
                                      "payload": {"query": QUERIES[kind], "variables": {"r": region}}}))
            emit({"sub": i, "kind": kind, "status": "subscribed"})
            async for raw in ws:
                t = time.time()
                m = json.loads(raw)
                kind_of = m.get("type")
                if kind_of == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                    continue
                if kind_of == "error" or (kind_of == "next" and m["payload"].get("errors")) or kind_of == "complete":
                    errors = m.get("payload") if kind_of == "error" else (m.get("payload") or {}).get("errors")
                    reason = ("the server completed the subscription" if kind_of == "complete" else
                              "; ".join(str(e.get("message", e)) for e in errors or [])[:300])
                    if kind == "events" and count == 0:
                        emit({"sub": i, "kind": kind, "status": "unavailable", "error": reason,
                              "fallback": "caseEvents"})
                        kind, op = "caseEvents", op + 1
                        await ws.send(json.dumps({"id": str(op), "type": "subscribe",
                                                  "payload": {"query": QUERIES[kind], "variables": {"r": region}}}))
                        emit({"sub": i, "kind": kind, "status": "subscribed"})
                        continue
                    emit({"sub": i, "kind": kind, "status": "error", "error": reason})
                    return
                if kind_of != "next":
                    continue
                count += 1
                case, reported = case_of(kind, m["payload"].get("data") or {})
                if case and reported and case not in seen:
                    seen.add(case)
                    emit({"sub": i, "case": case, "t": t})
    except asyncio.CancelledError:
        pass
    except Exception as e:  # noqa: BLE001 - reported to the parent
        emit({"sub": i, "kind": kind, "status": "error", "error": f"{type(e).__name__}: {e}"[:300]})
    finally:
        emit({"sub": i, "kind": kind, "events": count, "status": "closed"})


async def run(args: argparse.Namespace) -> None:
    kinds = [k for k in args.kinds.split(",") if k]
    inbox = iter([t for t in (args.inbox_tokens or "").split(",") if t])
    tokens = [next(inbox, args.token) if k == "notificationAdded" else args.token for k in kinds]
    tasks = [asyncio.create_task(subscriber(i, k, args.url, tokens[i], args.region)) for i, k in enumerate(kinds)]
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--kinds", default="caseEvents,events,caseEvents,events")
    ap.add_argument("--inbox-tokens", help="comma-separated tokens of the notificationAdded subscribers, in order")
    asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    main()
