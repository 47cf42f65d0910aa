"""JSON encoding used on the wire (datetimes as ISO 8601, pydantic models by value)."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_json


def dumps(value: Any) -> bytes:
    return to_json(value, by_alias=True)


def loads(data: bytes | str) -> Any:
    return json.loads(data)
