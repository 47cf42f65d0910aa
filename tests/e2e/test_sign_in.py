"""Sign-in as a government SSO gives it: a token with only `sub`, signed by the issuer. It gets
nowhere until an administrator assigns its bearer a role, inside their own subtree only; then it
works at the gateway and at the services behind it; revoked, it stops. Every change is an event
naming who made it. The development issuer publishes its keys as a real one does, and a gateway
configured with that JWKS URL verifies its tokens through the same code as production."""
from __future__ import annotations

import json

import httpx
import jwt
import nats

from shared.identity import Verifier, settings_token
from tests.cases_gateway import ADMIN_A, OP_A, codes, eventually, start_cases_stack
from tests.infra import Stack

ME = "{ me { sub role region { id } } }"
GIVE = "mutation($s: String!, $role: String!, $r: ID!, $d: String) { assignRole(sub: $s, role: $role, regionId: $r, " \
       "dept: $d) { sub role region { id } dept assignedBy version } }"
TAKE = "mutation($s: String!) { revokeRole(sub: $s) { sub role version } }"
LIST = "query($r: ID) { roleAssignments(regionId: $r) { totalCount edges { node { sub role region { id } } } } }"
SSO = "zhang.san@sso"


async def as_sso(stack: Stack, query: str) -> dict:
    return await stack.gql(query, token=settings_token(stack.settings, sub=SSO, role=None))


async def test_a_sub_only_token_signs_in_with_the_role_an_admin_assigned(stack):
    await start_cases_stack(stack)
    refused = await as_sso(stack, ME)
    assert codes(refused) == ["UNAUTHENTICATED"] and "no role in the platform" in refused["errors"][0]["message"]

    given = await stack.ok(GIVE, {"s": SSO, "role": "operator", "r": "town-a"}, token=stack.token(**ADMIN_A))
    assert given["assignRole"] == {"sub": SSO, "role": "operator", "region": {"id": "town-a"}, "dept": None,
                                   "assignedBy": "admin-a", "version": 1}
    me = await eventually(lambda: as_sso(stack, ME), lambda b: "errors" not in b, timeout=30)
    assert me["data"]["me"] == {"sub": SSO, "role": "operator", "region": {"id": "town-a"}}
    # ... and at the service behind the gateway (its replica of the assignment)
    cases = await eventually(lambda: as_sso(stack, "{ cases(first: 1) { totalCount } }"),
                             lambda b: "errors" not in b, timeout=30)
    assert cases["data"]["cases"]["totalCount"] == 0

    listed = await stack.ok(LIST, {"r": "county-a"}, token=stack.token(**ADMIN_A))
    assert [e["node"]["sub"] for e in listed["roleAssignments"]["edges"]] == [SSO]
    other_admin = stack.token("admin", region="county-b", sub="admin-b")
    assert codes(await stack.gql(LIST, {"r": "county-a"}, token=other_admin)) == ["FORBIDDEN"]
    assert (await stack.ok(LIST, {}, token=other_admin))["roleAssignments"]["totalCount"] == 0

    # Replaced: a department user now (it names its department)
    again = await stack.ok(GIVE, {"s": SSO, "role": "department", "r": "county-a", "d": "URBAN_MGMT"},
                           token=stack.token(**ADMIN_A))
    assert again["assignRole"]["version"] == 2
    me = await eventually(lambda: as_sso(stack, ME), lambda b: b.get("data", {}).get("me", {}).get("role")
                          == "department", timeout=30)

    gone = await stack.ok(TAKE, {"s": SSO}, token=stack.token(**ADMIN_A))
    assert gone["revokeRole"]["version"] == 3
    await eventually(lambda: as_sso(stack, ME), lambda b: codes(b) == ["UNAUTHENTICATED"], timeout=30)
    await eventually(lambda: stack.gql("{ cases(first: 1) { totalCount } }",
                                       token=settings_token(stack.settings, sub=SSO, role=None)),
                     lambda b: codes(b) == ["UNAUTHENTICATED"], timeout=30)
    assert codes(await stack.gql(TAKE, {"s": SSO}, token=stack.token(**ADMIN_A))) == ["CONFLICT"]

    # The audit trail: each change an event naming who made it and what was there before
    nc = await nats.connect(stack.settings.nats_url)
    try:
        js = nc.jetstream()
        seen: list[dict] = []
        for kind in ("ROLE_ASSIGNED", "ROLE_REVOKED"):
            sub = await js.subscribe(f"yiwang.evt.grids.{kind}.>", ordered_consumer=True)
            seen += [json.loads((await sub.next_msg(timeout=10)).data) for _ in range(2 if kind == "ROLE_ASSIGNED" else 1)]
    finally:
        await nc.close()
    assert all("sub" not in e["data"]["assignment"] and SSO not in json.dumps(e) for e in seen)  # no `sub` on the bus
    assert [(e["type"].split(".")[2], e["actor"], e["data"]["previousRole"]) for e in seen] == [
        ("ROLE_ASSIGNED", "admin-a", None), ("ROLE_ASSIGNED", "admin-a", "operator"),
        ("ROLE_REVOKED", "admin-a", "department")]


async def test_an_admin_assigns_only_inside_their_subtree_and_never_themselves(stack):
    await start_cases_stack(stack)
    admin = stack.token(**ADMIN_A)
    refusals = {
        "outside the subtree": dict(s="x1", role="operator", r="county-b"),
        "a superadmin": dict(s="x2", role="superadmin", r="city"),
        "themselves": dict(s="admin-a", role="admin", r="county-a"),
    }
    for what, args in refusals.items():
        assert codes(await stack.gql(GIVE, args, token=admin)) == ["FORBIDDEN"], what
    mistakes = {
        "the service role": dict(s="x3", role="service", r="town-a"),
        "no such role": dict(s="x4", role="king", r="town-a"),
        "a grid worker outside a grid": dict(s="x5", role="grid_worker", r="town-a"),
        "a department without its code": dict(s="x6", role="department", r="county-a"),
    }
    for what, args in mistakes.items():
        assert codes(await stack.gql(GIVE, args, token=admin)) == ["BAD_USER_INPUT"], what
    by_operator = await stack.gql(GIVE, {"s": "x7", "role": "operator", "r": "town-a"}, token=stack.token(**OP_A))
    assert codes(by_operator) == ["FORBIDDEN"]
    # One given for the whole city is out of the county admin's reach
    await stack.ok(GIVE, {"s": "x8", "role": "operator", "r": "city"})
    assert codes(await stack.gql(GIVE, {"s": "x8", "role": "operator", "r": "town-a"}, token=admin)) == ["FORBIDDEN"]
    assert codes(await stack.gql(TAKE, {"s": "x8"}, token=admin)) == ["FORBIDDEN"]
    assert (await stack.ok(LIST, {"r": "city"}))["roleAssignments"]["totalCount"] == 1  # nothing refused was kept


async def test_the_development_issuer_is_verified_as_a_real_one_would_be(stack):
    await start_cases_stack(stack)
    discovery = (await stack.http.get("/.well-known/openid-configuration")).json()
    assert discovery["issuer"] == stack.settings.jwt_issuer and discovery["jwks_uri"].endswith("/.well-known/jwks.json")
    token = stack.token(**OP_A)
    # A third party verifies it with PyJWT's client against the published key set ...
    key = await __import__("asyncio").to_thread(jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt, token)
    claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=stack.settings.jwt_audience)
    assert claims["sub"] == "op-a" and claims["role"] == "operator"
    # ... and a deployment pointed at that URL (as production at its SSO's) accepts it by the same code
    remote = Verifier(stack.settings.model_copy(update={"jwks_url": discovery["jwks_uri"]}))
    principal = await remote.person_async(token)
    assert (principal.sub, principal.role) == ("op-a", "operator")
    async with httpx.AsyncClient() as client:
        published = (await client.get(discovery["jwks_uri"])).json()["keys"]
    assert all("d" not in k for k in published)  # public halves only
