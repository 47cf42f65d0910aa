"""What organisations read from the territory: how many grids and buildings lie in each
region (the denominators of branch and group coverage)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_SLOT = {"GRID": 0, "BUILDING": 1}


def region_counts(nodes: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """(grids, buildings) in the subtree of every region that has any: each GRID or BUILDING
    node counts for every region on its path, itself included. Other levels count nothing."""
    counts: dict[str, list[int]] = {}
    for node in nodes:
        slot = _SLOT.get(node["level"])
        if slot is None:
            continue
        for region in node["path"]:
            counts.setdefault(region, [0, 0])[slot] += 1
    return {region: (grids, buildings) for region, (grids, buildings) in counts.items()}
