"""The terms of the weak-organisation score (软弱涣散) and rectification (整顿): one definition for
the domain, the wire contracts and the GraphQL enums."""

from __future__ import annotations

from enum import StrEnum


class WeakSignal(StrEnum):
    LIFE_RECENCY = "LIFE_RECENCY"  # days since the last organisational life (or since set up)
    LIFE_FREQUENCY = "LIFE_FREQUENCY"  # organisational life held in the window
    DUAL_SHARE = "DUAL_SHARE"  # share of in-service members with an active 双报到
    FENGQIAO_SHARE = "FENGQIAO_SHARE"  # share of its region's resolved cases settled at grid level or below
    OVERDUE_CASES = "OVERDUE_CASES"  # overdue cases in its region
    MEMBER_VISITS = "MEMBER_VISITS"  # household visits per member (grids' 党员联户 counts)


class PlanStatus(StrEnum):
    OPEN = "OPEN"
    PASSED = "PASSED"
