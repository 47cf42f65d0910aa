"""Identifiers that are safe as NATS subject tokens: lowercase letters, digits, '-' and '_'."""
from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase
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


def is_subject_safe(value: str) -> bool:
    return bool(_SAFE.match(value))
