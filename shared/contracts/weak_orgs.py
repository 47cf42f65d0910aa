"""Wire models of the weak-organisation score (软弱涣散) and rectification (整顿) verbs of the
organizations service; replies in WEAK_API."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.contracts.common import ById, ByIds, Page, Wire
from shared.vocabulary.weak import WeakSignal

Id = Field(min_length=1, max_length=64)
Key = Field(default=None, max_length=128)
Note = Field(default="", max_length=5000)
SIGNALS = tuple(WeakSignal)

WEAK_API = """
Verbs on `yiwang.organizations.<verb>` (payload model → reply):
  weak.list ListWeak → {items: [WeakStanding], totalCount, hasNextPage, endCursor}   flagged, in the region's subtree
  weak.settings {} → WeakSettings            weak.setSettings SetWeakSettings → WeakSettings (superadmin, city admin)
  weak.rate ByIds → {items: {orgId: WeakStanding | {error}}}   services and superadmins: rate now, as the sweeper does
  rectification.start StartRectification → RectificationPlan    admins above the organisation (or its township)
  rectification.completeTask CompleteRectificationTask → RectificationPlan   staff in scope
  rectification.review ReviewRectification → RectificationPlan  admins above the organisation (or its township)
  rectification.get ById → RectificationPlan | null

WeakStanding = {organizationId, score, threshold, flagged, flaggedAt, ratedAt, planId, rectifiedCount,
                signals: [{signal, value, threshold, points, maxPoints, reason}], plan: RectificationPlan | null}
WeakSettings = {threshold, windowDays, minCases, version, updatedAt, rules: [{signal, threshold, points}]}
RectificationPlan = {id, organizationId, note, status (OPEN|PASSED), reviewAt, startedAt, closedAt, scoreAtStart,
                     tasks: [{id, title, responsible, dueAt, doneAt, note, overdue}],
                     reviews: [{at, passed, note, score, threshold}], version}
"""


class ListWeak(Page):
    regionId: str = Id


class SignalRuleInput(Wire):
    signal: WeakSignal
    threshold: float = Field(ge=0, le=100_000)
    points: int = Field(ge=0, le=1000)


class SetWeakSettings(Wire):
    threshold: int = Field(ge=1, le=1000)
    windowDays: int = Field(default=90, ge=1, le=366)
    minCases: int = Field(default=5, ge=0, le=10_000)
    rules: list[SignalRuleInput] = Field(default_factory=list, max_length=len(SIGNALS))


class TaskInput(Wire):
    title: str = Field(min_length=1, max_length=200)
    responsible: str = Field(min_length=1, max_length=64)
    dueAt: AwareDatetime


class StartRectification(Wire):
    organizationId: str = Id
    tasks: list[TaskInput] = Field(min_length=1, max_length=20)
    reviewAt: AwareDatetime
    note: str = Note
    idempotencyKey: str | None = Key


class CompleteRectificationTask(Wire):
    planId: str = Id
    taskId: str = Id
    note: str = Note
    idempotencyKey: str | None = Key


class ReviewRectification(Wire):
    planId: str = Id
    passed: bool
    note: str = Note
    idempotencyKey: str | None = Key


# The request model of each verb (joined into the organizations REQUESTS table).
REQUESTS: dict[str, type[Wire]] = {
    "weak.list": ListWeak,
    "weak.settings": Wire,
    "weak.setSettings": SetWeakSettings,
    "weak.rate": ByIds,
    "rectification.start": StartRectification,
    "rectification.completeTask": CompleteRectificationTask,
    "rectification.review": ReviewRectification,
    "rectification.get": ById,
}
