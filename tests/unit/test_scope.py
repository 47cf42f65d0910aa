"""The scope rule (shared/scope): its test of one record and its MongoDB filter never disagree,
on random principals, trees and records; the region rule keeps a regional principal inside
its region; the kernel's uses of it (Principal.can_see_path / scope_filter) answer as before.
The services' rules answer as the versions they replaced: tests/unit/test_<service>_scope.py."""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.cases.domain import SCOPE as CASE_SCOPE
from services.organizations.domain import SCOPE as ORG_SCOPE
from services.volunteers.domain import SCOPES as VOLUNTEER_SCOPES
from shared.auth import REGIONAL_ROLES, Principal, Role
from shared.scope import EVERYTHING, NOTHING, Eq, In, Scope, ScopeRule, region_scope, subtree

# -- a tiny matcher of the MongoDB filter operators scopes use -------------------------------


def _eq(stored: Any, value: Any) -> bool:
    if isinstance(stored, list | tuple):
        return value in stored
    return stored == value


def matches(flt: dict, doc: dict) -> bool:
    for key, cond in flt.items():
        if key == "$and":
            if not all(matches(f, doc) for f in cond):
                return False
        elif key == "$or":
            if not any(matches(f, doc) for f in cond):
                return False
        elif isinstance(cond, dict) and set(cond) == {"$in"}:
            if not any(_eq(doc.get(key), v) for v in cond["$in"]):
                return False
        elif isinstance(cond, dict):
            raise AssertionError(f"operator not known to this matcher: {cond}")
        elif not _eq(doc.get(key), cond):
            return False
    return True


# -- random trees, principals and records ----------------------------------------------------

REGIONS = [f"r{i}" for i in range(8)]
SUBS = ["u1", "u2", "u3"]


@st.composite
def trees(draw) -> dict[str, list[str]]:
    """Region id -> top-down path ending with itself, a random forest over REGIONS."""
    paths: dict[str, list[str]] = {}
    for r in REGIONS:
        parent = draw(st.sampled_from([None, *paths]))
        paths[r] = [*paths[parent], r] if parent else [r]
    return paths


any_principals = st.builds(
    Principal, sub=st.sampled_from(SUBS), role=st.sampled_from(list(Role)),
    region=st.none() | st.sampled_from(REGIONS), dept=st.none() | st.sampled_from(["d1", "d2"]),
    member=st.none() | st.sampled_from(["m1", "m2"]))


def _issued(p: Principal) -> bool:
    """A principal a token can carry (shared.auth._principal refuses the others)."""
    return not (p.role in REGIONAL_ROLES and not p.region) and not (p.role is Role.DEPARTMENT and not p.dept)


principals = any_principals.filter(_issued)


@st.composite
def docs(draw, tree: dict[str, list[str]]) -> dict:
    leaf = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from(["DEPARTMENT", "VOLUNTEER", "GRID_WORKER"]))
    key = draw(st.none() | st.sampled_from([f"{kind}:{x}" for x in ["d1", "d2", "m1", "m2", *SUBS]]))
    return {"_id": draw(st.text(min_size=1, max_size=4)), "path": tree[leaf], "region_id": leaf,
            "assigneeKey": key, "reporterSubs": draw(st.lists(st.sampled_from(SUBS), max_size=2)),
            "resident_sub": draw(st.none() | st.sampled_from(SUBS)),
            "sub": draw(st.none() | st.sampled_from(SUBS)),
            # a case's building ends its path (`Case.scope_path`)
            "buildingId": draw(st.none() | st.just(leaf))}


# The services' rules (each checked against the versions it replaced in tests/unit/test_<service>_scope.py)
RULES = [ScopeRule(), CASE_SCOPE, ORG_SCOPE, VOLUNTEER_SCOPES["order"], VOLUNTEER_SCOPES["volunteer"],
         VOLUNTEER_SCOPES["post"]]


# -- the predicate and the filter agree ------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(data=st.data(), p=principals, rule=st.sampled_from(RULES))
def test_predicate_and_filter_agree(data, p, rule):
    tree = data.draw(trees())
    scope = rule.of(p, data.draw(st.none() | st.sampled_from(REGIONS)))
    for doc in data.draw(st.lists(docs(tree), min_size=1, max_size=8)):
        assert scope.admits(doc) == matches(scope.filter(), doc), (p, scope, doc)


leaves = st.sampled_from(["path", "region_id", "assigneeKey", "reporterSubs"])
values = st.sampled_from([*REGIONS, *SUBS, "DEPARTMENT:d1", "VOLUNTEER:m1"])
atoms = st.one_of(st.just(EVERYTHING), st.just(NOTHING), st.builds(Eq, leaves, values),
                  st.builds(In, leaves, st.lists(values, max_size=3)))
scopes = st.recursive(atoms, lambda inner: st.one_of(st.builds(lambda a, b: a & b, inner, inner),
                                                      st.builds(lambda a, b: a | b, inner, inner)), max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), scope=scopes)
def test_any_combination_agrees(data, scope: Scope):
    tree = data.draw(trees())
    for doc in data.draw(st.lists(docs(tree), min_size=1, max_size=6)):
        assert scope.admits(doc) == matches(scope.filter(), doc), (scope, scope.filter(), doc)


# -- what the region rule promises -----------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(data=st.data(), p=any_principals, rule=st.sampled_from(RULES))
def test_outside_the_region_never_admitted(data, p, rule):
    tree = data.draw(trees())
    doc = data.draw(docs(tree))
    if not p.unrestricted and p.region not in doc["path"] and p.role is not Role.RESIDENT:
        assert not rule.of(p).admits(doc)
    if not p.unrestricted and not (p.role in REGIONAL_ROLES and p.region):
        assert not region_scope(p).admits(doc)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), role=st.sampled_from([Role.SUPERADMIN, Role.SERVICE]), rule=st.sampled_from(RULES))
def test_unrestricted_sees_everything(data, role, rule):
    p = Principal(sub="s", role=role)
    assert rule.of(p) is EVERYTHING and rule.filter(p) == {}
    assert rule.of(p).admits(data.draw(docs(data.draw(trees()))))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), p=any_principals)
def test_principal_methods_are_the_region_rule(data, p):
    """`can_see_path` and `scope_filter` answer as they did before they were written with the rule."""
    path = tuple(data.draw(trees())[data.draw(st.sampled_from(REGIONS))])
    regional = p.role in REGIONAL_ROLES and bool(p.region)
    assert p.can_see_path(path) == (p.unrestricted or (regional and p.region in path))
    old_filter = {} if p.unrestricted else {"path": p.region} if regional else {"_id": {"$in": []}}
    assert p.scope_filter() == old_filter
    assert matches(p.scope_filter(), {"path": list(path)}) == p.can_see_path(path)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), p=principals, rule=st.sampled_from(RULES))
def test_a_list_of_one_region_is_the_scope_in_that_subtree(data, p, rule):
    """`of(p, region)`, for a region the caller may name (in their scope, unless the rule gives
    their role a scope of its own): exactly what `of(p)` admits in that region's subtree."""
    tree = data.draw(trees())
    region = data.draw(st.sampled_from(REGIONS))
    if p.role not in rule.replace and not p.can_see_path(tree[region]):
        return  # refused before the rule is read (TerritoryReplica.within)
    scope = rule.of(p, region)
    for doc in data.draw(st.lists(docs(tree), min_size=1, max_size=8)):
        assert scope.admits(doc) == (rule.of(p).admits(doc) and region in doc["path"]), (p, region, doc)


def test_subtree_of_a_region_asked_for():
    assert subtree("r1").filter() == {"path": "r1"}
    assert subtree("r1", "anchorPath").admits({"anchorPath": ["r0", "r1", "r2"]})
    assert not subtree("r1").admits({"path": ["r0"]})


def test_filters_combine_plainly_unless_a_field_repeats():
    assert (Eq("path", "r1") & Eq("assigneeKey", "x")).filter() == {"path": "r1", "assigneeKey": "x"}
    assert (Eq("path", "r1") & Eq("path", "r2")).filter() == {"$and": [{"path": "r1"}, {"path": "r2"}]}
    assert (Eq("a", 1) & NOTHING) is NOTHING and (Eq("a", 1) | EVERYTHING) is EVERYTHING
    assert NOTHING.filter() == {"_id": {"$in": []}} and not NOTHING.admits({})


# -- the services' rules, written with the kernel, answer as their own versions --------------
