"""`python -m tests.fuzz`: the fuzz run whose figures the README quotes.

Without `--url` it starts its own stack (`yiwang up` on free ports, logs at INFO), plants
personal data through every service, fires `--requests` generated requests, stops the stack
(so every process has written its last line) and greps every log file it left.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from pathlib import Path

from gateway.schema import build_schema
from shared.settings import Settings, get_settings
from tests.fuzz.generate import CLIENT_MISTAKES, LIMIT_CASES, WELL_FORMED, Generator
from tests.fuzz.run import Tokens, fire, plant, scan_logs


async def campaign(url: str, settings: Settings, args: argparse.Namespace) -> tuple[dict, set[str]]:
    import httpx

    tokens = Tokens(settings, region=f"fz{args.seed}-county")
    async with httpx.AsyncClient() as http:
        known, planted = await plant(http, f"{url}/graphql", tokens, args.seed)
    kinds = WELL_FORMED + CLIENT_MISTAKES + (LIMIT_CASES if args.all else ())
    gen = Generator(build_schema(Settings())._schema, args.seed, known, kinds)
    figures, sent = await fire(f"{url}/graphql", gen, tokens, args.requests, args.concurrency, args.timeout)
    print(figures.table())
    for key, example in sorted(figures.examples.items())[:args.examples]:
        print(f"-- {key}: {json.dumps(example, ensure_ascii=False)[:600]}")
    return figures.summary(), set(planted) | sent


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds without an answer that count as a hang")
    ap.add_argument("--all", action="store_true", help="also the cases of the request limits (surrogates, deep JSON)")
    ap.add_argument("--url", help="a running gateway instead of a stack of our own")
    ap.add_argument("--logs", type=Path, help="with --url: the log directory to grep afterwards")
    ap.add_argument("--examples", type=int, default=10, help="print this many failing requests")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the stack's data dir (and its logs)")
    args = ap.parse_args()

    if args.url:
        figures, planted = asyncio.run(campaign(args.url.rstrip("/"), get_settings(), args))
        log_dir = args.logs
    else:
        from tests.bench.stack import BenchStack

        stack = BenchStack(log_level="INFO", keep=True)
        with stack:
            figures, planted = asyncio.run(campaign(stack.url, stack.settings, args))
        log_dir = stack.data / "logs"  # read once the stack has stopped: every last line written
    result = {"figures": figures}
    if log_dir:
        scan = scan_logs(log_dir, planted)
        result["logs"] = scan.summary()
        print(f"logs: {scan.summary()['bytes']} bytes in {len(scan.files)} files ({log_dir}); "
              f"lines by level {dict(scan.levels)}; ERROR lines or tracebacks {scan.error_lines}")
        print(f"planted values found in logs: {result['logs']['planted_found'] or 'none'}")
        print(f"phone/ID-shaped strings in logs: {result['logs']['pattern_found'] or 'none'}")
    print(json.dumps({k: v for k, v in figures.items() if k in ('requests', '5xx', 'internal', 'no_code', 'hangs', 'dropped')}))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    if not args.url and not args.keep:
        shutil.rmtree(log_dir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
