"""Who a token may be: a person's token never carries the service role and lives at most the
configured maximum; a service's own token is accepted by services only; scope answers the same
for a record that does not exist and one outside it; deployment-wide edits need a city admin."""
from __future__ import annotations

import time

import jwt
import pytest

from ops.cli.main import main
from shared.auth import (
    INTERNAL_AUDIENCE,
    Principal,
    Role,
    hidden,
    mint_token,
    require_deployment_admin,
    service_token,
    verify_caller,
    verify_token,
)
from shared.errors import Forbidden, NotFound, Unauthenticated
from shared.settings import Settings

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def forged(claims: dict, key: str | bytes = SECRET) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "x", "iat": now, "exp": now + 60, "iss": "yiwang", **claims}, key, algorithm="HS256")


def test_a_service_token_is_accepted_by_services_and_refused_from_outside():
    token = service_token(SECRET, "cases")
    caller = verify_caller(token, SECRET)
    assert (caller.role, caller.sub, caller.unrestricted) == (Role.SERVICE, "svc:cases", True)
    with pytest.raises(Unauthenticated):  # the gateway's check: wrong key, and an audience it does not serve
        verify_token(token, SECRET)
    with pytest.raises(Unauthenticated):  # another deployment's service token
        verify_caller(token, "another-test-secret-that-is-long-enough-x")


@pytest.mark.parametrize("claims", [
    {"role": "service"},                                  # a person's key claiming the service role
    {"role": "service", "aud": INTERNAL_AUDIENCE},        # ... and the internal audience
    {"role": "superadmin", "aud": INTERNAL_AUDIENCE},     # the internal audience on the person's key
])
def test_a_forged_service_identity_is_refused_everywhere(claims):
    token = forged(claims)
    for verify in (verify_token, verify_caller):
        with pytest.raises(Unauthenticated):
            verify(token, SECRET)
    with pytest.raises(ValueError):
        mint_token(SECRET, sub="svc:x", role="service")


def test_a_forwarded_persons_token_is_the_person_at_a_service():
    token = mint_token(SECRET, sub="u", role="operator", region="t1")
    assert verify_caller(token, SECRET) == verify_token(token, SECRET)
    assert verify_token(token, SECRET).role is Role.OPERATOR


def test_token_lifetime_is_bounded_on_verification():
    century = mint_token(SECRET, sub="u", role="superadmin", ttl_s=100 * 365 * 86400)
    with pytest.raises(Unauthenticated, match="lifetime exceeds the maximum of 86400s"):
        verify_token(century, SECRET)
    day = mint_token(SECRET, sub="u", role="superadmin", ttl_s=86400)
    assert verify_token(day, SECRET, max_ttl_s=86400).sub == "u"
    with pytest.raises(Unauthenticated):
        verify_token(day, SECRET, max_ttl_s=3600)
    now = int(time.time())
    with pytest.raises(Unauthenticated):  # issued in the future to stretch its life: not yet valid
        verify_token(forged({"role": "superadmin", "iat": now + 3600, "exp": now + 7200}), SECRET)
    with pytest.raises(Unauthenticated):  # no iat, no lifetime to check
        verify_token(jwt.encode({"sub": "x", "role": "superadmin", "exp": now + 60, "iss": "yiwang"}, SECRET,
                                algorithm="HS256"), SECRET)
    assert abs(verify_token(day, SECRET).expires_at - (now + 86400)) <= 5


def test_a_department_token_names_its_department():
    with pytest.raises(Unauthenticated, match="department"):
        verify_token(mint_token(SECRET, sub="d", role="department", region="k"), SECRET)
    assert verify_token(mint_token(SECRET, sub="d", role="department", region="k", dept="URBAN"), SECRET).dept == "URBAN"


def test_settings_and_cli_keep_the_lifetime_bounded(monkeypatch, capsys):
    with pytest.raises(ValueError, match="YIWANG_JWT_MAX_TTL_S"):
        Settings(jwt_ttl_s=7 * 86400)
    for ttl in ("3153600000", "0", "-5"):
        with pytest.raises(SystemExit, match="--ttl must be between 1 and 86400"):
            main(["token", "--role", "superadmin", "--ttl", ttl])
    with pytest.raises(SystemExit, match="--dept"):
        main(["token", "--role", "department", "--region", "k"])
    assert main(["token", "--role", "resident", "--ttl", "600"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600 and claims["role"] == "resident"


def test_missing_and_out_of_scope_look_the_same():
    admin = Principal(sub="a", role=Role.ADMIN, region="t1")
    missing, outside = hidden(admin, "case c1"), hidden(admin, "case c1")
    assert isinstance(missing, Forbidden) and missing.to_dict() == outside.to_dict()
    with pytest.raises(Forbidden) as e:
        admin.require_path(["c", "k", "t2"], "case c1")
    assert e.value.to_dict() == missing.to_dict()
    assert isinstance(hidden(Principal(sub="s", role=Role.SUPERADMIN), "case c1"), NotFound)


def test_deployment_wide_configuration_needs_a_city_admin():
    require_deployment_admin(Principal(sub="s", role=Role.SUPERADMIN), None, "edit")
    require_deployment_admin(Principal(sub="c", role=Role.ADMIN, region="city"), ["city"], "edit")
    refused = [(Principal(sub="m", role=Role.ADMIN, region="m"), ["city", "k", "t", "m"]),
               (Principal(sub="o", role=Role.OPERATOR, region="city"), ["city"]),
               (Principal(sub="c", role=Role.ADMIN, region="city"), None),  # a region the service does not know
               (Principal(sub="c", role=Role.ADMIN, region="k"), ["city"]),  # a path that is not the admin's
               (Principal(sub="r", role=Role.RESIDENT), None)]
    for p, path in refused:
        with pytest.raises(Forbidden, match="city administrator"):
            require_deployment_admin(p, path, "edit the dispatch catalogue")
