"""The embedded store as the platform runs it: every acknowledged transaction survives a
`kill -9` of the store, and `/readyz` says not ready while the store cannot take writes."""
from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from pymongo import AsyncMongoClient

from shared.errors import Unavailable
from shared.mongo import Transactor, make_client
from tests.infra import Server, Stack, make_settings, start_mongo

pytestmark = pytest.mark.slow
WRITERS = 8


async def acknowledged_then_killed(server: Server, client: AsyncMongoClient, writes: int) -> set[int]:
    """WRITERS loops of two-insert transactions; the store is killed (SIGKILL) the moment
    `writes` are acknowledged, with the loops still writing. Returns what was acknowledged.
    What was in flight at the kill gives up after the transaction's timeout (5 s: none of it is
    acknowledged, so nothing is waited for; a slow write before the kill just stops its loop)."""
    db = client["durability"]
    transact = Transactor(client, db, timeout_s=5)
    acked: set[int] = set()
    numbers = itertools.count()
    killed = asyncio.Event()

    async def writer() -> None:
        while not killed.is_set():
            n = next(numbers)

            async def work(uow, n=n):
                uow.insert("things", {"_id": n, "pad": "x" * 500})
                uow.insert("things", {"_id": -n - 1, "pad": "x" * 500})

            try:
                await transact(work)
            except Unavailable:
                return
            acked.add(n)
            if len(acked) >= writes and not killed.is_set():
                server.proc.kill()  # SIGKILL
                killed.set()

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    assert killed.is_set(), f"every writer stopped after {len(acked)} of {writes} acknowledged writes"
    server.proc.wait()
    return acked


@pytest.mark.long(35)  # seconds alone, about: started first (tests/conftest.py)
async def test_every_acknowledged_transaction_survives_kill_9_of_the_store(tmp_path):
    lost = []
    for round_ in range(3):
        server = start_mongo(tmp_path / f"store{round_}")
        client = make_client(f"mongodb://127.0.0.1:{server.port}/?directConnection=true&retryWrites=false", "t")
        try:
            acked = await acknowledged_then_killed(server, client, writes=200 * (round_ + 1))
            server = start_mongo(tmp_path / f"store{round_}", port=server.port)
            # The same client reads after the restart: closing it while the store is down would
            # wait out server selection for its endSessions.
            stored = {d["_id"] for d in await client["durability"].things.find({}, {"_id": 1}).to_list(None)}
        finally:
            await client.close()
            server.stop()
        lost += [n for n in acked if n not in stored or -n - 1 not in stored]
    assert lost == [], f"{len(lost)} acknowledged transactions lost: {sorted(lost)[:20]}"


async def until_ready(stack: Stack, ready: bool, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    assert stack.http is not None
    while True:
        r = await stack.http.get("/readyz")
        if (r.status_code == 200) is ready:
            return r.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz still {r.status_code} {r.text} after {timeout:g}s")
        await asyncio.sleep(0.2)


async def test_readyz_says_not_ready_while_the_store_is_down(tmp_path, nats_server):
    server = start_mongo(tmp_path / "store")
    stack = Stack(make_settings(nats_server.port, server.port))
    try:
        await stack.start_service("grids")
        await stack.start_gateway(services=("grids",))
        body = await until_ready(stack, True)
        assert body["services"] == {"grids": True}
        server.proc.kill()
        server.proc.wait()
        body = await until_ready(stack, False)
        assert body["services"] == {"grids": False}
        assert "cannot write to its database" in body["reasons"]["grids"]
        server = start_mongo(tmp_path / "store", port=server.port)
        await until_ready(stack, True)
        # and it writes again
        data = await stack.ok('mutation { createRegion(input: {id: "r1", name: "甲市", level: CITY}) { id } }')
        assert data["createRegion"]["id"] == "r1"
    finally:
        await stack.close()
        server.stop()
