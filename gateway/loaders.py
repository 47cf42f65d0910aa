"""Per-request DataLoaders: every cross-service reference in one request is one batched call."""
from __future__ import annotations

from strawberry.dataloader import DataLoader

from gateway.clients import ServiceClient, item_or_error


def batch_loader(client: ServiceClient, verb: str) -> DataLoader:
    async def load(keys: list[str]) -> list:
        items = (await client(verb, {"ids": list(keys)}))["items"]
        return [item_or_error(items.get(k)) for k in keys]

    return DataLoader(load_fn=load, max_batch_size=500)


def catalogue_loader(cases: ServiceClient) -> DataLoader:
    """Categories by code from one read of the catalogue; a removed code loads as None."""
    async def load(codes: list[str]) -> list:
        by_code = {c["code"]: c for c in (await cases("catalogue.list"))["categories"]}
        return [by_code.get(code) for code in codes]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, grids: ServiceClient, cases: ServiceClient, organizations: ServiceClient | None = None,
                 volunteers: ServiceClient | None = None):
        self.region_by_id = batch_loader(grids, "region.batch")  # RegionByIdLoader
        self.grid_stats_by_region = batch_loader(grids, "stats.batch")  # GridStatsByRegionLoader
        self.case_by_id = batch_loader(cases, "case.batch")  # CaseByIdLoader
        self.case_stats_by_region = batch_loader(cases, "stats.batch")  # CaseStatsByRegionLoader
        self.category_by_code = catalogue_loader(cases)  # CategoryByCodeLoader
        if organizations is not None:  # optional, so callers built before the organizations service still work
            self.org_by_id = batch_loader(organizations, "org.batch")  # OrgByIdLoader
            self.member_by_id = batch_loader(organizations, "member.batch")  # MemberByIdLoader
            self.unit_by_id = batch_loader(organizations, "unit.batch")  # UnitByIdLoader
            self.org_stats_by_region = batch_loader(organizations, "stats.batch")  # OrgStatsByRegionLoader
        if volunteers is not None:  # optional likewise, for callers built before the volunteers service
            self.volunteer_by_id = batch_loader(volunteers, "volunteer.batch")  # VolunteerByIdLoader
            self.volunteer_stats_by_region = batch_loader(volunteers, "stats.batch")  # VolunteerStatsByRegionLoader
