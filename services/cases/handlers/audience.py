"""notifications: `case.audience`, who a case concerns, for the notifications service alone.

Events carry no personal data; a service that must tell people about a case asks here with its
own token. Phones (`phones: true`) are decrypted for that call only, for the SMS provider."""

from __future__ import annotations

from typing import Any

from services.cases import domain as d
from services.cases.handlers.context import CaseContext
from shared.auth import Principal
from shared.contracts.notifications import AudienceQuery
from shared.messaging.rpc import Request

DISPATCHES = ("ASSIGNED", "CASE_DISPATCHED")  # timeline entries that hand a case to a handler
PERSONS = (d.AssigneeKind.GRID_WORKER, d.AssigneeKind.BUILDING_LEADER)  # assignees named by their sub


def service_only(p: Principal) -> None:
    p.require_role(action="read who a case concerns (a service's verb)")


class CaseAudience:
    def __init__(self, ctx: CaseContext):
        self.ctx = ctx

    async def audience(self, req: Request) -> dict[str, Any]:
        q = req.parse(AudienceQuery)
        case, _ = await self.ctx.scoped(req.principal, q.id)
        return audience_of(case, self.ctx.category_name(case.category_code)) | (
            {"reporterPhones": self.phones(case)} if q.phones else {}
        )

    def phones(self, case: d.Case) -> dict[str, str]:
        out = {}
        for r in case.reporters:
            if r.sub and r.phone_enc and (phone := self.ctx.cipher.decrypt(r.phone_enc)):
                out[r.sub] = phone
        return out


def audience_of(case: d.Case, category_name: str) -> dict[str, Any]:
    a = case.assignee
    lead = case.lead
    active = [h for h in case.handlers if h.active]
    handler_keys = ([lead.key] if lead else []) + [h.key for h in active if h is not lead]
    dispatcher = next(
        (
            t.actor
            for t in reversed(case.timeline)
            if t.type in DISPATCHES and t.actor and not t.actor.startswith("system:")
        ),
        None,
    )
    return {
        "id": case.id,
        "title": case.title,
        "status": str(case.status),
        "level": str(case.level),
        "categoryCode": case.category_code,
        "categoryName": category_name,
        "regionPath": list(case.region_path),
        "gridId": case.region_id,
        "dueAt": case.due_at,
        "reporterSubs": case.reporter_subs,
        "assignee": {"kind": str(a.kind), "id": a.id, "sub": a.id if a.kind in PERSONS else None} if a else None,
        "deptKeys": case.dept_keys,
        "handlerKeys": list(dict.fromkeys(handler_keys)),
        "dispatcherSub": dispatcher,
    }
