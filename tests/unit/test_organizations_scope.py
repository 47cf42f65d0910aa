"""The organizations service's scope (domain/policy.py: SCOPE, RECEIVING, visible), written with
the kernel's rule, answers as the service's own versions did: the single-read test (staff in
scope, a transfer on either side, a member's own record) and the list filters (a region's
subtree, a transfer's either side), and the filter keeps what the record test admits."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.organizations import domain as d
from shared.auth import REGIONAL_ROLES, Principal, Role
from tests.unit.test_scope import REGIONS, SUBS, matches, trees

principals = st.builds(
    Principal, sub=st.sampled_from(SUBS), role=st.sampled_from(list(Role)),
    region=st.none() | st.sampled_from(REGIONS), dept=st.none() | st.sampled_from(["d1"]),
    member=st.none() | st.sampled_from(["m1", "m2"]),
).filter(lambda p: not (p.role in REGIONAL_ROLES and not p.region) and not (p.role is Role.DEPARTMENT and not p.dept))


# -- the versions the service had before it took the kernel's rule ---------------------------

def old_visible(p: Principal, record) -> bool:
    if d.is_allowed(p, d.Action.VIEW, record):
        return True
    return isinstance(record, d.Transfer) and d.is_allowed(p, d.Action.VIEW, record, record.to_path)


def old_scope_path(p: Principal, region_id: str | None) -> str | None:
    return region_id if region_id else (None if p.unrestricted else p.region)


def old_subtree(region: str | None) -> dict:
    return {"path": region} if region else {}


def old_either_side(region: str | None) -> dict:
    return {"$or": [{"path": region}, {"to_path": region}]} if region else {}


# -- records ---------------------------------------------------------------------------------

@st.composite
def records(draw, tree: dict[str, list[str]]):
    path = tuple(tree[draw(st.sampled_from(REGIONS))])
    rid = draw(st.sampled_from(["m1", "m2", "x"]))
    kind = draw(st.sampled_from(["member", "transfer", "org", "unit"]))
    if kind == "member":
        return d.PartyMember.model_construct(id=rid, org_path=path)
    if kind == "transfer":
        return d.Transfer.model_construct(id=rid, from_path=path, to_path=tuple(tree[draw(st.sampled_from(REGIONS))]))
    if kind == "org":
        return d.Organization.model_construct(id=rid, anchor_path=path)
    return d.Unit.model_construct(id=rid, region_path=path)


def stored(record) -> dict:
    """The fields of the record the store writes and lists filter on (shared.records, store.extra_fields)."""
    doc = {"_id": record.id, "path": list(record.scope_path)}
    if isinstance(record, d.Transfer):
        doc["to_path"] = list(record.to_path)
    return doc


@settings(max_examples=400, deadline=None)
@given(data=st.data(), p=principals)
def test_single_reads_answer_as_before(data, p):
    record = data.draw(records(data.draw(trees())))
    assert d.visible(p, record) == old_visible(p, record), (p, record)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), p=principals.filter(lambda p: p.unrestricted or p.role in (Role.ADMIN, Role.OPERATOR)))
def test_list_filters_are_the_old_ones_and_keep_what_a_single_read_shows(data, p):
    """Lists are staff's (the verbs' gate): for them the filter is the one the service built,
    and a record it keeps is one a staff member may read (a member's own record aside)."""
    tree = data.draw(trees())
    region = data.draw(st.none() | st.sampled_from(REGIONS))
    if region and not p.can_see_path(tree[region]):
        return  # refused before the rule is read (TerritoryReplica.within)
    flt = d.SCOPE.filter(p, region)
    either = (d.SCOPE.of(p, region) | d.RECEIVING.of(p, region)).filter()
    assert flt == old_subtree(old_scope_path(p, region))
    assert either == old_either_side(old_scope_path(p, region))
    for record in data.draw(st.lists(records(tree), min_size=1, max_size=6)):
        doc = stored(record)
        kept = matches(either if isinstance(record, d.Transfer) else flt, doc)
        if region is None:
            assert kept == d.visible(p.model_copy(update={"member": None}), record), (p, record)
        else:
            in_region = region in doc["path"] or (isinstance(record, d.Transfer) and region in doc["to_path"])
            assert kept == in_region, (p, region, record)


def test_other_roles_see_no_party_record_by_scope():
    for role in Role:
        if role in (Role.ADMIN, Role.OPERATOR) or role in (Role.SUPERADMIN, Role.SERVICE):
            continue
        p = Principal(sub="u1", role=role, region="r1", dept="d1")
        assert d.SCOPE.of(p).empty and d.RECEIVING.of(p).empty
        assert not d.visible(p, d.Organization.model_construct(id="o", anchor_path=("r1",)))
    own = Principal(sub="u1", role=Role.RESIDENT, member="m1")
    assert d.visible(own, d.PartyMember.model_construct(id="m1", org_path=("r9",)))
