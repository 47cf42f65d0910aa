"""A 3-node JetStream cluster (three `nats-server` processes of the wheel, configured from
`deploy/nats/nats-cluster.conf`), streams with 3 replicas and every process connected to all
three nodes: one node is killed with -9 under the mixed load and restarted after a random
while. Round 1 kills the leader of the cases stream; later rounds (FAULT_ROUNDS) a random node.
After each: everything `verify` checks, and every stream and consumer replica current again."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import nats
import pytest

from shared.messaging.streams import stream_name
from tests.faults.conftest import fault_run_on
from tests.faults.launched import LaunchedStack, NatsCluster, NatsNode
from tests.faults.rounds import TABLE, Target, rounds_wanted

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def clustered(tmp_path_factory):
    base = Path(tmp_path_factory.mktemp("cluster"))
    cluster = NatsCluster.create(base / "nats")
    cluster.start_all()
    try:
        await cluster.healthy()
        stack = LaunchedStack.create(base, nats_urls=cluster.urls, stream_replicas="3")
        async for run in fault_run_on(stack):
            yield cluster, run
    finally:
        cluster.stop()


async def stream_leader(cluster: NatsCluster, stream: str, timeout: float = 60.0) -> NatsNode:
    """The node leading `stream` (asked until one answers: a busy cluster can time out)."""
    deadline = time.monotonic() + timeout
    nc = await nats.connect([n.url for n in cluster.nodes])
    try:
        while True:
            try:
                leader = (await nc.jetstream().stream_info(stream)).cluster.leader
                return next(n for n in cluster.nodes if n.name == leader)
            except (nats.errors.Error, StopIteration):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await nc.close()


@pytest.mark.long(60)  # seconds alone, about: started first (tests/conftest.py)
async def test_cluster_node_killed_and_restarted_under_load(clustered):
    cluster, run = clustered
    row = TABLE.row("nats node of 3 (R3)")
    for i in range(rounds_wanted()):
        node = await stream_leader(cluster, stream_name("cases")) if i == 0 else run.rnd.choice(cluster.nodes)

        async def kill(node: NatsNode = node) -> NatsNode:
            cluster.kill(node)
            return node

        async def back(node: object) -> float:
            await asyncio.sleep(run.rnd.uniform(1.0, 5.0))  # down for a while, under load
            cluster.start(node)  # type: ignore[arg-type]
            return time.monotonic()

        await run.one(Target(f"nats node {node.name}", kill, back), row)
    row.assert_clean()
