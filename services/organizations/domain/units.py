"""Co-building units (驻区单位 / 共建单位) and the three-party linkage (三方联动) per estate."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from shared.auth import Principal
from shared.errors import BadInput

from .enums import Action, OrgType, UnitKind
from .events import Aggregate
from .organization import Organization
from .policy import authorize
from .values import Contact, Node, text

if TYPE_CHECKING:  # committees: the estate's owners' committee record (domain/committees.py imports this module)
    from .committees import OwnersCommittee as OwnersCommitteeRecord


class Unit(Aggregate):
    aggregate_name: ClassVar[str] = "unit"

    name: str
    kind: UnitKind
    region_path: tuple[str, ...]  # the territory node the unit sits in
    contacts: list[Contact] = Field(default_factory=list)

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.region_path

    @classmethod
    def register(
        cls,
        *,
        id: str,
        name: str,
        kind: UnitKind,
        region: Node,
        contacts: Iterable[Contact],
        by: Principal,
        now: datetime,
    ) -> Unit:
        unit = cls(
            id=id,
            name=text(name, "name", 100),
            kind=kind,
            region_path=region.path,
            contacts=list(contacts),
            updated_at=now,
        )
        authorize(by, Action.MANAGE_UNIT, unit)
        unit._emit("UNIT_REGISTERED", by, now, name=unit.name, kind=str(kind))
        return unit

    def set_contacts(self, contacts: Iterable[Contact], by: Principal, now: datetime) -> None:
        authorize(by, Action.MANAGE_UNIT, self)
        new = list(contacts)
        if new == self.contacts:
            return
        self._change(now)
        self.contacts = new
        self._emit("UNIT_UPDATED", by, now, contacts=len(new))


def committee_area(org: Organization) -> str:
    """Where a 大党委's member units come from (驻区单位): the street or township above its
    community (the anchor itself when nothing is above it)."""
    return org.anchor_path[-2] if len(org.anchor_path) > 1 else org.anchor_id


def join_committee(org: Organization, unit: Unit, by: Principal, now: datetime) -> None:
    """A unit joins the 大党委 of `org`: only a unit of the committee's area
    (`committee_area`), then the organisation's own rules (`Organization.add_unit`)."""
    if committee_area(org) not in unit.region_path:
        raise BadInput(
            f"unit {unit.name} is not in the area of {org.name}", {"unitId": unit.id, "regionId": unit.region_path[-1]}
        )
    org.add_unit(unit.id, by, now)


class Linkage(Aggregate):
    """三方联动 of one estate: the residents' committee side (led by the community's party
    committee), a property company and an owners' committee."""

    aggregate_name: ClassVar[str] = "linkage"

    estate: str
    committee_id: str
    community_path: tuple[str, ...]
    property_company_id: str
    owners_committee_id: str
    # committees: the estate's owners' committee record (红色业委会: filed, vetted, elected), when it has one
    owners_committee_record_id: str | None = None

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def record(
        cls,
        *,
        id: str,
        estate: str,
        committee: Organization,
        property_company: Unit,
        owners_committee: Unit,
        by: Principal,
        now: datetime,
        owners_committee_record: OwnersCommitteeRecord | None = None,
    ) -> Linkage:
        if committee.type is not OrgType.COMMUNITY_COMMITTEE:
            raise BadInput("the residents' committee side is a COMMUNITY_COMMITTEE")
        for unit, kind in (
            (property_company, UnitKind.PROPERTY_COMPANY),
            (owners_committee, UnitKind.OWNERS_COMMITTEE),
        ):
            if unit.kind is not kind:
                raise BadInput(f"unit {unit.id} is a {unit.kind}, not a {kind}", {"unitId": unit.id})
        link = cls(
            id=id,
            estate=text(estate, "estate", 100),
            committee_id=committee.id,
            community_path=committee.anchor_path,
            property_company_id=property_company.id,
            owners_committee_id=owners_committee.id,
            updated_at=now,
        )
        if owners_committee_record is not None:  # committees: the same estate of the same community
            rec = owners_committee_record
            if rec.community_id != committee.anchor_id or rec.estate != link.estate:
                raise BadInput(
                    f"owners' committee {rec.id} is of {rec.estate} in {rec.community_id}, not of this estate",
                    {"ownersCommitteeRecordId": rec.id},
                )
            link.owners_committee_record_id = rec.id
        authorize(by, Action.MANAGE_UNIT, link)
        link._emit(
            "LINKAGE_RECORDED",
            by,
            now,
            estate=link.estate,
            committeeId=committee.id,
            propertyCompanyId=property_company.id,
            ownersCommitteeId=owners_committee.id,
            **({"ownersCommitteeRecordId": link.owners_committee_record_id} if link.owners_committee_record_id else {}),
        )
        return link
