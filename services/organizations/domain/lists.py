"""The three lists (三张清单): needs from communities, resources from units, and projects
that match a need to a resource."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.auth import Principal
from shared.errors import BadInput, Conflict
from shared.vocabulary.resources import NEED_TRANSITIONS, ListCategory, NeedStatus

from .enums import Action, ProjectStatus
from .events import Aggregate
from .policy import authorize
from .units import Unit
from .values import TEXT_MAX, Node, text

P = ProjectStatus
TRANSITIONS: dict[ProjectStatus, frozenset[ProjectStatus]] = {
    P.PROPOSED: frozenset({P.AGREED, P.CANCELLED}),
    P.AGREED: frozenset({P.IN_PROGRESS, P.CANCELLED}),
    P.IN_PROGRESS: frozenset({P.DONE, P.CANCELLED}),
    P.DONE: frozenset(),
    P.CANCELLED: frozenset(),
}


class Need(Aggregate):
    aggregate_name: ClassVar[str] = "need"

    community_id: str
    community_path: tuple[str, ...]
    title: str
    description: str = ""
    status: NeedStatus = NeedStatus.OPEN
    category: ListCategory = ListCategory.OTHER

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def post(
        cls,
        *,
        id: str,
        community: Node,
        title: str,
        description: str,
        by: Principal,
        now: datetime,
        category: ListCategory = ListCategory.OTHER,
    ) -> Need:
        if community.level != "COMMUNITY":
            raise BadInput(f"needs are posted by a COMMUNITY, not a {community.level}")
        need = cls(
            id=id,
            community_id=community.id,
            community_path=community.path,
            title=text(title, "title", 200),
            description=text(description, "description", TEXT_MAX, False),
            category=category,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_LISTS, need)
        need._emit("NEED_POSTED", by, now, title=need.title, category=str(category))
        return need

    def move_to(self, status: NeedStatus, by: Principal, now: datetime, note: str = "") -> None:
        """OPEN → MATCHED → DONE; back to OPEN from MATCHED; CLOSED (with a reason) from any but CLOSED."""
        authorize(by, Action.MANAGE_LISTS, self)
        if status is self.status:
            return  # a retry
        if status not in NEED_TRANSITIONS[self.status]:
            raise Conflict(
                f"need {self.id} is {self.status}; it cannot become {status}",
                {"status": str(self.status), "to": str(status)},
            )
        if status is NeedStatus.CLOSED and not note.strip():
            raise BadInput("closing a need needs a reason")
        old = self.status
        self._change(now)
        self.status = status
        self._emit("NEED_STATUS_CHANGED", by, now, fromStatus=str(old), status=str(status), note=note.strip() or None)


class Resource(Aggregate):
    aggregate_name: ClassVar[str] = "resource"

    unit_id: str
    unit_path: tuple[str, ...]
    title: str
    description: str = ""
    category: ListCategory = ListCategory.OTHER

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.unit_path

    @classmethod
    def offer(
        cls,
        *,
        id: str,
        unit: Unit,
        title: str,
        description: str,
        by: Principal,
        now: datetime,
        category: ListCategory = ListCategory.OTHER,
    ) -> Resource:
        res = cls(
            id=id,
            unit_id=unit.id,
            unit_path=unit.region_path,
            title=text(title, "title", 200),
            description=text(description, "description", TEXT_MAX, False),
            category=category,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_LISTS, res)
        res._emit("RESOURCE_OFFERED", by, now, unitId=unit.id, title=res.title, category=str(category))
        return res


class Project(Aggregate):
    aggregate_name: ClassVar[str] = "project"

    need_id: str
    resource_id: str
    community_path: tuple[str, ...]
    title: str
    status: ProjectStatus = P.PROPOSED
    category: ListCategory = ListCategory.OTHER  # the need's, when it was proposed

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.community_path

    @classmethod
    def propose(cls, *, id: str, need: Need, resource: Resource, title: str, by: Principal, now: datetime) -> Project:
        project = cls(
            id=id,
            need_id=need.id,
            resource_id=resource.id,
            community_path=need.community_path,
            title=text(title, "title", 200),
            category=need.category,
            updated_at=now,
        )
        authorize(by, Action.MANAGE_LISTS, project)
        project._emit("PROJECT_PROPOSED", by, now, needId=need.id, resourceId=resource.id, title=project.title)
        return project

    def move_to(self, status: ProjectStatus, by: Principal, now: datetime, note: str = "") -> None:
        """PROPOSED → AGREED → IN_PROGRESS → DONE; CANCELLED from any open status."""
        authorize(by, Action.MANAGE_LISTS, self)
        if status not in TRANSITIONS[self.status]:
            raise Conflict(
                f"project {self.id} is {self.status}; it cannot become {status}",
                {"status": str(self.status), "to": str(status)},
            )
        if status is P.CANCELLED and not note.strip():
            raise BadInput("cancelling a project needs a reason")
        old = self.status
        self._change(now)
        self.status = status
        self._emit(
            "PROJECT_STATUS_CHANGED", by, now, fromStatus=str(old), status=str(status), note=note.strip() or None
        )
