"""Residents' points (积分制, seed 004): residents earn points for taking part in the community's
life by a rule table (参与议事, 参加活动, 垃圾分类, 志愿服务 …), and spend them on the same reward
catalogue, under the same ledger rules as volunteers (domain/points.py: credit lots with an
expiry, FIFO redemption, write-off of expired lots).

A resident has no volunteer record and no region. Their ledger is keyed by a ledger account
(`ResidentAccount`, made on their first award, holding their `sub` so that only the service
and the resident themself connect the two); each entry records where its points were earned
(the community, and the grid or building when the award names one), which is what staff's
scope and the region figures read. A rule awards once per occasion (a meeting, an activity, a
day's sorting check) and at most `cap` times per calendar period of the city's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import BadInput, Conflict
from shared.vocabulary.volunteers import PointsPeriod

from .enums import SourceKind
from .points import LedgerEntry, credit

RULE_CODE = r"^[A-Z][A-Z0-9_]{1,31}$"
MAX_RULES = 50
MAX_POINTS = 1000


Period = PointsPeriod


def period_start(period: Period, at: datetime, tz: ZoneInfo) -> datetime:
    """The start of the calendar period `at` lies in, in the city's time zone."""
    local = at.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.WEEK:
        local -= timedelta(days=local.weekday())
    elif period is Period.MONTH:
        local = local.replace(day=1)
    elif period is Period.YEAR:
        local = local.replace(month=1, day=1)
    return local


class ResidentPointsRule(BaseModel):
    """One line of the rule table: what a resident did, the points it earns, and how often it may
    earn them (`cap` awards per `period`; no cap when None)."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=RULE_CODE)
    description: str = Field(min_length=1, max_length=64)
    points: int = Field(ge=1, le=MAX_POINTS)
    cap: int | None = Field(default=None, ge=1, le=1000)
    period: Period = Period.MONTH


DEFAULT_RESIDENT_RULES: tuple[ResidentPointsRule, ...] = (
    ResidentPointsRule(code="DELIBERATION", description="参与议事", points=5, cap=4, period=Period.MONTH),
    ResidentPointsRule(code="ACTIVITY", description="参加活动", points=3, cap=4, period=Period.WEEK),
    ResidentPointsRule(code="RUBBISH_SORTING", description="垃圾分类", points=1, cap=1, period=Period.DAY),
    ResidentPointsRule(code="VOLUNTEER_SERVICE", description="志愿服务", points=2, cap=10, period=Period.MONTH),
    ResidentPointsRule(code="CIVILITY", description="文明劝导", points=2, cap=4, period=Period.MONTH),
    ResidentPointsRule(code="REPORT_ISSUE", description="随手拍上报", points=1, cap=5, period=Period.MONTH),
)
"""The table a deployment starts with, until an administrator sets its own."""


def check_rules(rules: Sequence[ResidentPointsRule]) -> tuple[ResidentPointsRule, ...]:
    """A table to store: at least one rule, at most MAX_RULES, each code once."""
    if not rules:
        raise BadInput("the rule table needs at least one rule")
    if len(rules) > MAX_RULES:
        raise BadInput(f"at most {MAX_RULES} rules", {"count": len(rules)})
    codes = [r.code for r in rules]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise BadInput(f"each rule code once: {', '.join(twice)} appear twice", {"codes": twice})
    return tuple(rules)


def rule_of(rules: Iterable[ResidentPointsRule], code: str) -> ResidentPointsRule:
    for r in rules:
        if r.code == code:
            return r
    raise BadInput(f"no points rule {code}; the rule table names the codes", {"ruleCode": code})


class ResidentAccount(BaseModel):
    """The owner of a resident's ledger: its id keys the entries; `sub` never leaves the service."""

    model_config = ConfigDict(frozen=True)

    id: str
    sub: str
    created_at: datetime


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def occasion_key(rule_code: str, occasion: str) -> str:
    """The source of a rule's award: once per (rule, occasion) for a resident."""
    return f"{rule_code}:{occasion}"


def awards_in_period(entries: Iterable[LedgerEntry], rule: ResidentPointsRule, now: datetime, tz: ZoneInfo) -> int:
    start = period_start(rule.period, now, tz)
    return sum(1 for e in entries if e.source_kind is SourceKind.RULE and e.rule_code == rule.code and e.at >= start)


def award_resident(
    entries: Sequence[LedgerEntry],
    *,
    rule: ResidentPointsRule,
    occasion: str,
    entry_id: str,
    account_id: str,
    community_id: str,
    region_path: Iterable[str],
    now: datetime,
    expiry_days: int,
    tz: ZoneInfo,
) -> LedgerEntry | None:
    """The credit for `rule` on `occasion`, or None when this occasion already earned it (a
    retry, or a second recorder of the same thing). Over the rule's cap for the period: CONFLICT."""
    occasion = occasion.strip()
    if not occasion:
        raise BadInput("name the occasion (the meeting, activity or day) the points are for", {"field": "occasion"})
    path = tuple(region_path)
    if community_id not in path:
        raise BadInput(f"{path[-1] if path else '?'} is not in community {community_id}")
    source = occasion_key(rule.code, occasion)
    if any(e.key == (SourceKind.RULE, source) for e in entries):
        return None
    if rule.cap is not None and awards_in_period(entries, rule, now, tz) >= rule.cap:
        raise Conflict(
            f"{rule.description} ({rule.code}) earns points at most {times(rule.cap)} per {rule.period.lower()}",
            {"ruleCode": rule.code, "cap": rule.cap, "period": str(rule.period)},
        )
    first_here = not any(e.source_kind.is_credit and community_id in e.region_path for e in entries)
    return credit(
        entry_id=entry_id,
        volunteer_id=account_id,
        points=rule.points,
        source_kind=SourceKind.RULE,
        source_id=source,
        now=now,
        expiry_days=expiry_days,
        region_path=path,
        resident=True,
        rule_code=rule.code,
        first_here=first_here,
    )


def redemption_place(entries: Sequence[LedgerEntry]) -> tuple[str, ...]:
    """Where a resident's redemption is counted when they name no place: the community of their
    latest credit (a redemption needs points, so there is one)."""
    credits = [e for e in entries if e.source_kind.is_credit]
    if not credits:
        raise Conflict("no points to redeem yet", {"balance": 0})
    return max(credits, key=lambda e: e.at).region_path
