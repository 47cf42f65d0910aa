"""`yiwang check territory`: every stored boundary against the territory's rules, as the grids
service sees them (`territory.check` over NATS; the rules live with the service).

Lists grids that overlap (each pair, the area they share, and which one `locate` answers
there), boundaries that stick out of their nearest bounded ancestor, and boundaries that are
not valid polygons. Exit code 0 when there are none, 1 when there are, 2 when the grids
service cannot be asked.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from shared.errors import DomainError
from shared.settings import Settings

Say = Callable[[str], None]
KINDS = (
    ("overlaps", "overlapCount", "pairs of overlapping grids"),
    ("outside", "outsideCount", "boundaries outside their nearest bounded ancestor's"),
    ("invalid", "invalidCount", "invalid boundaries"),
)


def check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=["territory"], help="what to check")
    p.add_argument(
        "--limit",
        type=limit_type,
        default=1000,
        help="problems listed per kind, 1-5000 (all are counted; default 1000)",
    )


def limit_type(text: str) -> int:
    n = int(text)
    if not 1 <= n <= 5000:
        raise argparse.ArgumentTypeError("--limit is 1-5000")
    return n


def check(args: argparse.Namespace, settings: Settings) -> int:
    """check stored data against the rules (territory: overlapping grids, boundaries outside their parents)"""
    return asyncio.run(check_territory(settings, args.limit))


async def ask(settings: Settings, limit: int) -> dict[str, Any]:
    import nats

    from shared.auth import service_token
    from shared.messaging.rpc import RpcClient

    async def quiet(_: Exception) -> None:  # the failure is reported once, by the caller
        pass

    nc = await nats.connect(settings.nats_servers, name="yiwang-check", allow_reconnect=False, error_cb=quiet)
    try:
        token = service_token(settings.jwt_secret, "check", settings.jwt_issuer)
        return await RpcClient(nc, timeout_s=120).call("grids", "territory.check", {"limit": limit}, token)
    finally:
        await nc.close()


def show(report: dict[str, Any], say: Say = print) -> int:
    """Print a report; the exit code: 1 when it names any problem."""
    say(
        f"territory: {report['regions']:,} regions, {report['bounded']:,} with a boundary, "
        f"{report['grids']:,} grids with one"
    )
    for o in report["overlaps"]:
        a, b = o["a"], o["b"]
        say(
            f"OVERLAP  grid {a['name']} ({a['id']}; {a['path']}) and grid {b['name']} ({b['id']}; {b['path']}) "
            f"share about {o['overlapM2']:,.0f} m²; locate answers {o['locatedTo']} there (the smaller)"
        )
    for o in report["outside"]:
        r, c = o["region"], o["container"]
        say(
            f"OUTSIDE  {r['level']} {r['name']} ({r['id']}; {r['path']}): about {o['outsideM2']:,.0f} m² "
            f"outside {c['level']} {c['name']} ({c['id']}), its nearest ancestor with a boundary"
        )
    for o in report["invalid"]:
        say(f"INVALID  {o['level']} {o['name']} ({o['id']}; {o['path']}): {o['reason']}")
    counts = {}
    for listed, counted, what in KINDS:
        counts[what] = report[counted]
        if report[counted] > len(report[listed]):
            say(f"... {report[counted] - len(report[listed]):,} more {what} not listed (--limit)")
    problems = sum(counts.values())
    if not problems:
        say("no overlapping grids; every boundary lies inside its nearest ancestor's")
        return 0
    say(
        "; ".join(f"{what}: {n:,}" for what, n in counts.items() if n)
        + ". Fix each with setRegionBoundary: until then a write that keeps a grid overlapping is refused."
    )
    return 1


async def check_territory(settings: Settings, limit: int, say: Say = print) -> int:
    import nats.errors

    try:
        report = await ask(settings, limit)
    except (DomainError, nats.errors.Error, OSError) as e:
        say(f"yiwang check: cannot ask the grids service: {e}")
        return 2
    return show(report, say)
