"""Personal data: field encryption at rest and masking on output.

A field is written as `v2:<key id>:<base64url(nonce | AES-256-GCM ciphertext and tag)>`
under the current key of a key ring; the key id names the key that decrypts it, and is
authenticated with it. Each key's AES key and blind-index key are derived from its secret
with HKDF-SHA256 (a fixed salt, the purpose and the key id as context), so one secret never
serves two purposes and two ids never share a key.

Before the ring, a field was a bare Fernet token under `sha256(secret)` and a blind index was
keyed with `sha256("blind-index:" + secret)`; those still decrypt and match under every
configured key until `yiwang rekey` has rewritten them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.errors import InternalError

if TYPE_CHECKING:
    from shared.settings import Settings

log = logging.getLogger("yiwang.privacy")

VERSION = "v2"
SALT = b"yiwang field keys v2"
NONCE_BYTES = 12  # random per field: ~2^32 writes per key before a nonce may repeat; rotate long before


class FieldKeyError(InternalError):
    """A stored personal-data field that the configured keys cannot decrypt. Its message is
    for the operator (which key, what to configure) and never carries the data."""


def _derive(secret: str, purpose: str, key_id: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=SALT, info=f"yiwang/{purpose}/{VERSION}/{key_id}".encode()
    ).derive(secret.encode())


class _Key:
    def __init__(self, key_id: str, secret: str):
        self.id = key_id
        self.aead = AESGCM(_derive(secret, "field-encryption", key_id))
        self.aad = f"yiwang-field:{VERSION}:{key_id}".encode()
        self.blind = _derive(secret, "blind-index", key_id)
        # the layout before key ids
        self.legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))
        self.legacy_blind = hashlib.sha256(b"blind-index:" + secret.encode()).digest()


def _index(key: bytes, value: str) -> str:
    return hashlib.blake2b(value.encode(), key=key[:32], digest_size=16).hexdigest()


class FieldCipher:
    """Encrypts with the current key of a ring; decrypts with whichever key a field names."""

    def __init__(self, keys: str | Mapping[str, str], current: str = "k1"):
        ring = {current: keys} if isinstance(keys, str) else dict(keys)
        if current not in ring:
            raise ValueError(f"the current field key {current!r} is not among the configured keys")
        self._keys = {kid: _Key(kid, secret) for kid, secret in ring.items()}
        self._current = self._keys[current]
        self._legacy = MultiFernet([k.legacy for k in self._keys.values()])
        self.prefix = f"{VERSION}:{current}:"

    @classmethod
    def from_settings(cls, settings: Settings) -> FieldCipher:
        return cls(settings.field_keys, settings.field_key_id)

    @property
    def key_id(self) -> str:
        return self._current.id

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, value.encode(), self._current.aad)
        return self.prefix + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str | None) -> str | None:
        """The plain value; `FieldKeyError` when no configured key opens it (never None)."""
        if token is None:
            return None
        if not token.startswith(VERSION + ":"):
            try:
                return self._legacy.decrypt(token.encode()).decode()
            except InvalidToken:
                raise self._fail(
                    "a field of the layout before key ids opens with none of the configured "
                    f"keys ({', '.join(self.key_ids)})"
                ) from None
        _, kid, body = (token.split(":", 2) + ["", ""])[:3]
        key = self._keys.get(kid)
        if key is None:
            raise self._fail(
                f"a field was encrypted under key {kid!r}, which is not configured "
                f"(configured: {', '.join(self.key_ids)}); add it to YIWANG_OLD_FIELD_KEYS"
            )
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key.aad).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise self._fail(
                f"a field under key {kid!r} does not open with the configured key of that id "
                "(was the secret of that id changed?) or is damaged"
            ) from None

    def is_current(self, token: str) -> bool:
        return token.startswith(self.prefix)

    def blind_index(self, value: str) -> str:
        """A keyed hash for exact-match lookups on an encrypted field (the current key's)."""
        return _index(self._current.blind, value)

    def blind_indexes(self, value: str) -> list[str]:
        """The value's blind index under every configured key, the current one first: what
        an exact-match lookup must also try until `yiwang rekey` has rewritten older ones."""
        out = [self.blind_index(value)]
        for key in self._keys.values():
            for index in (_index(key.blind, value), _index(key.legacy_blind, value)):
                if index not in out:
                    out.append(index)
        return out

    @staticmethod
    def _fail(reason: str) -> FieldKeyError:
        log.error("cannot decrypt personal data: %s", reason)
        return FieldKeyError(f"cannot decrypt personal data: {reason}")


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


# notifications: a key of its own for each purpose, derived from the current field key
def purpose_key(settings: Settings, purpose: str) -> bytes:
    """32 bytes for `purpose` alone (HKDF of the current field key, as the field keys are)."""
    return _derive(settings.field_key, purpose, settings.field_key_id)
