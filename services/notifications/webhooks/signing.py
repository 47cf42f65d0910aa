"""Webhook signatures: `X-Yiwang-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Yiwang-Signature"
TIMESTAMP_HEADER = "X-Yiwang-Timestamp"
DELIVERY_HEADER = "X-Yiwang-Delivery"
SCHEME = "sha256="
REPLAY_WINDOW_S = 300  # a receiver refuses a request signed longer ago (or later) than this
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret: 32 random bytes, url-safe, with a prefix that makes it easy to spot."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signed_headers(secret: str, body: bytes, delivery_id: str, now: float | None = None) -> dict[str, str]:
    ts = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/cloudevents+json",
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: signature(secret, ts, body),
        DELIVERY_HEADER: delivery_id,
    }


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    sig: str | None,
    *,
    now: float | None = None,
    window_s: int = REPLAY_WINDOW_S,
) -> bool:
    """What a receiver checks: the signature is the body's under `secret`, and the timestamp it
    covers lies within `window_s` of now (an old request replayed later is refused)."""
    if not timestamp or not sig or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > window_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), sig)
