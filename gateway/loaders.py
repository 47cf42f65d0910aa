"""Per-request DataLoaders: every cross-service reference in one request is one batched call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.dataloader import DataLoader

from gateway.clients import CasesClient, Dto, GridsClient, OrganizationsClient, VolunteersClient, item_or_error
from shared.contracts.common import ByIds


def batch_loader(batch: Callable[[ByIds], Awaitable[Dto]]) -> DataLoader[str, Any]:
    """A loader over one `*.batch` verb (a client's typed method): each record, None, or the typed error the
    service gave for that id."""

    async def load(keys: list[str]) -> list[Any]:
        items = (await batch(ByIds(ids=list(keys))))["items"]
        return [item_or_error(items.get(k)) for k in keys]

    return DataLoader(load_fn=load, max_batch_size=500)


def catalogue_loader(cases: CasesClient) -> DataLoader[str, Any]:
    """Categories by code from one read of the catalogue; a removed code loads as None."""

    async def load(codes: list[str]) -> list[Any]:
        by_code = {c["code"]: c for c in (await cases.catalogue())["categories"]}
        return [by_code.get(code) for code in codes]

    return DataLoader(load_fn=load)


def visit_rules_loader(grids: GridsClient) -> DataLoader[str, Any]:
    """visits: rules by code from one read of the visiting rules; a code no longer there loads as None."""

    async def load(codes: list[str]) -> list[Any]:
        by_code = {r["code"]: r for r in (await grids.visit_rules())["rules"]}
        return [by_code.get(code) for code in codes]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(
        self,
        grids: GridsClient,
        cases: CasesClient,
        organizations: OrganizationsClient | None = None,
        volunteers: VolunteersClient | None = None,
    ):
        self.region_by_id = batch_loader(grids.batch_regions)  # RegionByIdLoader
        self.grid_stats_by_region = batch_loader(grids.stats)  # GridStatsByRegionLoader
        self.links_by_member = batch_loader(grids.links_of_members)  # links: LinksByMemberLoader
        self.case_by_id = batch_loader(cases.batch)  # CaseByIdLoader
        self.case_stats_by_region = batch_loader(cases.stats)  # CaseStatsByRegionLoader
        self.category_by_code = catalogue_loader(cases)  # CategoryByCodeLoader
        # households:
        self.household_by_id = batch_loader(grids.batch_households)  # HouseholdByIdLoader
        self.household_stats_by_region = batch_loader(grids.household_stats)  # HouseholdStatsByRegionLoader
        self.visit_by_id = batch_loader(grids.batch_visits)  # visits: VisitByIdLoader
        self.visit_rule_by_code = visit_rules_loader(grids)  # visits: VisitRuleByCodeLoader
        if organizations is not None:  # optional, so callers built before the organizations service still work
            self.org_by_id = batch_loader(organizations.batch_orgs)  # OrgByIdLoader
            self.member_by_id = batch_loader(organizations.batch_members)  # MemberByIdLoader
            self.unit_by_id = batch_loader(organizations.batch_units)  # UnitByIdLoader
            self.org_stats_by_region = batch_loader(organizations.stats)  # OrgStatsByRegionLoader
        if volunteers is not None:  # optional likewise, for callers built before the volunteers service
            self.volunteer_by_id = batch_loader(volunteers.batch_volunteers)  # VolunteerByIdLoader
            self.volunteer_stats_by_region = batch_loader(volunteers.stats)  # VolunteerStatsByRegionLoader
