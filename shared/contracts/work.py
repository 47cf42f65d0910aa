"""`work.*`: each service's part of a principal's working day (myWork), one verb per service."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.common import Wire

WORK_FIRST_MAX = 100  # the most items one part of the day answers with


class WorkQuery(Wire):
    """What the caller's day holds in one service: at most `first` items, the most urgent
    first; records with a time look `horizonDays` ahead (activities, joint meetings)."""

    first: int = Field(default=50, ge=1, le=WORK_FIRST_MAX)
    horizonDays: int = Field(default=14, ge=1, le=60)


WORK_API = """
work.cases / work.volunteers / work.meetings (and grids' work.visits) — WorkQuery {first, horizonDays} →
  {items: [DTO of the service's record, as its get verb answers], truncated: bool}; items sorted by
  urgency (shared.work.urgency): overdue first, then the nearest dueAt, then those without one.
"""
