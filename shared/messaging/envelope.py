"""CloudEvents 1.0 envelope (structured JSON mode of the NATS protocol binding)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.ids import new_id
from shared.messaging.bus import bus_data


class CloudEvent(BaseModel):
    specversion: str = Field("1.0", description="CloudEvents version, `1.0`")
    id: str = Field(
        default_factory=lambda: new_id("e"),
        description="The event's id, unique per source; a consumer de-duplicates on it",
    )
    source: str = Field(description="The publishing service, `/yiwang/<service>`")
    type: str = Field(description="`yiwang.<service>.<EVENT>.v<schema version>`")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC), description="When it happened (RFC 3339)")
    subject: str = Field(description="The id of the record (aggregate) the event is about")
    datacontenttype: str = Field("application/json", description="The media type of `data`: `application/json`")
    data: dict[str, Any] = Field(description="The event's own fields")
    # Extension attributes (CloudEvents allows lowercase alphanumeric names).
    regionpath: str = Field(
        "",
        description="The record's region ids from the city down, dot-joined (the subject's tail); "
        "empty outside the territory",
    )
    actor: str | None = Field(None, description="The principal `sub` of who caused it; null for the system")
    aggversion: int | None = Field(
        None, description="The record's version after the command (events of one command share it)"
    )

    @property
    def service(self) -> str:
        return self.source.rsplit("/", 1)[-1]

    @property
    def event(self) -> str:
        return self.type.split(".")[2]

    @property
    def path(self) -> list[str]:
        return self.regionpath.split(".") if self.regionpath else []


def make_event(
    service: str,
    event: str,
    subject: str,
    data: dict[str, Any],
    *,
    path: list[str],
    actor: str | None = None,
    version: int | None = None,
    schema_version: int = 1,
    at: datetime | None = None,
    id: str | None = None,
) -> CloudEvent:
    """The envelope of one event, its data as the bus may carry it (`bus.bus_data`); `actor` is
    the staff or service sub that acted, or the role of a resident (`auth.public_actor`)."""
    return CloudEvent(
        **({"id": id} if id else {}),
        source=f"/yiwang/{service}",
        type=f"yiwang.{service}.{event}.v{schema_version}",
        subject=subject,
        data=bus_data(data),
        regionpath=".".join(path),
        actor=actor,
        aggversion=version,
        **({"time": at} if at else {}),
    )
