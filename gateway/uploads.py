"""An upload from request to record: ask the owning service whether the caller may attach to the
target (before the file is read), sniff the type from the first bytes, stream the file to the blob
store within its kind's limit (a photo is re-encoded without metadata, with a thumbnail), register it
with the owning service, and delete what was stored if that fails. Files a crash left stored but
unregistered are found by `sweep_orphans`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from gateway import media
from gateway.multipart import StreamedUpload
from shared.blobs import CHUNK, BlobInfo, BlobStore, TooLarge
from shared.contracts.attachments import ATTACH_VERBS, AttachEvidence, AttachTarget, StoredFile, blob_keys
from shared.errors import BadInput, DomainError
from shared.evidence import SNIFF_BYTES, FileType, check_size, size_limit, sniff
from shared.ids import new_id
from shared.settings import Settings

log = logging.getLogger("yiwang.gateway.uploads")
SPOOL_IN_MEMORY = 1 << 20  # a photo is kept in memory up to this size while it is re-encoded, then on disk

Attach = Callable[[str, str, AttachEvidence], Awaitable[dict[str, Any]]]  # (service, verb, body) -> reply


async def _head(chunks: AsyncIterator[bytes]) -> tuple[bytes, AsyncIterator[bytes]]:
    """The file's first `SNIFF_BYTES` (fewer if it is shorter), and the whole file again as a stream."""
    head = bytearray()
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    first = bytes(head)

    async def whole() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return first, whole()


async def _spool(chunks: AsyncIterator[bytes], max_bytes: int) -> IO[bytes]:
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned open
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"the file is larger than {max_bytes} bytes", {"maxBytes": max_bytes})
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


async def _read(f: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := f.read(CHUNK):
        yield chunk


class Uploads:
    def __init__(self, settings: Settings, blobs: BlobStore):
        self.settings, self.blobs = settings, blobs

    async def upload(
        self,
        attach: Attach,
        file: object,
        target: AttachTarget,
        target_id: str,
        fields: dict[str, Any],
    ) -> dict[str, Any]:
        """The attachment the owning service recorded (or an earlier one with the same key).
        `fields`: stage, idempotencyKey, capturedAt, lng, lat as the service's contract has them."""
        service, verb = ATTACH_VERBS[target]
        ask = AttachEvidence(id=target_id, stage=fields.get("stage"), idempotencyKey=fields.get("idempotencyKey"))
        earlier = (await attach(service, verb, ask))["attachment"]
        if earlier is not None:
            return earlier
        if not isinstance(file, StreamedUpload):
            raise BadInput("send the file as a GraphQL multipart request (operations, map, then the file)")
        attachment_id = new_id("att")
        head, chunks = await _head(file.chunks())
        kind = sniff(head)
        meta = {"target": str(target), "targetId": target_id, "service": service}
        stored = await self._store(attachment_id, kind, chunks, meta)
        try:
            reply = await attach(
                service,
                verb,
                ask.model_copy(
                    update={
                        "file": StoredFile(
                            id=attachment_id,
                            kind=kind.kind,
                            contentType=kind.mime,
                            size=stored[0].size,
                            sha256=stored[0].sha256,
                            thumbnail=stored[1] is not None,
                            capturedAt=fields.get("capturedAt"),
                            lng=fields.get("lng"),
                            lat=fields.get("lat"),
                        )
                    }
                ),
            )
        except BaseException:
            await self._forget(attachment_id)
            raise
        recorded = reply["attachment"]
        if recorded["id"] != attachment_id:  # a twin with the same key won the race: keep its file
            await self._forget(attachment_id)
        else:
            await self._commit(attachment_id)
        return recorded

    async def _store(
        self, attachment_id: str, kind: FileType, chunks: AsyncIterator[bytes], meta: dict[str, Any]
    ) -> tuple[BlobInfo, BlobInfo | None]:
        limits = self.settings.upload_max_bytes
        key, thumb_key = blob_keys(attachment_id, True)
        if kind.kind.value != "PHOTO":
            return await self.blobs.put(key, chunks, kind.mime, size_limit(kind.kind, limits), meta), None
        s = self.settings
        with await _spool(chunks, size_limit(kind.kind, limits)) as source:
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as out:
                thumb = await asyncio.to_thread(
                    media.reencode, source, kind.mime, out, s.photo_max_pixels, s.thumbnail_px
                )
                check_size(kind.kind, out.tell(), limits)
                out.seek(0)
                try:
                    main = await self.blobs.put(key, _read(out), kind.mime, size_limit(kind.kind, limits), meta)
                    small = await self.blobs.put(
                        thumb_key or "", _one(thumb), "image/jpeg", len(thumb), meta | {"thumbnailOf": key}
                    )
                except BaseException:
                    await self._forget(attachment_id)
                    raise
                return main, small

    async def _forget(self, attachment_id: str) -> None:
        """Delete what an upload stored; a failure here is left to the orphan sweep."""
        for key in blob_keys(attachment_id, True):
            try:
                await asyncio.shield(self.blobs.delete(key or ""))
            except Exception:  # noqa: BLE001 - the sweep removes it later
                log.warning("could not delete the blob of a refused upload; the orphan sweep will", exc_info=True)

    async def _commit(self, attachment_id: str) -> None:
        for key in blob_keys(attachment_id, True):
            try:
                await self.blobs.commit(key or "")
            except Exception:  # noqa: BLE001 - the sweep asks the owner and commits it then
                log.warning("could not mark a recorded upload as taken; the orphan sweep will", exc_info=True)

    async def sweep_orphans(self, attach: Attach, now: datetime | None = None) -> int:
        """Files stored more than `orphan_after_s` ago and still pending: kept (and marked taken)
        if their record has them, deleted otherwise. Returns how many were deleted."""
        before = (now or datetime.now(UTC)) - timedelta(seconds=self.settings.orphan_after_s)
        deleted = 0
        for blob in await self.blobs.pending(before):
            attachment_id = blob.meta.get("thumbnailOf") or blob.key
            try:
                target = AttachTarget(blob.meta["target"])
                service, verb = ATTACH_VERBS[target]
                ask = AttachEvidence(id=blob.meta["targetId"], attachmentId=attachment_id)
                known = (await attach(service, verb, ask))["attachment"] is not None
            except (KeyError, ValueError):
                known = False  # no record can name it
            except DomainError as e:
                if e.code.value not in ("NOT_FOUND", "FORBIDDEN"):
                    continue  # the owner did not answer: ask again next time
                known = False
            if known:
                await self.blobs.commit(blob.key)
            else:
                await self.blobs.delete(blob.key)
                deleted += 1
        return deleted


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def sweep_forever(uploads: Uploads, attach: Attach, every_s: float) -> None:
    """The orphan sweep, every `every_s` seconds, for the life of the gateway."""
    while True:
        await asyncio.sleep(every_s)
        with contextlib.suppress(Exception):
            n = await uploads.sweep_orphans(attach)
            if n:
                log.info("removed %d stored files no record took", n)


__all__ = ["Uploads", "sweep_forever"]
