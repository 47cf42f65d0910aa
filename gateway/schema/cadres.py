"""包联: cadre assignments to communities, grids and buildings, and the cadre coverage of a region."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.common import Connection, connection, ctx, dto_type, from_dto, grids, listing, when
from gateway.schema.enums import RegionLevel
from gateway.schema.territory import Region
from shared.contracts import grids as gc
from shared.contracts.common import ById


@dto_type(
    description="包联: a cadre tied to a community (街道干部联社区, 第一书记), a grid (社区干部联网格) or a building"
)
class CadreAssignment:
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()
    sub: str = from_dto(description="The cadre's principal subject (the `sub` of their token)")
    name: str | None = from_dto()
    role: str = from_dto(
        description="STREET_CADRE (a COMMUNITY), COMMUNITY_CADRE (a GRID), MEMBER_BUILDING and BUILDING_LEADER "
        "(a BUILDING), FIRST_SECRETARY (a COMMUNITY)"
    )
    role_name: str = from_dto()
    level: RegionLevel = from_dto(convert=RegionLevel)

    @strawberry.field(description="Its id, name and level are shown to the cadre even outside their own scope")
    def region(self) -> Region:
        d = self.dto
        return Region(dto={"id": d["regionId"], "name": d["regionName"], "level": d["level"], "lazy": True})

    active: bool = from_dto()
    assigned_at: datetime = from_dto(convert=when)
    assigned_by: str = from_dto()
    ended_at: datetime | None = from_dto(convert=when)
    visit_count: int = from_dto(default=0, description="Visits (走访) this cadre recorded, anywhere")
    version: int = from_dto()


def cadre_node(dto: dict) -> CadreAssignment:
    return CadreAssignment(dto=dto)


CadreAssignmentConnection = Connection[CadreAssignment]


def _share(covered: int, total: int) -> float | None:
    return covered / total if total else None


@strawberry.type(description="包联 coverage of a region and everything below it, kept with the writes")
class CadreStats:
    communities_with_cadre: int = strawberry.field(
        description="Communities with an active STREET_CADRE or FIRST_SECRETARY"
    )
    grids_with_cadre: int = strawberry.field(description="Grids with an active COMMUNITY_CADRE")
    community_count: strawberry.Private[int]
    grid_count: strawberry.Private[int]

    @strawberry.field(description="communitiesWithCadre / communities; null without communities")
    def community_coverage(self) -> float | None:
        return _share(self.communities_with_cadre, self.community_count)

    @strawberry.field(description="gridsWithCadre / grids; null without grids")
    def grid_coverage(self) -> float | None:
        return _share(self.grids_with_cadre, self.grid_count)

    @strawberry.field(description="Communities and grids with a cadre / communities and grids (CADRE_COVERAGE)")
    def coverage(self) -> float | None:
        return cadre_coverage(
            {
                "communitiesWithCadre": self.communities_with_cadre,
                "gridsWithCadre": self.grids_with_cadre,
                "communityCount": self.community_count,
                "gridCount": self.grid_count,
            }
        )


def cadre_coverage(counters: dict) -> float | None:
    """The ranking figure CADRE_COVERAGE, from a region's grids counters."""
    covered = counters.get("communitiesWithCadre", 0) + counters.get("gridsWithCadre", 0)
    return _share(covered, counters.get("communityCount", 0) + counters.get("gridCount", 0))


async def load_cadre_stats(info: Info, region_id: str) -> CadreStats:
    c = await ctx(info).loaders.grid_stats_by_region.load(region_id)
    return CadreStats(
        communities_with_cadre=c.get("communitiesWithCadre", 0),
        grids_with_cadre=c.get("gridsWithCadre", 0),
        community_count=c.get("communityCount", 0),
        grid_count=c.get("gridCount", 0),
    )


@strawberry.type
class CadresQuery:
    @strawberry.field(description="Cadre assignments in a region's subtree, or of one cadre (give one of the two)")
    async def cadre_assignments(
        self,
        info: Info,
        region_id: strawberry.ID | None = None,
        sub: str | None = None,
        include_ended: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> CadreAssignmentConnection:
        query = listing(
            gc.ListCadres, {"regionId": region_id, "sub": sub, "includeEnded": include_ended or None}, first, after
        )
        return connection(await grids(info).list_cadres(query), cadre_node)

    @strawberry.field
    async def cadre_assignment(self, info: Info, id: strawberry.ID) -> CadreAssignment | None:
        return cadre_node(await grids(info).get_cadre(checked(ById, id=str(id))))


@strawberry.type
class CadresMutation:
    @strawberry.mutation(
        description="包联: tie a cadre to a region of the level their role takes; the same person, region "
        "and role twice is a CONFLICT; with an idempotencyKey a retry returns the first assignment"
    )
    async def assign_cadre(
        self,
        info: Info,
        sub: str,
        region_id: strawberry.ID,
        role: str,
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> CadreAssignment:
        body = checked(
            gc.AssignCadre, sub=sub, regionId=region_id, role=role, name=name, idempotencyKey=idempotency_key
        )
        return cadre_node(await grids(info).assign_cadre(body))

    @strawberry.mutation(description="End a cadre assignment (kept, inactive, for the record)")
    async def unassign_cadre(self, info: Info, id: strawberry.ID) -> CadreAssignment:
        return cadre_node(await grids(info).unassign_cadre(checked(ById, id=str(id))))
