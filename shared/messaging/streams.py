"""JetStream streams, declared in code: one per service, plus the dead-letter stream."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from shared.messaging.subjects import DLQ, stream_subjects

SERVICES = ("grids", "cases", "organizations", "volunteers")
# notifications: its stream carries NOTIFICATION_ADDED (and webhook audit events), not domain events
STREAMS = (*SERVICES, "notifications")


def stream_name(service: str) -> str:
    return f"YIWANG_{service.upper()}"


def stream_config(service: str, duplicate_window_s: float, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=stream_name(service),
        description=f"Events of the {service} service",
        subjects=stream_subjects(service),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        # Territory events are few and every replica is built from them: keep them all.
        max_age=0 if service == "grids" else 365 * 86400,
        duplicate_window=duplicate_window_s,
        num_replicas=replicas,
    )


def dlq_config(replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name="YIWANG_DLQ",
        description="Messages a consumer gave up on, with the error",
        subjects=[f"{DLQ}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=30 * 86400,
        num_replicas=replicas,
    )


MANAGED = ("subjects", "retention", "storage", "discard", "max_age", "duplicate_window", "num_replicas")


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or update it only when a managed setting differs: an update while
    others publish makes the server answer some publishes empty."""
    if not config.name:
        raise ValueError("a stream is declared by its name")
    try:
        info = await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(config)
        except BadRequestError:
            pass  # another service created it a moment ago
        return
    current = info.config
    if any(getattr(current, f) != getattr(config, f) for f in MANAGED):
        await js.update_stream(config)


async def ensure_streams(
    js: JetStreamContext, duplicate_window_s: float, replicas: int = 1, services: tuple[str, ...] = STREAMS
) -> None:
    """Every service declares every stream it reads or writes, so start-up order never matters."""
    for s in services:
        await ensure_stream(js, stream_config(s, duplicate_window_s, replicas))
    await ensure_stream(js, dlq_config(replicas))
