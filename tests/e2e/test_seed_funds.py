"""The demo seed gives every demo community this year's fund with spendings and a catalogue of the
five service lists (ops/cli/seed_funds.py), through the real services."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ops.cli.seed import seed
from tests.cases_helpers import CasesClient

SERVICES = ("grids", "cases", "organizations", "volunteers", "notifications")


@pytest.mark.slow  # loads the whole small demo: minutes on a busy machine
async def test_the_demo_seed_opens_funds_and_catalogues(stack):
    for name in SERVICES:
        await stack.start_service(name)
    await stack.start_gateway(services=SERVICES)
    said: list[str] = []
    result = await seed(stack.settings, "small", say=said.append)
    assert result.loaded, result
    assert "community funds" in result.summary, result.summary
    orgs = await CasesClient.connect(stack, "organizations")
    try:
        su = stack.token()
        communities = (await CasesClient.connect(stack, "grids"))
        page = await communities("region.list", su, level="COMMUNITY", first=100)
        year = datetime.now(UTC).year
        for c in page["items"]:
            account = await orgs("fund.account", su, communityId=c["id"], year=year)
            assert account["granted"] == 200000.0 and account["balance"] >= 0
            assert account["spent"] > 0
            catalogue = (await orgs("catalogue.list", su, communityId=c["id"]))["items"]
            assert sorted(x["kind"] for x in catalogue) == ["CARE", "GOVERNMENT", "MARKET", "PUBLIC", "SOCIAL"]
        await communities.close()
    finally:
        await orgs.close()
