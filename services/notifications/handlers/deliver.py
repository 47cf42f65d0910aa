"""The inbox consumer: each event the rule table knows becomes one row per recipient.

The event names its record only; the owning service says who the record concerns (`case.audience`,
`order.audience`, with this service's own token). One transaction writes the event's rows, their
NOTIFICATION_ADDED events and the SMS/WeChat messages to send, with the event's processed mark: a
redelivered event (a restart, a second replica) finds the mark, and a row twice would hit its
`_id`, so every recipient has exactly one row per event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.notifications.domain import preferences as prefs
from services.notifications.domain import recipients as rk
from services.notifications.domain import rules as r
from services.notifications.store import INBOX, OUTGOING, PENDING, SERVICE, NotificationStore
from shared.errors import Forbidden, NotFound
from shared.messaging.envelope import CloudEvent, make_event
from shared.mongo import UnitOfWork, first_time, now
from shared.service import ServiceRuntime

log = logging.getLogger("yiwang.notifications")
CONSUMER = "inbox"
ADDED = "NOTIFICATION_ADDED"
AUDIENCE_VERB = {"cases": "case.audience", "volunteers": "order.audience"}


class Deliverer:
    def __init__(
        self,
        rt: ServiceRuntime,
        store: NotificationStore,
        inbox_secret: bytes,
        tz: ZoneInfo,
        kick: Callable[[], None] = lambda: None,
    ):
        self.rt, self.store, self.secret, self.tz, self.kick = rt, store, inbox_secret, tz, kick

    async def on_event(self, event: CloudEvent) -> None:
        rules = r.rules_for(event.service, event.event)
        if not rules or r.stale(event.time, now(), self.rt.settings.notify_max_age_s):
            return
        facts = await self.facts(event, rules[0].type)
        if facts is None:
            return
        plan = [(rule, key) for rule in rules for key in r.recipients(rule, facts)]
        if not plan:
            return
        subs = [s for _, key in plan if (s := rk.sub_of(key))]
        chosen = await self.store.preferences(subs) if subs else {}
        values = r.params(facts, self.tz)
        at = now()

        async def work(uow: UnitOfWork) -> int:
            if not await first_time(uow, f"{SERVICE}-{CONSUMER}", event.id):
                return 0
            written = 0
            for rule, key in plan:
                sub = rk.sub_of(key)
                p, sealed_openid = chosen.get(sub, (prefs.DEFAULT, None)) if sub else (prefs.DEFAULT, None)
                if p.muted(rule.type):
                    continue
                row = self.row(event, rule, key, facts, at)
                uow.insert(INBOX, row)
                uow.record(self.added(row, at))
                written += 1
                for channel in self.channels(rule, key, p, sealed_openid):
                    uow.insert(OUTGOING, self.outgoing(row, channel, rule, values, facts, sub, p, at))
            return written

        if await self.rt.transact(work):
            self.kick()

    # -- the parts ------------------------------------------------------------------------
    async def facts(self, event: CloudEvent, notification_type: str) -> r.Facts | None:
        source = r.SOURCE_OF[notification_type]
        if not source:
            return r.visit_facts(event.subject, event.data)
        reply = await self.audience(source, event.subject)
        if reply is None:
            return None
        return r.case_facts(reply) if source == "cases" else r.order_facts(reply)

    async def audience(self, source: str, record_id: str, phones: bool = False) -> dict[str, Any] | None:
        """Who the record concerns, from its service; None when it is gone. Any other failure
        (the service down) raises: the event is retried."""
        body = {"id": record_id, **({"phones": True} if phones else {})}
        try:
            reply = await self.rt.rpc.call(source, AUDIENCE_VERB[source], body, self.rt.token())
        except (NotFound, Forbidden):
            return None
        return reply if isinstance(reply, dict) else None

    def row(self, event: CloudEvent, rule: r.Rule, key: str, facts: r.Facts, at: datetime) -> dict[str, Any]:
        title, body = r.render(rule, facts, self.tz)
        return {
            "_id": r.row_id(event.time, event.id, rule.code, rk.inbox_key(self.secret, key)),
            "recipient": key,
            "type": rule.type,
            "title": title,
            "body": body,
            "at": event.time,
            "created_at": at,
            "read": False,
            "readAt": None,
            "link": {"kind": str(facts.link), "id": facts.id},
            "eventId": event.id,
        }

    def added(self, row: dict[str, Any], at: datetime) -> CloudEvent:
        """NOTIFICATION_ADDED on `yiwang.evt.notifications.NOTIFICATION_ADDED.<inbox key>`: the
        row's id, type and link, never its text (the reader fetches it with its own token).
        `data.type` is the event's own name, as in every service's events; the notification's
        type is `notificationType`."""
        return make_event(
            SERVICE,
            ADDED,
            row["_id"],
            {"type": ADDED, "notificationId": row["_id"], "notificationType": row["type"], "link": row["link"]},
            path=[rk.inbox_key(self.secret, row["recipient"])],
            at=at,
            id=f"added:{row['_id']}",
        )

    @staticmethod
    def channels(rule: r.Rule, key: str, p: prefs.Preferences, sealed_openid: str | None) -> list[str]:
        """SMS and WeChat for a person who opted in, on a rule that has a template: SMS where
        the owning service keeps a number for them (a case's reporters), WeChat where they bound
        an openid."""
        if rule.sms is None or not rk.is_personal(key):
            return []
        out = []
        if p.wants(prefs.SMS) and rule.audience is r.Audience.REPORTERS:
            out.append(prefs.SMS)
        if p.wants(prefs.WECHAT) and sealed_openid:
            out.append(prefs.WECHAT)
        return out

    def outgoing(
        self,
        row: dict[str, Any],
        channel: str,
        rule: r.Rule,
        values: dict[str, str],
        facts: r.Facts,
        sub: str | None,
        p: prefs.Preferences,
        at: datetime,
    ) -> dict[str, Any]:
        """A message to send: where to find the address when it is sent (the source's record
        and the person's sub, never the address itself), and when (after quiet hours)."""
        due = prefs.quiet_until(at, p.quiet_hours, self.tz) or at
        return {
            "_id": f"{row['_id']}:{channel}",
            "channel": channel,
            "recipient": row["recipient"],
            "sub": sub,
            "template": rule.sms,
            "params": values,
            "source": {"service": r.SOURCE_OF[rule.type], "id": facts.id},
            "status": PENDING,
            "attempts": 0,
            "due_at": due,
            "created_at": at,
        }
