"""The demo history's follow-up steps: verification (核查, some failed once), return visits (回访) to
callers without an account, a few corrections (更正) and comments, planned like the rest of a
case's steps in seed.py against its mirror of the case."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.cases.domain import DEFAULT_RETURN_VISIT_S

VERIFIED_KINDS = ("DEPARTMENT", "VOLUNTEER")  # handled by these, a resolution waits for 核查
FAIL_ONCE = 0.12  # a verification that fails (重办), at most once a case
UNREACHED = 0.15  # a first return-visit call nobody answers
VISIT_ANSWERS = (("SATISFIED", 80), ("BASICALLY_SATISFIED", 14), ("DISSATISFIED", 6))
VERIFY_NOTES = ("现场核查已整改", "照片核实已处置到位", "复核通过")
FAIL_NOTES = ("现场核查未整改到位", "群众反映问题仍存在", "处置照片与现场不符")
VISIT_NOTES = ("电话回访", "回访确认已解决", "上门回访")
# A category corrected to a twin of the same level, SLA and department group (分类更正)
TWINS = {
    "DISPUTE_NEIGHBOR": "BUILDING_LEAK",  # building: both settled in the building (a leak is often a quarrel)
    "BUILDING_LEAK": "DISPUTE_NEIGHBOR",
    "ENV_NOISE": "ENV_SEWAGE",
    "ENV_SEWAGE": "ENV_NOISE",
    "LIVELIHOOD_ELDERLY": "LIVELIHOOD_EMPLOYMENT",
    "LIVELIHOOD_EMPLOYMENT": "LIVELIHOOD_ELDERLY",
    "PROPERTY_FACILITY": "ENV_GARBAGE",
    "ENV_GARBAGE": "PROPERTY_FACILITY",
}
CORRECTED = 0.02  # of accepted cases of a category with a twin
COMMENTED = 0.04  # of dispatched cases: an internal note by the dispatcher
ANSWER_NAMES, ANSWER_WEIGHTS = [a for a, _ in VISIT_ANSWERS], [w for _, w in VISIT_ANSWERS]
EXTRA_AFTER = timedelta(minutes=3)  # a correction or comment this long after the step it follows


def on_resolved(m: Any, current: dict | None, requires_verification: bool, t: datetime, has_account: bool) -> None:
    """The mirror after a resolution: waiting for 核查, or for the rating (and a 回访 task)."""
    m.verification_due = requires_verification or (current is not None and current["kind"] in VERIFIED_KINDS)
    m.rating_from = None if m.verification_due else t
    m.visit_due = None if (m.verification_due or has_account) else t + timedelta(seconds=DEFAULT_RETURN_VISIT_S)


def after_resolution(
    rnd: random.Random, m: Any, has_account: bool, staff: str
) -> tuple[dict[str, Any], timedelta] | None:
    """The next step of a RESOLVED case when it is the centre's: verify it (a few fail once), or
    call a caller without an account back (回访, reached or not). None: the usual rating/closing."""
    if m.verification_due:
        fail = not m.reworked and rnd.random() < FAIL_ONCE
        step = {"action": "verify", "actor": staff, "passed": not fail}
        step["note"] = rnd.choice(FAIL_NOTES) if fail else rnd.choice(VERIFY_NOTES)
        return step, timedelta(hours=rnd.uniform(1, 20))
    if not has_account:
        reached = m.unreached_calls > 0 or rnd.random() >= UNREACHED
        step = {"action": "return_visit", "actor": staff, "reached": reached, "note": rnd.choice(VISIT_NOTES)}
        if reached:
            answer = rnd.choices(ANSWER_NAMES, ANSWER_WEIGHTS)[0]
            step["satisfaction"] = "SATISFIED" if (m.reopened and answer == "DISSATISFIED") else answer
        return step, timedelta(hours=rnd.uniform(2, 24))
    return None


def follow(
    m: Any, step: dict, t: datetime, current: dict | None, has_account: bool, due: Callable[[datetime], datetime]
) -> bool:
    """The mirror after a step, as far as the follow-up goes (seed.py's `advance` did the rest);
    False for a step that changes nothing here. `due(t)`: the deadline of a clock started at `t`
    at the case's level."""
    a = step["action"]
    if a == "resolve":
        on_resolved(m, current, False, t, has_account)
        return True
    if a == "verify":
        m.verification_due = False
        if step["passed"]:
            m.rating_from = t
            m.visit_due = None if has_account else t + timedelta(seconds=DEFAULT_RETURN_VISIT_S)
        else:
            m.reworked = True
            m.status, m.due, m.rating_from = "IN_PROGRESS", due(t), None
        return True
    if a == "return_visit":
        if not step["reached"]:
            m.unreached_calls += 1
            return True
        m.visit_due = None
        if step.get("satisfaction") == "DISSATISFIED" and not m.reopened:
            m.status, m.reopened, m.due = "ACCEPTED", True, due(t)
        else:
            m.status = "CLOSED"
        return True
    return a in ("correct", "comment")


def extra_after(rnd: random.Random, step: dict, code: str, staff: str, t: datetime) -> dict[str, Any] | None:
    """Now and then, right after a step: a category corrected after acceptance, or a dispatcher's
    internal note on a dispatched case (to be put `at` a few minutes after `t`)."""
    if step["action"] == "accept" and code in TWINS and rnd.random() < CORRECTED:
        return {"action": "correct", "actor": staff, "categoryCode": TWINS[code], "reason": "受理时分类有误，更正"}
    if step["action"] == "assign" and rnd.random() < COMMENTED:
        text = rnd.choice(("请处置后上传现场照片", "此前已有同类诉求，注意一并处理", "注意与居民沟通方式"))
        return {"action": "comment", "actor": staff, "text": text, "visibility": "INTERNAL"}
    return None
