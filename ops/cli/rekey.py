"""`yiwang rekey [--check]`: move every service's stored personal data to the current field
key, through the services' own `fields.rekey` verbs (shared/rekey.py), so that old keys can
be removed from YIWANG_OLD_FIELD_KEYS. Safe to interrupt and to run again: what is already
under the current key is left alone."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from shared.errors import DomainError
from shared.settings import Settings

SERVICES: tuple[str, ...] = ("grids", "cases", "organizations", "volunteers")
SERVICES += ("notifications",)  # notifications: a bound WeChat openid
PASSES = 5  # records a command changed while a pass went by are taken by the next one
PROGRESS = 10_000  # records between progress lines within a collection


def rekey_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="only count the records not yet under the current key")
    p.add_argument("--service", choices=SERVICES, action="append", help="only this service (may repeat)")
    p.add_argument("--batch", type=int, default=200, help="records per transaction (1-500)")


def rekey(args: argparse.Namespace, settings: Settings) -> int:
    """re-encrypt stored personal data under the current field key"""
    import nats

    from shared.auth import service_token
    from shared.messaging.rpc import RpcClient

    key_id, services = settings.field_key_id, args.service or list(SERVICES)

    async def run() -> int:
        nc = await nats.connect(settings.nats_servers, name="yiwang-rekey", max_reconnect_attempts=3)
        try:
            rpc = RpcClient(nc, timeout_s=max(settings.rpc_timeout_s, 30.0))
            token = service_token(settings.jwt_secret, "rekey", settings.jwt_issuer)

            async def call(service: str, verb: str, payload: dict[str, Any]) -> dict:
                return await rpc.call(service, verb, payload, token)

            async def stale() -> dict[str, dict[str, int]]:
                return {s: (await call(s, "fields.status", {"keyId": key_id}))["stale"] for s in services}

            left = await stale()
            print(f"current field key {key_id!r}; records with a field under another key: {_counts(left)}")
            if args.check:
                return 0 if not _total(left) else 1
            for n in range(1, PASSES + 1):
                if not _total(left):
                    break
                for service in services:
                    if not sum(left[service].values()):
                        continue
                    cursor: dict | None = {"collection": None, "after": None}
                    done = 0
                    while cursor is not None:
                        reply = await call(service, "fields.rekey", {"keyId": key_id, "limit": args.batch, **cursor})
                        for clash in reply["clashes"]:
                            print(f"  NOT re-encrypted in {service}.{reply['collection']}: {clash}", flush=True)
                        done, cursor = done + reply["rewritten"], reply["next"]
                        if cursor is None or cursor["collection"] != reply["collection"]:  # a collection done
                            if done:
                                print(f"  pass {n}: {service}.{reply['collection']}: {done} re-encrypted", flush=True)
                            done = 0
                        elif done and done % PROGRESS < args.batch:
                            print(f"  pass {n}: {service}.{reply['collection']}: {done} so far…", flush=True)
                left = await stale()
            if _total(left):
                print(
                    f"still under other keys: {_counts(left)}; keep the old keys configured and look at the "
                    "lines marked NOT above (or run it again while fewer records change)"
                )
                return 1
            print(f"every record is under {key_id!r}: the old keys may now be removed from YIWANG_OLD_FIELD_KEYS")
            return 0
        except DomainError as e:
            print(f"yiwang rekey: {e.message}")
            return 1
        finally:
            await nc.close()

    return asyncio.run(run())


def _total(left: dict[str, dict[str, int]]) -> int:
    return sum(n for counts in left.values() for n in counts.values())


def _counts(left: dict[str, dict[str, int]]) -> str:
    return ", ".join(f"{s}.{c} {n}" for s, counts in left.items() for c, n in counts.items())
