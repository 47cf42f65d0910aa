"""`org.import`: up to 500 party organisations in one transaction (a city's party chain: seeding,
onboarding).

The rules of `org.create`, organisation by organisation in the batch's order: an id of the right
form, a territory node in the caller's scope as anchor, a parent (stored already, or earlier in the
batch) of the type above, a 党员中心户's member and a non-territorial branch's unit that exist in the
caller's scope, and one organisation per type and anchor (per member for a 党员中心户: the `keys`
claims, against the store and within the batch). Then, for the whole batch at once: `insert_many`
of the organisations and of their claims, the rollup deltas summed (`OrgStore.apply`), and each
organisation's ORGANIZATION_CREATED event in the outbox, as a create records it.

Why: one `org.create` per organisation added to the same ancestors' rollups every time, so the
creates conflicted with one another beyond a few in flight; a city's party chain (1,150
organisations above the buildings) took minutes.

All or nothing: a bad organisation is refused naming its index and id (BAD_INPUT, a CONFLICT for
a second one of a kind, FORBIDDEN outside the caller's scope); nothing is written. One whose id is
stored already is skipped (an import sent again adds nothing); a batch re-sent with the same
`importId` returns its first reply. Batches are written one at a time and wait while the outbox
relay has more than `shared.bulk.BACKLOG_MAX` events to publish (`shared.bulk.run_batch`).
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError

from services.organizations import domain as d
from services.organizations.handlers.common import OrgContext
from services.organizations.store import ORG_KEY
from shared.auth import Principal, Role
from shared.bulk import named, run_batch
from shared.contracts.organizations import ImportOrganizations
from shared.errors import BadInput, Conflict, DomainError
from shared.ids import check_subject_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now


class OrgImporter:
    def __init__(self, ctx: OrgContext):
        self.ctx, self.store, self.rt = ctx, ctx.store, ctx.rt
        self._writing = asyncio.Lock()  # batches add to the same rollups: one at a time

    async def handle(self, req: Request) -> dict:
        p = req.principal
        p.require_role(Role.SUPERADMIN, Role.ADMIN, action="import party organisations")
        c = req.parse(ImportOrganizations)
        return await run_batch(
            self.rt,
            f"org.import:{c.importId}",
            self._writing,
            "org.import",
            lambda: self.prepare(p, c),
            lambda uow, anchors: self.write(uow, p, c, anchors),
            "some of these organisations were created at the same time; send the batch again",
            len(c.organizations),
        )

    def prepare(self, p: Principal, c: ImportOrganizations) -> list[d.Node]:
        """Each organisation's own checks, in order: its id, its anchor (in scope), a parent not
        later in the batch. The anchors, by index."""
        anchors, seen = [], set()
        position = {o.id: i for i, o in enumerate(c.organizations)}
        for i, o in enumerate(c.organizations):
            try:
                check_subject_id(o.id)
                if o.id in seen:
                    raise BadInput("the id appears twice in the batch")
                if o.parentId is not None and position.get(o.parentId, -1) > i:
                    raise BadInput(f"its parent {o.parentId} comes later in the batch; put it first")
                anchors.append(self.ctx.node(o.anchorId, p=p))
            except DomainError as e:
                raise named("organizations", i, o.id, e) from None
            seen.add(o.id)
        return anchors

    async def write(self, uow: UnitOfWork, p: Principal, c: ImportOrganizations, anchors: list[d.Node]) -> dict:
        items = c.organizations
        ids = [o.id for o in items]
        stored = set(await self.store.orgs_by_id(uow, ids))
        todo = [i for i, o in enumerate(items) if o.id not in stored]
        mine = {items[i].id for i in todo}
        known = await self.store.orgs_by_id(uow, sorted({items[i].parentId for i in todo} - mine - {None}))  # type: ignore[arg-type]
        at, made = now(), []
        for i in todo:
            o = items[i]
            try:
                parent = known.get(o.parentId) if o.parentId else None
                if o.parentId and parent is None:
                    raise BadInput(f"party organisation {o.parentId} does not exist", {"parentId": o.parentId})
                if o.householdMemberId:  # a 党员中心户's member, in the caller's scope
                    await self.ctx.scoped(self.store.members, o.householdMemberId, p, uow)
                if o.unitId:  # committees: a non-territorial branch's unit, in the caller's scope
                    await self.ctx.scoped(self.store.units, o.unitId, p, uow)
                org = d.Organization.create(
                    id=o.id,
                    name=o.name,
                    type=d.OrgType(o.type),
                    anchor=anchors[i],
                    parent=parent,
                    by=p,
                    now=at,
                    household_member_id=o.householdMemberId,
                    unit_id=o.unitId,
                )
            except DomainError as e:
                raise named("organizations", i, o.id, e) from None
            except (ValueError, ValidationError) as e:
                raise named("organizations", i, o.id, BadInput(str(e).splitlines()[-1].strip())) from None
            known[org.id] = org  # its children later in the batch find it here
            made.append((i, org))
        claims: dict[str, tuple[int, d.Organization]] = {}
        for i, org in made:
            if (twin := claims.get(ORG_KEY + org.key)) is not None:
                message = f"{org.anchor_id} already has a {org.type}: organizations[{twin[0]}] of this batch"
                raise named("organizations", i, org.id, Conflict(message, {"existingId": twin[1].id}))
            claims[ORG_KEY + org.key] = (i, org)
        owners = await self.store.key_owners(uow, list(claims))
        for k, owner in owners.items():
            i, org = claims[k]
            if owner != org.id:
                message = f"{org.anchor_id} already has a {org.type}: {owner}"
                raise named("organizations", i, org.id, Conflict(message, {"existingId": owner}))
        orgs = [org for _, org in made]
        if orgs:
            await self.store.orgs.coll.insert_many(
                [self.store.orgs.to_doc(org) for org in orgs], ordered=False, session=uow.session
            )
            await self.store.insert_keys(uow, {k: org.id for k, (_, org) in claims.items() if k not in owners})
            await self.store.apply(uow, [delta for org in orgs for delta in d.deltas(None, org)])
            self.ctx.emit(uow, *orgs)
        return {
            "importId": c.importId,
            "imported": len(orgs),
            "skipped": [i for i in ids if i in stored],
            "ids": ids,
            "replayed": False,
        }
