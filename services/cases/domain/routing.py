"""Where a report belongs: the GRID its point lies in, or the grid (or a building of it) it names;
and the BUILDING it happened in, when it names one (`buildingId`, or a building as `regionId`).

Pure: the territory is handed in as two lookups (`node_of` an id, `locate` a point) over the
replica every service keeps in memory; nothing here reads a store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.errors import BadInput, NotFound
from shared.geo import valid_point

from .values import GeoPoint

Node = dict[str, Any]  # a region as the territory replica holds it (`id name level path parentId`)


class Whereabouts(Protocol):
    """What a report says of where it is: a point, a region id, or both (a `ReportCase`, an `ImportedCase`)."""

    @property
    def lng(self) -> float | None: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def regionId(self) -> str | None: ...


@dataclass(frozen=True)
class Routed:
    grid: Node  # the GRID the case belongs to
    location: GeoPoint | None  # the point reported, if any
    building: Node | None = None  # building: the BUILDING of that grid it names, if any

    @property
    def building_id(self) -> str | None:
        return node_id(self.building) if self.building else None


def node_id(node: Node) -> str:
    """A replica node's id (`_id` as stored; `id` in a region's DTO)."""
    return str(node.get("_id") or node["id"])


def route(
    where: Whereabouts, node_of: Callable[[str], Node | None], locate: Callable[[float, float], Node | None]
) -> Routed:
    """The grid a report belongs to: named (a building → its grid; anything else but a GRID is
    refused), else located from its point. A point given with a region is kept as the case's
    location; half a point is refused. The building: `buildingId` (which must be a BUILDING of
    that grid), or the building named as the region."""
    location = None
    if where.lng is not None or where.lat is not None:
        if where.lng is None or where.lat is None:
            raise BadInput("give both lng and lat, or a regionId")
        valid_point(where.lng, where.lat)
        location = GeoPoint(lng=where.lng, lat=where.lat)
    building = _building(getattr(where, "buildingId", None), node_of)
    if where.regionId:
        node = node_of(where.regionId)
        if node is None:
            raise NotFound(f"region {where.regionId} is not known here (yet)")
        if node["level"] == "BUILDING":
            if building is not None and node_id(building) != node_id(node):
                raise BadInput(
                    f"regionId names building {node_id(node)}, buildingId another ({node_id(building)}): name one",
                    {"regionId": node_id(node), "buildingId": node_id(building)},
                )
            building, node = node, node_of(node["parentId"]) or node
        if node["level"] != "GRID":
            raise BadInput(f"a case belongs to a GRID; {node['name']} is a {node['level']}")
        return Routed(node, location, _in_grid(building, node))
    if location is None:
        if building is not None:  # building: the building alone says where
            grid = node_of(building["parentId"])
            if grid is not None and grid["level"] == "GRID":
                return Routed(grid, None, building)
        raise BadInput("say where: lng and lat, or the regionId of a grid or building")
    grid = locate(location.lng, location.lat)
    if grid is None:
        raise BadInput(
            f"no grid contains the point [{location.lng}, {location.lat}]; give the regionId of a grid instead"
        )
    return Routed(grid, location, _in_grid(building, grid))


def _building(building_id: str | None, node_of: Callable[[str], Node | None]) -> Node | None:
    """The BUILDING a report names as `buildingId` (None: none named)."""
    if not building_id:
        return None
    node = node_of(building_id)
    if node is None:
        raise NotFound(f"region {building_id} is not known here (yet)")
    if node["level"] != "BUILDING":
        raise BadInput(
            f"buildingId must name a BUILDING; {node['name']} is a {node['level']}", {"buildingId": building_id}
        )
    return node


def _in_grid(building: Node | None, grid: Node) -> Node | None:
    """The building, which must lie in the case's grid (a building of another grid is refused)."""
    if building is not None and building.get("parentId") != node_id(grid):
        raise BadInput(
            f"building {building['name']} is not in grid {grid['name']}, where the case belongs",
            {"buildingId": node_id(building), "gridId": node_id(grid)},
        )
    return building
