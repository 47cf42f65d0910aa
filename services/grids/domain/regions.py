"""The region tree: its levels, a region's fields, where it may sit, and what a rename or
move rewrites below it. Pure: the store loads, these functions decide, the store writes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.errors import BadInput, Conflict
from shared.ids import check_subject_id
from shared.vocabulary.territory import Level

PARENT_LEVEL: dict[Level, Level | None] = {
    Level.CITY: None,
    Level.COUNTY: Level.CITY,
    Level.TOWNSHIP: Level.COUNTY,
    Level.COMMUNITY: Level.TOWNSHIP,
    Level.GRID: Level.COMMUNITY,
    Level.BUILDING: Level.GRID,
}
NAME_MAX = 64
_CODE = re.compile(r"^[0-9A-Za-z-]{1,32}$")


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
    if len(name) > NAME_MAX:
        raise BadInput(f"name is longer than {NAME_MAX} characters")
    return name


def check_code(code: str | None) -> str | None:
    if code is None or code == "":
        return None
    if not _CODE.match(code):
        raise BadInput("code must be 1-32 letters, digits or '-' (e.g. the 12-digit statistical code)")
    return code


def check_id(region_id: str) -> str:
    return check_subject_id(region_id)


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


def new_region(
    region_id: str, name: str, level: Level, parent: Region | None, code: str | None = None, attrs: dict | None = None
) -> Region:
    check_parent(level, parent)
    return Region(
        id=check_id(region_id),
        name=check_name(name),
        level=level,
        path=[*(parent.path if parent else []), region_id],
        parent_id=parent.id if parent else None,
        code=check_code(code),
        attrs=attrs or {},
    )


def changed_fields(name: str | None, code: str | None, code_given: bool, attrs: dict | None) -> dict[str, Any]:
    """The fields an update sets: a name, a code (`code_given`: the update names one, None or
    "" to clear it), attributes. Refused when it changes nothing."""
    fields: dict[str, Any] = {}
    if name is not None:
        fields["name"] = check_name(name)
    if code_given:
        fields["code"] = check_code(code)
    if attrs is not None:
        fields["attrs"] = attrs
    if not fields:
        raise BadInput("nothing to change: give name, code or attrs")
    return fields


def renames(fields: dict[str, Any]) -> bool:
    """Whether an update changes what the breadcrumbs below the region show."""
    return "name" in fields or "code" in fields


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
        raise Conflict(
            f"the region changed since you read it (version {current}, you sent {expected})",
            {"currentVersion": current},
        )


def crumb(r: Region) -> dict[str, Any]:
    """A region as a breadcrumb in the `ancestors` of the regions below it."""
    return {"id": r.id, "name": r.name, "level": str(r.level), "code": r.code}


def ancestors_below(parent_ancestors: list[dict[str, Any]], parent: Region) -> list[dict[str, Any]]:
    """The breadcrumbs of a region placed under `parent` (whose own breadcrumbs are `parent_ancestors`)."""
    return [*parent_ancestors, crumb(parent)]


def subtree_rewrites(
    root: Region, root_ancestors: list[dict[str, Any]], subtree: list[Region], old_prefix: list[str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """Path and breadcrumbs of every region below `root` after `root` was renamed (`old_prefix`
    None) or moved from `old_prefix` (its old path) to `root.path`: (id, fields to set)."""
    crumbs = {a["id"]: a for a in root_ancestors}
    crumbs[root.id] = crumb(root)
    crumbs |= {r.id: crumb(r) for r in subtree}
    out = []
    for r in subtree:
        path = moved_path(r.path, old_prefix, root.path) if old_prefix else r.path
        out.append((r.id, {"path": path, "ancestors": [crumbs[i] for i in path[:-1]]}))
    return out
