"""Evidence downloads: the short-lived signed links an `Attachment` shows to a caller who has just
read its record in scope, and `GET /files/{id}/{variant}`, which checks the link's signature and
time before it touches the store, then streams the bytes with their stored type."""

from __future__ import annotations

import math
import time
from email.utils import formatdate
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from shared.blobs import BlobStore
from shared.errors import DomainError, NotFound
from shared.evidence import ALLOWED, Expired, download_path, url_key, verify
from shared.settings import Settings

INLINE = ("image/", "video/", "audio/")  # shown in place; documents are saved


def signed_url(settings: Settings, request: Any, attachment_id: str, variant: str) -> str:
    """A link to download the attachment (`file` or `thumb`) for the next `download_ttl_s` seconds.
    The expiry is rounded up to a tenth of the lifetime, so repeated reads give the same link
    (and a browser's cache a chance)."""
    ttl = settings.download_ttl_s
    step = max(1, ttl // 10)
    expires = math.ceil((time.time() + ttl) / step) * step
    base = settings.public_url.rstrip("/") if settings.public_url else str(request.base_url).rstrip("/")
    return base + download_path(url_key(settings.jwt_secret), attachment_id, variant, expires)


def refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers={"cache-control": "no-store"},
    )


def download_endpoint(settings: Settings, state: dict[str, Any]) -> Any:
    key = url_key(settings.jwt_secret)

    async def download(request: Request) -> Response:
        attachment_id, variant = request.path_params["id"], request.path_params["variant"]
        now = int(time.time())
        q = request.query_params
        try:
            verify(key, attachment_id, variant, q.get("exp"), q.get("sig"), now)
        except Expired as e:
            return refuse(410, "EXPIRED", str(e))
        except DomainError as e:
            return refuse(403, "FORBIDDEN", e.message)
        blobs: BlobStore = state["blobs"]
        blob_key = attachment_id if variant == "file" else f"{attachment_id}-thumb"
        try:
            blob = await blobs.open(blob_key)
        except NotFound:
            return refuse(404, "NOT_FOUND", "this file is no longer kept")
        expires = int(q["exp"])
        known = ALLOWED.get(blob.content_type)
        extension = known.extension if known else "bin"
        disposition = "inline" if blob.content_type.startswith(INLINE) else "attachment"
        headers = {
            "content-length": str(blob.size),
            "content-disposition": f'{disposition}; filename="{attachment_id}.{extension}"',
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; sandbox",
            "cache-control": f"private, max-age={max(0, expires - now)}",
            "expires": formatdate(expires, usegmt=True),
        }
        return StreamingResponse(blob.chunks, media_type=blob.content_type, headers=headers)

    return download
