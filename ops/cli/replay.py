"""`yiwang replay cases|grids|organizations|volunteers [--apply]`: rebuild a service's figures and
compare. cases: rollups, trend day buckets and hotspot days from its event log and what imported
history added; grids: every rollup counter of the territory recounted from its records (regions,
grid workers, households, …); organizations and volunteers: their region figures (and funds, unit
orders) recounted from their records."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import socket

from shared.mongo import make_client
from shared.settings import Settings

SHOWN = 20  # differences printed per kind


def replay_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "service", choices=["cases", "grids", "organizations", "volunteers"], help="whose figures to rebuild"
    )
    p.add_argument(
        "--apply",
        action="store_true",
        help="correct the live figures to the rebuilt ones "
        "(only when the event log agrees with a recount of the cases)",
    )


def replay(args: argparse.Namespace, settings: Settings) -> int:
    """rebuild figures from the event log (cases) or the records (grids) and report differences"""
    from services.cases.replay import replay as replay_cases

    if args.service == "grids":
        return asyncio.run(replay_territory(args, settings))
    if args.service in ("organizations", "volunteers"):
        return asyncio.run(replay_records(args, settings))

    async def run() -> int:
        client = make_client(settings.mongo_uri, "yiwang-replay")
        try:
            report = await replay_cases(
                client[settings.db_name(args.service)],
                apply=args.apply,
                by=f"{getpass.getuser()}@{socket.gethostname()} (yiwang replay)",
            )
        finally:
            await client.close()
        print(f"replayed {report.events} events into {report.regions} regions (on top of what imported history added)")
        fixed = " (corrected)" if report.applied else ""
        for what, diffs in (
            ("rollup", report.differences),
            ("day bucket", report.day_differences),
            ("hotspot day", report.hotspot_differences),
        ):
            for key, counter, live, log in diffs[:SHOWN]:
                print(f"  live {what} differs: {key} {counter}: live {live}, event log {log}{fixed}")
            if len(diffs) > SHOWN:
                print(f"  ... and {len(diffs) - SHOWN} more {what} differences{fixed}")
        for region, counter, log, recount in report.recount_differences[:SHOWN]:
            print(f"  log differs from the cases themselves: {region} {counter}: log {log}, recount {recount}")
        if len(report.recount_differences) > SHOWN:
            print(f"  ... and {len(report.recount_differences) - SHOWN} more")
        if args.apply and report.recount_differences:
            print(
                "not corrected: the event log does not account for the cases themselves, "
                "so its figures are not the truth either; nothing was changed"
            )
        if report.clean:
            print("live figures, event log and a recount of the cases agree")
        return 0 if report.clean or report.applied else 1

    return asyncio.run(run())


async def replay_territory(args: argparse.Namespace, settings: Settings) -> int:
    from services.grids.replay import replay as replay_grids

    client = make_client(settings.mongo_uri, "yiwang-replay")
    try:
        report = await replay_grids(client[settings.db_name("grids")], apply=args.apply)
    finally:
        await client.close()
    print(f"recounted the territory's counters of {report.regions} regions from the records")
    fixed = " (corrected)" if report.applied else ""
    for region, counter, live, recount in report.differences[:SHOWN]:
        print(f"  live rollup differs: {region} {counter}: live {live}, recount {recount}{fixed}")
    if len(report.differences) > SHOWN:
        print(f"  ... and {len(report.differences) - SHOWN} more differences{fixed}")
    for key, live, recount in report.people[:SHOWN]:  # links: a person's visits
        print(f"  live visit count differs: {key}: live {live}, recount {recount}{fixed}")
    for region, counter, live in report.unowned[:SHOWN]:
        print(f"  no recount knows {counter} (live {live} in {region}); left as it is")
    if report.clean:
        print("live rollups and a recount of the records agree")
    return 0 if report.clean or report.applied else 1


async def replay_records(args: argparse.Namespace, settings: Settings) -> int:
    """organizations or volunteers: figures recounted from the records (shared/replay.py)."""
    from services.organizations.replay import replay as replay_organizations
    from services.volunteers.replay import replay as replay_volunteers

    run = replay_organizations if args.service == "organizations" else replay_volunteers
    client = make_client(settings.mongo_uri, "yiwang-replay")
    try:
        report = await run(client[settings.db_name(args.service)], apply=args.apply)
    finally:
        await client.close()
    print(f"recounted {report.keys} figures documents of {args.service} from {report.records} records")
    fixed = " (corrected)" if report.applied else ""
    for what, key, counter, live, recount in report.differences[:SHOWN]:
        print(f"  live {what} differ: {key} {counter}: live {live}, recount {recount}{fixed}")
    if len(report.differences) > SHOWN:
        print(f"  ... and {len(report.differences) - SHOWN} more differences{fixed}")
    for note in report.notes[:SHOWN]:
        print(f"  {note} (not corrected by a recount)")
    if report.clean:
        print("live figures and a recount of the records agree")
    return 0 if report.clean or (report.applied and not report.notes) else 1
