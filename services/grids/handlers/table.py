"""The territory service's subjects: each verb, the gate its caller passes before the request
is read (None: the handler decides, from the record and the caller's scope), and its handler."""

from __future__ import annotations

from services.grids import domain
from services.grids.handlers.boundaries import Boundaries
from services.grids.handlers.cadres import Cadres
from services.grids.handlers.context import GridContext
from services.grids.handlers.counters import Counters
from services.grids.handlers.households import Households
from services.grids.handlers.links import Links, require_linker
from services.grids.handlers.regions import Regions
from services.grids.handlers.roles import Roles
from services.grids.handlers.workers import Workers
from services.grids.household_import import HouseholdImporter
from services.grids.link_import import LinkImporter
from services.grids.region_import import RegionImporter
from shared.auth import Principal, require_any_role, require_figures
from shared.messaging.rpc import Gate, Handler, gated


def managers(action: str) -> Gate:
    """Administrators (and superadmins, and services) only."""
    return lambda p: p.require_role(*domain.MANAGERS, action=action)


def services_only(action: str) -> Gate:
    """Another service or an operator's command (seeding, onboarding) only."""
    return lambda p: p.require_role(action=action)


def worker_readers(p: Principal) -> None:
    require_any_role(p, domain.WORKER_READERS, "list grid workers")


def table(ctx: GridContext) -> dict[str, Handler]:
    boundaries = Boundaries(ctx)
    regions, workers, counters = Regions(ctx, boundaries), Workers(ctx), Counters(ctx)
    cadres, links, link_importer = Cadres(ctx), Links(ctx), LinkImporter(ctx)  # links:
    households, importer = Households(ctx), HouseholdImporter(ctx)  # households:
    roles = Roles(ctx)
    routes: dict[str, tuple[Gate | None, Handler]] = {
        "region.get": (None, regions.get),
        "region.batch": (None, regions.batch),
        "region.list": (None, regions.list_regions),
        "region.create": (managers("create regions"), regions.create),
        "region.update": (managers("update regions"), regions.update),
        "region.move": (managers("move regions"), regions.move),
        "region.setBoundary": (managers("set boundaries"), boundaries.set_boundary),
        "region.import": (services_only("import regions"), RegionImporter(ctx, boundaries).handle),
        "locate": (None, regions.locate),
        "stats.batch": (require_figures, counters.stats),
        "territory.check": (domain.check_may_audit, boundaries.check_territory),
        "worker.register": (managers("register grid workers"), workers.register),
        "worker.assign": (managers("assign grid workers"), workers.assign),
        "worker.get": (None, workers.get),
        "worker.list": (worker_readers, workers.list),
        # sign-in: who holds which role where (the handler checks the assigner's scope)
        "role.assign": (None, roles.assign),
        "role.revoke": (None, roles.revoke),
        "role.get": (None, roles.get),
        "role.list": (None, roles.list),
        # links:
        "cadre.assign": (managers("assign cadres"), cadres.assign),
        "cadre.unassign": (managers("unassign cadres"), cadres.unassign),
        "cadre.get": (None, cadres.get),
        "cadre.list": (None, cadres.list),
        "cadre.ofSub": (None, cadres.of_sub),
        "member.link": (require_linker, links.link),
        "member.unlink": (require_linker, links.unlink),
        "member.links": (None, links.of_members),
        "member.linkImport": (services_only("import member links"), link_importer.handle),
        # households:
        "household.register": (None, households.register),
        "household.get": (None, households.get),
        "household.batch": (None, households.batch),
        "household.list": (None, households.list),
        "household.byMember": (None, households.by_member),
        "household.update": (None, households.update),
        "household.moveOut": (None, households.move_out),
        "household.reveal": (None, households.reveal),
        "household.stats": (require_figures, households.stats),
        "household.import": (services_only("import households"), importer.handle),
    }
    return {verb: gated(gate, handler) for verb, (gate, handler) in routes.items()}
