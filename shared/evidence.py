"""Evidence files, the pure rules: which bytes are which allowed type (sniffed, never declared),
the size limit of each kind, and the signed download URLs (HMAC over id, variant and expiry)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import filetype  # type: ignore[import-untyped]

from shared.errors import BadInput, Forbidden
from shared.vocabulary.cases import AttachmentKind

SNIFF_BYTES = 8192  # what filetype reads of a file's head (OOXML documents are told apart within it)


@dataclass(frozen=True)
class FileType:
    mime: str
    extension: str
    kind: AttachmentKind


# The types an upload may be, by the MIME type sniffed from its first bytes. Photos are the types
# Pillow re-encodes (so their metadata can be dropped); HEIC and the like are refused, not kept raw.
ALLOWED: dict[str, FileType] = {
    t.mime: t
    for t in (
        FileType("image/jpeg", "jpg", AttachmentKind.PHOTO),
        FileType("image/png", "png", AttachmentKind.PHOTO),
        FileType("image/webp", "webp", AttachmentKind.PHOTO),
        FileType("video/mp4", "mp4", AttachmentKind.VIDEO),
        FileType("video/quicktime", "mov", AttachmentKind.VIDEO),
        FileType("video/3gpp", "3gp", AttachmentKind.VIDEO),
        FileType("video/webm", "webm", AttachmentKind.VIDEO),
        FileType("audio/mpeg", "mp3", AttachmentKind.AUDIO),
        FileType("audio/mp4", "m4a", AttachmentKind.AUDIO),
        FileType("audio/aac", "aac", AttachmentKind.AUDIO),
        FileType("audio/amr", "amr", AttachmentKind.AUDIO),
        FileType("audio/x-wav", "wav", AttachmentKind.AUDIO),
        FileType("audio/ogg", "ogg", AttachmentKind.AUDIO),
        FileType("application/pdf", "pdf", AttachmentKind.DOCUMENT),
        FileType(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", AttachmentKind.DOCUMENT
        ),
        FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", AttachmentKind.DOCUMENT),
    )
}


def sniff(head: bytes) -> FileType:
    """The allowed type of a file from its first bytes (at least `SNIFF_BYTES` of them, or the whole
    file if shorter); BAD_INPUT for anything else. What the client declared plays no part."""
    guess = filetype.guess(head) if head else None
    found = ALLOWED.get(guess.mime) if guess else None
    if found is None:
        what = f"looks like {guess.mime}" if guess else "is of no type we recognise"
        raise BadInput(
            f"the file {what}; accepted are JPEG, PNG or WebP photos, MP4, MOV, 3GP or WebM videos, "
            "MP3, M4A, AAC, AMR, WAV or OGG recordings, and PDF, DOCX or XLSX documents",
            {"sniffed": guess.mime if guess else None},
        )
    return found


def size_limit(kind: AttachmentKind, limits: dict[str, int]) -> int:
    """The largest file of `kind` accepted, from the settings' per-kind limits."""
    return int(limits[str(kind)])


def check_size(kind: AttachmentKind, size: int, limits: dict[str, int]) -> None:
    cap = size_limit(kind, limits)
    if size > cap:
        raise BadInput(f"a {kind} may be at most {cap} bytes; this one is larger", {"kind": str(kind), "maxBytes": cap})


# ---- signed download URLs ------------------------------------------------------------------
_URL_KEY_LABEL = b"yiwang/attachment-url/v1"
VARIANTS = ("file", "thumb")


def url_key(secret: str) -> bytes:
    """The key download URLs are signed with: derived from the platform secret for this use alone
    (as the internal service key is), so a URL signature says nothing of any other key."""
    return hmac.new(secret.encode(), _URL_KEY_LABEL, hashlib.sha256).digest()


def _mac(key: bytes, attachment_id: str, variant: str, expires: int) -> str:
    msg = f"{attachment_id}\n{variant}\n{expires}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, msg, hashlib.sha256).digest()).rstrip(b"=").decode()


def sign(key: bytes, attachment_id: str, variant: str, expires: int) -> str:
    """The signature of a download of `attachment_id` (`file` or its `thumb`) valid until `expires`
    (Unix seconds)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    return _mac(key, attachment_id, variant, expires)


def download_path(key: bytes, attachment_id: str, variant: str, expires: int) -> str:
    """The gateway path of a signed download (relative to the gateway's origin)."""
    return f"/files/{attachment_id}/{variant}?exp={expires}&sig={sign(key, attachment_id, variant, expires)}"


class Expired(Exception):
    """A download URL whose signature holds but whose time is past (HTTP 410)."""


def verify(key: bytes, attachment_id: str, variant: str, expires: str | None, signature: str | None, now: int) -> None:
    """Forbidden for a URL we did not sign (any part changed), Expired for one past its time."""
    try:
        exp = int(expires or "")
    except ValueError:
        raise Forbidden("this download link is not valid") from None
    good = variant in VARIANTS and bool(signature)
    if not good or not hmac.compare_digest(_mac(key, attachment_id, variant, exp), signature or ""):
        raise Forbidden("this download link is not valid")
    if now >= exp:
        raise Expired("this download link has expired; read the record again for a fresh one")
