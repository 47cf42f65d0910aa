"""Reads of single records and pages through the request's DataLoaders and service clients: the layer
below the types, so any type module can load any record without importing another type module."""

from __future__ import annotations

from strawberry.types import Info

from gateway.schema.common import ctx
from shared.errors import Forbidden, NotFound


async def load_region(info: Info, region_id: str) -> dict:
    value = await ctx(info).loaders.region_by_id.load(region_id)  # raises the service's error
    if value is None:
        raise NotFound(f"region {region_id} does not exist")
    return value


async def load_visible_region(info: Info, region_id: str) -> dict:
    """A region in the caller's scope (outside it only ancestors' names are visible: FORBIDDEN)."""
    dto = await load_region(info, region_id)
    if dto.get("partial"):
        raise Forbidden(f"region {dto['name']} is outside your scope")
    return dto


async def load_case(info: Info, case_id: str) -> dict | None:
    """The case DTO, None if there is no such case; the service's typed error if it refused."""
    return await ctx(info).loaders.case_by_id.load(case_id)


async def load_org(info: Info, org_id: str) -> dict | None:
    """The organisation DTO, None if there is none; the service's typed error if it refused."""
    return await ctx(info).loaders.org_by_id.load(org_id)


async def load_member(info: Info, member_id: str) -> dict | None:
    return await ctx(info).loaders.member_by_id.load(member_id)


async def load_unit(info: Info, unit_id: str) -> dict | None:
    return await ctx(info).loaders.unit_by_id.load(unit_id)


async def load_volunteer(info: Info, volunteer_id: str) -> dict | None:
    """The volunteer DTO, None if there is none; the service's typed error if it refused."""
    return await ctx(info).loaders.volunteer_by_id.load(volunteer_id)


# links: a party member's linked households (ids, live ones) and the visits they recorded
async def load_member_links(info: Info, member_id: str) -> dict:
    value = await ctx(info).loaders.links_by_member.load(member_id)  # raises the service's error
    return value or {"householdIds": [], "visitCount": 0}
