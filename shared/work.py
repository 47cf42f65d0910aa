"""The one order of a working day (myWork): overdue first, then the nearest deadline, then
what has none; every service's `work.*` verb and the gateway's merge sort by it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")
_LAST = datetime.max.replace(tzinfo=UTC)


def aware(at: datetime | None) -> datetime | None:
    """A stored time as an aware UTC time (the store hands back naive UTC datetimes)."""
    if at is None:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def urgency(due_at: datetime | None, overdue: bool) -> tuple[bool, datetime]:
    """The sort key: an overdue item before any other, then the earlier deadline."""
    return (not overdue, aware(due_at) or _LAST)


def most_urgent(items: Iterable[T], key: Callable[[T], tuple[datetime | None, bool]], first: int) -> list[T]:
    """The `first` most urgent of `items` (`key`: an item's deadline and whether it is overdue)."""
    return sorted(items, key=lambda i: urgency(*key(i)))[:first]


class WorkItemKind(StrEnum):
    """What an item of a working day is."""

    VISIT = "VISIT"  # a household visit due or overdue (grids)
    CASE = "CASE"  # a case to accept, assign or handle (cases)
    ORDER = "ORDER"  # a service order to review, take or serve (volunteers)
    ACTIVITY = "ACTIVITY"  # a volunteer activity coming up (volunteers)
    MEETING = "MEETING"  # a joint meeting of the community coming up (organizations)
