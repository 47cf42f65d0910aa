"""Principals, roles and their scope (the rule is in shared/scope); services' own tokens.

Two kinds of token, told apart by key and audience:
- a person's token, from the identity provider in production and `yiwang token` in development,
  signed by the issuer (RS256 or ES256) and verified with its public keys (`shared.identity`),
  never the role `service`, living at most `YIWANG_JWT_MAX_TTL_S`. The gateway accepts only
  these, and forwards them to the services.
- a service's own token (one service calling another, the launcher's seeding), role `service`,
  audience `yiwang-internal`, HS256 with a key derived from `YIWANG_JWT_SECRET` for this use alone,
  living at most `SERVICE_TOKEN_TTL_S`. Only services accept it; a person's token that claims the
  role `service` is refused everywhere, and a service token shown to the gateway is refused.
"""

from __future__ import annotations

import base64
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
_SUBJECT_KEY_LABEL = b"yiwang/subject-key/v1"


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


def service_token(secret: str, service: str, issuer: str = "yiwang", sub: str | None = None) -> str:
    """A token for one service calling another: role `service`, the internal audience, the
    derived key."""
    claims = _claims(sub or f"svc:{service}", Role.SERVICE, None, None, None, SERVICE_TOKEN_TTL_S, issuer)
    return jwt.encode(claims | {"aud": INTERNAL_AUDIENCE}, service_key(secret), algorithm="HS256")


def subject_key(secret: str, sub: str) -> str:
    """A person's `sub` as events may name it (the bus never carries a `sub`, `shared.messaging.bus`):
    a keyed hash every process of the deployment computes alike, nobody outside it can."""
    digest = hmac.new(
        hmac.new(secret.encode(), _SUBJECT_KEY_LABEL, hashlib.sha256).digest(), sub.encode(), hashlib.sha256
    ).digest()
    return "sk-" + base64.urlsafe_b64encode(digest[:18]).decode()


def service_key(secret: str) -> bytes:
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


def assignment_claims(role: str, region: str, dept: str | None, member: str | None) -> dict[str, str]:
    """The claims a token would carry for a role assignment (grids' records and the services'
    replicas of them sign people in with these): a resident's scope is their own records and a
    superadmin's everything, so neither names a region."""
    out = {"role": str(role)}
    if role not in (Role.SUPERADMIN, Role.RESIDENT):
        out["region"] = region
    for k, v in (("dept", dept), ("member", member)):
        if v:
            out[k] = v
    return out


def principal_of(claims: dict, max_ttl_s: int) -> Principal:
    """The principal a verified token's claims describe."""
    if not claims.get("role"):
        raise Unauthenticated(f"the token of {claims['sub']!r} names no role; an administrator assigns one")
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
