"""A county goes live from its files: `yiwang import` loads the sample county shipped in the repo
(ops/samples/county: a GeoJSON of regions, spreadsheets of the rest) into a running stack, as a
county's IT team would run it. The dry run finds the one bad row and changes nothing; the import
loads every other row through the services' own rules; importing the same files again changes
nothing; an import cut off half-way goes on where it stopped, without a duplicate."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import nats
import pytest

from ops.samples import make_county
from shared.errors import Unavailable
from shared.messaging.rpc import RpcClient
from shared.onboarding.kinds import KINDS, Context, keyed_hash
from shared.onboarding.runner import Interrupted, MemoryCheckpoint, run
from shared.onboarding.tables import read
from tests.faults.test_outbox_crash import service_env

SAMPLE = Path(make_county.__file__).parent / "county"
FILES = (("regions", "regions.geojson"), ("buildings", "buildings.xlsx"), ("grid-workers", "grid-workers.csv"),
         ("organizations", "organizations.xlsx"), ("members", "members.xlsx"), ("units", "units.csv"),
         ("volunteers", "volunteers.xlsx"), ("households", "households.xlsx"), ("cases", "cases.xlsx"))
COMMUNITY = "339901001001"  # 幸福里社区: it imports its own households
FIGURES = """{ overview(regionId: "339901") { grids { gridCount gridWorkerCount buildingCount communityCount }
  cases { total closed satisfactionRate } organizations { organizationCount memberCount }
  volunteers { volunteerCount } households { householdCount residentCount } }
  roleAssignments(regionId: "339901") { totalCount edges { node { sub version } } } }"""
WANT = {"grids": {"gridCount": 8, "gridWorkerCount": 8, "buildingCount": 16, "communityCount": 4},
        "organizations": {"organizationCount": 14, "memberCount": 39}, "volunteers": {"volunteerCount": 12},
        "households": {"householdCount": 12, "residentCount": 24}}


async def cli(settings, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """`yiwang import ARGS` in its own process (the services answer it from this test's loop)."""
    env = service_env(settings, YIWANG_DATA_DIR=str(tmp))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ops.cli.main", "import", *args, env=env,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def figures(stack) -> dict:
    return await stack.ok(FIGURES)


@pytest.mark.long(60)
async def test_the_sample_county_goes_live_from_its_files(stack, tmp_path):
    for name in ("grids", "organizations", "volunteers", "cases"):
        await stack.start_service(name)
    await stack.start_gateway(services=("grids", "organizations", "volunteers", "cases"))
    households_token = stack.token("admin", region=COMMUNITY, sub="xfl-admin")

    # The dry run of the regions checks every feature and creates nothing
    dry = await cli(stack.settings, tmp_path, "regions", str(SAMPLE / "regions.geojson"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == ("import (dry run): regions: 16 rows checked, 0 problems "
                                  "(16 records would be imported, 0 are there already)")
    assert (await stack.ok("{ regions(first: 1) { totalCount } }"))["regions"]["totalCount"] == 0

    for kind, name in FILES:
        if kind == "members":  # its dry run: the one mistyped ID number, by row and column
            dry = await cli(stack.settings, tmp_path, kind, str(SAMPLE / name), "--dry-run")
            assert dry.returncode == 2, dry.stderr
            assert dry.stdout.splitlines() == [
                "  row 19, 身份证号: ID number's check digit does not match (mistyped?)",
                "import (dry run): members: 40 rows checked, 1 problems (39 records would be imported, "
                "0 are there already)"]
        token = ("--token", households_token) if kind == "households" else ()
        done = await cli(stack.settings, tmp_path, kind, str(SAMPLE / name), *token)
        assert done.returncode == (2 if kind == "members" else 0), (kind, done.stdout, done.stderr)
        assert "0 there already" in done.stdout.splitlines()[-1], done.stdout
    assert not list(tmp_path.glob("imports/*.json"))  # finished imports leave no checkpoint

    loaded = await figures(stack)
    overview = loaded["overview"]
    assert {k: overview[k] for k in WANT} == WANT
    assert overview["cases"]["total"] == 60 and overview["cases"]["closed"] == 55
    assert overview["cases"]["satisfactionRate"] is not None  # the return visits of the history count
    assert loaded["roleAssignments"]["totalCount"] == 8  # the grid workers, on their grids

    # The same files again: nothing changes (not a record, not a version)
    zone = ZoneInfo(stack.settings.timezone)
    cx = Context(date.today(), zone, keyed_hash(stack.settings.jwt_secret))
    conn = await nats.connect(stack.settings.nats_url)
    try:
        rpc = RpcClient(conn, timeout_s=30)

        def caller(token: str):
            async def call(service: str, verb: str, body: dict):
                return await rpc.call(service, verb, body, token)
            return call

        superadmin = stack.token("superadmin", sub="dev-import")
        for kind, name in FILES:
            rows = read(name, (SAMPLE / name).read_bytes())
            report = await run(KINDS[kind], rows, cx, caller(households_token if kind == "households" else superadmin),
                               dry_run=False)
            assert [(p.row, p.column) for p in report.problems] == ([(19, "身份证号")] if kind == "members" else [])
            if kind in ("regions", "buildings", "organizations", "cases"):  # found by their codes: not sent
                assert (report.imported, report.present) == (0, report.items), (kind, report)
        await asyncio.sleep(1)  # what an import would have changed reaches the figures in well under that
        assert await figures(stack) == loaded

        # Cut off after five members: the checkpoint holds what was done, the next run goes on
        more = make_county.xlsx("members", [
            [f"补录{'甲乙丙丁戊己庚辛'[i]}", None, "男", "1970-01-01", "2000-07-01", f"1381571{i:04d}", "在职党员",
             "zb33990100100101", None] for i in range(8)])
        rows = read("more.xlsx", more)
        calls = 0
        real = caller(superadmin)

        async def flaky(service: str, verb: str, body: dict):
            nonlocal calls
            if verb == "member.register":
                calls += 1
                if calls > 5:
                    raise Unavailable("organizations went away")
            return await real(service, verb, body)

        checkpoint = MemoryCheckpoint()
        try:
            await run(KINDS["members"], rows, cx, flaky, dry_run=False, checkpoint=checkpoint, concurrency=1)
            raise AssertionError("the import should have stopped")
        except Interrupted as e:
            assert "run the import again" in str(e)
        assert len(checkpoint.done) == 5
        again = await run(KINDS["members"], rows, cx, real, dry_run=False, checkpoint=checkpoint)
        assert (again.before, again.imported, again.problems) == (5, 3, [])
        after = await stack.ok('{ overview(regionId: "339901") { organizations { memberCount } } }')
        assert after["overview"]["organizations"]["memberCount"] == 39 + 8
    finally:
        await conn.close()
