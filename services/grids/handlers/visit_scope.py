"""Who sees and records visits: the households' scope (`domain/households.py`), read with the level
of the caller's own region (staff above the community see figures only), plus a visitor's own visits."""

from __future__ import annotations

from typing import Any

from services.grids.domain.households import (
    FIGURES_ONLY_MESSAGE,
    check_not_figures_only,
    figures_only,
    household_scope,
    level_of_path,
)
from services.grids.handlers.context import GridContext
from shared.auth import Principal, Role
from shared.errors import Forbidden

VISITORS = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.BUILDING_LEADER, Role.VOLUNTEER})


class VisitScope:
    """Each handler first `await`s `ready(p)` (the level of the caller's region, cached with the
    path); the checks after it are synchronous, as record reads want them."""

    def __init__(self, ctx: GridContext):
        self.ctx = ctx
        self._levels: dict[str, str | None] = {}

    async def ready(self, p: Principal) -> str | None:
        level = level_of_path(await self.ctx.principal_path(p)) if p.region else None
        if p.region:
            self._levels[p.region] = level
        return level

    async def enter(self, p: Principal) -> None:
        """`ready`, and FORBIDDEN at once (with the reason) for a caller who sees figures only:
        a superadmin, staff above the community."""
        check_not_figures_only(p, await self.ready(p))

    def level(self, p: Principal) -> str | None:
        if not p.region:
            return None
        if p.region not in self._levels:
            raise Forbidden("your region is not known here")  # `ready` was not awaited: refuse, never guess
        return self._levels[p.region]

    def sees_household(self, p: Principal, h: Any) -> bool:
        if p.unrestricted and p.role is Role.SERVICE:
            return True
        return household_scope(p, self.level(p)).admits(h)

    def sees_building(self, p: Principal, b: dict) -> bool:
        """A building is visited by whoever sees its households by region (a volunteer: linked ones only)."""
        if p.role is Role.SERVICE:
            return True
        if figures_only(p, self.level(p)) or p.role.value == "volunteer":
            return False
        return household_scope(p, self.level(p)).admits({"path": b["path"], "linkedMemberIds": []})

    def sees_visit(self, p: Principal, v: Any) -> bool:
        if p.role is Role.SERVICE:
            return True
        if figures_only(p, self.level(p)):
            return False
        return getattr(v, "visitor", None) == p.sub or household_scope(p, self.level(p)).admits(
            {"path": v.path, "linkedMemberIds": []}
        )

    def list_filter(self, p: Principal) -> dict[str, Any]:
        """What narrows a region's visits (the region itself was checked in scope, and a region-scoped
        caller sees its whole subtree): a volunteer lists their own; staff who see figures only,
        and roles that see no household, are refused."""
        check_not_figures_only(p, self.level(p))
        if p.role is Role.SERVICE:
            return {}
        if p.role.value == "volunteer":
            return {"visitor": p.sub}
        if p.role not in VISITORS:
            raise Forbidden(f"role {p.role} does not see visits", {"role": str(p.role)})
        return {}

    def check_may_visit(self, p: Principal) -> None:
        if p.role is Role.SERVICE:
            return
        if p.role not in VISITORS:
            raise Forbidden(f"role {p.role} does not record visits", {"role": str(p.role)})
        if figures_only(p, self.level(p)):
            raise Forbidden(FIGURES_ONLY_MESSAGE, {"role": str(p.role)})

    def check_may_plan(self, p: Principal, grid: dict) -> None:
        """A grid's plan: whoever sees its households by region (a building leader: their building's part)."""
        check_not_figures_only(p, self.level(p))
        if p.role.value in ("volunteer", "department", "resident"):
            raise Forbidden("the visit plan of a grid is its workers' and its staff's")
