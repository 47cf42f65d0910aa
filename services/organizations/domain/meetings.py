"""党建联席会议: joint meetings of a 大党委 with a rotating chair (轮值主席制), agenda, minutes,
attendance and resolutions whose action items become cases (channel JOINT_MEETING)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.domain import Attachment
from shared.errors import BadInput, Conflict, NotFound

from .enums import Action, AgendaSource, OrgType
from .events import Aggregate
from .organization import Organization
from .policy import SYSTEM, authorize
from .values import TEXT_MAX, Node, text

CASE_CHANNEL = "JOINT_MEETING"


class ChairPick(BaseModel):
    model_config = ConfigDict(frozen=True)

    chair: str
    skipped: tuple[str, ...]  # units passed over because unavailable, in order


def next_chair(order: Sequence[str], history: Sequence[str], skipped: Collection[str] = ()) -> ChairPick:
    """The unit after the last chair (of `history`, still in `order`) in the stored order,
    wrapping around, passing over unavailable units (`skipped`). With no history the first
    available unit chairs. BadInput when no unit is available."""
    if not order:
        raise BadInput("the 大党委 has no member units to chair")
    last = next((u for u in reversed(history) if u in order), None)
    start = order.index(last) + 1 if last is not None else 0
    passed: list[str] = []
    for i in range(len(order)):
        unit = order[(start + i) % len(order)]
        if unit not in skipped:
            return ChairPick(chair=unit, skipped=tuple(passed))
        passed.append(unit)
    raise BadInput("every member unit is unavailable to chair", {"skipped": sorted(skipped)})


def idempotency_key(meeting_id: str, item_id: str) -> str:
    return f"meeting:{meeting_id}:{item_id}"


class AgendaItem(BaseModel):
    id: str
    source: AgendaSource
    ref: str  # unit id, resident reference or case hotspot id
    title: str
    case_ids: list[str] = Field(default_factory=list)  # a CASE_HOTSPOT's cases, newest first
    hotspot: dict[str, Any] | None = None  # gridId, categoryCode, since, until, count


MAX_HOTSPOT_CASES = 200


def hotspot_ref(grid_id: str, category_code: str, since: datetime) -> str:
    """The id of a hotspot on an agenda: the same cluster raised twice is one item."""
    return f"{grid_id}:{category_code}:{since.date().isoformat()}"


class ActionItem(BaseModel):
    id: str
    title: str
    case_request: dict[str, str] | None = None
    case_id: str | None = None
    case_status: str | None = None

    @property
    def awaits_case(self) -> bool:
        """Requested as a case that is not linked yet (the service still has to report it)."""
        return self.case_request is not None and self.case_id is None


class Resolution(BaseModel):
    id: str
    text: str
    items: list[ActionItem]
    agenda_items: list[str] = Field(default_factory=list)  # the agenda items it settles
    case_ids: list[str] = Field(default_factory=list)  # their cases: the link back


class JointMeeting(Aggregate):
    aggregate_name: ClassVar[str] = "meeting"

    committee_id: str
    community_id: str
    community_path: tuple[str, ...]
    scheduled_at: datetime
    units: list[str]  # member units when scheduled, in rotation order
    chair_unit_id: str
    skipped_units: list[str] = Field(default_factory=list)
    agenda: list[AgendaItem] = Field(default_factory=list)
    held_at: datetime | None = None
    minutes: str = ""
    attended_units: list[str] = Field(default_factory=list)
    attended_members: list[str] = Field(default_factory=list)
    resolutions: list[Resolution] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)  # evidence, in upload order

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def schedule(
        cls,
        *,
        id: str,
        committee: Organization,
        scheduled_at: datetime,
        chair_history: Sequence[str],
        unavailable: Collection[str],
        by: Principal,
        now: datetime,
    ) -> JointMeeting:
        if committee.type is not OrgType.COMMUNITY_COMMITTEE:
            raise BadInput("joint meetings are held by a COMMUNITY_COMMITTEE (大党委)")
        authorize(by, Action.MANAGE_MEETING, committee)
        pick = next_chair(committee.unit_ids, chair_history, unavailable)
        m = cls(
            id=id,
            committee_id=committee.id,
            community_id=committee.anchor_id,
            community_path=committee.anchor_path,
            scheduled_at=scheduled_at,
            units=list(committee.unit_ids),
            chair_unit_id=pick.chair,
            skipped_units=list(pick.skipped),
            updated_at=now,
        )
        m._emit(
            "MEETING_SCHEDULED",
            by,
            now,
            committeeId=committee.id,
            scheduledAt=scheduled_at.isoformat(),
            chairUnitId=pick.chair,
            skippedUnits=pick.skipped,
        )
        return m

    def add_agenda_item(self, source: AgendaSource, ref: str, title: str, by: Principal, now: datetime) -> AgendaItem:
        authorize(by, Action.RECORD_MEETING, self)
        ref = text(ref, "ref", 100)
        if source is AgendaSource.UNIT and ref not in self.units:
            raise BadInput(f"unit {ref} is not on this 大党委", {"ref": ref})
        item = AgendaItem(id=str(len(self.agenda) + 1), source=source, ref=ref, title=text(title, "title", 200))
        self._change(now)
        self.agenda.append(item)
        self._emit("AGENDA_ITEM_ADDED", by, now, **item.model_dump(mode="json"))
        return item

    def raise_hotspot(
        self,
        *,
        grid_id: str,
        grid_path: Sequence[str],
        category_code: str,
        category_name: str,
        grid_name: str,
        since: datetime,
        until: datetime,
        case_ids: Sequence[str],
        count: int,
        by: Principal,
        now: datetime,
    ) -> AgendaItem:
        """Put a case hotspot (grid × category cluster) on the agenda, with its cases, so the
        meeting deliberates it (议事); raising the same cluster again changes nothing."""
        authorize(by, Action.RECORD_MEETING, self)
        if self.held_at is not None:
            raise Conflict(f"meeting {self.id} was already held; raise the hotspot at the next one")
        if self.community_id not in grid_path:
            raise BadInput(f"grid {grid_name} is not in this meeting's community", {"gridId": grid_id})
        if not case_ids:
            raise BadInput(
                "that hotspot has no cases in the window", {"gridId": grid_id, "categoryCode": category_code}
            )
        ref = hotspot_ref(grid_id, category_code, since)
        for item in self.agenda:
            if item.source is AgendaSource.CASE_HOTSPOT and item.ref == ref:
                return item
        item = AgendaItem(
            id=str(len(self.agenda) + 1),
            source=AgendaSource.CASE_HOTSPOT,
            ref=ref,
            title=text(f"热点：{grid_name}·{category_name}（{count}件）", "title", 200),
            case_ids=list(case_ids)[:MAX_HOTSPOT_CASES],
            hotspot={
                "gridId": grid_id,
                "categoryCode": category_code,
                "since": since.isoformat(),
                "until": until.isoformat(),
                "count": count,
            },
        )
        self._change(now)
        self.agenda.append(item)
        self._emit(
            "AGENDA_ITEM_ADDED",
            by,
            now,
            id=item.id,
            source=str(item.source),
            ref=ref,
            title=item.title,
            caseIds=item.case_ids,
            hotspot=item.hotspot,
        )
        return item

    def record_minutes(
        self, minutes: str, units: Iterable[str], members: Iterable[str], by: Principal, now: datetime
    ) -> None:
        """Minutes and attendance, once the meeting has taken place."""
        authorize(by, Action.RECORD_MEETING, self)
        if now < self.scheduled_at:
            raise BadInput("minutes are recorded after the meeting")
        present = list(dict.fromkeys(units))
        strangers = [u for u in present if u not in self.units]
        if strangers:
            raise BadInput("attending units must be on the 大党委", {"units": strangers})
        self._change(now)
        self.minutes = text(minutes, "minutes", TEXT_MAX)
        self.held_at = self.held_at or now
        self.attended_units = present
        self.attended_members = list(dict.fromkeys(m for m in members if m))
        self._emit("MEETING_HELD", by, now, units=self.attended_units, members=len(self.attended_members))

    def add_resolution(
        self, text_: str, action_items: Sequence[str], by: Principal, now: datetime, agenda_items: Sequence[str] = ()
    ) -> Resolution:
        """A decision; naming the agenda items it settles links it to their cases (a raised
        hotspot's), and the event carries them so `cases` can note it on each case."""
        authorize(by, Action.MANAGE_MEETING, self)
        if self.held_at is None:
            raise Conflict(f"meeting {self.id} has no minutes yet; resolutions come after")
        known = {a.id: a for a in self.agenda}
        settled = list(dict.fromkeys(agenda_items))
        unknown = [a for a in settled if a not in known]
        if unknown:
            raise BadInput(f"meeting {self.id} has no agenda item {', '.join(unknown)}", {"agendaItemIds": unknown})
        case_ids = list(dict.fromkeys(c for a in settled for c in known[a].case_ids))
        rid = f"r{len(self.resolutions) + 1}"
        res = Resolution(
            id=rid,
            text=text(text_, "resolution", TEXT_MAX),
            items=[
                ActionItem(id=f"{rid}-{i}", title=text(t, "actionItem", 200)) for i, t in enumerate(action_items, 1)
            ],
            agenda_items=settled,
            case_ids=case_ids,
        )
        self._change(now)
        self.resolutions.append(res)
        self._emit(
            "RESOLUTION_ADDED",
            by,
            now,
            resolutionId=rid,
            text=res.text,
            items=[i.id for i in res.items],
            agendaItemIds=settled,
            caseIds=case_ids,
            communityId=self.community_id,
        )
        return res

    def item(self, item_id: str) -> ActionItem:
        for res in self.resolutions:
            for it in res.items:
                if it.id == item_id:
                    return it
        raise NotFound(f"meeting {self.id} has no action item {item_id}")

    def request_case(
        self,
        item_id: str,
        category_code: str,
        description: str,
        by: Principal,
        now: datetime,
        grid_id: str | None = None,
    ) -> dict[str, str]:
        """Record what the service sends to `cases` (channel JOINT_MEETING, idempotency key
        `meeting:<id>:<item>`) to turn the action item into a case of the community: in
        `grid_id` (a grid of the community, checked by the service) when given."""
        authorize(by, Action.MANAGE_MEETING, self)
        it = self.item(item_id)
        if it.case_request is not None:
            raise Conflict(f"action item {item_id} already became a case request", {"caseId": it.case_id})
        request = {
            "title": it.title,
            "description": text(description, "description", TEXT_MAX, required=False),
            "categoryCode": text(category_code, "categoryCode", 64),
            "regionId": grid_id or self.community_id,
            "channel": CASE_CHANNEL,
            "idempotencyKey": idempotency_key(self.id, item_id),
        }
        self._change(now)
        it.case_request = request
        self._emit("CASE_REQUESTED", by, now, itemId=item_id, **request)
        return request

    def link_case(self, item_id: str, case_id: str, now: datetime, status: str = "REPORTED") -> bool:
        """The case the service created; a repeat with the same id changes nothing."""
        if not set_item_case(self.item(item_id), f"action item {item_id}", case_id, status):
            return False
        self._change(now)
        self._emit("CASE_LINKED", SYSTEM, now, itemId=item_id, caseId=case_id, status=status)
        return True

    def update_case_status(self, case_id: str, status: str, now: datetime) -> bool:
        """From a `cases` event: the progress of an action item's case."""
        it = next((i for r in self.resolutions for i in r.items if i.case_id == case_id), None)
        if it is None:
            raise NotFound(f"meeting {self.id} has no action item for case {case_id}")
        if it.case_status == status:
            return False
        self._change(now)
        it.case_status = status
        self._emit("CASE_STATUS_UPDATED", SYSTEM, now, itemId=it.id, caseId=case_id, status=status)
        return True


# ---- which meeting, which grid ---------------------------------------------------------------
def set_item_case(item: Any, label: str, case_id: str, status: str) -> bool:
    """Record the case `cases` created for an item that asked for one (an action item, a 三方联动
    item): False for a repeat with the same id; Conflict when none was asked for or it is another."""
    if item.case_request is None:
        raise Conflict(f"{label} has no case request")
    if item.case_id == case_id:
        return False
    if item.case_id is not None:
        raise Conflict(f"{label} is already case {item.case_id}")
    item.case_id, item.case_status = case_id, status
    return True


def hotspot_community(grid: Node) -> str:
    """The community whose 大党委 deliberates a hotspot in `grid`; BadInput unless `grid` is a GRID."""
    if grid.level != "GRID" or len(grid.path) < 2:
        raise BadInput(f"a hotspot is in a GRID; {grid.name or grid.id} is a {grid.level}", {"gridId": grid.id})
    return grid.path[-2]


def check_held_by(meeting: JointMeeting, community_id: str) -> None:
    """A meeting the caller named for a hotspot must be held by the grid's community."""
    if meeting.community_id != community_id:
        raise BadInput(f"meeting {meeting.id} is not held by this grid's community")


def next_meeting(meetings: Iterable[JointMeeting], now: datetime, committee_id: str) -> JointMeeting:
    """The committee's next joint meeting: the earliest not yet held and not yet past;
    Conflict when none is coming up."""
    upcoming = [m for m in meetings if m.held_at is None and m.scheduled_at >= now]
    if not upcoming:
        raise Conflict(
            "the 大党委 has no joint meeting coming up; schedule one (scheduleJointMeeting) first",
            {"committeeId": committee_id},
        )
    return min(upcoming, key=lambda m: m.scheduled_at)


def check_case_grid(meeting: JointMeeting, grid: Node) -> None:
    """An action item's case may be placed in a grid of the meeting's community, nowhere else."""
    if grid.level != "GRID" or meeting.community_id not in grid.path:
        raise BadInput(f"{grid.name or grid.id} is not a grid of community {meeting.community_id}", {"gridId": grid.id})


def case_report(item: ActionItem, committee: Organization | None) -> dict[str, str]:
    """What `cases` is sent (`case.report`) for an action item: its recorded request, reported
    by the 大党委 (by its name; 党建联席会议 if it is gone), the idempotency key as its source."""
    if item.case_request is None:
        raise Conflict(f"action item {item.id} has no case request")
    return {
        **item.case_request,
        "reporterName": committee.name if committee else "党建联席会议",
        "source": item.case_request["idempotencyKey"],
    }
