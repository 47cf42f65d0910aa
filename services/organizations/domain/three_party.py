"""三方联动 meetings of an estate: the residents' committee (居委会), the property company (物业)
and the owners' committee (业委会) meet with minutes and items; an item becomes a case (the path
joint meetings' action items take: channel JOINT_MEETING, one idempotency key per item) or is
put forward as a proposal (一征三议: recorded as a request for the deliberation workflow)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.errors import BadInput, Conflict, NotFound
from shared.vocabulary.committees import MeetingSide, OwnersCommitteeStatus

from .committees import OwnersCommittee, ResidentsCommittee
from .enums import Action, UnitKind
from .events import Aggregate
from .meetings import CASE_CHANNEL, set_item_case
from .policy import SYSTEM, authorize
from .units import Unit
from .values import NAME_MAX, TEXT_MAX, Node, text

REQUIRED_SIDES = (MeetingSide.RESIDENTS_COMMITTEE, MeetingSide.PROPERTY_COMPANY, MeetingSide.OWNERS_COMMITTEE)
MAX_ITEMS, MAX_ATTENDEES = 30, 100


def case_key(meeting_id: str, item_id: str) -> str:
    return f"three-party:{meeting_id}:{item_id}"


class Attendee(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    side: MeetingSide


class CaseAsk(BaseModel):
    """What an item asks of `cases`: a category and a grid of the community."""

    category_code: str
    grid: Node
    description: str = ""
    building: Node | None = None  # one of the estate's buildings, in the grid: counts as the estate's dispute


class NewItem(BaseModel):
    title: str
    case: CaseAsk | None = None
    proposal: bool = False


class ThreePartyItem(BaseModel):
    id: str
    title: str
    case_request: dict[str, str] | None = None
    case_id: str | None = None
    case_status: str | None = None
    proposal_requested: bool = False
    proposal_ref: str | None = None  # the proposal, once the deliberation workflow takes it up

    @property
    def awaits_case(self) -> bool:
        return self.case_request is not None and self.case_id is None


class ThreePartyMeeting(Aggregate):
    aggregate_name: ClassVar[str] = "three_party_meeting"

    community_id: str
    community_path: tuple[str, ...]
    estate: str
    owners_committee_id: str
    residents_committee_id: str
    property_company_id: str
    held_at: datetime
    attendees: list[Attendee] = Field(default_factory=list)
    minutes: str
    items: list[ThreePartyItem] = Field(default_factory=list)

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def record(
        cls,
        *,
        id: str,
        owners_committee: OwnersCommittee,
        residents_committee: ResidentsCommittee,
        property_company: Unit,
        held_at: datetime,
        attendees: Iterable[tuple[str, MeetingSide]],
        minutes: str,
        items: Sequence[NewItem],
        by: Principal,
        now: datetime,
    ) -> ThreePartyMeeting:
        """All three sides attend; the 业委会 is not past its term; the 居委会 is the community's;
        each item becomes a case (in a grid of the community) or a proposal, or neither."""
        oc = owners_committee
        if oc.status is OwnersCommitteeStatus.TERM_ENDED:
            raise Conflict(f"owners' committee {oc.id} has ended its term")
        if residents_committee.community_id != oc.community_id:
            raise BadInput("the residents' committee is another community's", {"communityId": oc.community_id})
        if property_company.kind is not UnitKind.PROPERTY_COMPANY:
            raise BadInput(
                f"unit {property_company.id} is a {property_company.kind}, not a PROPERTY_COMPANY",
                {"unitId": property_company.id},
            )
        if held_at > now:
            raise BadInput("a meeting is recorded once held", {"heldAt": held_at.isoformat()})
        present = [Attendee(name=text(n, "attendee", NAME_MAX), side=s) for n, s in attendees]
        if len(present) > MAX_ATTENDEES:
            raise BadInput(f"at most {MAX_ATTENDEES} attendees")
        absent = [str(s) for s in REQUIRED_SIDES if all(a.side is not s for a in present)]
        if absent:
            raise BadInput("三方联动: the 居委会, the 物业 and the 业委会 each attend", {"absentSides": absent})
        if len(items) > MAX_ITEMS:
            raise BadInput(f"at most {MAX_ITEMS} items")
        m = cls(
            id=id,
            community_id=oc.community_id,
            community_path=oc.community_path,
            estate=oc.estate,
            owners_committee_id=oc.id,
            residents_committee_id=residents_committee.id,
            property_company_id=property_company.id,
            held_at=held_at,
            attendees=present,
            minutes=text(minutes, "minutes", TEXT_MAX),
            updated_at=now,
        )
        authorize(by, Action.RECORD_THREE_PARTY, m)
        built = [m._item(str(i), it, oc.building_ids) for i, it in enumerate(items, 1)]
        m.items = built
        m._emit(
            "THREE_PARTY_MEETING_RECORDED",
            by,
            now,
            communityId=m.community_id,
            estate=m.estate,
            ownersCommitteeId=oc.id,
            residentsCommitteeId=residents_committee.id,
            propertyCompanyId=property_company.id,
            heldAt=held_at.isoformat(),
            attendees=len(present),
            items=len(built),
        )
        for it in built:
            if it.case_request is not None:
                m._emit("THREE_PARTY_CASE_REQUESTED", by, now, itemId=it.id, **it.case_request)
            if it.proposal_requested:
                m._emit(
                    "THREE_PARTY_PROPOSAL_REQUESTED", by, now, itemId=it.id, title=it.title, communityId=m.community_id
                )
        return m

    def _item(self, item_id: str, new: NewItem, estate_buildings: Sequence[str] = ()) -> ThreePartyItem:
        title = text(new.title, "title", 200)
        if new.case is not None and new.proposal:
            raise BadInput("an item becomes a case or a proposal, not both", {"itemId": item_id})
        request = None
        if new.case is not None:
            grid = new.case.grid
            if grid.level != "GRID" or self.community_id not in grid.path:
                raise BadInput(
                    f"{grid.name or grid.id} is not a grid of community {self.community_id}", {"gridId": grid.id}
                )
            request = {
                "title": title,
                "description": text(new.case.description, "description", TEXT_MAX, required=False),
                "categoryCode": text(new.case.category_code, "categoryCode", 64),
                "regionId": grid.id,
                "channel": CASE_CHANNEL,
                "idempotencyKey": case_key(self.id, item_id),
            }
            if (building := new.case.building) is not None:
                if building.level != "BUILDING" or grid.id not in building.path or building.id not in estate_buildings:
                    raise BadInput(
                        f"{building.name or building.id} is not a building of the estate {self.estate} in "
                        f"{grid.name or grid.id}",
                        {"buildingId": building.id},
                    )
                request["buildingId"] = building.id
        return ThreePartyItem(id=item_id, title=title, case_request=request, proposal_requested=new.proposal)

    def item(self, item_id: str) -> ThreePartyItem:
        for it in self.items:
            if it.id == item_id:
                return it
        raise NotFound(f"three-party meeting {self.id} has no item {item_id}")

    def link_case(self, item_id: str, case_id: str, now: datetime, status: str = "REPORTED") -> bool:
        """The case `cases` created for an item; a repeat with the same id changes nothing."""
        if not set_item_case(self.item(item_id), f"item {item_id}", case_id, status):
            return False
        self._change(now)
        self._emit("THREE_PARTY_CASE_LINKED", SYSTEM, now, itemId=item_id, caseId=case_id, status=status)
        return True

    def case_report(self, item_id: str, reporter: str) -> dict[str, str]:
        """What `cases` is sent (`case.report`) for an item: its recorded request, reported by the
        community's 三方联动 of the estate, the idempotency key as its source."""
        it = self.item(item_id)
        if it.case_request is None:
            raise Conflict(f"item {item_id} has no case request")
        return {**it.case_request, "reporterName": reporter, "source": it.case_request["idempotencyKey"]}
