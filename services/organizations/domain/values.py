"""Small value objects and checks shared by the organizations aggregates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared import domain as shared_domain
from shared.errors import BadInput
from shared.vocabulary.territory import Level

NAME_MAX, TEXT_MAX = 64, 5000
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def text(value: str | None, what: str, limit: int = NAME_MAX, required: bool = True) -> str:
    return shared_domain.text(value, what, limit, required)


def region_path(path: Iterable[str], what: str = "path") -> tuple[str, ...]:
    """A top-down list of distinct, non-empty region ids ending with the node itself."""
    p = tuple(path)
    if not p or not all(p) or len(set(p)) != len(p):
        raise BadInput(f"{what} must list distinct region ids top-down", {what: list(p)})
    return p


def mask_id_number(value: str | None) -> str | None:
    """`110101199001011234` -> `110***********1234`: keep the first 3 and last 4 characters;
    a value of 7 characters or fewer is masked entirely."""
    if value is None:
        return None
    v = value.strip()
    if len(v) <= 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


class Term(BaseModel):
    """任期: from `start` to `end` inclusive; an open term has no end."""

    model_config = ConfigDict(frozen=True)

    start: date
    end: date | None = None

    def model_post_init(self, _: object) -> None:
        if self.end is not None and self.end < self.start:
            raise BadInput("a term cannot end before it starts", {"start": str(self.start), "end": str(self.end)})

    def overlaps(self, other: Term) -> bool:
        return (self.end is None or other.start <= self.end) and (other.end is None or self.start <= other.end)

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class Contact(BaseModel):
    """A unit's contact person; the phone arrives encrypted (opaque here)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=NAME_MAX)
    title: str = ""
    phone_enc: str | None = None


class Quarter(BaseModel):
    """A calendar quarter, written `2026Q4`."""

    model_config = ConfigDict(frozen=True)

    year: int = Field(ge=1900, le=9999)
    q: int = Field(ge=1, le=4)

    @classmethod
    def of(cls, day: date | datetime) -> Quarter:
        return cls(year=day.year, q=(day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, value: str) -> Quarter:
        m = _QUARTER.match(value or "")
        if not m:
            raise BadInput(f"{value!r} is not a quarter like 2026Q4")
        return cls(year=int(m[1]), q=int(m[2]))

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"


class Node(BaseModel):
    """A territory node as the `grids` replica knows it: id, level and top-down path."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    level: Level
    path: tuple[str, ...]
    name: str = ""

    def model_post_init(self, _: object) -> None:
        region_path(self.path)
        if self.path[-1] != self.id:
            raise BadInput(f"the path of node {self.id} must end with it", {"id": self.id, "path": list(self.path)})

    def contains(self, path: Iterable[str]) -> bool:
        """The node with `path` lies in this node's subtree (or is this node)."""
        return self.id in tuple(path)
