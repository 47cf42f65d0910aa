"""Three-lists matching (三张清单): for a need, resources and projects of its category, nearest
regions first: its own community, then its township, county and city. Each ring is one indexed
query (category, region on the path), so the work is bounded by the path's length."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .lists import Need

MAX_SUGGESTIONS = 50


def rings(need: Need) -> list[str]:
    """The regions to look in, nearest first: the need's community, then each ancestor up to the top."""
    return list(reversed(need.community_path))


def nearest_first(found: Iterable[tuple[str, Sequence[str]]], ring_ids: Sequence[str], limit: int) -> list[str]:
    """Ids of (id, region path) pairs in ring order (the first ring whose region is on the path),
    each once, at most `limit`: what a page of suggestions is made of."""
    rank = {r: i for i, r in enumerate(ring_ids)}
    best: dict[str, int] = {}
    for record_id, path in found:
        hits = [rank[r] for r in path if r in rank]
        if hits:
            best[record_id] = min(best.get(record_id, len(rank)), min(hits))
    return sorted(best, key=lambda i: (best[i], i))[:limit]
