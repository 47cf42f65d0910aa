"""Departments on a case: 派单 to the directory's departments as 主办 (lead) and 协办
(cooperating), their replies, the requests the dispatching centre decides (退单 return, 延期
extension, 挂起 suspension), resuming, 督办 (urging), and what each department's figures count.

`CaseHandling` holds the commands; `Case` (model.py) inherits them. Pure: time comes in as `now`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal, Role
from shared.domain import ratio, text
from shared.errors import BadInput, Conflict, Forbidden, NotFound
from shared.vocabulary.cases import (
    DEPT_COUNTERS,
    RANKING_METRICS,
    SATISFIED_FROM,
    CaseRequestKind,
    CaseRequestStatus,
    HandlerRole,
    HandlerStatus,
)

from . import clocks
from . import events as ev
from .enums import OPEN_STATUSES, Action, AssigneeKind, CaseStatus, HandlingLevel
from .followup import SATISFIED_VISITS
from .policy import authorize
from .values import Assignee

if TYPE_CHECKING:
    from .model import Case

S = CaseStatus
REASON_MAX, REPLY_MAX, COOPERATING_MAX = 1000, 5000, 20
# what one case keeps at the most (a document stays small; more is a CONFLICT naming the limit)
HANDLERS_MAX, REPLIES_MAX, REQUESTS_MAX, URGES_MAX = 60, 50, 30, 100


def check_room(items: Sequence[Any], most: int, what: str, case_id: str) -> None:
    if len(items) >= most:
        raise Conflict(f"case {case_id} keeps at most {most} {what}", {"max": most})


STAFF = frozenset({Role.ADMIN, Role.OPERATOR})
KIND_NAMES = {CaseRequestKind.RETURN: "退单", CaseRequestKind.EXTENSION: "延期", CaseRequestKind.SUSPENSION: "挂起"}


def dept_key(region_id: str, code: str) -> str:
    """A department's key: codes are unique within their region (a county or a city)."""
    return f"{region_id}:{code}"


def principal_dept_key(p: Principal) -> str | None:
    return dept_key(p.region, p.dept) if p.role is Role.DEPARTMENT and p.region and p.dept else None


def paused_time(since: datetime, until: datetime) -> timedelta:
    """How much of the clock a suspension from `since` to `until` stopped: what resuming adds
    to the deadlines. Wall-clock time for now; the working-day calendar replaces it here."""
    return max(until - since, timedelta(0))


class DeptRef(BaseModel):
    """A department of the directory as a case names it."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    region_id: str

    @property
    def key(self) -> str:
        return dept_key(self.region_id, self.code)


class HandlerReply(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    by: str
    text: str
    attachment_ids: list[str] = Field(default_factory=list)


class CaseHandler(BaseModel):
    """A department on the case: its role, where it stands, its deadline and replies."""

    dept: str  # the department code
    dept_region: str
    dept_name: str = ""
    role: HandlerRole
    status: HandlerStatus = HandlerStatus.ACTIVE
    dispatched_at: datetime
    due_at: datetime | None = None
    replies: list[HandlerReply] = Field(default_factory=list)
    responded_at: datetime | None = None  # its first act: a reply, start, resolution or request
    released_at: datetime | None = None
    returned: bool = False  # released by an approved 退单
    resolved_at: datetime | None = None  # the lead's resolution
    resolved_on_time: bool | None = None
    extensions: int = 0  # approved 延期 it asked for
    urged: int = 0  # 督办 received while it led the case

    @property
    def key(self) -> str:
        return dept_key(self.dept_region, self.dept)

    @property
    def active(self) -> bool:
        return self.status is not HandlerStatus.RELEASED


class CaseRequest(BaseModel):
    """A 退单, 延期 or 挂起 request waiting for, or given, the dispatching centre's decision."""

    id: str
    kind: CaseRequestKind
    status: CaseRequestStatus = CaseRequestStatus.PENDING
    reason: str
    until: datetime | None = None  # an extension's new deadline
    requested_by: str
    dept: str | None = None  # the requesting department's key
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


class Urge(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    by: str
    by_region: str | None = None
    note: str
    lead: str | None = None  # the lead department's key then


class CaseHandling:
    """The department commands of a case (mixed into `Case`)."""

    if TYPE_CHECKING:
        id: str
        status: CaseStatus
        assignee: Assignee | None
        due_at: datetime | None
        region_path: tuple[str, ...]
        handlers: list[CaseHandler]
        requests: list[CaseRequest]
        urges: list[Urge]
        urge_count: int
        suspended_at: datetime | None
        suspended_s: int
        ever_assigned: bool  # follow-up's counts (回退率, 延期数)
        returns: int
        extensions: int

        def _change(self, now: datetime, response: bool = False) -> None: ...
        def _emit(self, cls: type[ev.CaseEvent], by: Principal, now: datetime, **fields: Any) -> None: ...
        def _require(self, action: str, *allowed: CaseStatus) -> None: ...
        def _set_due(self, due: datetime | None) -> None: ...
        def attachments_named(self, ids: Any, what: str = ...) -> list[Any]: ...

    # ---- queries ------------------------------------------------------------------------
    @property
    def lead(self) -> CaseHandler | None:
        """The active 主办 department, if the case is dispatched."""
        return next((h for h in self.handlers if h.active and h.role is HandlerRole.LEAD), None)

    @property
    def dept_keys(self) -> list[str]:
        """Departments that see the case (`deptKeys`, the scope rule's field): each active
        handler; for a case assigned to a department code by assignCase, that code in every
        region on the case's path (any directory that may hold it)."""
        keys = [h.key for h in self.handlers if h.active]
        a, lead = self.assignee, self.lead
        if a is not None and a.kind is AssigneeKind.DEPARTMENT and not (lead and lead.dept == a.id):
            keys += [dept_key(r, a.id) for r in self.region_path]
        return list(dict.fromkeys(keys))

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    def handler_of(self, p: Principal) -> CaseHandler | None:
        key = principal_dept_key(p)
        return next((h for h in self.handlers if h.active and h.key == key), None) if key else None

    def request_named(self, request_id: str) -> CaseRequest:
        found = next((r for r in self.requests if r.id == request_id), None)
        if found is None:
            raise NotFound(f"case {self.id} has no request {request_id}")
        return found

    # ---- commands -----------------------------------------------------------------------
    def dispatch(self, by: Principal, lead: DeptRef, cooperating: Sequence[DeptRef], now: datetime) -> None:
        """派单 to departments: `lead` (主办) and each of `cooperating` (协办), all due by the
        case's deadline. From ACCEPTED, or ASSIGNED before work starts (re-dispatch releases
        the earlier handlers)."""
        authorize(by, Action.DISPATCH, self)  # type: ignore[arg-type]
        keys = [c.key for c in cooperating]
        if len(cooperating) > COOPERATING_MAX:
            raise BadInput(f"at most {COOPERATING_MAX} cooperating departments", {"cooperating": len(keys)})
        if len(self.handlers) + 1 + len(cooperating) > HANDLERS_MAX:
            raise Conflict(f"case {self.id} keeps at most {HANDLERS_MAX} department dispatches", {"max": HANDLERS_MAX})
        if len(set(keys)) != len(keys) or lead.key in keys:
            raise BadInput("each department takes one role on a case", {"lead": lead.code, "cooperating": keys})
        self._require("dispatch", S.ACCEPTED, S.ASSIGNED)
        if self.suspended:
            raise Conflict(f"case {self.id} is suspended; resume it first")
        current = self.lead
        if (
            current is not None
            and current.key == lead.key
            and sorted(h.key for h in self.handlers if h.active and h.role is HandlerRole.COOPERATING) == sorted(keys)
        ):
            raise Conflict(f"case {self.id} is already dispatched to these departments")
        self._change(now, response=True)
        self._release_handlers(now)
        for d, role in [(lead, HandlerRole.LEAD), *((c, HandlerRole.COOPERATING) for c in cooperating)]:
            self.handlers.append(
                CaseHandler(
                    dept=d.code,
                    dept_region=d.region_id,
                    dept_name=d.name,
                    role=role,
                    dispatched_at=now,
                    due_at=self.due_at,
                )
            )
        self.assignee = Assignee(kind=AssigneeKind.DEPARTMENT, id=lead.code, name=lead.name)
        self.status, self.ever_assigned = S.ASSIGNED, True
        names = "、".join(c.name for c in cooperating)
        self._emit(
            ev.CaseDispatched,
            by,
            now,
            lead=lead.key,
            cooperating=keys,
            due_at=self.due_at,
            note=f"主办 {lead.name}" + (f"；协办 {names}" if names else ""),
        )

    def reply(self, by: Principal, body: str, attachment_ids: Sequence[str] | None, now: datetime) -> None:
        """反馈: a department on the case (主办 or 协办) replies, with attachments of the case."""
        authorize(by, Action.REPLY, self)  # type: ignore[arg-type]
        handler = self._own_handler(by, "reply to")
        words = text(body, "text", REPLY_MAX)
        files = [a.id for a in self.attachments_named(attachment_ids)]
        self._require("reply to", S.ASSIGNED, S.IN_PROGRESS)
        check_room(handler.replies, REPLIES_MAX, "replies of a department", self.id)
        self._change(now, response=True)
        handler.replies.append(HandlerReply(at=now, by=by.sub, text=words, attachment_ids=files))
        handler.responded_at = handler.responded_at or now
        if handler.role is HandlerRole.COOPERATING:
            handler.status = HandlerStatus.REPLIED
        self._emit(
            ev.CaseReplied,
            by,
            now,
            dept=handler.key,
            role=handler.role,
            attachment_count=len(files),
            note=f"{handler.dept_name or handler.dept} 反馈",
        )

    def raise_request(
        self, by: Principal, kind: CaseRequestKind, reason: str, now: datetime, until: datetime | None = None
    ) -> CaseRequest:
        """退单 or 延期 by the lead department; 挂起 by the lead or staff in scope. One request of
        each kind waits at a time; an extension's `until` lies after now and after the deadline."""
        authorize(by, Action.REQUEST, self)  # type: ignore[arg-type]
        handler = self.handler_of(by)
        if kind is CaseRequestKind.SUSPENSION and (by.role in STAFF or by.unrestricted):
            handler = None
        elif handler is None or handler.role is not HandlerRole.LEAD:
            raise Forbidden(
                f"only the lead department of case {self.id} may ask for {KIND_NAMES[kind]}"
                + (" (or staff, for a suspension)" if kind is CaseRequestKind.SUSPENSION else ""),
                {"kind": str(kind)},
            )
        why = text(reason, "reason", REASON_MAX)
        if kind is CaseRequestKind.EXTENSION:
            self._check_until(until, now)
        else:
            until = None
        self._require(f"ask for {KIND_NAMES[kind]} on", S.ASSIGNED, S.IN_PROGRESS)
        if kind is CaseRequestKind.SUSPENSION and self.suspended:
            raise Conflict(f"case {self.id} is already suspended")
        if any(r.kind is kind and r.status is CaseRequestStatus.PENDING for r in self.requests):
            raise Conflict(f"a {KIND_NAMES[kind]} request of case {self.id} is already waiting for a decision")
        check_room(self.requests, REQUESTS_MAX, "requests", self.id)
        self._change(now, response=True)
        request = CaseRequest(
            id=f"{self.id}:r{len(self.requests) + 1}",
            kind=kind,
            reason=why,
            until=until,
            requested_by=by.sub,
            dept=handler.key if handler else None,
            requested_at=now,
        )
        self.requests.append(request)
        if handler is not None:
            handler.responded_at = handler.responded_at or now
        self._emit(
            ev.CaseRequestRaised,
            by,
            now,
            request_id=request.id,
            kind=kind,
            dept=request.dept,
            until=until,
            note=f"{KIND_NAMES[kind]}申请 {request.id}",
        )
        return request

    def decide(
        self,
        by: Principal,
        request_id: str,
        approve: bool,
        note: str | None,
        now: datetime,
        sla: Mapping[HandlingLevel, int] | clocks.Clock | None = None,
    ) -> CaseRequest:
        """The dispatching centre (staff whose scope covers the case) approves or refuses a
        request, never its own. Approved: 退单 releases the departments and the case goes back
        to ACCEPTED at its level for re-dispatch; 延期 moves the deadline to `until`; 挂起 stops
        the clock until `resume`."""
        authorize(by, Action.DECIDE, self)  # type: ignore[arg-type]
        request = self.request_named(request_id)
        remark = text(note, "note", REASON_MAX, required=False) or None
        if request.requested_by == by.sub:
            raise Forbidden(f"request {request_id} is your own; another member of staff decides it")
        if request.status is not CaseRequestStatus.PENDING:
            raise Conflict(
                f"request {request_id} was already {request.status.lower()}", {"status": str(request.status)}
            )
        requester = next((h for h in reversed(self.handlers) if request.dept and h.key == request.dept), None)
        if approve:
            self._require(f"approve {KIND_NAMES[request.kind]} on", S.ASSIGNED, S.IN_PROGRESS)
            if request.kind is not CaseRequestKind.SUSPENSION and (requester is None or not requester.active):
                raise Conflict(f"department {request.dept} no longer handles case {self.id}")
            if request.kind is CaseRequestKind.EXTENSION and self.due_at and request.until <= self.due_at:  # type: ignore[operator]
                raise Conflict(f"case {self.id} is already due after {request.until:%Y-%m-%d %H:%M}")
            if request.kind is CaseRequestKind.SUSPENSION and self.suspended:
                raise Conflict(f"case {self.id} is already suspended")
        self._change(now)
        request.status = CaseRequestStatus.APPROVED if approve else CaseRequestStatus.REFUSED
        request.decided_by, request.decided_at, request.note = by.sub, now, remark
        if approve and request.kind is CaseRequestKind.RETURN and requester is not None:
            self._release_handlers(now)
            requester.returned = True
            self.assignee, self.status = None, S.ACCEPTED
            self.returns += 1
        elif approve and request.kind is CaseRequestKind.EXTENSION and requester is not None:
            clock = _clock(sla)
            if clock is not None and request.until is not None:
                clocks.set_deadline(self, request.until, clock)  # type: ignore[arg-type]
            else:
                self._set_due(request.until)
            requester.extensions += 1
            self.extensions += 1
            for h in self.handlers:
                if h.active:
                    h.due_at = max(h.due_at or now, request.until or now)
        elif approve:
            self.suspended_at = now
        verdict = "同意" if approve else "不同意"
        self._emit(
            ev.CaseRequestDecided,
            by,
            now,
            request_id=request.id,
            kind=request.kind,
            approved=approve,
            dept=request.dept,
            due_at=self.due_at,
            note=f"{verdict}{KIND_NAMES[request.kind]} {request.id}",
        )
        if approve and request.kind is CaseRequestKind.SUSPENSION:
            self._emit(ev.CaseSuspended, by, now, request_id=request.id, note="挂起")
        return request

    def resume(
        self, by: Principal, now: datetime, sla: Mapping[HandlingLevel, int] | clocks.Clock | None = None
    ) -> None:
        """Resume a suspended case (staff in scope or its lead): every deadline moves on by the
        time the clock stood still (in working time with the service's clock `sla`, else
        `paused_time`)."""
        authorize(by, Action.RESUME, self)  # type: ignore[arg-type]
        if by.role is Role.DEPARTMENT:
            self._own_handler(by, "resume", lead=True)
        if self.suspended_at is None:
            raise Conflict(f"case {self.id} is not suspended")
        paused = paused_time(self.suspended_at, now)
        self._change(now)
        clock, due = _clock(sla), self.due_at
        if clock is not None:
            clocks.resume_deadline(self, self.suspended_at, now, clock)  # type: ignore[arg-type]
        elif self.due_at is not None:
            self._set_due(self.due_at + paused)
        moved = (self.due_at - due) if due is not None and self.due_at is not None else paused
        for h in self.handlers:
            if h.active and h.due_at is not None:
                h.due_at += moved
        self.suspended_at, self.suspended_s = None, self.suspended_s + int(paused.total_seconds())
        self._emit(ev.CaseResumed, by, now, paused_s=int(paused.total_seconds()), due_at=self.due_at, note="恢复办理")

    def urge(self, by: Principal, note: str, now: datetime) -> None:
        """督办: staff of a level above the region handling the case press for it; recorded
        and counted, on the case and on its lead department."""
        authorize(by, Action.URGE, self)  # type: ignore[arg-type]
        path = self.handling_path()  # type: ignore[attr-defined]
        handling, above = path[-1], path[:-1]
        if not by.unrestricted and by.region not in above:
            raise Forbidden(
                f"督办 of case {self.id} is for a level above the region handling it ({handling})",
                {"handlingRegion": handling},
            )
        words = text(note, "note", REASON_MAX)
        self._require("urge", *sorted(OPEN_STATUSES, key=list(S).index))
        check_room(self.urges, URGES_MAX, "urges", self.id)
        lead = self.lead
        self._change(now)
        self.urges.append(Urge(at=now, by=by.sub, by_region=by.region, note=words, lead=lead.key if lead else None))
        self.urge_count += 1
        if lead is not None:
            lead.urged += 1
        self._emit(
            ev.CaseUrged,
            by,
            now,
            urge_count=self.urge_count,
            by_region=by.region,
            lead=lead.key if lead else None,
            note=f"督办（第{self.urge_count}次）",
        )

    # ---- hooks the workflow commands call (model.py) ---------------------------------------
    def _check_handlers_before_resolve(self, now: datetime) -> None:
        """The lead resolves only after every cooperating department replied or its deadline passed."""
        if self.lead is None:
            return
        waiting = [
            h.key
            for h in self.handlers
            if h.active
            and h.role is HandlerRole.COOPERATING
            and h.status is not HandlerStatus.REPLIED
            and (h.due_at is None or now < h.due_at)
        ]
        if waiting:
            raise Conflict(
                f"case {self.id} waits for the replies of its cooperating departments ({', '.join(waiting)}) "
                "or their deadline",
                {"waitingFor": waiting},
            )

    def _after_resolve(self, now: datetime, on_time: bool) -> None:
        lead = self.lead
        if lead is not None:
            lead.status, lead.resolved_at, lead.resolved_on_time = HandlerStatus.RESOLVED, now, on_time
            lead.responded_at = lead.responded_at or now
        self.suspended_at = None

    def _on_rework(self) -> None:
        """A failed verification (重办): the lead handles the case again."""
        lead = self.lead
        if lead is not None and lead.status is HandlerStatus.RESOLVED:
            lead.status, lead.resolved_at, lead.resolved_on_time = HandlerStatus.ACTIVE, None, None

    def _on_start(self, now: datetime) -> None:
        lead = self.lead
        if lead is not None:
            lead.responded_at = lead.responded_at or now

    def _release_handlers(self, now: datetime) -> None:
        """Every active department leaves the case (re-dispatch, escalation, reopening, return)."""
        for h in self.handlers:
            if h.active:
                h.status, h.released_at = HandlerStatus.RELEASED, now

    def _refuse_direct_return(self) -> None:
        if self.lead is not None:
            raise Conflict(
                f"case {self.id} was dispatched by the centre; its lead department asks with requestCaseReturn",
                {"use": "requestCaseReturn"},
            )

    def _own_handler(self, by: Principal, action: str, lead: bool = False) -> CaseHandler:
        handler = self.handler_of(by)
        if handler is None or (lead and handler.role is not HandlerRole.LEAD):
            raise Forbidden(f"only a {'lead ' if lead else ''}department handling case {self.id} may {action} it")
        return handler

    def _check_until(self, until: datetime | None, now: datetime) -> None:
        if until is None:
            raise BadInput("an extension needs `until`, the new deadline", {"field": "until"})
        if until.tzinfo is None:
            raise BadInput("`until` must carry its offset", {"field": "until"})
        if until <= now:
            raise BadInput("`until` lies in the past", {"field": "until", "until": until.isoformat()})
        if self.due_at is not None and until <= self.due_at:
            raise BadInput(
                f"`until` must lie after the current deadline {self.due_at.isoformat()}",
                {"field": "until", "dueAt": self.due_at.isoformat()},
            )


# ---- figures per department ---------------------------------------------------------------
DEPT_PREFIX = "dept"


def dept_counters(case: Case) -> dict[str, int]:
    """What `case` adds to each of its departments' figures, as rollup counters
    `dept.<region>:<code>.<counter>` of every region on the case's path (so a department's
    figures within any region of the path are one rollup read, and time ranges come from the
    same day buckets as the region figures)."""
    out: dict[str, int] = {}
    rework = int(getattr(case, "rework_count", 0) or 0) > 0
    for h in case.handlers:
        lead = h.role is HandlerRole.LEAD
        resolved = lead and h.resolved_at is not None
        # 满意率 over every channel: the reporters' rating and the reached return visits (回访)
        kept = resolved and h.active
        reached = [v for v in case.return_visits if v.reached] if kept else []
        rated = int(kept and case.rating is not None) + len(reached)
        satisfied = int(kept and (case.rating or 0) >= SATISFIED_FROM)
        satisfied += sum(1 for v in reached if v.satisfaction in SATISFIED_VISITS)
        values = {
            "received": 1,
            "lead": int(lead),
            "cooperating": int(not lead),
            "responded": int(h.responded_at is not None),
            "replied": int(not lead and bool(h.replies)),
            "resolved": int(resolved),
            "resolved_on_time": int(resolved and bool(h.resolved_on_time)),
            "returned": int(h.returned),
            "reworked": int(resolved and h.active and rework),
            "extensions": h.extensions,
            "urged": h.urged,
            "rated": rated,
            "satisfied": satisfied,
        }
        for name, v in values.items():
            if v:
                k = f"{DEPT_PREFIX}.{h.key}.{name}"
                out[k] = out.get(k, 0) + v
    return out


def dept_figures(counters: dict[str, int]) -> dict[str, dict[str, int]]:
    """Rollup counters of a region, split per department key (those under `dept.`)."""
    out: dict[str, dict[str, int]] = {}
    for k, v in counters.items():
        if k.startswith(DEPT_PREFIX + "."):
            key, _, name = k[len(DEPT_PREFIX) + 1 :].rpartition(".")
            out.setdefault(key, {})[name] = out.get(key, {}).get(name, 0) + v
    return out


def dept_stats(c: dict[str, int]) -> dict[str, Any]:
    """A department's figures and rates (RANKING_METRICS) from its counters; rates None
    where the denominator is 0."""
    g = {k: int(c.get(k, 0)) for k in DEPT_COUNTERS}
    return {
        "received": g["received"],
        "lead": g["lead"],
        "cooperating": g["cooperating"],
        "responded": g["responded"],
        "replied": g["replied"],
        "resolved": g["resolved"],
        "resolvedOnTime": g["resolved_on_time"],
        "returned": g["returned"],
        "reworked": g["reworked"],
        "extensionCount": g["extensions"],
        "urgeCount": g["urged"],
        "rated": g["rated"],
        "satisfied": g["satisfied"],
        "responseRate": ratio(g["responded"], g["received"]),
        "resolutionRate": ratio(g["resolved"], g["lead"] - g["returned"]),
        "onTimeRate": ratio(g["resolved_on_time"], g["resolved"]),
        "satisfactionRate": ratio(g["satisfied"], g["rated"]),
        "returnRate": ratio(g["returned"], g["lead"]),
        "reworkRate": ratio(g["reworked"], g["resolved"]),
    }


def check_metric(metric: str) -> str:
    if metric not in RANKING_METRICS:
        raise BadInput(f"unknown ranking metric {metric!r}; one of {', '.join(RANKING_METRICS)}", {"metric": metric})
    return metric


def _clock(sla: Mapping[HandlingLevel, int] | clocks.Clock | None) -> clocks.Clock | None:
    """The service's clock, or one of wall-clock seconds per level (tests), or None."""
    if sla is None or isinstance(sla, clocks.Clock):
        return sla
    return clocks.wall_clock(sla)
