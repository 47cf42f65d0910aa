"""Who a token may be: a person's token is signed by the issuer (RS256/ES256, verified with its
published keys, `iss` and `aud` checked), never carries the service role and lives at most the
configured maximum; a service's own token is accepted by services only; scope answers the same
for a record that does not exist and one outside it; deployment-wide edits need a city admin."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ops.cli.main import main
from shared.auth import INTERNAL_AUDIENCE, Principal, Role, hidden, require_deployment_admin, service_token
from shared.errors import Forbidden, NotFound, Unauthenticated
from shared.identity import Verifier, ensure_dev_issuer, jwks_url, load_signing_key, new_signing_key, write_jwks
from shared.settings import Settings, get_settings
from tests.tokens import local_issuer


def forged(claims: dict, key: object, alg: str, kid: str | None = None) -> str:
    now = int(time.time())
    base = {"sub": "x", "iat": now, "exp": now + 60, "iss": "yiwang", "aud": "yiwang"}
    return jwt.encode(base | claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


def hs256_by_hand(claims: dict, secret: bytes, kid: str) -> str:
    """The algorithm-confusion forgery (the public key as an HMAC secret), which PyJWT will not sign."""
    def part(d: dict | bytes) -> str:
        raw = d if isinstance(d, bytes) else json.dumps(d).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    now = int(time.time())
    body = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}." + part(
        {"sub": "x", "iat": now, "exp": now + 60, "iss": "yiwang", "aud": "yiwang"} | claims)
    return f"{body}.{part(hmac.new(secret, body.encode(), hashlib.sha256).digest())}"


async def test_a_service_token_is_accepted_by_services_and_refused_from_outside():
    issuer = local_issuer()
    token = service_token(issuer.settings.jwt_secret, "cases")
    caller = await issuer.verifier.caller(token)
    assert (caller.role, caller.sub, caller.unrestricted) == (Role.SERVICE, "svc:cases", True)
    with pytest.raises(Unauthenticated):  # the gateway's check: not the issuer's algorithm or key
        issuer.verifier.person(token)
    other = local_issuer(jwt_secret="another-internal-key-long-enough-for-hs256x")
    with pytest.raises(Unauthenticated):  # another deployment's service token
        await other.verifier.caller(token)


async def test_a_forged_identity_is_refused_everywhere():
    issuer = local_issuer()
    v, key = issuer.verifier, issuer.key
    with pytest.raises(ValueError):
        issuer.token(sub="svc:x", role="service")
    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forgeries = {
        "the service role on the issuer's key": forged({"role": "service"}, key.private, "ES256", key.kid),
        "the internal audience on the issuer's key": forged({"role": "superadmin", "aud": INTERNAL_AUDIENCE},
                                                            key.private, "ES256", key.kid),
        "HS256 with the internal key": forged({"role": "superadmin"}, issuer.settings.jwt_secret, "HS256", key.kid),
        "HS256 with the public key as its secret": hs256_by_hand({"role": "superadmin"}, public_pem, key.kid),
        "no signature": forged({"role": "superadmin"}, None, "none", key.kid),
        "another issuer's key under this kid": forged({"role": "superadmin"}, new_signing_key().private, "ES256",
                                                      key.kid),
        "no kid": forged({"role": "superadmin"}, key.private, "ES256"),
        "another issuer": forged({"role": "superadmin", "iss": "elsewhere"}, key.private, "ES256", key.kid),
        "another audience": forged({"role": "superadmin", "aud": "another-app"}, key.private, "ES256", key.kid),
        "no audience": jwt.encode({"sub": "x", "iat": int(time.time()), "exp": int(time.time()) + 60, "iss": "yiwang",
                                   "role": "superadmin"}, key.private, algorithm="ES256", headers={"kid": key.kid}),
    }
    for what, token in forgeries.items():
        with pytest.raises(Unauthenticated):
            v.person(token)
            pytest.fail(what)
        with pytest.raises(Unauthenticated):
            await v.caller(token)
            pytest.fail(what)


async def test_a_forwarded_persons_token_is_the_person_at_a_service():
    issuer = local_issuer()
    token = issuer.token(sub="u", role="operator", region="t1")
    assert await issuer.verifier.caller(token) == issuer.verifier.person(token)
    assert issuer.verifier.person(token).role is Role.OPERATOR


def test_token_lifetime_is_bounded_on_verification():
    issuer = local_issuer()
    century = issuer.token(role="superadmin", ttl_s=100 * 365 * 86400)
    with pytest.raises(Unauthenticated, match="lifetime exceeds the maximum of 86400s"):
        issuer.verifier.person(century)
    day = issuer.token(role="superadmin", ttl_s=86400)
    assert issuer.verifier.person(day).sub == "u"
    with pytest.raises(Unauthenticated):
        local_issuer(jwt_max_ttl_s=3600, jwt_ttl_s=3600).verifier.person(day)
    now = int(time.time())
    k = issuer.key
    with pytest.raises(Unauthenticated):  # issued in the future to stretch its life: not yet valid
        issuer.verifier.person(forged({"role": "superadmin", "iat": now + 3600, "exp": now + 7200}, k.private,
                                      "ES256", k.kid))
    with pytest.raises(Unauthenticated):  # no iat, no lifetime to check
        issuer.verifier.person(jwt.encode({"sub": "x", "role": "superadmin", "exp": now + 60, "iss": "yiwang",
                                           "aud": "yiwang"}, k.private, algorithm="ES256", headers={"kid": k.kid}))
    with pytest.raises(Unauthenticated, match="expired"):
        issuer.verifier.person(issuer.token(role="superadmin", ttl_s=-10))
    assert abs(issuer.verifier.person(day).expires_at - (now + 86400)) <= 5


def test_a_department_token_names_its_department_and_a_regional_one_its_region():
    issuer = local_issuer()
    with pytest.raises(Unauthenticated, match="department"):
        issuer.verifier.person(issuer.token(role="department", region="k"))
    assert issuer.verifier.person(issuer.token(role="department", region="k", dept="URBAN")).dept == "URBAN"
    with pytest.raises(Unauthenticated, match="must name a region"):
        issuer.verifier.person(issuer.token(role="admin"))
    with pytest.raises(ValueError):
        issuer.token(role="king")
    with pytest.raises(Unauthenticated, match="unknown role"):
        issuer.verifier.person(forged({"role": "king"}, issuer.key.private, "ES256", issuer.key.kid))


async def test_rotated_keys_are_honoured_and_withdrawn_ones_refused(tmp_path):
    """Through a JWKS file as through an issuer's URL: a key published later is fetched when a
    token names it; one taken out of the set stops working at the next fetch."""
    old, new = new_signing_key(), new_signing_key()
    jwks = tmp_path / "jwks.json"
    write_jwks(jwks, [old])
    s = Settings(jwks_url=jwks.as_uri(), jwks_cooldown_s=0)
    v = Verifier(s)
    claims = {"sub": "u", "role": "superadmin", "issuer": s.jwt_issuer, "audience": s.jwt_audience}
    from shared.identity import mint_token

    by_old, by_new = mint_token(old, **claims), mint_token(new, **claims)
    assert (await v.person_async(by_old)).sub == "u"
    with pytest.raises(Unauthenticated, match="does not publish"):
        await v.person_async(by_new)
    write_jwks(jwks, [old, new])  # the issuer rotates a new key in
    assert (await v.person_async(by_new)).sub == "u" and v.person(by_old).sub == "u"
    write_jwks(jwks, [new])  # ... and the old one out
    await v.keys.refresh()
    with pytest.raises(Unauthenticated, match="does not publish"):
        v.person(by_old)
    assert v.person(by_new).sub == "u"


async def test_a_token_verified_once_is_not_verified_again_until_it_expires(monkeypatch):
    """The same token on every request is verified once: later requests take its claims as they
    were (the role is still looked up each time), until it expires; a forged copy is not it."""
    issuer = local_issuer()
    v = issuer.verifier
    decoded = []
    real = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **kw: decoded.append(1) or real(*a, **kw))
    token = issuer.token(sub="u", role="operator", region="t1", ttl_s=2)
    for _ in range(5):
        assert v.person(token).region == "t1" and (await v.caller(token)).sub == "u"
    assert len(decoded) == 1
    svc = service_token(issuer.settings.jwt_secret, "cases")
    for _ in range(3):
        assert (await v.caller(svc)).role is Role.SERVICE
    with pytest.raises(Unauthenticated):  # remembered as a service's: still no person
        v.person(svc)
    assert len(decoded) <= 4  # the service token: read for its audience, then verified, once
    head, body, sig = token.split(".")
    with pytest.raises(Unauthenticated):
        v.person(f"{head}.{body}.{sig[:-2]}{'AA' if not sig.endswith('AA') else 'BB'}")
    time.sleep(max(0.0, v.person(token).expires_at - time.time()) + 0.05)
    with pytest.raises(Unauthenticated, match="expired"):
        v.person(token)


async def test_a_remembered_token_ends_when_its_key_is_withdrawn_and_the_set_read_again(tmp_path):
    """A token verified before is not taken at its word past the key set's refresh: the set is read
    again when it is due (no other token needed to trigger it), and a key withdrawn ends it."""
    import asyncio

    from shared.identity import mint_token

    old, new = new_signing_key(), new_signing_key()
    jwks = tmp_path / "jwks.json"
    write_jwks(jwks, [old, new])
    s = Settings(jwks_url=jwks.as_uri(), jwks_cooldown_s=0, jwks_refresh_s=1)
    v = Verifier(s)
    token = mint_token(old, sub="u", role="superadmin", issuer=s.jwt_issuer, audience=s.jwt_audience)
    assert (await v.person_async(token)).sub == "u"
    write_jwks(jwks, [new])  # the old key withdrawn
    deadline = time.monotonic() + 30
    while True:
        await asyncio.sleep(0.1)
        try:
            v.person(token)
        except Unauthenticated as e:
            assert "does not publish" in e.message
            break
        assert time.monotonic() < deadline, "a withdrawn key's token is still accepted"


async def test_an_rsa_issuer_is_as_good_as_an_ec_one(tmp_path):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key())) | {"kid": "rsa-1", "alg": "RS256"}
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    v = Verifier(Settings(jwks_url=(tmp_path / "jwks.json").as_uri(), jwt_issuer="https://sso.example.gov.cn",
                          jwt_audience="yiwang-prod"))
    now = int(time.time())
    token = jwt.encode({"sub": "zhang.san", "iat": now, "exp": now + 600, "iss": "https://sso.example.gov.cn",
                        "aud": "yiwang-prod", "role": "operator", "region": "k"}, private, algorithm="RS256",
                       headers={"kid": "rsa-1"})
    p = await v.person_async(token)
    assert (p.sub, p.role, p.region) == ("zhang.san", Role.OPERATOR, "k")


async def test_an_unreachable_issuer_is_unavailable_not_a_refusal():
    from shared.errors import Unavailable

    v = Verifier(Settings(jwks_url="http://127.0.0.1:9/jwks.json"))
    with pytest.raises(Unavailable, match="cannot be fetched"):
        await v.person_async(local_issuer().token(role="superadmin"))


def test_the_development_issuer_is_made_once_and_published(tmp_path):
    s = Settings(data_dir=tmp_path)
    key_file = ensure_dev_issuer(s)
    assert key_file.stat().st_mode & 0o077 == 0  # the private key: its owner's alone
    published = json.loads((key_file.parent / "jwks.json").read_text())["keys"]
    assert [k["kid"] for k in published] == [load_signing_key(key_file).kid] and "d" not in published[0]
    assert ensure_dev_issuer(s) == key_file and load_signing_key(key_file).kid == published[0]["kid"]
    assert jwks_url(s) == (key_file.parent / "jwks.json").as_uri()
    with pytest.raises(RuntimeError, match="does not sign"):
        ensure_dev_issuer(Settings(data_dir=tmp_path, jwks_url="https://sso.example/jwks"))


def test_settings_and_cli_keep_the_lifetime_bounded(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("YIWANG_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="YIWANG_JWT_MAX_TTL_S"):
            Settings(jwt_ttl_s=7 * 86400)
        for ttl in ("3153600000", "0", "-5"):
            with pytest.raises(SystemExit, match="--ttl must be between 1 and 86400"):
                main(["token", "--role", "superadmin", "--ttl", ttl])
        with pytest.raises(SystemExit, match="--dept"):
            main(["token", "--role", "department", "--region", "k"])
        assert main(["token", "--role", "resident", "--ttl", "600"]) == 0
        token = capsys.readouterr().out.strip().splitlines()[-1]
        header, claims = jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 600 and claims["role"] == "resident"
        assert header["alg"] == "ES256" and header["kid"] == load_signing_key(tmp_path / "issuer" / "key.pem").kid
        monkeypatch.setenv("YIWANG_JWKS_URL", "https://sso.example.gov.cn/jwks")
        get_settings.cache_clear()
        with pytest.raises(SystemExit, match="tokens come from there"):
            main(["token", "--role", "resident"])
    finally:
        get_settings.cache_clear()


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
