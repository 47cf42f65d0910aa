from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.contracts.common import Page, Wire
from shared.vocabulary.territory import Level, WorkerRole

LevelName = Level
WorkerRoleName = WorkerRole


class CreateRegion(Wire):
    parentId: str | None = None
    name: str = Field(max_length=64)
    level: LevelName
    code: str | None = None
    id: str | None = None  # optional subject-safe id; generated when absent
    boundary: dict[str, Any] | None = None
    attrs: dict[str, Any] = Field(default_factory=dict)
    idempotencyKey: str | None = Field(default=None, max_length=128)


class UpdateRegion(Wire):
    id: str
    name: str | None = Field(default=None, max_length=64)
    code: str | None = None
    attrs: dict[str, Any] | None = None
    expectedVersion: int | None = None


class MoveRegion(Wire):
    id: str
    newParentId: str
    expectedVersion: int | None = None


class SetBoundary(Wire):
    id: str
    boundary: dict[str, Any] | None
    expectedVersion: int | None = None


class ListRegions(Page):
    parentId: str | None = None
    level: LevelName | None = None


class Locate(Wire):
    lng: float
    lat: float


class CheckTerritory(Wire):
    limit: int = Field(default=1000, ge=1, le=5000, description="problems listed per kind (all are counted)")


class RegisterWorker(Wire):
    sub: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=32)
    phone: str | None = None
    role: WorkerRoleName
    gridId: str
    idempotencyKey: str | None = Field(default=None, max_length=128)


class AssignWorker(Wire):
    id: str
    gridId: str | None  # None: unassign


class ListWorkers(Page):
    regionId: str
    role: WorkerRoleName | None = None


class RegionView(Wire):
    """A region as events carry it (no personal data)."""

    id: str
    name: str
    level: LevelName
    code: str | None = None
    parentId: str | None = None
    path: list[str] = Field(description="Ancestor ids, top-down, ending with this region")
    ancestors: list[dict[str, Any]] = Field(default_factory=list, description="Breadcrumbs: id, name, level, code")
    boundary: dict[str, Any] | None = Field(default=None, description="GeoJSON Polygon or MultiPolygon")
    attrs: dict[str, Any] = Field(default_factory=dict)
    version: int


class RegionChanged(Wire):
    """A region was created, renamed or re-coded, or got a new boundary."""

    region: RegionView
    changed: list[str] | None = None


class RegionMoved(Wire):
    """A region and its subtree moved under a new parent: every path below changed."""

    region: RegionView
    oldPath: list[str]
    newPath: list[str]


class WorkerView(Wire):
    id: str
    sub: str
    name: str
    role: WorkerRoleName
    gridId: str | None


class WorkerChanged(Wire):
    """A grid worker was registered, assigned to a grid, or taken off one."""

    worker: WorkerView


# links: 党员联户 (a party member's households) and 包联 (cadres tied to communities, grids, buildings)
MAX_LINK_BATCH = 20  # households named in one link or unlink request


class AssignCadre(Wire):
    sub: str = Field(min_length=1, max_length=64, description="The cadre's principal subject")
    regionId: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=32, description="A CadreRole; its level decides the region's level")
    name: str | None = Field(default=None, max_length=32, description="The cadre's name as shown to staff")
    idempotencyKey: str | None = Field(default=None, max_length=128)


class ListCadres(Page):
    regionId: str | None = Field(default=None, max_length=64, description="Assignments in this region's subtree")
    sub: str | None = Field(default=None, max_length=64, description="Assignments of this cadre")
    includeEnded: bool = False


class CadresOfSub(Wire):
    sub: str | None = Field(default=None, max_length=64, description="A service asks for anyone; others get their own")


class LinkMember(Wire):
    memberId: str = Field(min_length=1, max_length=64)
    householdIds: list[str] = Field(min_length=1, max_length=MAX_LINK_BATCH)
    idempotencyKey: str | None = Field(default=None, max_length=128)


class CadreView(Wire):
    id: str
    sub: str
    regionId: str
    level: LevelName
    role: str
    active: bool


class CadreChanged(Wire):
    """A cadre was assigned to a region (包联), or the assignment ended."""

    assignment: CadreView


class MemberLinkChanged(Wire):
    """A party member was linked to households (党员联户), or unlinked: ids and counts only."""

    memberId: str
    communityId: str
    householdIds: list[str]
    linkedCount: int = Field(description="The member's linked households after the change")


GRID_EVENTS: dict[str, type[Wire]] = {
    "REGION_CREATED": RegionChanged,
    "REGION_UPDATED": RegionChanged,
    "BOUNDARY_SET": RegionChanged,
    "REGION_MOVED": RegionMoved,
    "WORKER_REGISTERED": WorkerChanged,
    "WORKER_ASSIGNED": WorkerChanged,
    "WORKER_UNASSIGNED": WorkerChanged,
    # links:
    "MEMBER_LINKED": MemberLinkChanged,
    "MEMBER_UNLINKED": MemberLinkChanged,
    "CADRE_ASSIGNED": CadreChanged,
    "CADRE_UNASSIGNED": CadreChanged,
}
