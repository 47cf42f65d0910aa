"""Evidence end to end: multipart uploads through the gateway to GridFS, attached to cases, and the
signed downloads, on real NATS and SecantusDB."""
from __future__ import annotations

import hashlib
import io
import time

import pytest
from PIL import Image
from pymongo import AsyncMongoClient

from shared.evidence import download_path, url_key
from tests.cases_gateway import GET, GW_A1, GW_A2, IN_A1, OP_A, R1, R2, act, codes, report, start_cases_stack
from tests.evidence_helpers import UPLOAD, jpeg, mp4, multipart_body, pdf, png, upload, upload_input


@pytest.fixture
async def cases(stack):
    await start_cases_stack(stack)
    return stack


def tok(stack, who: dict) -> str:
    return stack.token(**who)


async def blob_count(stack) -> int:
    client = AsyncMongoClient(stack.settings.mongo_uri)
    try:
        return await client[stack.settings.db_name("blobs")]["attachments.files"].count_documents({})
    finally:
        await client.close()


ATTACHMENTS = "query($id: ID!) { case(id: $id) { attachments { id kind stage size sha256 url thumbnailUrl } } }"


async def test_photo_upload_strips_exif_keeps_explicit_location_and_downloads_by_signed_url(cases):
    case = await report(cases, R1, IN_A1)
    photo = jpeg(640, 480, exif_gps=True)
    assert Image.open(io.BytesIO(photo)).getexif().get(0x8825)  # the phone's GPS is in the file sent
    body = await upload(cases.http, tok(cases, R1), photo,
                        {"input": upload_input("CASE", case["id"], lng=113.005, lat=30.005,
                                               capturedAt="2026-05-01T09:30:00+08:00", idempotencyKey="p1")},
                        filename="renamed.gif", declared="image/gif")
    assert not body.get("errors"), body
    a = body["data"]["uploadAttachment"]
    assert a["kind"] == "PHOTO" and a["contentType"] == "image/jpeg" and a["stage"] == "REPORT"
    assert a["location"] == {"lng": 113.005, "lat": 30.005} and a["uploadedBy"] == "r1"
    assert a["url"] and a["thumbnailUrl"]

    r = await cases.http.get(a["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("inline; filename=")
    assert "max-age=" in r.headers["cache-control"] and "private" in r.headers["cache-control"]
    assert hashlib.sha256(r.content).hexdigest() == a["sha256"] and len(r.content) == a["size"]
    stored = Image.open(io.BytesIO(r.content))
    assert stored.size == (640, 480)
    assert not stored.getexif() and "exif" not in stored.info  # EXIF (GPS, make) gone
    thumb = await cases.http.get(a["thumbnailUrl"])
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) <= 320

    # the case shows it; the retry with the same key stores nothing new
    got = (await cases.ok(ATTACHMENTS, {"id": case["id"]}, **R1))["case"]["attachments"]
    assert [x["id"] for x in got] == [a["id"]]
    before = await blob_count(cases)
    again = await upload(cases.http, tok(cases, R1), photo,
                         {"input": upload_input("CASE", case["id"], idempotencyKey="p1")})
    assert again["data"]["uploadAttachment"]["id"] == a["id"] and await blob_count(cases) == before
    timeline = (await cases.ok(GET, {"id": case["id"]}, **R1))["case"]["timeline"]
    assert [e["type"] for e in timeline] == ["REPORTED", "ATTACHMENT_ADDED"]


async def test_tampered_and_expired_links_are_refused(cases):
    case = await report(cases, R1, IN_A1)
    a = (await upload(cases.http, tok(cases, R1), png(), {"input": upload_input("CASE", case["id"])}))
    url = a["data"]["uploadAttachment"]["url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    forged = "/" + path.replace("sig=", "sig=A")
    assert (await cases.http.get(forged)).status_code == 403
    other_id = "/" + path.replace(a["data"]["uploadAttachment"]["id"], "att0000000000000000000000")
    assert (await cases.http.get(other_id)).status_code == 403
    longer = "/" + path.replace("exp=", "exp=9")
    assert (await cases.http.get(longer)).status_code == 403
    key = url_key(cases.settings.jwt_secret)
    old = download_path(key, a["data"]["uploadAttachment"]["id"], "file", int(time.time()) - 1)
    r = await cases.http.get(old)
    assert r.status_code == 410 and r.json()["errors"][0]["extensions"]["code"] == "EXPIRED"


async def test_forbidden_and_unknown_targets_store_nothing(cases):
    case = await report(cases, R1, IN_A1)
    before = await blob_count(cases)
    for who, target in ((R2, case["id"]), (GW_A2, case["id"]), (OP_A, "c-no-such-case")):
        body = await upload(cases.http, tok(cases, who), jpeg(), {"input": upload_input("CASE", target)})
        assert codes(body) == ["FORBIDDEN"], (who, body)
    # a resident may not add HANDLING evidence even to their own case
    handling = upload_input("CASE", case["id"], stage="HANDLING")
    body = await upload(cases.http, tok(cases, R1), jpeg(), {"input": handling})
    assert codes(body) == ["FORBIDDEN"]
    assert await blob_count(cases) == before


async def test_bytes_decide_the_type_not_the_name(cases):
    case = await report(cases, R1, IN_A1)
    # a JPEG named .png and declared image/png is stored as the JPEG it is
    body, ctype = multipart_body(jpeg(), {"input": upload_input("CASE", case["id"])}, filename="x.png",
                                 declared="image/png")
    r = await cases.http.post("/graphql", content=body,
                              headers={"Content-Type": ctype, "Authorization": f"Bearer {tok(cases, R1)}"})
    assert r.json()["data"]["uploadAttachment"]["contentType"] == "image/jpeg", r.json()
    before = await blob_count(cases)
    # HTML renamed .jpg: refused, nothing stored
    evil = b"<html><script>alert(1)</script></html>" * 20
    body = await upload(cases.http, tok(cases, R1), evil, {"input": upload_input("CASE", case["id"])})
    assert codes(body) == ["BAD_USER_INPUT"] and "recognise" in body["errors"][0]["message"]
    # bytes that start like a JPEG but do not decode
    broken = jpeg()[:200] + b"\x00" * 500
    body = await upload(cases.http, tok(cases, R1), broken, {"input": upload_input("CASE", case["id"])})
    assert codes(body) == ["BAD_USER_INPUT"]
    assert await blob_count(cases) == before


@pytest.fixture
async def small_limits(stack):
    stack.settings = stack.settings.model_copy(update={"upload_max_bytes": {
        "PHOTO": 200_000, "VIDEO": 300_000, "AUDIO": 100_000, "DOCUMENT": 100_000}, "attachments_per_record": 3})
    await start_cases_stack(stack)
    return stack


async def test_oversized_file_and_count_limit(small_limits):
    s = small_limits
    case = await report(s, R1, IN_A1)
    before = await blob_count(s)
    body = await upload(s.http, tok(s, R1), mp4(400_000), {"input": upload_input("CASE", case["id"])},
                        filename="v.mp4", declared="video/mp4")
    assert codes(body) == ["BAD_USER_INPUT"] and "300000" in body["errors"][0]["message"]
    assert await blob_count(s) == before
    for _ in range(3):
        ok = await upload(s.http, tok(s, R1), pdf(), {"input": upload_input("CASE", case["id"])})
        assert ok["data"]["uploadAttachment"]["kind"] == "DOCUMENT", ok
    body = await upload(s.http, tok(s, R1), pdf(), {"input": upload_input("CASE", case["id"])})
    assert codes(body) == ["CONFLICT"]
    r = await s.http.get((await s.ok(ATTACHMENTS, {"id": case["id"]}, **R1))["case"]["attachments"][0]["url"])
    assert r.headers["content-disposition"].startswith("attachment;") and r.content == pdf()


async def test_after_photo_rule_and_handler_stages(cases):
    await cases.ok("""mutation { upsertCaseCategory(input: {code: "ENV_GARBAGE", name: "垃圾堆放",
      defaultLevel: GRID, requiresAfterPhoto: true}) { version } }""")
    case = await report(cases, R1, IN_A1)
    await act(cases, "acceptCase", GW_A1, id=case["id"])
    await act(cases, "startCase", GW_A1, id=case["id"])
    refused = await cases.gql("mutation($id: ID!) { resolveCase(id: $id, resolution: \"清运\") { status } }",
                              {"id": case["id"]}, **GW_A1)
    assert codes(refused) == ["BAD_USER_INPUT"] and "after-photo" in refused["errors"][0]["message"]
    during = await upload(cases.http, tok(cases, GW_A1), jpeg(), {"input": upload_input("CASE", case["id"])})
    assert during["data"]["uploadAttachment"]["stage"] == "HANDLING"
    after = await upload(cases.http, tok(cases, GW_A1), jpeg(colour=(0, 0, 200)),
                         {"input": upload_input("CASE", case["id"], stage="RESOLUTION")})
    assert after["data"]["uploadAttachment"]["stage"] == "RESOLUTION"
    assert (await act(cases, "resolveCase", GW_A1, id=case["id"], resolution="已清运"))["status"] == "RESOLVED"


async def test_not_multipart_and_malformed_multipart(cases):
    case = await report(cases, R1, IN_A1)
    body = await cases.gql(UPLOAD, {"file": "aGVsbG8=", "input": upload_input("CASE", case["id"])}, **R1)
    assert codes(body) == ["BAD_USER_INPUT"]
    # the file before `operations`: refused as malformed (400), nothing stored
    before = await blob_count(cases)
    raw = b'--b\r\nContent-Disposition: form-data; name="0"; filename="a.jpg"\r\n\r\n' + jpeg() + b"\r\n--b--\r\n"
    r = await cases.http.post("/graphql", content=raw, headers={
        "Content-Type": "multipart/form-data; boundary=b", "Authorization": f"Bearer {tok(cases, R1)}"})
    assert r.status_code == 400
    # no token: 401 before the body is read
    r = await cases.http.post("/graphql", content=raw, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 401
    assert await blob_count(cases) == before


async def test_orphan_sweep_removes_unregistered_files_and_keeps_registered_ones(cases):
    from datetime import UTC, datetime, timedelta

    import nats

    from gateway.uploads import Uploads
    from shared.messaging.rpc import RpcClient
    from shared.auth import service_token
    from shared.blobs import blob_store

    case = await report(cases, R1, IN_A1)
    a = (await upload(cases.http, tok(cases, R1), pdf(), {"input": upload_input("CASE", case["id"])}))
    kept = a["data"]["uploadAttachment"]["id"]
    blobs = blob_store(cases.settings)
    uploads = Uploads(cases.settings, blobs)
    token = service_token(cases.settings.jwt_secret, "gateway", cases.settings.jwt_issuer)

    nc = await nats.connect(cases.settings.nats_servers)
    rpc = RpcClient(nc, cases.settings.rpc_timeout_s)

    async def ask(service, verb, body):
        return await rpc.call(service, verb, body.model_dump(mode="json", exclude_unset=True), token)

    async def stored(key, meta):
        async def one():
            yield b"%PDF-1.4 orphan"
        await blobs.put(key, one(), "application/pdf", 100, meta)

    try:
        # a crash after storing, before the case took it; one for a case that does not exist; and a
        # recorded upload whose "taken" mark was lost
        await stored("att-orphan", {"target": "CASE", "targetId": case["id"], "service": "cases"})
        await stored("att-nowhere", {"target": "CASE", "targetId": "c-gone", "service": "cases"})
        await blobs.files.update_one({"_id": kept}, {"$set": {"metadata.pending": True}})
        later = datetime.now(UTC) + timedelta(seconds=cases.settings.orphan_after_s + 5)
        assert await uploads.sweep_orphans(ask, now=later) == 2
        assert await blobs.pending(later) == []
        r = await cases.http.get((await cases.ok(ATTACHMENTS, {"id": case["id"]}, **R1))["case"]["attachments"][0]["url"])
        assert r.status_code == 200 and r.content == pdf()
        assert (await cases.http.get("/" + download_path(url_key(cases.settings.jwt_secret), "att-orphan", "file",
                                                         int(time.time()) + 60).lstrip("/"))).status_code == 404
    finally:
        await nc.close()
        await blobs.close()


@pytest.fixture
async def rate_limited(stack):
    stack.settings = stack.settings.model_copy(update={"rate_limit_per_s": 0.01, "rate_limit_burst": 100,
                                                       "upload_rate_bytes": 64 * 1024})
    await start_cases_stack(stack)
    return stack


async def test_uploads_count_against_the_rate_limit_by_their_size(rate_limited):
    s = rate_limited
    case = await report(s, R1, IN_A1)  # 1 of the resident's 100
    big = mp4(110 * 64 * 1024)  # one request, and 110 more for its bytes
    body = await upload(s.http, tok(s, R1), big, {"input": upload_input("CASE", case["id"])}, filename="v.mp4")
    assert body["data"]["uploadAttachment"]["kind"] == "VIDEO", body
    r = await s.http.post("/graphql", json={"query": "{ me { sub } }"},
                          headers={"Authorization": f"Bearer {tok(s, R1)}"})
    assert r.status_code == 429 and r.headers["retry-after"]


@pytest.fixture
async def on_s3(stack, tmp_path):
    from shared.blobs_s3 import S3BlobStore
    from tests.infra import start_s3

    server = start_s3(tmp_path / "s3")
    stack.settings = stack.settings.model_copy(update={
        "blob_store": "s3", "s3_endpoint": f"http://127.0.0.1:{server.port}", "s3_bucket": "evidence",
        "s3_access_key": "test", "s3_secret_key": "test"})
    store = S3BlobStore(stack.settings)
    await (await store.client()).create_bucket(Bucket="evidence")
    await store.close()
    await start_cases_stack(stack)
    yield stack
    server.stop()


async def test_upload_and_download_through_an_s3_compatible_store(on_s3):
    s = on_s3
    case = await report(s, R1, IN_A1)
    photo = jpeg(300, 200, exif_gps=True)
    body = await upload(s.http, tok(s, R1), photo, {"input": upload_input("CASE", case["id"])})
    a = body["data"]["uploadAttachment"]
    r = await s.http.get(a["url"])
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == a["sha256"]
    assert not Image.open(io.BytesIO(r.content)).getexif()
    assert (await s.http.get(a["thumbnailUrl"])).status_code == 200
    video = await upload(s.http, tok(s, R1), mp4(6 * 1024 * 1024), {"input": upload_input("CASE", case["id"])},
                         filename="v.mp4")  # more than one multipart part
    v = video["data"]["uploadAttachment"]
    got = await s.http.get(v["url"])
    assert got.status_code == 200 and len(got.content) == 6 * 1024 * 1024 and got.headers["content-type"] == "video/mp4"
