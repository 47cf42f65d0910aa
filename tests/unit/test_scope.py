"""The scope rule (shared/scope): its test of one record and its MongoDB filter never disagree,
on random principals, trees and records; the region rule keeps a regional principal inside
its region; the kernel's uses of it (Principal.can_see_path / scope_filter) and the services'
per-role rules expressed with it answer as the services' own versions do."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.cases.domain.enums import AssigneeKind
from services.cases.domain.model import Case
from services.cases.domain.policy import in_scope as case_in_scope
from services.cases.domain.values import Assignee, Reporter
from services.cases.domain.policy import _scope_query as case_scope_query  # the reference until the swap
from services.volunteers.domain.policy import PERMISSIONS as VOLUNTEER_PERMISSIONS
from services.volunteers.domain.policy import Action as VolunteerAction
from services.volunteers.domain.policy import in_scope as volunteer_in_scope
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
            "sub": draw(st.none() | st.sampled_from(SUBS))}


def _assignee_key(c: Case) -> str | None:
    return f"{c.assignee.kind}:{c.assignee.id}" if c.assignee else None


# The cases' rule, as services/cases takes it over (see the module docstring of shared/scope):
CASE_SCOPE = ScopeRule(
    fields={"path": lambda c: c.region_path, "region_id": lambda c: c.region_id,
            "assigneeKey": _assignee_key, "reporterSubs": lambda c: [r.sub for r in c.reporters]},
    narrow={Role.DEPARTMENT: lambda p: Eq("assigneeKey", f"DEPARTMENT:{p.dept}"),
            Role.VOLUNTEER: lambda p: In("assigneeKey", [f"VOLUNTEER:{p.member}", f"VOLUNTEER:{p.sub}"])},
    replace={Role.GRID_WORKER: lambda p: Eq("region_id", p.region),
             Role.RESIDENT: lambda p: Eq("reporterSubs", p.sub)})

# The volunteers' rule: roles that read volunteer records at all, a resident's own records.
_VOLUNTEER_READERS = VOLUNTEER_PERMISSIONS[VolunteerAction.VIEW]
VOLUNTEER_SCOPE = ScopeRule(
    fields={"path": lambda r: r.region_path},
    replace={Role.RESIDENT: lambda p: Eq("resident_sub", p.sub) | Eq("sub", p.sub),
             **{r: (lambda p: NOTHING) for r in Role if r not in _VOLUNTEER_READERS}})

RULES = [ScopeRule(), CASE_SCOPE, VOLUNTEER_SCOPE]


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

@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("region", [None, "r1"])
def test_case_rule_filter_is_the_case_store_query(role, region):
    p = Principal(sub="u1", role=role, region=region, dept="d1", member="m1")
    if not _issued(p):
        assert CASE_SCOPE.of(p).empty or role is Role.GRID_WORKER  # no token carries it; nothing by region
        return
    assert CASE_SCOPE.filter(p) == case_scope_query(p)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), p=principals)
def test_case_rule_admits_as_the_case_policy(data, p):
    tree = data.draw(trees())
    leaf = data.draw(st.sampled_from(REGIONS))
    kind = data.draw(st.sampled_from(list(AssigneeKind)))
    assignee = data.draw(st.none() | st.builds(Assignee, kind=st.just(kind),
                                               id=st.sampled_from(["d1", "m1", *SUBS])))
    reporters = [Reporter.model_construct(sub=s) for s in data.draw(st.lists(st.none() | st.sampled_from(SUBS),
                                                                       max_size=2))]
    case = Case.model_construct(region_id=leaf, region_path=tuple(tree[leaf]), assignee=assignee,
                                reporters=reporters)
    assert CASE_SCOPE.admits(p, case) == case_in_scope(p, case), (p, case)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), p=principals)
def test_volunteer_rule_admits_as_the_volunteer_policy(data, p):
    tree = data.draw(trees())
    leaf = data.draw(st.sampled_from(REGIONS))
    record = SimpleNamespace(id="x", kind="order", region_path=tuple(tree[leaf]),
                             resident_sub=data.draw(st.none() | st.sampled_from(SUBS)),
                             sub=data.draw(st.none() | st.sampled_from(SUBS)))
    assert VOLUNTEER_SCOPE.admits(p, record) == volunteer_in_scope(p, record), (p, record)


@pytest.mark.parametrize("role", list(Role))
def test_case_rule_within_a_region_is_the_case_list_query(role):
    """The case list's query of a region asked for (today: the role's query, its path clause
    dropped as implied, the region's path added) is the rule's scope within that region."""
    p = Principal(sub="u1", role=role, region="r1", dept="d1", member="m1")
    if not _issued(p):
        return
    today = dict(case_scope_query(p))
    if role is not Role.RESIDENT:
        today.pop("path", None)
    today["path"] = "r2"
    assert CASE_SCOPE.filter(p, region="r2") == today
