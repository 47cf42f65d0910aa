"""The rule table: which event tells whom what. Pure: an event type and the facts the owning
service gives about its record (`Facts`) decide the recipients and the Chinese text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from services.notifications.domain.recipients import dept_key, grid_key, sub_key
from shared.ids import id_floor

MAX_RECIPIENTS = 500  # rows one rule writes for one event (matching volunteers of a big community)
TITLE_MAX = 40  # characters of a case title quoted in a notification


class LinkKind(StrEnum):
    CASE = "CASE"
    ORDER = "ORDER"
    VISIT = "VISIT"
    MEETING = "MEETING"
    ACTIVITY = "ACTIVITY"


class Audience(StrEnum):
    REPORTERS = "REPORTERS"  # the case's reporters who have an account
    ASSIGNEE = "ASSIGNEE"  # who handles the case now: a person, a department, a building leader
    DEPARTMENTS = "DEPARTMENTS"  # the departments on the case (主办 and 协办)
    DISPATCHER = "DISPATCHER"  # who dispatched the case; the case's grid if unknown
    RESIDENT = "RESIDENT"  # the resident who ordered a service
    MATCHING_VOLUNTEERS = "MATCHING_VOLUNTEERS"  # volunteers on a post of the order's community
    GRID = "GRID"  # the grid workers of a grid


@dataclass(frozen=True)
class Rule:
    code: str  # part of the row id: one row per event, rule and recipient
    type: str  # the notification type (the event type, CASE_ prefixed for cases)
    audience: Audience
    title: str  # templates: {title} {category} {deadline}
    body: str
    sms: str | None = None  # the SMS/WeChat template code; None: inbox only


RULES: dict[str, tuple[Rule, ...]] = {
    r.type: (r,)
    for r in (
        Rule(
            "reporter",
            "CASE_ACCEPTED",
            Audience.REPORTERS,
            "您反映的问题已受理",
            "您反映的“{title}”已受理，将于{deadline}前办理完毕。",
            "YW_CASE_ACCEPTED",
        ),
        Rule(
            "reporter",
            "CASE_RESOLVED",
            Audience.REPORTERS,
            "您反映的问题已办结，请评价",
            "您反映的“{title}”已办结，请对办理结果进行评价。",
            "YW_CASE_RESOLVED",
        ),
        Rule(
            "reporter",
            "CASE_REJECTED",
            Audience.REPORTERS,
            "您反映的问题未予受理",
            "您反映的“{title}”未予受理，原因请在案件详情中查看。",
            "YW_CASE_REJECTED",
        ),
        Rule(
            "reporter",
            "CASE_CLOSED",
            Audience.REPORTERS,
            "您反映的问题已结案",
            "您反映的“{title}”已结案，感谢参与。",
        ),
        Rule(
            "assignee",
            "CASE_ASSIGNED",
            Audience.ASSIGNEE,
            "新案件待处理",
            "案件“{title}”（{category}）已交由您处理，请于{deadline}前办理完毕。",
            "YW_CASE_ASSIGNED",
        ),
        Rule(
            "dept",
            "CASE_DISPATCHED",
            Audience.DEPARTMENTS,
            "新派单待办理",
            "案件“{title}”（{category}）已派至本部门，请于{deadline}前办理完毕。",
        ),
        Rule(
            "assignee",
            "CASE_URGED",
            Audience.ASSIGNEE,
            "督办提醒",
            "案件“{title}”已被督办，请尽快办理并反馈。",
            "YW_CASE_URGED",
        ),
        Rule(
            "assignee",
            "CASE_DUE_SOON",
            Audience.ASSIGNEE,
            "案件即将到期",
            "案件“{title}”将于{deadline}到期，请及时办理。",
            "YW_CASE_DUE_SOON",
        ),
        Rule("assignee", "CASE_ESCALATED", Audience.ASSIGNEE, "案件已上报", "案件“{title}”已上报至您，请接办。"),
        Rule(
            "dispatcher",
            "CASE_RETURNED",
            Audience.DISPATCHER,
            "案件被退回",
            "案件“{title}”已被退回，请重新研判派单。",
        ),
        Rule(
            "volunteer",
            "ORDER_APPROVED",
            Audience.MATCHING_VOLUNTEERS,
            "新的志愿服务需求",
            "社区发布了“{category}”服务需求，欢迎接单。",
        ),
        Rule(
            "resident",
            "ORDER_TAKEN",
            Audience.RESIDENT,
            "您的服务需求已有人接单",
            "您预约的“{category}”服务已有志愿者接单。",
            "YW_ORDER_TAKEN",
        ),
        Rule(
            "resident",
            "ORDER_COMPLETED",
            Audience.RESIDENT,
            "服务已完成，请评价",
            "您预约的“{category}”服务已完成，请对服务进行评价。",
            "YW_ORDER_COMPLETED",
        ),
        Rule("grid", "VISIT_OVERDUE", Audience.GRID, "走访逾期提醒", "网格内有住户已超过走访期限，请尽快入户走访。"),
    )
}
TYPES = tuple(RULES)
# Who to ask about the record of each type: cases (`case.audience`), volunteers (`order.audience`),
# or nobody (the event itself says enough).
SOURCE_OF = {t: ("cases" if t.startswith("CASE_") else "volunteers" if t.startswith("ORDER_") else "") for t in TYPES}


def notification_type(service: str, event: str) -> str:
    """The type a notification names: the event's type, cases' older ones with their CASE_
    prefix (ACCEPTED on the bus is CASE_ACCEPTED here)."""
    if service == "cases" and not event.startswith("CASE_"):
        return f"CASE_{event}"
    return event


def rules_for(service: str, event: str) -> tuple[Rule, ...]:
    return RULES.get(notification_type(service, event), ())


class Facts(BaseModel):
    """What a notification needs to know about its record, from the service that owns it."""

    model_config = ConfigDict(frozen=True)

    link: LinkKind
    id: str
    title: str = ""
    category: str = ""
    due_at: datetime | None = None
    reporter_subs: tuple[str, ...] = ()
    assignee_keys: tuple[str, ...] = ()
    department_keys: tuple[str, ...] = ()
    dispatcher_keys: tuple[str, ...] = ()
    resident_sub: str | None = None
    matching_subs: tuple[str, ...] = ()
    grid_id: str | None = None


def _subs(values: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (values or []) if v)


def assignee_keys(assignee: dict | None, handler_keys: list[str], dept_keys: list[str]) -> tuple[str, ...]:
    """A case's assignee as recipient keys: a person by sub; a department by its handler
    entries (the departments on the case), else every directory that may hold its code; a
    community has no inbox of its own."""
    if not assignee:
        return ()
    kind = assignee.get("kind")
    if kind == "DEPARTMENT":
        keys = [k for k in handler_keys if k.endswith(f":{assignee.get('id')}")] or handler_keys or dept_keys
        return tuple(dict.fromkeys(dept_key(*k.split(":", 1)) for k in keys if ":" in k))
    if kind in ("GRID_WORKER", "BUILDING_LEADER", "VOLUNTEER"):
        sub = assignee.get("sub") or assignee.get("id")
        return (sub_key(str(sub)),) if sub else ()
    return ()


def case_facts(reply: dict[str, Any]) -> Facts:
    """Facts from the cases service's `case.audience` reply."""
    handler_keys = [str(k) for k in reply.get("handlerKeys") or []]
    dept_keys = [str(k) for k in reply.get("deptKeys") or []]
    dispatcher = reply.get("dispatcherSub")
    grid = reply.get("gridId")
    return Facts(
        link=LinkKind.CASE,
        id=str(reply["id"]),
        title=str(reply.get("title") or ""),
        category=str(reply.get("categoryName") or reply.get("categoryCode") or ""),
        due_at=reply.get("dueAt"),
        reporter_subs=_subs(reply.get("reporterSubs")),
        assignee_keys=assignee_keys(reply.get("assignee"), handler_keys, dept_keys),
        department_keys=tuple(dict.fromkeys(dept_key(*k.split(":", 1)) for k in handler_keys if ":" in k)),
        dispatcher_keys=(sub_key(str(dispatcher)),) if dispatcher else ((grid_key(str(grid)),) if grid else ()),
        grid_id=str(grid) if grid else None,
    )


def order_facts(reply: dict[str, Any]) -> Facts:
    """Facts from the volunteers service's `order.audience` reply."""
    return Facts(
        link=LinkKind.ORDER,
        id=str(reply["id"]),
        category=str(reply.get("category") or ""),
        resident_sub=reply.get("residentSub") or None,
        matching_subs=_subs(reply.get("matchingSubs")),
    )


def visit_facts(subject: str, data: dict[str, Any]) -> Facts | None:
    """VISIT_OVERDUE names its grid: no one needs to be asked."""
    grid = data.get("gridId")
    return Facts(link=LinkKind.VISIT, id=subject, grid_id=str(grid)) if grid else None


def recipients(rule: Rule, facts: Facts) -> list[str]:
    """The rule's recipient keys for this record, each once, at most MAX_RECIPIENTS."""
    a = rule.audience
    if a is Audience.REPORTERS:
        keys: tuple[str, ...] = tuple(sub_key(s) for s in facts.reporter_subs)
    elif a is Audience.ASSIGNEE:
        keys = facts.assignee_keys
    elif a is Audience.DEPARTMENTS:
        keys = facts.department_keys
    elif a is Audience.DISPATCHER:
        keys = facts.dispatcher_keys
    elif a is Audience.RESIDENT:
        keys = (sub_key(facts.resident_sub),) if facts.resident_sub else ()
    elif a is Audience.MATCHING_VOLUNTEERS:
        keys = tuple(sub_key(s) for s in facts.matching_subs)
    else:
        keys = (grid_key(facts.grid_id),) if facts.grid_id else ()
    return list(dict.fromkeys(keys))[:MAX_RECIPIENTS]


def _deadline(at: datetime | None, tz: ZoneInfo) -> str:
    if at is None:
        return "规定时限"
    local = at.astimezone(tz)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def _quoted(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


def params(facts: Facts, tz: ZoneInfo) -> dict[str, str]:
    """The template's values (also the SMS/WeChat template's parameters)."""
    return {
        "title": _quoted(facts.title) or "案件",
        "category": facts.category or "服务",
        "deadline": _deadline(facts.due_at, tz),
    }


def render(rule: Rule, facts: Facts, tz: ZoneInfo) -> tuple[str, str]:
    """(title, body) of the rule's notification about this record, in Chinese."""
    values = params(facts, tz)
    return rule.title.format(**values), rule.body.format(**values)


def row_id(event_time: datetime, event_id: str, rule_code: str, inbox_key: str) -> str:
    """`<time>:<eventId>:<rule>:<inbox key>`: the same for every delivery of the event (a
    redelivery hits the duplicate key), and ordered by the event's time, so an inbox pages by
    `_id`. The time prefix is `n` and 10 base32 digits of milliseconds, like `shared.ids`. The
    recipient appears by its inbox key only: the id travels in NOTIFICATION_ADDED, and a
    resident's sub stays off the bus."""
    ms = int(event_time.timestamp() * 1000)
    return f"{id_floor('n', ms)}:{event_id}:{rule_code}:{inbox_key}"


def stale(event_time: datetime, now: datetime, max_age_s: float) -> bool:
    """Too old to tell anyone about (a new consumer reads the stream from its start)."""
    return max_age_s > 0 and now - event_time > timedelta(seconds=max_age_s)
