"""The volunteers service's scope (domain/policy.py `SCOPES`, the kernel's rule of shared/scope)
answers as the versions it replaced did: the single-read test (`in_scope`) and the list scope
(`Context.scope`), copied below as they were. For random principals and records of every kind:
the rule's record test, its filter (on the fields the store writes) and the old versions agree.
One answer changed on purpose: a resident whose token names a region listed that region's
teams, posts and activities, none of which a single read shows them; their lists of those are
now empty, as their scope has none of them."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.volunteers import domain as d
from services.volunteers.domain.policy import OWNER_FIELDS
from shared.auth import Principal, Role, hidden, require_any_role
from shared.errors import DomainError, Forbidden
from shared.scope import NOTHING
from tests.unit.test_scope import REGIONS, SUBS, any_principals, matches, principals, trees

# -- the versions the service had before it took the kernel's rule ---------------------------


def old_in_scope(principal: Principal, record: Any) -> bool:
    if principal.unrestricted:
        return True
    if principal.role not in d.PERMISSIONS[d.Action.VIEW]:
        return False
    if principal.role is Role.RESIDENT:
        return getattr(record, "resident_sub", None) == principal.sub or getattr(record, "sub", None) == principal.sub
    return principal.can_see_path(record.region_path)


def old_scope(p: Principal, region_id: str | None, region_path: list[str] | None) -> dict:
    """`Context.scope`, its territory lookup (`visible_path`) written out."""
    require_any_role(p, d.PERMISSIONS[d.Action.VIEW], "list volunteer records")
    if region_id:
        if region_path is None or not p.can_see_path(region_path):
            raise hidden(p, f"region {region_id}")
        return {"path": region_id}
    if p.unrestricted:
        return {}
    if p.region:
        return {"path": p.region}
    raise Forbidden("name a region to list")


def new_scope(p: Principal, region_id: str | None, region_path: list[str] | None, kind: str) -> dict:
    """`Context.scope` as it is now, its territory lookup (`TerritoryReplica.within`) written out."""
    require_any_role(p, d.PERMISSIONS[d.Action.VIEW], "list volunteer records")
    if not (region_id or p.unrestricted or p.region):
        raise Forbidden("name a region to list")
    if region_id and (region_path is None or not p.can_see_path(region_path)):
        raise hidden(p, f"region {region_id}")
    return d.SCOPES[kind].filter(p, region_id)


# -- records of every kind, as the store keeps them ------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MODELS = {"volunteer": d.Volunteer, "team": d.Team, "post": d.Post, "order": d.ServiceOrder,
          "task": d.VolunteerTask, "activity": d.Activity}


@st.composite
def records(draw, tree: dict[str, list[str]]) -> Any:
    kind = draw(st.sampled_from(list(MODELS)))
    fields: dict[str, Any] = {"id": draw(st.sampled_from(["x1", "x2"])),
                              "region_path": tuple(tree[draw(st.sampled_from(REGIONS))])}
    if kind == "volunteer":
        fields["sub"] = draw(st.sampled_from(SUBS))
    if kind == "order":
        fields["resident_sub"] = draw(st.sampled_from(SUBS))
    return MODELS[kind].model_construct(**fields)


def stored(record: Any) -> dict:
    """The fields a list filters on, as shared.records.Records writes them."""
    doc = {"_id": record.id, "path": list(record.region_path)}
    for name in ("sub", "resident_sub"):
        if name in type(record).model_fields:
            doc[name] = getattr(record, name)
    return doc


@settings(max_examples=500, deadline=None)
@given(data=st.data(), p=principals)
def test_single_reads_and_the_filter_agree_with_the_old_test(data, p):
    tree = data.draw(trees())
    for record in data.draw(st.lists(records(tree), min_size=1, max_size=6)):
        admitted = d.in_scope(p, record)
        assert admitted == old_in_scope(p, record), (p, record)
        assert admitted == matches(d.SCOPES[record.kind].filter(p), stored(record)), (p, record)


@settings(max_examples=500, deadline=None)
@given(data=st.data(), p=any_principals)
def test_lists_answer_as_before(data, p):
    """Refused alike (same error and message), or the same filter; a resident with a region in
    their token now sees none of a region's teams, posts and activities (see the docstring)."""
    tree = data.draw(trees())
    region = data.draw(st.none() | st.sampled_from([*REGIONS, "unknown"]))
    path = tree.get(region) if region else None
    kind = data.draw(st.sampled_from(["team", "post", "activity", "order", "volunteer"]))

    def outcome(fn, *args):
        try:
            return fn(p, region, path, *args)
        except DomainError as e:
            return (type(e), e.code, str(e), e.details)

    new, old = outcome(new_scope, kind), outcome(old_scope)
    if p.role is Role.RESIDENT and isinstance(old, dict):
        assert d.SCOPES[kind].of(p).filter() == new
        if kind not in OWNER_FIELDS:
            assert d.SCOPES[kind].of(p) is NOTHING
        return
    assert new == old, (p, region, kind)


def test_a_residents_own_records():
    resident = Principal(sub="u1", role=Role.RESIDENT)
    assert d.SCOPES["order"].filter(resident) == {"resident_sub": "u1"}  # the orders list of a resident, as before
    assert d.SCOPES["volunteer"].filter(resident) == {"sub": "u1"}
    assert d.in_scope(resident, d.ServiceOrder.model_construct(id="o", region_path=("r9",), resident_sub="u1"))
    assert not d.in_scope(resident, d.Team.model_construct(id="t", region_path=("r9",)))
    dept = Principal(sub="u1", role=Role.DEPARTMENT, region="r9", dept="d1")
    assert not d.in_scope(dept, d.Team.model_construct(id="t", region_path=("r9",)))
