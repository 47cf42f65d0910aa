"""党员联户: link a party member to the households they look after, or take them off."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.common import grids
from gateway.schema.org_types import PartyMember
from shared.contracts import grids as gc


@strawberry.type
class MemberLinksMutation:
    """Both answer the member as organizations shows them to others (phone and ID number masked),
    also to staff of the community the member lives in but is not organised in."""

    @strawberry.mutation(
        description="党员联户: link a party member to households of one community (where they live or are "
        "organised), all or none; a member already linked to one of them is a CONFLICT, and so is going past "
        "15 households per member"
    )
    async def link_member_to_households(
        self,
        info: Info,
        member_id: strawberry.ID,
        household_ids: list[strawberry.ID],
        idempotency_key: str | None = None,
    ) -> PartyMember:
        body = checked(gc.LinkMember, memberId=member_id, householdIds=household_ids, idempotencyKey=idempotency_key)
        return PartyMember(dto=(await grids(info).link_member(body))["member"])

    @strawberry.mutation(description="Take a party member off households they are linked to, all or none")
    async def unlink_member_from_households(
        self,
        info: Info,
        member_id: strawberry.ID,
        household_ids: list[strawberry.ID],
        idempotency_key: str | None = None,
    ) -> PartyMember:
        body = checked(gc.UnlinkMember, memberId=member_id, householdIds=household_ids, idempotencyKey=idempotency_key)
        return PartyMember(dto=(await grids(info).unlink_member(body))["member"])
