"""Onboarding through the API, as a county's front end would do it: a GraphQL multipart upload of a
file (`importFile`), a dry run first, then the import, polled with `importJob`; templates from
`GET /imports/templates/...`; who may import and whose jobs one sees. An import the services stop
answering mid-way is FAILED and resumable, and `resumeImport` goes on without a duplicate."""
from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import nats
from openpyxl import load_workbook

from gateway.imports import ImportJobs
from ops.samples import make_county
from shared.blobs import blob_store
from shared.errors import NotFound, Unavailable
from shared.messaging.rpc import RpcClient
from shared.mongo import make_client
from shared.onboarding.kinds import KINDS
from tests.cases_gateway import codes, eventually

SAMPLE = Path(make_county.__file__).parent / "county"
IMPORT = """mutation($kind: ImportKind!, $file: Upload!, $dry: Boolean!) {
  importFile(kind: $kind, file: $file, dryRun: $dry) { id status dryRun filename } }"""
JOB = """query($id: ID!) { importJob(id: $id) { id kind status dryRun done total rows records imported present
  problemCount problems { row column reason } error resumable } }"""
RESUME = "mutation($id: ID!) { resumeImport(id: $id) { id status } }"


async def upload(stack, token: str, kind: str, name: str, data: bytes, dry: bool) -> dict:
    ops = json.dumps({"query": IMPORT, "variables": {"kind": kind, "file": None, "dry": dry}})
    r = await stack.http.post("/graphql", data={"operations": ops, "map": '{"0": ["variables.file"]}'},
                              files={"0": (name, data, "application/octet-stream")},
                              headers={"Authorization": f"Bearer {token}"})
    return r.json()


async def finished(stack, token: str, job_id: str) -> dict:
    body = await eventually(lambda: stack.gql(JOB, {"id": job_id}, token=token),
                            lambda b: b.get("data") and b["data"]["importJob"]["status"] in ("DONE", "FAILED"),
                            timeout=60)
    return body["data"]["importJob"]


async def test_a_county_imports_its_regions_through_the_api(stack):
    await stack.start_service("grids")
    await stack.start_gateway(services=("grids",))
    admin = stack.token("superadmin", sub="county-it")
    geo = (SAMPLE / "regions.geojson").read_bytes()

    asked = await upload(stack, admin, "REGIONS", "regions.geojson", geo, dry=True)
    assert not asked.get("errors"), asked
    assert asked["data"]["importFile"]["dryRun"] is True
    dry = await finished(stack, admin, asked["data"]["importFile"]["id"])
    assert (dry["status"], dry["rows"], dry["records"], dry["problemCount"]) == ("DONE", 16, 16, 0)
    assert (await stack.ok("{ regions(first: 1) { totalCount } }"))["regions"]["totalCount"] == 0

    job = (await upload(stack, admin, "REGIONS", "regions.geojson", geo, dry=False))["data"]["importFile"]
    done = await finished(stack, admin, job["id"])
    assert (done["status"], done["imported"], done["present"], done["done"], done["total"]) == ("DONE", 16, 0, 16, 16)
    again = (await upload(stack, admin, "REGIONS", "regions.geojson", geo, dry=False))["data"]["importFile"]
    assert (await finished(stack, admin, again["id"]))["present"] == 16  # found by their codes: nothing sent

    # A building row naming a grid nobody has, and one fine row: the problem by row and column
    bad = make_county.xlsx("buildings", [["nb01", "1栋", "339901001001nope", None, 6, None],
                                         ["nb02", "2栋", "33990100100101", None, 6, None]])
    job = (await upload(stack, admin, "BUILDINGS", "楼栋.xlsx", bad, dry=False))["data"]["importFile"]
    got = await finished(stack, admin, job["id"])
    assert got["imported"] == 1 and got["problems"] == [{"row": 2, "column": "所属网格编码", "reason":
        "region 339901001001nope is not in this file nor on the platform (in your scope)"}]

    # Who may import, and what a front end gets wrong
    resident = stack.token("resident", region="33990100100101", sub="someone")
    assert codes(await upload(stack, resident, "REGIONS", "r.geojson", geo, dry=True)) == ["FORBIDDEN"]
    assert codes(await upload(stack, admin, "BUILDINGS", "b.geojson", geo, dry=True)) == ["BAD_USER_INPUT"]
    as_json = await stack.gql(IMPORT, {"kind": "REGIONS", "file": "x", "dry": True}, token=admin)
    assert codes(as_json) == ["BAD_USER_INPUT"]
    other = stack.token("admin", region="339901", sub="another-admin")
    assert codes(await stack.gql(JOB, {"id": job["id"]}, token=other)) == ["NOT_FOUND"]
    assert codes(await stack.gql(RESUME, {"id": job["id"]}, token=admin)) == ["CONFLICT"]  # DONE: nothing to resume

    # A blank template of each kind, with no sign-in (it holds no data)
    r = await stack.http.get("/imports/templates/members.xlsx")
    assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert [c.value.lstrip("*") for c in sheet[1]] == [c.header for c in KINDS["members"].columns]
    assert (await stack.http.get("/imports/templates/members.csv")).content.startswith("\ufeff*姓名".encode())
    assert (await stack.http.get("/imports/templates/nothing.xlsx")).status_code == 404


class Flaky:
    """The gateway's RPC client, which stops answering `verb` after `after` calls until told to go on."""

    def __init__(self, rpc: RpcClient, verb: str, after: int):
        self.rpc, self.verb, self.after, self.calls, self.down = rpc, verb, after, 0, True

    async def call(self, service: str, verb: str, body: dict, token: str):
        if verb == self.verb and self.down:
            self.calls += 1
            if self.calls > self.after:
                raise Unavailable(f"{service} did not answer")
        return await self.rpc.call(service, verb, body, token)


async def test_an_import_cut_off_goes_on_where_it_stopped(stack):
    await stack.start_service("grids")
    settings = stack.settings
    admin = stack.token("superadmin", sub="county-it")
    conn = await nats.connect(settings.nats_url)
    mongo = make_client(settings.mongo_uri, "test-imports")
    blobs = blob_store(settings)
    flaky = Flaky(RpcClient(conn, timeout_s=30), "region.create", after=5)
    jobs = ImportJobs(settings.model_copy(update={"import_jobs_per_gateway": 1}), blobs,
                      mongo[settings.db_name("gateway")], flaky)
    await jobs.prepare()

    async def chunks(data: bytes):
        yield data

    try:
        job = await jobs.submit("county-it", admin, "regions", "regions.geojson",
                                chunks((SAMPLE / "regions.geojson").read_bytes()), dry_run=False)
        await asyncio.gather(*jobs.tasks)
        cut = await jobs.get(job["_id"], "county-it")
        assert (cut["status"], cut["resumable"]) == ("FAILED", True)
        assert "run the import again" in cut["error"]
        assert await jobs.done.count_documents({"job": job["_id"]}) == 5
        flaky.down = False
        await jobs.resume(job["_id"], "county-it", admin)
        await asyncio.gather(*jobs.tasks)
        whole = await jobs.get(job["_id"], "county-it")
        # the five created before the cut are found by their codes now; the rest are sent
        assert (whole["status"], whole["report"]["present"], whole["report"]["imported"]) == ("DONE", 5, 11)
        assert whole["problemCount"] == 0
        listed = await flaky.rpc.call("grids", "region.list", {"first": 50}, admin)
        assert listed["totalCount"] == 16  # every region once
        # the file (people's data in the clear) and the done keys go once the job has ended
        assert await jobs.done.count_documents({"job": job["_id"]}) == 0
        try:
            await blobs.open(f"import-{job['_id']}")
            raise AssertionError("the file of an ended import is kept")
        except NotFound:
            pass
    finally:
        await jobs.close()
        await blobs.close()
        await mongo.close()
        await conn.close()
