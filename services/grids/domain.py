"""Territory rules: the region tree, its levels, grid workers and the rollups they feed.

Pure: no I/O, no clock. The store loads, these functions decide, the store writes.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.errors import BadInput, Conflict
from shared.ids import is_subject_safe
from shared.vocabulary.territory import Level, WorkerRole

PARENT_LEVEL: dict[Level, Level | None] = {
    Level.CITY: None, Level.COUNTY: Level.CITY, Level.TOWNSHIP: Level.COUNTY,
    Level.COMMUNITY: Level.TOWNSHIP, Level.GRID: Level.COMMUNITY, Level.BUILDING: Level.GRID,
}


WORKER_ROLE_NAMES = {WorkerRole.BASIC: "基础网格员", WorkerRole.CONVENIENCE: "便民服务员",
                     WorkerRole.FINANCE: "财经管理员"}

COUNTERS = ("countyCount", "townshipCount", "communityCount", "gridCount", "buildingCount",
            "gridWorkerCount")
_CODE = re.compile(r"^[0-9A-Za-z-]{1,32}$")
_PHONE = re.compile(r"^\+?[0-9-]{5,20}$")


@dataclass
class Region:
    id: str
    name: str
    level: Level
    path: list[str]  # ancestor ids, top-down, ending with this node
    parent_id: str | None = None
    code: str | None = None
    boundary: dict | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    version: int = 1


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise BadInput("name must not be empty")
    if len(name) > 64:
        raise BadInput("name is longer than 64 characters")
    return name


def check_code(code: str | None) -> str | None:
    if code is None or code == "":
        return None
    if not _CODE.match(code):
        raise BadInput("code must be 1-32 letters, digits or '-' (e.g. the 12-digit statistical code)")
    return code


def check_id(region_id: str) -> str:
    if not is_subject_safe(region_id):
        raise BadInput("id must be 1-48 lowercase letters, digits, '-' or '_', starting with a letter or digit")
    return region_id


def check_phone(phone: str | None) -> str | None:
    if phone is None or phone == "":
        return None
    if not _PHONE.match(phone):
        raise BadInput("phone must be 5-20 digits")
    return phone


def check_parent(level: Level, parent: Region | None) -> None:
    """A node's parent is exactly one level up; a CITY has none."""
    expected = PARENT_LEVEL[level]
    if expected is None:
        if parent is not None:
            raise BadInput("a CITY is a top-level region and has no parent")
        return
    if parent is None:
        raise BadInput(f"a {level} needs a parent {expected}")
    if parent.level != expected:
        raise BadInput(f"a {level}'s parent must be a {expected}, not a {parent.level}")


def new_region(region_id: str, name: str, level: Level, parent: Region | None,
               code: str | None = None, attrs: dict | None = None) -> Region:
    check_parent(level, parent)
    return Region(id=check_id(region_id), name=check_name(name), level=level,
                  path=[*(parent.path if parent else []), region_id],
                  parent_id=parent.id if parent else None, code=check_code(code),
                  attrs=attrs or {})


def check_move(node: Region, new_parent: Region) -> None:
    if new_parent.id == node.id or node.id in new_parent.path:
        raise BadInput("a region cannot move under itself or its own descendant")
    check_parent(node.level, new_parent)
    if node.parent_id == new_parent.id:
        raise BadInput("the region is already under that parent")


def moved_path(old_path: list[str], old_prefix: list[str], new_prefix: list[str]) -> list[str]:
    """The path of a node in a moved subtree: swap the moved root's old path for its new one."""
    n = len(old_prefix)
    if old_path[:n] != old_prefix:
        raise ValueError("node is not in the moved subtree")
    return [*new_prefix, *old_path[n:]]


def check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise Conflict(f"the region changed since you read it (version {current}, you sent {expected})",
                       {"currentVersion": current})


def counters_of_node(level: Level) -> Counter:
    """What one node contributes to its own rollup and every ancestor's."""
    key = {Level.COUNTY: "countyCount", Level.TOWNSHIP: "townshipCount",
           Level.COMMUNITY: "communityCount", Level.GRID: "gridCount",
           Level.BUILDING: "buildingCount"}.get(level)
    return Counter({key: 1}) if key else Counter()


def counters_of_worker(active: bool, grid_id: str | None) -> Counter:
    return Counter({"gridWorkerCount": 1}) if active and grid_id else Counter()


def recount(regions: list[Region], workers: list[tuple[bool, str | None]]) -> dict[str, Counter]:
    """Rollups from scratch: the reference that live counters must equal."""
    by_id = {r.id: r for r in regions}
    totals: dict[str, Counter] = {r.id: Counter() for r in regions}
    for r in regions:
        for anc in r.path:
            totals[anc].update(counters_of_node(r.level))
    for active, grid_id in workers:
        if grid_id in by_id:
            for anc in by_id[grid_id].path:
                totals[anc].update(counters_of_worker(active, grid_id))
    return totals
