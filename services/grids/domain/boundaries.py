"""Where boundaries may lie: the rules, and the audit of what is stored.

Pure: regions come in as stored documents (`_id name level path boundary`, top-down paths),
geometry as shapely shapes; the handlers load them, and the grid index (`overlaps`, handed in)
finds overlaps.

- A boundary lies inside the boundary of its nearest ancestor that has one (a level between
  may have none), and so contains the boundaries of the nearest bounded regions below it.
- A grid overlaps no other grid, in any city: a point belongs to one grid. Touching along an
  edge or at a corner is not an overlap, nor a sliver narrower than `EPS_DEG` (~1 cm).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from shared.errors import BadInput
from shared.geo import EPS_DEG, PolygonIndex, area_m2, covers, stored_shape, with_slack

from .regions import Level, Region

SHOWN = 5  # conflicting grids named in one refusal
# The grids a boundary would overlap (but the grid `exclude`), with the part each would share.
Overlaps = Callable[[BaseGeometry, str], list[tuple[dict, BaseGeometry]]]


def label(d: dict) -> str:
    return f"{d['level']} {d['name']} ({d['_id']})"


def nearest_bounded(chain: list[dict]) -> dict | None:
    """The nearest region of an ancestor chain (top-down) that has a boundary."""
    return next((d for d in reversed(chain) if d.get("boundary")), None)


def frontier(root_id: str, below: Iterable[dict]) -> list[dict]:
    """The bounded regions below `root_id` with no bounded region between it and them: the
    ones whose boundaries must lie inside the root's (or, if it has none, inside the root's
    nearest bounded ancestor's)."""
    below = list(below)
    bounded = {d["_id"] for d in below if d.get("boundary")}
    out = []
    for d in below:
        if d["_id"] in bounded:
            between = d["path"][d["path"].index(root_id) + 1 : -1]
            if not bounded.intersection(between):
                out.append(d)
    return out


def outside_m2(outer: BaseGeometry, inner: BaseGeometry) -> float:
    return area_m2(inner.difference(outer))


def check_inside(what: str, geom: BaseGeometry, container: dict | None, parent_id: str | None) -> None:
    """`what`'s boundary `geom` lies inside the boundary of `container`, the nearest bounded
    ancestor (None: there is none, nothing to check)."""
    if container is None:
        return
    outer = stored_shape(container["boundary"])
    if covers(outer, geom):
        return
    nearest = "" if container["_id"] == parent_id else ", its nearest ancestor with a boundary"
    raise BadInput(
        f"the boundary of {what} must lie inside its {container['level']} {container['name']}'s "
        f"boundary ({container['_id']}{nearest}); about {outside_m2(outer, geom):,.0f} m² lie outside",
        {"container": container["_id"]},
    )


def check_contains(geom: BaseGeometry, inner: list[dict]) -> None:
    """A region's new boundary still contains its nearest bounded descendants."""
    grown = with_slack(geom)
    for d in inner:
        if not grown.covers(stored_shape(d["boundary"])):
            raise BadInput(
                f"the boundary must contain the boundary of {label(d)}, which lies below it", {"region": d["_id"]}
            )


def check_no_overlap(what: str, conflicts: list[tuple[dict, BaseGeometry]]) -> None:
    """Refuse a grid boundary that overlaps other grids, naming them (id and name)."""
    if not conflicts:
        return
    named = [
        {"id": g["id"], "name": g["name"], "overlapM2": round(area_m2(common), 1)} for g, common in conflicts[:SHOWN]
    ]
    first = named[0]
    more = f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else ""
    raise BadInput(
        f"the boundary of {what} overlaps grid {first['name']} ({first['id']}) by about "
        f"{first['overlapM2']:,.0f} m²{more}; a point must belong to one grid, so grids may "
        "not overlap (their edges may touch)",
        {"conflictingGrids": named},
    )


def check_placed(
    node: Region, geom: BaseGeometry | None, container: dict | None, below: list[dict], overlaps: Overlaps
) -> None:
    """Region `node` gets boundary `geom` (None: it loses its own). It must lie inside
    `container`, its nearest bounded ancestor, and contain the nearest bounded regions of
    `below` (the regions under it); without one of its own, those must lie inside `container`.
    A grid's may overlap no other grid."""
    top = frontier(node.id, below)
    if geom is not None:
        check_inside(f"this {node.level}", geom, container, node.parent_id)
        check_contains(geom, top)
    else:
        for d in top:
            check_inside(label(d), stored_shape(d["boundary"]), container, node.id)
    if node.level is Level.GRID and geom is not None:
        check_no_overlap(f"this {node.level}", overlaps(geom, node.id))


def check_moved(moved: dict, parent_id: str, container: dict | None, below: list[dict], overlaps: Overlaps) -> None:
    """A subtree (its root `moved` and the regions `below` it) moved under `parent_id`: it lies
    inside `container`, its new nearest bounded ancestor, and its grids overlap no grid (one
    kept from before overlaps were refused is to be fixed first)."""
    top = [moved] if moved.get("boundary") else frontier(moved["_id"], below)
    for t in top:
        check_inside(label(t), stored_shape(t["boundary"]), container, parent_id if t is moved else None)
    for g in [moved, *below]:
        if g["level"] == "GRID" and g.get("boundary"):
            check_no_overlap(label(g), overlaps(stored_shape(g["boundary"]), g["_id"]))


# -- the audit of stored boundaries (`yiwang check territory`) ---------------------------------
def where(d: dict) -> dict[str, Any]:
    names = [a["name"] for a in d.get("ancestors") or []]
    return {"id": d["_id"], "name": d["name"], "level": d["level"], "path": " / ".join([*names, d["name"]])}


def audit(regions: list[dict], limit: int) -> dict[str, Any]:
    """Every rule checked over the stored regions: overlapping grids (with the area they share
    and the grid `locate` answers there), boundaries outside their nearest bounded ancestor,
    and boundaries that are not valid polygons. At most `limit` of each are listed."""
    by_id = {d["_id"]: d for d in regions}
    shapes: dict[str, BaseGeometry] = {}
    invalid = []
    for d in regions:
        if not d.get("boundary"):
            continue
        try:
            raw = shape(d["boundary"])
        except Exception as e:  # anything unreadable is reported, not raised
            invalid.append({**where(d), "reason": f"not GeoJSON: {str(e)[:160]}"})
            continue
        if not raw.is_valid or raw.area <= 0:
            invalid.append({**where(d), "reason": explain_validity(raw) if not raw.is_valid else "no area"})
        shapes[d["_id"]] = raw if raw.is_valid else shapely.make_valid(raw)
    index = PolygonIndex()
    index.replace_all((i, geom) for i, geom in shapes.items() if by_id[i]["level"] == "GRID")
    overlaps = [
        {
            "a": where(by_id[a]),
            "b": where(by_id[b]),
            "overlapM2": round(area_m2(common), 1),
            "locatedTo": index.winner((a, b)),
        }
        for a, b, common in index.overlapping_pairs()
    ]
    outside, grown = [], {}
    for i, geom in shapes.items():
        d = by_id[i]
        container = nearest_bounded([by_id[a] for a in d["path"][:-1] if a in shapes])
        if container is None:
            continue
        if container["_id"] not in grown:
            grown[container["_id"]] = with_slack(shapes[container["_id"]])
        if not grown[container["_id"]].covers(geom):
            outside.append(
                {
                    "region": where(d),
                    "container": where(container),
                    "outsideM2": round(outside_m2(shapes[container["_id"]], geom), 1),
                }
            )
    return {
        "regions": len(regions),
        "bounded": len(shapes),
        "grids": sum(1 for i in shapes if by_id[i]["level"] == "GRID"),
        "overlapCount": len(overlaps),
        "outsideCount": len(outside),
        "invalidCount": len(invalid),
        "overlaps": overlaps[:limit],
        "outside": outside[:limit],
        "invalid": invalid[:limit],
        "toleranceDeg": EPS_DEG,
    }
