"""Households (实有人口, by 户): `Household`, `Person`, their queries and mutations, and the audited reveal."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.common import (
    Connection,
    Node,
    connection,
    ctx,
    dto_type,
    from_dto,
    graphql_enum,
    grids,
    listing,
    when,
)
from gateway.schema.loads import load_member, load_region
from gateway.schema.org_types import PartyMember, member_node
from gateway.schema.territory import Region
from shared.contracts import grids as gc
from shared.errors import DomainError, Unavailable
from shared.messaging.rpc import parse
from shared.vocabulary.territory import Relation

graphql_enum(
    Relation,
    name="HouseholdRelation",
    description="与户主关系: HEAD 户主, SPOUSE 配偶, CHILD 子女, PARENT 父母, GRANDCHILD 孙子女, "
    "SIBLING 兄弟姐妹, OTHER 其他, TENANT 租客",
)


@strawberry.type(
    description="A person of a household. Names and phones are masked (张*三, 138****5678) except to the "
    "grid worker of the household's grid, the leader of its building and its linked party members; ID "
    "numbers are masked (110***********1234) to everyone but in revealHousehold"
)
class Person:
    relation: Relation
    name: str
    phone: str | None
    id_number: str | None = strawberry.field(description="公民身份号码, masked but in revealHousehold")
    gender: str | None = strawberry.field(description="MALE or FEMALE")
    birth_year: int | None


def person_node(d: dict[str, Any]) -> Person:
    return Person(
        relation=Relation(d["relation"]),
        name=d["name"],
        phone=d.get("phone"),
        id_number=d.get("idNumber"),
        gender=d.get("gender"),
        birth_year=d.get("birthYear"),
    )


@dto_type(description="A household (户) living in a building: unit and room, its head and members, tags")
class Household(Node):
    dto: strawberry.Private[dict[str, Any]]

    id: strawberry.ID = from_dto()

    @strawberry.field(description="The BUILDING it lives in")
    async def building(self, info: Info) -> Region:
        return Region(dto=await load_region(info, self.dto["buildingId"]))

    @strawberry.field(description="The GRID of its building")
    async def grid(self, info: Info) -> Region | None:
        grid_id = self.dto.get("gridId")
        return Region(dto=await load_region(info, grid_id)) if grid_id else None

    unit: str | None = from_dto(description="单元")
    room: str | None = from_dto(description="室")

    @strawberry.field(description="户主")
    def head(self) -> Person:
        return person_node(self.dto["head"])

    @strawberry.field(description="The other members, each with their relation to the head")
    def members(self) -> list[Person]:
        return [person_node(m) for m in self.dto.get("members") or []]

    resident_count: int = from_dto(convert=int, default=0, description="The head and the members")
    tags: list[str] = from_dto(default=[], description="ELDERLY_ALONE 独居老人, LOW_INCOME 低保, DISABLED 残疾, …")

    @strawberry.field(description="Party members linked to the household (党员联户) whom the caller may read")
    async def linked_members(self, info: Info) -> list[PartyMember]:
        ids = self.dto.get("linkedMemberIds") or []
        results = await asyncio.gather(*(load_member(info, i) for i in ids), return_exceptions=True)
        out = []
        for r in results:
            if isinstance(r, Unavailable) or (isinstance(r, BaseException) and not isinstance(r, DomainError)):
                raise r
            if isinstance(r, dict):
                out.append(member_node(r))
        return out

    must_visit: bool = from_dto(default=False, description="Under a must-visit rule (三必到五必访)")
    last_visit_at: datetime | None = from_dto(convert=when)
    next_visit_due: datetime | None = from_dto(convert=when)
    visit_overdue: bool = from_dto(default=False, description="Past nextVisitDue without a visit")
    moved_out_at: datetime | None = from_dto(convert=when, description="Set once the household moved out")
    move_out_reason: str | None = from_dto()
    contact_visible: bool = from_dto(default=False, description="Whether names and phones are shown unmasked")
    registered_at: datetime = from_dto(convert=when)
    updated_at: datetime = from_dto(convert=when)
    version: int = from_dto(convert=int, description="For optimistic concurrency: pass as expectedVersion")


HouseholdConnection = Connection[Household]


def household_node(dto: dict[str, Any]) -> Household:
    return Household(dto=dto)


async def read_household(info: Info, household_id: str) -> Household | None:
    """The single read of a household (its query and node(id:)): FORBIDDEN outside the caller's scope and
    to staff above the community, who see figures only."""
    dto = await ctx(info).loaders.household_by_id.load(household_id)
    return household_node(dto) if dto else None


# --- inputs ---------------------------------------------------------------------------------------------


@strawberry.input(description="A person of a household; gender and birth year come from the ID number when given")
class PersonInput:
    name: str
    relation: Relation | None = strawberry.field(default=None, description="Of a member (the head is HEAD)")
    phone: str | None = strawberry.field(default=None, description="A mobile (11 digits) or landline with area code")
    id_number: str | None = strawberry.field(default=None, description="18-character 公民身份号码 (GB 11643)")
    gender: str | None = strawberry.field(default=None, description="MALE or FEMALE")
    birth_year: int | None = None


@strawberry.input
class RegisterHouseholdInput:
    building_id: strawberry.ID = strawberry.field(description="The BUILDING it lives in")
    grid_id: strawberry.ID | None = strawberry.field(
        default=None, description="When given, must be the building's grid (else BAD_USER_INPUT)"
    )
    unit: str | None = strawberry.field(default=None, description="单元")
    room: str | None = strawberry.field(default=None, description="室; unit and room are unique in the building")
    head: PersonInput = strawberry.field(description="户主")
    members: list[PersonInput] = strawberry.field(default_factory=list)
    tags: list[str] = strawberry.field(default_factory=list, description="Household tags (HouseholdTag values)")
    idempotency_key: str | None = strawberry.field(
        default=None, description="A retry with the same key returns the first household"
    )


@strawberry.input(
    description="Fields given replace the stored ones (members: the whole list; null unit or room clears it). "
    "A person given without phone or ID number keeps the stored ones of the person of the same name and relation"
)
class UpdateHouseholdInput:
    unit: str | None = strawberry.UNSET
    room: str | None = strawberry.UNSET
    head: PersonInput | None = None
    members: list[PersonInput] | None = None
    tags: list[str] | None = None
    expected_version: int | None = None
    idempotency_key: str | None = None


def person_wire(x: PersonInput, head: bool) -> dict[str, Any]:
    """A person input as the contract's camelCase fields; fields left out stay out (the service keeps them)."""
    out: dict[str, Any] = {"name": x.name, "relation": "HEAD" if head else (x.relation or Relation.OTHER).value}
    for key, value in (
        ("phone", x.phone),
        ("idNumber", x.id_number),
        ("gender", x.gender),
        ("birthYear", x.birth_year),
    ):
        if value is not None:
            out[key] = value
    return out


# --- queries and mutations ----------------------------------------------------------------------------


@strawberry.type
class HouseholdsQuery:
    @strawberry.field(
        description="Households of a region's subtree (a grid worker's grid, a building leader's building, a "
        "community's; a volunteer's linked ones). Staff above the community get FORBIDDEN: they see "
        "regionOverview.households"
    )
    async def households(
        self,
        info: Info,
        region_id: strawberry.ID,
        tag: str | None = None,
        first: int | None = None,
        after: str | None = None,
        include_moved_out: bool = False,
    ) -> HouseholdConnection:
        page = await grids(info).list_households(
            listing(
                gc.ListHouseholds,
                {"regionId": region_id, "tag": tag, "includeMovedOut": include_moved_out},
                first,
                after,
            )
        )
        return connection(page, household_node)

    @strawberry.field
    async def household(self, info: Info, id: strawberry.ID) -> Household | None:
        return await read_household(info, str(id))


@strawberry.type
class HouseholdsMutation:
    @strawberry.mutation(description="Register a household in a building; names, phones and ID numbers are encrypted")
    async def register_household(self, info: Info, input: RegisterHouseholdInput) -> Household:
        body = checked(
            gc.RegisterHousehold,
            buildingId=input.building_id,
            gridId=input.grid_id,
            unit=input.unit,
            room=input.room,
            head=person_wire(input.head, head=True),
            members=[person_wire(m, head=False) for m in input.members],
            tags=input.tags,
            idempotencyKey=input.idempotency_key,
        )
        return household_node(await grids(info).register_household(body))

    @strawberry.mutation(description="Change a household's unit and room, persons or tags (never its building)")
    async def update_household(self, info: Info, id: strawberry.ID, input: UpdateHouseholdInput) -> Household:
        payload: dict[str, Any] = {"id": str(id)}
        for key, value in (("unit", input.unit), ("room", input.room)):
            if value is not strawberry.UNSET:
                payload[key] = value
        if input.head is not None:
            payload["head"] = person_wire(input.head, head=True)
        if input.members is not None:
            payload["members"] = [person_wire(m, head=False) for m in input.members]
        optional: dict[str, Any] = {
            "tags": input.tags,
            "expectedVersion": input.expected_version,
            "idempotencyKey": input.idempotency_key,
        }
        payload |= {k: v for k, v in optional.items() if v is not None}
        return household_node(await grids(info).update_household(parse(gc.UpdateHousehold, payload)))

    @strawberry.mutation(description="The household moved out: it leaves the figures and frees its unit and room")
    async def move_out_household(
        self, info: Info, id: strawberry.ID, reason: str, expected_version: int | None = None
    ) -> Household:
        body = checked(gc.MoveOutHousehold, id=str(id), reason=reason, expectedVersion=expected_version)
        return household_node(await grids(info).move_out_household(body))

    @strawberry.mutation(
        description="One household with every field unmasked (ID numbers too), for an administrator whose region "
        "holds it; audited (HOUSEHOLD_REVEALED names who and the reason's length, never the data)"
    )
    async def reveal_household(self, info: Info, id: strawberry.ID, reason: str) -> Household:
        body = checked(gc.RevealHousehold, id=str(id), reason=reason)
        return household_node(await grids(info).reveal_household(body))
