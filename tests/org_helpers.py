"""Helpers for tests of the organizations service: a stack with grids, cases and
organizations, a tree with buildings, and a small party tree on it."""
from __future__ import annotations

from datetime import date

from services.organizations.replay import replay as replay_organizations
from services.volunteers.replay import replay as replay_volunteers
from tests.cases_helpers import CasesClient
from tests.infra import Stack
from tests.territory import build_tree, create

BUILDINGS = ("bldg-a1-1", "bldg-a1-2", "bldg-a2-1", "bldg-b1-1")
MEMBER = {"name": "李红", "gender": "FEMALE", "birthDate": "1985-04-02", "joinDate": "2010-07-01",
          "phone": "13912345678", "idNumber": "420902198504021234", "category": "IN_SERVICE"}


async def start_org_stack(stack: Stack, volunteers: bool = False, **org_settings) -> tuple[CasesClient, dict[str, str]]:
    await stack.start_service("grids")
    await stack.start_service("cases")
    await stack.start_service("organizations", **org_settings)
    if volunteers:
        await stack.start_service("volunteers")
    await stack.start_gateway(services=("grids", "cases", "organizations", *(("volunteers",) if volunteers else ())))
    ids = await build_tree(stack)
    for b in BUILDINGS:
        grid = "grid-" + b.split("-")[1]
        ids[b] = (await create(stack, id=b, name=f"{b}号楼", level="BUILDING", parentId=grid))["id"]
    orgs = await CasesClient.connect(stack, "organizations")
    await orgs.wait_territory(["city", *BUILDINGS, "grid-a1", "grid-a2", "grid-b1", "grid-b2"])
    cases = await CasesClient.connect(stack, "cases")
    await cases.wait_territory(["grid-a1", "grid-b1"])
    await cases.close()
    return orgs, ids


async def party_tree(orgs: CasesClient, token: str, town: str = "town-a", comm: str = "comm-a",
                     grid: str = "grid-a1", building: str = "bldg-a1-1") -> dict[str, dict]:
    """街道党工委 → 社区大党委 → 网格党支部 → 楼栋党小组 on one branch of the territory."""
    t = {}
    t["town"] = await orgs("org.create", token, name="示例街道党工委", type="TOWNSHIP_WORKING_COMMITTEE",
                           anchorId=town)
    t["comm"] = await orgs("org.create", token, name="示例社区党委", type="COMMUNITY_COMMITTEE", anchorId=comm,
                           parentId=t["town"]["id"])
    t["grid"] = await orgs("org.create", token, name="第一网格党支部", type="GRID_BRANCH", anchorId=grid,
                           parentId=t["comm"]["id"])
    t["group"] = await orgs("org.create", token, name="1号楼党小组", type="BUILDING_GROUP", anchorId=building,
                            parentId=t["grid"]["id"])
    return t


async def member(orgs: CasesClient, token: str, org_id: str, **overrides) -> dict:
    body = {**MEMBER, "organizationId": org_id, **overrides}
    return await orgs("member.register", token, **body)


def years_ago(n: int) -> str:
    today = date.today()
    return today.replace(year=today.year - n, day=min(today.day, 28)).isoformat()


async def assert_org_rollups_equal_recount(stack: Stack) -> None:
    """Every figure of the organizations service (regions, funds) equals a recount of its records:
    `yiwang replay organizations` finds nothing to correct."""
    db = next(rt for rt in stack.runtimes if rt.name == "organizations").db
    report = await replay_organizations(db)
    assert report.clean, (report.differences, report.notes)


async def assert_volunteer_rollups_equal_recount(stack: Stack) -> None:
    """Every figure of the volunteers service (regions, units) equals a recount of its records."""
    db = next(rt for rt in stack.runtimes if rt.name == "volunteers").db
    report = await replay_volunteers(db)
    assert report.clean, (report.differences, report.notes)