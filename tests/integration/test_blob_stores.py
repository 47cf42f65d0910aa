"""The blob store interface on both of its stores: GridFS on SecantusDB, and an S3-compatible server
process (moto's server mode): streaming put with hash and size, the size limit, open, pending marks
and the orphan question, delete."""
from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest

from shared.blobs import BlobStore, TooLarge, blob_store
from shared.blobs_s3 import PART
from shared.errors import NotFound
from tests.infra import make_settings, start_s3


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    server = start_s3(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture(params=["gridfs", "s3"])
async def blobs(request, nats_server, mongo_server):
    settings = make_settings(nats_server.port, mongo_server.port)
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        settings = settings.model_copy(update={
            "blob_store": "s3", "s3_endpoint": f"http://127.0.0.1:{server.port}", "s3_bucket": f"b{os.getpid()}",
            "s3_access_key": "test", "s3_secret_key": "test"})
    store = blob_store(settings)
    if request.param == "s3":
        await (await store.client()).create_bucket(Bucket=settings.s3_bucket)  # type: ignore[attr-defined]
    yield store
    await store.close()


async def pieces(data: bytes, size: int = 65536):
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def read_all(store: BlobStore, key: str) -> tuple[str, bytes]:
    blob = await store.open(key)
    return blob.content_type, b"".join([c async for c in blob.chunks])


@pytest.mark.parametrize("size", [0, 1000, PART + 12345, 2 * PART])
async def test_put_open_delete(blobs, size):
    data = os.urandom(size)
    key = f"att-{size}"
    info = await blobs.put(key, pieces(data), "video/mp4", 3 * PART, {"target": "CASE", "targetId": "c1"})
    assert (info.size, info.sha256) == (size, hashlib.sha256(data).hexdigest())
    assert await read_all(blobs, key) == ("video/mp4", data)
    assert (await blobs.open(key)).size == size
    await blobs.delete(key)
    await blobs.delete(key)  # again: no error
    with pytest.raises(NotFound):
        await blobs.open(key)


async def test_too_large_keeps_nothing(blobs):
    with pytest.raises(TooLarge):
        await blobs.put("big", pieces(os.urandom(PART + 10)), "video/mp4", PART, {})
    with pytest.raises(NotFound):
        await blobs.open("big")
    assert [p.key for p in await blobs.pending(datetime.now(UTC) + timedelta(minutes=1))] == []


async def test_pending_until_committed(blobs):
    for key in ("a1", "a2"):
        await blobs.put(key, pieces(b"x" * 10), "application/pdf", 100, {"target": "CASE", "targetId": "c1"})
    later = datetime.now(UTC) + timedelta(minutes=1)
    found = {p.key: p.meta for p in await blobs.pending(later)}
    assert found == {"a1": {"target": "CASE", "targetId": "c1"}, "a2": {"target": "CASE", "targetId": "c1"}}
    assert await blobs.pending(datetime.now(UTC) - timedelta(minutes=1)) == []
    await blobs.commit("a1")
    assert [p.key for p in await blobs.pending(later)] == ["a2"]
    assert (await read_all(blobs, "a1"))[1] == b"x" * 10  # committed files stay
