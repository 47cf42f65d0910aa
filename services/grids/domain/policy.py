"""Who may do what in the territory, and its scope (`SCOPE`, `WORKER_SCOPE`: the kernel's rule of
shared/scope) for single reads and lists alike.

Pure: principals and stored shapes (paths, subs) come in; refusals go out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.auth import Principal, Role
from shared.errors import Forbidden
from shared.records import flat_and
from shared.scope import NOTHING, REGION_RULE, Scope, ScopeRule

from .regions import Level

MANAGERS = (Role.SUPERADMIN, Role.ADMIN)
STAFF = (Role.SUPERADMIN, Role.ADMIN, Role.OPERATOR)
# Who reads grid workers (names, masked phones) in their scope: not a department, not a resident.
WORKER_READERS = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.VOLUNTEER})

SCOPE = REGION_RULE
"""THE scope of the territory: a region (stored with its `path`, ending with itself), a region's
counters and a grid worker (the path of their grid) are seen in the subtree of a regional
role's region, everywhere by a superadmin or a service, by nobody else."""


def _nothing(p: Principal) -> Scope:
    return NOTHING


WORKER_SCOPE = ScopeRule(replace={r: _nothing for r in Role if r not in WORKER_READERS})
"""Who reads grid workers: a worker reader in scope (and a worker themself: `may_read_worker`)."""


def list_scope(p: Principal, parent_id: str | None = None, level: str | None = None) -> dict[str, Any]:
    """THE list-scope rule of regions: the stored-region filter of `region.list` for `p` — the
    regions under `parent_id` and/or of `level`, or else the caller's own root; always within the
    caller's subtree (`SCOPE`: residents and unknown roles see none)."""
    query: dict[str, Any] = {}
    if parent_id is not None:
        query["parentId"] = parent_id
    elif level is None and not p.unrestricted:
        query["_id"] = p.region  # the caller's own root
    if level:
        query["level"] = level
    return flat_and(query, SCOPE.filter(p))


def check_may_create(p: Principal, level: Level) -> None:
    """A top-level CITY is created by a superadmin (or a service) only."""
    if level is Level.CITY and not p.unrestricted:
        raise Forbidden("only a superadmin may create a top-level CITY")


def check_may_move(p: Principal, region_id: str) -> None:
    """Nobody moves the root of their own scope (it would take their scope with it)."""
    if region_id == p.region:
        raise Forbidden("you cannot move the root of your own scope")


def check_may_audit(p: Principal) -> None:
    """The whole territory's audit reads every region: a superadmin's (or a service's)."""
    if not p.unrestricted:
        raise Forbidden("only a superadmin may check the whole territory")


def may_read_worker(p: Principal, sub: str, path: Sequence[str]) -> bool:
    """A grid worker is read by themself, and by a worker reader whose scope holds their grid."""
    return p.sub == sub or WORKER_SCOPE.of(p).admits_path(path)


def sees_worker_phone(p: Principal, sub: str, path: Sequence[str]) -> bool:
    """A grid worker's phone is shown unmasked to the staff over their grid and to themself."""
    return (p.role in STAFF and SCOPE.of(p).admits_path(path)) or p.sub == sub
