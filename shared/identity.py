"""Sign-in: people's tokens are verified with public keys from a JWKS (RS256 or ES256).

Production points `YIWANG_JWKS_URL` at the government SSO / OIDC issuer's key set and sets
`YIWANG_JWT_ISSUER` and `YIWANG_JWT_AUDIENCE` to what its tokens carry in `iss` and `aud`. In
development the platform is its own issuer: an ES256 key pair under `<data dir>/issuer/` (made
on first use), whose public half is the JWKS every process reads and the gateway publishes at
`/.well-known/jwks.json`; `yiwang token` signs with the private half. The gateway and the
services verify through the same code either way (`Verifier`) and never hold a private key of the
issuer; keys are cached, fetched again when a token names a key id not seen yet (at most once per
`YIWANG_JWKS_COOLDOWN_S`: a flood of made-up key ids does not become a flood of fetches) and every
`YIWANG_JWKS_REFRESH_S`, so a rotated key is honoured and a withdrawn one stops working.

Services' own tokens (one service calling another) are not people's and stay on the internal
key (`shared.auth.service_token`): the gateway refuses them, and the bus's permissions bound which
subjects each service may call at all (`deploy/nats/accounts.conf`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse
from urllib.request import url2pathname

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWKClientError, PyJWKSet, PyJWKSetError

from shared.auth import (
    INTERNAL_AUDIENCE,
    SERVICE_TOKEN_TTL_S,
    Principal,
    Role,
    principal_of,
    service_key,
)
from shared.errors import Unauthenticated, Unavailable
from shared.settings import Settings

log = logging.getLogger("yiwang.identity")

PERSON_ALGORITHMS = ("RS256", "ES256")
DEV_ALGORITHM = "ES256"


# -- the development issuer --------------------------------------------------------------------
def _b64(n: int, size: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public key as a JWK, its `kid` the RFC 7638 thumbprint."""
    numbers = key.public_numbers()
    jwk = {"crv": "P-256", "kty": "EC", "x": _b64(numbers.x, 32), "y": _b64(numbers.y, 32)}
    thumbprint = hashlib.sha256(json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()).digest()
    kid = base64.urlsafe_b64encode(thumbprint).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "alg": DEV_ALGORITHM, "use": "sig"}


def issuer_dir(settings: Settings) -> Path:
    return (settings.data_dir / "issuer").resolve()


def issuer_key_file(settings: Settings) -> Path:
    return settings.issuer_key_file or issuer_dir(settings) / "key.pem"


def jwks_url(settings: Settings) -> str:
    """Where this deployment's people's keys come from: the configured issuer's JWKS, else the
    development issuer's (made by `ensure_dev_issuer`)."""
    return settings.jwks_url or (issuer_key_file(settings).parent / "jwks.json").as_uri()


def ensure_dev_issuer(settings: Settings) -> Path:
    """The development issuer's key pair, made once: `key.pem` (readable by its owner only) and
    `jwks.json` beside it. Refused in production, which has a real issuer."""
    key_file = issuer_key_file(settings)
    jwks_file = key_file.parent / "jwks.json"
    if settings.jwks_url is not None:
        raise RuntimeError("YIWANG_JWKS_URL names an issuer: this deployment does not sign people's tokens")
    if key_file.exists() and jwks_file.exists():
        return key_file
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_new(key_file, pem, 0o600)
    write_jwks(jwks_file, [load_signing_key(key_file)])
    return key_file


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file whole or not at all; two processes starting at once keep the first one's."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    try:
        os.link(tmp, path)  # fails if another process made it first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


@dataclass(frozen=True)
class SigningKey:
    """An issuer's private key (the development issuer's; tests make their own)."""

    private: ec.EllipticCurvePrivateKey
    kid: str

    @property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self.private.public_key())

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private, algorithm=DEV_ALGORITHM, headers={"kid": self.kid})


def new_signing_key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(private, public_jwk(private.public_key())["kid"])


@cache
def _load(path: Path, mtime_ns: int) -> SigningKey:
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise RuntimeError(f"{path} is not an EC private key")
    return SigningKey(private, public_jwk(private.public_key())["kid"])


def load_signing_key(path: Path) -> SigningKey:
    return _load(path, path.stat().st_mtime_ns)


def dev_signing_key(settings: Settings) -> SigningKey:
    """The development issuer's key, made if missing (`yiwang token`, the demo's seeders, tests)."""
    return load_signing_key(ensure_dev_issuer(settings))


def write_jwks(path: Path, keys: list[SigningKey]) -> None:
    """Publish these keys' public halves (a rotation lists the new key beside the old one)."""
    data = json.dumps({"keys": [k.jwk for k in keys]}, indent=2).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)


def person_claims(
    *,
    sub: str,
    role: str | None,
    region: str | None,
    dept: str | None,
    member: str | None,
    ttl_s: int,
    issuer: str,
    audience: str,
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + ttl_s, "iss": issuer, "aud": audience}
    for k, v in (("role", role), ("region", region), ("dept", dept), ("member", member)):
        if v:
            claims[k] = str(v)
    return claims


def mint_token(
    key: SigningKey,
    *,
    sub: str,
    role: str | None,
    region: str | None = None,
    dept: str | None = None,
    member: str | None = None,
    ttl_s: int = 12 * 3600,
    issuer: str = "yiwang",
    audience: str = "yiwang",
) -> str:
    """A person's token as an issuer signs it. Without `role`, only `sub`: what a government SSO
    gives, the role then coming from the platform's role assignments."""
    if role is not None and Role(role) is Role.SERVICE:
        raise ValueError("service tokens are minted by service_token, with the internal key")
    return key.sign(
        person_claims(
            sub=sub,
            role=role,
            region=region,
            dept=dept,
            member=member,
            ttl_s=ttl_s,
            issuer=issuer,
            audience=audience,
        )
    )


def settings_token(settings: Settings, **claims: Any) -> str:
    """A person's token from the development issuer, with this deployment's issuer and audience."""
    claims.setdefault("ttl_s", settings.jwt_ttl_s)
    return mint_token(dev_signing_key(settings), issuer=settings.jwt_issuer, audience=settings.jwt_audience, **claims)


# -- verifying -----------------------------------------------------------------------------
class KeySet:
    """The issuer's public keys by `kid`, read from its JWKS: over HTTPS with PyJWT's client
    (which refuses redirects and other schemes), or from a file (the development issuer's, or a
    key set an operator mounts). The sync path reads only what is loaded."""

    def __init__(self, url: str, refresh_s: float = 300.0, cooldown_s: float = 30.0):
        self.url, self.refresh_s, self.cooldown_s = url, refresh_s, cooldown_s
        parsed = urlparse(url)
        self._file = Path(url2pathname(parsed.path)) if parsed.scheme == "file" else None
        self._client = None if self._file else PyJWKClient(url, cache_jwk_set=False, timeout=5)
        self.keys: dict[str, PyJWK] = {}
        self.generation = 0  # one more at each fetch: what was verified by an earlier set is verified again
        self.loaded_at = float("-inf")  # the last successful fetch
        self.tried_at = float("-inf")  # the last attempt, successful or not
        self._lock = asyncio.Lock()
        self._refreshing: asyncio.Task[None] | None = None

    def _read(self) -> Any:
        if self._file is not None:
            return json.loads(self._file.read_text())
        assert self._client is not None
        return self._client.fetch_data()

    async def refresh(self) -> None:
        """Fetch the key set now (serialised: concurrent callers share one fetch)."""
        started = time.monotonic()
        async with self._lock:
            if self.tried_at >= started:
                return  # fetched while this caller waited
            self.tried_at = time.monotonic()
            try:
                jwk_set = PyJWKSet.from_dict(await asyncio.to_thread(self._read))
            except (PyJWKClientConnectionError, OSError) as e:
                raise Unavailable("the identity provider's keys cannot be fetched; try again shortly") from e
            except (PyJWKClientError, PyJWKSetError, ValueError) as e:
                raise Unavailable(f"the identity provider's key set is not usable: {e}") from e
            self.keys = {k.key_id: k for k in jwk_set.keys if k.key_id}
            self.generation += 1
            self.loaded_at = time.monotonic()

    async def load(self, kid: str) -> None:
        """Make sure `kid` is loaded if the issuer publishes it (a key rotated in), fetching at
        most once per cooldown for keys it does not know."""
        now = time.monotonic()
        if kid in self.keys and not self.stale:
            return
        if kid not in self.keys and not self.stale and now - self.tried_at < self.cooldown_s:
            return  # asked lately: `key` refuses it
        await self.refresh()

    @property
    def stale(self) -> bool:
        return time.monotonic() - self.loaded_at > self.refresh_s

    def key(self, kid: str) -> PyJWK:
        if self.stale:
            self._refresh_soon()
        found = self.keys.get(kid)
        if found is None:
            raise Unauthenticated("the token is signed with a key its issuer does not publish (or not yet)")
        return found

    def _refresh_soon(self) -> None:
        """From sync code: fetch in the background (the next request sees the result)."""
        if self._refreshing is not None and not self._refreshing.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._refreshing = loop.create_task(self._quiet_refresh())

    async def _quiet_refresh(self) -> None:
        try:
            await self.refresh()
        except Unavailable as e:
            log.warning("%s (%s)", e.message, self.url)


ROLE_CLAIMS = ("role", "region", "dept", "member")


class Assignments(Protocol):
    """Where a process reads people's role assignments: grids its own records, the other services
    their replica of grids' events, the gateway grids itself."""

    async def claims(self, sub: str) -> dict[str, str] | None: ...


class Verifier:
    """Who a token's bearer is, as the gateway and every service decide it: the signature, issuer,
    audience and lifetime, then the role (the token's claims, or the platform's assignment)."""

    def __init__(self, settings: Settings, assignments: Assignments | None = None):
        self.settings = settings
        self.keys = KeySet(jwks_url(settings), settings.jwks_refresh_s, settings.jwks_cooldown_s)
        self._service_key = service_key(settings.jwt_secret)
        self.assignments = assignments
        self._roles: dict[str, tuple[float, dict[str, str] | None]] = {}  # sub -> (read at, claims)
        self._role_limit = 10_000  # people remembered at once (a flood of subs cannot grow it further)
        # Tokens verified already (the exact string): their claims, the key set they were verified
        # by, and whose (a person's, a service's). A token is sent with every request, and checking
        # it again costs a signature verification and PyJWT's character-by-character segment checks
        # (~0.3-1 ms of CPU per request and per service). A hit still holds only until the token
        # expires or the issuer's key set is fetched again (a key withdrawn ends it); the role is
        # looked up afresh every time (`_with_role`).
        self._verified: dict[str, tuple[dict[str, Any], int, bool]] = {}
        self._verified_limit = 10_000

    def _needs_assignment(self, claims: dict) -> bool:
        return self.settings.role_source == "platform" or not claims.get("role")

    def _with_role(self, claims: dict, assigned: dict[str, str] | None) -> Principal:
        if self._needs_assignment(claims):
            claims = {k: v for k, v in claims.items() if k not in ROLE_CLAIMS} | (assigned or {})
            if not assigned:
                raise Unauthenticated(
                    f"{claims['sub']!r} has no role in the platform; an administrator assigns one (assignRole)"
                )
        if claims.get("role") == Role.SERVICE:
            raise Unauthenticated("a service identity is not accepted here")
        return principal_of(claims, self.settings.jwt_max_ttl_s)

    async def _assigned(self, sub: str) -> dict[str, str] | None:
        hit = self._roles.get(sub)
        # Someone refused for want of a role is looked up again soon: they are likely being given one.
        ttl = self.settings.assignment_cache_s if hit and hit[1] else min(self.settings.assignment_cache_s, 1.0)
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]
        if self.assignments is None:
            return None
        found = await self.assignments.claims(sub)
        if len(self._roles) >= self._role_limit:
            self._roles.clear()
        self._roles[sub] = (time.monotonic(), found)
        return found

    def forget(self, sub: str) -> None:
        """This process changed `sub`'s assignment: read it afresh next time."""
        self._roles.pop(sub, None)

    def _assigned_now(self, sub: str) -> dict[str, str] | None:
        """From sync code: the assignment last read (an async path read it for this request)."""
        hit = self._roles.get(sub)
        return hit[1] if hit else None

    @staticmethod
    def key_of(token: str) -> tuple[str, str]:
        """The key id and algorithm a person's token names (one of PERSON_ALGORITHMS)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise Unauthenticated(f"invalid token: {e}") from e
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in PERSON_ALGORITHMS:
            raise Unauthenticated(f"a person's token must be signed with {' or '.join(PERSON_ALGORITHMS)}, not {alg}")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("the token names no signing key (`kid`)")
        return kid, alg

    def person(self, token: str) -> Principal:
        """A person's token, from the keys (and assignment) already loaded (`person_async` loads
        a new key, and reads the assignment, first)."""
        claims = self.claims(token)
        return self._with_role(claims, self._assigned_now(claims["sub"]) if self._needs_assignment(claims) else None)

    def _recalled(self, token: str) -> tuple[dict[str, Any], bool] | None:
        """The claims of `token`, and whether a service's, if it was verified by the key set loaded
        now and has not expired (nor is not yet valid) since."""
        hit = self._verified.get(token)
        if hit is None:
            return None
        claims, generation, service = hit
        now = time.time()
        if generation != self.keys.generation or claims["exp"] <= now or claims.get("nbf", now) > now:
            self._verified.pop(token, None)
            return None
        if self.keys.stale:  # as a verification would: the set is read again (a withdrawn key then ends this)
            self.keys._refresh_soon()
        return claims, service

    def _recalled_person(self, token: str) -> dict[str, Any] | None:
        hit = self._recalled(token)
        return hit[0] if hit is not None and not hit[1] else None

    def _remember(self, token: str, claims: dict[str, Any], service: bool) -> dict[str, Any]:
        if len(self._verified) >= self._verified_limit:
            self._verified.clear()
        self._verified[token] = (claims, self.keys.generation, service)
        return claims

    def claims(self, token: str) -> dict[str, Any]:
        """A person's token's claims, once its signature, issuer, audience and expiry hold."""
        if (known := self._recalled_person(token)) is not None:
            return known
        kid, alg = self.key_of(token)
        key = self.keys.key(kid)
        if key.algorithm_name != alg:
            raise Unauthenticated("the token's algorithm is not its key's")
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                issuer=s.jwt_issuer,
                audience=s.jwt_audience,
                options={"require": ["sub", "exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as e:
            raise Unauthenticated("token expired") from e
        except jwt.PyJWTError as e:
            raise Unauthenticated(f"invalid token: {e}") from e
        if claims.get("role") == Role.SERVICE:
            raise Unauthenticated("a service identity is not accepted here")
        return self._remember(token, claims, service=False)

    async def person_async(self, token: str) -> Principal:
        claims = self._recalled_person(token)
        if claims is None:
            await self.keys.load(self.key_of(token)[0])
            claims = self.claims(token)  # verified before anything is looked up for its `sub`
        assigned = await self._assigned(str(claims["sub"])) if self._needs_assignment(claims) else None
        return self._with_role(claims, assigned)

    async def caller(self, token: str) -> Principal:
        """The caller of a service verb: another service (its own token on the internal key),
        or a person whose token the gateway forwarded."""
        if (hit := self._recalled(token)) is not None:
            claims, service = hit
            return principal_of(claims, SERVICE_TOKEN_TTL_S) if service else await self.person_async(token)
        try:
            audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
        except jwt.PyJWTError as e:
            raise Unauthenticated(f"invalid token: {e}") from e
        if audience != INTERNAL_AUDIENCE:
            return await self.person_async(token)
        try:
            claims = jwt.decode(
                token,
                self._service_key,
                algorithms=["HS256"],
                issuer=self.settings.jwt_issuer,
                audience=INTERNAL_AUDIENCE,
                options={"require": ["sub", "exp", "iat"]},
            )
        except jwt.ExpiredSignatureError as e:
            raise Unauthenticated("token expired") from e
        except jwt.PyJWTError as e:
            raise Unauthenticated(f"invalid token: {e}") from e
        if claims.get("role") != Role.SERVICE:
            raise Unauthenticated("an internal token must carry the service role")
        principal = principal_of(claims, SERVICE_TOKEN_TTL_S)  # its lifetime checked before it is remembered
        self._remember(token, claims, service=True)
        return principal
