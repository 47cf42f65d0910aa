"""The Case aggregate: every workflow rule of API.md as a command that checks, changes the
case, appends to its timeline and records domain events. Time comes in as `now`; the SLA
comes in as `sla` (a `clocks.Clock`: working time on the work calendar; or wall-clock seconds
per level). Nothing here does I/O.

A command that raises leaves the case exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from shared.auth import Principal, Role, public_actor
from shared.domain import text
from shared.errors import BadInput, Conflict, Forbidden

from . import clocks, followup
from . import events as ev
from .catalogue import Category, start_level
from .enums import OPEN_STATUSES, Action, AssigneeKind, CaseChannel, CaseStatus, HandlingLevel, RequestKind
from .followup_values import ReturnVisit, Verification
from .handling import CaseHandler, CaseHandling, CaseRequest, Urge
from .policy import SYSTEM, authorize
from .rollups import counters_of
from .values import Assignee, Attachment, GeoPoint, Reporter, TimelineEntry

S = CaseStatus
# The service's SLA (domain/clocks.py Clock: working time on the calendar), or wall-clock
# seconds per level.
Sla = Mapping[HandlingLevel, int] | clocks.Clock

DEFAULT_SLA: dict[HandlingLevel, int] = {
    HandlingLevel.BUILDING: 1 * 86400,
    HandlingLevel.GRID: 2 * 86400,
    HandlingLevel.COMMUNITY: 3 * 86400,
    HandlingLevel.TOWNSHIP: 5 * 86400,
    HandlingLevel.COUNTY: 7 * 86400,
}
TITLE_MAX, TEXT_MAX, NOTE_MAX = 200, 5000, 1000
SWEEPER_REASON = "超期自动上报 (SLA overdue)"
# Who takes an ACCEPTED case on themselves by starting or resolving it, recorded as which assignee
SELF_DISPATCH = {Role.GRID_WORKER: AssigneeKind.GRID_WORKER, Role.BUILDING_LEADER: AssigneeKind.BUILDING_LEADER}
DEFAULT_RETURN_VISIT_S = 3 * 86400  # a 回访 task's time (the setting `return_visit_s` replaces it)


def _text(value: str | None, what: str, limit: int = NOTE_MAX, required: bool = True) -> str:
    return text(value, what, limit, required)


class Case(CaseHandling, BaseModel):
    """A resident's request, a reported problem or a dispute (诉求 / 事件 / 矛盾纠纷)."""

    id: str
    title: str
    description: str = ""
    category_code: str
    kind: RequestKind
    channel: CaseChannel
    status: CaseStatus = S.REPORTED
    level: HandlingLevel
    region_id: str  # the grid
    region_path: tuple[str, ...]  # top-down ids ending with the grid
    building_id: str | None = None  # building: the BUILDING of the grid it happened in (楼栋), if known
    location: GeoPoint | None = None
    reporters: list[Reporter]
    assignee: Assignee | None = None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None = None  # first response: accept, reject, dispatch or handling
    due_at: datetime | None = None
    overdue: bool = False  # set by the sweeper, cleared by a new deadline
    overdue_count: int = 0  # SLA breaches over the case's life
    resolved_at: datetime | None = None  # the latest resolution (kept if reopened)
    resolved_at_level: HandlingLevel | None = None
    resolved_on_time: bool | None = None
    resolution: str | None = None
    closed_at: datetime | None = None
    rating: int | None = None  # first rating given for the latest resolution
    rated_at: datetime | None = None
    reopened: bool = False  # a case reopens once at most
    escalations: int = 0
    merged_into: str | None = None
    sla_override_s: int | None = None  # from the category: replaces the level SLA
    # ---- v2: command centre (each feature keeps its fields in its own block) ----------
    attachments: list[Attachment] = Field(default_factory=list)  # evidence, in upload order
    # clocks: the current deadline's clock (domain/clocks.py)
    sla_work: str | None = None  # from the category: its SLA in working time ("4h", "2d"), replaces the level's
    sla_work_levels: dict[str, str] | None = None  # from the category: per level, before sla_work
    due_from: datetime | None = None  # when the current deadline's clock started
    due_working: bool = False  # the current deadline counts working time (else wall-clock)
    due_soon_at: datetime | None = None  # when the due-soon share of its time is left
    due_soon_sent: bool = False  # CASE_DUE_SOON recorded for the current deadline
    # follow-up: verification (核查), return visits (回访), corrections; counts other parts add to
    requires_verification: bool = False  # the category asks for 核查 (kept from report or correction)
    verification_due: bool = False  # RESOLVED and waiting for 核查 (ratings and auto-close wait)
    verifications: list[Verification] = Field(default_factory=list)  # oldest first
    rework_count: int = 0  # failed verifications (重办)
    rating_window_from: datetime | None = None  # ready for rating since (resolution or passed 核查)
    return_visits: list[ReturnVisit] = Field(default_factory=list)  # oldest first
    return_visit_due_at: datetime | None = None  # an open 回访 task's deadline
    return_visit_overdue: bool = False  # flagged by the sweeper
    ever_assigned: bool = False  # dispatched to a handler at least once (回退率's denominator)
    returns: int = 0  # 退单 by handlers: approved returns and direct returnCase
    extensions: int = 0  # approved 延期
    corrections: int = 0  # correctCase
    # departments: 主办/协办 handlers, 退单/延期/挂起 requests, 督办 (domain/handling.py)
    handlers: list[CaseHandler] = Field(default_factory=list)
    requests: list[CaseRequest] = Field(default_factory=list)
    urges: list[Urge] = Field(default_factory=list)
    urge_count: int = 0
    suspended_at: datetime | None = None  # 挂起: the clock stands still; the sweeper skips the case
    suspended_s: int = 0  # time suspended over the case's life
    version: int = 1
    timeline: list[TimelineEntry] = Field(default_factory=list)
    pending_events: list[ev.CaseEvent] = Field(default_factory=list, exclude=True)
    _span: tuple[clocks.Span, clocks.Clock | None] | None = PrivateAttr(default=None)  # the last _sla_for

    # ---- what the store keeps for queries (store.case_doc) and the scope rule reads ------
    @property
    def assignee_key(self) -> str | None:
        """`KIND:id` of the current assignee (`assigneeKey`): one indexed field for "assigned to"."""
        return f"{self.assignee.kind}:{self.assignee.id}" if self.assignee else None

    @property
    def reporter_subs(self) -> list[str]:
        """The known reporters' subs (`reporterSubs`): a resident's own cases."""
        return [r.sub for r in self.reporters if r.sub]

    # ---- creation -----------------------------------------------------------------------
    @classmethod
    def report(
        cls,
        *,
        id: str,
        title: str,
        description: str,
        category: Category,
        channel: CaseChannel,
        region_path: Iterable[str],
        by: Principal,
        now: datetime,
        sla: Sla,
        reporter_name: str,
        reporter_phone_enc: str | None = None,
        reporter_sub: str | None = None,
        location: GeoPoint | None = None,
        kind: RequestKind | None = None,
        building_id: str | None = None,
    ) -> Case:
        """上报. Residents, grid workers and building leaders report as themselves; staff taking a
        hotline call or a walk-in may name the resident's `reporter_sub` (or none). A case with a
        building (`building_id`, a BUILDING of the grid: the caller checks it lies there) whose
        category is handled at BUILDING level starts there; any other starts at its category's
        level, and BUILDING without a building means the grid (`start_level`)."""
        path = tuple(region_path)
        if len(path) < 4 or len(set(path)) != len(path) or not all(path):
            raise BadInput(
                "region_path must list distinct region ids from the county (or above) down to the grid",
                {"regionPath": list(path)},
            )
        if by.role in (Role.RESIDENT, Role.GRID_WORKER, Role.BUILDING_LEADER):
            reporter_sub = by.sub
        if building_id is not None and (not building_id or building_id in path):
            raise BadInput("building_id must be a building of the case's grid", {"buildingId": building_id})
        reporter = Reporter(
            sub=reporter_sub,
            name=_text(reporter_name, "reporterName", 64),
            phone_enc=reporter_phone_enc,
            case_id_origin=id,
        )
        case = cls(
            id=id,
            title=_text(title, "title", TITLE_MAX),
            description=_text(description, "description", TEXT_MAX, required=False),
            category_code=category.code,
            kind=kind or category.kind,
            channel=channel,
            level=start_level(category, building_id),
            region_id=path[-1],
            region_path=path,
            building_id=building_id,
            location=location,
            reporters=[reporter],
            created_at=now,
            updated_at=now,
            sla_override_s=category.sla_seconds,
            sla_work=category.sla_work,
            sla_work_levels=category.sla_by_level(),
            requires_verification=category.requires_verification,
        )
        authorize(by, Action.REPORT, case)
        case._set_due(now + case._sla_for(case.level, sla))
        case._emit(
            ev.CaseReported,
            by,
            now,
            title=case.title,
            category_code=case.category_code,
            kind=case.kind,
            channel=channel,
            region_id=case.region_id,
            location=location,
            due_at=case.due_at,
            note=case.title,
        )
        return case

    # ---- commands -----------------------------------------------------------------------
    def accept(self, by: Principal, now: datetime, sla: Sla) -> None:
        """受理: starts the timer at the case's level."""
        authorize(by, Action.ACCEPT, self)
        self._require("accept", S.REPORTED)
        self._change(now, response=True)
        self.status = S.ACCEPTED
        self._set_due(now + self._sla_for(self.level, sla))
        self._emit(ev.CaseAccepted, by, now, due_at=self.due_at)

    def assign(self, by: Principal, assignee: Assignee, now: datetime) -> None:
        """派单 to a grid worker, the community, a department or a volunteer; an ASSIGNED case
        may be re-dispatched before work starts. The deadline keeps running."""
        authorize(by, Action.ASSIGN, self)
        if assignee.kind is AssigneeKind.COMMUNITY and assignee.id != self.community_id:
            raise BadInput(
                f"a case of grid {self.region_id} can only go to its own community {self.community_id}",
                {"assignee": assignee.id},
            )
        if assignee.kind is AssigneeKind.BUILDING_LEADER and self.level is not HandlingLevel.BUILDING:
            raise BadInput(
                f"case {self.id} is at {self.level} level; a building leader takes cases at BUILDING level",
                {"assignee": assignee.id, "level": str(self.level)},
            )
        self._require("assign", S.ACCEPTED, S.ASSIGNED)
        if assignee == self.assignee:
            raise Conflict(f"case {self.id} is already assigned to {assignee.kind} {assignee.id}")
        self._change(now, response=True)
        self._release_handlers(now)
        self.assignee, self.ever_assigned = assignee, True
        self.status = S.ASSIGNED
        self._emit(ev.CaseAssigned, by, now, assignee=assignee, note=f"{assignee.kind} {assignee.name or assignee.id}")

    def start(self, by: Principal, now: datetime) -> None:
        """处置 begins. A grid worker may take an ACCEPTED case of their grid themselves, a
        building leader one of their building at BUILDING level (recorded as ASSIGNED to them,
        then STARTED)."""
        authorize(by, Action.START, self)
        kind = SELF_DISPATCH.get(by.role)
        self_dispatch = self.status is S.ACCEPTED and kind is not None
        if not self_dispatch:
            self._require("start", S.ASSIGNED)
        self._change(now, response=True)
        if self_dispatch and kind is not None:
            self.assignee = Assignee(kind=kind, id=by.sub, name=by.sub)
            self.ever_assigned = True
            self._emit(ev.CaseAssigned, by, now, assignee=self.assignee, status=S.ASSIGNED, note=f"{kind} {by.sub}")
        self.status = S.IN_PROGRESS
        self._on_start(now)
        self._emit(ev.CaseStarted, by, now, assignee=self.assignee)

    def resolve(
        self, by: Principal, resolution: str, now: datetime, return_visit_s: int = DEFAULT_RETURN_VISIT_S
    ) -> None:
        """办结. From IN_PROGRESS, or on the spot (当场办结) from ACCEPTED or ASSIGNED.
        On time: no SLA breach in the case's life and resolved by the current deadline.
        A case handled by a department or a volunteer, or of a category that asks for it, then
        waits for verification (核查); otherwise it awaits its rating (and a caller without an
        account, a return visit within `return_visit_s`)."""
        authorize(by, Action.RESOLVE, self)
        text = _text(resolution, "resolution", TEXT_MAX)
        self._require("resolve", S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS)
        on_time = self.overdue_count == 0 and (self.due_at is None or now <= self.due_at)
        self._check_handlers_before_resolve(now)
        self._change(now, response=True)
        if self.assignee is None and (kind := SELF_DISPATCH.get(by.role)) is not None:
            self.assignee = Assignee(kind=kind, id=by.sub, name=by.sub)
        self.status = S.RESOLVED
        self.resolved_at, self.resolved_at_level = now, self.level
        self.resolved_on_time, self.resolution = on_time, text
        self._after_resolve(now, on_time)
        self._set_due(None)
        followup.on_resolved(self, now, return_visit_s)
        self._emit(ev.CaseResolved, by, now, resolution=text, on_time=on_time, note=text)

    def escalate(self, by: Principal, reason: str, now: datetime, sla: Sla) -> None:
        """上报 by hand: one level up, back to ACCEPTED there, unassigned, with a new deadline."""
        authorize(by, Action.ESCALATE, self)
        text = _text(reason, "reason")
        self._require_escalatable()
        self._change(now, response=True)
        from_level = self._escalate(now, sla)
        self._emit(ev.CaseEscalated, by, now, from_level=from_level, reason=text, due_at=self.due_at, note=text)

    def sweep(self, now: datetime, sla: Sla) -> bool:
        """The SLA sweeper's rule: an open case past its deadline is OVERDUE and escalated
        (OVERDUE then ESCALATED, new deadline). At COUNTY it is only flagged overdue, once.
        Returns whether it escalated."""
        if self.status not in OPEN_STATUSES or self.due_at is None or now < self.due_at or clocks.paused(self):
            return False
        if self.level.next_level() is None:
            if self.overdue:
                return False
            self._change(now)
            self.overdue, self.overdue_count = True, self.overdue_count + 1
            self._emit(ev.CaseOverdue, SYSTEM, now, due_at=self.due_at, note="超期 (overdue)")
            return False
        due, from_status = self.due_at, self.status
        self._change(now)
        self.overdue_count += 1
        from_level = self._escalate(now, sla)
        self._emit(ev.CaseOverdue, SYSTEM, now, due_at=due, level=from_level, status=from_status, note="超期 (overdue)")
        self._emit(
            ev.CaseEscalated,
            SYSTEM,
            now,
            from_level=from_level,
            reason=SWEEPER_REASON,
            due_at=self.due_at,
            by_sweeper=True,
            note=SWEEPER_REASON,
        )
        return True

    def reject(self, by: Principal, reason: str, now: datetime) -> None:
        """不予受理, with a reason; not for a case reopened after a resolution."""
        authorize(by, Action.REJECT, self)
        text = _text(reason, "reason")
        self._require("reject", S.REPORTED, S.ACCEPTED)
        if self.reopened:
            raise Conflict(
                f"case {self.id} was accepted and resolved before; it cannot be rejected now",
                {"status": str(self.status), "reopened": True},
            )
        self._change(now, response=True)
        self.status = S.REJECTED
        self._set_due(None)
        self._emit(ev.CaseRejected, by, now, reason=text, note=text)

    def return_(self, by: Principal, reason: str, now: datetime) -> None:
        """退单: the assigned department sends the case back to ACCEPTED at the same level
        for re-dispatch. The deadline keeps running."""
        authorize(by, Action.RETURN, self)
        text = _text(reason, "reason")
        self._require("return", S.ASSIGNED, S.IN_PROGRESS)
        self._refuse_direct_return()
        self._change(now)
        returned_by, self.assignee = self.assignee, None
        self.status = S.ACCEPTED
        self.returns += 1
        self._emit(ev.CaseReturned, by, now, reason=text, returned_by=returned_by, note=text)

    def rate(self, by: Principal, score: int, now: datetime, sla: Sla, comment: str | None = None) -> None:
        """评价 by a reporter. On a RESOLVED case the rating decides: 1–2 reopens it once at its
        level (a second 1–2 closes it), 3–5 closes it. Every reporter (merged ones too) may
        rate each resolution once; a rating that comes after the case closed is recorded
        without changing its status."""
        authorize(by, Action.RATE, self)
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise BadInput("a rating is an integer from 1 to 5", {"score": score})
        note = _text(comment, "comment", NOTE_MAX, required=False) or None
        reporter = next((r for r in self.reporters if r.sub == by.sub), None)
        if reporter is None:
            raise Forbidden(f"only a reporter of case {self.id} may rate it")
        late = self.status is S.CLOSED and self.merged_into is None and self.resolved_at
        if not late:
            self._require("rate", S.RESOLVED)
        if reporter.rating is not None:
            raise Conflict(f"you have already rated the resolution of case {self.id}")
        followup.require_verified(self, "rated")
        self._change(now)
        reporter.rating, reporter.rated_at, reporter.comment = score, now, note
        if self.rating is None:
            self.rating, self.rated_at = score, now
        outcome: tuple[type[ev.CaseEvent], dict[str, Any]] | None = None
        if self.status is S.RESOLVED and score <= 2 and not self.reopened:
            self._reopen(now, sla)
            outcome = ev.CaseReopened, {"due_at": self.due_at}
        elif self.status is S.RESOLVED:
            self.status, self.closed_at = S.CLOSED, now
            outcome = ev.CaseClosed, {"rating": score}
        self._emit(
            ev.CaseRated,
            by,
            now,
            score=score,
            reporter_sub=by.sub,
            comment=note,
            note=f"{score}分" + (f": {note}" if note else ""),
        )
        if outcome:
            self._emit(outcome[0], by, now, **outcome[1])

    def close(self, by: Principal, now: datetime, note: str | None = None) -> None:
        """结案 without a rating (after verification or a follow-up call)."""
        authorize(by, Action.CLOSE, self)
        text = _text(note, "note", required=False) or None
        self._require("close", S.RESOLVED)
        followup.require_verified(self, "closed")
        self._change(now)
        self.status, self.closed_at = S.CLOSED, now
        self._emit(ev.CaseClosed, by, now, rating=None, note=text)

    def auto_close(self, now: datetime, after_s: int) -> bool:
        """Close a case left RESOLVED without a rating for `after_s` seconds."""
        if self.status is not S.RESOLVED or self.resolved_at is None or self.verification_due:
            return False
        if now < (self.rating_window_from or self.resolved_at) + timedelta(seconds=after_s):
            return False
        self.close(SYSTEM, now, "评价超时自动结案 (no rating in time)")
        return True

    def reveal_contact(self, by: Principal, reason: str, now: datetime, reporter_index: int = 0) -> Reporter:
        """An admin's audited look at a reporter's contact: returns the reporter (phone still
        encrypted; the caller decrypts) and records CONTACT_REVEALED."""
        authorize(by, Action.REVEAL_CONTACT, self)
        text = _text(reason, "reason")
        if not 0 <= reporter_index < len(self.reporters):
            raise BadInput(f"case {self.id} has no reporter #{reporter_index}")
        self._change(now)
        self._emit(ev.CaseContactRevealed, by, now, reporter_index=reporter_index, reason=text, note=text)
        return self.reporters[reporter_index]

    def note_deliberation(self, meeting_id: str, resolution_id: str, resolution: str, now: datetime) -> bool:
        """From `organizations`: a joint meeting resolved on this case's hotspot. Shown on
        the timeline; changes no status. A repeat of the same resolution changes nothing."""
        ref = f"{meeting_id}/{resolution_id}"
        if any(t.type == ev.CaseDeliberated.type and (t.note or "").startswith(ref) for t in self.timeline):
            return False
        self._change(now)
        self._emit(
            ev.CaseDeliberated,
            SYSTEM,
            now,
            meeting_id=meeting_id,
            resolution_id=resolution_id,
            note=f"{ref} 联席会议决议：{resolution}"[:500],
        )
        return True

    # ---- queries ------------------------------------------------------------------------
    @property
    def verification(self) -> Verification | None:
        """The latest verification (核查), if any."""
        return self.verifications[-1] if self.verifications else None

    @property
    def community_id(self) -> str:
        return self.region_at(HandlingLevel.COMMUNITY)

    def region_at(self, level: HandlingLevel) -> str:
        """The region that handles the case at `level`: the path ends COUNTY, TOWNSHIP,
        COMMUNITY, GRID; BUILDING is the case's building (its grid when it has none)."""
        return self.handling_path(level)[-1]

    def handling_path(self, level: HandlingLevel | None = None) -> tuple[str, ...]:
        """The path down to the region handling the case at `level` (default: its level now)."""
        level = level or self.level
        if level.above_grid < 0:
            return self.scope_path
        return self.region_path[: len(self.region_path) - level.above_grid]

    @property
    def scope_path(self) -> tuple[str, ...]:
        """The path its scope and figures read (`path` in the store): the grid's path, and the
        building under it when the case has one (so a building's leader and lists of a building
        find it)."""
        return (*self.region_path, self.building_id) if self.building_id else self.region_path

    def is_overdue(self, now: datetime) -> bool:
        return self.overdue or (self.status in OPEN_STATUSES and self.due_at is not None and now >= self.due_at)

    def attachments_named(self, ids: Iterable[str] | None, what: str = "attachmentIds") -> list[Attachment]:
        """The case's attachments with the given ids, in the given order; BadInput naming the
        ids this case does not have (an attachment is uploaded to the case first)."""
        wanted = list(dict.fromkeys(ids or ()))
        have = {a.id: a for a in self.attachments}
        unknown = [i for i in wanted if i not in have]
        if unknown:
            raise BadInput(f"case {self.id} has no attachment {', '.join(unknown)}", {what: unknown})
        return [have[i] for i in wanted]

    def drain_events(self) -> list[ev.CaseEvent]:
        out, self.pending_events = self.pending_events, []
        return out

    # ---- internals ----------------------------------------------------------------------
    def _require(self, action: str, *allowed: CaseStatus) -> None:
        if self.status not in allowed:
            raise Conflict(
                f"cannot {action} case {self.id}: it is {self.status}; allowed from {', '.join(allowed)}",
                {"status": str(self.status), "allowed": [str(s) for s in allowed]},
            )

    def _require_escalatable(self) -> None:
        self._require("escalate", *sorted(OPEN_STATUSES, key=list(S).index))
        self._level_above()

    def _level_above(self) -> HandlingLevel:
        """The level an escalation moves the case to; Conflict at the top level."""
        above = self.level.next_level()
        if above is None:
            raise Conflict(f"case {self.id} is already at {self.level}, the top level", {"level": str(self.level)})
        return above

    def _sla_for(self, level: HandlingLevel, sla: Sla) -> clocks.Span:
        """The case's SLA at `level` (its category's, else the level's): `now + span` is the
        deadline, in working time or wall-clock seconds (domain/clocks.py)."""
        if isinstance(sla, clocks.Clock):
            working = (self.sla_work_levels or {}).get(str(level)) or self.sla_work
            span, clock = sla.span(level, self.sla_override_s, working), sla
        elif self.sla_override_s:
            span, clock = clocks.Span.wall(self.sla_override_s), None
        else:
            span, clock = clocks.Span.wall(int(sla[level])), None
        self._span = span, clock
        return span

    def _set_due(self, due: datetime | None) -> None:
        """A new deadline (None: none), its clock started now (`updated_at`, which the command's
        `_change` set); the due-soon warning is re-armed. A deadline from `now + _sla_for(...)`
        keeps that span's clock (working time or not); an explicit one counts wall-clock time."""
        self.due_at, self.overdue = due, False
        span, clock = self._span or (None, None)
        self._span = None
        clocks.arm(self, due, self.updated_at, span, clock)

    def _change(self, now: datetime, response: bool = False) -> None:
        """Every successful command calls this once; `response` marks a person's handling
        act, the first of which is the case's first response (响应)."""
        self.version += 1
        self.updated_at = now
        if response and self.accepted_at is None:
            self.accepted_at = now

    def _escalate(self, now: datetime, sla: Sla) -> HandlingLevel:
        from_level, self.level = self.level, self._level_above()
        self.status, self.assignee = S.ACCEPTED, None
        self._release_handlers(now)
        self.escalations += 1
        self._set_due(now + self._sla_for(self.level, sla))
        return from_level

    def _reopen(self, now: datetime, sla: Sla) -> None:
        self.status, self.assignee, self.reopened = S.ACCEPTED, None, True
        followup.on_reopened(self)
        self._release_handlers(now)
        self.rating = self.rated_at = None
        for r in self.reporters:
            r.rating = r.rated_at = r.comment = None
        self._set_due(now + self._sla_for(self.level, sla))

    def _emit(
        self,
        cls: type[ev.CaseEvent],
        by: Principal,
        now: datetime,
        *,
        level: HandlingLevel | None = None,
        status: CaseStatus | None = None,
        note: str | None = None,
        **fields: Any,
    ) -> None:
        level = level or self.level
        event = cls(
            case_id=self.id,
            version=self.version,
            at=now,
            actor=public_actor(by),  # a resident's sub stays in the case, off the bus
            status=status or self.status,
            level=level,
            region_path=self.region_path,
            building_id=self.building_id,
            note=note,
            counters=counters_of(self),
            **fields,
        )
        self.pending_events.append(event)
        self.timeline.append(TimelineEntry(type=cls.type, at=now, actor=by.sub, level=level, note=note))


def check_expected_version(case: Case, expected: int | None) -> None:
    """A command sent with `expectedVersion` applies only to that version of the case."""
    if expected is not None and expected != case.version:
        raise Conflict(f"case {case.id} is at version {case.version}, not {expected}", {"currentVersion": case.version})


def merge(into: Case, other: Case, by: Principal, now: datetime, force: bool = False) -> None:
    """并单: fold duplicate `other` into `into`. `other` becomes CLOSED with `merged_into` set
    (it then counts only as a merged report); `into` takes over its reporters, who keep their
    own follow-up and rating. Both record MERGED. Both cases must be open and in the same
    grid; different categories need `force`."""
    if into.id == other.id:
        raise BadInput(f"case {into.id} cannot be merged into itself")
    authorize(by, Action.MERGE, into)
    authorize(by, Action.MERGE, other)
    if into.region_id != other.region_id:
        raise BadInput(f"cases of different grids ({other.region_id}, {into.region_id}) cannot be merged")
    if into.category_code != other.category_code and not force:
        raise BadInput(
            f"case {other.id} is {other.category_code}, case {into.id} is "
            f"{into.category_code}: merge across categories needs force"
        )
    open_ = sorted(OPEN_STATUSES, key=list(S).index)
    into._require("merge into", *open_)
    other._require("merge", *open_)
    known = {r.sub for r in into.reporters if r.sub}
    other._change(now)
    other.status, other.merged_into, other.closed_at = S.CLOSED, into.id, now
    other._set_due(None)
    into._change(now)
    into.reporters += [r.model_copy() for r in other.reporters if not r.sub or r.sub not in known]
    for case, note in ((other, f"并入 {into.id}"), (into, f"{other.id} 并入本案")):
        case._emit(ev.CaseMerged, by, now, from_id=other.id, into_id=into.id, note=note)
