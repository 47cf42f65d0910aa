"""A community's service catalogue (五项服务: 关爱、公共、政务、市场、社会服务): what is offered, by
whom (a unit, a volunteer team, a department) and how residents order it. Staff of the community
keep it; residents read it."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.auth import Principal
from shared.errors import BadInput, Conflict
from shared.vocabulary.resources import ServiceListKind, ServiceProviderKind

from .enums import Action
from .events import Aggregate
from .policy import authorize
from .values import TEXT_MAX, Node, text

MAX_ENTRIES_READ = 500  # a community's catalogue is read in one bounded query


class Provider(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ServiceProviderKind
    id: str
    name: str

    @classmethod
    def of(cls, kind: ServiceProviderKind, id: str, name: str) -> Provider:
        return cls(kind=kind, id=text(id, "provider id", 100), name=text(name, "provider name", 100))


class HowToOrder(BaseModel):
    """How a resident orders the service: the channel (a desk, a hotline, the mini program…),
    a public contact of the service (not a person's phone) and opening hours."""

    model_config = ConfigDict(frozen=True)

    channel: str
    contact: str = ""
    hours: str = ""

    @classmethod
    def of(cls, channel: str, contact: str, hours: str) -> HowToOrder:
        return cls(
            channel=text(channel, "channel", 100),
            contact=text(contact, "contact", 100, False),
            hours=text(hours, "hours", 100, False),
        )


class ServiceListEntry(Aggregate):
    aggregate_name: ClassVar[str] = "service_entry"

    community_id: str
    community_path: tuple[str, ...]
    kind: ServiceListKind
    title: str
    description: str = ""
    provider: Provider
    how_to_order: HowToOrder
    active: bool = True
    retired_reason: str = ""

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def add(
        cls,
        *,
        id: str,
        community: Node,
        kind: ServiceListKind,
        title: str,
        description: str,
        provider: Provider,
        how_to_order: HowToOrder,
        by: Principal,
        now: datetime,
    ) -> ServiceListEntry:
        if community.level != "COMMUNITY":
            raise BadInput(f"a service catalogue belongs to a COMMUNITY, not a {community.level}", {"id": community.id})
        entry = cls(
            id=id,
            community_id=community.id,
            community_path=community.path,
            kind=kind,
            title=text(title, "title", 200),
            description=text(description, "description", TEXT_MAX, False),
            provider=provider,
            how_to_order=how_to_order,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_CATALOGUE, entry)
        entry._emit("SERVICE_LIST_ENTRY_ADDED", by, now, **entry._public())
        return entry

    def _public(self) -> dict:
        """What the bus carries of an entry (the contact stays off it)."""
        return {
            "communityId": self.community_id,
            "kind": str(self.kind),
            "title": self.title,
            "providerKind": str(self.provider.kind),
            "providerId": self.provider.id,
        }

    def update(
        self,
        *,
        kind: ServiceListKind | None,
        title: str | None,
        description: str | None,
        provider: Provider | None,
        how_to_order: HowToOrder | None,
        by: Principal,
        now: datetime,
    ) -> None:
        authorize(by, Action.MANAGE_CATALOGUE, self)
        if not self.active:
            raise Conflict(f"service {self.id} is retired", {"id": self.id})
        new = {
            "kind": kind if kind is not None else self.kind,
            "title": text(title, "title", 200) if title is not None else self.title,
            "description": text(description, "description", TEXT_MAX, False)
            if description is not None
            else self.description,
            "provider": provider or self.provider,
            "how_to_order": how_to_order or self.how_to_order,
        }
        changed = sorted(k for k, v in new.items() if v != getattr(self, k))
        if not changed:
            return
        self._change(now)
        for k, v in new.items():
            setattr(self, k, v)
        self._emit("SERVICE_LIST_ENTRY_UPDATED", by, now, **self._public(), changed=changed)

    def retire(self, reason: str, by: Principal, now: datetime) -> None:
        authorize(by, Action.MANAGE_CATALOGUE, self)
        if not self.active:
            return  # a retry
        self._change(now)
        self.active, self.retired_reason = False, text(reason, "reason", 500)
        self._emit("SERVICE_LIST_ENTRY_RETIRED", by, now, communityId=self.community_id, kind=str(self.kind))
