"""A small territory and builders shared by the organizations domain tests."""
from __future__ import annotations

from datetime import date, datetime, timezone

from services.grids.domain import Level
from services.organizations.domain import (Gender, MemberCategory, Node, Organization, OrgType,
                                           PartyMember)
from shared.auth import Principal, Role

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
L = Level
# c ─ k ─ t1 ─ m1 ─ g1 ─ b1, b1x ; m1 ─ g2 ─ b2 ; k ─ t2 ─ m2 ─ g3 ─ b3
_TREE = {"c": (L.CITY, None), "k": (L.COUNTY, "c"), "t1": (L.TOWNSHIP, "k"),
         "t2": (L.TOWNSHIP, "k"), "m1": (L.COMMUNITY, "t1"), "m2": (L.COMMUNITY, "t2"),
         "g1": (L.GRID, "m1"), "g2": (L.GRID, "m1"), "g3": (L.GRID, "m2"),
         "b1": (L.BUILDING, "g1"), "b1x": (L.BUILDING, "g1"), "b2": (L.BUILDING, "g2"),
         "b3": (L.BUILDING, "g3")}


def _path(node: str) -> tuple[str, ...]:
    parent = _TREE[node][1]
    return (*_path(parent), node) if parent else (node,)


N = {k: Node(id=k, level=lvl, path=_path(k)) for k, (lvl, _) in _TREE.items()}

SUPER = Principal(sub="root", role=Role.SUPERADMIN)
ADMIN_K = Principal(sub="admin-k", role=Role.ADMIN, region="k")
ADMIN_T1 = Principal(sub="admin-t1", role=Role.ADMIN, region="t1")
ADMIN_T2 = Principal(sub="admin-t2", role=Role.ADMIN, region="t2")
OPERATOR_M1 = Principal(sub="op-m1", role=Role.OPERATOR, region="m1")
VOLUNTEER = Principal(sub="vol", role=Role.VOLUNTEER, region="m1", member="p1")
RESIDENT = Principal(sub="res", role=Role.RESIDENT, member="p1")


def tree(by: Principal = ADMIN_K, now: datetime = T0) -> dict[str, Organization]:
    """Township committees on t1, t2; community committees on m1, m2; branches on g1, g2,
    g3; groups on b1, b2, b3; org ids are '<type initials>-<anchor>'."""
    orgs: dict[str, Organization] = {}

    def make(oid: str, t: OrgType, anchor: str, parent: str | None) -> None:
        orgs[oid] = Organization.create(id=oid, name=f"{anchor}党组织", type=t, anchor=N[anchor],
                                        parent=orgs[parent] if parent else None, by=by, now=now)
    for t in ("t1", "t2"):
        make(f"twc-{t}", OrgType.TOWNSHIP_WORKING_COMMITTEE, t, None)
    for m, t in (("m1", "t1"), ("m2", "t2")):
        make(f"cc-{m}", OrgType.COMMUNITY_COMMITTEE, m, f"twc-{t}")
    for g, m in (("g1", "m1"), ("g2", "m1"), ("g3", "m2")):
        make(f"gb-{g}", OrgType.GRID_BRANCH, g, f"cc-{m}")
    for b, g in (("b1", "g1"), ("b2", "g2"), ("b3", "g3")):
        make(f"bg-{b}", OrgType.BUILDING_GROUP, b, f"gb-{g}")
    for o in orgs.values():
        o.drain_events()
    return orgs


def member(org: Organization, *, id: str = "p1", category=MemberCategory.IN_SERVICE,
           now: datetime = T0, by: Principal = ADMIN_K, **kw) -> PartyMember:
    fields = dict(name="张三", gender=Gender.MALE, birth_date=date(1980, 5, 4),
                  join_date=date(2005, 7, 1), home=N["b1"], phone_enc="enc:phone",
                  phone_index="bi:phone", id_number_enc="enc:id", id_number_index="bi:id")
    fields.update(kw)
    return PartyMember.register(id=id, category=category, org=org, by=by, now=now, **fields)
