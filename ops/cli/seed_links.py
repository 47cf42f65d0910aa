"""包联 and 党员联户 for the seeded demo (`small`) and city (`city`): cadres tied to communities and
grids, and party members linked to the households of their building, read from what the seed
stored and loaded through `cadre.assign` and `member.linkImport` (a community's `member.link`s in one
transaction: every rule, rollup and event applies).

Cadres: a street cadre (街道干部联社区) for most communities, a first secretary (第一书记) for some,
a community cadre (社区干部联网格) for most grids; a few are left without one, as a real city's
figures show. Links: in each building with households, the building's 党员中心户 (the member a
CENTER_HOUSEHOLD organisation names) looks after households first, then the members who live in the
building (`homeBuildingId`) or, in a building with none, the members organised in its building
group; each member takes 10–15 households (DESIGN: the cap is 15), so a building with few members
keeps households nobody looks after yet. Drawn from a seeded `random.Random`; idempotency keys
(`<prefix>:cadre:…`, `<prefix>:link:…`) make loading again add nothing.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ops.cli.progress import Tick
from services.grids.domain.links import MAX_HOUSEHOLDS_PER_MEMBER

if TYPE_CHECKING:  # ops.cli.seed calls this module
    from ops.cli.seed import Loader

SEED = 20261207
STREET_CADRE_SHARE, FIRST_SECRETARY_SHARE, GRID_CADRE_SHARE = 0.93, 0.2, 0.9
PER_MEMBER = (10, MAX_HOUSEHOLDS_PER_MEMBER)
PAGE = 100
LINK_BATCH = 200  # member.linkImport's most


async def pages(loader: Loader, service: str, verb: str, query: dict[str, Any]) -> AsyncIterator[dict]:
    """Every item of a list verb, page by page (as the service token sees them: all)."""
    after = None
    while True:
        page = await loader.call(service, verb, {**query, "first": PAGE, **({"after": after} if after else {})})
        for item in page["items"]:
            yield item
        if not page["hasNextPage"]:
            return
        after = page["endCursor"]


async def regions(loader: Loader, level: str) -> list[dict]:
    return [r async for r in pages(loader, "grids", "region.list", {"level": level})]


def cadre_plan(communities: list[dict], grids: list[dict], prefix: str, seed: int = SEED) -> list[dict]:
    """The cadre.assign payloads: deterministic for the same territory."""
    from ops.cli.seed import person  # the seed's name lists (that module calls this one)

    rnd = random.Random(seed)
    out: list[dict] = []

    def assign(region: dict, role: str, tag: str) -> None:
        sub = f"{prefix}-{tag}-{len(out) + 1:04d}"
        out.append(
            {
                "sub": sub,
                "name": person(rnd),
                "regionId": region["id"],
                "role": role,
                "idempotencyKey": f"{prefix}:cadre:{region['id']}:{role}",
            }
        )

    for c in sorted(communities, key=lambda r: r["id"]):
        if rnd.random() < STREET_CADRE_SHARE:
            assign(c, "STREET_CADRE", "street")
        if rnd.random() < FIRST_SECRETARY_SHARE:
            assign(c, "FIRST_SECRETARY", "secretary")
    for g in sorted(grids, key=lambda r: r["id"]):
        if rnd.random() < GRID_CADRE_SHARE:
            assign(g, "COMMUNITY_CADRE", "cadre")
    return out


def link_plan(
    households: dict[str, list[str]],
    centers: dict[str, str],
    residents: dict[str, list[str]],
    organised: dict[str, list[str]],
    prefix: str,
    held: dict[str, int] | None = None,
    seed: int = SEED,
) -> list[dict]:
    """The member.link payloads of one community: per building (households by id), its 中心户's
    member first, then its residents (or else the members of its building group), each taking
    the next 10–15 of the building's households, never past the cap over all buildings (`held`:
    what each member was given already, updated)."""
    held = {} if held is None else held
    rnd = random.Random(f"{seed}:{min(households, default='')}")
    out: list[dict] = []
    for building in sorted(households):
        ids = sorted(households[building])
        members = [centers[building]] if building in centers else []
        members += [m for m in residents.get(building) or organised.get(building) or [] if m not in members]
        at = 0
        for m in members:
            room = MAX_HOUSEHOLDS_PER_MEMBER - held.get(m, 0)
            if at >= len(ids) or room <= 0:
                continue
            take = ids[at : at + min(room, rnd.randint(*PER_MEMBER))]
            at += len(take)
            held[m] = held.get(m, 0) + len(take)
            out.append({"memberId": m, "householdIds": take, "idempotencyKey": f"{prefix}:link:{m}:{building}"})
    return out


async def community_links(loader: Loader, community: str, prefix: str, held: dict[str, int]) -> list[dict]:
    households: dict[str, list[str]] = defaultdict(list)
    async for h in pages(loader, "grids", "household.list", {"regionId": community}):
        if not h.get("linkedMemberIds"):
            households[h["buildingId"]].append(h["id"])
    if not households:
        return []
    centers = {
        o["anchorId"]: o["householdMemberId"]
        async for o in pages(loader, "organizations", "org.list", {"regionId": community, "type": "CENTER_HOUSEHOLD"})
        if o.get("householdMemberId")
    }
    residents: dict[str, list[str]] = defaultdict(list)
    organised: dict[str, list[str]] = defaultdict(list)
    async for m in pages(loader, "organizations", "member.list", {"regionId": community}):
        if m.get("homeBuildingId") in households:
            residents[m["homeBuildingId"]].append(m["id"])
        anchor = (m.get("orgPath") or [None])[-1]
        if anchor in households:
            organised[anchor].append(m["id"])
    return link_plan(households, centers, residents, organised, prefix, held)


async def seed_links(loader: Loader, prefix: str) -> str:
    """Cadre assignments and member links for what the seed loaded (after households and the
    party members); says what it loaded."""
    communities, grids = await regions(loader, "COMMUNITY"), await regions(loader, "GRID")
    cadres = cadre_plan(communities, grids, prefix)

    async def assign(tick: Tick) -> None:
        await loader.all("grids", "cadre.assign", cadres, tick)

    await loader.phase("包联 cadres", len(cadres), "assignments", assign)
    linked: dict[str, Any] = {"members": set(), "households": 0}

    async def link(tick: Tick) -> None:
        held: dict[str, int] = {}
        for c in sorted(communities, key=lambda r: r["id"]):
            payloads = await community_links(loader, c["id"], prefix, held)
            for start in range(0, len(payloads), LINK_BATCH):  # a community's links in one transaction
                reply = await loader.call(
                    "grids", "member.linkImport", {"links": payloads[start : start + LINK_BATCH]}, timeout_s=120
                )
                for done in reply["items"]:
                    linked["members"].add(done["memberId"])
                    linked["households"] += len(done["householdIds"])
            tick(1)

    await loader.phase("党员联户", len(communities), "communities", link)
    return (
        f"{len(cadres)} cadre assignments, {linked['households']} households linked to "
        f"{len(linked['members'])} party members"
    )
