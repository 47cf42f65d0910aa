"""Role assignments (`domain/roles.py`): give a person a role in a region, revoke it, list them,
read one. Every change is an event (ROLE_ASSIGNED / ROLE_REVOKED, naming who made it): the audit
trail, and what the other services' replicas sign people in from."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from services.grids.domain import roles as rules
from services.grids.handlers.context import SERVICE, GridContext
from shared.auth import Principal, Role, hidden, public_actor, subject_key
from shared.commands import page_reply
from shared.contracts.grids import AssignRole, ListRoles, RoleOf
from shared.errors import Conflict, Forbidden, NotFound
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now

COLLECTION = "role_assignments"
INDEXES = [IndexModel([("active", ASCENDING), ("path", ASCENDING), ("_id", ASCENDING)])]


def role_dto(d: dict) -> dict[str, Any]:
    return {
        "id": d["_id"],
        "sub": d["_id"],
        "role": d["role"],
        "regionId": d["regionId"],
        "regionName": d.get("regionName"),
        "dept": d.get("dept"),
        "member": d.get("member"),
        "assignedBy": d["assignedBy"],
        "assignedAt": d["assignedAt"],
        "version": d["version"],
    }


def claims_of(d: dict) -> dict[str, str]:
    """What a token would say of this person (`shared.identity` signs them in with it)."""
    return rules.Assignment(
        d["_id"], Role(d["role"]), d["regionId"], tuple(d["path"]), d.get("dept"), d.get("member")
    ).claims()


def role_event(p: Principal, name: str, d: dict, previous: str | None, secret: str) -> CloudEvent:
    """Named by the keyed hash of the person's `sub` (never the `sub` itself, on the bus)."""
    key = subject_key(secret, d["_id"])
    view = {
        "subKey": key,
        "role": d["role"],
        "regionId": d["regionId"],
        "dept": d.get("dept"),
        "member": d.get("member"),
    }
    return make_event(
        SERVICE,
        name,
        key,
        {"assignment": view, "previousRole": previous},
        path=d["path"],
        actor=public_actor(p),
        version=d["version"],
    )


class Roles:
    def __init__(self, ctx: GridContext):
        self.ctx = ctx
        self.coll = ctx.rt.db[COLLECTION]
        ctx.rt.indexes[COLLECTION] = INDEXES
        ctx.rt.verifier.assignments = self  # people signed in by `sub` alone: their role from here

    async def assign(self, req: Request) -> dict:
        c, p, ctx = req.parse(AssignRole), req.principal, self.ctx
        role = rules.parse_role(c.role)

        async def work(uow: UnitOfWork) -> dict:
            region = await ctx.load_in_scope(p, c.regionId, uow)
            a = rules.Assignment(c.sub, role, region["_id"], tuple(region["path"]), c.dept, c.member)
            rules.check_may_assign(p, a, region["level"])
            old = await self.coll.find_one({"_id": c.sub}, session=uow.session)
            held = old if old and old["active"] else None  # a revoked one stays as a tombstone (its version)
            rules.check_may_change(p, c.sub, tuple(held["path"]) if held else None)
            if held is not None and a.held_by(held):
                return held
            d = {
                "_id": c.sub,
                "role": str(role),
                "regionId": region["_id"],
                "regionName": region["name"],
                "path": region["path"],
                "dept": c.dept,
                "member": c.member,
                "assignedBy": p.sub,
                "assignedAt": now(),
                "active": True,
                "version": (old["version"] + 1) if old else 1,
            }
            if old is None:
                uow.insert(COLLECTION, d)
            else:
                changed = Conflict(f"the role of {c.sub} changed meanwhile; read it and try again", {"sub": c.sub})
                uow.replace(COLLECTION, {"_id": c.sub, "version": old["version"]}, d, changed)
            uow.record(role_event(p, "ROLE_ASSIGNED", d, held["role"] if held else None, ctx.rt.settings.jwt_secret))
            return d

        try:
            return role_dto(await ctx.rt.transact(work))
        except DuplicateKeyError:
            raise Conflict(f"{c.sub} was given a role meanwhile; read it and try again", {"sub": c.sub}) from None

    async def revoke(self, req: Request) -> dict:
        q, p, ctx = req.parse(RoleOf), req.principal, self.ctx

        async def work(uow: UnitOfWork) -> dict:
            old = await self.coll.find_one({"_id": q.sub}, session=uow.session)
            if old is None or not (p.unrestricted or p.can_see_path(old["path"])):
                raise self._hidden(p, q.sub)
            if not old["active"]:
                raise Conflict(f"{q.sub} holds no role any more (revoked by {old.get('revokedBy')})", {"sub": q.sub})
            rules.check_may_change(p, q.sub, tuple(old["path"]))
            gone = {**old, "active": False, "revokedBy": p.sub, "revokedAt": now(), "version": old["version"] + 1}
            changed = Conflict(f"the role of {q.sub} changed meanwhile; read it and try again", {"sub": q.sub})
            uow.replace(COLLECTION, {"_id": q.sub, "version": old["version"]}, gone, changed)
            uow.record(role_event(p, "ROLE_REVOKED", gone, old["role"], ctx.rt.settings.jwt_secret))
            return gone

        return role_dto(await ctx.rt.transact(work))

    async def get(self, req: Request) -> dict:
        """One person's assignment: their own, or one an administrator may see; a service (the
        gateway signing someone in) reads anyone's, with the claims it gives."""
        q, p = req.parse(RoleOf), req.principal
        d = await self.coll.find_one({"_id": q.sub})
        if d is None or not d["active"] or not (p.sub == q.sub or p.unrestricted or self._manages(p, d)):
            raise self._hidden(p, q.sub)
        return role_dto(d) | ({"claims": claims_of(d)} if p.role is Role.SERVICE else {})

    async def list(self, req: Request) -> dict:
        q, p, ctx = req.parse(ListRoles), req.principal, self.ctx
        if not (p.unrestricted or p.role is Role.ADMIN):
            raise Forbidden(f"role {p.role} may not list role assignments", {"role": str(p.role)})
        query: dict[str, Any] = {"active": True}
        if q.regionId is not None:
            query["path"] = (await ctx.load_in_scope(p, q.regionId))["_id"]
        elif not p.unrestricted:
            query["path"] = p.region
        if q.after:
            query["_id"] = {"$gt": q.after}
        docs = await self.coll.find(query).sort("_id", ASCENDING).limit(q.first + 1).to_list(None)
        total = await self.coll.count_documents({k: v for k, v in query.items() if k != "_id"})
        return page_reply([role_dto(d) for d in docs[: q.first]], total, len(docs) > q.first)

    @staticmethod
    def _manages(p: Principal, d: dict) -> bool:
        return p.role is Role.ADMIN and p.can_see_path(d["path"])

    @staticmethod
    def _hidden(p: Principal, sub: str) -> Exception:
        return NotFound(f"{sub} holds no role") if p.unrestricted else hidden(p, f"the role of {sub}")

    # -- signing in ------------------------------------------------------------------------
    async def claims(self, sub: str) -> dict[str, str] | None:
        """For this service's own verifier: the claims of a person's assignment, if any."""
        d = await self.coll.find_one({"_id": sub})
        return claims_of(d) if d and d["active"] else None
