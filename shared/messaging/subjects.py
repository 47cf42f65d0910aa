"""Subject builders. Events: `yiwang.evt.<service>.<EVENT>.<region path ids…>`."""

from __future__ import annotations

from collections.abc import Sequence

from shared.messaging.envelope import CloudEvent

EVT = "yiwang.evt"
DLQ = "yiwang.dlq"


def rpc_subject(service: str, verb: str) -> str:
    return f"yiwang.{service}.{verb}"


def event_subject(event: CloudEvent) -> str:
    tokens = [EVT, event.service, event.event, *event.path]
    if not event.path:
        tokens.append("_")  # events outside the territory still end in a token
    return ".".join(tokens)


def stream_subjects(service: str) -> list[str]:
    return [f"{EVT}.{service}.>"]


def subtree_filters(path: Sequence[str], service: str = "*", event: str = "*") -> list[str]:
    """Filters matching every event at a node and below it: the node itself and `…>`."""
    base = ".".join([EVT, service, event, *path])
    if not path:
        return [f"{EVT}.{service}.{event}.>"]
    return [base, f"{base}.>"]


def dlq_subject(service: str, consumer: str) -> str:
    return f"{DLQ}.{service}.{consumer}"
