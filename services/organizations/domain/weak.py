"""软弱涣散: a weak-organisation score per party organisation from several signals, each
explained (its value, the threshold, the points it adds and why), and the standing the sweeper
keeps per organisation: flagged once the score reaches the threshold, cleared when it falls
below it again (or, under rectification, by a passed review: domain/rectification.py).

`score(inputs, settings)` is pure. The settings (weights and thresholds) are one document per
deployment with the defaults below; `DEFAULT_WEAK_DAYS` (organisation.py's 90 days) is the
default of the organisational-life signal, whose points alone reach the default threshold, so
an organisation `is_weak` by the old rule is flagged by the score too.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal
from shared.errors import BadInput
from shared.vocabulary.weak import WeakSignal

from .events import Aggregate
from .organization import DEFAULT_WEAK_DAYS, Organization
from .policy import SYSTEM

SETTINGS_ID = "weak-score"


# Which side of the threshold is bad: True when a value at or above it adds the points.
HIGH_IS_BAD = {
    WeakSignal.LIFE_RECENCY: True,
    WeakSignal.LIFE_FREQUENCY: False,
    WeakSignal.DUAL_SHARE: False,
    WeakSignal.FENGQIAO_SHARE: False,
    WeakSignal.OVERDUE_CASES: True,
    WeakSignal.MEMBER_VISITS: False,
}
SHARES = frozenset({WeakSignal.DUAL_SHARE, WeakSignal.FENGQIAO_SHARE})


class SignalRule(BaseModel):
    model_config = ConfigDict(frozen=True)

    signal: WeakSignal
    threshold: float
    points: int


DEFAULT_RULES: tuple[SignalRule, ...] = (
    SignalRule(signal=WeakSignal.LIFE_RECENCY, threshold=DEFAULT_WEAK_DAYS, points=50),
    SignalRule(signal=WeakSignal.LIFE_FREQUENCY, threshold=3, points=20),
    SignalRule(signal=WeakSignal.DUAL_SHARE, threshold=0.5, points=10),
    SignalRule(signal=WeakSignal.FENGQIAO_SHARE, threshold=0.6, points=10),
    SignalRule(signal=WeakSignal.OVERDUE_CASES, threshold=3, points=10),
    SignalRule(signal=WeakSignal.MEMBER_VISITS, threshold=1, points=10),
)


class WeakSettings(BaseModel):
    """Weights and thresholds of the score. `threshold`: the score that flags; `window_days`: the
    window LIFE_FREQUENCY counts in; `min_cases`: FENGQIAO_SHARE applies from this many cases."""

    model_config = ConfigDict(frozen=True)

    threshold: int = 50
    window_days: int = 90
    min_cases: int = 5
    rules: tuple[SignalRule, ...] = DEFAULT_RULES
    version: int = 0
    updated_at: datetime | None = None

    def rule(self, signal: WeakSignal) -> SignalRule:
        return next(r for r in self.rules if r.signal is signal)

    def changed(
        self, *, threshold: int, window_days: int, min_cases: int, rules: list[SignalRule], now: datetime
    ) -> WeakSettings:
        """These settings with the given values (rules not named keep theirs), checked."""
        if not 1 <= threshold <= 1000:
            raise BadInput("the threshold is a score from 1 to 1000", {"threshold": threshold})
        if not 1 <= window_days <= 366:
            raise BadInput("the window is 1 to 366 days", {"windowDays": window_days})
        if not 0 <= min_cases <= 10_000:
            raise BadInput("minCases is 0 to 10000", {"minCases": min_cases})
        named = {r.signal: r for r in rules}
        if len(named) != len(rules):
            raise BadInput("each signal is set at most once")
        for r in rules:
            if not 0 <= r.points <= 1000:
                raise BadInput(f"the points of {r.signal} are 0 to 1000", {"signal": str(r.signal)})
            top = 1 if r.signal in SHARES else 100_000
            if not 0 <= r.threshold <= top:
                raise BadInput(f"the threshold of {r.signal} is 0 to {top}", {"signal": str(r.signal)})
        merged = tuple(named.get(r.signal, r) for r in self.rules)
        return WeakSettings(
            threshold=threshold,
            window_days=window_days,
            min_cases=min_cases,
            rules=merged,
            version=self.version + 1,
            updated_at=now,
        )


class WeakInputs(BaseModel):
    """What the sweeper gathered about one organisation; None: not known (that service did not
    answer, or the organisation has nothing to count), and the signal adds no points."""

    days_since_life: int
    life_in_window: int
    in_service_members: int = 0
    dual_active: int = 0
    cases: int | None = None
    fengqiao_share: float | None = None
    overdue_cases: int | None = None
    members: int = 0
    member_visits: int | None = None


class SignalScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    signal: WeakSignal
    value: float | None
    threshold: float
    points: int  # what it added: 0 or the rule's points
    max_points: int
    reason: str


class WeakScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    score: int
    threshold: int
    signals: tuple[SignalScore, ...]

    @property
    def over(self) -> bool:
        return self.score >= self.threshold


def _fmt(signal: WeakSignal, v: float) -> str:
    return f"{v:.0%}" if signal in SHARES else (f"{v:g}")


def _value(i: WeakInputs, s: WeakSettings, signal: WeakSignal) -> tuple[float | None, str | None]:
    """The signal's value, or None with the sentence saying why it does not apply."""
    if signal is WeakSignal.LIFE_RECENCY:
        return i.days_since_life, None
    if signal is WeakSignal.LIFE_FREQUENCY:
        return i.life_in_window, None
    if signal is WeakSignal.DUAL_SHARE:
        if i.in_service_members == 0:
            return None, "no in-service members, so no 双报到 is expected"
        return round(i.dual_active / i.in_service_members, 4), None
    if signal is WeakSignal.FENGQIAO_SHARE:
        if i.cases is None or i.fengqiao_share is None:
            return None, "no case figures for its region (none resolved yet, or cases did not answer)"
        if i.cases < s.min_cases:
            return None, f"{i.cases} cases in its region, fewer than the {s.min_cases} the share needs"
        return round(i.fengqiao_share, 4), None
    if signal is WeakSignal.OVERDUE_CASES:
        if i.overdue_cases is None:
            return None, "no case figures for its region (cases did not answer)"
        return i.overdue_cases, None
    if i.members == 0:
        return None, "no members, so no visits are expected"
    if i.member_visits is None:
        return None, "no visit figures (grids did not answer)"
    return round(i.member_visits / i.members, 4), None


_WHY = {
    WeakSignal.LIFE_RECENCY: ("{v} days since its last organisational life", "(at {t} or more adds points)"),
    WeakSignal.LIFE_FREQUENCY: (
        "{v} organisational-life records in the last {w} days",
        "(fewer than {t} adds points)",
    ),
    WeakSignal.DUAL_SHARE: ("{v} of its in-service members are 双报到 registered", "(below {t} adds points)"),
    WeakSignal.FENGQIAO_SHARE: (
        "{v} of its region's resolved cases were settled at grid level or below (小事不出网格)",
        "(below {t} adds points)",
    ),
    WeakSignal.OVERDUE_CASES: ("{v} overdue cases in its region", "(at {t} or more adds points)"),
    WeakSignal.MEMBER_VISITS: ("{v} household visits per member", "(below {t} adds points)"),
}


def score(inputs: WeakInputs, settings: WeakSettings) -> WeakScore:
    """The score and, per signal, its value, threshold, points and a sentence why."""
    out: list[SignalScore] = []
    for rule in settings.rules:
        value, why_not = _value(inputs, settings, rule.signal)
        if value is None:
            out.append(
                SignalScore(
                    signal=rule.signal,
                    value=None,
                    threshold=rule.threshold,
                    points=0,
                    max_points=rule.points,
                    reason=f"Not counted: {why_not}.",
                )
            )
            continue
        bad = value >= rule.threshold if HIGH_IS_BAD[rule.signal] else value < rule.threshold
        said, limit = _WHY[rule.signal]
        sentence = said.format(v=_fmt(rule.signal, value), w=settings.window_days)
        sentence += " " + limit.format(t=_fmt(rule.signal, rule.threshold))
        sentence = sentence[:1].upper() + sentence[1:]
        verdict = f": +{rule.points}." if bad else ": fine."
        out.append(
            SignalScore(
                signal=rule.signal,
                value=value,
                threshold=rule.threshold,
                points=rule.points if bad else 0,
                max_points=rule.points,
                reason=sentence + verdict,
            )
        )
    return WeakScore(score=sum(s.points for s in out), threshold=settings.threshold, signals=tuple(out))


class WeakStanding(Aggregate):
    """One organisation's last score and whether it is flagged 软弱涣散; `plan_id` while a
    rectification plan is open (then only a passed review clears the flag)."""

    aggregate_name: ClassVar[str] = "weak_standing"

    org_id: str
    org_type: str
    anchor_id: str
    anchor_path: tuple[str, ...]
    score: int = 0
    threshold: int = 0
    signals: tuple[SignalScore, ...] = ()
    flagged: bool = False
    flagged_at: datetime | None = None
    rated_at: datetime | None = None
    plan_id: str | None = None
    rectified_count: int = 0
    settings_version: int = 0

    @property
    def scope_path(self) -> tuple[str, ...]:
        return self.anchor_path

    @classmethod
    def of(cls, org: Organization, now: datetime) -> WeakStanding:
        return cls(
            id=org.id,
            org_id=org.id,
            org_type=str(org.type),
            anchor_id=org.anchor_id,
            anchor_path=org.anchor_path,
            updated_at=now,
        )

    def same_rating(self, result: WeakScore, settings_version: int) -> bool:
        return (
            self.score == result.score
            and self.threshold == result.threshold
            and self.signals == result.signals
            and self.settings_version == settings_version
        )

    def rate(self, org: Organization, result: WeakScore, settings_version: int, now: datetime) -> bool:
        """Store a fresh score; flag at the threshold, clear below it unless a plan is open.
        Returns whether anything changed (the same score again changes nothing: idempotent)."""
        moved = org.anchor_path != self.anchor_path
        flag = result.over and not self.flagged
        clear = not result.over and self.flagged and self.plan_id is None
        if self.same_rating(result, settings_version) and not (moved or flag or clear):
            return False
        self._change(now)
        self.anchor_id, self.anchor_path = org.anchor_id, org.anchor_path
        self.score, self.threshold, self.signals = result.score, result.threshold, result.signals
        self.rated_at, self.settings_version = now, settings_version
        if flag:
            self.flagged, self.flagged_at = True, now
            self._emit(
                "WEAK_ORGANIZATION_FLAGGED",
                SYSTEM,
                now,
                organizationId=self.org_id,
                score=result.score,
                threshold=result.threshold,
                signals=[str(s.signal) for s in result.signals if s.points],
            )
        elif clear:
            self.flagged = False
            self._emit(
                "WEAK_ORGANIZATION_CLEARED",
                SYSTEM,
                now,
                organizationId=self.org_id,
                score=result.score,
                threshold=result.threshold,
                clearedBy="SCORE",
            )
        return True

    def clear_by_review(self, by: Principal, now: datetime) -> None:
        """A passed review (rectification.py checked the score is below the threshold)."""
        self._change(now)
        self.flagged, self.plan_id = False, None
        self.rectified_count += 1
        self._emit(
            "WEAK_ORGANIZATION_CLEARED",
            by,
            now,
            organizationId=self.org_id,
            score=self.score,
            threshold=self.threshold,
            clearedBy="REVIEW",
        )


class WeakSettingsRecord(Aggregate):
    """The deployment's settings as a record, so that a change is versioned and audited by its
    event (deployment-wide: no region path)."""

    aggregate_name: ClassVar[str] = "weak_settings"

    settings: WeakSettings = Field(default_factory=WeakSettings)

    @property
    def scope_path(self) -> tuple[str, ...]:
        return ()

    def change(
        self,
        *,
        threshold: int,
        window_days: int,
        min_cases: int,
        rules: list[SignalRule],
        by: Principal,
        now: datetime,
    ) -> None:
        """Callers are a superadmin or a city's administrator (the handler checks)."""
        self.settings = self.settings.changed(
            threshold=threshold, window_days=window_days, min_cases=min_cases, rules=rules, now=now
        )
        self._change(now)
        self._emit(
            "WEAK_SETTINGS_CHANGED",
            by,
            now,
            threshold=threshold,
            windowDays=window_days,
            minCases=min_cases,
            rules=[r.model_dump(mode="json") for r in self.settings.rules],
            settingsVersion=self.settings.version,
        )
