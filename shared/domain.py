"""Small pieces every service's pure domain uses: text checks and region rollup deltas.

A rollup of a region is the sum of what each record in its subtree contributes
(`counters_of(record)`); a command's delta is counters(after) − counters(before), added to
every region on the record's path. These helpers hold that arithmetic once.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

from shared.errors import BadInput

R = TypeVar("R")


def text(value: str | None, what: str, limit: int, required: bool = True) -> str:
    """Trimmed text, required unless told otherwise, at most `limit` characters."""
    v = (value or "").strip()
    if required and not v:
        raise BadInput(f"{what} is required", {"field": what})
    if len(v) > limit:
        raise BadInput(f"{what} is longer than {limit} characters", {"field": what})
    return v


def ratio(num: int, den: int) -> float | None:
    return num / den if den > 0 else None


@dataclass(frozen=True)
class RollupDelta:
    """The same counter increments for every region on `region_path`; non-zero ones only.

    A service's subclass names what one of its records contributes (`counters`) and what its
    records are called (`what`); `between` and `recount` are then the service's."""

    region_path: tuple[str, ...]
    changes: dict[str, int]
    what: ClassVar[str] = "record"

    @classmethod
    def counters(cls, record: Any) -> Mapping[str, int]:
        """What `record` contributes to every region on its path (every key present)."""
        raise NotImplementedError(f"{cls.__name__} names what a record contributes")

    @classmethod
    def of(cls, region_path: Sequence[str], before: Mapping[str, int] | None,
           after: Mapping[str, int]) -> Self:
        before = before or {}
        keys = sorted(set(before) | set(after))
        changes = {k: after.get(k, 0) - before.get(k, 0) for k in keys}
        return cls(tuple(region_path), {k: v for k, v in changes.items() if v})

    @classmethod
    def between(cls, before: Any | None, after: Any) -> Self:
        """The delta of one command: `before` is the record as loaded (None for a new one).
        A record never moves between regions (a region move re-paths rollups as a whole)."""
        if before is not None and tuple(before.region_path) != tuple(after.region_path):
            raise ValueError(f"a {cls.what} never moves between regions")
        old = cls.counters(before) if before is not None else None
        return cls.of(after.region_path, old, cls.counters(after))

    @classmethod
    def recount(cls, records: Iterable[Any]) -> dict[str, dict[str, int]]:
        """Rollups computed from scratch: region id -> non-zero counters."""
        return recount(records, lambda r: r.region_path, cls.counters)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def apply_to(self, rollups: dict[str, dict[str, int]]) -> None:
        """Add to in-memory rollups (region id -> counters), dropping counters that reach 0."""
        for region in self.region_path:
            counters = rollups.setdefault(region, {})
            for k, v in self.changes.items():
                counters[k] = counters.get(k, 0) + v
                if counters[k] == 0:
                    del counters[k]
            if not counters:
                del rollups[region]


def recount(records: Iterable[R], path_of: Callable[[R], Sequence[str]],
            counters_of: Callable[[R], Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Rollups computed from scratch: region id -> non-zero counters."""
    out: dict[str, dict[str, int]] = {}
    for record in records:
        RollupDelta.of(path_of(record), None, counters_of(record)).apply_to(out)
    return out
