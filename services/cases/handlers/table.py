"""The cases service's subjects: each verb, the gate its caller passes before the request is
read (None: the handler decides, from the record and the caller's scope), and its handler."""

from __future__ import annotations

from services.cases import domain as d
from services.cases.handlers.audience import CaseAudience, service_only
from services.cases.handlers.catalogue import CatalogueCommands
from services.cases.handlers.context import CaseContext
from services.cases.handlers.departments import DepartmentCommands
from services.cases.handlers.evidence import CaseEvidence
from services.cases.handlers.followup import FollowUpCommands
from services.cases.handlers.hotspots import HotspotReads
from services.cases.handlers.model import CaseCommands
from services.cases.handlers.policy import CaseReads
from services.cases.handlers.rollups import RollupReads
from services.cases.handlers.work import CaseWork
from services.cases.handlers.work_calendar import WorkCalendars
from services.cases.importer import CaseImporter, may_import
from shared.auth import Principal, Role, require_any_role, require_figures
from shared.messaging.rpc import Gate, Handler, gated

STAFF = frozenset({Role.ADMIN, Role.OPERATOR})


def table(ctx: CaseContext, importer: CaseImporter, calendars: WorkCalendars) -> dict[str, Handler]:
    cases, reads, rollups = CaseCommands(ctx), CaseReads(ctx), RollupReads(ctx)
    hotspots, catalogue = HotspotReads(ctx), CatalogueCommands(ctx)
    followup = FollowUpCommands(ctx)

    def require_figures_or_department(p: Principal) -> None:
        if p.role is not Role.DEPARTMENT:
            require_figures(p)

    def department(p: Principal) -> None:
        require_any_role(p, {Role.DEPARTMENT}, "ask for a return or an extension of a case (its lead department)")

    def staff(p: Principal) -> None:
        require_any_role(p, STAFF, "list the cases of a hotspot")

    routes: dict[str, tuple[Gate | None, Handler]] = {
        "case.report": (d.check_may_report, cases.report),
        "case.get": (None, reads.get),
        "case.batch": (None, reads.batch),
        "case.list": (None, reads.list),
        "case.accept": (None, cases.accept),
        "case.assign": (None, cases.assign),
        "case.start": (None, cases.start),
        "case.resolve": (None, cases.resolve),
        "case.escalate": (None, cases.escalate),
        "case.reject": (None, cases.reject),
        "case.return": (None, cases.return_),
        "case.rate": (None, cases.rate),
        "case.close": (None, cases.close),
        "case.merge": (None, cases.merge),
        "case.revealContact": (None, cases.reveal),
        "stats.batch": (None, rollups.stats),
        "trend.series": (None, rollups.trend),
        "hotspot.list": (require_figures, hotspots.hotspots),
        "hotspot.cases": (staff, hotspots.hotspot_cases),
        "category.counts": (require_figures, hotspots.category_counts),  # exports: figures by category
        "catalogue.list": (None, catalogue.list),
        "catalogue.upsert": (catalogue.may_edit, catalogue.upsert),
        "catalogue.remove": (catalogue.may_edit, catalogue.remove),
        "case.import": (may_import, importer.handle),
        # clocks
        "calendar.get": (None, calendars.get),
        "calendar.set": (calendars.may_edit, calendars.set),
        # follow-up: 核查, 回访, 更正, comments
        "case.verify": (None, followup.verify),
        "case.returnVisit": (None, followup.return_visit),
        "case.correct": (None, followup.correct),
        "case.comment": (None, followup.comment),
        "case.comments": (None, followup.comments),
    }
    depts = DepartmentCommands(ctx)  # departments: the directory, dispatch, requests, 督办, figures
    routes |= {
        "department.create": (None, depts.create),
        "department.list": (None, depts.directory),
        "department.stats": (require_figures_or_department, depts.stats),
        "department.rankings": (require_figures, depts.rankings),
        "case.dispatch": (None, depts.dispatch),
        "case.reply": (None, depts.reply),
        "case.requestReturn": (department, depts.request_return),
        "case.requestExtension": (department, depts.request_extension),
        "case.suspend": (None, depts.suspend),
        "case.resume": (None, depts.resume),
        "case.decideRequest": (None, depts.decide),
        "case.urge": (None, depts.urge),
        # evidence
        "case.attach": (None, CaseEvidence(ctx).attach),
    }
    routes |= {
        # mywork: the caller's cases for the day (domain/work.py decides whose)
        "work.cases": (None, CaseWork(ctx).cases),
    }
    routes |= {
        # notifications: who a case concerns (the notifications service's own token only)
        "case.audience": (service_only, CaseAudience(ctx).audience),
    }
    return {verb: gated(gate, handler) for verb, (gate, handler) in routes.items()}
