"""Helpers for tests of the cases service over request-reply."""
from __future__ import annotations

import asyncio

import nats

from shared.errors import DomainError, Unavailable
from shared.messaging.rpc import RpcClient
from tests.infra import Stack

REPORT = {"title": "路灯不亮", "description": "小区东门路灯坏了三天", "categoryCode": "FACILITY_STREETLIGHT",
          "channel": "MINI_PROGRAM", "reporterName": "张三", "reporterPhone": "13812345678"}


class CasesClient:
    """Calls one service over request-reply (cases unless told otherwise)."""

    def __init__(self, stack: Stack, rpc: RpcClient, service: str = "cases"):
        self.stack, self.rpc, self.service = stack, rpc, service

    @classmethod
    async def connect(cls, stack: Stack, service: str = "cases") -> "CasesClient":
        return cls(stack, RpcClient(await nats.connect(stack.settings.nats_url), stack.settings.rpc_timeout_s), service)

    async def close(self) -> None:
        await self.rpc.nc.close()

    async def __call__(self, verb: str, token: str, **payload):
        return await self.rpc.call(self.service, verb, payload, token)

    async def wait_territory(self, region_ids: list[str], timeout: float = 15) -> None:
        """Until the service's territory replica knows these regions."""
        token = self.stack.token()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                items = (await self("stats.batch", token, ids=region_ids))["items"]
                if all("error" not in v for v in items.values()):
                    return
            except Unavailable:
                items = {self.service: "not running yet"}
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"territory replica still missing some of {region_ids}: {items}")
            await asyncio.sleep(0.05)

    async def wait_moved(self, region_id: str, path: list[str], timeout: float = 15) -> None:
        """Until the service has handled a move: the region's cases carry its new path."""
        rt = next(r for r in self.stack.runtimes if r.name == self.service)
        deadline = asyncio.get_running_loop().time() + timeout
        while (doc := await rt.db.cases.find_one({"region_id": region_id}, {"path": 1})) and doc["path"] != path:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{region_id}'s cases still at {doc['path']}, not {path}")
            await asyncio.sleep(0.05)
        await self.settled()

    async def settled(self, timeout: float = 15) -> None:
        """Until every committed event is folded into the rollups."""
        db = next(rt for rt in self.stack.runtimes if rt.name == "cases").db
        deadline = asyncio.get_running_loop().time() + timeout
        while await db.projection_queue.count_documents({"projection": "rollups"}):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("rollup projector did not catch up")
            await asyncio.sleep(0.05)


GRIDS = ["grid-a1", "grid-a2", "grid-b1", "grid-b2"]


async def start_cases_stack(stack: Stack, **case_settings) -> CasesClient:
    """grids and cases (with these settings) behind the gateway, on the test territory
    (tests.territory.build_tree), the cases replica caught up: a client of cases."""
    from tests.territory import build_tree
    await stack.start_service("grids")
    await stack.start_service("cases", **case_settings)
    await stack.start_gateway(services=("grids", "cases"))
    await build_tree(stack)
    client = await CasesClient.connect(stack)
    await client.wait_territory(GRIDS)
    return client


async def expect_error(coro, code: str) -> DomainError:
    try:
        await coro
    except DomainError as e:
        assert str(e.code) == code, (e.code, e.message)
        return e
    raise AssertionError(f"expected {code}")
