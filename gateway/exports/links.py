"""Signed download links of exports, pure: an HMAC over the job id and an expiry, with a key derived
from the platform secret for this use alone (as evidence links are, shared/evidence.py), so an
evidence link's signature says nothing of an export's and the other way round."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

from shared.errors import Forbidden
from shared.evidence import Expired

_KEY_LABEL = b"yiwang/export-url/v1"


def link_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _mac(key: bytes, job_id: str, expires: int) -> str:
    digest = hmac.new(key, f"export\n{job_id}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def export_path(key: bytes, job_id: str, expires: int) -> str:
    """The gateway path of the download of a finished export, valid until `expires` (Unix seconds)."""
    return f"/exports/{quote(job_id, safe='')}?exp={expires}&sig={_mac(key, job_id, expires)}"


def verify(key: bytes, job_id: str, expires: str | None, signature: str | None, now: int) -> None:
    """Forbidden for a link we did not sign (any part changed), Expired for one past its time."""
    try:
        exp = int(expires or "")
    except ValueError:
        raise Forbidden("this download link is not valid") from None
    if not signature or not hmac.compare_digest(_mac(key, job_id, exp), signature):
        raise Forbidden("this download link is not valid")
    if now >= exp:
        raise Expired("this download link has expired; read the export job again for a fresh one")


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the UTF-8 name (RFC 6266, RFC 5987)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\%;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
