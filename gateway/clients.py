"""Typed calls to the services: one client per service, one named method per verb, taking the verb's request
model from `shared/contracts`. The gateway checks an input once, against that model (`checked`: a refused field
is the same BAD_INPUT, in the same words, the service would answer), and sends the model; the caller's own token
is forwarded so the service re-checks scope. Replies are the service's DTOs (`Dto`: the record's fields in
camelCase, personal data masked), as each contract's *_API text lists them: no service publishes a reply model
the gateway could check a reply against (the `*View` models of `shared/contracts/grids` are event payloads,
narrower than the DTOs)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from shared.contracts import cases as cc
from shared.contracts import committees as cm  # committees
from shared.contracts import funds as fc  # funds and service lists
from shared.contracts import grids as gc
from shared.contracts import notifications as nc
from shared.contracts import organizations as oc
from shared.contracts import volunteers as vc
from shared.contracts import weak_orgs as wo  # weak organisations
from shared.contracts import webhooks as wc  # webhooks:
from shared.contracts.attachments import AttachEvidence
from shared.contracts.common import ById, ByIds, TrendQuery
from shared.contracts.work import WorkQuery
from shared.errors import DomainError
from shared.messaging.rpc import RpcClient, parse

M = TypeVar("M", bound=BaseModel)
Dto = dict[str, Any]  # a service's reply: a record's DTO, a page ({items, totalCount, hasNextPage, endCursor}), …


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _wire(value: Any) -> Any:
    """A Strawberry input (a dataclass) as the camelCase dict of its set fields, nested inputs too."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            _camel(f.name): _wire(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items() if v is not None}
    return value


def checked(model: type[M], fields: Any = None, /, *, page: dict[str, Any] | None = None, **more: Any) -> M:
    """The request model of a verb from a Strawberry input and/or camelCase fields (None means unset) and
    a list's `page` (`first`, `after`: sent as given), checked once here: BadInput with the service's own
    wording (shared.messaging.rpc.parse) if a field is refused."""
    payload = {**(_wire(fields) if fields is not None else {}), **_wire(more), **(page or {})}
    return parse(model, payload)


class ServiceClient:
    """The calls of one service, with the caller's token. Subclasses name the verbs."""

    service = ""

    def __init__(self, rpc: RpcClient, token: str, service: str | None = None, timeout_s: float | None = None):
        self.rpc, self.token = rpc, token
        self.service = service or self.service
        self.timeout_s = timeout_s  # None: the RPC client's (`YIWANG_RPC_TIMEOUT_S`)

    async def send(self, verb: str, body: BaseModel | None = None) -> Dto:
        """One verb with its request model; the model's set fields travel (as the service's contract reads them)."""
        return cast(
            Dto,
            await self(
                verb, body.model_dump(mode="json", by_alias=True, exclude_unset=True) if body is not None else None
            ),
        )

    async def __call__(self, verb: str, payload: dict[str, Any] | None = None) -> Any:
        """The wire call, under the typed methods (and for the kernel's own verbs: ping, asyncapi)."""
        return await self.rpc.call(self.service, verb, payload or {}, self.token, self.timeout_s)


class FiguresClient(ServiceClient):
    """A service that keeps figures per region: `stats.batch` and `trend.series` (shared/commands.py)."""

    async def stats(self, body: ByIds) -> Dto:
        return await self.send("stats.batch", body)

    async def trend(self, body: TrendQuery) -> Dto:
        return await self.send("trend.series", body)


class GridsClient(ServiceClient):
    """yiwang.grids.<verb>: the territory tree and grid workers (shared/contracts/grids.py)."""

    service = "grids"

    async def get_region(self, body: ById) -> Dto | None:
        return await self.send("region.get", body)

    async def batch_regions(self, body: ByIds) -> Dto:
        return await self.send("region.batch", body)

    async def list_regions(self, body: gc.ListRegions) -> Dto:
        return await self.send("region.list", body)

    async def create_region(self, body: gc.CreateRegion) -> Dto:
        return await self.send("region.create", body)

    async def update_region(self, body: gc.UpdateRegion) -> Dto:
        return await self.send("region.update", body)

    async def move_region(self, body: gc.MoveRegion) -> Dto:
        return await self.send("region.move", body)

    async def set_boundary(self, body: gc.SetBoundary) -> Dto:
        return await self.send("region.setBoundary", body)

    async def locate(self, body: gc.Locate) -> Dto | None:
        """The grid containing the point, None outside every grid."""
        return await self.send("locate", body)

    async def stats(self, body: ByIds) -> Dto:
        return await self.send("stats.batch", body)

    async def check_territory(self, body: gc.CheckTerritory) -> Dto:
        return await self.send("territory.check", body)

    async def register_worker(self, body: gc.RegisterWorker) -> Dto:
        return await self.send("worker.register", body)

    async def assign_worker(self, body: gc.AssignWorker) -> Dto:
        return await self.send("worker.assign", body)

    async def get_worker(self, body: ById) -> Dto | None:
        return await self.send("worker.get", body)

    async def list_workers(self, body: gc.ListWorkers) -> Dto:
        return await self.send("worker.list", body)

    # links: 包联 and 党员联户
    async def assign_role(self, body: gc.AssignRole) -> Dto:
        return await self.send("role.assign", body)

    async def revoke_role(self, body: gc.RoleOf) -> Dto:
        return await self.send("role.revoke", body)

    async def list_roles(self, body: gc.ListRoles) -> Dto:
        return await self.send("role.list", body)

    async def get_role(self, body: gc.RoleOf) -> Dto:
        return await self.send("role.get", body)

    async def assign_cadre(self, body: gc.AssignCadre) -> Dto:
        return await self.send("cadre.assign", body)

    async def unassign_cadre(self, body: ById) -> Dto:
        return await self.send("cadre.unassign", body)

    async def get_cadre(self, body: ById) -> Dto:
        return await self.send("cadre.get", body)

    async def list_cadres(self, body: gc.ListCadres) -> Dto:
        return await self.send("cadre.list", body)

    async def cadres_of_sub(self, body: gc.CadresOfSub) -> Dto:
        return await self.send("cadre.ofSub", body)

    async def link_member(self, body: gc.LinkMember) -> Dto:
        return await self.send("member.link", body)

    async def unlink_member(self, body: gc.UnlinkMember) -> Dto:
        return await self.send("member.unlink", body)

    async def links_of_members(self, body: ByIds) -> Dto:
        """For each member id: {householdIds, visitCount} (an item error for a caller who may not read it)."""
        return await self.send("member.links", body)

    async def import_links(self, body: gc.ImportLinks) -> Dto:
        """Many `member.link`s in one transaction (a service's command: the seed's, an onboarding's)."""
        return await self.send("member.linkImport", body)

    # households:
    async def register_household(self, body: gc.RegisterHousehold) -> Dto:
        return await self.send("household.register", body)

    async def update_household(self, body: gc.UpdateHousehold) -> Dto:
        return await self.send("household.update", body)

    async def move_out_household(self, body: gc.MoveOutHousehold) -> Dto:
        return await self.send("household.moveOut", body)

    async def get_household(self, body: ById) -> Dto | None:
        return await self.send("household.get", body)

    async def batch_households(self, body: ByIds) -> Dto:
        return await self.send("household.batch", body)

    async def list_households(self, body: gc.ListHouseholds) -> Dto:
        return await self.send("household.list", body)

    async def households_of_member(self, body: gc.HouseholdsOfMember) -> Dto:
        return await self.send("household.byMember", body)

    async def reveal_household(self, body: gc.RevealHousehold) -> Dto:
        return await self.send("household.reveal", body)

    async def household_stats(self, body: ByIds) -> Dto:
        return await self.send("household.stats", body)

    async def import_regions(self, body: gc.ImportRegions) -> Dto:
        return await self.send("region.import", body)

    async def import_households(self, body: gc.ImportHouseholds) -> Dto:
        return await self.send("household.import", body)

    # visits:
    async def record_visit(self, body: gc.RecordVisit) -> Dto:
        return await self.send("visit.record", body)

    async def get_visit(self, body: ById) -> Dto | None:
        return await self.send("visit.get", body)

    async def batch_visits(self, body: ByIds) -> Dto:
        return await self.send("visit.batch", body)

    async def list_visits(self, body: gc.ListVisits) -> Dto:
        return await self.send("visit.list", body)

    async def visit_plan(self, body: gc.VisitPlanQuery) -> Dto:
        return await self.send("visit.plan", body)

    async def visit_rules(self) -> Dto:
        return await self.send("visit.rules")

    async def set_visit_rules(self, body: gc.SetVisitRules) -> Dto:
        return await self.send("visit.setRules", body)

    async def report_from_visit(self, body: gc.ReportFromVisit) -> Dto:
        return await self.send("visit.report", body)

    async def attach_to_visit(self, body: AttachEvidence) -> Dto:  # evidence (ATTACHMENTS_API)
        return await self.send("visit.attach", body)

    async def import_visits(self, body: gc.ImportVisits) -> Dto:
        return await self.send("visit.import", body)

    async def work_visits(self, body: gc.WorkQuery) -> Dto:
        return await self.send("work.visits", body)

    async def trend(self, body: TrendQuery) -> Dto:
        return await self.send("trend.series", body)


class OrganizationsClient(FiguresClient):
    """yiwang.organizations.<verb> (ORGANIZATIONS_API in shared/contracts/organizations.py)."""

    service = "organizations"

    async def attach_to_meeting(self, body: AttachEvidence) -> Dto:  # evidence (ATTACHMENTS_API)
        return await self.send("meeting.attach", body)

    async def create_org(self, body: oc.CreateOrganization) -> Dto:
        return await self.send("org.create", body)

    async def update_org(self, body: oc.UpdateOrganization) -> Dto:
        return await self.send("org.update", body)

    async def appoint(self, body: oc.Appoint) -> Dto:
        return await self.send("org.appoint", body)

    async def end_position(self, body: oc.EndPosition) -> Dto:
        return await self.send("org.endPosition", body)

    async def add_unit(self, body: oc.CommitteeUnit) -> Dto:
        return await self.send("org.addUnit", body)

    async def remove_unit(self, body: oc.CommitteeUnit) -> Dto:
        return await self.send("org.removeUnit", body)

    async def get_org(self, body: ById) -> Dto | None:
        return await self.send("org.get", body)

    async def batch_orgs(self, body: ByIds) -> Dto:
        return await self.send("org.batch", body)

    async def list_orgs(self, body: oc.ListOrganizations) -> Dto:
        return await self.send("org.list", body)

    async def register_member(self, body: oc.RegisterMember) -> Dto:
        return await self.send("member.register", body)

    async def update_member(self, body: oc.UpdateMember) -> Dto:
        return await self.send("member.update", body)

    async def reveal_member_contact(self, body: oc.RevealMember) -> Dto:
        return await self.send("member.revealContact", body)

    async def get_member(self, body: ById) -> Dto | None:
        return await self.send("member.get", body)

    async def batch_members(self, body: ByIds) -> Dto:
        return await self.send("member.batch", body)

    async def list_members(self, body: oc.ListMembers) -> Dto:
        return await self.send("member.list", body)

    async def request_transfer(self, body: oc.RequestTransfer) -> Dto:
        return await self.send("transfer.request", body)

    async def approve_transfer(self, body: oc.DecideTransfer) -> Dto:
        return await self.send("transfer.approve", body)

    async def reject_transfer(self, body: oc.DecideTransfer) -> Dto:
        return await self.send("transfer.reject", body)

    async def cancel_transfer(self, body: oc.DecideTransfer) -> Dto:
        return await self.send("transfer.cancel", body)

    async def get_transfer(self, body: ById) -> Dto | None:
        return await self.send("transfer.get", body)

    async def list_transfers(self, body: oc.ListTransfers) -> Dto:
        return await self.send("transfer.list", body)

    async def dual_register(self, body: oc.DualRegister) -> Dto:
        return await self.send("dual.register", body)

    async def end_dual(self, body: oc.EndDual) -> Dto:
        return await self.send("dual.end", body)

    async def list_dual(self, body: oc.ListDual) -> Dto:
        return await self.send("dual.list", body)

    async def twin_unit(self, body: oc.TwinUnit) -> Dto:
        return await self.send("twin.register", body)

    async def list_twinnings(self, body: oc.ListTwinnings) -> Dto:
        return await self.send("twin.list", body)

    async def register_unit(self, body: oc.RegisterUnit) -> Dto:
        return await self.send("unit.register", body)

    async def update_unit(self, body: oc.UpdateUnit) -> Dto:
        return await self.send("unit.update", body)

    async def get_unit(self, body: ById) -> Dto | None:
        return await self.send("unit.get", body)

    async def batch_units(self, body: ByIds) -> Dto:
        return await self.send("unit.batch", body)

    async def list_units(self, body: oc.ListUnits) -> Dto:
        return await self.send("unit.list", body)

    async def record_linkage(self, body: oc.RecordLinkage) -> Dto:
        return await self.send("linkage.record", body)

    async def list_linkages(self, body: oc.ListByRegion) -> Dto:
        return await self.send("linkage.list", body)

    async def schedule_meeting(self, body: oc.ScheduleMeeting) -> Dto:
        return await self.send("meeting.schedule", body)

    async def add_agenda_item(self, body: oc.AgendaInput) -> Dto:
        return await self.send("meeting.addAgendaItem", body)

    async def record_minutes(self, body: oc.MinutesInput) -> Dto:
        return await self.send("meeting.recordMinutes", body)

    async def add_resolution(self, body: oc.ResolutionInput) -> Dto:
        return await self.send("meeting.addResolution", body)

    async def request_case(self, body: oc.CaseFromItem) -> Dto:
        return await self.send("meeting.requestCase", body)

    async def raise_hotspot(self, body: oc.RaiseHotspot) -> Dto:
        return await self.send("meeting.raiseHotspot", body)

    async def get_meeting(self, body: ById) -> Dto | None:
        return await self.send("meeting.get", body)

    async def list_meetings(self, body: oc.ListMeetings) -> Dto:
        return await self.send("meeting.list", body)

    async def record_life(self, body: oc.RecordLife) -> Dto:
        return await self.send("life.record", body)

    async def list_life(self, body: oc.ListLife) -> Dto:
        return await self.send("life.list", body)

    async def post_need(self, body: oc.PostNeed) -> Dto:
        return await self.send("need.post", body)

    async def offer_resource(self, body: oc.OfferResource) -> Dto:
        return await self.send("resource.offer", body)

    async def propose_project(self, body: oc.ProposeProject) -> Dto:
        return await self.send("project.propose", body)

    async def move_project(self, body: oc.MoveProject) -> Dto:
        return await self.send("project.move", body)

    async def list_needs(self, body: oc.ListByRegion) -> Dto:
        return await self.send("need.list", body)

    async def list_resources(self, body: oc.ListByRegion) -> Dto:
        return await self.send("resource.list", body)

    async def list_projects(self, body: oc.ListByRegion) -> Dto:
        return await self.send("project.list", body)

    async def list_feedback(self, body: oc.ListFeedback) -> Dto:
        return await self.send("feedback.list", body)

    async def import_members(self, body: oc.ImportMembers) -> Dto:
        return await self.send("member.import", body)

    async def import_organizations(self, body: oc.ImportOrganizations) -> Dto:
        return await self.send("org.import", body)

    # mywork: the joint meetings of the caller's community coming up
    async def work_meetings(self, body: WorkQuery) -> Dto:
        return await self.send("work.meetings", body)

    # weak organisations (WEAK_API in shared/contracts/weak_orgs.py)
    async def list_weak(self, body: wo.ListWeak) -> Dto:
        return await self.send("weak.list", body)

    async def weak_settings(self) -> Dto:
        return await self.send("weak.settings")

    async def set_weak_settings(self, body: wo.SetWeakSettings) -> Dto:
        return await self.send("weak.setSettings", body)

    async def rate_weak(self, body: ByIds) -> Dto:
        return await self.send("weak.rate", body)

    async def start_rectification(self, body: wo.StartRectification) -> Dto:
        return await self.send("rectification.start", body)

    async def complete_rectification_task(self, body: wo.CompleteRectificationTask) -> Dto:
        return await self.send("rectification.completeTask", body)

    async def review_rectification(self, body: wo.ReviewRectification) -> Dto:
        return await self.send("rectification.review", body)

    async def get_rectification(self, body: ById) -> Dto | None:
        return await self.send("rectification.get", body)

    # committees: 红色业委会, 居委会, 三方联动, 单位报到
    async def create_owners_committee(self, body: cm.CreateOwnersCommittee) -> Dto:
        return await self.send("committee.create", body)

    async def add_committee_candidate(self, body: cm.AddCandidate) -> Dto:
        return await self.send("committee.addCandidate", body)

    async def vet_committee_candidate(self, body: cm.VetCandidate) -> Dto:
        return await self.send("committee.vet", body)

    async def elect_owners_committee(self, body: cm.ElectCommittee) -> Dto:
        return await self.send("committee.elect", body)

    async def end_committee_term(self, body: cm.EndCommitteeTerm) -> Dto:
        return await self.send("committee.endTerm", body)

    async def get_owners_committee(self, body: ById) -> Dto | None:
        return await self.send("committee.get", body)

    async def list_owners_committees(self, body: cm.ListCommittees) -> Dto:
        return await self.send("committee.list", body)

    async def record_residents_committee(self, body: cm.RecordResidentsCommittee) -> Dto:
        return await self.send("residents.record", body)

    async def get_residents_committee(self, body: cm.ByCommunity) -> Dto | None:
        return await self.send("residents.get", body)

    async def record_three_party_meeting(self, body: cm.RecordThreePartyMeeting) -> Dto:
        return await self.send("threeParty.record", body)

    async def get_three_party_meeting(self, body: ById) -> Dto | None:
        return await self.send("threeParty.get", body)

    async def list_three_party_meetings(self, body: cm.ListCommittees) -> Dto:
        return await self.send("threeParty.list", body)

    async def register_unit_with_community(self, body: cm.RegisterUnitWithCommunity) -> Dto:
        return await self.send("unitReg.register", body)

    async def record_unit_service(self, body: cm.RecordUnitService) -> Dto:
        return await self.send("unitReg.service", body)

    async def list_unit_registrations(self, body: cm.ListUnitRegistrations) -> Dto:
        return await self.send("unitReg.list", body)

    # funds and service lists (FUNDS_API in shared/contracts/funds.py)
    async def open_fund_account(self, body: fc.OpenFundAccount) -> Dto:
        return await self.send("fund.open", body)

    async def fund_account(self, body: fc.FundAccountQuery) -> Dto:
        return await self.send("fund.account", body)

    async def record_spending(self, body: fc.RecordSpending) -> Dto:
        return await self.send("fund.spend", body)

    async def decide_spending(self, body: fc.DecideSpending) -> Dto:
        return await self.send("fund.approve", body)

    async def list_fund_entries(self, body: fc.ListFundEntries) -> Dto:
        return await self.send("fund.list", body)

    async def fund_entries_of(self, body: fc.EntriesByTarget) -> Dto:
        return await self.send("fund.entries", body)

    async def fund_summary(self, body: fc.ListFundEntries) -> Dto:
        return await self.send("fund.summary", body)

    async def add_service(self, body: fc.AddServiceEntry) -> Dto:
        return await self.send("catalogue.add", body)

    async def update_service(self, body: fc.UpdateServiceEntry) -> Dto:
        return await self.send("catalogue.update", body)

    async def retire_service(self, body: fc.RetireServiceEntry) -> Dto:
        return await self.send("catalogue.retire", body)

    async def service_catalogue(self, body: fc.CatalogueQuery) -> Dto:
        return await self.send("catalogue.list", body)

    async def move_need(self, body: fc.MoveNeed) -> Dto:
        return await self.send("need.move", body)

    async def suggest_for_need(self, body: fc.SuggestForNeed) -> Dto:
        return await self.send("need.suggest", body)


class VolunteersClient(FiguresClient):
    """yiwang.volunteers.<verb> (VOLUNTEERS_API in shared/contracts/volunteers.py)."""

    service = "volunteers"

    # evidence (ATTACHMENTS_API)
    async def attach_to_order(self, body: AttachEvidence) -> Dto:
        return await self.send("order.attach", body)

    async def attach_to_activity(self, body: AttachEvidence) -> Dto:
        return await self.send("activity.attach", body)

    async def register_volunteer(self, body: vc.RegisterVolunteer) -> Dto:
        return await self.send("volunteer.register", body)

    async def update_volunteer(self, body: vc.UpdateVolunteer) -> Dto:
        return await self.send("volunteer.update", body)

    async def get_volunteer(self, body: ById) -> Dto | None:
        return await self.send("volunteer.get", body)

    async def my_volunteer(self) -> Dto | None:
        return await self.send("volunteer.me")

    async def batch_volunteers(self, body: ByIds) -> Dto:
        return await self.send("volunteer.batch", body)

    async def list_volunteers(self, body: vc.ListVolunteers) -> Dto:
        return await self.send("volunteer.list", body)

    async def create_team(self, body: vc.CreateTeam) -> Dto:
        return await self.send("team.create", body)

    async def add_team_member(self, body: vc.TeamMember) -> Dto:
        return await self.send("team.addMember", body)

    async def remove_team_member(self, body: vc.TeamMember) -> Dto:
        return await self.send("team.removeMember", body)

    async def get_team(self, body: ById) -> Dto | None:
        return await self.send("team.get", body)

    async def list_teams(self, body: vc.ListByRegion) -> Dto:
        return await self.send("team.list", body)

    async def create_post(self, body: vc.CreatePost) -> Dto:
        return await self.send("post.create", body)

    async def claim_post(self, body: vc.ForVolunteer) -> Dto:
        return await self.send("post.claim", body)

    async def release_post(self, body: vc.ForVolunteer) -> Dto:
        return await self.send("post.release", body)

    async def close_post(self, body: vc.Versioned) -> Dto:
        return await self.send("post.close", body)

    async def get_post(self, body: ById) -> Dto | None:
        return await self.send("post.get", body)

    async def list_posts(self, body: vc.ListPosts) -> Dto:
        return await self.send("post.list", body)

    async def place_order(self, body: vc.PlaceOrder) -> Dto:
        return await self.send("order.place", body)

    async def review_order(self, body: vc.ReviewOrder) -> Dto:
        return await self.send("order.review", body)

    async def dispatch_order(self, body: vc.DispatchOrder) -> Dto:
        return await self.send("order.dispatch", body)

    async def take_order(self, body: vc.ForVolunteer) -> Dto:
        return await self.send("order.take", body)

    async def start_order(self, body: vc.Versioned) -> Dto:
        return await self.send("order.start", body)

    async def complete_order(self, body: vc.CompleteOrder) -> Dto:
        return await self.send("order.complete", body)

    async def rate_order(self, body: vc.RateOrder) -> Dto:
        return await self.send("order.rate", body)

    async def cancel_order(self, body: vc.CancelOrder) -> Dto:
        return await self.send("order.cancel", body)

    async def get_order(self, body: ById) -> Dto | None:
        return await self.send("order.get", body)

    async def list_orders(self, body: vc.ListOrders) -> Dto:
        return await self.send("order.list", body)

    async def wish_wall(self, body: vc.WishWall) -> Dto:
        return await self.send("order.wishWall", body)

    async def list_tasks(self, body: vc.ListTasks) -> Dto:
        return await self.send("task.list", body)

    async def create_activity(self, body: vc.CreateActivity) -> Dto:
        return await self.send("activity.create", body)

    async def sign_up(self, body: vc.ForVolunteer) -> Dto:
        return await self.send("activity.signUp", body)

    async def cancel_sign_up(self, body: vc.ForVolunteer) -> Dto:
        return await self.send("activity.cancelSignUp", body)

    async def check_in(self, body: vc.CheckIn) -> Dto:
        return await self.send("activity.checkIn", body)

    async def check_out(self, body: vc.CheckIn) -> Dto:
        return await self.send("activity.checkOut", body)

    async def backfill(self, body: vc.Backfill) -> Dto:
        return await self.send("activity.backfill", body)

    async def get_activity(self, body: ById) -> Dto | None:
        return await self.send("activity.get", body)

    async def list_activities(self, body: vc.ListByRegion) -> Dto:
        return await self.send("activity.list", body)

    async def points_balance(self, body: vc.ByVolunteer) -> Dto:
        return await self.send("points.balance", body)

    async def points_history(self, body: vc.ByVolunteer) -> Dto:
        return await self.send("points.history", body)

    async def redeem_points(self, body: vc.Redeem) -> Dto:
        return await self.send("points.redeem", body)

    async def catalogue(self) -> Dto:
        return await self.send("catalogue.list")

    async def upsert_reward_item(self, body: vc.CatalogueInput) -> Dto:
        return await self.send("catalogue.upsert", body)

    # mywork: the service orders and activities of the caller's day
    async def work_volunteers(self, body: WorkQuery) -> Dto:
        return await self.send("work.volunteers", body)

    # residents' points
    async def resident_points_rules(self) -> Dto:
        return await self.send("resident.rules")

    async def set_resident_points_rules(self, body: vc.SetResidentPointsRules) -> Dto:
        return await self.send("resident.setRules", body)

    async def award_resident_points(self, body: vc.AwardResidentPoints) -> Dto:
        return await self.send("resident.award", body)

    async def resident_points_balance(self, body: vc.ResidentLedger) -> Dto:
        return await self.send("resident.balance", body)

    async def resident_points_history(self, body: vc.ResidentLedger) -> Dto:
        return await self.send("resident.history", body)

    async def redeem_resident_points(self, body: vc.RedeemResidentPoints) -> Dto:
        return await self.send("resident.redeem", body)

    # units take service orders
    async def accept_order_for_unit(self, body: vc.AcceptForUnit) -> Dto:
        return await self.send("order.acceptForUnit", body)

    async def unit_order_stats(self, body: ByIds) -> Dto:
        return await self.send("unit.orderStats", body)


class CasesClient(FiguresClient):
    """yiwang.cases.<verb> (CASES_API in shared/contracts/cases.py). Replies are the service's DTOs."""

    service = "cases"

    async def report(self, body: cc.ReportCase) -> Dto:
        return await self.send("case.report", body)

    async def get(self, body: ById) -> Dto | None:
        return await self.send("case.get", body)

    async def batch(self, body: ByIds) -> Dto:
        return await self.send("case.batch", body)

    async def list(self, body: cc.ListCases) -> Dto:
        return await self.send("case.list", body)

    async def accept(self, body: cc.CaseCommand) -> Dto:
        return await self.send("case.accept", body)

    async def assign(self, body: cc.AssignCase) -> Dto:
        return await self.send("case.assign", body)

    async def start(self, body: cc.CaseCommand) -> Dto:
        return await self.send("case.start", body)

    async def resolve(self, body: cc.ResolveCase) -> Dto:
        return await self.send("case.resolve", body)

    async def escalate(self, body: cc.WithReason) -> Dto:
        return await self.send("case.escalate", body)

    async def reject(self, body: cc.WithReason) -> Dto:
        return await self.send("case.reject", body)

    async def return_(self, body: cc.WithReason) -> Dto:
        return await self.send("case.return", body)

    async def rate(self, body: cc.RateCase) -> Dto:
        return await self.send("case.rate", body)

    async def close(self, body: cc.CloseCase) -> Dto:
        return await self.send("case.close", body)

    async def merge(self, body: cc.MergeCase) -> Dto:
        return await self.send("case.merge", body)

    async def reveal_contact(self, body: cc.RevealContact) -> Dto:
        return await self.send("case.revealContact", body)

    async def attach(self, body: AttachEvidence) -> Dto:  # evidence (ATTACHMENTS_API)
        return await self.send("case.attach", body)

    async def catalogue(self) -> Dto:
        return await self.send("catalogue.list")

    async def upsert_category(self, body: cc.CategoryInput) -> Dto:
        return await self.send("catalogue.upsert", body)

    async def remove_category(self, body: cc.RemoveCategory) -> Dto:
        return await self.send("catalogue.remove", body)

    # follow-up: 核查, 回访, 更正, comments
    async def verify(self, body: cc.VerifyCase) -> Dto:
        return await self.send("case.verify", body)

    async def return_visit(self, body: cc.RecordReturnVisit) -> Dto:
        return await self.send("case.returnVisit", body)

    async def correct(self, body: cc.CorrectCase) -> Dto:
        return await self.send("case.correct", body)

    async def comment(self, body: cc.CommentOnCase) -> Dto:
        return await self.send("case.comment", body)

    async def comments(self, body: cc.ListComments) -> Dto:
        return await self.send("case.comments", body)

    async def hotspots(self, body: cc.HotspotQuery) -> Dto:
        return await self.send("hotspot.list", body)

    async def category_counts(self, body: cc.CategoryCountsQuery) -> Dto:  # exports
        return await self.send("category.counts", body)

    async def hotspot_cases(self, body: cc.HotspotCases) -> Dto:
        return await self.send("hotspot.cases", body)

    async def import_cases(self, body: cc.ImportCases) -> Dto:
        return await self.send("case.import", body)

    # clocks
    async def work_calendar(self, body: cc.GetWorkCalendar) -> Dto:
        return await self.send("calendar.get", body)

    async def set_work_calendar(self, body: cc.SetWorkCalendar) -> Dto:
        return await self.send("calendar.set", body)

    # departments: the directory, dispatch, replies, requests, 督办, figures
    async def create_department(self, body: cc.CreateDepartment) -> Dto:
        return await self.send("department.create", body)

    async def departments(self, body: cc.ListDepartments) -> Dto:
        return await self.send("department.list", body)

    async def department_stats(self, body: cc.DepartmentStatsQuery) -> Dto:
        return await self.send("department.stats", body)

    async def department_rankings(self, body: cc.DepartmentRankingsQuery) -> Dto:
        return await self.send("department.rankings", body)

    async def dispatch(self, body: cc.DispatchCase) -> Dto:
        return await self.send("case.dispatch", body)

    async def reply(self, body: cc.ReplyToCase) -> Dto:
        return await self.send("case.reply", body)

    async def request_return(self, body: cc.RaiseRequest) -> Dto:
        return await self.send("case.requestReturn", body)

    async def request_extension(self, body: cc.RequestExtension) -> Dto:
        return await self.send("case.requestExtension", body)

    async def suspend(self, body: cc.RaiseRequest) -> Dto:
        return await self.send("case.suspend", body)

    async def resume(self, body: cc.CaseCommand) -> Dto:
        return await self.send("case.resume", body)

    async def decide_request(self, body: cc.DecideCaseRequest) -> Dto:
        return await self.send("case.decideRequest", body)

    async def urge(self, body: cc.UrgeCase) -> Dto:
        return await self.send("case.urge", body)

    # mywork: the cases of the caller's day
    async def work_cases(self, body: WorkQuery) -> Dto:
        return await self.send("work.cases", body)


# notifications: the caller's inbox and preferences (NOTIFICATIONS_API in shared/contracts/notifications.py)
class NotificationsClient(ServiceClient):
    """yiwang.notifications.<verb>: the caller's own inbox rows and preferences."""

    service = "notifications"

    async def list_notifications(self, body: nc.ListNotifications) -> Dto:
        return await self.send("notification.list", body)

    async def get_notification(self, body: nc.NotificationId) -> Dto:
        return await self.send("notification.get", body)

    async def mark_read(self, body: nc.MarkRead) -> Dto:
        return await self.send("notification.markRead", body)

    async def inbox_keys(self) -> Dto:
        return await self.send("notification.inboxKeys", nc.NoArgs())

    async def get_preferences(self) -> Dto:
        return await self.send("preferences.get", nc.NoArgs())

    async def set_preferences(self, body: nc.SetPreferences) -> Dto:
        return await self.send("preferences.set", body)


def item_or_error(value: Any) -> Any:
    """Unwrap one entry of a batch reply: a result, or the typed error the service gave for it."""
    if isinstance(value, dict) and set(value) == {"error"}:
        return DomainError.from_dict(value["error"])
    return value


__all__ = [
    "CasesClient",
    "Dto",
    "FiguresClient",
    "GridsClient",
    "NotificationsClient",
    "OrganizationsClient",
    "ServiceClient",
    "VolunteersClient",
    "checked",
    "item_or_error",
]


# webhooks: the notifications service's webhook verbs (services/notifications/webhooks)
class WebhooksClient(ServiceClient):
    service = "notifications"

    async def register(self, body: wc.RegisterWebhook) -> Dto:
        return await self.send("webhook.register", body)

    async def list(self, body: wc.WebhookPage) -> Dto:
        return await self.send("webhook.list", body)

    async def deliveries(self, body: wc.DeliveryPage) -> Dto:
        return await self.send("webhook.deliveries", body)

    async def redeliver(self, body: wc.Redeliver) -> Dto:
        return await self.send("webhook.redeliver", body)

    async def deactivate(self, body: ById) -> Dto:
        return await self.send("webhook.deactivate", body)
