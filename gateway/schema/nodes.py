"""Relay global object identification: `node(id:)` and `nodes(ids:)` read any record with a global id
through the same function as the record's own query, so a record outside the caller's scope gets the
same FORBIDDEN or null answer either way."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from gateway.schema.cases import read_case
from gateway.schema.common import PAGE_MAX, Node, Reader, parse_global_id
from gateway.schema.households import read_household  # households:
from gateway.schema.organizations import (
    read_co_building_unit,
    read_joint_meeting,
    read_membership_transfer,
    read_party_member,
    read_party_organization,
)
from gateway.schema.territory import read_region
from gateway.schema.visits import read_visit
from gateway.schema.volunteers import (
    read_activity,
    read_service_order,
    read_volunteer,
    read_volunteer_post,
    read_volunteer_team,
)
from shared.errors import BadInput

# GraphQL type name -> the reader its own single-record query uses
READERS: dict[str, Reader[Any]] = {
    "Region": read_region,
    "Case": read_case,
    "PartyOrganization": read_party_organization,
    "PartyMember": read_party_member,
    "MembershipTransfer": read_membership_transfer,
    "CoBuildingUnit": read_co_building_unit,
    "JointMeeting": read_joint_meeting,
    "Volunteer": read_volunteer,
    "VolunteerTeam": read_volunteer_team,
    "VolunteerPost": read_volunteer_post,
    "ServiceOrder": read_service_order,
    "Activity": read_activity,
    "Household": read_household,  # households:
    "Visit": read_visit,
}


async def read_node(info: Info, global_id: str) -> Node | None:
    type_name, record_id = parse_global_id(global_id)
    reader = READERS.get(type_name)
    if reader is None:
        raise BadInput(f"`id` names a {type_name}, which has no global id")
    return await reader(info, record_id)


@strawberry.type
class NodeQuery:
    @strawberry.field(description="The record of a global id (a record's `nodeId`), with the scope of its own query")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await read_node(info, str(id))

    @strawberry.field(
        description=f"Records by global id, in the order given (at most {PAGE_MAX}); each is null "
        "with its own error where the record's own query would refuse it"
    )
    def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > PAGE_MAX:
            raise BadInput(f"`ids` takes at most {PAGE_MAX} ids")
        # one awaitable per item: graphql-core completes each on its own, so one refusal nulls one entry. The
        # annotation is the GraphQL type Strawberry reads; that a list item may be awaitable mypy cannot know
        return [read_node(info, str(i)) for i in ids]  # type: ignore[misc]
