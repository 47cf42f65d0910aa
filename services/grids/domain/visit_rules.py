"""The visiting rules (三必到五必访): must-visit groups by household tag with an interval, must-attend
occasions with a time limit; the default set, validation, and a household's schedule. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.errors import BadInput

ROUTINE = "ROUTINE"  # a visit under no rule (a walk of the grid, a call at a door)
MAX_RULES = 40
MAX_INTERVAL_DAYS = 366
CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,31}$")


class RuleKind(StrEnum):
    MUST_VISIT = "MUST_VISIT"  # 必访: households holding a tag, every `intervalDays`
    MUST_ATTEND = "MUST_ATTEND"  # 必到: an occasion (illness, bereavement …), within `withinDays` of hearing of it


@dataclass(frozen=True)
class VisitRule:
    code: str
    name: str
    kind: RuleKind
    tag: str | None = None  # MUST_VISIT: the household tag it applies to
    interval_days: int | None = None  # MUST_VISIT
    within_days: int | None = None  # MUST_ATTEND
    active: bool = True

    def doc(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "kind": str(self.kind),
            "tag": self.tag,
            "intervalDays": self.interval_days,
            "withinDays": self.within_days,
            "active": self.active,
        }


def rule_of(d: dict) -> VisitRule:
    return VisitRule(
        code=d["code"],
        name=d["name"],
        kind=RuleKind(d["kind"]),
        tag=d.get("tag"),
        interval_days=d.get("intervalDays"),
        within_days=d.get("withinDays"),
        active=d.get("active", True),
    )


# 五必访: the groups a grid worker calls on at a set rhythm; 三必到(+): the occasions they attend.
DEFAULT_RULES: tuple[VisitRule, ...] = (
    VisitRule("ELDERLY_ALONE", "独居老人 每周必访", RuleKind.MUST_VISIT, tag="ELDERLY_ALONE", interval_days=7),
    VisitRule("KEY_CONCERN", "重点关注 两周必访", RuleKind.MUST_VISIT, tag="KEY_CONCERN", interval_days=14),
    VisitRule("LOW_INCOME", "低保家庭 每月必访", RuleKind.MUST_VISIT, tag="LOW_INCOME", interval_days=30),
    VisitRule("DISABLED", "残疾人 每月必访", RuleKind.MUST_VISIT, tag="DISABLED", interval_days=30),
    VisitRule("LEFT_BEHIND_CHILD", "留守儿童 每月必访", RuleKind.MUST_VISIT, tag="LEFT_BEHIND_CHILD", interval_days=30),
    VisitRule("VETERAN", "退役军人 每季必访", RuleKind.MUST_VISIT, tag="VETERAN", interval_days=90),
    VisitRule("ILLNESS", "住院重病 必到", RuleKind.MUST_ATTEND, within_days=3),
    VisitRule("BEREAVEMENT", "丧事 必到", RuleKind.MUST_ATTEND, within_days=1),
    VisitRule("DISPUTE", "矛盾纠纷 必到", RuleKind.MUST_ATTEND, within_days=1),
    VisitRule("HARDSHIP", "突发困难 必到", RuleKind.MUST_ATTEND, within_days=2),
)


def check_rules(rules: Sequence[VisitRule], known_tags: Iterable[str]) -> list[VisitRule]:
    """A rule set as `setVisitRules` may store it; BAD_USER_INPUT naming the first fault."""
    tags = set(known_tags)
    if not rules:
        raise BadInput("give at least one visiting rule")
    if len(rules) > MAX_RULES:
        raise BadInput(f"at most {MAX_RULES} visiting rules")
    seen: set[str] = set()
    tagged: set[str] = set()
    for r in rules:
        if not CODE.match(r.code) or r.code == ROUTINE:
            raise BadInput(f"rule code {r.code!r}: 2-32 of A-Z, 0-9, _ starting with a letter, not {ROUTINE}")
        if r.code in seen:
            raise BadInput(f"rule code {r.code} is given twice")
        seen.add(r.code)
        if not r.name.strip() or len(r.name) > 64:
            raise BadInput(f"rule {r.code}: a name of 1-64 characters")
        if r.kind is RuleKind.MUST_VISIT:
            if r.tag not in tags:
                raise BadInput(f"rule {r.code}: tag {r.tag!r} is not a household tag", {"known": sorted(tags)})
            if r.interval_days is None or not 1 <= r.interval_days <= MAX_INTERVAL_DAYS:
                raise BadInput(f"rule {r.code}: intervalDays 1-{MAX_INTERVAL_DAYS}")
            if r.within_days is not None:
                raise BadInput(f"rule {r.code}: a must-visit rule has intervalDays, not withinDays")
            if r.active and r.tag in tagged:
                raise BadInput(f"rule {r.code}: tag {r.tag} already has an active rule")
            if r.active:
                tagged.add(r.tag)
        else:
            if r.tag is not None or r.interval_days is not None:
                raise BadInput(f"rule {r.code}: a must-attend rule has withinDays only")
            if r.within_days is None or not 0 <= r.within_days <= 30:
                raise BadInput(f"rule {r.code}: withinDays 0-30")
    return list(rules)


def kind_names(rules: Sequence[VisitRule]) -> set[str]:
    """What a visit's `kind` may be: a rule's code (active or not: old visits keep theirs) or ROUTINE."""
    return {r.code for r in rules} | {ROUTINE}


def check_kind(kind: str, rules: Sequence[VisitRule]) -> str:
    active = {r.code for r in rules if r.active} | {ROUTINE}
    if kind not in active:
        raise BadInput(f"kind {kind!r} is not an active visiting rule or {ROUTINE}", {"known": sorted(active)})
    return kind


@dataclass(frozen=True)
class Schedule:
    rule: str  # the code of the rule with the shortest interval among the household's tags
    interval_days: int


def schedule_of(tags: Iterable[str], rules: Sequence[VisitRule]) -> Schedule | None:
    """A household's rhythm: the shortest interval among the active must-visit rules of its tags
    (ties: the first rule of the set); None when no rule applies."""
    held = set(tags)
    best: Schedule | None = None
    for r in rules:
        if r.active and r.kind is RuleKind.MUST_VISIT and r.tag in held and r.interval_days:
            if best is None or r.interval_days < best.interval_days:
                best = Schedule(r.code, r.interval_days)
    return best


def next_due(schedule: Schedule | None, last_visit_at: datetime | None, registered_at: datetime) -> datetime | None:
    """When the next visit is due: (last visit, or registration when none) + the interval."""
    if schedule is None:
        return None
    return (last_visit_at or registered_at) + timedelta(days=schedule.interval_days)


def rule_name(code: str, rules: Sequence[VisitRule]) -> str:
    return next((r.name for r in rules if r.code == code), "日常走访" if code == ROUTINE else code)
