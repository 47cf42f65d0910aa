"""What a principal may see: one rule, read two ways (a test of one record, a MongoDB filter).

A scope is a small condition over a record's stored fields, built from these pieces:

- `EVERYTHING` / `NOTHING`;
- `Eq(field, value)`: the field equals `value`, or (a list field) holds it, as MongoDB matches;
- `In(field, values)`: the field equals, or (a list field) holds, one of `values`;
- `a & b`, `a | b`: both, either.

Each piece answers `admits(record)` (the record in memory: a stored document, or a domain
object whose fields a service names with `fields`) and `filter()` (the same condition as a
MongoDB filter). Both are generated from the one condition, so a list and a single read can
never disagree about what a caller sees (tests/unit/test_scope.py checks it on random
principals, trees and records).

The region rule every service starts from is `region_scope(p)`: an unrestricted principal
(superadmin, service) sees everything; a regional role with a region sees that region's
subtree (records whose `path` holds the region id); anyone else sees nothing by region.
A list of one region asked for (`TerritoryReplica.within(p, region_id)`) reads that region's
subtree, which must lie in the principal's scope; else it answers as for a region that does
not exist (`shared.auth.hidden`).

A service whose scope differs for some roles says so once, in a `ScopeRule`:

    CASE_SCOPE = ScopeRule(
        fields={"path": lambda c: c.region_path, "assigneeKey": assignee_key, ...},
        narrow={Role.DEPARTMENT: lambda p: Eq("assigneeKey", f"DEPARTMENT:{p.dept}")},
        replace={Role.RESIDENT: lambda p: Eq("reporterSubs", p.sub)},
    )
    CASE_SCOPE.admits(p, case)        # a single read (`RecordCommands.visible`)
    CASE_SCOPE.of(p).filter()         # a list's query

`narrow` is added (and) to the region subtree of that role; `replace` stands instead of it
(a resident's own records, a grid worker's own grid). `fields` says how to read each named
field from a domain object (by default `record[name]` of a mapping, else the attribute
`name`), and must read the value the store writes under that name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # shared.auth reads its scope methods from here
    from shared.auth import Principal, Role

PATH = "path"
Reader = Callable[[Any], Any]
Clause = Callable[["Principal"], "Scope"]


def _read(record: Any, name: str, fields: Mapping[str, Reader] | None) -> Any:
    if fields is not None and name in fields:
        return fields[name](record)
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def _holds(stored: Any, value: Any) -> bool:
    """MongoDB equality: the stored value is `value`, or a list holding it."""
    if isinstance(stored, list | tuple):
        return any(v == value for v in stored)
    return bool(stored == value)


class Scope:
    """A condition over a record's stored fields; see the module docstring."""

    def admits(self, record: Any, fields: Mapping[str, Reader] | None = None) -> bool:
        raise NotImplementedError

    def filter(self) -> dict[str, Any]:
        raise NotImplementedError

    def admits_path(self, path: Sequence[str], field: str = PATH) -> bool:
        """Whether a region (or a record) with this path, top-down and ending with itself, is in
        scope; a scope that names other fields than the path admits no bare path."""
        return self.admits({field: list(path)})

    @property
    def empty(self) -> bool:
        """True when nothing can be admitted."""
        return False

    def __and__(self, other: Scope) -> Scope:
        return All((self, other)).simplified()

    def __or__(self, other: Scope) -> Scope:
        return Any_((self, other)).simplified()


@dataclass(frozen=True)
class _Everything(Scope):
    def admits(self, record: Any, fields: Mapping[str, Reader] | None = None) -> bool:
        return True

    def filter(self) -> dict[str, Any]:
        return {}

    def admits_path(self, path: Sequence[str], field: str = PATH) -> bool:
        return True


@dataclass(frozen=True)
class _Nothing(Scope):
    def admits(self, record: Any, fields: Mapping[str, Reader] | None = None) -> bool:
        return False

    def filter(self) -> dict[str, Any]:
        return {"_id": {"$in": []}}

    def admits_path(self, path: Sequence[str], field: str = PATH) -> bool:
        return False

    @property
    def empty(self) -> bool:
        return True


EVERYTHING: Scope = _Everything()
NOTHING: Scope = _Nothing()


@dataclass(frozen=True)
class Eq(Scope):
    field: str
    value: Any

    def admits(self, record: Any, fields: Mapping[str, Reader] | None = None) -> bool:
        return _holds(_read(record, self.field, fields), self.value)

    def filter(self) -> dict[str, Any]:
        return {self.field: self.value}

    def admits_path(self, path: Sequence[str], field: str = PATH) -> bool:
        return field == self.field and self.value in path  # as `admits`, without building a record


@dataclass(frozen=True)
class In(Scope):
    field: str
    values: tuple[Any, ...]

    def __init__(self, field: str, values: Iterable[Any]):
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "values", tuple(values))

    def admits(self, record: Any, fields: Mapping[str, Reader] | None = None) -> bool:
        stored = _read(record, self.field, fields)
        return any(_holds(stored, v) for v in self.values)

    def filter(self) -> dict[str, Any]:
        return {self.field: {"$in": list(self.values)}}

    @property
    def empty(self) -> bool:
        return not self.values


@dataclass(frozen=True)
class _Combined(Scope):
    """Parts joined by `and` (All) or `or` (Any_): one part may decide the whole (`decides`),
    others change nothing (`neutral`)."""

    parts: tuple[Scope, ...]

    def decides(self, part: Scope) -> bool:
        raise NotImplementedError

    def neutral(self, part: Scope) -> bool:
        raise NotImplementedError

    def decided(self) -> Scope:
        raise NotImplementedError

    def simplified(self) -> Scope:
        """The same condition with EVERYTHING and NOTHING taken out and nested ones flattened."""
        parts: list[Scope] = []
        for s in self.parts:
            if self.decides(s):
                return self.decided()
            if not self.neutral(s):
                parts.extend(s.parts if isinstance(s, _Combined) and type(s) is type(self) else (s,))
        if not parts:
            return NOTHING if self.decided() is EVERYTHING else EVERYTHING
        return parts[0] if len(parts) == 1 else type(self)(tuple(parts))


@dataclass(frozen=True)
class All(_Combined):
    def admits(self, record: Any, fields: Mapping[str, Reader] | None = None) -> bool:
        return all(s.admits(record, fields) for s in self.parts)

    def filter(self) -> dict[str, Any]:
        filters = [s.filter() for s in self.parts]
        keys = [k for f in filters for k in f]
        if len(keys) == len(set(keys)):  # no field named twice: one plain filter
            return {k: v for f in filters for k, v in f.items()}
        return {"$and": filters}

    @property
    def empty(self) -> bool:
        return any(s.empty for s in self.parts)

    def decides(self, part: Scope) -> bool:
        return part.empty

    def neutral(self, part: Scope) -> bool:
        return part is EVERYTHING

    def decided(self) -> Scope:
        return NOTHING


@dataclass(frozen=True)
class Any_(_Combined):
    def admits(self, record: Any, fields: Mapping[str, Reader] | None = None) -> bool:
        return any(s.admits(record, fields) for s in self.parts)

    def filter(self) -> dict[str, Any]:
        return {"$or": [s.filter() for s in self.parts]}

    @property
    def empty(self) -> bool:
        return all(s.empty for s in self.parts)

    def decides(self, part: Scope) -> bool:
        return part is EVERYTHING

    def neutral(self, part: Scope) -> bool:
        return part.empty

    def decided(self) -> Scope:
        return EVERYTHING


def subtree(region_id: str, field: str = PATH) -> Scope:
    """The records of a region's subtree: those whose path holds the region id."""
    return Eq(field, region_id)


def region_scope(p: Principal, field: str = PATH) -> Scope:
    """The region rule: everything to an unrestricted principal, the subtree of a regional
    role's region, nothing by region to anyone else."""
    return _region_scope(p.unrestricted, p.regional, p.region, field)


@lru_cache(maxsize=4096)  # asked once per record a page or a batch shows: built once per region
def _region_scope(unrestricted: bool, regional: bool, region: str | None, field: str) -> Scope:
    if unrestricted:
        return EVERYTHING
    if regional and region:
        return subtree(region, field)
    return NOTHING


@dataclass(frozen=True)
class ScopeRule:
    """A service's scope: the region rule, narrowed (`narrow`) or replaced (`replace`) for some
    roles; `fields` reads each named field from the service's domain objects."""

    path: str = PATH
    narrow: Mapping[Role, Clause] = field(default_factory=dict)
    replace: Mapping[Role, Clause] = field(default_factory=dict)
    fields: Mapping[str, Reader] = field(default_factory=dict)

    def of(self, p: Principal, region: str | None = None) -> Scope:
        """What `p` sees; with `region` (one the service has found `p` may name, e.g. by
        `TerritoryReplica.visible_path`), only what lies in that region's subtree: the region
        stands for the principal's own in the region rule, and narrows a replaced one."""
        within = subtree(region, self.path) if region else EVERYTHING
        if p.unrestricted:
            return within
        if p.role in self.replace:
            return self.replace[p.role](p) & within
        own = region_scope(p, self.path)
        if own.empty:  # no region of its own: naming one gives a role nothing it did not have
            return NOTHING
        base = within if region else own
        return base & self.narrow[p.role](p) if p.role in self.narrow else base

    def admits(self, p: Principal, record: Any) -> bool:
        return self.of(p).admits(record, self.fields)

    def filter(self, p: Principal, region: str | None = None) -> dict[str, Any]:
        return self.of(p, region).filter()


REGION_RULE = ScopeRule()
