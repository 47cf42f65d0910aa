"""How fast 党员联户 loads: `python -m tests.bench.links_seed [--members N]`. Starts NATS, SecantusDB,
grids, cases and organizations on free ports in a temp dir, registers `2 × N` party members of one
community and 12 households for each, then links half the members the way the seed used to (one
`member.link` each, three at a time, as `ops/cli/seed.py`'s Loader sends them) and the other half
through `member.linkImport` (the community's links in one call), and prints both rates."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from ops.cli.progress import Progress
from ops.cli.seed import Loader
from shared.messaging.rpc import RpcClient
from tests.infra import Stack, make_settings, start_mongo, start_nats
from tests.org_helpers import member, party_tree, start_org_stack

PER_MEMBER = 12


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        nats_server, mongo = start_nats(Path(tmp) / "nats"), start_mongo(Path(tmp) / "mongo")
        stack = Stack(make_settings(nats_server.port, mongo.port))
        try:
            orgs, _ = await start_org_stack(stack)
            su, svc = stack.token(), stack.token("service")
            tree = await party_tree(orgs, su)
            members = [
                (await member(orgs, su, tree["grid"]["id"], idNumber=None, phone=None, name=f"党员{i}"))["id"]
                for i in range(2 * args.members)
            ]
            households = [
                {
                    "key": f"bench:{i}",
                    "buildingId": "bldg-a1-1",
                    "unit": "1",
                    "room": str(1000 + i),
                    "head": {"relation": "HEAD", "name": "张三"},
                    "members": [],
                    "tags": [],
                }
                for i in range(2 * args.members * PER_MEMBER)
            ]
            ids: list[str] = []
            for start in range(0, len(households), 500):
                reply = await orgs.rpc.call(
                    "grids", "household.import", {"households": households[start : start + 500]}, svc, timeout_s=300
                )
                ids += [reply["ids"][h["key"]] for h in households[start : start + 500]]
            links = [
                {"memberId": m, "householdIds": ids[i * PER_MEMBER : (i + 1) * PER_MEMBER], "idempotencyKey": f"b:{m}"}
                for i, m in enumerate(members)
            ]
            one, many = links[: args.members], links[args.members :]
            async with Progress(print, 60.0) as progress:
                loader = Loader(RpcClient(orgs.rpc.nc, timeout_s=300), svc, progress)
                started = time.monotonic()
                await loader.all("grids", "member.link", one)
                took_one = time.monotonic() - started
                started = time.monotonic()
                await loader.call("grids", "member.linkImport", {"links": many}, timeout_s=300)
                took_many = time.monotonic() - started
            print(
                f"[bench] member.link, one call a member: {len(one)} members in {took_one:.1f}s "
                f"({len(one) / took_one:.1f} a second)"
            )
            print(
                f"[bench] member.linkImport, one call: {len(many)} members in {took_many:.1f}s "
                f"({len(many) / took_many:.1f} a second): {took_one / took_many:.1f}× faster"
            )
            await orgs.close()
        finally:
            await stack.close()
            nats_server.stop()
            mongo.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=30, help="members linked each way")
    asyncio.run(main(p.parse_args()))
