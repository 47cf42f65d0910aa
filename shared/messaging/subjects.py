"""Subject builders. Events: `yiwang.evt.<service>.<EVENT>.<region path ids…>`."""

from __future__ import annotations

from collections.abc import Sequence

from shared.messaging.envelope import CloudEvent

EVT = "yiwang.evt"
DLQ = "yiwang.dlq"
DEPT = "yiwang.dept"  # copies of events for the departments on a record, one subject space per department


def rpc_subject(service: str, verb: str) -> str:
    return f"yiwang.{service}.{verb}"


def event_subject(event: CloudEvent) -> str:
    tokens = [EVT, event.service, event.event, *event.path]
    if not event.path:
        tokens.append("_")  # events outside the territory still end in a token
    return ".".join(tokens)


def stream_subjects(service: str) -> list[str]:
    return [f"{EVT}.{service}.>", f"{DEPT}.{service}.>"]


def dept_subjects(event: CloudEvent) -> list[str]:
    """`yiwang.dept.<service>.<department region>.<code>.<EVENT>` for each department the event
    names in `data.deptKeys` (`<region>:<code>`): a subject space a department's NATS user can be
    confined to (deploy/nats), beside the region subject every event keeps."""
    keys = event.data.get("deptKeys") or []
    return [".".join((DEPT, event.service, *k.split(":", 1), event.event)) for k in keys if ":" in k]


def dept_filters(region: str, code: str, service: str = "cases", event: str = "*") -> list[str]:
    """The subjects of one department's copies (every event type, or one)."""
    return [f"{DEPT}.{service}.{region}.{code}.{event}"]


def subtree_filters(path: Sequence[str], service: str = "*", event: str = "*") -> list[str]:
    """Filters matching every event at a node and below it: the node itself and `…>`."""
    base = ".".join([EVT, service, event, *path])
    if not path:
        return [f"{EVT}.{service}.{event}.>"]
    return [base, f"{base}.>"]


def dlq_subject(service: str, consumer: str) -> str:
    return f"{DLQ}.{service}.{consumer}"


def bounded_subject(subject: str) -> str:
    """A subject as a metric label or span name with few values: an event's without its region path
    (`yiwang.evt.cases.CASE_REPORTED`), a reply's inbox as `_INBOX`; verbs and dead letters as
    they are (one per verb or consumer)."""
    parts = subject.split(".")
    if parts[0] == "_INBOX":
        return "_INBOX"
    if parts[:2] == ["yiwang", "evt"]:
        return ".".join(parts[:4])
    return subject
