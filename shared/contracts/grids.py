from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from shared.contracts.common import Page, Wire
from shared.vocabulary.territory import HouseholdTag, Level, Relation, WorkerRole

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


class ImportedRegion(Wire):
    """One region of a `region.import` batch: as `region.create`'s, with its id given (an import is
    re-sent safely: a region whose id is stored already is skipped)."""

    id: str = Field(min_length=1, max_length=48)
    parentId: str | None = None
    name: str = Field(max_length=64)
    level: LevelName
    code: str | None = None
    boundary: dict[str, Any] | None = None
    attrs: dict[str, Any] = Field(default_factory=dict)


REGION_IMPORT_MAX = 500


class ImportRegions(Wire):
    """region.import: up to REGION_IMPORT_MAX regions in one transaction, parents before their
    children (a parent is stored already, or earlier in the batch); a batch re-sent with the same
    `importId` imports nothing again."""

    importId: str = Field(min_length=1, max_length=128)
    regions: list[ImportedRegion] = Field(min_length=1, max_length=REGION_IMPORT_MAX)


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


MAX_LINK_IMPORT = 200  # links of one member.linkImport batch (a community's, when seeding)


class ImportLinks(Wire):
    """`member.linkImport` (services only): many `member.link`s in one transaction, each with its key."""

    links: list[LinkMember] = Field(min_length=1, max_length=MAX_LINK_IMPORT)


class UnlinkMember(LinkMember):
    """The households to take the member off (each must be linked to them)."""


class AssignRole(Wire):
    sub: str = Field(
        min_length=1, max_length=128, description="The person's `sub`, as their identity provider gives it"
    )
    role: str = Field(min_length=1, max_length=32, description="A role (not `service`)")
    regionId: str = Field(min_length=1, max_length=64, description="Where the role applies (a resident: their home)")
    dept: str | None = Field(default=None, min_length=1, max_length=32, description="A department user's code")
    member: str | None = Field(default=None, min_length=1, max_length=64, description="A volunteer's member id")


class RoleOf(Wire):
    sub: str = Field(min_length=1, max_length=128)


class ListRoles(Page):
    regionId: str | None = Field(default=None, max_length=64, description="Assignments in this region's subtree")


class RoleAssignmentView(Wire):
    subKey: str
    role: str
    regionId: str
    dept: str | None = None
    member: str | None = None


class RoleChanged(Wire):
    """A person was given a role in a region (replacing any they had), or their role was revoked."""

    assignment: RoleAssignmentView
    previousRole: str | None = None


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


# households: the verbs' requests and the events (ids, tags, counts and paths only: no names,
# phones, ID numbers or rooms).
class PersonInput(Wire):
    relation: Relation = Relation.HEAD
    name: str = Field(min_length=1, max_length=32)
    phone: str | None = Field(default=None, max_length=24)
    idNumber: str | None = Field(default=None, max_length=24)
    gender: str | None = Field(default=None, max_length=8, description="MALE or FEMALE (from the ID number if given)")
    birthYear: int | None = None


class RegisterHousehold(Wire):
    buildingId: str = Field(min_length=1, max_length=64)
    gridId: str | None = Field(default=None, max_length=64, description="when given, must be the building's grid")
    unit: str | None = Field(default=None, max_length=16)
    room: str | None = Field(default=None, max_length=16)
    head: PersonInput
    members: list[PersonInput] = Field(default_factory=list, max_length=30)
    tags: list[HouseholdTag] = Field(default_factory=list, max_length=len(HouseholdTag))
    idempotencyKey: str | None = Field(default=None, max_length=128)


class UpdateHousehold(Wire):
    """Fields given replace the stored ones (members: the whole list); a household never changes building."""

    id: str = Field(min_length=1, max_length=64)
    unit: str | None = Field(default=None, max_length=16)
    room: str | None = Field(default=None, max_length=16)
    head: PersonInput | None = None
    members: list[PersonInput] | None = Field(default=None, max_length=30)
    tags: list[HouseholdTag] | None = Field(default=None, max_length=len(HouseholdTag))
    expectedVersion: int | None = None
    idempotencyKey: str | None = Field(default=None, max_length=128)


class MoveOutHousehold(Wire):
    id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    expectedVersion: int | None = None


class RevealHousehold(Wire):
    id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)


class ListHouseholds(Page):
    regionId: str = Field(min_length=1, max_length=64)
    tag: HouseholdTag | None = None
    includeMovedOut: bool = False


class ImportHousehold(RegisterHousehold):
    key: str = Field(min_length=1, max_length=128, description="the client's key of this household: imported once")


class ImportHouseholds(Wire):
    households: list[ImportHousehold] = Field(min_length=1, max_length=500)


class HouseholdsOfMember(Page):
    memberId: str = Field(min_length=1, max_length=64)


class HouseholdEvent(Wire):
    """A household was registered, changed, or moved out (ids, tags and counts only)."""

    householdId: str
    buildingId: str
    gridId: str | None = None
    communityId: str | None = None
    residentCount: int
    tags: list[str]
    changed: list[str] | None = None
    version: int


class HouseholdsImported(Wire):
    """Households of one building registered by a bulk import (one event per building and batch)."""

    buildingId: str
    gridId: str | None = None
    communityId: str | None = None
    householdIds: list[str]
    householdCount: int
    residentCount: int
    byTag: dict[str, int] = Field(description="households per tag, of those imported")


class HouseholdRevealed(Wire):
    """Audit: an administrator saw a household's personal data unmasked (never the data)."""

    householdId: str
    buildingId: str
    reasonLength: int
    role: str


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
    # sign-in: role assignments
    "ROLE_ASSIGNED": RoleChanged,
    "ROLE_REVOKED": RoleChanged,
    # households:
    "HOUSEHOLD_REGISTERED": HouseholdEvent,
    "HOUSEHOLD_UPDATED": HouseholdEvent,
    "HOUSEHOLD_MOVED_OUT": HouseholdEvent,
    "HOUSEHOLD_REVEALED": HouseholdRevealed,
    "HOUSEHOLDS_IMPORTED": HouseholdsImported,
}


# visits: 走访 and the visiting rules (三必到五必访)
class RecordVisit(Wire):
    householdId: str | None = Field(default=None, max_length=64)
    buildingId: str | None = Field(default=None, max_length=64)  # a visit to a building (楼栋走访) with no household
    kind: str = Field(min_length=1, max_length=32, description="a visiting rule's code, or ROUTINE")
    findings: str | None = Field(default=None, max_length=2000)
    at: AwareDatetime | None = None  # default: now
    lng: float | None = None
    lat: float | None = None
    overrideReason: str | None = Field(default=None, max_length=200)
    idempotencyKey: str | None = Field(default=None, max_length=128)


class ListVisits(Page):
    regionId: str = Field(min_length=1, max_length=64)
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None
    householdId: str | None = Field(default=None, max_length=64)


class VisitPlanQuery(Wire):
    gridId: str = Field(min_length=1, max_length=64)
    withinDays: int = Field(default=7, ge=0, le=31, description="due from now up to this many days ahead")
    first: int = Field(default=200, ge=1, le=1000)


class VisitRuleInput(Wire):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["MUST_VISIT", "MUST_ATTEND"]
    tag: str | None = Field(default=None, max_length=32)
    intervalDays: int | None = None
    withinDays: int | None = None
    active: bool = True


class SetVisitRules(Wire):
    rules: list[VisitRuleInput] = Field(max_length=40)
    expectedVersion: int | None = None


class ReportFromVisit(Wire):
    visitId: str = Field(min_length=1, max_length=64)
    report: dict[str, Any]  # a cases ReportCase; channel, source and idempotency key are set from the visit


class ImportedVisit(Wire):
    key: str = Field(min_length=1, max_length=128)  # the client's key: a second import of it adds nothing
    householdId: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=32)
    at: AwareDatetime
    visitor: str = Field(min_length=1, max_length=64)
    visitorMember: str | None = Field(default=None, max_length=64)  # a party member's visit (党员联户)
    findings: str | None = Field(default=None, max_length=2000)
    lng: float | None = None
    lat: float | None = None


class ImportVisits(Wire):
    items: list[ImportedVisit] = Field(max_length=500)


class WorkQuery(Wire):
    first: int = Field(default=50, ge=1, le=200)


class VisitView(Wire):
    """A visit as events carry it: no findings, no place (they may be personal)."""

    id: str
    householdId: str | None = None
    buildingId: str
    gridId: str
    kind: str
    at: AwareDatetime
    flagged: bool
    visitor: str
    visitorMember: str | None = None
    attachmentCount: int = 0
    caseId: str | None = None


class VisitRecorded(Wire):
    """A visit was recorded (or imported); a must-visit household's next visit is due again later."""

    visit: VisitView
    nextVisitDue: AwareDatetime | None = None


class VisitOverdue(Wire):
    """A must-visit household is past its due visit (raised once per lapse, by the sweeper)."""

    householdId: str
    buildingId: str
    gridId: str
    rule: str
    dueAt: AwareDatetime


class VisitCaseLinked(Wire):
    """A case was reported from a visit's finding (channel GRID_PATROL) and linked to it."""

    visitId: str
    caseId: str
    householdId: str | None = None


class VisitCaseRequested(Wire):
    """A case was asked for from a visit's finding; VISIT_CASE_LINKED follows once `cases` has it."""

    visitId: str
    householdId: str | None = None


class VisitAttachmentAdded(Wire):
    """A file was attached to a visit."""

    visitId: str
    attachmentId: str
    kind: str
    size: int


class VisitsImported(Wire):
    """A batch of past visits was imported (seeding, onboarding): how many, to how many households."""

    count: int
    households: int


class VisitRulesSet(Wire):
    """The deployment's visiting rules changed; households are rescheduled by them."""

    version: int
    rules: list[VisitRuleInput]


VISIT_EVENTS: dict[str, type[Wire]] = {
    "VISIT_RECORDED": VisitRecorded,
    "VISIT_OVERDUE": VisitOverdue,
    "VISIT_CASE_REQUESTED": VisitCaseRequested,
    "VISIT_CASE_LINKED": VisitCaseLinked,
    "VISIT_ATTACHMENT_ADDED": VisitAttachmentAdded,
    "VISIT_RULES_SET": VisitRulesSet,
    "VISITS_IMPORTED": VisitsImported,
}
GRID_EVENTS.update(VISIT_EVENTS)  # visits

# The events' fields, for the AsyncAPI document (shared/asyncapi.py gives a field without a
# description of its own the one named `<Model>.<field>` here, else the one named `<field>`).
GRID_FIELD_DESCRIPTIONS: dict[str, str] = {
    "region": "The region (区划节点) as it is after the change",
    "changed": "The names of the fields that changed (null: all, a new record)",
    "oldPath": "The region's path before the move",
    "newPath": "The region's path after the move",
    "worker": "The grid worker (网格员) as it is after the change",
    "assignment": "The cadre's assignment (包联) as it is after the change",
    "memberId": "The party member (党员) linked or unlinked (党员联户)",
    "communityId": "The community (社区) of the record",
    "householdIds": "The households (户) concerned",
    "householdId": "The household (户)",
    "buildingId": "The building (楼栋)",
    "gridId": "The grid (网格)",
    "residentCount": "How many residents are registered in it (in-household only, no names)",
    "tags": "The household's tags (重点人群标签: elderly living alone, disabled, low income…)",
    "version": "The record's version after the change",
    "householdCount": "How many households the batch registered",
    "reasonLength": "The length of the reason given (the reason itself is kept in the audit log)",
    "role": "The role of who did it",
    "visit": "The visit (走访) as recorded: no findings, no place",
    "nextVisitDue": "When the household's next visit is due by the visiting rules (三必到五必访), if one is",
    "rule": "The visiting rule's code whose visit is overdue",
    "dueAt": "When the visit was due",
    "visitId": "The visit (走访)",
    "caseId": "The case (案件) reported from the visit",
    "attachmentId": "The file's id (its bytes are in the file store)",
    "size": "The file's size in bytes",
    "count": "How many visits the batch imported",
    "households": "How many households they were visits to",
    "rules": "The visiting rules (走访规则) now in force",
    "RegionView.id": "The region's id (a subject-safe token of the region path)",
    "RegionView.name": "The region's name (区划名称)",
    "RegionView.level": "The region's level: CITY, COUNTY, TOWNSHIP (街道/乡镇), COMMUNITY (社区/村), GRID (网格), "
    "BUILDING (楼栋)",
    "RegionView.code": "The region's administrative code (区划代码), if it has one",
    "RegionView.parentId": "The region above it (null for a city)",
    "RegionView.attrs": "Other attributes of the region (free-form)",
    "WorkerView.id": "The grid worker's id",
    "WorkerView.sub": "The grid worker's principal `sub` (their account)",
    "WorkerView.name": "The grid worker's name (网格员姓名), as staff see it",
    "WorkerView.role": "The worker's role (网格长, 专职网格员, 兼职网格员…)",
    "WorkerView.gridId": "The grid the worker works in (null: none now)",
    "RoleAssignmentView.subKey": "The person, as a keyed hash of their `sub` (the bus never carries a `sub`)",
    "RoleAssignmentView.role": "The role they hold in the platform",
    "RoleAssignmentView.regionId": "Where it applies: the scope of a regional role, a resident's home region",
    "RoleAssignmentView.dept": "A department user's department code",
    "RoleAssignmentView.member": "A volunteer's member record",
    "RoleChanged.previousRole": "The role the person held before (null: none)",
    "CadreView.id": "The assignment's id",
    "CadreView.sub": "The cadre's principal `sub` (干部账号)",
    "CadreView.regionId": "The community, grid or building the cadre is tied to (包联)",
    "CadreView.level": "The level of that region",
    "CadreView.role": "The cadre's role (包联角色)",
    "CadreView.active": "Whether the assignment is in force (false: it ended)",
    "VisitView.id": "The visit's id",
    "VisitView.kind": "The visiting rule's code the visit counts for, or ROUTINE (日常走访)",
    "VisitView.at": "When the visit was made",
    "VisitView.flagged": "Whether the visit was flagged: recorded outside the household's grid (with the reason given)",
    "VisitView.visitor": "The principal `sub` of who visited (the grid worker)",
    "VisitView.visitorMember": "The party member who visited, for a 党员联户 visit",
    "VisitView.attachmentCount": "How many files are attached to the visit",
    "VisitView.caseId": "The case reported from the visit, if one was",
    "VisitAttachmentAdded.kind": "What the file is: PHOTO, VIDEO, AUDIO or DOCUMENT",
    "VisitRuleInput.code": "The rule's code",
    "VisitRuleInput.name": "The rule's name (e.g. 独居老人每周必访)",
    "VisitRuleInput.kind": "MUST_VISIT (必访: a household with the tag) or MUST_ATTEND (必到: an occasion)",
    "VisitRuleInput.tag": "The household tag the rule applies to",
    "VisitRuleInput.intervalDays": "How often a household with the tag must be visited, in days",
    "VisitRuleInput.withinDays": "Within how many days of the occasion the visit is due",
    "VisitRuleInput.active": "Whether the rule is in force",
}
