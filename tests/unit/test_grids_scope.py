"""The grids service's scope (domain/policy.py `SCOPE`, `WORKER_SCOPE`: the kernel's rule of
shared/scope) answers as the versions it replaced did (Principal.can_see_path / scope_filter
in the policy and handlers), copied below as they were, for random principals and regions."""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.grids import domain as d
from shared.auth import Principal
from shared.records import flat_and
from tests.unit.test_scope import REGIONS, SUBS, any_principals, matches, trees


def old_list_scope(p: Principal, parent_id: str | None = None, level: str | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if parent_id is not None:
        query["parentId"] = parent_id
    elif level is None and not p.unrestricted:
        query["_id"] = p.region
    if level:
        query["level"] = level
    return flat_and(query, p.scope_filter("path"))


def old_may_read_worker(p: Principal, sub: str, path: list[str]) -> bool:
    return p.unrestricted or p.sub == sub or (p.role in d.WORKER_READERS and p.can_see_path(path))


def old_sees_worker_phone(p: Principal, sub: str, path: list[str]) -> bool:
    return (p.role in d.STAFF and p.can_see_path(path)) or p.sub == sub


@settings(max_examples=400, deadline=None)
@given(data=st.data(), p=any_principals)
def test_as_before(data, p):
    tree = data.draw(trees())
    region = data.draw(st.sampled_from(REGIONS))
    path, sub = tree[region], data.draw(st.sampled_from(SUBS))
    doc = {"_id": region, "path": path}
    assert d.SCOPE.admits(p, doc) == p.can_see_path(path)
    assert d.SCOPE.admits(p, doc) == matches(d.SCOPE.filter(p), doc)
    assert d.may_read_worker(p, sub, path) == old_may_read_worker(p, sub, path)
    assert d.sees_worker_phone(p, sub, path) == old_sees_worker_phone(p, sub, path)
    parent, level = data.draw(st.none() | st.sampled_from(REGIONS)), data.draw(st.none() | st.just("GRID"))
    assert d.list_scope(p, parent, level) == old_list_scope(p, parent, level)
    # the worker list, past its gate (a worker reader) and its region check:
    if p.unrestricted or (p.role in d.WORKER_READERS and p.can_see_path(path)):
        assert d.WORKER_SCOPE.filter(p, region) == {"path": region}
