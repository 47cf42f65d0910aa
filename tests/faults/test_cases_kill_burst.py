"""kill -9 of the cases process during a burst of 300 concurrent reports with idempotency
keys, clients retrying: exactly 300 cases afterwards, and the overview agrees."""
from __future__ import annotations

import asyncio
import random
import subprocess
import sys

import pytest
from pymongo import AsyncMongoClient

from shared.errors import Unavailable
from tests.cases_helpers import REPORT, CasesClient
from tests.faults.test_outbox_crash import service_env
from tests.territory import build_tree

N = 300


def start_cases(settings) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "services.cases"], env=service_env(settings))


@pytest.mark.long(60)  # seconds alone, about: started first (tests/conftest.py)
async def test_kill_during_burst_loses_nothing_and_duplicates_nothing(stack):
    await stack.start_service("grids")
    await stack.start_gateway(services=("grids",))
    await build_tree(stack)
    proc = start_cases(stack.settings)
    cases = await CasesClient.connect(stack)
    try:
        await cases.wait_territory(["grid-a1"], timeout=60)
        done: list[str] = []
        retries = 0

        async def client(i: int) -> str:
            nonlocal retries
            token = stack.token(role="resident", sub=f"burst-r{i % 25}")
            backoff = 0.2
            while True:
                try:
                    case = await cases.rpc.call("cases", "case.report", {**REPORT, "regionId": "grid-a1",
                                                "idempotencyKey": f"burst-{i}"}, token,
                                                timeout_s=stack.settings.rpc_timeout_s)
                    done.append(case["id"])
                    return case["id"]
                except Unavailable:
                    # Back off as a real client does: 300 clients re-sending every 3 s kept a
                    # service on a busy machine answering requests whose callers had already
                    # given up, so none was ever answered in time.
                    retries += 1
                    await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
                    backoff = min(backoff * 2, 5.0)

        async def killer() -> None:
            nonlocal proc
            while len(done) < 60:
                await asyncio.sleep(0.01)
            proc.kill()  # SIGKILL, mid-burst
            proc.wait()
            await asyncio.sleep(0.3)
            proc = start_cases(stack.settings)

        ids, _ = await asyncio.gather(asyncio.gather(*(client(i) for i in range(N))), killer())
        assert retries > 0, "the kill interrupted some requests"
        assert len(set(ids)) == N
        mongo = AsyncMongoClient(stack.settings.mongo_url)
        db = mongo[stack.settings.db_name("cases")]
        assert await db.cases.count_documents({}) == N
        # A transaction the killed process left open holds its writes until the restarted
        # process ends its sessions (shared.mongo.SessionLedger); the projector waits for that.
        for _ in range(1200):
            if await db.projection_queue.count_documents({"projection": "rollups"}) == 0:
                break
            await asyncio.sleep(0.1)
        stats = (await cases("stats.batch", stack.token(), ids=["city", "grid-a1"]))["items"]
        assert stats["city"]["total"] == N and stats["grid-a1"]["total"] == N and stats["city"]["open"] == N
        assert await db.outbox.count_documents({"type": "yiwang.cases.REPORTED.v1"}) == N
        await mongo.close()
    finally:
        await cases.close()
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
