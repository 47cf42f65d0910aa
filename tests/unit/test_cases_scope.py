"""The cases service's one scope rule (domain/policy.py `SCOPE`, from the kernel's shared/scope)
answers as the two versions it replaced did: the single-read test (`in_scope`) and the list
filter (`store.scope_query`, then `policy._scope_query` and the region tweak of `list_scope`),
copied below as they were. For random principals and cases: the rule's record test, its filter
(on the document the store writes) and both old versions agree."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.cases import domain as d
from services.cases.store import case_doc
from shared.auth import Principal, Role, hidden
from shared.errors import DomainError
from shared.records import flat_and
from tests.unit.test_scope import REGIONS, SUBS, matches, principals, trees

# -- the versions the service had before it took the kernel's rule ---------------------------


def old_in_scope(principal: Principal, case: d.Case) -> bool:
    if principal.unrestricted:
        return True
    role = principal.role
    if role in (Role.ADMIN, Role.OPERATOR):
        return principal.can_see_path(case.scope_path)
    if role is Role.GRID_WORKER:
        return principal.region == case.region_id
    if role in (Role.DEPARTMENT, Role.VOLUNTEER):
        return principal.can_see_path(case.scope_path) and d.is_assignee(principal, case)
    if role is Role.RESIDENT:
        return any(r.sub == principal.sub for r in case.reporters)
    if role is Role.BUILDING_LEADER:
        return principal.region is not None and principal.region == case.building_id
    return False


def old_scope_query(p: Principal) -> dict[str, Any]:
    if p.unrestricted:
        return {}
    if p.role in (Role.ADMIN, Role.OPERATOR):
        return {"path": p.region}
    if p.role is Role.GRID_WORKER:
        return {"region_id": p.region}
    if p.role is Role.DEPARTMENT:  # since departments handle cases as 主办/协办: the same cases, by `deptKeys`
        return {"path": p.region, "deptKeys": f"{p.region}:{p.dept}"}
    if p.role is Role.VOLUNTEER:
        return {"path": p.region, "assigneeKey": {"$in": [f"VOLUNTEER:{p.member}", f"VOLUNTEER:{p.sub}"]}}
    if p.role is Role.RESIDENT:
        return {"reporterSubs": p.sub}
    if p.role is Role.BUILDING_LEADER and p.region:  # building: the cases of its building
        return {"buildingId": p.region}
    return {"_id": {"$in": []}}


def old_list_scope(p: Principal, region_id: str | None = None, region_path: list[str] | None = None) -> dict:
    scope = old_scope_query(p)
    if not region_id:
        return scope
    if region_path is None or (p.role is not Role.RESIDENT and not p.can_see_path(list(region_path))):
        raise hidden(p, f"region {region_id}")
    if p.role is not Role.RESIDENT:
        scope.pop("path", None)
    return flat_and(scope, {"path": region_id})


# -- random cases ----------------------------------------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_case(i: int, path: list[str], assignee: d.Assignee | None, reporter_subs: list[str | None],
              building: str | None = None) -> d.Case:
    reporters = [d.Reporter(sub=s, name="n", case_id_origin="c") for s in reporter_subs or [None]]
    return d.Case(id=f"c{i:04d}", title="t", category_code="X", kind=next(iter(d.RequestKind)),
                  channel=next(iter(d.CaseChannel)), level=next(iter(d.HandlingLevel)), region_id=path[-1],
                  region_path=tuple(path), reporters=reporters, assignee=assignee, created_at=NOW, updated_at=NOW,
                  building_id=building)


@st.composite
def cases(draw, tree: dict[str, list[str]], i: int = 0) -> d.Case:
    kind = draw(st.sampled_from(list(d.AssigneeKind)))
    ids = st.sampled_from(["d1", "d2", "m1", *SUBS])
    assignee = draw(st.none() | st.builds(d.Assignee, kind=st.just(kind), id=ids))
    subs = draw(st.lists(st.none() | st.sampled_from(SUBS), max_size=2))
    path = tree[draw(st.sampled_from(REGIONS))]
    # a building is a child of the case's region in the tree (its scope path is the building's path), or none
    children = [r for r in REGIONS if r in tree and list(tree[r][:-1]) == list(path)]
    building = draw(st.none() | st.sampled_from(children or [None]))
    return make_case(i, path, assignee, subs, building)


def same_filter(new: dict, old: dict, p: Principal) -> bool:
    """The same filter; for a volunteer without a member id the old one also looked for the
    assignee `VOLUNTEER:None` (an id no volunteer has, and which `in_scope` never admitted)."""
    if p.role is Role.VOLUNTEER and not p.member:
        old = {**old, "assigneeKey": {"$in": [f"VOLUNTEER:{p.sub}"]}}
    return new == old


@settings(max_examples=500, deadline=None)
@given(data=st.data(), p=principals)
def test_record_test_filter_and_both_old_versions_agree(data, p):
    tree = data.draw(trees())
    flt = d.SCOPE.filter(p)
    assert same_filter(flt, old_scope_query(p), p), (p, flt)
    for case in data.draw(st.lists(cases(tree), min_size=1, max_size=6)):
        admitted = d.SCOPE.admits(p, case)
        doc = case_doc(case)
        assert admitted == old_in_scope(p, case), (p, case)
        assert admitted == matches(flt, doc), (p, flt, doc)
        assert admitted == matches(old_scope_query(p), doc), (p, doc)


@settings(max_examples=500, deadline=None)
@given(data=st.data(), p=principals)
def test_a_list_of_one_region_as_before(data, p):
    """`list_scope` with a region: refused alike (same error, same message) or the same filter,
    keeping exactly the cases in scope in that region's subtree."""
    tree = data.draw(trees())
    region = data.draw(st.sampled_from([*REGIONS, "unknown"]))
    path = tree.get(region)

    def outcome(fn):
        try:
            return fn(p, region, path)
        except DomainError as e:
            return (type(e), e.code, str(e), e.details)

    new, old = outcome(d.list_scope), outcome(old_list_scope)
    if isinstance(old, tuple):
        assert new == old, (p, region)
        return
    assert isinstance(new, dict) and same_filter(new, old, p), (p, region, new, old)
    for case in data.draw(st.lists(cases(tree), min_size=1, max_size=6)):
        doc = case_doc(case)
        assert matches(new, doc) == (d.SCOPE.admits(p, case) and region in case.scope_path), (p, region, doc)
        assert matches(new, doc) == matches(old, doc)


def test_actions_read_the_same_rule():
    """`authorize` refuses a case outside the rule with the message it always gave."""
    case = make_case(1, ["r0", "r1"], d.Assignee(kind=d.AssigneeKind.DEPARTMENT, id="d2"), ["u1"])
    dept = Principal(sub="u9", role=Role.DEPARTMENT, region="r0", dept="d1")
    try:
        d.authorize(dept, d.Action.START, case)
    except DomainError as e:
        assert str(e) == "case c0001 is outside your scope" and e.details == {"caseId": "c0001", "action": "start"}
    else:
        raise AssertionError("a department sees another department's case")
    assert d.is_allowed(Principal(sub="u1", role=Role.RESIDENT), d.Action.RATE, case)


def test_my_cases_parts_stay_flat_and_keep_the_scope():
    """`mine_parts` ands each part onto the scope without an `$or` and without widening it: an
    `$in` holding the value narrows to it, one assignee asked for another is no part at all, and
    a list field (`reporterSubs`) asked for two subs keeps both conditions."""
    assert d.narrowed({"path": "k"}, {"assigneeKey": "A"}) == {"path": "k", "assigneeKey": "A"}
    assert d.narrowed({"assigneeKey": {"$in": ["A", "B"]}}, {"assigneeKey": "A"}) == {"assigneeKey": "A"}
    assert d.narrowed({"assigneeKey": {"$in": ["B"]}}, {"assigneeKey": "A"}) is None
    assert d.narrowed({"assigneeKey": "B"}, {"assigneeKey": "A"}) is None
    assert d.narrowed({"reporterSubs": "u2"}, {"reporterSubs": "u1"}) == {"reporterSubs": "u2", "$and": [{"reporterSubs": "u1"}]}
    volunteer = Principal(sub="u1", role=Role.VOLUNTEER, member="m1", region="k")
    parts, both = d.mine_parts(volunteer, d.list_scope(volunteer))
    assert all("$or" not in q and "$and" not in q for q in parts + both)
    # their reports only as far as the scope goes (assigned to them), then each of their keys in it
    assert [q["assigneeKey"] for q in parts] == [{"$in": ["VOLUNTEER:m1", "VOLUNTEER:u1"]}, "VOLUNTEER:u1", "VOLUNTEER:m1"]
