"""Organisational life: 三会一课 and 主题党日 records with attendance."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.auth import Principal
from shared.errors import BadInput

from .enums import Action, LifeKind, OrgType
from .organization import Organization
from .policy import authorize
from .values import TEXT_MAX, text


class LifeRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    org_id: str
    org_path: tuple[str, ...]
    kind: LifeKind
    held_at: datetime
    topic: str
    attendance: tuple[str, ...]  # member ids
    minutes: str = ""


def record_life(
    org: Organization,
    *,
    id: str,
    kind: LifeKind,
    held_at: datetime,
    topic: str,
    attendance: Iterable[str],
    by: Principal,
    now: datetime,
    minutes: str = "",
) -> LifeRecord:
    """Record a meeting held (not in the future) by `org`; it clears the weak flag."""
    authorize(by, Action.RECORD_LIFE, org)
    if org.type is OrgType.CENTER_HOUSEHOLD:
        raise BadInput("a CENTER_HOUSEHOLD holds no organisational life of its own")
    if held_at > now:
        raise BadInput("organisational life is recorded after it was held", {"heldAt": held_at.isoformat()})
    present = tuple(dict.fromkeys(a for a in attendance if a))
    record = LifeRecord(
        id=id,
        org_id=org.id,
        org_path=org.anchor_path,
        kind=kind,
        held_at=held_at,
        topic=text(topic, "topic", 200),
        attendance=present,
        minutes=text(minutes, "minutes", TEXT_MAX, required=False),
    )
    org._change(now)
    org._emit(
        "LIFE_RECORDED", by, now, recordId=id, kind=str(kind), heldAt=held_at.isoformat(), attendance=len(present)
    )
    org.note_life(held_at, now)
    return record
