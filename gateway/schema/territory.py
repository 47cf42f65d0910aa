"""Territory: regions, grids, buildings, grid workers, and the grids part of the overview."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.case_stats import CaseStats, load_case_stats
from gateway.schema.common import (
    Connection,
    LazyRecord,
    Node,
    Reader,
    connection,
    ctx,
    drop_none,
    dto_type,
    from_dto,
    grids,
    listing,
    orgs,
    reader,
    value_of,
    vols,
)
from gateway.schema.enums import GridWorkerRole, PartyOrgType, RegionLevel, VolunteerPostType
from gateway.schema.household_stats import HouseholdStats, load_household_stats
from gateway.schema.loads import load_region, load_visible_region
from gateway.schema.org_stats import OrgStats, load_org_stats
from gateway.schema.volunteer_stats import VolunteerStats, load_volunteer_stats
from shared.auth import require_figures
from shared.contracts import grids as gc
from shared.contracts import organizations as oc
from shared.contracts import volunteers as vc
from shared.contracts.common import ById
from shared.errors import BadInput, Forbidden
from shared.messaging.rpc import parse

if TYPE_CHECKING:  # the lazy edges below, for type checkers only (at run time strawberry.lazy resolves them)
    from gateway.schema.cadres import CadreStats
    from gateway.schema.deliberation import DeliberationStats  # deliberation
    from gateway.schema.org_types import PartyOrganization
    from gateway.schema.volunteer_types import VolunteerPost

# The one cycle of the type graph: a Region lists the organisations and posts anchored in it, and those
# point back to their Region. These two edges are lazy (strawberry.lazy), the rest are plain imports.
PartyOrganizationRef = Annotated["PartyOrganization", strawberry.lazy("gateway.schema.org_types")]
VolunteerPostRef = Annotated["VolunteerPost", strawberry.lazy("gateway.schema.volunteer_types")]
PARTY_ORGANIZATION = LazyRecord("PartyOrganization", "gateway.schema.org_types")
VOLUNTEER_POST = LazyRecord("VolunteerPost", "gateway.schema.volunteer_types")
CadreStatsRef = Annotated["CadreStats", strawberry.lazy("gateway.schema.cadres")]  # links:
DeliberationStatsRef = Annotated["DeliberationStats", strawberry.lazy("gateway.schema.deliberation")]  # deliberation


def _when(value: Any) -> datetime | None:
    """Times come from the service as ISO 8601 text; the DateTime scalar wants a datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@dto_type(
    description="A node of the territory tree. Outside your scope only the ancestors of "
    "your own region are visible, and of them only id, name, level and code."
)
class Region(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    name: str = from_dto()
    level: RegionLevel = from_dto()

    @strawberry.field(description="Official code, e.g. the 12-digit statistical division code")
    async def code(self, info: Info) -> str | None:
        if not self.dto.get("lazy"):
            return self.dto.get("code")
        try:
            return (await self._full(info)).get("code")
        except Forbidden:  # the name is all the caller may see of it
            return None

    async def _full(self, info: Info) -> dict:
        """The whole region. A `partial` DTO (a name outside the caller's scope) or a `lazy` one
        (what a record already knows of its region: id, name, level) is loaded on first need."""
        if not self.dto.get("partial") and not self.dto.get("lazy"):
            return self.dto
        full = await load_region(info, self.dto["id"])
        if full.get("partial"):
            raise Forbidden(f"only the name of region {self.dto['name']} is visible to you")
        return full

    @strawberry.field
    async def version(self, info: Info) -> int:
        return (await self._full(info))["version"]

    @strawberry.field
    async def parent(self, info: Info) -> Region | None:
        full = self.dto if "parentId" in self.dto else await self._full(info)
        return Region(dto=await load_region(info, full["parentId"])) if full.get("parentId") else None

    @strawberry.field(description="Top-down, ending with this node")
    async def path(self, info: Info) -> list[Region]:
        full = self.dto if "ancestors" in self.dto else await self._full(info)
        return [Region(dto={**a, "partial": True}) for a in full["ancestors"]] + [Region(dto=full)]

    @strawberry.field
    async def children(
        self, info: Info, first: int | None = None, after: str | None = None, level: RegionLevel | None = None
    ) -> RegionConnection:
        full = await self._full(info)
        query = listing(gc.ListRegions, {"parentId": full["id"], "level": value_of(level)}, first, after)
        return connection(await grids(info).list_regions(query), region_node)

    @strawberry.field(description="GeoJSON Polygon or MultiPolygon (lng/lat, WGS 84)")
    async def boundary(self, info: Info) -> JSON | None:
        return (await self._full(info)).get("boundary")

    @strawberry.field(description="Extra attributes: for a BUILDING e.g. address, floors, households, estate")
    async def attrs(self, info: Info) -> JSON:
        return JSON((await self._full(info)).get("attrs") or {})

    @strawberry.field
    async def created_at(self, info: Info) -> datetime | None:
        return _when((await self._full(info)).get("createdAt"))

    @strawberry.field
    async def updated_at(self, info: Info) -> datetime | None:
        return _when((await self._full(info)).get("updatedAt"))

    @strawberry.field
    async def overview(self, info: Info) -> RegionOverview:
        require_figures(ctx(info).principal)
        full = await self._full(info)
        return RegionOverview(region_id=full["id"], region_dto=full)

    @strawberry.field(description="Grid workers of the grids in this region")
    async def grid_workers(
        self, info: Info, first: int | None = None, after: str | None = None, role: GridWorkerRole | None = None
    ) -> GridWorkerConnection:
        return await list_workers(info, self.dto["id"], first, after, role)

    @strawberry.field(description="Party organisations anchored in this region or below")
    async def party_organizations(
        self, info: Info, type: PartyOrgType | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[PartyOrganizationRef]:
        page = await orgs(info).list_orgs(
            listing(
                oc.ListOrganizations, {"regionId": self.dto["id"], "type": type.value if type else None}, first, after
            )
        )
        return connection(page, PARTY_ORGANIZATION.of)

    @strawberry.field(description="Volunteer posts (志愿服务岗位) open for claims in this region or below")
    async def volunteer_posts(
        self, info: Info, type: VolunteerPostType | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[VolunteerPostRef]:
        page = await vols(info).list_posts(
            listing(vc.ListPosts, {"regionId": self.dto["id"], "type": type.value if type else None}, first, after)
        )
        return connection(page, VOLUNTEER_POST.of)


async def optional_region(info: Info, region_id: str | None) -> Region | None:
    """A record's optional reference to a region: None when the record names none."""
    return Region(dto=await load_region(info, region_id)) if region_id else None


async def required_region(info: Info, region_id: str) -> Region:
    """A record's reference to a region that every record of its type has (a non-null field)."""
    return Region(dto=await load_region(info, region_id))


def region_node(dto: dict) -> Region:
    return Region(dto=dto)


RegionConnection = Connection[Region]


@strawberry.type(description="Territory figures of a region and everything below it, kept with the writes")
class GridStats:
    grid_count: int = strawberry.field(description="Grids (网格) in the subtree")
    grid_worker_count: int = strawberry.field(description="Grid workers assigned to grids in the subtree")
    building_count: int = strawberry.field(description="Buildings (楼栋) in the subtree")
    community_count: int = strawberry.field(description="Communities and villages (社区/村) in the subtree")
    township_count: int = strawberry.field(description="Streets and townships (街道/乡镇) in the subtree")
    county_count: int = strawberry.field(description="Districts and counties (区/县) in the subtree")
    # links:
    communities_with_cadre: int = strawberry.field(
        default=0, description="Communities with an active STREET_CADRE or FIRST_SECRETARY (包联)"
    )
    grids_with_cadre: int = strawberry.field(default=0, description="Grids with an active COMMUNITY_CADRE (包联)")


@strawberry.type(description="Figures of one region at any level, each part from its service's rollups")
class RegionOverview:
    region_id: strawberry.Private[str]
    region_dto: strawberry.Private[dict | None] = None

    @strawberry.field
    async def region(self, info: Info) -> Region:
        return Region(dto=self.region_dto or await load_region(info, self.region_id))

    @strawberry.field(description="Territory figures; null with an UNAVAILABLE error if the grids service is down")
    async def grids(self, info: Info) -> GridStats | None:
        value = await ctx(info).loaders.grid_stats_by_region.load(self.region_id)
        return GridStats(**{_snake(k): v for k, v in value.items()})

    @strawberry.field(description="Case figures; null with an UNAVAILABLE error if the cases service is down")
    async def cases(self, info: Info) -> CaseStats | None:
        return await load_case_stats(info, self.region_id)

    @strawberry.field(
        description="Party organisation figures; null with an UNAVAILABLE error if the organizations service is down"
    )
    async def organizations(self, info: Info) -> OrgStats | None:
        return await load_org_stats(info, self.region_id)

    @strawberry.field(description="Volunteer figures; null with an UNAVAILABLE error if the volunteers service is down")
    async def volunteers(self, info: Info) -> VolunteerStats | None:
        return await load_volunteer_stats(info, self.region_id)

    # links:
    @strawberry.field(description="包联 coverage; null with an UNAVAILABLE error if the grids service is down")
    async def cadres(self, info: Info) -> CadreStatsRef | None:
        from gateway.schema.cadres import load_cadre_stats  # the lazy edge's module imports this one

        return await load_cadre_stats(info, self.region_id)

    # households:
    @strawberry.field(description="Household figures (实有人口): households, residents, per tag, visits, 联户")
    async def households(self, info: Info) -> HouseholdStats:
        return await load_household_stats(info, self.region_id)

    # deliberation
    @strawberry.field(
        description="Deliberation figures (一征三议两公开): proposals by stage; null with an UNAVAILABLE error if "
        "the organizations service is down"
    )
    async def deliberation(self, info: Info) -> DeliberationStatsRef | None:
        from gateway.schema.deliberation import load_deliberation_stats  # its module imports this one

        return await load_deliberation_stats(info, self.region_id)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@strawberry.type(
    description="网格员: staff who patrol a grid. Phones are masked except to staff in scope and to the worker"
)
class GridWorker:
    id: strawberry.ID
    sub: str = strawberry.field(description="The worker's principal subject (the `sub` of their token)")
    name: str
    role: GridWorkerRole
    role_name: str
    phone: str | None
    active: bool
    grid_id: strawberry.Private[str | None]

    @strawberry.field
    async def grid(self, info: Info) -> Region | None:
        return Region(dto=await load_region(info, self.grid_id)) if self.grid_id else None


def worker_node(d: dict) -> GridWorker:
    return GridWorker(
        id=strawberry.ID(d["id"]),
        sub=d["sub"],
        name=d["name"],
        role=GridWorkerRole(d["role"]),
        role_name=d["roleName"],
        phone=d.get("phone"),
        active=d["active"],
        grid_id=d.get("gridId"),
    )


GridWorkerConnection = Connection[GridWorker]


async def list_workers(
    info: Info, region_id: str, first: int | None, after: str | None, role: GridWorkerRole | None
) -> GridWorkerConnection:
    query = listing(gc.ListWorkers, {"regionId": region_id, "role": value_of(role)}, first, after)
    return connection(await grids(info).list_workers(query), worker_node)


@strawberry.type(description="The caller, as the gateway understood their token")
class Principal:
    sub: str
    role: str
    dept: str | None
    member: str | None
    region_id: strawberry.Private[str | None]

    @strawberry.field
    async def region(self, info: Info) -> Region | None:
        return Region(dto=await load_region(info, self.region_id)) if self.region_id else None


@strawberry.input
class CreateRegionInput:
    name: str
    level: RegionLevel
    parent_id: strawberry.ID | None = None
    code: str | None = None
    id: str | None = strawberry.field(default=None, description="Optional id: lowercase letters, digits, '-', '_'")
    boundary: JSON | None = strawberry.field(
        default=None,
        description=(
            "GeoJSON Polygon or MultiPolygon inside the nearest ancestor's boundary; a GRID's may overlap "
            "no other grid (edges may touch)"
        ),
    )
    attrs: JSON | None = None
    idempotency_key: str | None = None


@strawberry.input
class UpdateRegionInput:
    id: strawberry.ID
    name: str | None = None
    code: str | None = None
    attrs: JSON | None = None
    expected_version: int | None = None


@strawberry.input
class CreateBuildingInput:
    grid_id: strawberry.ID
    name: str
    code: str | None = None
    address: str | None = None
    estate: str | None = strawberry.field(default=None, description="小区: the residential compound")
    floors: int | None = None
    households: int | None = None
    boundary: JSON | None = strawberry.field(default=None, description="Footprint polygon, optional")
    idempotency_key: str | None = None


@strawberry.input
class RegisterGridWorkerInput:
    sub: str
    name: str
    role: GridWorkerRole
    grid_id: strawberry.ID
    phone: str | None = None
    idempotency_key: str | None = None


read_region: Reader[Region] = reader(lambda info, id: ctx(info).loaders.region_by_id.load(id), region_node)


@strawberry.type
class TerritoryQuery:
    @strawberry.field
    def me(self, info: Info) -> Principal:
        p = ctx(info).principal
        return Principal(sub=p.sub, role=str(p.role), dept=p.dept, member=p.member, region_id=p.region)

    @strawberry.field
    async def region(self, info: Info, id: strawberry.ID) -> Region | None:
        return await read_region(info, str(id))

    @strawberry.field(description="Regions in your scope; without parentId and level, the root of your scope")
    async def regions(
        self,
        info: Info,
        parent_id: strawberry.ID | None = None,
        level: RegionLevel | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> RegionConnection:
        query = listing(gc.ListRegions, {"parentId": parent_id, "level": value_of(level)}, first, after)
        return connection(await grids(info).list_regions(query), region_node)

    @strawberry.field(
        description="The GRID whose boundary contains the point, or null (on a shared edge, or in an "
        "overlap stored from before overlaps were refused: the smaller grid)"
    )
    async def locate(self, info: Info, lng: float, lat: float) -> Region | None:
        dto = await grids(info).locate(checked(gc.Locate, lng=lng, lat=lat))
        return Region(dto=dto) if dto else None

    @strawberry.field
    async def overview(self, info: Info, region_id: strawberry.ID) -> RegionOverview:
        require_figures(ctx(info).principal)
        dto = await load_visible_region(info, str(region_id))
        return RegionOverview(region_id=str(region_id), region_dto=dto)

    @strawberry.field
    async def grid_worker(self, info: Info, id: strawberry.ID) -> GridWorker | None:
        d = await grids(info).get_worker(checked(ById, id=str(id)))
        return worker_node(d) if d else None

    @strawberry.field
    async def grid_workers(
        self,
        info: Info,
        region_id: strawberry.ID,
        role: GridWorkerRole | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> GridWorkerConnection:
        return await list_workers(info, str(region_id), first, after, role)


@strawberry.type
class TerritoryMutation:
    @strawberry.mutation(
        description="Create a region; its parent must be one level up (a GRID's parent is a COMMUNITY)"
    )
    async def create_region(self, info: Info, input: CreateRegionInput) -> Region:
        payload = drop_none(
            {
                "parentId": input.parent_id,
                "name": input.name,
                "level": input.level.value,
                "code": input.code,
                "id": input.id,
                "boundary": input.boundary,
                "attrs": input.attrs,
                "idempotencyKey": input.idempotency_key,
            }
        )  # `parse`, not `checked`: the JSON fields travel as given, nulls inside them too
        return Region(dto=await grids(info).create_region(parse(gc.CreateRegion, payload)))

    @strawberry.mutation(description="Rename a region, change its code or attributes")
    async def update_region(self, info: Info, input: UpdateRegionInput) -> Region:
        payload = {
            "id": input.id,
            **drop_none({"name": input.name, "attrs": input.attrs, "expectedVersion": input.expected_version}),
        }
        if input.code is not None:
            payload["code"] = input.code or None  # "" clears the code: an explicit null (`checked` drops nulls)
        return Region(dto=await grids(info).update_region(parse(gc.UpdateRegion, payload)))

    @strawberry.mutation(description="Move a region (and its subtree) under a new parent of the right level")
    async def move_region(
        self, info: Info, id: strawberry.ID, new_parent_id: strawberry.ID, expected_version: int | None = None
    ) -> Region:
        body = checked(gc.MoveRegion, id=id, newParentId=new_parent_id, expectedVersion=expected_version)
        return Region(dto=await grids(info).move_region(body))

    @strawberry.mutation(description="Set (or, with null, clear) a region's GeoJSON boundary")
    async def set_region_boundary(
        self,
        info: Info,
        id: strawberry.ID,
        boundary: JSON | None = strawberry.UNSET,
        expected_version: int | None = None,
    ) -> Region:
        if boundary is strawberry.UNSET:  # leaving it out must not clear it
            raise BadInput("`boundary` is required: a GeoJSON Polygon or MultiPolygon, or null to clear it")
        payload = drop_none({"id": id, "expectedVersion": expected_version}) | {"boundary": boundary}  # null clears
        return Region(dto=await grids(info).set_boundary(parse(gc.SetBoundary, payload)))

    @strawberry.mutation(description="Add a building (楼栋) to a grid")
    async def create_building(self, info: Info, input: CreateBuildingInput) -> Region:
        attrs = drop_none(
            {"address": input.address, "estate": input.estate, "floors": input.floors, "households": input.households}
        )
        payload = drop_none(
            {
                "parentId": input.grid_id,
                "name": input.name,
                "level": "BUILDING",
                "code": input.code,
                "boundary": input.boundary,
                "attrs": attrs,
                "idempotencyKey": input.idempotency_key,
            }
        )
        return Region(dto=await grids(info).create_region(parse(gc.CreateRegion, payload)))

    @strawberry.mutation(description="Register a grid worker (网格员) and assign them to a grid")
    async def register_grid_worker(self, info: Info, input: RegisterGridWorkerInput) -> GridWorker:
        return worker_node(await grids(info).register_worker(checked(gc.RegisterWorker, input)))

    @strawberry.mutation(description="Reassign a grid worker to another grid")
    async def assign_grid_worker(self, info: Info, id: strawberry.ID, grid_id: strawberry.ID) -> GridWorker:
        return worker_node(await grids(info).assign_worker(checked(gc.AssignWorker, id=id, gridId=grid_id)))

    @strawberry.mutation(description="Take a grid worker off their grid (they stay registered)")
    async def unassign_grid_worker(self, info: Info, id: strawberry.ID) -> GridWorker:
        body = parse(gc.AssignWorker, {"id": id, "gridId": None})  # an explicit null: off their grid
        return worker_node(await grids(info).assign_worker(body))
