"""`yiwang import KIND FILE [--dry-run]`: onboard a city's records from its spreadsheets and GIS
files (shared/onboarding), and `yiwang import --template KIND` for a blank file to fill in.

The rows go to the services over NATS with the importer's token (`--token`, or `YIWANG_TOKEN`;
on a development stack without either, a superadmin token of the development issuer), so
every row meets the services' rules and the importer's scope. What is done is kept in
`<data dir>/imports/`: an interrupted import run again goes on after it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from shared.errors import DomainError
from shared.onboarding.kinds import KINDS, Context, keyed_hash
from shared.onboarding.runner import Interrupted, Report, run
from shared.onboarding.tables import read
from shared.onboarding.templates import FORMATS, template
from shared.settings import Settings

EXIT_PROBLEMS, EXIT_INTERRUPTED = 2, 3


class FileCheckpoint:
    """The keys of the records an import has done, in a JSON file named by the kind and the
    file's digest (the same file resumes; a changed file starts afresh, and its rows done
    before are found by their keys)."""

    def __init__(self, path: Path):
        self.path = path
        self.done: set[str] = set(json.loads(path.read_text())["done"]) if path.exists() else set()
        self._saved = len(self.done)

    async def save(self) -> None:
        if len(self.done) == self._saved:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": sorted(self.done)}))
        os.replace(tmp, self.path)
        self._saved = len(self.done)

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


def import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=list(KINDS), help="what the file holds")
    p.add_argument("file", nargs="?", help="the .xlsx, .csv (regions also .geojson, .kml, Shapefile .zip)")
    p.add_argument("--dry-run", action="store_true", help="check every row and report; change nothing")
    p.add_argument("--template", action="store_true", help="write a blank template of KIND to FILE instead")
    p.add_argument("--format", choices=FORMATS, default="xlsx", help="the template's format (default xlsx)")
    p.add_argument("--token", default=os.environ.get("YIWANG_TOKEN"), help="the importer's token (or YIWANG_TOKEN)")


def _token(args: argparse.Namespace, settings: Settings) -> str:
    if args.token:
        return str(args.token)
    if settings.jwks_url is not None:
        raise SystemExit("yiwang import: give --token (or YIWANG_TOKEN): your token from the city's sign-in")
    from shared.identity import settings_token

    return settings_token(settings, sub="dev-import", role="superadmin", ttl_s=settings.jwt_max_ttl_s)


def import_(args: argparse.Namespace, settings: Settings) -> int:
    """import a city's regions, buildings, people, units and case history from spreadsheets"""
    kind = KINDS[args.kind]
    if args.template:
        out = Path(args.file or f"{kind.name}.{args.format}")
        out.write_bytes(template(kind, args.format))
        print(f"import: a blank {kind.title} template in {out} ({len(kind.columns)} columns, * required)")
        return 0
    if not args.file:
        raise SystemExit("yiwang import: give the FILE to import (or --template)")
    path = Path(args.file)
    try:
        kind.file_name(path.name)
        data = path.read_bytes()
        rows = read(path.name, data)
    except OSError as e:
        raise SystemExit(f"yiwang import: {e}") from None
    except DomainError as e:
        raise SystemExit(f"yiwang import: {path.name}: {e.message}") from None
    token = _token(args, settings)
    digest = hashlib.sha256(data).hexdigest()[:16]
    checkpoint = FileCheckpoint(Path(settings.data_dir) / "imports" / f"{kind.name}-{digest}.json")
    if checkpoint.done and not args.dry_run:
        print(f"import: going on after {len(checkpoint.done)} records done by the earlier run of this file")
    try:
        report = asyncio.run(_run(settings, kind.name, rows, token, args.dry_run, checkpoint))
    except Interrupted as e:
        print(f"import: interrupted: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DomainError as e:  # the token refused, a lookup out of scope
        raise SystemExit(f"yiwang import: {e.code}: {e.message}") from None
    for p in report.problems:
        where = f"row {p.row}" + (f", {p.column}" if p.column else "")
        print(f"  {where}: {p.reason}")
    print(("import (dry run): " if args.dry_run else "import: ") + report.summary())
    if not args.dry_run:
        checkpoint.finish()
    return EXIT_PROBLEMS if report.problems else 0


async def _run(settings: Settings, kind: str, rows: list, token: str, dry_run: bool, checkpoint: Any) -> Report:
    import nats

    from shared.messaging.rpc import RpcClient

    nc = await nats.connect(settings.nats_servers, name="yiwang-import")
    try:
        rpc = RpcClient(nc, timeout_s=60)

        async def call(service: str, verb: str, body: dict) -> Any:
            return await rpc.call(service, verb, body, token)

        zone = ZoneInfo(settings.timezone)
        cx = Context(datetime.now(zone).date(), zone, keyed_hash(settings.jwt_secret))
        last = [time.monotonic()]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last[0] >= 2.0 or done == total:
                last[0] = time.monotonic()
                print(f"import: {kind}: {done} of {total} records", flush=True)

        return await run(KINDS[kind], rows, cx, call, dry_run, checkpoint, progress)
    finally:
        await nc.close()
