"""The demo's committees (ops/cli/seed_committees.py) and community funds (ops/cli/seed_funds.py)
load into the demo city through the real services, and loading them again adds nothing: a red
owners' committee, a 居委会, a 三方联动 meeting whose item became a case, branches outside the chain
twinned and 报到; this year's fund with spendings and the five service lists in every community.

One demo territory for both, on a store of its own: loading the demo into the suite's shared
store, grown by every test before it, took minutes a seed. Only the branch of the demo's plan the
seeds name is loaded (the city, its first county and street, that street's first two communities):
the whole city took ~120 s here, most of it party organisations the seeds never touch."""
from __future__ import annotations

from datetime import UTC, datetime

import nats
import pytest

from ops.cli.demo import load_demo, plan
from ops.cli.progress import Progress
from ops.cli.seed import Loader
from ops.cli.seed_committees import COMMUNITY, COUNTY, TOWNSHIP, seed_committees
from ops.cli.seed_funds import seed_funds
from shared.auth import service_token
from shared.messaging.rpc import RpcClient
from tests.infra import Stack, make_settings, start_mongo, start_nats


@pytest.fixture
async def own_stack(tmp_path):
    mongo, nats_server = start_mongo(tmp_path / "mongo"), start_nats(tmp_path / "nats")
    s = Stack(make_settings(nats_server.port, mongo.port))
    try:
        yield s
    finally:
        await s.close()
        nats_server.stop()
        mongo.stop()


KEPT = (COUNTY, TOWNSHIP, COMMUNITY, "demo-k0t0m1")  # the communities alternate approving (seed_funds)


def seeded_branch() -> list[list[dict]]:
    """The demo's plan, level by level, cut to the city, KEPT and everything under the communities."""
    levels = plan()
    out = [levels[0], *([r for r in level if r["id"] in KEPT] for level in levels[1:4])]
    for level in levels[4:]:  # grids and buildings: all under what is kept
        parents = {r["id"] for r in out[-1]}
        out.append([r for r in level if r["parentId"] in parents])
    return out


def test_the_branch_is_what_the_seeds_name():
    levels = seeded_branch()
    assert [len(level) for level in levels[:4]] == [1, 1, 1, 2]
    assert {r["parentId"] for r in levels[4]} == set(KEPT[2:]) and levels[5]
    assert {r["parentId"] for r in levels[5]} == {g["id"] for g in levels[4]}


@pytest.mark.long(30)  # seconds alone, about: started first (tests/conftest.py)
async def test_the_demo_gets_its_committees_and_funds_once(own_stack):
    stack = own_stack
    for service in ("grids", "cases", "organizations", "volunteers"):
        await stack.start_service(service)
    settings, now = stack.settings, datetime.now(UTC)
    async with Progress([].append, 60) as progress:
        await load_demo(settings, now, progress, seeded_branch())
        nc = await nats.connect(settings.nats_servers)
        try:
            token = service_token(settings.jwt_secret, "seed", settings.jwt_issuer)
            loader = Loader(RpcClient(nc, timeout_s=30), token, progress)
            await loader.replica_ready("cases", f"{COMMUNITY}g0")
            await committees(loader)
            await funds(loader, settings, now)
        finally:
            await nc.close()


async def committees(loader: Loader) -> None:
    summary = await seed_committees(loader)
    assert "red owners' committee" in summary and "case pending" not in summary, summary
    stats = (await loader.call("organizations", "stats.batch", {"ids": [COMMUNITY, "demo-k0"]}))["items"]
    assert stats[COMMUNITY]["redOwnersCommitteeCount"] == 1 and stats[COMMUNITY]["residentsCommitteeCount"] == 1
    assert stats[COMMUNITY]["threePartyMeetingCount"] == 1 and stats[COMMUNITY]["unitRegistrationCount"] == 2
    assert stats["demo-k0"]["nonTerritorialCount"] == 4 and stats["demo-k0"]["branchDualRegisteredCount"] == 1
    twins = await loader.call("organizations", "twin.list", {"communityId": COMMUNITY})
    assert twins["totalCount"] == 4
    await seed_committees(loader)  # again: nothing added
    again = (await loader.call("organizations", "stats.batch", {"ids": [COMMUNITY]}))["items"][COMMUNITY]
    assert again == stats[COMMUNITY]


async def funds(loader: Loader, settings, now: datetime) -> None:
    summary = await seed_funds(loader, "demo", settings, now.date())
    assert "community funds" in summary, summary
    communities = (await loader.call("grids", "region.list", {"level": "COMMUNITY", "first": 100}))["items"]
    assert communities
    accounts = {}
    for c in communities:
        account = await loader.call("organizations", "fund.account", {"communityId": c["id"], "year": now.year})
        assert account["granted"] == 200000.0 and account["spent"] > 0 and account["balance"] >= 0
        accounts[c["id"]] = account
        catalogue = (await loader.call("organizations", "catalogue.list", {"communityId": c["id"]}))["items"]
        assert sorted(x["kind"] for x in catalogue) == ["CARE", "GOVERNMENT", "MARKET", "PUBLIC", "SOCIAL"]
    await seed_funds(loader, "demo", settings, now.date())  # again: nothing added
    for c in communities:
        again = await loader.call("organizations", "fund.account", {"communityId": c["id"], "year": now.year})
        assert again == accounts[c["id"]]
        assert len((await loader.call("organizations", "catalogue.list", {"communityId": c["id"]}))["items"]) == 5
