"""`committee.*` (红色业委会), `residents.*` (居委会) and `threeParty.*` (三方联动 meetings whose items
become cases in `cases`, as joint meetings' action items do); rules in domain/committees.py and
domain/three_party.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from services.organizations import domain as d
from services.organizations.deliberation_store import DeliberationStore
from services.organizations.handlers.common import Feature, OrgContext
from services.organizations.views_committees import CommitteeViews
from shared.auth import Principal
from shared.contracts import committees as cm
from shared.errors import DomainError, NotFound
from shared.ids import new_id
from shared.messaging.envelope import CloudEvent
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now

log = logging.getLogger("yiwang.organizations")


class Committees(Feature):
    def __init__(self, ctx: OrgContext):
        super().__init__(ctx)
        self.cv = CommitteeViews(ctx.cipher)
        self.proposals = DeliberationStore(ctx.rt.db).proposals  # 三方联动 items put forward as proposals

    # -- 红色业委会 ------------------------------------------------------------------------
    def new_candidate(self, c: cm.CandidateInput) -> d.NewCandidate:
        """A candidate with their phone and ID number encrypted."""
        return d.NewCandidate(
            name=c.name,
            member_id=c.memberId,
            phone_enc=self.ctx.cipher.encrypt(c.phone),
            id_number_enc=self.ctx.cipher.encrypt(c.idNumber),
        )

    async def create(self, req: Request) -> dict:
        c, p = req.parse(cm.CreateOwnersCommittee), req.principal
        community = self.ctx.node(c.communityId, "community", p)
        buildings = [self.ctx.node(b, "building") for b in dict.fromkeys(c.buildingIds)]
        candidates = [self.new_candidate(x) for x in c.candidates]

        async def create(uow: UnitOfWork) -> str:
            filer = await self.store.orgs.load(c.filedByOrgId, uow)
            for x in candidates:
                if x.member_id:
                    await self.ctx.scoped(self.store.members, x.member_id, p, uow)
            committee = d.OwnersCommittee.create(
                id=new_id("oc"),
                community=community,
                estate=c.estate,
                buildings=buildings,
                filed_by=filer,
                filed_on=c.filedOn,
                seats=c.seats,
                candidates=candidates,
                by=p,
                now=now(),
            )
            await self.store.claim_key(
                uow, committee.key, committee.id, f"{committee.estate} already has an owners' committee in office"
            )
            await self.ctx.put(uow, self.store.owners_committees, committee)
            return committee.id

        return await self.ctx.idempotent(p, "committee.create", c.idempotencyKey, create, self.view)

    async def view(self, committee_id: str) -> dict:
        return self.cv.owners_committee(await self.store.owners_committees.load(committee_id))

    async def change(
        self, p: Principal, committee_id: str, expected: int | None, command: Callable[[Any, UnitOfWork], Any]
    ) -> dict:
        c = await self.ctx.change(
            self.store.owners_committees, committee_id, expected, command, by=p, action=d.Action.MANAGE_COMMITTEE
        )
        return self.cv.owners_committee(c)

    async def add_candidate(self, req: Request) -> dict:
        c, p = req.parse(cm.AddCandidate), req.principal
        new = self.new_candidate(c.candidate)

        async def add(committee: d.OwnersCommittee, uow: UnitOfWork) -> None:
            if new.member_id:
                await self.ctx.scoped(self.store.members, new.member_id, p, uow)
            committee.add_candidate(new, p, now())

        return await self.change(p, c.id, c.expectedVersion, add)

    async def vet(self, req: Request) -> dict:
        """A check recorded; party membership against the member records: the named member exists."""
        c, p = req.parse(cm.VetCandidate), req.principal

        async def vet(committee: d.OwnersCommittee, uow: UnitOfWork) -> None:
            candidate = committee.candidate(c.candidateId)
            on_record = None
            if c.check == "PARTY_MEMBERSHIP":
                on_record = (
                    bool(candidate.member_id)
                    and (await self.store.members.get(candidate.member_id or "", uow)) is not None
                )
            committee.vet(c.candidateId, c.check, c.passed, c.note, p, now(), member_on_record=on_record)

        return await self.change(p, c.id, c.expectedVersion, vet)

    async def elect(self, req: Request) -> dict:
        c, p = req.parse(cm.ElectCommittee), req.principal
        term = d.Term(start=c.termStart, end=c.termEnd)
        return await self.change(p, c.id, c.expectedVersion, lambda x, _: x.elect(c.candidateIds, term, p, now()))

    async def end_term(self, req: Request) -> dict:
        c, p = req.parse(cm.EndCommitteeTerm), req.principal

        async def end(committee: d.OwnersCommittee, uow: UnitOfWork) -> None:
            committee.end_term(c.end, p, now())
            await self.store.release_key(uow, committee.key)  # the estate may form its next committee

        return await self.change(p, c.id, c.expectedVersion, end)

    async def get(self, req: Request) -> dict | None:
        return await self.ctx.read(req, self.store.owners_committees, lambda p, x: self.cv.owners_committee(x))

    async def listing(self, req: Request) -> dict:
        q, p = req.parse(cm.ListCommittees), req.principal
        return await self.ctx.page(
            self.store.owners_committees, self.ctx.list_scope(p, q.regionId), q.first, q.after, self.cv.owners_committee
        )

    # -- 居委会 ---------------------------------------------------------------------------
    async def record_residents(self, req: Request) -> dict:
        c, p = req.parse(cm.RecordResidentsCommittee), req.principal
        community = self.ctx.node(c.communityId, "community", p)
        term = d.Term(start=c.termStart, end=c.termEnd)

        async def record(uow: UnitOfWork) -> d.ResidentsCommittee:
            repo = self.store.residents_committees
            found = await repo.get(d.residents_committee_id(community.id), uow)
            rc = found or d.ResidentsCommittee.open(community, c.name, term, now())
            version, before = rc.version, (found.model_copy(deep=True) if found else None)
            rc.record(c.name, [(m.name, m.role) for m in c.members], term, p, now())
            await self.ctx.put(uow, repo, rc, before, version if found else None)
            return rc

        return self.cv.residents_committee(await self.rt.transact(record))

    async def get_residents(self, req: Request) -> dict | None:
        q, p = req.parse(cm.ByCommunity), req.principal
        self.ctx.territory.visible_path(p, q.communityId, "community")  # FORBIDDEN outside the caller's scope
        rc = await self.store.residents_committees.get(d.residents_committee_id(q.communityId))
        return self.cv.residents_committee(rc) if rc else None

    # -- 三方联动 meetings ------------------------------------------------------------------
    async def record_three_party(self, req: Request) -> dict:
        """Record the meeting with its items' case requests (so they survive any failure), then
        create the cases at once; the consumer of THREE_PARTY_CASE_REQUESTED retries a failed one."""
        c, p = req.parse(cm.RecordThreePartyMeeting), req.principal
        items = [
            d.NewItem(
                title=i.title,
                proposal=i.proposal,
                case=None
                if i.case is None
                else d.CaseAsk(
                    category_code=i.case.categoryCode,
                    grid=self.ctx.node(i.case.gridId, "grid"),
                    description=i.case.description,
                    building=self.ctx.node(i.case.buildingId, "building") if i.case.buildingId else None,
                ),
            )
            for i in c.items
        ]

        async def record(uow: UnitOfWork) -> str:
            at = now()
            owners = await self.ctx.scoped(self.store.owners_committees, c.ownersCommitteeId, p, uow)
            residents = await self.store.residents_committees.get(d.residents_committee_id(owners.community_id), uow)
            if residents is None:
                raise NotFound(
                    f"community {owners.community_id} has no residents' committee (居委会) on record; record it first",
                    {"communityId": owners.community_id},
                )
            meeting = d.ThreePartyMeeting.record(
                id=new_id("tp"),
                owners_committee=owners,
                residents_committee=residents,
                property_company=await self.ctx.scoped(self.store.units, c.propertyCompanyId, p, uow),
                held_at=c.heldAt,
                attendees=[(a.name, a.side) for a in c.attendees],
                minutes=c.minutes,
                items=items,
                by=p,
                now=at,
            )
            community = self.ctx.node(owners.community_id, "community")
            for item in meeting.items:  # put forward as proposals (一征三议): collected with the meeting
                if item.proposal_requested:
                    proposal = d.from_three_party(
                        id=new_id("pp"),
                        meeting_id=meeting.id,
                        item_id=item.id,
                        title=item.title,
                        estate=meeting.estate,
                        community=community,
                        by=p,
                        now=at,
                    )
                    item.proposal_ref = proposal.id
                    await self.ctx.put(uow, self.proposals, proposal)
            await self.ctx.put(uow, self.store.three_party, meeting)
            return meeting.id

        done = await self.ctx.idempotent(p, "threeParty.record", c.idempotencyKey, record, self.view_three_party)
        for item in done["items"]:
            if item["caseRequested"] and not item["caseId"]:
                try:
                    await self.create_case(done["id"], item["id"])
                except DomainError as e:
                    log.warning(
                        "case for %s item %s not created yet (%s); it will be retried", done["id"], item["id"], e
                    )
        return await self.view_three_party(done["id"])

    async def view_three_party(self, meeting_id: str) -> dict:
        return self.cv.three_party(await self.store.three_party.load(meeting_id))

    async def create_case(self, meeting_id: str, item_id: str) -> None:
        """Report the item's case to `cases` (idempotent by key) and link it."""
        meeting = await self.store.three_party.load(meeting_id)
        if not meeting.item(item_id).awaits_case:
            return
        payload = meeting.case_report(item_id, f"三方联动·{meeting.estate}")
        case = await self.rt.rpc.call("cases", "case.report", payload, self.rt.token())

        async def link(uow: UnitOfWork) -> None:
            m = await self.store.three_party.load(meeting_id, uow)
            version, before = m.version, m.model_copy(deep=True)
            if m.link_case(item_id, case["id"], now(), case["status"]):
                await self.ctx.put(uow, self.store.three_party, m, before, version)

        await self.rt.transact(link)

    async def on_own_event(self, event: CloudEvent) -> None:
        """THREE_PARTY_CASE_REQUESTED: make sure the item's case exists and is linked."""
        if event.event == "THREE_PARTY_CASE_REQUESTED":
            await self.create_case(event.subject, event.data["itemId"])

    async def get_three_party(self, req: Request) -> dict | None:
        return await self.ctx.read(req, self.store.three_party, lambda p, m: self.cv.three_party(m))

    async def list_three_party(self, req: Request) -> dict:
        q, p = req.parse(cm.ListCommittees), req.principal
        return await self.ctx.page(
            self.store.three_party, self.ctx.list_scope(p, q.regionId), q.first, q.after, self.cv.three_party
        )
