"""整顿: the rectification plan of an organisation flagged 软弱涣散 (domain/weak.py), with
tasks (each with a deadline and who is responsible), a review date, and a review that clears
the flag only once the score is below the threshold again.

Who: admins above the organisation start and review a plan (its own township's admins, for a
township's own committee); staff in scope, the organisation's own included, record a task done.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel, Field

from shared.auth import Principal
from shared.errors import BadInput, Conflict, Forbidden, NotFound
from shared.vocabulary.weak import PlanStatus

from .enums import Action
from .events import Aggregate
from .policy import SYSTEM, authorize
from .values import TEXT_MAX, text
from .weak import WeakStanding

MAX_TASKS = 20
MAX_PLAN_DAYS = 366
TOWNSHIP_DEPTH = 3  # CITY → COUNTY → TOWNSHIP: a township's own path is this long


class TaskInput(BaseModel):
    title: str
    responsible: str
    due_at: datetime


class RectificationTask(BaseModel):
    id: str
    title: str
    responsible: str  # a person, team or unit (named to staff only; never on the bus)
    due_at: datetime
    done_at: datetime | None = None
    note: str = ""
    overdue: bool = False  # raised by the sweeper once


class Review(BaseModel):
    at: datetime
    passed: bool
    note: str
    score: int
    threshold: int


def authorize_rectify(p: Principal, standing: WeakStanding) -> None:
    """An admin above the organisation, or of its own township; not the organisation's own
    admins below the township (they carry the plan out: `Action.RECORD_RECTIFICATION`)."""
    authorize(p, Action.RECTIFY, standing)
    if p.unrestricted:
        return
    path = standing.anchor_path
    above = p.region in path[:-1]
    own_township = p.region == path[-1] and len(path) == TOWNSHIP_DEPTH
    if not (above or own_township):
        raise Forbidden(
            "a rectification is started and reviewed by the admins above the organisation",
            {"id": standing.org_id, "action": str(Action.RECTIFY)},
        )


class RectificationPlan(Aggregate):
    aggregate_name: ClassVar[str] = "rectification"

    org_id: str
    anchor_path: tuple[str, ...]
    note: str = ""
    tasks: list[RectificationTask] = Field(default_factory=list)
    review_at: datetime
    status: PlanStatus = PlanStatus.OPEN
    reviews: list[Review] = Field(default_factory=list)
    started_at: datetime
    score_at_start: int = 0
    closed_at: datetime | None = None

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.anchor_path

    @property
    def next_due_at(self) -> datetime | None:
        """The earliest deadline of a task neither done nor yet raised overdue (the sweeper's index)."""
        if self.status is not PlanStatus.OPEN:
            return None
        due = [t.due_at for t in self.tasks if t.done_at is None and not t.overdue]
        return min(due) if due else None

    @classmethod
    def start(
        cls,
        *,
        id: str,
        standing: WeakStanding,
        tasks: list[TaskInput],
        review_at: datetime,
        note: str,
        by: Principal,
        now: datetime,
    ) -> RectificationPlan:
        authorize_rectify(by, standing)
        if not standing.flagged:
            raise Conflict(
                f"organisation {standing.org_id} is not flagged 软弱涣散 (score {standing.score}, "
                f"threshold {standing.threshold}); only a flagged organisation is rectified",
                {"organizationId": standing.org_id, "score": standing.score},
            )
        if standing.plan_id is not None:
            raise Conflict(
                f"organisation {standing.org_id} already has an open rectification plan {standing.plan_id}",
                {"planId": standing.plan_id},
            )
        if not 1 <= len(tasks) <= MAX_TASKS:
            raise BadInput(f"a plan has 1 to {MAX_TASKS} tasks", {"tasks": len(tasks)})
        horizon = now + timedelta(days=MAX_PLAN_DAYS)
        if not now < review_at <= horizon:
            raise BadInput(f"the review date is in the next {MAX_PLAN_DAYS} days", {"reviewAt": review_at.isoformat()})
        made: list[RectificationTask] = []
        for i, t in enumerate(tasks, 1):
            if not now < t.due_at <= review_at:
                raise BadInput(
                    f"task {i}'s deadline must lie after now and no later than the review date",
                    {"task": i, "dueAt": t.due_at.isoformat()},
                )
            made.append(
                RectificationTask(
                    id=f"t{i}",
                    title=text(t.title, "title", 200),
                    responsible=text(t.responsible, "responsible"),
                    due_at=t.due_at,
                )
            )
        plan = cls(
            id=id,
            org_id=standing.org_id,
            anchor_path=standing.anchor_path,
            note=text(note, "note", TEXT_MAX, required=False),
            tasks=made,
            review_at=review_at,
            started_at=now,
            score_at_start=standing.score,
            updated_at=now,
        )
        standing._change(now)
        standing.plan_id = plan.id
        plan._emit(
            "RECTIFICATION_STARTED",
            by,
            now,
            organizationId=standing.org_id,
            tasks=len(made),
            reviewAt=review_at.isoformat(),
            score=standing.score,
        )
        return plan

    def _open(self) -> None:
        if self.status is not PlanStatus.OPEN:
            raise Conflict(f"rectification plan {self.id} is {self.status}", {"status": str(self.status)})

    def task(self, task_id: str) -> RectificationTask:
        found = next((t for t in self.tasks if t.id == task_id), None)
        if found is None:
            raise NotFound(f"plan {self.id} has no task {task_id}")
        return found

    def complete_task(self, task_id: str, note: str, by: Principal, now: datetime) -> None:
        authorize(by, Action.RECORD_RECTIFICATION, self)
        self._open()
        task = self.task(task_id)
        if task.done_at is not None:
            raise Conflict(f"task {task_id} was done at {task.done_at.isoformat()}", {"taskId": task_id})
        self._change(now)
        task.done_at, task.note = now, text(note, "note", TEXT_MAX, required=False)
        self._emit(
            "RECTIFICATION_TASK_COMPLETED",
            by,
            now,
            organizationId=self.org_id,
            taskId=task_id,
            late=now > task.due_at,
            open=sum(1 for t in self.tasks if t.done_at is None),
        )

    def raise_overdue(self, now: datetime) -> bool:
        """The sweeper: each task past its deadline and not done is raised once."""
        late = [t for t in self.tasks if t.done_at is None and not t.overdue and t.due_at <= now]
        if self.status is not PlanStatus.OPEN or not late:
            return False
        self._change(now)
        for t in late:
            t.overdue = True
            self._emit(
                "RECTIFICATION_TASK_OVERDUE",
                SYSTEM,
                now,
                organizationId=self.org_id,
                taskId=t.id,
                dueAt=t.due_at.isoformat(),
            )
        return True

    def review(self, passed: bool, note: str, standing: WeakStanding, by: Principal, now: datetime) -> None:
        """A passed review clears the flag, but only when every task is done and the latest
        score is below the threshold; a failed one is recorded and the plan stays open."""
        authorize_rectify(by, standing)
        self._open()
        note = text(note, "note", TEXT_MAX, required=False)
        if passed:
            undone = [t.id for t in self.tasks if t.done_at is None]
            if undone:
                raise Conflict(f"tasks {', '.join(undone)} are not done yet", {"openTasks": undone})
            if standing.score >= standing.threshold:
                why = "; ".join(s.reason.rstrip(".") for s in standing.signals if s.points)
                raise Conflict(
                    f"the score is still {standing.score}, at or above the threshold {standing.threshold}: {why}",
                    {"score": standing.score, "threshold": standing.threshold},
                )
        self._change(now)
        self.reviews.append(
            Review(at=now, passed=passed, note=note, score=standing.score, threshold=standing.threshold)
        )
        self._emit(
            "RECTIFICATION_REVIEWED",
            by,
            now,
            organizationId=self.org_id,
            passed=passed,
            score=standing.score,
            threshold=standing.threshold,
        )
        if passed:
            self.status, self.closed_at = PlanStatus.PASSED, now
            standing.clear_by_review(by, now)
