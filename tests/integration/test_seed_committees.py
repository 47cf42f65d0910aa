"""The demo's committees (ops/cli/seed_committees.py) load into the demo city: a red owners' committee,
a 居委会, a 三方联动 meeting whose item became a case, and branches outside the chain, twinned and 报到."""
from __future__ import annotations

from datetime import UTC, datetime

import nats

from ops.cli.demo import load_demo
from ops.cli.progress import Progress
from ops.cli.seed import Loader
from ops.cli.seed_committees import COMMUNITY, seed_committees
from shared.auth import service_token
from shared.messaging.rpc import RpcClient


async def test_the_demo_community_gets_its_committees_and_outside_branches(stack):
    for service in ("grids", "cases", "organizations"):
        await stack.start_service(service)
    said: list[str] = []
    settings = stack.settings
    async with Progress(said.append, 60) as progress:
        await load_demo(settings, datetime.now(UTC), progress)
        nc = await nats.connect(settings.nats_servers)
        try:
            token = service_token(settings.jwt_secret, "seed", settings.jwt_issuer)
            loader = Loader(RpcClient(nc, timeout_s=30), token, progress)
            await loader.replica_ready("cases", f"{COMMUNITY}g0")
            summary = await seed_committees(loader)
            assert "red owners' committee" in summary and "case pending" not in summary, summary
            stats = (await loader.call("organizations", "stats.batch", {"ids": [COMMUNITY, "demo-k0"]}))["items"]
            assert stats[COMMUNITY]["redOwnersCommitteeCount"] == 1 and stats[COMMUNITY]["residentsCommitteeCount"] == 1
            assert stats[COMMUNITY]["threePartyMeetingCount"] == 1 and stats[COMMUNITY]["unitRegistrationCount"] == 2
            assert stats["demo-k0"]["nonTerritorialCount"] == 4 and stats["demo-k0"]["branchDualRegisteredCount"] == 1
            twins = await loader.call("organizations", "twin.list", {"communityId": COMMUNITY})
            assert twins["totalCount"] == 4
            # Loading again adds nothing.
            await seed_committees(loader)
            again = (await loader.call("organizations", "stats.batch", {"ids": [COMMUNITY]}))["items"][COMMUNITY]
            assert again == stats[COMMUNITY]
        finally:
            await nc.close()
