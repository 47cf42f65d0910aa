"""Request handlers of the organizations service; the subject → handler table is at the end.

Every command loads its records in one transaction, applies the domain rule, saves them with
a version check, adds the rollup deltas, and records the events in the outbox.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from services.organizations import domain as d
from services.organizations.store import ID_NUMBER_KEY, OrgStore
from services.organizations.views import OrgViews
from shared.auth import Principal, Role, require_any_role
from shared.commands import RecordCommands, page_reply, trend_reply
from shared.contracts import organizations as w
from shared.contracts.common import ById, ByIds
from shared.errors import BadInput, Conflict, DomainError, NotFound
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Handler, Request
from shared.mongo import UnitOfWork, now, recall, remember
from shared.privacy import FieldCipher
from shared.records import Records
from services.organizations.domain.rollups import TREND_METRICS
from shared.service import ServiceRuntime
from shared.territory import TerritoryReplica

SERVICE = "organizations"
STAFF = (Role.ADMIN, Role.OPERATOR)
STAFF_ROLES = frozenset(STAFF)
OWN_VERBS = frozenset({"member.get", "member.batch", "dual.register", "dual.end"})  # a member's own, too
# Verbs that create a record, and the action that creating it is (the roles come from the policy).
CREATES = {"org.create": d.Action.MANAGE_ORG, "twin.register": d.Action.MANAGE_ORG,
           "member.register": d.Action.MANAGE_MEMBER, "transfer.request": d.Action.REQUEST_TRANSFER,
           "unit.register": d.Action.MANAGE_UNIT, "linkage.record": d.Action.MANAGE_UNIT,
           "meeting.schedule": d.Action.MANAGE_MEETING, "meeting.raiseHotspot": d.Action.RECORD_MEETING,
           "life.record": d.Action.RECORD_LIFE, "need.post": d.Action.MANAGE_LISTS,
           "resource.offer": d.Action.MANAGE_LISTS, "project.propose": d.Action.MANAGE_LISTS}
log = logging.getLogger("yiwang.organizations")


class TerritoryCounts:
    """Grids and buildings per region from the territory replica, recomputed when the
    replica's contents change (branch coverage needs them)."""

    def __init__(self, territory: TerritoryReplica):
        self.territory, self._key, self._counts = territory, None, {}

    def get(self, region_id: str) -> tuple[int, int]:
        nodes = self.territory.nodes
        key = (id(nodes), len(nodes))
        if key != self._key:
            counts: dict[str, list[int]] = {}
            for node in nodes.values():
                slot = {"GRID": 0, "BUILDING": 1}.get(node["level"])
                if slot is None:
                    continue
                for region in node["path"]:
                    counts.setdefault(region, [0, 0])[slot] += 1
            self._counts, self._key = counts, key
        grids, buildings = self._counts.get(region_id, (0, 0))
        return grids, buildings


class Organizations(RecordCommands):
    def __init__(self, rt: ServiceRuntime, store: OrgStore, territory: TerritoryReplica, cipher: FieldCipher):
        self.rt, self.store, self.territory, self.cipher = rt, store, territory, cipher
        self.settings = rt.settings
        self.views = OrgViews(cipher)
        self.counts = TerritoryCounts(territory)

    # -- helpers -------------------------------------------------------------------------
    def node(self, region_id: str, what: str = "region", p: Principal | None = None) -> d.Node:
        """A region from the territory replica; given `p`, one in their scope (as `visible_path`)."""
        if p is not None:
            self.territory.visible_path(p, region_id, what)
        n = self.territory.get(region_id)
        if n is None:
            raise NotFound(f"{what} {region_id} is not known here (yet)")
        return d.Node(id=n["_id"], level=n["level"], path=tuple(n["path"]), name=n.get("name", ""))

    def scope_path(self, p: Principal, region_id: str | None) -> str | None:
        """The subtree a list reads: the region asked for (which must be in scope), or the
        root of the principal's scope; staff only (the verb's gate)."""
        if region_id:
            self.territory.visible_path(p, region_id)
            return region_id
        return None if p.unrestricted else p.region

    @staticmethod
    def subtree(region: str | None, field: str = "path") -> dict:
        return {field: region} if region else {}

    def emit(self, uow: UnitOfWork, *records: Any) -> None:
        for record in records:
            for e in record.drain_events():
                uow.record(make_event(SERVICE, e.type, e.aggregate_id,
                                      {"aggregate": e.aggregate, "aggregateId": e.aggregate_id, **e.data},
                                      path=list(e.region_path), actor=e.actor, version=e.version, at=e.at,
                                      id=e.event_id))

    async def put(self, uow: UnitOfWork, repo: Records, record: Any, before: Any | None = None,
                  version: int | None = None) -> None:
        """Insert (version None) or save a record, add its rollup deltas, record its events."""
        if version is None:
            await repo.insert(uow, record)
        else:
            await repo.save(uow, record, version)
        await self.store.apply(uow, d.deltas(before, record))
        self.emit(uow, record)

    def visible(self, p: Principal, record: Any) -> bool:
        """Staff in scope (a transfer: on either side), or the member themself."""
        if d.is_allowed(p, d.Action.VIEW, record):
            return True
        return isinstance(record, d.Transfer) and d.is_allowed(p, d.Action.VIEW, record, record.to_path)

    def authorize(self, p: Principal, action: d.Action, record: Any) -> None:
        d.authorize(p, action, record)

    # -- organisations -------------------------------------------------------------------
    async def org_create(self, req: Request) -> dict:
        c, p = req.parse(w.CreateOrganization), req.principal
        anchor = self.node(c.anchorId, p=p)

        async def create(uow: UnitOfWork) -> str:
            # The parent sits above the anchor, often outside the caller's scope (a community's
            # committee under the street's working committee): the new organisation's anchor is checked.
            parent = await self.store.orgs.load(c.parentId, uow) if c.parentId else None
            if c.householdMemberId:
                await self.scoped(self.store.members, c.householdMemberId, p, uow)
            org = d.Organization.create(id=new_id("po"), name=c.name, type=d.OrgType(c.type), anchor=anchor,
                                        parent=parent, by=p, now=now(), household_member_id=c.householdMemberId)
            await self.store.claim_key(uow, f"org:{org.key}", org.id,
                                       f"{anchor.name or anchor.id} already has a {org.type}")
            await self.put(uow, self.store.orgs, org)
            return org.id

        return await self.idempotent(p, "org.create", c.idempotencyKey, create, self._org_view)

    async def _org_view(self, org_id: str) -> dict:
        return self.views.organization(await self.store.orgs.load(org_id))

    async def org_update(self, req: Request) -> dict:
        c, p = req.parse(w.UpdateOrganization), req.principal
        org = await self.change(self.store.orgs, c.id, c.expectedVersion, lambda o, _: o.rename(c.name, p, now()),
                                by=p, action=d.Action.MANAGE_ORG)
        return self.views.organization(org)

    async def org_appoint(self, req: Request) -> dict:
        c, p = req.parse(w.Appoint), req.principal
        pos = c.position
        if pos.memberId:
            await self.scoped(self.store.members, pos.memberId, p)
        position = d.Position(holder_name=pos.holderName, member_id=pos.memberId, unit_id=pos.unitId,
                              role=d.PositionRole(pos.role), term=d.Term(start=pos.termStart, end=pos.termEnd))
        org = await self.change(self.store.orgs, c.id, c.expectedVersion,
                                lambda o, _: o.appoint(position, p, now()), by=p, action=d.Action.MANAGE_ORG)
        return self.views.organization(org)

    async def org_end_position(self, req: Request) -> dict:
        c, p = req.parse(w.EndPosition), req.principal
        org = await self.change(self.store.orgs, c.id, c.expectedVersion, lambda o, _: o.end_position(
            d.PositionRole(c.role), c.holderName, c.end, p, now()), by=p, action=d.Action.MANAGE_ORG)
        return self.views.organization(org)

    async def org_add_unit(self, req: Request) -> dict:
        c, p = req.parse(w.CommitteeUnit), req.principal

        async def add(org: d.Organization, uow: UnitOfWork) -> None:
            unit = await self.scoped(self.store.units, c.unitId, p, uow)
            area = org.anchor_path[-2] if len(org.anchor_path) > 1 else org.anchor_id
            if area not in unit.region_path:  # 驻区单位: a unit of the committee's street or township
                raise BadInput(f"unit {unit.name} is not in the area of {org.name}",
                               {"unitId": unit.id, "regionId": unit.region_path[-1]})
            org.add_unit(unit.id, p, now())

        return self.views.organization(await self.change(self.store.orgs, c.id, c.expectedVersion, add,
                                                         by=p, action=d.Action.MANAGE_ORG))

    async def org_remove_unit(self, req: Request) -> dict:
        c, p = req.parse(w.CommitteeUnit), req.principal
        org = await self.change(self.store.orgs, c.id, c.expectedVersion,
                                lambda o, _: o.remove_unit(c.unitId, p, now()), by=p, action=d.Action.MANAGE_ORG)
        return self.views.organization(org)

    async def org_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        org = await self.readable(p, self.store.orgs, q.id)
        return self.views.organization(org) if org else None

    async def org_batch(self, req: Request) -> dict:
        return await self._batch(req, self.store.orgs, lambda p, o: self.views.organization(o))

    async def _batch(self, req: Request, repo: Records, view: Callable[[Principal, Any], dict]) -> dict:
        return await self.batch(req.parse(ByIds).ids, req.principal, repo, view)

    async def org_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListOrganizations), req.principal
        region = self.scope_path(p, q.regionId)
        query: dict[str, Any] = self.subtree(region)
        if q.type:
            query["type"] = q.type
        if q.parentId:
            query["parent_id"] = q.parentId
        if q.weak is not None:
            query["weak"] = q.weak
        orgs, total, more = await self.store.orgs.page(query, q.first, q.after)
        return page_reply([self.views.organization(o) for o in orgs], total, more)

    # -- members -------------------------------------------------------------------------
    async def member_register(self, req: Request) -> dict:
        c, p = req.parse(w.RegisterMember), req.principal
        home = self.node(c.homeBuildingId, "building") if c.homeBuildingId else None
        id_indexes = self.cipher.blind_indexes(c.idNumber) if c.idNumber else []

        async def register(uow: UnitOfWork) -> str:
            org = await self.scoped(self.store.orgs, c.organizationId, p, uow)
            member = d.PartyMember.register(
                id=new_id("pm"), name=c.name, gender=d.Gender(c.gender), birth_date=c.birthDate,
                join_date=c.joinDate, category=d.MemberCategory(c.category), org=org, by=p, now=now(), home=home,
                phone_enc=self.cipher.encrypt(c.phone), phone_index=self.cipher.blind_index(c.phone) if c.phone else None,
                id_number_enc=self.cipher.encrypt(c.idNumber), id_number_index=id_indexes[0] if id_indexes else None)
            if id_indexes:
                await self.store.claim_key(uow, ID_NUMBER_KEY + id_indexes[0], member.id,
                                           "a member with this ID number is already registered",
                                           also=[ID_NUMBER_KEY + i for i in id_indexes[1:]])
            await self.put(uow, self.store.members, member)
            return member.id

        return await self.idempotent(p, "member.register", c.idempotencyKey, register,
                                     lambda i: self._member_view(p, i))

    async def _member_view(self, p: Principal, member_id: str) -> dict:
        return self.views.member(p, await self.store.members.load(member_id))

    async def member_update(self, req: Request) -> dict:
        c, p = req.parse(w.UpdateMember), req.principal
        home = self.node(c.homeBuildingId, "building") if c.homeBuildingId else None
        member = await self.change(self.store.members, c.id, c.expectedVersion, lambda m, _: m.update(
            p, now(), category=d.MemberCategory(c.category) if c.category else None, home=home,
            phone_enc=self.cipher.encrypt(c.phone) if c.phone else None,
            phone_index=self.cipher.blind_index(c.phone) if c.phone else None), by=p, action=d.Action.MANAGE_MEMBER)
        return self.views.member(p, member)

    async def member_reveal(self, req: Request) -> dict:
        c, p = req.parse(w.RevealMember), req.principal
        member = await self.change(self.store.members, c.memberId, None,
                                   lambda m, _: m.reveal_contact(p, c.reason, now()), by=p,
                                   action=d.Action.MANAGE_MEMBER)
        return {"phone": self.cipher.decrypt(member.phone_enc), "idNumber": self.cipher.decrypt(member.id_number_enc)}

    async def member_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        member = await self.readable(p, self.store.members, q.id)
        return self.views.member(p, member) if member else None

    async def member_batch(self, req: Request) -> dict:
        return await self._batch(req, self.store.members, self.views.member)

    async def member_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListMembers), req.principal
        if q.organizationId:
            org = await self.scoped(self.store.orgs, q.organizationId, p)
            query: dict[str, Any] = {"org_id": org.id}
        else:
            query = self.subtree(self.scope_path(p, q.regionId))
        if q.category:
            query["category"] = q.category
        members, total, more = await self.store.members.page(query, q.first, q.after)
        return page_reply([self.views.member(p, m) for m in members], total, more)

    # -- transfers -----------------------------------------------------------------------
    async def transfer_request(self, req: Request) -> dict:
        c, p = req.parse(w.RequestTransfer), req.principal

        async def work(uow: UnitOfWork) -> d.Transfer:
            member = await self.scoped(self.store.members, c.memberId, p, uow)
            version, before = member.version, member.model_copy(deep=True)
            from_org = await self.store.orgs.load(member.org_id, uow)
            to_org = await self.store.orgs.load(c.toOrganizationId, uow)
            transfer = d.request_transfer(id=new_id("tr"), member=member, from_org=from_org, to_org=to_org, by=p,
                                          now=now(), reason=c.reason,
                                          deadline_days=c.deadlineDays or self.settings.org_transfer_deadline_days)
            await self.put(uow, self.store.members, member, before, version)
            await self.put(uow, self.store.transfers, transfer)
            return transfer

        return self.views.transfer(await self.rt.transact(work))

    async def _decide(self, req: Request, decide: Callable[[d.Transfer, d.PartyMember, UnitOfWork], Awaitable[None]],
                      may: Callable[[Principal, d.Transfer], None]) -> dict:
        c, p = req.parse(w.DecideTransfer), req.principal

        async def work(uow: UnitOfWork) -> d.Transfer:
            transfer = await self.scoped(self.store.transfers, c.id, p, uow)
            may(p, transfer)  # before the version: a caller who may not decide learns nothing of it
            if c.expectedVersion is not None and c.expectedVersion != transfer.version:
                raise Conflict(f"transfer {c.id} is at version {transfer.version}, not {c.expectedVersion}",
                               {"currentVersion": transfer.version})
            member = await self.store.members.load(transfer.member_id, uow)
            tv, mv, before = transfer.version, member.version, member.model_copy(deep=True)
            await decide(transfer, member, uow)
            await self.put(uow, self.store.transfers, transfer, None, tv)
            await self.put(uow, self.store.members, member, before, mv)
            return transfer

        return self.views.transfer(await self.rt.transact(work))

    async def transfer_approve(self, req: Request) -> dict:
        p = req.principal

        async def approve(t: d.Transfer, m: d.PartyMember, uow: UnitOfWork) -> None:
            d.approve_transfer(t, m, await self.store.orgs.load(t.to_org_id, uow), p, now())

        return await self._decide(req, approve, d.authorize_decision)

    async def transfer_reject(self, req: Request) -> dict:
        p, reason = req.principal, req.parse(w.DecideTransfer).reason

        async def reject(t: d.Transfer, m: d.PartyMember, uow: UnitOfWork) -> None:
            d.reject_transfer(t, m, reason, p, now())

        return await self._decide(req, reject, d.authorize_decision)

    async def transfer_cancel(self, req: Request) -> dict:
        p, reason = req.principal, req.parse(w.DecideTransfer).reason

        async def cancel(t: d.Transfer, m: d.PartyMember, uow: UnitOfWork) -> None:
            d.cancel_transfer(t, m, p, now(), reason)

        return await self._decide(req, cancel, lambda by, t: d.authorize_either_side(by, d.Action.REQUEST_TRANSFER, t))

    async def transfer_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        t = await self.readable(p, self.store.transfers, q.id)
        return self.views.transfer(t) if t else None

    async def transfer_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListTransfers), req.principal
        region = self.scope_path(p, q.regionId)
        query: dict[str, Any] = {"$or": [{"path": region}, {"to_path": region}]} if region else {}
        if q.memberId:
            query["member_id"] = q.memberId
        if q.status:
            query["status"] = q.status
        if q.overdue is not None:
            query["status"] = "REQUESTED"
            query["deadline_at"] = {"$lt": now()} if q.overdue else {"$gte": now()}
        items, total, more = await self.store.transfers.page(query, q.first, q.after)
        return page_reply([self.views.transfer(t) for t in items], total, more)

    # -- 双报到 ---------------------------------------------------------------------------
    async def dual_register(self, req: Request) -> dict:
        c, p = req.parse(w.DualRegister), req.principal
        community = self.node(c.communityId, "community")
        member = await self.change(self.store.members, c.memberId, None,
                                   lambda m, _: m.dual_register(community, p, now()), by=p,
                                   action=d.Action.DUAL_REGISTER)
        return self.views.member(p, member)

    async def dual_end(self, req: Request) -> dict:
        c, p = req.parse(w.EndDual), req.principal
        member = await self.change(self.store.members, c.memberId, None,
                                   lambda m, _: m.end_dual_registration(p, now(), c.reason), by=p,
                                   action=d.Action.DUAL_REGISTER)
        return self.views.member(p, member)

    async def dual_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListDual), req.principal
        self.scope_path(p, q.communityId)
        members, total, more = await self.store.members.page({"dual_community": q.communityId}, q.first, q.after)
        return page_reply([self.views.member(p, m) for m in members], total, more)

    async def twin_register(self, req: Request) -> dict:
        c, p = req.parse(w.TwinUnit), req.principal
        community = self.node(c.communityId, "community")

        async def work(uow: UnitOfWork) -> d.UnitTwinning:
            branch = await self.store.orgs.load(c.branchId, uow)
            twin = d.UnitTwinning.register(branch=branch, community=community, by=p, now=now())
            await self.put(uow, self.store.twinnings, twin)
            return twin

        return self.views.twinning(await self.rt.transact(work))

    async def twin_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListTwinnings), req.principal
        self.scope_path(p, q.communityId)
        items, total, more = await self.store.twinnings.page({"community_id": q.communityId}, q.first, q.after)
        return page_reply([self.views.twinning(t) for t in items], total, more)

    # -- units and linkages --------------------------------------------------------------
    def contacts(self, contacts: list[w.ContactInput]) -> list[d.Contact]:
        return [d.Contact(name=c.name, title=c.title, phone_enc=self.cipher.encrypt(c.phone)) for c in contacts]

    async def unit_register(self, req: Request) -> dict:
        c, p = req.parse(w.RegisterUnit), req.principal
        region = self.node(c.regionId, p=p)

        async def register(uow: UnitOfWork) -> str:
            unit = d.Unit.register(id=new_id("un"), name=c.name, kind=d.UnitKind(c.kind), region=region,
                                   contacts=self.contacts(c.contacts), by=p, now=now())
            await self.put(uow, self.store.units, unit)
            return unit.id

        return await self.idempotent(p, "unit.register", c.idempotencyKey, register,
                                     lambda i: self._unit_view(p, i))

    async def _unit_view(self, p: Principal, unit_id: str) -> dict:
        return self.views.unit(p, await self.store.units.load(unit_id))

    async def unit_update(self, req: Request) -> dict:
        c, p = req.parse(w.UpdateUnit), req.principal
        contacts = self.contacts(c.contacts)
        unit = await self.change(self.store.units, c.id, c.expectedVersion,
                                 lambda u, _: u.set_contacts(contacts, p, now()), by=p, action=d.Action.MANAGE_UNIT)
        return self.views.unit(p, unit)

    async def unit_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        unit = await self.readable(p, self.store.units, q.id)
        return self.views.unit(p, unit) if unit else None

    async def unit_batch(self, req: Request) -> dict:
        return await self._batch(req, self.store.units, self.views.unit)

    async def unit_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListUnits), req.principal
        if q.committeeId:
            org = await self.scoped(self.store.orgs, q.committeeId, p)
            found = await self.store.units.many(org.unit_ids)
            units = [found[i] for i in org.unit_ids if i in found]
            return page_reply([self.views.unit(p, u) for u in units], len(units), False)
        query: dict[str, Any] = self.subtree(self.scope_path(p, q.regionId))
        if q.kind:
            query["kind"] = q.kind
        items, total, more = await self.store.units.page(query, q.first, q.after)
        return page_reply([self.views.unit(p, u) for u in items], total, more)

    async def linkage_record(self, req: Request) -> dict:
        c, p = req.parse(w.RecordLinkage), req.principal

        async def work(uow: UnitOfWork) -> d.Linkage:
            link = d.Linkage.record(
                id=new_id("lk"), estate=c.estate, committee=await self.scoped(self.store.orgs, c.committeeId, p, uow),
                property_company=await self.scoped(self.store.units, c.propertyCompanyId, p, uow),
                owners_committee=await self.scoped(self.store.units, c.ownersCommitteeId, p, uow), by=p, now=now())
            await self.put(uow, self.store.linkages, link)
            return link

        return self.views.linkage(await self.rt.transact(work))

    async def linkage_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListByRegion), req.principal
        items, total, more = await self.store.linkages.page(self.subtree(self.scope_path(p, q.regionId)),
                                                            q.first, q.after)
        return page_reply([self.views.linkage(x) for x in items], total, more)

    # -- joint meetings ------------------------------------------------------------------
    async def meeting_schedule(self, req: Request) -> dict:
        c, p = req.parse(w.ScheduleMeeting), req.principal

        async def schedule(uow: UnitOfWork) -> str:
            committee = await self.scoped(self.store.orgs, c.committeeId, p, uow)
            history = await self.store.chair_history(committee.id, uow)
            meeting = d.JointMeeting.schedule(id=new_id("jm"), committee=committee, scheduled_at=c.scheduledAt,
                                              chair_history=history, unavailable=set(c.unavailableUnitIds),
                                              by=p, now=now())
            await self.put(uow, self.store.meetings, meeting)
            return meeting.id

        return await self.idempotent(p, "meeting.schedule", c.idempotencyKey, schedule, self._meeting_view)

    async def _meeting_view(self, meeting_id: str) -> dict:
        return self.views.meeting(await self.store.meetings.load(meeting_id))

    async def meeting_agenda(self, req: Request) -> dict:
        c, p = req.parse(w.AgendaInput), req.principal
        m = await self.change(self.store.meetings, c.id, c.expectedVersion, lambda m, _: m.add_agenda_item(
            d.AgendaSource(c.source), c.ref, c.title, p, now()), by=p, action=d.Action.RECORD_MEETING)
        return self.views.meeting(m)

    async def meeting_minutes(self, req: Request) -> dict:
        c, p = req.parse(w.MinutesInput), req.principal
        m = await self.change(self.store.meetings, c.id, c.expectedVersion, lambda m, _: m.record_minutes(
            c.minutes, c.attendedUnitIds, c.attendedMemberIds, p, now()), by=p, action=d.Action.RECORD_MEETING)
        return self.views.meeting(m)

    async def meeting_resolution(self, req: Request) -> dict:
        c, p = req.parse(w.ResolutionInput), req.principal
        m = await self.change(self.store.meetings, c.id, c.expectedVersion,
                              lambda m, _: m.add_resolution(c.text, c.actionItems, p, now(), c.agendaItemIds),
                              by=p, action=d.Action.MANAGE_MEETING)
        return self.views.meeting(m)

    async def meeting_raise_hotspot(self, req: Request) -> dict:
        """Put a case hotspot on the agenda of the community's next joint meeting (or the one
        named), with the cases behind it as `cases` reports them now."""
        c, p = req.parse(w.RaiseHotspot), req.principal
        grid = self.node(c.gridId, "grid", p)
        if grid.level != "GRID" or len(grid.path) < 2:
            raise BadInput(f"a hotspot is in a GRID; {grid.name or grid.id} is a {grid.level}", {"gridId": grid.id})
        meeting = await self._meeting_for(p, grid.path[-2], c.meetingId)
        d.authorize(p, d.Action.RECORD_MEETING, meeting)  # before reading cases on the caller's behalf
        until = c.until or now()
        spot = await self.rt.rpc.call("cases", "hotspot.cases", {
            "gridId": grid.id, "categoryCode": c.categoryCode, "since": c.since.isoformat(),
            "until": until.isoformat(), "first": d.MAX_HOTSPOT_CASES}, self.rt.token())
        m = await self.change(self.store.meetings, meeting.id, None, by=p, action=d.Action.RECORD_MEETING,
                              command=lambda m, _: m.raise_hotspot(
            grid_id=grid.id, grid_path=grid.path, category_code=c.categoryCode, category_name=spot["categoryName"],
            grid_name=spot["gridName"], since=c.since, until=until, case_ids=spot["caseIds"], count=spot["total"],
            by=p, now=now()))
        return self.views.meeting(m)

    async def _meeting_for(self, p: Principal, community_id: str, meeting_id: str | None) -> d.JointMeeting:
        if meeting_id:
            m = await self.scoped(self.store.meetings, meeting_id, p)
            if m.community_id != community_id:
                raise BadInput(f"meeting {meeting_id} is not held by this grid's community")
            return m
        key = await self.store.keys.find_one({"_id": f"org:{d.uniqueness_key(d.OrgType.COMMUNITY_COMMITTEE, community_id)}"})
        if key is None:
            raise NotFound(f"community {community_id} has no 大党委 (COMMUNITY_COMMITTEE) to deliberate it")
        at = now()
        upcoming = [m for m in await self.store.meetings.find({"committee_id": key["owner"]})
                    if m.held_at is None and m.scheduled_at >= at]
        if not upcoming:
            raise Conflict("the 大党委 has no joint meeting coming up; schedule one (scheduleJointMeeting) first",
                           {"committeeId": key["owner"]})
        return min(upcoming, key=lambda m: m.scheduled_at)

    async def meeting_request_case(self, req: Request) -> dict:
        """Record the case request with the meeting (so it survives any failure), then create
        the case at once; the consumer of CASE_REQUESTED retries if this attempt fails."""
        c, p = req.parse(w.CaseFromItem), req.principal

        def request(m: d.JointMeeting, _: UnitOfWork) -> None:
            grid = self.node(c.gridId, "grid")
            if grid.level != "GRID" or m.community_id not in grid.path:
                raise BadInput(f"{grid.name or grid.id} is not a grid of community {m.community_id}",
                               {"gridId": grid.id})
            m.request_case(c.itemId, c.categoryCode, c.description, p, now(), grid_id=grid.id)

        m = await self.change(self.store.meetings, c.id, c.expectedVersion, request, by=p,
                              action=d.Action.MANAGE_MEETING)
        try:
            m = await self.create_case(m.id, c.itemId)
        except DomainError as e:
            log.warning("case for %s item %s not created yet (%s); it will be retried", m.id, c.itemId, e)
        return self.views.meeting(m)

    async def create_case(self, meeting_id: str, item_id: str) -> d.JointMeeting:
        """Report the action item's case to `cases` (idempotent by key) and link it."""
        meeting = await self.store.meetings.load(meeting_id)
        item = meeting.item(item_id)
        if item.case_id is not None or item.case_request is None:
            return meeting
        committee = await self.store.orgs.get(meeting.committee_id)
        payload = {**item.case_request, "reporterName": committee.name if committee else "党建联席会议",
                   "source": item.case_request["idempotencyKey"]}
        case = await self.rt.rpc.call("cases", "case.report", payload, self.rt.token())

        async def link(uow: UnitOfWork) -> d.JointMeeting:
            m = await self.store.meetings.load(meeting_id, uow)
            version = m.version
            if m.link_case(item_id, case["id"], now(), case["status"]):
                await self.store.db.case_links.update_one(
                    {"_id": case["id"]}, {"$setOnInsert": {"meeting_id": m.id, "item_id": item_id, "version": 0}},
                    upsert=True, session=uow.session)
                await self.put(uow, self.store.meetings, m, None, version)
            return m

        return await self.rt.transact(link)

    async def meeting_get(self, req: Request) -> dict | None:
        q, p = req.parse(ById), req.principal
        m = await self.readable(p, self.store.meetings, q.id)
        return self.views.meeting(m) if m else None

    async def meeting_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListMeetings), req.principal
        if q.committeeId:
            org = await self.scoped(self.store.orgs, q.committeeId, p)
            query: dict[str, Any] = {"committee_id": org.id}
        else:
            query = self.subtree(self.scope_path(p, q.regionId))
        items, total, more = await self.store.meetings.page(query, q.first, q.after)
        return page_reply([self.views.meeting(m) for m in items], total, more)

    # -- organisational life -------------------------------------------------------------
    async def life_record(self, req: Request) -> dict:
        c, p = req.parse(w.RecordLife), req.principal
        key = f"life.record:{p.sub}:{c.idempotencyKey}" if c.idempotencyKey else None

        async def work(uow: UnitOfWork) -> dict:
            if key and (done := await recall(uow, key)):
                return done
            org = await self.scoped(self.store.orgs, c.organizationId, p, uow)
            version, before = org.version, org.model_copy(deep=True)
            record = d.record_life(org, id=new_id("ol"), kind=d.LifeKind(c.kind), held_at=c.heldAt,
                                   topic=c.topic, attendance=c.attendance, by=p, now=now(), minutes=c.minutes)
            await self.store.insert_life(uow, record)
            await self.put(uow, self.store.orgs, org, before, version)
            view = self.views.life(record)
            if key:
                await remember(uow, key, view)
            return view

        return await self.rt.transact(work)

    async def life_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListLife), req.principal
        org = await self.scoped(self.store.orgs, q.organizationId, p)
        items, total, more = await self.store.life_page(org.id, q.first, q.after)
        return page_reply([self.views.life(r) for r in items], total, more)

    # -- the three lists -----------------------------------------------------------------
    async def need_post(self, req: Request) -> dict:
        c, p = req.parse(w.PostNeed), req.principal
        community = self.node(c.communityId, "community", p)
        if community.level != "COMMUNITY":
            raise BadInput(f"needs are posted by a COMMUNITY, not a {community.level}")

        async def work(uow: UnitOfWork) -> d.Need:
            need = d.Need.post(id=new_id("nd"), community=community, title=c.title, description=c.description,
                               by=p, now=now())
            await self.put(uow, self.store.needs, need)
            return need

        return self.views.need(await self.rt.transact(work))

    async def resource_offer(self, req: Request) -> dict:
        c, p = req.parse(w.OfferResource), req.principal

        async def work(uow: UnitOfWork) -> d.Resource:
            res = d.Resource.offer(id=new_id("rs"), unit=await self.scoped(self.store.units, c.unitId, p, uow), title=c.title,
                                   description=c.description, by=p, now=now())
            await self.put(uow, self.store.resources, res)
            return res

        return self.views.resource(await self.rt.transact(work))

    async def project_propose(self, req: Request) -> dict:
        c, p = req.parse(w.ProposeProject), req.principal

        async def work(uow: UnitOfWork) -> d.Project:
            need = await self.scoped(self.store.needs, c.needId, p, uow)
            res = await self.scoped(self.store.resources, c.resourceId, p, uow)
            project = d.Project.propose(id=new_id("pj"), need=need, resource=res, title=c.title, by=p, now=now())
            await self.put(uow, self.store.projects, project)
            return project

        return self.views.project(await self.rt.transact(work))

    async def project_move(self, req: Request) -> dict:
        c, p = req.parse(w.MoveProject), req.principal
        project = await self.change(self.store.projects, c.id, c.expectedVersion, lambda x, _: x.move_to(
            d.ProjectStatus(c.status), p, now(), c.note), by=p, action=d.Action.MANAGE_LISTS)
        return self.views.project(project)

    async def _region_list(self, req: Request, repo: Records, view: Callable[[Any], dict]) -> dict:
        q, p = req.parse(w.ListByRegion), req.principal
        items, total, more = await repo.page(self.subtree(self.scope_path(p, q.regionId)), q.first, q.after)
        return page_reply([view(x) for x in items], total, more)

    async def need_list(self, req: Request) -> dict:
        return await self._region_list(req, self.store.needs, self.views.need)

    async def resource_list(self, req: Request) -> dict:
        return await self._region_list(req, self.store.resources, self.views.resource)

    async def project_list(self, req: Request) -> dict:
        return await self._region_list(req, self.store.projects, self.views.project)

    # -- feedback and figures ------------------------------------------------------------
    async def feedback_list(self, req: Request) -> dict:
        q, p = req.parse(w.ListFeedback), req.principal
        if q.memberId:
            member = await self.scoped(self.store.members, q.memberId, p)
            query: dict[str, Any] = {"member_id": member.id}
        else:
            query = self.subtree(self.scope_path(p, q.regionId))
        if q.quarter:
            query["quarter"] = q.quarter
        items, total, more = await self.store.feedback.page(query, q.first, q.after)
        return page_reply([self.views.feedback(f) for f in items], total, more)

    async def stats(self, req: Request) -> dict:
        q = req.parse(ByIds)
        counters = await self.store.counters(q.ids)
        return self.territory.region_items(q.ids, req.principal,
                                           lambda i: self.views.stats(counters.get(i, {}), *self.counts.get(i)))

    async def trend(self, req: Request) -> dict:
        return await trend_reply(req, self.territory, TREND_METRICS, self.store.trend_days, self.store.counters)

    # -- events from cases and from this service -----------------------------------------
    async def on_own_event(self, event: CloudEvent) -> None:
        """CASE_REQUESTED: make sure the action item's case exists and is linked."""
        if event.event == "CASE_REQUESTED":
            await self.create_case(event.subject, event.data["itemId"])

    async def on_case_event(self, event: CloudEvent) -> None:
        """Progress of joint meetings' action items, from their cases' events."""
        case_id = event.subject
        link = await self.store.db.case_links.find_one({"_id": case_id})
        if link is not None and (event.aggversion or 0) > link.get("version", 0):
            await self._case_progress(link, case_id, event.data.get("status", ""), event.aggversion or 0)

    async def on_volunteer_event(self, event: CloudEvent) -> None:
        """QUARTERLY_FEEDBACK: an in-service member's service in a quarter (orders, activities
        and cases handed to them, as `volunteers` counts it), for their work unit."""
        if event.event != "QUARTERLY_FEEDBACK":
            return
        data = event.data
        await self.set_feedback(data["member_id"], data["quarter"], int(data["feedbackVersion"]),
                                float(data["hours"]), int(data["orders"]) + int(data["activities"]) + int(data["cases"]))

    async def _case_progress(self, link: dict, case_id: str, status: str, version: int) -> None:
        async def work(uow: UnitOfWork) -> None:
            current = await self.store.db.case_links.find_one({"_id": case_id}, session=uow.session)
            if current is None or current.get("version", 0) >= version:
                return
            await self.store.db.case_links.update_one({"_id": case_id}, {"$set": {"version": version}},
                                                      session=uow.session)
            m = await self.store.meetings.load(link["meeting_id"], uow)
            v = m.version
            if status and m.update_case_status(case_id, status, now()):
                await self.put(uow, self.store.meetings, m, None, v)

        await self.rt.transact(work)

    async def set_feedback(self, member_id: str, quarter_text: str, version: int, hours: float,
                           services: int) -> None:
        async def work(uow: UnitOfWork) -> None:
            member = await self.store.members.get(member_id, uow)
            if member is None:
                log.info("feedback for unknown member %s ignored", member_id)
                return
            quarter = d.Quarter.parse(quarter_text)
            record = await self.store.feedback.get(d.feedback_id(member.id, quarter), uow)
            fresh = record is None
            record = record or d.FeedbackRecord.open(member, quarter)
            before = record.version
            if record.set_totals(version, hours, services, now()):
                await self.put(uow, self.store.feedback, record, None, None if fresh else before)

        await self.rt.transact(work)

    def table(self) -> dict:
        return {verb: self.gated(verb, handler) for verb, handler in self.verbs().items()}

    def gated(self, verb: str, handler: Handler) -> Handler:
        """Party records are for staff: every verb refuses other roles before reading anything,
        except a member's own record and 双报到 (for a token naming a `member`) and figures (their
        own rule). A verb that creates a record refuses, as early, a role that may not create it."""
        if verb in ("stats.batch", "trend.series"):
            return handler
        action = CREATES.get(verb)
        roles = d.PERMISSIONS[action] if action else STAFF_ROLES

        async def gate(req: Request) -> Any:
            if not (verb in OWN_VERBS and req.principal.member):
                require_any_role(req.principal, roles, str(action or "read or change party records").replace("_", " "))
            return await handler(req)

        return gate

    def verbs(self) -> dict[str, Handler]:
        return {
            "org.create": self.org_create, "org.update": self.org_update, "org.appoint": self.org_appoint,
            "org.endPosition": self.org_end_position, "org.addUnit": self.org_add_unit,
            "org.removeUnit": self.org_remove_unit, "org.get": self.org_get, "org.batch": self.org_batch,
            "org.list": self.org_list,
            "member.register": self.member_register, "member.update": self.member_update,
            "member.revealContact": self.member_reveal, "member.get": self.member_get,
            "member.batch": self.member_batch, "member.list": self.member_list,
            "transfer.request": self.transfer_request, "transfer.approve": self.transfer_approve,
            "transfer.reject": self.transfer_reject, "transfer.cancel": self.transfer_cancel,
            "transfer.get": self.transfer_get, "transfer.list": self.transfer_list,
            "dual.register": self.dual_register, "dual.end": self.dual_end, "dual.list": self.dual_list,
            "twin.register": self.twin_register, "twin.list": self.twin_list,
            "unit.register": self.unit_register, "unit.update": self.unit_update, "unit.get": self.unit_get,
            "unit.batch": self.unit_batch, "unit.list": self.unit_list,
            "linkage.record": self.linkage_record, "linkage.list": self.linkage_list,
            "meeting.schedule": self.meeting_schedule, "meeting.addAgendaItem": self.meeting_agenda,
            "meeting.recordMinutes": self.meeting_minutes, "meeting.addResolution": self.meeting_resolution,
            "meeting.requestCase": self.meeting_request_case,
            "meeting.raiseHotspot": self.meeting_raise_hotspot, "meeting.get": self.meeting_get,
            "meeting.list": self.meeting_list,
            "life.record": self.life_record, "life.list": self.life_list,
            "need.post": self.need_post, "resource.offer": self.resource_offer,
            "project.propose": self.project_propose, "project.move": self.project_move,
            "need.list": self.need_list, "resource.list": self.resource_list, "project.list": self.project_list,
            "feedback.list": self.feedback_list, "stats.batch": self.stats, "trend.series": self.trend,
        }
