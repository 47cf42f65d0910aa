"""Personal data: field encryption at rest and masking on output."""
from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class FieldCipher:
    """Fernet (AES-128-CBC + HMAC) with a key derived from `YIWANG_FIELD_KEY`."""

    def __init__(self, secret: str):
        key = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
        self._f = Fernet(key)
        self._blind = hashlib.sha256(b"blind-index:" + secret.encode()).digest()

    def encrypt(self, value: str | None) -> str | None:
        return None if value is None else self._f.encrypt(value.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._f.decrypt(token.encode()).decode()
        except InvalidToken:
            return None

    def blind_index(self, value: str) -> str:
        """A keyed hash for exact-match lookups on an encrypted field."""
        return hashlib.blake2b(value.encode(), key=self._blind[:32], digest_size=16).hexdigest()


def mask_phone(phone: str | None) -> str | None:
    """`13812345678` -> `138****5678`; short numbers keep only their last two digits."""
    if phone is None:
        return None
    if len(phone) >= 8:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(len(phone) - 2, 0) + phone[-2:]


def mask_name(name: str | None) -> str | None:
    """`张三丰` -> `张**`: keeps the family name."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)
