"""Event → inbox notification latency in the city benchmark: residents' `notificationAdded` feeds.

Each of the first N residents of the workload holds one `notificationAdded` subscription (in the
subscriber process, kind `notificationAdded`). For every case one of them reported in their own
name, the latency of its CASE_ACCEPTED notification runs from the moment the `acceptCase` request
was sent to the receipt on that resident's feed (and of CASE_RESOLVED from `resolveCase`): the
whole path of gateway, cases, its outbox relay, the notifications service's consumer and rule
table, its inbox write and outbox, and the gateway's `notification.get`."""
from __future__ import annotations

from typing import Any, Protocol

from tests.bench.workload import Workload, latency_summary

KIND = "notificationAdded"
STEPS = (("accept_case", "CASE_ACCEPTED"), ("resolve_case", "CASE_RESOLVED"))


class Feeds(Protocol):
    status: dict[int, dict[str, Any]]
    recv: dict[int, dict[str, float]]


def inbox_subscribers(kinds: list[str]) -> dict[int, int]:
    """Subscriber index → the index of the resident whose inbox it follows (the order of the tokens)."""
    return {i: n for n, i in enumerate(i for i, k in enumerate(kinds) if k == KIND)}


def pending_notifications(work: Workload, subs: Feeds, feeds: dict[int, int]) -> int:
    """Notifications the live feeds should have and have not received yet (to drain before counting)."""
    live = {n: i for i, n in feeds.items() if subs.status[i]["status"] == "subscribed"}
    left = 0
    for step, kind in STEPS:
        for case in work.step_sent[step]:
            i = live.get(work.reporter_of.get(case, -1))
            if i is not None and f"{kind}:{case}" not in subs.recv[i]:
                left += 1
    return left


def inbox_latency(work: Workload, subs: Feeds, feeds: dict[int, int]) -> dict[str, Any]:
    """Per notification type: latency from the request that caused it to the reporter's feed."""
    live = {n: i for i, n in feeds.items() if subs.status[i]["status"] == "subscribed"}
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


def table_rows(result: dict[str, Any], row: Any) -> list[str]:
    s = result.get("event_to_inbox")
    if not s:
        return []
    lines = []
    for step, kind in STEPS:
        k = s.get(kind) or {}
        lines.append(row(f"{step.split('_')[0]}→inbox", {**k, "count": k.get("count", 0), "errors": k.get("missed", 0)},
                         f"{kind} on the reporter's notificationAdded, {s['subscribers']} residents, err = missed"))
    return lines
