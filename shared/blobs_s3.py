"""The blob store on any S3-compatible object store (aiobotocore): a file is one object, streamed
up in multipart parts of `PART` bytes (at most one part in memory per upload); its pending mark
is a small object `pending/<key>` holding what it was uploaded for."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any

from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from shared.blobs import CHUNK, Blob, BlobInfo, Hashing, PendingBlob
from shared.errors import NotFound
from shared.settings import Settings

PART = 5 * 1024 * 1024  # S3's smallest multipart part (but the last)
PENDING = "pending/"
FILES = "files/"


class S3BlobStore:
    def __init__(self, settings: Settings):
        self.settings, self.bucket = settings, settings.s3_bucket
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    async def client(self) -> Any:
        if self._client is None:
            s = self.settings
            stack = AsyncExitStack()
            self._client = await stack.enter_async_context(
                get_session().create_client(
                    "s3",
                    endpoint_url=s.s3_endpoint or None,
                    region_name=s.s3_region,
                    aws_access_key_id=s.s3_access_key or None,
                    aws_secret_access_key=s.s3_secret_key or None,
                    config=AioConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
                )
            )
            self._stack = stack
        return self._client

    async def put(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int, meta: dict[str, Any]
    ) -> BlobInfo:
        s3 = await self.client()
        marker = json.dumps(meta).encode()
        await s3.put_object(Bucket=self.bucket, Key=PENDING + key, Body=marker)
        counted = Hashing(chunks, max_bytes)
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        buffer = bytearray()
        try:
            async for chunk in counted:
                buffer += chunk
                if len(buffer) >= PART:
                    if upload_id is None:
                        created = await s3.create_multipart_upload(
                            Bucket=self.bucket, Key=FILES + key, ContentType=content_type
                        )
                        upload_id = created["UploadId"]
                    n = len(parts) + 1
                    done = await s3.upload_part(
                        Bucket=self.bucket, Key=FILES + key, UploadId=upload_id, PartNumber=n, Body=bytes(buffer)
                    )
                    parts.append({"ETag": done["ETag"], "PartNumber": n})
                    buffer.clear()
            if upload_id is None:
                await s3.put_object(Bucket=self.bucket, Key=FILES + key, Body=bytes(buffer), ContentType=content_type)
            else:
                if buffer:
                    n = len(parts) + 1
                    done = await s3.upload_part(
                        Bucket=self.bucket, Key=FILES + key, UploadId=upload_id, PartNumber=n, Body=bytes(buffer)
                    )
                    parts.append({"ETag": done["ETag"], "PartNumber": n})
                await s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=FILES + key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            if upload_id is not None:
                await s3.abort_multipart_upload(Bucket=self.bucket, Key=FILES + key, UploadId=upload_id)
            await s3.delete_object(Bucket=self.bucket, Key=PENDING + key)
            raise
        return counted.info(key)

    async def open(self, key: str) -> Blob:
        s3 = await self.client()
        try:
            got = await s3.get_object(Bucket=self.bucket, Key=FILES + key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound(f"file {key}") from None
            raise
        body = got["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in body.iter_chunks(CHUNK):
                    yield chunk
            finally:
                body.close()

        return Blob(key, got.get("ContentType") or "application/octet-stream", int(got["ContentLength"]), chunks())

    async def delete(self, key: str) -> None:
        s3 = await self.client()
        await s3.delete_object(Bucket=self.bucket, Key=FILES + key)
        await s3.delete_object(Bucket=self.bucket, Key=PENDING + key)

    async def commit(self, key: str) -> None:
        s3 = await self.client()
        await s3.delete_object(Bucket=self.bucket, Key=PENDING + key)

    async def pending(self, before: datetime, limit: int = 100) -> list[PendingBlob]:
        s3 = await self.client()
        listed = await s3.list_objects_v2(Bucket=self.bucket, Prefix=PENDING, MaxKeys=1000)
        contents = listed.get("Contents", [])
        old = sorted((o for o in contents if o["LastModified"] < before), key=lambda o: o["LastModified"])
        out = []
        for o in old[:limit]:
            try:
                got = await s3.get_object(Bucket=self.bucket, Key=o["Key"])
                meta = json.loads(await got["Body"].read())
            except (ClientError, ValueError):
                meta = {}
            out.append(PendingBlob(o["Key"].removeprefix(PENDING), o["LastModified"], meta))
        return out

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = self._client = None
