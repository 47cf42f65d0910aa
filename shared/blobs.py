"""The blob store of evidence files: one small interface (put a stream, open a stream, delete, and
the pending marks that let a sweep find files no record took), GridFS in the MongoDB-wire store by
default; the S3-compatible store is in shared/blobs_s3.py. `blob_store(settings)` picks one."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bson import Binary
from gridfs import AsyncGridFSBucket, NoFile
from pymongo import AsyncMongoClient

from shared.errors import BadInput, NotFound
from shared.mongo import make_client
from shared.records import until
from shared.settings import Settings

CHUNK = 255 * 1024  # GridFS's chunk size; also the piece a download is sent in
WRITE_CHUNKS = 8  # chunks written to GridFS at once: ~2 MB in memory per upload, an eighth of the durable writes


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    sha256: str


@dataclass
class Blob:
    """An open stored file: its type and size, and its bytes as they are read."""

    key: str
    content_type: str
    size: int
    chunks: AsyncIterator[bytes]


@dataclass(frozen=True)
class PendingBlob:
    """A file stored but not yet taken by a record (`commit`): what it was uploaded for."""

    key: str
    stored_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)


class TooLarge(BadInput):
    """The stream passed the size it was allowed; nothing of it is kept."""


class BlobStore(Protocol):
    async def put(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int, meta: dict[str, Any]
    ) -> BlobInfo:
        """Store `chunks` under `key` as they come, marked pending with `meta`; TooLarge (and
        nothing kept) once they pass `max_bytes`; any failure keeps nothing."""
        ...

    async def open(self, key: str) -> Blob:
        """The stored file, NotFound if there is none (or it is still being written)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file and its pending mark; no file is no error."""
        ...

    async def commit(self, key: str) -> None:
        """A record took the file: it is no longer pending."""
        ...

    async def pending(self, before: datetime, limit: int = 100) -> list[PendingBlob]:
        """Files still pending that were stored before `before`, oldest first."""
        ...

    async def close(self) -> None: ...


class Hashing:
    """Counts and hashes a stream as it passes, refusing it past `max_bytes`."""

    def __init__(self, chunks: AsyncIterator[bytes], max_bytes: int):
        self.chunks, self.max_bytes = chunks, max_bytes
        self.size, self.digest = 0, hashlib.sha256()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise TooLarge(f"the file is larger than {self.max_bytes} bytes", {"maxBytes": self.max_bytes})
            self.digest.update(chunk)
            yield chunk

    def info(self, key: str) -> BlobInfo:
        return BlobInfo(key=key, size=self.size, sha256=self.digest.hexdigest())


class GridFSBlobStore:
    """Files in GridFS (bucket `attachments`) in a database of their own on the MongoDB-wire
    store. A file's `metadata` holds its content type and, until a record takes it, `pending`."""

    def __init__(self, client: AsyncMongoClient, db_name: str, own_client: bool = False):
        self.client, self.own_client = client, own_client
        self.db = client[db_name]
        self.bucket = AsyncGridFSBucket(self.db, bucket_name="attachments", chunk_size_bytes=CHUNK)
        self.files, self.chunks = self.db["attachments.files"], self.db["attachments.chunks"]
        self._indexed = False

    async def _index(self) -> None:
        if not self._indexed:
            await self.files.create_index([("metadata.pending", 1), ("uploadDate", 1)])
            await self.chunks.create_index([("files_id", 1), ("n", 1)], unique=True)  # GridFS's own
            self._indexed = True

    async def put(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int, meta: dict[str, Any]
    ) -> BlobInfo:
        """Written chunk by chunk in GridFS's own layout (`<bucket>.chunks` then the `<bucket>.files`
        document, which makes the file visible), `WRITE_CHUNKS` chunks in memory at a time. PyMongo's GridIn
        batches up to 48 MB of chunks into one insert: a 50 MB video took the gateway 106 MB over
        its idle memory."""
        await self._index()
        counted = Hashing(chunks, max_bytes)
        buffer, docs, n = bytearray(), [], 0
        try:
            async for chunk in counted:
                buffer += chunk
                while len(buffer) >= CHUNK:
                    docs.append({"files_id": key, "n": n, "data": Binary(bytes(buffer[:CHUNK]))})
                    del buffer[:CHUNK]
                    n += 1
                    if len(docs) == WRITE_CHUNKS:
                        await self.chunks.insert_many(docs)
                        docs = []
            if buffer:
                docs.append({"files_id": key, "n": n, "data": Binary(bytes(buffer))})
            if docs:
                await self.chunks.insert_many(docs)
            await self.files.insert_one(
                {
                    "_id": key,
                    "length": counted.size,
                    "chunkSize": CHUNK,
                    "uploadDate": datetime.now(UTC),
                    "filename": key,
                    "metadata": {"contentType": content_type, "pending": True, **meta},
                }
            )
        except BaseException:
            await asyncio.shield(self.chunks.delete_many({"files_id": key}))
            raise
        return counted.info(key)

    async def open(self, key: str) -> Blob:
        try:
            stream = await self.bucket.open_download_stream(key)
        except NoFile:
            raise NotFound(f"file {key}") from None

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await stream.readchunk():
                    yield chunk
            finally:
                await stream.close()

        meta = stream.metadata or {}
        return Blob(key, meta.get("contentType") or "application/octet-stream", stream.length, chunks())

    async def delete(self, key: str) -> None:
        try:
            await self.bucket.delete(key)
        except NoFile:
            pass

    async def commit(self, key: str) -> None:
        await self.files.update_one({"_id": key}, {"$set": {"metadata.pending": False}})

    async def pending(self, before: datetime, limit: int = 100) -> list[PendingBlob]:
        await self._index()
        cursor = (
            self.files.find({"metadata.pending": True, "uploadDate": until(before, inclusive=False)})
            .sort([("metadata.pending", 1), ("uploadDate", 1)])
            .limit(limit)
        )
        return [
            PendingBlob(
                d["_id"],
                d["uploadDate"].replace(tzinfo=UTC),
                {k: v for k, v in (d.get("metadata") or {}).items() if k not in ("pending", "contentType")},
            )
            async for d in cursor
        ]

    async def close(self) -> None:
        if self.own_client:
            await self.client.close()


def blob_store(settings: Settings) -> BlobStore:
    """The store the settings name (`YIWANG_BLOB_STORE`): `gridfs` (default) or `s3`."""
    if settings.blob_store == "s3":
        from shared.blobs_s3 import S3BlobStore

        return S3BlobStore(settings)
    client = make_client(settings.mongo_uri, "yiwang-blobs")  # the platform's write concern: durable when acknowledged
    return GridFSBlobStore(client, settings.db_name("blobs"), own_client=True)
