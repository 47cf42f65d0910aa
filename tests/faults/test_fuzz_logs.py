"""A seeded fuzz batch through the real stack (`yiwang up`: gateway, four services, nats-server,
the store), with personal data planted in well-formed and malformed requests: no client mistake
is answered as a fault, nothing hangs, and no name, phone, ID number or canary reaches any log
of any process. The bigger run whose figures the README quotes: `python -m tests.fuzz`."""
from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import pytest

from gateway.schema import build_schema
from shared.settings import Settings
from tests.bench.stack import BenchStack
from tests.fuzz.generate import CLIENT_MISTAKES, WELL_FORMED, Generator
from tests.fuzz.run import Tokens, fire, plant, scan_logs

pytestmark = pytest.mark.slow

SEED, REQUESTS = 20261121, 600
LOG_MAX_BYTES = 64 << 10  # the smallest allowed, so that the run rotates the gateway's log (~150 B a request)


@pytest.mark.long(40)  # seconds alone, about: started first (tests/conftest.py)
def test_fuzz_batch_answers_mistakes_as_such_and_logs_no_personal_data():
    stack = BenchStack(log_level="INFO", keep=True)
    stack.env["YIWANG_LOG_MAX_BYTES"] = str(LOG_MAX_BYTES)
    timeout_s = 10 * stack.settings.rpc_timeout_s  # no answer this long: a hang

    async def campaign() -> tuple:
        tokens = Tokens(stack.settings, region=f"fz{SEED}-county")
        async with httpx.AsyncClient() as http:
            known, planted = await plant(http, f"{stack.url}/graphql", tokens, SEED)
        gen = Generator(build_schema(Settings())._schema, SEED, known, WELL_FORMED + CLIENT_MISTAKES)
        figures, sent = await fire(f"{stack.url}/graphql", gen, tokens, REQUESTS, concurrency=4, timeout_s=timeout_s)
        return figures, set(planted) | sent

    try:
        with stack:
            figures, planted = asyncio.run(campaign())
        # Stopped: every process has written its last line.
        scan = scan_logs(stack.data / "logs", planted)
        print(figures.table())
        print(json.dumps(scan.summary(), ensure_ascii=False))
        assert figures.requests == REQUESTS
        assert (figures.five_xx, figures.internal, figures.no_code, figures.hangs, figures.dropped) == (0, 0, 0, 0, 0), \
            figures.examples
        assert len(planted) > 500
        assert not {f: v for f, v in scan.found.items() if v}, "personal data in the logs"
        assert not {f: v for f, v in scan.patterns.items() if v}, "phone- or ID-shaped strings in the logs"
        # Every Python process logs through the shared setup: JSON lines with its name.
        for name in ("gateway", "grids", "cases", "organizations", "volunteers", "notifications"):
            for path in stack.data.joinpath("logs").glob(f"{name}.log*"):
                lines = [json.loads(line) for line in path.read_text().splitlines()]
                assert all(line["proc"] == name for line in lines), path
        gateway = [json.loads(line) for p in stack.data.joinpath("logs").glob("gateway.log*") for line in p.read_text().splitlines()]
        assert any(line.get("request_id") for line in gateway)
        # Mistakes are not faults: nothing at ERROR where the requests were answered.
        assert not [line for line in gateway if line["level"] in ("ERROR", "CRITICAL")]
        sizes = {p.name: p.stat().st_size for p in stack.data.joinpath("logs").glob("*.log*")}
        assert (stack.data / "logs" / "gateway.log.1").exists(), f"the gateway's log did not rotate: {sizes}"
    finally:
        shutil.rmtree(stack.data, ignore_errors=True)
