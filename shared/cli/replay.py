"""`yiwang replay cases [--apply]`: rebuild a service's figures from its event log."""
from __future__ import annotations

import argparse
import asyncio

from shared.mongo import make_client
from shared.settings import Settings


def replay_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("service", choices=["cases"], help="whose figures to rebuild")
    p.add_argument("--apply", action="store_true", help="correct the live counters to the rebuilt figures")


def replay(args: argparse.Namespace, settings: Settings) -> int:
    """rebuild figures from the event log and report differences"""
    from services.cases.replay import replay as replay_cases

    async def run() -> int:
        client = make_client(settings.mongo_uri, "yiwang-replay")
        try:
            report = await replay_cases(client[settings.db_name(args.service)], apply=args.apply)
        finally:
            await client.close()
        print(f"replayed {report.events} events into {report.regions} regions")
        for region, counter, live, log in report.differences:
            print(f"  live differs: {region} {counter}: live {live}, event log {log}"
                  + (" (corrected)" if args.apply else ""))
        for region, counter, log, recount in report.recount_differences:
            print(f"  log differs from the cases themselves: {region} {counter}: log {log}, recount {recount}")
        if report.clean:
            print("live counters, event log and a recount of the cases agree")
        return 0 if report.clean or (args.apply and not report.recount_differences) else 1

    return asyncio.run(run())
