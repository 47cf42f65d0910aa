"""A case's follow-up rules: verification (核查), return visits (回访), corrections (更正) and comments.

Functions over a Case, called by its commands (model.py hooks) and by the cases handlers. Like
the Case's own commands, each checks everything before it changes anything."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.auth import Principal, Role
from shared.domain import text
from shared.errors import BadInput, Conflict, Forbidden
from shared.vocabulary.cases import CommentVisibility, ReturnVisitSatisfaction

from . import events as ev
from .catalogue import start_level
from .enums import Action, AssigneeKind, CaseStatus, HandlingLevel
from .followup_values import CaseComment, ReturnVisit, Verification
from .policy import authorize
from .values import GeoPoint

if TYPE_CHECKING:
    from .catalogue import Category
    from .model import Case, Sla

S = CaseStatus
NOTE_MAX = 1000
COMMENT_MAX = 2000  # characters of one comment
COMMENTS_MAX = 500  # comments on one case
RETURN_VISITS_MAX = 20  # return visits recorded on one case
VERIFICATIONS_MAX = 20  # verifications of one case (each failed one sends it back to handling)
CORRECTIONS_MAX = 20  # corrections of one case
# Handled by these, a resolution waits for the centre's verification (核查).
VERIFIED_HANDLERS = frozenset({AssigneeKind.DEPARTMENT, AssigneeKind.VOLUNTEER})
SATISFIED_VISITS = frozenset({ReturnVisitSatisfaction.SATISFIED, ReturnVisitSatisfaction.BASICALLY_SATISFIED})
# Assignees bound to the territory: a case moved to another grid leaves them.
TERRITORIAL = frozenset({AssigneeKind.GRID_WORKER, AssigneeKind.COMMUNITY, AssigneeKind.BUILDING_LEADER})
_SATISFACTION_NAMES = {
    ReturnVisitSatisfaction.SATISFIED: "满意",
    ReturnVisitSatisfaction.BASICALLY_SATISFIED: "基本满意",
    ReturnVisitSatisfaction.DISSATISFIED: "不满意",
}


def needs_verification(case: Case) -> bool:
    """Its resolution waits for 核查: handled by a department or a volunteer, or its category asks."""
    return case.requires_verification or (case.assignee is not None and case.assignee.kind in VERIFIED_HANDLERS)


def has_account_holder(case: Case) -> bool:
    """Some reporter can rate the case themselves (a resident with an account)."""
    return any(r.sub for r in case.reporters)


def on_resolved(case: Case, now: datetime, return_visit_s: int) -> None:
    """Hook of `Case.resolve`: wait for 核查, or await the rating (and open a 回访 task)."""
    case.verification_due = needs_verification(case)
    case.rating_window_from = None
    if not case.verification_due:
        _await_rating(case, now, return_visit_s)


def on_reopened(case: Case) -> None:
    """Hook of `Case._reopen`: back in handling, nothing awaits a rating or a return visit."""
    case.verification_due = False
    case.rating_window_from = case.return_visit_due_at = None
    case.return_visit_overdue = False


def _await_rating(case: Case, now: datetime, return_visit_s: int) -> None:
    case.rating_window_from = now
    if not has_account_holder(case):
        case.return_visit_due_at = now + timedelta(seconds=return_visit_s)
        case.return_visit_overdue = False


def require_verified(case: Case, action: str) -> None:
    """Ratings, closing and return visits wait for a passed verification."""
    if case.status is S.RESOLVED and case.verification_due:
        raise Conflict(
            f"case {case.id} waits for verification (核查) by the dispatching centre; it cannot be {action} before",
            {"status": str(case.status), "awaiting": "VERIFICATION"},
        )


def require_dispatching_level(by: Principal, case: Case) -> None:
    """Staff of the level handling the case, or above: its region at that level is in their subtree."""
    handling = case.handling_path()
    if not by.unrestricted and not by.can_see_path(handling):
        raise Forbidden(
            f"case {case.id} is handled at {case.level} level ({handling[-1]}); the centre of that level or "
            "above verifies it",
            {"caseId": case.id, "level": str(case.level)},
        )


def _verified_current(case: Case) -> bool:
    v = case.verification
    return v is not None and case.resolved_at is not None and v.at >= case.resolved_at


def verify(
    case: Case,
    by: Principal,
    passed: bool,
    note: str | None,
    attachment_ids: Iterable[str] | None,
    now: datetime,
    sla: Sla,
    return_visit_s: int,
) -> None:
    """核查 of the latest resolution. Passed: the case awaits its rating (a 回访 task for a caller
    without an account). Failed (a note says why): back to IN_PROGRESS at the same level with
    the same handler (ACCEPTED if it had none) and a new deadline, counted as 重办."""
    authorize(by, Action.VERIFY, case)
    require_dispatching_level(by, case)
    if not isinstance(passed, bool):
        raise BadInput("passed is true or false", {"field": "passed"})
    why = text(note, "note", NOTE_MAX, required=not passed) or None
    case._require("verify", S.RESOLVED)
    if not case.verification_due and _verified_current(case):
        raise Conflict(f"the resolution of case {case.id} is verified already", {"verified": True})
    ids = [a.id for a in case.attachments_named(attachment_ids)]
    if len(case.verifications) >= VERIFICATIONS_MAX:
        raise Conflict(f"case {case.id} was verified {VERIFICATIONS_MAX} times, the most one case keeps")
    case._change(now)
    case.verifications.append(Verification(passed=passed, note=why, by=by.sub, at=now, attachment_ids=ids))
    case.verification_due = False
    if passed:
        _await_rating(case, now, return_visit_s)
        case._emit(
            ev.CaseVerified,
            by,
            now,
            passed=True,
            rework_count=case.rework_count,
            attachment_ids=ids,
            return_visit_due_at=case.return_visit_due_at,
            note="核查通过" + (f": {why}" if why else ""),
        )
        return
    case.rework_count += 1
    case._on_rework()  # the lead department (主办) handles it again
    # back to its handler; a case resolved without one (on the spot by the centre) to dispatch
    case.status, case.rating_window_from = (S.IN_PROGRESS if case.assignee else S.ACCEPTED), None
    case._set_due(now + case._sla_for(case.level, sla))
    case._emit(
        ev.CaseVerified,
        by,
        now,
        passed=False,
        rework_count=case.rework_count,
        attachment_ids=ids,
        due_at=case.due_at,
        note=f"核查未通过, 重办: {why}",
    )


def record_return_visit(
    case: Case,
    by: Principal,
    visit_id: str,
    satisfaction: ReturnVisitSatisfaction | None,
    reached: bool,
    note: str | None,
    now: datetime,
    sla: Sla,
) -> ReturnVisit:
    """回访 of a RESOLVED or CLOSED case. Reached: it counts in 满意率 and closes the 回访 task; on a
    RESOLVED case it decides like a rating (DISSATISFIED reopens once, otherwise closes).
    Not reached: recorded (without a satisfaction), the task stays open."""
    authorize(by, Action.RETURN_VISIT, case)
    if reached and satisfaction is None:
        raise BadInput("a reached caller's satisfaction is required", {"field": "satisfaction"})
    if not reached:
        satisfaction = None  # nobody answered: an answer sent along (API.md requires one) means nothing
    why = text(note, "note", NOTE_MAX, required=False) or None
    case._require("record a return visit for", S.RESOLVED, S.CLOSED)
    if case.merged_into is not None or case.resolved_at is None:
        raise Conflict(
            f"case {case.id} was merged into {case.merged_into} or never resolved; visit the case it was merged into",
            {"mergedInto": case.merged_into},
        )
    require_verified(case, "visited")
    if len(case.return_visits) >= RETURN_VISITS_MAX:
        raise Conflict(f"case {case.id} has {RETURN_VISITS_MAX} return visits, the most one case keeps")
    case._change(now)
    visit = ReturnVisit(id=visit_id, reached=reached, satisfaction=satisfaction, note=why, by=by.sub, at=now)
    case.return_visits.append(visit)
    outcome: tuple[type[ev.CaseEvent], dict] | None = None
    if reached:
        case.return_visit_due_at, case.return_visit_overdue = None, False
        if case.status is S.RESOLVED and satisfaction is ReturnVisitSatisfaction.DISSATISFIED and not case.reopened:
            case._reopen(now, sla)
            outcome = ev.CaseReopened, {"due_at": case.due_at}
        elif case.status is S.RESOLVED:
            case.status, case.closed_at = S.CLOSED, now
            outcome = ev.CaseClosed, {"rating": None}
    label = f"回访: {_SATISFACTION_NAMES[satisfaction]}" if satisfaction else "回访: 未联系上"
    case._emit(
        ev.CaseReturnVisited,
        by,
        now,
        visit_id=visit_id,
        reached=reached,
        satisfaction=satisfaction,
        channel=case.channel,
        note=label,
    )
    if outcome:
        case._emit(outcome[0], by, now, **outcome[1])
    return visit


def flag_return_visit_overdue(case: Case, now: datetime, by: Principal) -> bool:
    """The sweeper's rule: an open 回访 task past its deadline is flagged, once."""
    due = case.return_visit_due_at
    if due is None or case.return_visit_overdue or now < due:
        return False
    case._change(now)
    case.return_visit_overdue = True
    case._emit(ev.CaseReturnVisitOverdue, by, now, return_visit_due_at=due, note="回访超期 (return visit overdue)")
    return True


def correct(
    case: Case,
    by: Principal,
    reason: str,
    now: datetime,
    sla: Sla,
    category: Category | None = None,
    region_path: Iterable[str] | None = None,
    location: GeoPoint | None = None,
) -> None:
    """更正 the category, the location or the grid after intake (the handler routes a new point or
    region to its grid). A new grid takes the case's figures with it and leaves a grid worker or
    community it was assigned to (back to ACCEPTED there); a new category before any handling
    moves it to that category's level with a new deadline. Not for a closed or rejected case."""
    authorize(by, Action.CORRECT, case)
    why = text(reason, "reason", NOTE_MAX)
    if case.status in (S.CLOSED, S.REJECTED) or case.merged_into is not None:
        raise Conflict(
            f"case {case.id} is {case.status}; a closed case is not corrected",
            {"status": str(case.status)},
        )
    new_path = tuple(region_path) if region_path is not None else case.region_path
    if len(new_path) < 4 or len(set(new_path)) != len(new_path) or not all(new_path):
        raise BadInput("region_path must list distinct region ids from the county (or above) down to the grid")
    if not by.can_see_path(new_path):
        raise Forbidden(f"grid {new_path[-1]} is outside your scope", {"regionId": new_path[-1]})
    moved = new_path != case.region_path
    new_location = location if location is not None else (None if moved else case.location)
    recategorised = category is not None and category.code != case.category_code
    if not (moved or recategorised or new_location != case.location):
        raise BadInput(
            f"nothing to correct: case {case.id} already has this category and place",
            {"categoryCode": case.category_code, "regionId": case.region_id},
        )
    if case.corrections >= CORRECTIONS_MAX:
        raise Conflict(f"case {case.id} was corrected {CORRECTIONS_MAX} times, the most allowed")
    from_category, from_path, from_level, from_location, from_building = (
        case.category_code,
        case.region_path,
        case.level,
        case.location,
        case.building_id,
    )
    from_status = case.status
    case._change(now)
    case.corrections += 1
    case.location = new_location
    if moved:
        case.region_path, case.region_id = new_path, new_path[-1]
        if case.building_id is not None:  # building: a building of the old grid stays behind
            case.building_id = None
            if case.level is HandlingLevel.BUILDING:
                case.level = HandlingLevel.GRID
        if case.status in (S.ASSIGNED, S.IN_PROGRESS) and case.assignee and case.assignee.kind in TERRITORIAL:
            case.assignee, case.status = None, S.ACCEPTED
    due_at = None
    if recategorised and category is not None:
        case.category_code = category.code
        case.sla_override_s = category.sla_seconds
        case.requires_verification = category.requires_verification
        level = start_level(category, case.building_id)
        # before any handling: as it was before this correction (a move may just have unassigned it)
        if from_status in (S.REPORTED, S.ACCEPTED) and case.escalations == 0 and case.level != level:
            case.level = level
            case._set_due(now + case._sla_for(case.level, sla))
            due_at = case.due_at
    case._emit(
        ev.CaseCorrected,
        by,
        now,
        reason=why,
        from_category=from_category,
        to_category=case.category_code,
        from_region_id=from_path[-1],
        to_region_id=case.region_id,
        from_region_path=from_path,
        from_building_id=from_building,
        point_changed=new_location != from_location,
        from_level=from_level,
        due_at=due_at,
        note=f"更正: {why}",
    )


def comment(
    case: Case,
    by: Principal,
    comment_id: str,
    body: str,
    visibility: CommentVisibility,
    attachment_ids: Iterable[str] | None,
    now: datetime,
) -> CaseComment:
    """A comment by anyone who sees the case; residents (its reporters) write PUBLIC ones only.
    The event and the timeline say who commented and how visibly, never what."""
    authorize(by, Action.COMMENT, case)
    words = text(body, "text", COMMENT_MAX)
    if by.role is Role.RESIDENT and visibility is not CommentVisibility.PUBLIC:
        raise Forbidden("residents write PUBLIC comments only", {"visibility": str(visibility)})
    if case.merged_into is not None:
        raise Conflict(
            f"case {case.id} was merged into {case.merged_into}; comment there", {"mergedInto": case.merged_into}
        )
    if sum(1 for t in case.timeline if t.type == ev.CaseCommented.type) >= COMMENTS_MAX:
        raise Conflict(f"case {case.id} has {COMMENTS_MAX} comments, the most one case takes")
    ids = [a.id for a in case.attachments_named(attachment_ids)]
    case._change(now)
    case._emit(
        ev.CaseCommented,
        by,
        now,
        comment_id=comment_id,
        visibility=visibility,
        author_role=str(by.role),
        attachment_ids=ids,
        note=str(visibility),
    )
    return CaseComment(
        id=comment_id,
        case_id=case.id,
        text=words,
        visibility=visibility,
        author=by.sub,
        author_role=str(by.role),
        at=now,
        attachment_ids=ids,
    )
