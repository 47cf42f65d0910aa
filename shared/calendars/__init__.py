"""The work calendars shipped with Yiwang: the State Council's holiday arrangements per year (`cn.json`)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from shared.workdays import YearArrangement, arrangements_from_json

SHIPPED = "cn.json"


@cache
def shipped() -> dict[int, YearArrangement]:
    """Every year of the shipped file, checked as an edit is (a bad file stops the process)."""
    text = resources.files(__package__).joinpath(SHIPPED).read_text(encoding="utf-8")
    return arrangements_from_json(json.loads(text))
