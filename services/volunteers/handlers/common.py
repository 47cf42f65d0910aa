"""What every volunteers handler shares: the service context (runtime, store, territory,
cipher, views), how a record is saved (store write, rollup deltas, events), the region
lookups, who a command acts for, and how lists (`scope`) and single reads (`visible`) read the
one scope rule of the domain (`domain/policy.py`: `SCOPES`), the gate before a verb reads
anything (`gate`) and where a caller may create (`placed`)."""

from __future__ import annotations

from typing import Any

from services.volunteers import domain as d
from services.volunteers.store import VolunteerStore
from services.volunteers.views import VolunteerViews
from shared.auth import Principal, Role, require_any_role
from shared.commands import RecordCommands
from shared.errors import BadInput, Forbidden, NotFound
from shared.messaging.envelope import make_event
from shared.mongo import UnitOfWork
from shared.privacy import FieldCipher
from shared.records import Records
from shared.service import ServiceRuntime
from shared.settings import Settings
from shared.territory import TerritoryReplica

SERVICE = "volunteers"
RACE_RETRIES = 8  # claims, sign-ups and grabs that lose a version race run again on the fresh record


class Context(RecordCommands):
    """The service context every handler works over."""

    def __init__(self, rt: ServiceRuntime, store: VolunteerStore, territory: TerritoryReplica, cipher: FieldCipher):
        self.rt, self.store, self.territory, self.cipher = rt, store, territory, cipher
        s = rt.settings
        self.settings: Settings = s
        self.rules = d.PointsRules(
            points_per_hour=s.points_per_hour,
            expiry_days=s.points_expiry_days,
            only_credit_hours=s.points_only_credit_hours,
            multipliers={d.PostType(k): v for k, v in s.points_multipliers.items()},
        )
        self.views = VolunteerViews(cipher, self.region_name)

    # -- territory -----------------------------------------------------------------------
    def region_name(self, region_id: str) -> str:
        node = self.territory.get(region_id)
        return node["name"] if node else region_id

    def path(self, region_id: str, *levels: str) -> list[str]:
        """The region's path, if the replica knows it and it is at one of `levels` (any if none)."""
        node = self.territory.get(region_id)
        if node is None:
            raise NotFound(f"region {region_id} is not known here (yet)")
        if levels and node["level"] not in levels:
            raise BadInput(
                f"{node['name']} is a {node['level']}; expected {' or '.join(levels)}", {"regionId": region_id}
            )
        return list(node["path"])

    def level(self, region_id: str) -> str | None:
        node = self.territory.get(region_id)
        return node["level"] if node else None

    def community_path(self, region_id: str) -> list[str]:
        """The path of the community a region (community, grid or building) lies in."""
        path = self.path(region_id, "COMMUNITY", "GRID", "BUILDING")
        return d.community_path(region_id, path, [self.level(r) for r in path])

    # -- scope: the domain's rule (d.SCOPES), read by single reads and lists -----------------
    def scope(self, p: Principal, region_id: str | None, repo: Records) -> dict:
        """The filter of a list of `repo`'s records: what the caller sees of them (`d.SCOPES`), in
        the region asked for (in their scope), or in their whole scope; a caller with no region
        names one."""
        require_any_role(p, d.PERMISSIONS[d.Action.VIEW], "list volunteer records")
        if not (region_id or p.unrestricted or p.region):
            raise Forbidden("name a region to list")
        return self.territory.within(p, region_id, d.SCOPES[repo.model.kind]).filter()

    @staticmethod
    def gate(p: Principal, *actions: d.Action) -> None:
        """Before anything is read: the caller's role may do one of `actions` at all."""
        roles = frozenset().union(*(d.PERMISSIONS[a] for a in actions))
        require_any_role(p, roles, " or ".join(str(a).replace("_", " ") for a in actions))

    def placed(self, p: Principal, action: d.Action, region_id: str) -> None:
        """Before a create reads anything else: the role may do `action`, and the region is in the
        caller's scope (a resident's scope is their own records: they act anywhere)."""
        self.gate(p, action)
        if p.role is not Role.RESIDENT:
            self.territory.visible_path(p, region_id)

    def visible(self, p: Principal, record: Any) -> bool:
        """In scope (`d.SCOPES`; residents: their own), or the order the caller took."""
        return d.in_scope(p, record) or (isinstance(record, d.ServiceOrder) and record.taker_sub == p.sub)

    def authorize(self, p: Principal, action: Any, record: Any) -> None:
        d.authorize(p, action, record)

    # -- writing -------------------------------------------------------------------------
    def emit(self, uow: UnitOfWork, record: Any) -> None:
        for e in record.drain_events():
            uow.record(
                make_event(
                    SERVICE,
                    e.type,
                    e.subject_id,
                    {"kind": e.subject_kind, **e.data},
                    path=list(e.region_path),
                    actor=e.actor,
                    version=e.version,
                    at=e.at,
                    id=e.event_id,
                )
            )

    async def add_rollups(self, uow: UnitOfWork, before: Any | None, after: Any) -> None:
        await self.store.apply(uow, [d.RollupDelta.between(before, after)])
        if isinstance(after, d.ServiceOrder):  # units take service orders: the figures per unit
            await self.store.apply_units(uow, d.unit_deltas(before, after))

    # -- who a command acts for ----------------------------------------------------------
    async def me(self, p: Principal, volunteer_id: str | None = None, uow: UnitOfWork | None = None) -> d.Volunteer:
        """The volunteer a command acts for: the caller's own record, or (for staff and the
        service) the one named."""
        if volunteer_id and d.acts_for_others(p):
            volunteer: d.Volunteer = await self.scoped(self.store.volunteers, volunteer_id, p, uow)
            return volunteer
        return d.own_volunteer(p, volunteer_id, await self.store.by_sub(p.sub, uow))
