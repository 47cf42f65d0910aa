"""Cases handed to volunteers: a task per case, fed by `cases` events; the case's
resolution credits service hours once (idempotent per case id)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, NamedTuple

from .base import Aggregate, hours_tenths, region_path, text
from .enums import TaskStatus
from .policy import SYSTEM

DEFAULT_CASE_HOURS = 1.0  # the settings' default when the cases service names no hours


class VolunteerTask(Aggregate):
    """`id` is the case id, so a redelivered ASSIGNED event finds the task it made."""

    kind: ClassVar[str] = "task"

    volunteer_id: str
    title: str
    status: TaskStatus = TaskStatus.OPEN
    hours_tenths: int = 0
    resolved_at: datetime | None = None

    @property
    def case_id(self) -> str:
        return self.id

    @property
    def hours(self) -> float:
        return self.hours_tenths / 10

    @classmethod
    def from_case(
        cls, *, case_id: str, title: str, path: Iterable[str], volunteer_id: str, now: datetime
    ) -> VolunteerTask:
        task = cls(
            id=case_id,
            volunteer_id=volunteer_id,
            title=text(title, "title", 200),
            region_path=region_path(path),
            created_at=now,
            updated_at=now,
        )
        task._emit("TASK_ASSIGNED", SYSTEM, now, case_id=case_id, volunteer_id=volunteer_id)
        return task

    def reassign(self, volunteer_id: str, now: datetime) -> bool:
        """The case went to another volunteer before resolution; False if nothing changed."""
        if self.status is not TaskStatus.OPEN or volunteer_id == self.volunteer_id:
            return False
        self._change(now)
        self.volunteer_id = volunteer_id
        self._emit("TASK_ASSIGNED", SYSTEM, now, case_id=self.id, volunteer_id=volunteer_id)
        return True

    def resolve(self, now: datetime, hours: float | None = None, default_hours: float = DEFAULT_CASE_HOURS) -> bool:
        """Credit `hours` (or the default) once; a second resolution is ignored (False)."""
        if self.status is TaskStatus.RESOLVED:
            return False
        tenths = hours_tenths(hours if hours is not None else default_hours)
        self._change(now)
        self.status, self.resolved_at, self.hours_tenths = TaskStatus.RESOLVED, now, tenths
        self._emit("TASK_RESOLVED", SYSTEM, now, case_id=self.id, volunteer_id=self.volunteer_id, hours=tenths / 10)
        return True


class CaseStep(NamedTuple):
    """What a `cases` event means to the volunteers' tasks: `ASSIGN` (to the volunteer known by
    `assignee_id`: their volunteer id, member id or sub) or `RESOLVE`."""

    step: str
    assignee_id: str | None = None


def case_step(event: str, data: Mapping[str, Any]) -> CaseStep | None:
    """A case assigned to a VOLUNTEER becomes (or moves) their task; a resolved case closes the
    task if a volunteer has it; every other event is no concern of volunteers."""
    assignee = data.get("assignee") or {}
    if event == "ASSIGNED" and assignee.get("kind") == "VOLUNTEER":
        return CaseStep("ASSIGN", assignee["id"])
    if event == "RESOLVED":
        return CaseStep("RESOLVE")
    return None
