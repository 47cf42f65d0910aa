"""Event → inbox notification latency in the city benchmark: residents' `notificationAdded` feeds.

Each of the first N residents of the workload holds one `notificationAdded` subscription (in the
subscriber process, kind `notificationAdded`). For every case one of them reported in their own
name, the latency of its CASE_ACCEPTED notification runs from the moment the `acceptCase` request
was sent to the receipt on that resident's feed (and of CASE_RESOLVED from `resolveCase`): the
whole path of gateway, cases, its outbox relay, the notifications service's consumer and rule
table, its inbox write and outbox, and the gateway's `notification.get`."""
from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any, Protocol

from tests.bench.stream_read import envelope_time, envelopes_since
from tests.bench.workload import Workload, latency_summary

KIND = "notificationAdded"
STEPS = (("accept_case", "CASE_ACCEPTED"), ("resolve_case", "CASE_RESOLVED"))


class Feeds(Protocol):
    status: dict[int, dict[str, Any]]
    recv: dict[int, dict[str, float]]


def inbox_subscribers(kinds: list[str]) -> dict[int, int]:
    """Subscriber index → the index of the resident whose inbox it follows (the order of the tokens)."""
    return {i: n for n, i in enumerate(i for i, k in enumerate(kinds) if k == KIND)}


def _live(subs: Feeds, feeds: dict[int, int]) -> dict[int, int]:
    """Resident index → subscriber index of the feeds that subscribed and did not fail (a feed the
    parent closed at the end reads `closed`)."""
    return {n: i for i, n in feeds.items() if subs.status[i]["status"] in ("subscribed", "closed")}


def pending_notifications(work: Workload, subs: Feeds, feeds: dict[int, int]) -> int:
    """Notifications the live feeds should have and have not received yet (to drain before counting)."""
    live = _live(subs, feeds)
    left = 0
    for step, kind in STEPS:
        for case in work.step_sent[step]:
            i = live.get(work.reporter_of.get(case, -1))
            if i is not None and f"{kind}:{case}" not in subs.recv[i]:
                left += 1
    return left


def inbox_latency(work: Workload, subs: Feeds, feeds: dict[int, int]) -> dict[str, Any]:
    """Per notification type: latency from the request that caused it to the reporter's feed."""
    live = _live(subs, feeds)
    out: dict[str, Any] = {"subscribers": len(live), "of": len(feeds)}
    for step, kind in STEPS:
        lat: list[float] = []
        expected = missed = 0
        for case, sent in work.step_sent[step].items():
            i = live.get(work.reporter_of.get(case, -1))
            if i is None:
                continue
            expected += 1
            got = subs.recv[i].get(f"{kind}:{case}")
            if got is None:
                missed += 1
            else:
                lat.append(got - sent)
        out[kind] = {**latency_summary(lat), "expected": expected, "missed": missed}
    return out


async def added_times(nats_url: str, since: float) -> dict[str, float]:
    """When the notifications service wrote each case notification since `since` (unix time): the
    time of its NOTIFICATION_ADDED envelope, keyed as the feeds key them (`CASE_ACCEPTED:<case>`)."""
    out: dict[str, float] = {}
    async for e, _ in envelopes_since(nats_url, "yiwang.evt.notifications.NOTIFICATION_ADDED.>",
                                      "YIWANG_NOTIFICATIONS", datetime.fromtimestamp(since, UTC)):
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            d, link = e["data"], e["data"].get("link") or {}
            if link.get("kind") == "CASE":
                out.setdefault(f"{d.get('notificationType')}:{link.get('id')}", envelope_time(e))
    return out


def split_latency(work: Workload, subs: Feeds, feeds: dict[int, int], added: dict[str, float]) -> dict[str, Any]:
    """The same notifications, split where the NOTIFICATION_ADDED event was written: request →
    written (cases, its relay, the notifications service) and written → the resident's feed (the
    stream, the gateway's consumer and its `notification.get`)."""
    live = _live(subs, feeds)
    out: dict[str, Any] = {}
    for step, kind in STEPS:
        before: list[float] = []
        after: list[float] = []
        for case, sent in work.step_sent[step].items():
            i = live.get(work.reporter_of.get(case, -1))
            key = f"{kind}:{case}"
            if i is None or key not in added or key not in subs.recv[i]:
                continue
            before.append(added[key] - sent)
            after.append(subs.recv[i][key] - added[key])
        out[kind] = {"to_written": latency_summary(before), "written_to_feed": latency_summary(after)}
    return out


def table_rows(result: dict[str, Any], row: Any) -> list[str]:
    s = result.get("event_to_inbox")
    if not s:
        return []
    lines = []
    for step, kind in STEPS:
        k = s.get(kind) or {}
        lines.append(row(f"{step.split('_')[0]}→inbox", {**k, "count": k.get("count", 0), "errors": k.get("missed", 0)},
                         f"{kind} on the reporter's notificationAdded, {s['subscribers']} residents, err = missed"))
        split = (s.get("split") or {}).get(kind) or {}
        for part, label in (("to_written", "  request→written"), ("written_to_feed", "  written→feed")):
            if (split.get(part) or {}).get("count"):
                lines.append(row(label, split[part], "NOTIFICATION_ADDED's time on the bus splits the path"))
    return lines
