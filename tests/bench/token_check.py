"""What checking a token on every request costs: `python -m tests.bench.token_check [--clients 8]
[--seconds 6] [--rounds 3]`. Starts NATS, SecantusDB and the cases service (in this process) on
free ports, then calls its `ping` with a person's token (`paths.service_requests`), alternating
rounds with the verified-token memory of `shared.identity.Verifier` on and with it bypassed (the
token verified again on every request, as before the memory), and bare NATS request-reply for
reference. Prints each round's requests a second and p50, and the medians."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from shared.identity import Verifier
from tests.bench.ceilings import nats_rr
from tests.bench.paths import service_requests
from tests.infra import Stack, make_settings, start_mongo, start_nats


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        nats_server, mongo = start_nats(Path(tmp) / "nats"), start_mongo(Path(tmp) / "mongo")
        stack = Stack(make_settings(nats_server.port, mongo.port))
        remembered = Verifier._recalled
        runs: dict[str, list[dict]] = {"verified every time": [], "remembered": []}
        try:
            await stack.start_service("cases")
            token = stack.token("operator", "city", sub="bench")
            url = stack.settings.nats_url
            assert url is not None  # the test stack's own NATS
            for _ in range(args.rounds):
                for mode in runs:
                    Verifier._recalled = remembered if mode == "remembered" else (lambda *_a, **_k: None)  # type: ignore[method-assign]
                    runs[mode].append(await service_requests(url, token, args.clients, args.seconds))
            Verifier._recalled = remembered  # type: ignore[method-assign]
            raw = await nats_rr(url, args.clients, args.seconds)
        finally:
            Verifier._recalled = remembered  # type: ignore[method-assign]
            await stack.close()
            nats_server.stop()
            mongo.stop()
    for mode, outs in runs.items():
        rates, p50s = [o["throughput_per_s"] for o in outs], [o["p50_ms"] for o in outs]
        print(
            f"[bench] ping, token {mode}: {rates} a second, p50 {p50s} ms; "
            f"medians {statistics.median(rates):.0f} a second, {statistics.median(p50s):.1f} ms"
        )
    print(f"[bench] bare request-reply: {raw['throughput_per_s']:.0f} a second, p50 {raw['p50_ms']} ms")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(p.parse_args()))
