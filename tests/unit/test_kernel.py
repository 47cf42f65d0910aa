from __future__ import annotations

import time

import pytest

from shared.auth import Principal, Role
from tests.tokens import local_issuer
from shared.errors import BadInput, Forbidden, Unauthenticated
from shared.geo import PolygonIndex, covers, haversine_m, parse_boundary
from shared.ids import is_subject_safe, new_id
from shared.messaging.envelope import make_event
from shared.messaging.subjects import event_subject, subtree_filters
from shared.privacy import FieldCipher, FieldKeyError, mask_name, mask_phone


def sq(x, y, s):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]]}


@pytest.mark.parametrize("geojson, reason", [
    (None, "GeoJSON object"),
    ({"type": "LineString", "coordinates": []}, "Polygon or MultiPolygon"),
    ({"type": "Polygon", "coordinates": []}, "no coordinates"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "not closed"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [1, 1], [0, 0]]]}, "longitude/latitude"),
    ({"type": "Polygon", "coordinates": [[[0, 0], ["a", 0], [1, 1], [0, 0]]]}, "not [lng, lat]"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "Self-intersection"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]}, "valid polygon"),
])
def test_boundary_validation(geojson, reason):
    with pytest.raises(BadInput) as e:
        parse_boundary(geojson)
    assert reason in e.value.message


def test_multipolygon_and_cover():
    multi = {"type": "MultiPolygon", "coordinates": [sq(0, 0, 1)["coordinates"], sq(2, 0, 1)["coordinates"]]}
    geom = parse_boundary(multi)
    assert covers(geom, parse_boundary(sq(0, 0, 0.5)))
    assert not covers(geom, parse_boundary(sq(0.5, 0, 2)))


def test_polygon_index_locates_and_updates():
    idx = PolygonIndex()
    idx.replace_all([("a", sq(0, 0, 1)), ("b", sq(1, 0, 1))])
    assert idx.locate(0.5, 0.5) == "a" and idx.locate(1.5, 0.5) == "b" and idx.locate(5, 5) is None
    assert idx.locate(1.0, 0.5) == "a"  # shared edge: deterministic
    idx.put("a", None)
    assert idx.locate(0.5, 0.5) is None and len(idx) == 1
    idx.put("c", sq(4, 4, 2))
    assert idx.locate(5, 5) == "c"


def test_haversine():
    assert 110_000 < haversine_m(0, 0, 0, 1) < 112_000


def test_ids_are_subject_safe_and_sortable():
    a = new_id("r")
    time.sleep(0.002)
    b = new_id("r")
    assert is_subject_safe(a) and a < b and not is_subject_safe("a.b") and not is_subject_safe("*")


def test_event_subjects_carry_the_region_path():
    e = make_event("cases", "REPORTED", "c1", {}, path=["city", "k", "t", "m", "g"])
    assert event_subject(e) == "yiwang.evt.cases.REPORTED.city.k.t.m.g"
    assert subtree_filters(["city", "k"]) == ["yiwang.evt.*.*.city.k", "yiwang.evt.*.*.city.k.>"]
    assert event_subject(make_event("grids", "X", "s", {}, path=[])) == "yiwang.evt.grids.X._"


def test_scope_on_region_paths():
    admin = Principal(sub="a", role=Role.ADMIN, region="t1")
    assert admin.can_see_path(["c", "k", "t1", "m"]) and not admin.can_see_path(["c", "k", "t2"])
    assert not admin.can_see_path(["c", "k"])  # an ancestor is not in the subtree
    with pytest.raises(Forbidden):
        admin.require_path(["c", "k", "t2"])
    with pytest.raises(Forbidden):
        admin.require_role(Role.SUPERADMIN, action="x")
    assert Principal(sub="s", role=Role.SUPERADMIN).can_see_path(["any"])
    assert not Principal(sub="r", role=Role.RESIDENT).can_see_path(["c"])
    assert admin.scope_filter() == {"path": "t1"}


def test_tokens():
    issuer = local_issuer()
    p = issuer.verifier.person(issuer.token(sub="u", role="operator", region="t1"))
    assert (p.sub, p.role, p.region) == ("u", Role.OPERATOR, "t1")
    with pytest.raises(Unauthenticated):  # another issuer's token
        issuer.verifier.person(local_issuer().token(sub="u", role="operator", region="t1"))
    with pytest.raises(Unauthenticated):
        issuer.verifier.person(issuer.token(sub="u", role="operator", region="t1", ttl_s=-10))
    with pytest.raises(Unauthenticated):  # regional role without region
        issuer.verifier.person(issuer.token(sub="u", role="admin"))
    with pytest.raises(ValueError):
        issuer.token(sub="u", role="king")  # not a role: refused when minted


def test_privacy():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("12345") == "***45" and mask_phone(None) is None
    assert mask_name("张三丰") == "张**"
    c = FieldCipher("k")
    token = c.encrypt("13812345678")
    assert token != "13812345678" and c.decrypt(token) == "13812345678"
    with pytest.raises(FieldKeyError):
        FieldCipher("other").decrypt(token)
    assert c.blind_index("x") == c.blind_index("x") != FieldCipher("other").blind_index("x")
