"""Principals, roles and the scope test on region paths; JWT minting and verification."""
from __future__ import annotations

import time
from collections.abc import Sequence
from enum import StrEnum

import jwt
from pydantic import BaseModel

from shared.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    SUPERADMIN = "superadmin"
    ADMIN = "admin"
    OPERATOR = "operator"
    GRID_WORKER = "grid_worker"
    DEPARTMENT = "department"
    VOLUNTEER = "volunteer"
    RESIDENT = "resident"
    SERVICE = "service"  # one service calling another; never issued to people


# Roles whose scope is a region subtree (the resident's scope is their own records).
REGIONAL_ROLES = {Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.DEPARTMENT, Role.VOLUNTEER}
STAFF_ROLES = {Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR}


class Principal(BaseModel):
    sub: str
    role: Role
    region: str | None = None
    dept: str | None = None
    member: str | None = None

    @property
    def unrestricted(self) -> bool:
        return self.role in (Role.SUPERADMIN, Role.SERVICE)

    def can_see_path(self, path: Sequence[str]) -> bool:
        """True when a node with this ancestor path (top-down ids, ending with the node)
        lies in the principal's subtree."""
        if self.unrestricted:
            return True
        if self.role in REGIONAL_ROLES and self.region:
            return self.region in path
        return False

    def require_path(self, path: Sequence[str], what: str = "this region") -> None:
        if not self.can_see_path(path):
            raise Forbidden(f"{what} is outside your scope", {"region": self.region})

    def require_role(self, *roles: Role, action: str) -> None:
        if self.role is Role.SERVICE or self.role in roles:
            return
        raise Forbidden(f"role {self.role} may not {action}")

    def scope_filter(self, path_field: str = "path") -> dict:
        """A MongoDB filter that keeps only records in scope (residents see none by region)."""
        if self.unrestricted:
            return {}
        if self.role in REGIONAL_ROLES and self.region:
            return {path_field: self.region}
        return {"_id": {"$in": []}}


def mint_token(secret: str, *, sub: str, role: str, region: str | None = None,
               dept: str | None = None, member: str | None = None,
               ttl_s: int = 12 * 3600, issuer: str = "yiwang") -> str:
    Role(role)  # reject unknown roles early
    now = int(time.time())
    claims = {"sub": sub, "role": role, "iat": now, "exp": now + ttl_s, "iss": issuer}
    for k, v in (("region", region), ("dept", dept), ("member", member)):
        if v:
            claims[k] = v
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(token: str, secret: str, issuer: str = "yiwang") -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=issuer,
                            options={"require": ["sub", "exp", "iat"]})
    except jwt.ExpiredSignatureError as e:
        raise Unauthenticated("token expired") from e
    except jwt.PyJWTError as e:
        raise Unauthenticated(f"invalid token: {e}") from e
    try:
        principal = Principal(sub=claims["sub"], role=claims.get("role", ""),
                              region=claims.get("region"), dept=claims.get("dept"),
                              member=claims.get("member"))
    except ValueError as e:
        raise Unauthenticated("token has an unknown role") from e
    if principal.role in REGIONAL_ROLES and not principal.region:
        raise Unauthenticated(f"a {principal.role} token must name a region")
    return principal


def service_token(secret: str, service: str, issuer: str = "yiwang") -> str:
    return mint_token(secret, sub=f"svc:{service}", role=Role.SERVICE, ttl_s=3600, issuer=issuer)
