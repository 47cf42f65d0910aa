"""Fixtures of the fault suite, and its table at the end of the session."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.faults.gql import GqlClient
from tests.faults.launched import LaunchedStack
from tests.faults.load import MixedLoad
from tests.faults.rounds import TABLE, FaultRun, seed_wanted
from tests.faults.verify import Verifier


async def fault_run_on(stack: LaunchedStack) -> AsyncIterator[FaultRun]:
    """Start `stack`, build the load's territory on it, and yield a FaultRun; stop it after."""
    if not TABLE.seed:
        TABLE.seed = seed_wanted()
    stack.start()
    client = verifier = None
    try:
        await stack.wait_ready()
        client = GqlClient(stack.url)
        load = MixedLoad(client, stack.settings, TABLE.seed)
        await load.set_up()
        verifier = Verifier(stack.settings, client, load.superadmin, {load.building_id})
        yield FaultRun(load, verifier, TABLE.seed)
    finally:
        if verifier:
            await verifier.close()
        if client:
            await client.close()
        stack.stop()


@pytest.fixture(scope="module")
async def launched(tmp_path_factory) -> AsyncIterator[tuple[LaunchedStack, FaultRun]]:
    stack = LaunchedStack.create(Path(tmp_path_factory.mktemp("launched")))
    async for run in fault_run_on(stack):
        yield stack, run


def pytest_terminal_summary(terminalreporter) -> None:
    if TABLE.rows:
        terminalreporter.write_sep("=", "fault table")
        terminalreporter.write_line(TABLE.render())
