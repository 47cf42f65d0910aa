"""The subject table of the organizations service: every verb, its handler, and the gate in
front of it (who may call it at all, before anything is read)."""

from __future__ import annotations

from typing import Any

from services.organizations import domain as d
from services.organizations.handlers.branches import UnitRegistrations  # committees
from services.organizations.handlers.catalogue import Catalogue  # funds and service lists
from services.organizations.handlers.committees import Committees  # committees
from services.organizations.handlers.common import OrgContext
from services.organizations.handlers.deliberation import Deliberation
from services.organizations.handlers.dual import Dual
from services.organizations.handlers.evidence import MeetingEvidence
from services.organizations.handlers.funds import Funds
from services.organizations.handlers.life import Life
from services.organizations.handlers.lists import Lists
from services.organizations.handlers.matching import Matching
from services.organizations.handlers.meetings import Meetings
from services.organizations.handlers.member import Members
from services.organizations.handlers.organization import Organizations
from services.organizations.handlers.rollups import Figures
from services.organizations.handlers.transfer import Transfers
from services.organizations.handlers.units import Units
from services.organizations.handlers.weak import Weak  # weak organisations
from services.organizations.handlers.work import MeetingWork
from shared.auth import Role, require_any_role
from shared.messaging.rpc import Handler, Request

STAFF = (Role.ADMIN, Role.OPERATOR)
STAFF_ROLES = frozenset(STAFF)
OWN_VERBS = frozenset({"member.get", "member.batch", "dual.register", "dual.end"})  # a member's own, too
FIGURES = frozenset({"stats.batch", "trend.series"})  # their own rule (shared.auth.require_figures)
OPEN_VERBS = frozenset({"work.meetings"})  # mywork: the handler decides whose day holds which meetings
# deliberation: residents propose, support and object, anyone reads notices; each handler decides
OPEN_VERBS = OPEN_VERBS | frozenset(Deliberation.VERBS)
# Verbs that create a record, and the action that creating it is (the roles come from the policy).
CREATES = {
    "org.create": d.Action.MANAGE_ORG,
    "twin.register": d.Action.MANAGE_ORG,
    "member.register": d.Action.MANAGE_MEMBER,
    "transfer.request": d.Action.REQUEST_TRANSFER,
    "unit.register": d.Action.MANAGE_UNIT,
    "linkage.record": d.Action.MANAGE_UNIT,
    "meeting.schedule": d.Action.MANAGE_MEETING,
    "meeting.raiseHotspot": d.Action.RECORD_MEETING,
    "life.record": d.Action.RECORD_LIFE,
    "need.post": d.Action.MANAGE_LISTS,
    "resource.offer": d.Action.MANAGE_LISTS,
    "project.propose": d.Action.MANAGE_LISTS,
    # weak organisations
    "rectification.start": d.Action.RECTIFY,
    # committees
    "committee.create": d.Action.MANAGE_COMMITTEE,
    "residents.record": d.Action.MANAGE_COMMITTEE,
    "threeParty.record": d.Action.RECORD_THREE_PARTY,
    "unitReg.register": d.Action.MANAGE_UNIT,
}
# funds and service lists: the public summary and a community's catalogue are anyone's to read
OPEN_VERBS = OPEN_VERBS | {"fund.summary", "catalogue.list"}
CREATES.update(
    {
        "fund.open": d.Action.MANAGE_FUNDS,
        "fund.spend": d.Action.MANAGE_FUNDS,
        "catalogue.add": d.Action.MANAGE_CATALOGUE,
    }
)


def gated(verb: str, handler: Handler) -> Handler:
    """Party records are for staff: every verb refuses other roles before reading anything,
    except a member's own record and 双报到 (for a token naming a `member`) and figures (their
    own rule). A verb that creates a record refuses, as early, a role that may not create it."""
    if verb in FIGURES or verb in OPEN_VERBS:
        return handler
    action = CREATES.get(verb)
    roles = d.PERMISSIONS[action] if action else STAFF_ROLES

    async def gate(req: Request) -> Any:
        if not (verb in OWN_VERBS and req.principal.member):
            require_any_role(req.principal, roles, str(action or "read or change party records").replace("_", " "))
        return await handler(req)

    return gate


class OrgHandlers:
    """One object per feature (handlers/<feature>.py beside domain/<feature>.py) over one context."""

    def __init__(self, ctx: OrgContext):
        self.ctx = ctx
        self.orgs, self.members, self.transfers = Organizations(ctx), Members(ctx), Transfers(ctx)
        self.dual, self.units, self.meetings = Dual(ctx), Units(ctx), Meetings(ctx)
        self.life, self.lists, self.figures = Life(ctx), Lists(ctx), Figures(ctx)
        self.deliberation = Deliberation(ctx)  # deliberation
        self.weak = Weak(ctx)  # weak organisations
        self.committees, self.unit_registrations = Committees(ctx), UnitRegistrations(ctx)  # committees
        self.funds = Funds(ctx)  # funds and service lists
        self.figures.funds = self.funds

    def verbs(self) -> dict[str, Handler]:
        o, m, t, du, u, jm, life, ls, f = (
            self.orgs,
            self.members,
            self.transfers,
            self.dual,
            self.units,
            self.meetings,
            self.life,
            self.lists,
            self.figures,
        )
        return {
            "org.create": o.create,
            "org.update": o.update,
            "org.appoint": o.appoint,
            "org.endPosition": o.end_position,
            "org.addUnit": o.add_unit,
            "org.removeUnit": o.remove_unit,
            "org.get": o.get,
            "org.batch": o.batch,
            "org.list": o.listing,
            "member.register": m.register,
            "member.update": m.update,
            "member.revealContact": m.reveal,
            "member.get": m.get,
            "member.batch": m.batch,
            "member.list": m.listing,
            "transfer.request": t.request,
            "transfer.approve": t.approve,
            "transfer.reject": t.reject,
            "transfer.cancel": t.cancel,
            "transfer.get": t.get,
            "transfer.list": t.listing,
            "dual.register": du.register,
            "dual.end": du.end,
            "dual.list": du.listing,
            "twin.register": du.twin,
            "twin.list": du.twin_list,
            "feedback.list": du.feedback_list,
            "unit.register": u.register,
            "unit.update": u.update,
            "unit.get": u.get,
            "unit.batch": u.batch,
            "unit.list": u.listing,
            "linkage.record": u.linkage_record,
            "linkage.list": u.linkage_list,
            "meeting.schedule": jm.schedule,
            "meeting.addAgendaItem": jm.agenda,
            "meeting.recordMinutes": jm.minutes,
            "meeting.addResolution": jm.resolution,
            "meeting.requestCase": jm.request_case,
            "meeting.raiseHotspot": jm.raise_hotspot,
            "meeting.get": jm.get,
            "meeting.list": jm.listing,
            "life.record": life.record,
            "life.list": life.listing,
            "need.post": ls.post_need,
            "resource.offer": ls.offer_resource,
            "project.propose": ls.propose_project,
            "project.move": ls.move_project,
            "need.list": ls.need_list,
            "resource.list": ls.resource_list,
            "project.list": ls.project_list,
            "stats.batch": f.stats,
            "trend.series": f.trend,
            # evidence
            "meeting.attach": MeetingEvidence(self.ctx).attach,
            # mywork
            "work.meetings": MeetingWork(self.ctx).meetings,
            # deliberation
            **self.deliberation.verbs(),
            # weak organisations
            "weak.list": self.weak.listing,
            "weak.settings": self.weak.settings,
            "weak.setSettings": self.weak.set_settings,
            "weak.rate": self.weak.rate,
            "rectification.start": self.weak.start,
            "rectification.completeTask": self.weak.complete_task,
            "rectification.review": self.weak.review,
            "rectification.get": self.weak.get_plan,
            # committees: 红色业委会, 居委会, 三方联动, 单位报到
            "committee.create": self.committees.create,
            "committee.addCandidate": self.committees.add_candidate,
            "committee.vet": self.committees.vet,
            "committee.elect": self.committees.elect,
            "committee.endTerm": self.committees.end_term,
            "committee.get": self.committees.get,
            "committee.list": self.committees.listing,
            "residents.record": self.committees.record_residents,
            "residents.get": self.committees.get_residents,
            "threeParty.record": self.committees.record_three_party,
            "threeParty.get": self.committees.get_three_party,
            "threeParty.list": self.committees.list_three_party,
            "unitReg.register": self.unit_registrations.register,
            "unitReg.service": self.unit_registrations.service,
            "unitReg.list": self.unit_registrations.listing,
            # funds and service lists
            **self.funds_verbs(),
        }

    def funds_verbs(self) -> dict[str, Handler]:
        fund, cat, match = self.funds, Catalogue(self.ctx), Matching(self.ctx)
        return {
            "fund.open": fund.open,
            "fund.account": fund.account,
            "fund.spend": fund.spend,
            "fund.approve": fund.approve,
            "fund.list": fund.listing,
            "fund.entries": fund.by_target,
            "fund.summary": fund.summary,
            "catalogue.add": cat.add,
            "catalogue.update": cat.update,
            "catalogue.retire": cat.retire,
            "catalogue.list": cat.listing,
            "need.move": match.move,
            "need.suggest": match.suggest,
        }

    def table(self) -> dict[str, Handler]:
        """verb → handler behind its gate, for `ServiceRuntime.routes`."""
        return {verb: gated(verb, handler) for verb, handler in self.verbs().items()}
