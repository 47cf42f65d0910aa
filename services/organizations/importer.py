"""`member.import`: up to 500 party members in one transaction (a county's member roster).

The same rules as `member.register`, member by member: the domain's registration checks
(dates, organisation type, home building, the caller's scope), phone and ID number
encrypted with their blind indexes, one member per ID number (the `keys` collection), and
an optional 双报到 with the community where they live. Then, for the whole batch at once:
`insert_many` of the members and of their ID-number keys, the rollup deltas summed into one
increment per region, and the events of every member recorded in the outbox, as for a
register (members are live data: `volunteers` keeps a replica of them).

Events are published by the outbox relay, whose query costs grow with the number of events
waiting: a batch therefore waits (up to `shared.bulk.BACKLOG_WAIT_S`) while more than BACKLOG_MAX events
of this service are not yet published, so a roster import never outruns the relay.

All or nothing: any bad member is a BAD_INPUT (an ID number already registered to someone
else a CONFLICT, a member outside an admin's region FORBIDDEN) naming the member, and nothing
is written. A batch re-sent with the same `importId` returns the first reply; a member whose
id is already stored is skipped.

It works through the service context the verbs use (`handlers.common.OrgContext`: territory
nodes, field cipher, events) and the store's named bulk methods; it calls no handler.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pydantic import ValidationError

from services.organizations import domain as d
from services.organizations.handlers.common import OrgContext
from services.organizations.store import ID_NUMBER_KEY
from shared.auth import Principal, Role
from shared.bulk import run_batch
from shared.contracts.organizations import ImportedMember, ImportMembers
from shared.errors import BadInput, Conflict, DomainError, Forbidden
from shared.ids import is_subject_safe, new_id
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now


@dataclass
class _Prepared:
    """What can be checked and computed before the transaction."""

    index: int
    id: str
    m: ImportedMember
    home: d.Node | None
    community: d.Node | None
    phone_enc: str | None
    phone_index: str | None
    id_number_enc: str | None
    id_number_index: str | None
    earlier_indexes: tuple[str, ...] = ()  # the ID number under the other configured field keys

    @property
    def key(self) -> str | None:
        return ID_NUMBER_KEY + self.id_number_index if self.id_number_index else None

    @property
    def keys(self) -> list[str]:
        """The claim it takes, then the claims that would make it a duplicate."""
        return [ID_NUMBER_KEY + i for i in (self.id_number_index, *self.earlier_indexes) if i]


def _bad(i: int, member_id: str, e: DomainError) -> BadInput:
    return BadInput(f"members[{i}] ({member_id}): {e.message}", {"index": i, "id": member_id, **e.details})


class MemberImporter:
    def __init__(self, ctx: OrgContext):
        self.ctx, self.store, self.rt = ctx, ctx.store, ctx.rt
        # Batches are checked side by side but written one at a time: two would add to the
        # same rollup documents (the county's, the city's) and one of them would conflict.
        self._writing = asyncio.Lock()

    async def handle(self, req: Request) -> dict:
        p = req.principal
        p.require_role(Role.SUPERADMIN, Role.ADMIN, action="import party members")
        c = req.parse(ImportMembers)
        return await run_batch(
            self.rt,
            f"member.import:{c.importId}",
            self._writing,
            "member.import",
            lambda: self.prepare(c),
            lambda uow, prepared: self.write(uow, p, c.importId, prepared),
            "some of these members were registered at the same time; send the batch again",
            len(c.members),
        )

    def prepare(self, c: ImportMembers) -> list[_Prepared]:
        cipher, out = self.ctx.cipher, []
        ids: set[str] = set()
        numbers: dict[str, int] = {}
        for i, m in enumerate(c.members):
            member_id = m.id or new_id("pm")
            if not is_subject_safe(member_id):
                raise BadInput(
                    f"members[{i}]: id {member_id!r} is not lowercase letters, digits, '-' or '_'", {"index": i}
                )
            if member_id in ids:
                raise BadInput(f"members[{i}]: id {member_id} appears twice in the batch", {"index": i})
            ids.add(member_id)
            try:
                home = self.ctx.node(m.homeBuildingId, "building") if m.homeBuildingId else None
                community = self.ctx.node(m.dualCommunityId, "community") if m.dualCommunityId else None
            except DomainError as e:
                raise _bad(i, member_id, e) from None
            id_indexes = cipher.blind_indexes(m.idNumber) if m.idNumber else []
            id_index = id_indexes[0] if id_indexes else None
            if id_index is not None:
                if id_index in numbers:
                    raise BadInput(
                        f"members[{i}] ({member_id}): the same ID number as members[{numbers[id_index]}]",
                        {"index": i, "id": member_id},
                    )
                numbers[id_index] = i
            out.append(
                _Prepared(
                    i,
                    member_id,
                    m,
                    home,
                    community,
                    cipher.encrypt(m.phone),
                    cipher.blind_index(m.phone) if m.phone else None,
                    cipher.encrypt(m.idNumber),
                    id_index,
                    tuple(id_indexes[1:]),
                )
            )
        return out

    async def write(self, uow: UnitOfWork, p: Principal, import_id: str, prepared: list[_Prepared]) -> dict:
        ids = [x.id for x in prepared]
        stored = await self.store.stored_members(uow, ids)
        todo = [x for x in prepared if x.id not in stored]
        orgs = await self.store.orgs_by_id(uow, sorted({x.m.organizationId for x in todo}))
        owners = await self.store.key_owners(uow, [k for x in todo for k in x.keys])
        at, members = now(), []
        for x in todo:
            org = orgs.get(x.m.organizationId)
            if org is None:
                raise BadInput(
                    f"members[{x.index}] ({x.id}): party organisation {x.m.organizationId} does not exist",
                    {"index": x.index, "id": x.id, "organizationId": x.m.organizationId},
                )
            try:
                member = d.PartyMember.register(
                    id=x.id,
                    name=x.m.name,
                    gender=d.Gender(x.m.gender),
                    birth_date=x.m.birthDate,
                    join_date=x.m.joinDate,
                    category=d.MemberCategory(x.m.category),
                    org=org,
                    by=p,
                    now=at,
                    home=x.home,
                    phone_enc=x.phone_enc,
                    phone_index=x.phone_index,
                    id_number_enc=x.id_number_enc,
                    id_number_index=x.id_number_index,
                )
                if x.community is not None:
                    member.dual_register(x.community, p, at)
            except Forbidden as e:
                raise Forbidden(f"members[{x.index}] ({x.id}): {e.message}", {"index": x.index, **e.details}) from None
            except DomainError as e:
                raise _bad(x.index, x.id, e) from None
            except (ValueError, ValidationError) as e:
                raise BadInput(
                    f"members[{x.index}] ({x.id}): {str(e).splitlines()[-1].strip()}", {"index": x.index, "id": x.id}
                ) from None
            if taken := next((owners[k] for k in x.keys if owners.get(k, member.id) != member.id), None):
                raise Conflict(
                    f"members[{x.index}] ({x.id}): a member with this ID number is already registered",
                    {"index": x.index, "existingId": taken},
                )
            members.append(member)
        if members:
            await self.store.insert_members(uow, members)
            await self.store.insert_keys(uow, {x.key: x.id for x in todo if x.key and x.key not in owners})
            await self.store.apply(uow, [delta for m in members for delta in d.deltas(None, m)])
            self.ctx.emit(uow, *members)
        return {
            "importId": import_id,
            "imported": len(members),
            "skipped": [i for i in ids if i in stored],
            "ids": ids,
            "replayed": False,
        }
