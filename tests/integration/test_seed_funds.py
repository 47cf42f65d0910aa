"""The demo seed gives every demo community this year's fund with spendings and a catalogue of the
five service lists (ops/cli/seed_funds.py), through the real services; loading again adds nothing."""
from __future__ import annotations

from datetime import UTC, datetime

import nats

from ops.cli.demo import load_demo
from ops.cli.progress import Progress
from ops.cli.seed import Loader
from ops.cli.seed_funds import seed_funds
from shared.auth import service_token
from shared.messaging.rpc import RpcClient


async def test_the_demo_seed_opens_funds_and_catalogues_once(stack):
    for service in ("grids", "organizations", "volunteers"):
        await stack.start_service(service)
    settings, now = stack.settings, datetime.now(UTC)
    async with Progress([].append, 60) as progress:
        await load_demo(settings, now, progress)
        nc = await nats.connect(settings.nats_servers)
        try:
            token = service_token(settings.jwt_secret, "seed", settings.jwt_issuer)
            loader = Loader(RpcClient(nc, timeout_s=30), token, progress)
            summary = await seed_funds(loader, "demo", settings.jwt_secret, settings.jwt_issuer, now.date())
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
            # Loading again adds nothing: the same balances, the same catalogues.
            await seed_funds(loader, "demo", settings.jwt_secret, settings.jwt_issuer, now.date())
            for c in communities:
                again = await loader.call("organizations", "fund.account", {"communityId": c["id"], "year": now.year})
                assert again == accounts[c["id"]]
                catalogue = (await loader.call("organizations", "catalogue.list", {"communityId": c["id"]}))["items"]
                assert len(catalogue) == 5
        finally:
            await nc.close()
