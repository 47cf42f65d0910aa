"""Grid workers (一张网三大员): their roles, and where they may be assigned. Pure."""

from __future__ import annotations

import re

from shared.errors import BadInput
from shared.vocabulary.territory import WORKER_ROLE_NAMES, WorkerRole  # noqa: F401 (the domain's names)

_PHONE = re.compile(r"^\+?[0-9-]{5,20}$")


def check_phone(phone: str | None) -> str | None:
    if phone is None or phone == "":
        return None
    if not _PHONE.match(phone):
        raise BadInput("phone must be 5-20 digits")
    return phone


def check_worker_grid(level: str, name: str) -> None:
    """Grid workers are assigned to a GRID, nothing else."""
    if level != "GRID":
        raise BadInput(f"grid workers are assigned to a GRID, and {name} is a {level}")


def check_reassignment(current_grid: str | None, new_grid: str | None) -> None:
    """An assignment moves the worker somewhere else (None: off every grid)."""
    if current_grid == new_grid:
        raise BadInput("the grid worker is already there")
