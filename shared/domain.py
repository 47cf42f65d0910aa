"""Small pieces every service's pure domain uses: text checks, the event base, region rollup deltas.

A rollup of a region is the sum of what each record in its subtree contributes
(`counters_of(record)`); a command's delta is counters(after) − counters(before), added to
every region on the record's path. These helpers hold that arithmetic once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import BadInput
from shared.vocabulary.cases import AttachmentKind, AttachmentStage

R = TypeVar("R")


def text(value: str | None, what: str, limit: int, required: bool = True) -> str:
    """Trimmed text, required unless told otherwise, at most `limit` characters."""
    v = (value or "").strip()
    if required and not v:
        raise BadInput(f"{what} is required", {"field": what})
    if len(v) > limit:
        raise BadInput(f"{what} is longer than {limit} characters", {"field": what})
    return v


def ratio(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


class DomainEvent(BaseModel):
    """What happened to one record, in the past tense; the base of every service's events.

    A service's event class names the record it is about (`record_kind`, `record_id`, read
    from its own fields: organizations' `aggregate`/`aggregate_id`, volunteers'
    `subject_kind`/`subject_id`, a case's `case_id`) and, where `type` is a field, the types
    it knows (`known_types`, checked on construction). Events of one command share `version`.
    The base adds no field, so each service's wire format is its own fields, unchanged."""

    model_config = ConfigDict(frozen=True)

    service_name: ClassVar[str] = ""
    known_types: ClassVar[Collection[str]] = ()
    subject_prefix: ClassVar[str] = ""

    if TYPE_CHECKING:
        version: int
        region_path: tuple[str, ...]

    def model_post_init(self, _: Any) -> None:
        if self.known_types and self._type not in self.known_types:
            raise BadInput(f"unknown {self.service_name} event type {self._type!r}")

    @property
    def _type(self) -> str:
        return str(getattr(self, "type"))  # noqa: B009 (a field in some services, a class constant in others)

    @property
    def record_kind(self) -> str:
        raise NotImplementedError

    @property
    def record_id(self) -> str:
        raise NotImplementedError

    @property
    def event_id(self) -> str:
        """Stable and unique per event: the outbox id and `Nats-Msg-Id`."""
        return f"{self.record_kind}:{self.record_id}:{self.version}:{self._type}"

    @property
    def subject(self) -> str:
        """`<subject_prefix>.<TYPE>.<region path…>`."""
        return ".".join((self.subject_prefix, self._type, *self.region_path))

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Self:
        return cls.model_validate(data)


@dataclass(frozen=True)
class RollupDelta:
    """The same counter increments for every region on `region_path`; non-zero ones only.

    A service's subclass names what one of its records contributes (`counters`) and what its
    records are called (`what`); `between` and `recount` are then the service's."""

    region_path: tuple[str, ...]
    changes: dict[str, int]
    what: ClassVar[str] = "record"

    @classmethod
    def counters(cls, record: Any) -> Mapping[str, int]:
        """What `record` contributes to every region on its path (every key present)."""
        raise NotImplementedError(f"{cls.__name__} names what a record contributes")

    @classmethod
    def of(cls, region_path: Sequence[str], before: Mapping[str, int] | None, after: Mapping[str, int]) -> Self:
        before = before or {}
        keys = sorted(set(before) | set(after))
        changes = {k: after.get(k, 0) - before.get(k, 0) for k in keys}
        return cls(tuple(region_path), {k: v for k, v in changes.items() if v})

    @classmethod
    def between(cls, before: Any | None, after: Any) -> Self:
        """The delta of one command: `before` is the record as loaded (None for a new one), on
        the same path as `after` (a record that moved has two deltas: `deltas`)."""
        if before is not None and tuple(before.region_path) != tuple(after.region_path):
            raise ValueError(f"a {cls.what} moved between regions: its command has two deltas (`deltas`)")
        old = cls.counters(before) if before is not None else None
        return cls.of(after.region_path, old, cls.counters(after))

    @classmethod
    def deltas(cls, before: Any | None, after: Any) -> list[Self]:
        """The deltas of one command, also for a record it moved to another place (a corrected
        case): the old path loses all `before` contributed, the new path gains all `after` does
        (regions on both paths net out when the deltas are applied together)."""
        if before is None or tuple(before.region_path) == tuple(after.region_path):
            return [cls.between(before, after)]
        return [
            cls.of(before.region_path, cls.counters(before), {}),
            cls.of(after.region_path, None, cls.counters(after)),
        ]

    @classmethod
    def recount(cls, records: Iterable[Any]) -> dict[str, dict[str, int]]:
        """Rollups computed from scratch: region id -> non-zero counters."""
        return recount(records, lambda r: r.region_path, cls.counters)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def apply_to(self, rollups: dict[str, dict[str, int]]) -> None:
        """Add to in-memory rollups (region id -> counters), dropping counters that reach 0."""
        for region in self.region_path:
            counters = rollups.setdefault(region, {})
            for k, v in self.changes.items():
                counters[k] = counters.get(k, 0) + v
                if counters[k] == 0:
                    del counters[k]
            if not counters:
                del rollups[region]


def recount(
    records: Iterable[R], path_of: Callable[[R], Sequence[str]], counters_of: Callable[[R], Mapping[str, int]]
) -> dict[str, dict[str, int]]:
    """Rollups computed from scratch: region id -> non-zero counters."""
    out: dict[str, dict[str, int]] = {}
    for record in records:
        RollupDelta.of(path_of(record), None, counters_of(record)).apply_to(out)
    return out


# ---- evidence: the value every record with attachments keeps ----------------------------------
class GeoPoint(BaseModel):
    """A place, in degrees (WGS-84 / GCJ-02 as the deployment's maps use)."""

    model_config = ConfigDict(frozen=True)

    lng: float = Field(ge=-180, le=180, description="Longitude (经度), degrees")
    lat: float = Field(ge=-90, le=90, description="Latitude (纬度), degrees")


class Attachment(BaseModel):
    """A file kept with a record (a case, a service order, an activity, a joint meeting): what
    the API shows of it; its bytes are in the blob store under `blob_key` (and a photo's
    thumbnail under `thumbnail_key`). `location` is only what the uploader gave explicitly:
    EXIF is stripped from a stored image."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    kind: AttachmentKind
    content_type: str
    size: int = Field(ge=0)
    sha256: str
    stage: AttachmentStage | None = None
    captured_at: datetime | None = None
    location: GeoPoint | None = None
    blob_key: str
    thumbnail_key: str | None = None
    uploaded_by: str | None = None
    created_at: datetime
