"""`yiwang` subcommands. Each is an (add_arguments, run) pair in COMMANDS; a new one (say
`replay`) lives in its own module and adds one line to the table."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence

from ops.cli.asyncapi import asyncapi, asyncapi_arguments
from ops.cli.check import check, check_arguments
from ops.cli.onboard import import_, import_arguments
from ops.cli.rekey import rekey, rekey_arguments
from ops.cli.replay import replay, replay_arguments
from ops.cli.schema import schema, schema_arguments
from shared.auth import REGIONAL_ROLES, Role
from shared.identity import settings_token
from shared.production import check_production
from shared.settings import Settings, get_settings

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace, Settings], int]


def token_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--role",
        choices=[r.value for r in Role if r is not Role.SERVICE],
        help="the role the token claims; without it, only --sub (as a government SSO's token): the role then "
        "comes from the platform's role assignments (assignRole)",
    )
    p.add_argument("--region", help="region id the principal is scoped to")
    p.add_argument("--sub", help="subject (default: dev-<role>)")
    p.add_argument("--dept", help="department code")
    p.add_argument("--member", help="volunteer member id")
    p.add_argument(
        "--ttl", type=int, help="lifetime in seconds (default: YIWANG_JWT_TTL_S; at most YIWANG_JWT_MAX_TTL_S)"
    )


def token(args: argparse.Namespace, settings: Settings) -> int:
    """mint a development JWT"""
    if args.role in REGIONAL_ROLES and not args.region:
        raise SystemExit(f"yiwang token: role {args.role} needs --region")
    if args.role == Role.DEPARTMENT and not args.dept:
        raise SystemExit("yiwang token: role department needs --dept (the department's code)")
    if args.role is None and not args.sub:
        raise SystemExit("yiwang token: give --role, or --sub alone for a token whose role is assigned in the platform")
    sub = args.sub or f"dev-{args.role}"
    ttl = settings.jwt_ttl_s if args.ttl is None else args.ttl
    if not 0 < ttl <= settings.jwt_max_ttl_s:
        raise SystemExit(
            f"yiwang token: --ttl must be between 1 and {settings.jwt_max_ttl_s} seconds "
            "(YIWANG_JWT_MAX_TTL_S); services refuse longer-lived tokens"
        )
    if settings.jwks_url is not None:
        raise SystemExit(
            "yiwang token: this deployment's people sign in with the issuer at YIWANG_JWKS_URL; tokens come from there"
        )
    jwt = settings_token(
        settings, sub=sub, role=args.role, region=args.region, dept=args.dept, member=args.member, ttl_s=ttl
    )
    scope = f" in region {args.region}" if args.region else ""
    what = f"{args.role} token" if args.role else "token (its role from the platform's role assignments)"
    print(f"# {what} for {sub}{scope}, valid {ttl}s; send as 'Authorization: Bearer <token>'")
    print(jwt)
    return 0


def scale_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scale",
        choices=("small", "city"),
        default=os.environ.get("YIWANG_DEMO_SCALE", "small"),
        help="small: the demo city with a year of cases (default); city: 177 communities, 1,000 grids, "
        "50,000 members, 100,000 cases (benchmarks); or set YIWANG_DEMO_SCALE",
    )


def up_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true", help="load demo data once the gateway is ready")
    scale_argument(p)
    p.add_argument("--only", metavar="NAME[,NAME]", help="start only these application processes (e.g. grids,cases)")


def up(args: argparse.Namespace, settings: Settings) -> int:
    """run NATS, MongoDB, the services and the gateway, supervised"""
    from ops.cli import launcher

    only = {n.strip() for n in args.only.split(",") if n.strip()} if args.only else None
    return asyncio.run(launcher.up(settings, demo=args.demo, only=only, scale=args.scale))


def stop(args: argparse.Namespace, settings: Settings) -> int:
    """stop a running `yiwang up`"""
    from ops.cli import launcher

    return launcher.stop(settings)


def seed_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--demo", action="store_true", required=True, help="load the demo city (only into an empty database)"
    )
    scale_argument(p)


def seed(args: argparse.Namespace, settings: Settings) -> int:
    """load demo data into a running stack"""
    try:
        from ops.cli.seed import seed as load
    except ImportError as e:
        raise SystemExit(f"yiwang seed: demo data is not available ({e})") from e
    result = asyncio.run(load(settings, args.scale, say=lambda m: print(m, flush=True)))
    print(f"seed: {result.summary}")
    return 0


def no_arguments(p: argparse.ArgumentParser) -> None:
    pass


# name -> (add_arguments, run); the first docstring line of `run` is its help.
COMMANDS: dict[str, tuple[AddArguments, Run]] = {
    "token": (token_arguments, token),
    "up": (up_arguments, up),
    "stop": (no_arguments, stop),
    "seed": (seed_arguments, seed),
    "replay": (replay_arguments, replay),
    "asyncapi": (asyncapi_arguments, asyncapi),
    "rekey": (rekey_arguments, rekey),
    "check": (check_arguments, check),
    "schema": (schema_arguments, schema),
    "import": (import_arguments, import_),
}
# Commands that start or build the services, which encrypt personal data with the field key.
USES_FIELD_KEY = {"up", "asyncapi"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="yiwang", description="Yiwang back end tools")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add_arguments, run) in COMMANDS.items():
        help_text = (run.__doc__ or "").strip().split("\n")[0] or None
        add_arguments(commands.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    settings = get_settings()
    check_production(settings, f"yiwang {args.command}", uses_field_key=args.command in USES_FIELD_KEY)
    try:
        return COMMANDS[args.command][1](args, settings)
    except BrokenPipeError:
        # The reader went away (`yiwang asyncapi cases | head`): stop quietly, as other tools do,
        # with stdout pointed at /dev/null so that the interpreter's last flush cannot fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    raise SystemExit(main())
