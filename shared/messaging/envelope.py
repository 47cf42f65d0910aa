"""CloudEvents 1.0 envelope (structured JSON mode of the NATS protocol binding)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.ids import new_id
from shared.messaging.bus import bus_data


class CloudEvent(BaseModel):
    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: new_id("e"))
    source: str  # /yiwang/<service>
    type: str  # yiwang.<service>.<EVENT>.v<version>
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str  # id of the aggregate the event is about
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    # Extension attributes (CloudEvents allows lowercase alphanumeric names).
    regionpath: str = ""  # dot-joined region ids, top-down
    actor: str | None = None
    aggversion: int | None = None

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
