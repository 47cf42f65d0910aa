"""Identifiers that are safe as NATS subject tokens: lowercase letters, digits, '-' and '_'."""

from __future__ import annotations

import hashlib
import os
import re
import time

from shared.errors import BadInput

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase
ALPHABET = _ALPHABET  # for ids made from something else than the time (households' import ids)
_SAFE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


def _b32(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        out.append(_ALPHABET[n & 31])
        n >>= 5
    return "".join(reversed(out))


def new_id(prefix: str = "") -> str:
    """A sortable id: 48-bit millisecond time then 60 random bits, e.g. `r01jd5k...`."""
    ms = int(time.time() * 1000)
    rnd = int.from_bytes(os.urandom(8), "big") >> 4
    return f"{prefix}{_b32(ms, 10)}{_b32(rnd, 12)}"


def keyed_id(prefix: str, key: str) -> str:
    """An id made from a client's key (an import's: the same key, the same id): `prefix` and 22
    base32 characters of the key's hash."""
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=14).digest(), "big")
    return f"{prefix}{_b32(digest, 22)}"


def check_subject_id(value: str) -> str:
    """A client-given id (a region's, an organisation's code): refused with the rule when it is
    not subject-safe."""
    if not is_subject_safe(value):
        raise BadInput("id must be 1-48 lowercase letters, digits, '-' or '_', starting with a letter or digit")
    return value


def is_subject_safe(value: str) -> bool:
    return bool(_SAFE.match(value))


def id_time_ms(value: str, prefix_len: int = 1) -> int:
    """The millisecond time a `new_id` begins with (after its prefix)."""
    n = 0
    for ch in value[prefix_len : prefix_len + 10]:
        n = n * 32 + _ALPHABET.index(ch)
    return n


def id_floor(prefix: str, ms: int) -> str:
    """The smallest id `new_id(prefix)` makes at `ms`: for ranges of ids by time."""
    return f"{prefix}{_b32(max(ms, 0), 10)}"
