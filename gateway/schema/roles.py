"""Sign-in: who holds which role where. A person signed in by the government SSO (a token with
only `sub`) gets the role an administrator assigned them here; every change is audited (an event
naming who made it) and scoped (an admin assigns only inside their own subtree)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from gateway.clients import checked
from gateway.schema.common import Connection, connection, ctx, dto_type, from_dto, grids, listing, when
from gateway.schema.territory import Region
from shared.contracts import grids as gc


@dto_type(description="A person's role in the platform and where it applies (one per person)")
class RoleAssignment:
    dto: strawberry.Private[dict[str, Any]]

    sub: str = from_dto(description="The person's `sub`, as their identity provider signs it")
    role: str = from_dto(
        description="superadmin, admin, operator, grid_worker, department, volunteer, resident or building_leader"
    )

    @strawberry.field(description="Where it applies: the scope of a regional role, a resident's home region")
    def region(self) -> Region:
        d = self.dto
        return Region(dto={"id": d["regionId"], "name": d.get("regionName") or d["regionId"], "lazy": True})

    dept: str | None = from_dto(description="A department user's department code")
    member: str | None = from_dto(description="A volunteer's member record")
    assigned_by: str = from_dto(description="Who gave it (their `sub`)")
    assigned_at: datetime = from_dto(convert=when)
    version: int = from_dto()


def role_node(dto: dict) -> RoleAssignment:
    return RoleAssignment(dto=dto)


RoleAssignmentConnection = Connection[RoleAssignment]


@strawberry.type
class RolesQuery:
    @strawberry.field(
        description="Role assignments in a region's subtree (default: the caller's whole scope); administrators only"
    )
    async def role_assignments(
        self, info: Info, region_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> RoleAssignmentConnection:
        return connection(
            await grids(info).list_roles(listing(gc.ListRoles, {"regionId": region_id}, first, after)), role_node
        )


@strawberry.type
class RolesMutation:
    @strawberry.mutation(
        description="Give a person a role in a region (replacing any role they held): inside the caller's own "
        "subtree, never to themselves; only a superadmin makes a superadmin. A grid worker's region is a GRID, a "
        "building leader's a BUILDING; a department user names its department (`dept`)."
    )
    async def assign_role(
        self,
        info: Info,
        sub: str,
        role: str,
        region_id: strawberry.ID,
        dept: str | None = None,
        member: str | None = None,
    ) -> RoleAssignment:
        body = checked(gc.AssignRole, sub=sub, role=role, regionId=region_id, dept=dept, member=member)
        done = role_node(await grids(info).assign_role(body))
        ctx(info).verifier.forget(sub)  # this gateway signs them in with it from the next request
        return done

    @strawberry.mutation(description="Take a person's role away (signed in by sub alone, they are refused from then)")
    async def revoke_role(self, info: Info, sub: str) -> RoleAssignment:
        done = role_node(await grids(info).revoke_role(checked(gc.RoleOf, sub=sub)))
        ctx(info).verifier.forget(sub)
        return done
