"""Principals, roles and their scope (the rule is in shared/scope); JWT minting and verification.

Two kinds of token, told apart by key and audience:
- a person's token (from `yiwang token` in development, the identity provider in production),
  signed with `YIWANG_JWT_SECRET`, no audience, never the role `service`, living at most
  `YIWANG_JWT_MAX_TTL_S`. The gateway accepts only these, and forwards them to the services.
- a service's own token (one service calling another, the launcher's seeding), role `service`,
  audience `yiwang-internal`, signed with a key derived from the secret for this use alone, living
  at most `SERVICE_TOKEN_TTL_S`. Only services accept it; a person's token that claims the role
  `service` is refused everywhere, and a service token shown to the gateway fails its signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from enum import StrEnum

import jwt
from pydantic import BaseModel

from shared.errors import DomainError, Forbidden, NotFound, Unauthenticated
from shared.scope import region_scope


class Role(StrEnum):
    SUPERADMIN = "superadmin"
    ADMIN = "admin"
    OPERATOR = "operator"
    GRID_WORKER = "grid_worker"
    DEPARTMENT = "department"
    VOLUNTEER = "volunteer"
    RESIDENT = "resident"
    BUILDING_LEADER = "building_leader"  # 楼栋长 / 党员中心户: one building (`region` is a BUILDING)
    SERVICE = "service"  # one service calling another; never issued to people


# Roles whose scope is a region subtree (the resident's scope is their own records).
REGIONAL_ROLES = {Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.DEPARTMENT, Role.VOLUNTEER, Role.BUILDING_LEADER}
STAFF_ROLES = {Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR}
INTERNAL_AUDIENCE = "yiwang-internal"
SERVICE_TOKEN_TTL_S = 3600
DEFAULT_MAX_TTL_S = 24 * 3600
_SERVICE_KEY_LABEL = b"yiwang/service-token/v1"


class Principal(BaseModel):
    sub: str
    role: Role
    region: str | None = None
    dept: str | None = None
    member: str | None = None
    expires_at: int | None = None  # unix seconds, from the token

    @property
    def unrestricted(self) -> bool:
        return self.role in (Role.SUPERADMIN, Role.SERVICE)

    @property
    def regional(self) -> bool:
        """A role whose scope is a region's subtree (its token names the region)."""
        return self.role in REGIONAL_ROLES

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at

    def can_see_path(self, path: Sequence[str]) -> bool:
        """True when a node with this ancestor path (top-down ids, ending with the node)
        lies in the principal's subtree (`shared.scope.region_scope`)."""
        return region_scope(self).admits_path(path)

    def require_path(self, path: Sequence[str], what: str = "this region") -> None:
        if not self.can_see_path(path):
            raise hidden(self, what)

    def require_role(self, *roles: Role, action: str) -> None:
        if self.role is Role.SERVICE or self.role in roles:
            return
        raise Forbidden(f"role {self.role} may not {action}")

    def scope_filter(self, path_field: str = "path") -> dict:
        """A MongoDB filter that keeps only records in scope (residents see none by region);
        the list-shaped twin of `can_see_path` (`shared.scope.region_scope`)."""
        return region_scope(self, path_field).filter()


# Who reads a region's figures (overview parts, rankings, trends, hotspots) in their scope. Not a
# department, whose figures are those of its own cases; not a resident. A building leader reads
# its building's (households, visits, the cases of the building).
FIGURE_READERS = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.VOLUNTEER, Role.BUILDING_LEADER})


# Whose sub an event may name as its actor: staff and services, accountable for what they do (an
# audit reads who dispatched or escalated). Residents, volunteers and building leaders are people of
# the community: an event says which role acted, not which person.
ACCOUNTABLE_ROLES = frozenset(
    {Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.DEPARTMENT, Role.SERVICE}
)


def public_actor(p: Principal | None) -> str | None:
    """The `actor` of an event `p` caused: a staff or service sub, else the role (None: the system)."""
    if p is None:
        return None
    return p.sub if p.role in ACCOUNTABLE_ROLES else str(p.role)


def require_figures(principal: Principal) -> None:
    if not (principal.unrestricted or principal.role in FIGURE_READERS):
        raise Forbidden(f"role {principal.role} may not read a region's figures", {"role": str(principal.role)})


def require_any_role(principal: Principal, roles: frozenset[Role] | set[Role], action: str) -> None:
    """A gate before anything else is read: the role alone decides (superadmin and service pass)."""
    if not (principal.unrestricted or principal.role in roles):
        raise Forbidden(f"role {principal.role} may not {action}", {"role": str(principal.role)})


def hidden(principal: Principal, what: str) -> DomainError:
    """The one answer for a record that does not exist and for one outside the caller's scope,
    so that scope never tells whether something exists: FORBIDDEN with the same message and no
    details either way. Only an unrestricted principal, whose scope is everything, is told
    NOT_FOUND."""
    if principal.unrestricted:
        return NotFound(f"{what} does not exist")
    return Forbidden(f"{what} does not exist or is outside your scope")


def require_deployment_admin(principal: Principal, region_path: Sequence[str] | None, action: str) -> None:
    """Configuration every region shares (the dispatch catalogue, the reward catalogue) is
    changed by a superadmin or an administrator of a city (an admin whose region is a top-level
    CITY, `region_path` being that region's path as the service knows it), nobody below."""
    if principal.unrestricted:
        return
    if (
        principal.role is Role.ADMIN
        and region_path is not None
        and len(region_path) == 1
        and region_path[0] == principal.region
    ):
        return
    raise Forbidden(
        f"only a superadmin or a city administrator may {action}; it applies to every region",
        {"role": str(principal.role)},
    )


def mint_token(
    secret: str,
    *,
    sub: str,
    role: str,
    region: str | None = None,
    dept: str | None = None,
    member: str | None = None,
    ttl_s: int = 12 * 3600,
    issuer: str = "yiwang",
) -> str:
    """A person's token (any role but `service`; service tokens come from `service_token`)."""
    if Role(role) is Role.SERVICE:
        raise ValueError("service tokens are minted by service_token, with the internal key")
    return _encode(secret.encode(), _claims(sub, role, region, dept, member, ttl_s, issuer))


def service_token(secret: str, service: str, issuer: str = "yiwang", sub: str | None = None) -> str:
    """A token for one service calling another: role `service`, the internal audience, the
    derived key."""
    claims = _claims(sub or f"svc:{service}", Role.SERVICE, None, None, None, SERVICE_TOKEN_TTL_S, issuer)
    return _encode(_service_key(secret), claims | {"aud": INTERNAL_AUDIENCE})


def verify_token(token: str, secret: str, issuer: str = "yiwang", max_ttl_s: int = DEFAULT_MAX_TTL_S) -> Principal:
    """A person's token, as the gateway (or a service, for a forwarded call) accepts it."""
    claims = _decode(token, secret.encode(), issuer, None)
    if claims.get("role") == Role.SERVICE:
        raise Unauthenticated("a service identity is not accepted here")
    return _principal(claims, max_ttl_s)


def verify_caller(token: str, secret: str, issuer: str = "yiwang", max_ttl_s: int = DEFAULT_MAX_TTL_S) -> Principal:
    """The caller of a service verb: another service (its own token), or a person whose token
    the gateway forwarded."""
    try:
        audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.PyJWTError as e:
        raise Unauthenticated(f"invalid token: {e}") from e
    if audience != INTERNAL_AUDIENCE:
        return verify_token(token, secret, issuer, max_ttl_s)
    claims = _decode(token, _service_key(secret), issuer, INTERNAL_AUDIENCE)
    if claims.get("role") != Role.SERVICE:
        raise Unauthenticated("an internal token must carry the service role")
    return _principal(claims, SERVICE_TOKEN_TTL_S)


def _service_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _SERVICE_KEY_LABEL, hashlib.sha256).digest()


def _claims(
    sub: str, role: str, region: str | None, dept: str | None, member: str | None, ttl_s: int, issuer: str
) -> dict:
    now = int(time.time())
    claims = {"sub": sub, "role": str(role), "iat": now, "exp": now + ttl_s, "iss": issuer}
    for k, v in (("region", region), ("dept", dept), ("member", member)):
        if v:
            claims[k] = v
    return claims


def _encode(key: bytes, claims: dict) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def _decode(token: str, key: bytes, issuer: str, audience: str | None) -> dict:
    try:
        return jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            issuer=issuer,
            audience=audience,
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError as e:
        raise Unauthenticated("token expired") from e
    except jwt.PyJWTError as e:
        raise Unauthenticated(f"invalid token: {e}") from e


def _principal(claims: dict, max_ttl_s: int) -> Principal:
    if int(claims["exp"]) - int(claims["iat"]) > max_ttl_s:
        raise Unauthenticated(f"token lifetime exceeds the maximum of {max_ttl_s}s; get a shorter-lived token")
    try:
        principal = Principal(
            sub=claims["sub"],
            role=claims.get("role", ""),
            region=claims.get("region"),
            dept=claims.get("dept"),
            member=claims.get("member"),
            expires_at=int(claims["exp"]),
        )
    except ValueError as e:
        raise Unauthenticated("token has an unknown role") from e
    if principal.role in REGIONAL_ROLES and not principal.region:
        raise Unauthenticated(f"a {principal.role} token must name a region")
    if principal.role is Role.DEPARTMENT and not principal.dept:
        raise Unauthenticated("a department token must name its department (`dept`)")
    return principal
