"""Role assignments' rules (services/grids/domain/roles.py) and how a verifier signs a person in
with one: an admin gives roles inside their subtree and never to themselves; a token's own role
claims count only where the deployment trusts them (`YIWANG_ROLE_SOURCE`)."""
from __future__ import annotations

import pytest

from services.grids.domain.roles import Assignment, check_may_assign, check_may_change, parse_role
from shared.auth import Principal, Role, subject_key
from shared.errors import BadInput, Forbidden, Unauthenticated
from tests.tokens import local_issuer

SUPER = Principal(sub="root", role=Role.SUPERADMIN)
ADMIN = Principal(sub="adm", role=Role.ADMIN, region="k")
PATH = ("c", "k", "t", "m", "g")


def give(role: Role, path: tuple[str, ...] = PATH, **kw) -> Assignment:
    return Assignment(kw.pop("sub", "p1"), role, path[-1], path, **kw)


def test_who_gives_what():
    check_may_assign(ADMIN, give(Role.OPERATOR, PATH[:3]), "TOWNSHIP")
    check_may_assign(ADMIN, give(Role.GRID_WORKER), "GRID")
    check_may_assign(ADMIN, give(Role.DEPARTMENT, PATH[:2], dept="URBAN"), "COUNTY")
    check_may_assign(SUPER, give(Role.SUPERADMIN, PATH[:1]), "CITY")
    with pytest.raises(Forbidden, match="only a superadmin"):
        check_may_assign(ADMIN, give(Role.SUPERADMIN, PATH[:1]), "CITY")
    with pytest.raises(Forbidden, match="their own role"):
        check_may_assign(ADMIN, give(Role.ADMIN, sub="adm"), "GRID")
    with pytest.raises(Forbidden, match="may not assign"):
        check_may_assign(Principal(sub="o", role=Role.OPERATOR, region="k"), give(Role.OPERATOR), "GRID")
    for bad, level in ((give(Role.GRID_WORKER, PATH[:4]), "COMMUNITY"), (give(Role.DEPARTMENT), "GRID"),
                       (give(Role.OPERATOR, dept="URBAN"), "GRID"), (give(Role.OPERATOR, member="pm-1"), "GRID"),
                       (give(Role.SUPERADMIN, PATH[:2]), "COUNTY")):
        with pytest.raises((BadInput, Forbidden)):
            check_may_assign(SUPER, bad, level)
    with pytest.raises(BadInput, match="platform's own processes"):
        parse_role("service")
    with pytest.raises(BadInput, match="unknown role"):
        parse_role("king")


def test_an_admin_changes_only_what_was_given_inside_their_subtree():
    check_may_change(ADMIN, "p1", ("c", "k", "t"))
    check_may_change(ADMIN, "p1", None)  # nobody's yet
    with pytest.raises(Forbidden, match="outside your region"):
        check_may_change(ADMIN, "p1", ("c",))
    with pytest.raises(Forbidden, match="their own role"):
        check_may_change(ADMIN, "adm", ("c", "k"))


def test_claims_of_an_assignment():
    assert give(Role.OPERATOR, PATH[:3]).claims() == {"role": "operator", "region": "t"}
    assert give(Role.RESIDENT, PATH[:4]).claims() == {"role": "resident"}  # a resident's scope is their own records
    assert give(Role.DEPARTMENT, PATH[:2], dept="URBAN").claims() == {"role": "department", "region": "k",
                                                                      "dept": "URBAN"}


class Table:
    def __init__(self, **claims: dict[str, str]):
        self.by_sub, self.asked = claims, 0

    async def claims(self, sub: str) -> dict[str, str] | None:
        self.asked += 1
        return self.by_sub.get(sub)


async def test_a_verifier_signs_in_by_assignment_and_trusts_token_roles_only_where_told():
    issuer = local_issuer()
    table = Table(**{"sso-1": {"role": "operator", "region": "t"}})
    issuer.verifier.assignments = table
    p = await issuer.verifier.person_async(issuer.token(sub="sso-1"))
    assert (p.role, p.region) == (Role.OPERATOR, "t")
    assert issuer.verifier.person(issuer.token(sub="sso-1")).role is Role.OPERATOR  # the sync path: as last read
    with pytest.raises(Unauthenticated, match="no role in the platform"):
        await issuer.verifier.person_async(issuer.token(sub="sso-2"))
    # role claims in the token count by default ...
    assert (await issuer.verifier.person_async(issuer.token(sub="sso-2", role="resident"))).role is Role.RESIDENT
    # ... and not where the platform alone says who holds which role
    platform = local_issuer(role_source="platform")
    platform.verifier.assignments = table
    platform.publish(issuer.key)
    claimed = issuer.token(sub="sso-1", role="superadmin")
    assert (await platform.verifier.person_async(claimed)).role is Role.OPERATOR
    with pytest.raises(Unauthenticated, match="no role"):
        await platform.verifier.person_async(issuer.token(sub="sso-2", role="superadmin"))
    # read once, then remembered for YIWANG_ASSIGNMENT_CACHE_S
    asked = table.asked
    await issuer.verifier.person_async(issuer.token(sub="sso-1"))
    assert table.asked == asked


def test_events_name_a_person_by_a_keyed_hash():
    a, b = subject_key("secret-one-long-enough-xxxxxxxxxxx", "zhang"), subject_key("secret-two-long-enough-xxxxxxxxxxx", "zhang")
    assert a != b and a == subject_key("secret-one-long-enough-xxxxxxxxxxx", "zhang") and "zhang" not in a


def test_the_same_assignment_again_is_no_change():
    a = Assignment("zhang.wei@sso", Role.GRID_WORKER, "g1", ("c", "g1"))
    stored = {"role": "grid_worker", "regionId": "g1", "dept": None, "member": None, "active": True}
    assert a.held_by(stored)
    assert not a.held_by({**stored, "regionId": "g2"}) and not a.held_by({**stored, "role": "operator"})
    assert not a.held_by(None)
