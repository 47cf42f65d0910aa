"""The visiting rules and the schedules they make: read and set the rules, reschedule a household
(after its tags or the rules change), the bulk import of past visits, a caller's due visits
(`work.visits`) and the grids trends."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time as clock
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError, OperationFailure

from services.grids.domain import visits as vd
from services.grids.domain.visit_rules import VisitRule, check_rules, rule_of
from services.grids.handlers.context import SERVICE, GridContext
from services.grids.handlers.visits import Visits, event_view, service_principal
from services.grids.staged_counts import StagedCounts
from services.grids.store import GridStore
from services.grids.store_links import member_key, visitor_key
from services.grids.visit_store import VisitStore
from shared.auth import Principal, Role, public_actor, require_deployment_admin, require_figures
from shared.bulk import committed
from shared.commands import trend_reply
from shared.contracts.common import TrendQuery
from shared.contracts.grids import ImportVisits, SetVisitRules, WorkQuery
from shared.errors import BadInput, Conflict
from shared.ids import _b32, new_id
from shared.messaging.envelope import CloudEvent, make_event
from shared.messaging.rpc import Request
from shared.mongo import UnitOfWork, now
from shared.records import flatten
from shared.trends import Kind, Metric, city_tz, day_of, fold_days
from shared.vocabulary.territory import HouseholdTag

log = logging.getLogger("yiwang.grids.visits")
TREND_METRICS: dict[str, Metric] = {
    "visits_recorded": Metric(Kind.FLOW, ("visitCount",), description="Visits recorded in the interval."),
    "overdue_visits": Metric(
        Kind.STOCK, ("overdueVisits",), description="Must-visit households past their due visit at the interval's end."
    ),
    "households": Metric(Kind.STOCK, ("householdCount",), description="Households registered at the interval's end."),
}
IMPORT_MAX_AGE = timedelta(days=400)
IMPORT_ATTEMPTS = 8  # a batch planned again after a write conflict (another replica's writes)
# What a batch checks is still as it was read, household by household, before it writes their states.
EXPECTED_FIELDS = (*vd.STATE_FIELDS, "lastVisitAt", "tags", "movedOutAt", "version")
CADRE_REGIONS = 20  # regions of a cadre's assignments myWork reads at most


@dataclass
class ImportBatch:
    docs: list[dict] = field(default_factory=list)  # the visits to insert
    paths: list[list[str]] = field(default_factory=list)
    totals: dict[str, Counter] = field(default_factory=dict)  # rollup changes per region
    days: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # per (region, day)
    states: dict[str, dict] = field(default_factory=dict)  # each household's new visiting state
    expected: dict[str, dict] = field(default_factory=dict)  # ... if it still holds what was read


class ScopeChecked:
    """`trend_reply` asks a territory replica whether the region is visible; grids is the territory
    and has checked it already (`load_in_scope`)."""

    def visible_path(self, p: Principal, region_id: str) -> None:
        return None


class VisitPlans:
    def __init__(self, ctx: GridContext, store: VisitStore, visits: Visits):
        self.ctx, self.rt, self.store, self.visits = ctx, ctx.rt, store, visits
        # Background writers of households' visiting state in this process (imports, reschedules, the
        # sweeper) take turns: each would otherwise fail the others' transactions on the same documents.
        self.state_lock = asyncio.Lock()
        self.staged = StagedCounts(ctx.rt.db)
        self.after_rules: list[Any] = []  # called after the rules change, and after an import (the sweeper's kick)

    # -- rules -------------------------------------------------------------------------------
    async def rules(self, req: Request) -> dict:
        doc = await self.store.rules_doc()
        return {"version": doc.get("version", 0), "rules": doc["rules"]}

    async def set_rules(self, req: Request) -> dict:
        c, p = req.parse(SetVisitRules), req.principal
        require_deployment_admin(p, await self.ctx.principal_path(p), "set the visiting rules")
        rules = check_rules([rule_of(r.model_dump()) for r in c.rules], [str(t) for t in HouseholdTag])

        async def work(uow: UnitOfWork) -> int:
            doc = await self.store.rules_doc(uow)
            version = doc.get("version", 0)
            if c.expectedVersion is not None and c.expectedVersion != version:
                raise Conflict(f"the visiting rules are at version {version}", {"currentVersion": version})
            await self.store.put_rules(uow, rules, version + 1)
            data = {"version": version + 1, "rules": [r.doc() for r in rules]}
            uow.record(
                make_event(
                    SERVICE, "VISIT_RULES_SET", "visitRules", data, path=[], actor=public_actor(p), version=version + 1
                )
            )
            return version + 1

        version = await self.rt.transact(work)
        for hook in self.after_rules:
            hook()
        return {"version": version, "rules": [r.doc() for r in rules]}

    # -- schedules ---------------------------------------------------------------------------
    async def reschedule(self, household_id: str, rules: list[VisitRule] | None = None) -> bool:
        """Bring one household's visiting state in line with its tags and the rules (idempotent:
        a second run changes nothing). True when it changed."""
        rules = rules if rules is not None else await self.store.rules()

        async def work(uow: UnitOfWork) -> bool:
            h = await self.store.household(household_id, uow)
            if h is None:
                return False
            state = vd.state_of(h, rules, now())
            if not vd.changed(h, state):
                return False
            await self.store.set_state(uow, household_id, state)
            delta = vd.state_delta(h, state)
            if delta:
                await self.ctx.store.bump(uow, h["path"], delta)
            return True

        async with self.state_lock:
            return await self.rt.transact(work)

    async def on_own_event(self, event: CloudEvent) -> None:
        """The service's own events: a visit's case request (households follow in their own
        transaction, `schedule_on_change`)."""
        await self.visits.on_own_event(event)

    # -- bulk import (seeding, onboarding) -----------------------------------------------------
    async def import_visits(self, req: Request) -> dict:
        c, p = req.parse(ImportVisits), req.principal
        p.require_role(action="import visits")  # a service only
        at_now = now()
        for item in c.items:
            vd.check_at(item.at, at_now, IMPORT_MAX_AGE)
            if (item.lng is None) != (item.lat is None):
                raise BadInput(f"visit {item.key}: give both lng and lat, or neither")
        rules = await self.store.rules()
        known = {r.code for r in rules} | {"ROUTINE"}
        if bad := sorted({i.kind for i in c.items} - known):
            raise BadInput(f"unknown visit kinds {bad}")
        ids = {item.key: import_id(item.key, item.at) for item in c.items}

        async def work(uow: UnitOfWork) -> dict:
            # Planned from what is committed, then the records written: the households (with a check
            # that each still holds what was read: one changed meanwhile fails the batch, which runs
            # again, `committed`), the visits, and the batch's counter changes staged in one document
            # (`staged_counts`): the ancestors' rollups and day buckets, which every live write under
            # these regions touches too, are written by a short transaction of their own after this
            # one commits, instead of being held for the whole of this one.
            b = await self.plan_import(c, ids, rules, at_now)
            if b.states:
                # Read again in the transaction (by id: one read) and compared here, not matched by the
                # updates: a filter on the state's fields, nulls among them, makes the store scan
                # (measured: 8 ms an update, half a batch's time). A household changed after this read
                # fails the update itself (a write conflict).
                fields = dict.fromkeys(EXPECTED_FIELDS, 1)
                found = self.store.households.find({"_id": {"$in": list(b.states)}}, fields, session=uow.session)
                now_held = {h["_id"]: {k: h.get(k) for k in EXPECTED_FIELDS} async for h in found}
                if any(now_held.get(i) != e for i, e in b.expected.items()):
                    raise OperationFailure("households changed while the batch was planned", code=112)
                await self.store.households.bulk_write(
                    [UpdateOne({"_id": i}, {"$set": f}) for i, f in b.states.items()],
                    ordered=False,
                    session=uow.session,
                )
            if not b.docs:
                return {"imported": 0, "skipped": len(c.items), "staged": None}
            await self.store.visits.coll.insert_many(b.docs, ordered=False, session=uow.session)
            people: Counter = Counter()
            for d in b.docs:
                people[visitor_key(d["visitor"])] += 1
                if d.get("visitorMember"):
                    people[member_key(d["visitorMember"])] += 1
            staged = new_id("sc")
            self.staged.stage(uow, staged, b.totals, b.days, dict(people))
            common = [n for n, *rest in zip(*b.paths, strict=False) if all(x == n for x in rest)]
            data = {"count": len(b.docs), "households": len(b.states)}
            uow.record(
                make_event(SERVICE, "VISITS_IMPORTED", b.docs[0]["_id"], data, path=common, actor=public_actor(p))
            )
            return {"imported": len(b.docs), "skipped": len(c.items) - len(b.docs), "staged": staged}

        started = clock.monotonic()
        async with self.state_lock:  # one batch at a time: every batch adds to the same ancestors' rollups
            await self.staged.apply_pending(self.rt)  # a batch whose counters a crash left staged
            try:
                result = await committed(self.rt, work, attempts=IMPORT_ATTEMPTS)
            except DuplicateKeyError:  # a twin batch committed some of these first: plan again, without them
                result = await committed(self.rt, work, attempts=IMPORT_ATTEMPTS)
            if staged := result.pop("staged"):
                await self.staged.apply(self.rt, staged)
        took = clock.monotonic() - started
        log.info("visit.import: %d of %d visits in %.2fs", result["imported"], len(c.items), took)
        for hook in self.after_rules:  # imported households past due are marked without waiting a period
            hook()
        return result

    async def plan_import(
        self, c: ImportVisits, ids: dict[str, str], rules: list[VisitRule], at_now: datetime
    ) -> ImportBatch:
        """What a batch writes, from the committed visits and households (read outside the transaction)."""
        existing = {
            d["_id"] async for d in self.store.visits.coll.find({"_id": {"$in": list(ids.values())}}, {"_id": 1})
        }
        fresh = [i for i in c.items if ids[i.key] not in existing]
        wanted = sorted({i.householdId for i in fresh})
        households = {h["_id"]: h async for h in self.store.households.find({"_id": {"$in": wanted}})}
        if missing := sorted(set(wanted) - set(households)):
            raise BadInput(f"unknown households {missing[:5]}", {"count": len(missing)})
        b = ImportBatch()
        last: dict[str, datetime] = {}
        tz = city_tz()
        for item in fresh:
            h = households[item.householdId]
            place = item.lng is not None and item.lat is not None
            located = self.ctx.locator.locate(item.lng, item.lat) if place else None  # type: ignore[arg-type]
            flagged = not (located and located["id"] == h["gridId"])
            who = Principal(
                sub=item.visitor,
                role=Role.VOLUNTEER if item.visitorMember else Role.GRID_WORKER,
                region=h["gridId"],
                member=item.visitorMember,
            )
            v = self.visits.new_visit(
                who,
                {**h, "householdId": h["_id"]},
                item.kind,
                vd.check_findings(item.findings),
                item.at,
                item.lng,
                item.lat,
                flagged,
                "imported without a place in the grid" if flagged else None,
                visit_id=ids[item.key],
            )
            b.docs.append(self.store.visits.to_doc(v))
            b.paths.append(h["path"])
            for node in h["path"]:
                b.totals.setdefault(node, Counter())["visitCount"] += 1
            fold_days(b.days, h["path"], day_of(item.at, tz), {"visitCount": 1})
            last[h["_id"]] = max(last.get(h["_id"], item.at), item.at)
        for hid, at in last.items():
            h = households[hid]
            seen = max(h["lastVisitAt"], at) if h.get("lastVisitAt") else at
            state = vd.state_of({**h, "lastVisitAt": seen}, rules, at_now)
            b.states[hid] = {**state, "lastVisitAt": seen}
            b.expected[hid] = {k: h.get(k) for k in EXPECTED_FIELDS}
            for node in h["path"]:
                b.totals.setdefault(node, Counter()).update(vd.state_delta(h, state))
        return b

    # -- a caller's due visits (myWork) ---------------------------------------------------------
    async def work(self, req: Request) -> dict:
        q, p = req.parse(WorkQuery), req.principal
        at = now()
        until = end_of_day(at)
        rules = await self.store.rules()
        found: dict[str, dict] = {}
        role = p.role
        if role is Role.GRID_WORKER and p.region:
            found |= {h["_id"]: h for h in await self.store.due_in("gridId", p.region, until, q.first)}
        elif role is Role.BUILDING_LEADER and p.region:
            found |= {h["_id"]: h for h in await self.store.due_in("buildingId", p.region, until, q.first)}
        if p.member and role is Role.VOLUNTEER:
            found |= {h["_id"]: h for h in await self.store.due_for_member(p.member, until, q.first)}
        for a in await self.store.cadre_regions(p.sub, CADRE_REGIONS):
            field = {"GRID": "gridId", "BUILDING": "buildingId", "COMMUNITY": "communityId"}.get(a["level"])
            if field:
                found |= {h["_id"]: h for h in await self.store.due_in(field, a["regionId"], until, q.first)}
        items = sorted((vd.visit_due(h, rules, at) for h in found.values()), key=lambda d: d["dueAt"])
        return {"items": items[: q.first], "total": len(items)}

    # -- trends --------------------------------------------------------------------------------
    async def trend(self, req: Request) -> dict:
        require_figures(req.principal)
        await self.ctx.load_in_scope(req.principal, req.parse(TrendQuery).regionId)

        async def counters_of(ids: list[str]) -> dict[str, dict[str, int]]:
            docs = await self.ctx.store.rollup_docs(ids)
            return {i: flatten(d.get("counters", {})) for i, d in docs.items()}

        return await trend_reply(req, ScopeChecked(), TREND_METRICS, self.ctx.store.trend_days, counters_of)  # type: ignore[arg-type]


async def schedule_on_change(uow: UnitOfWork, before: dict | None, after: dict) -> None:
    """A household registered, imported, changed or moved out (`households.CHANGE_HOOKS`, in the
    transaction that writes it): its visiting state follows its tags. Moving out clears it (the
    households part has taken its counters away already)."""
    store = VisitStore(uow.db)
    if after.get("movedOutAt") is not None:
        if any(after.get(k) for k in vd.STATE_FIELDS):
            cleared = {"mustVisit": False, "visitRule": None, "nextVisitDue": None, "visitOverdue": False}
            await store.set_state(uow, after["_id"], cleared)
        return
    rules = await store.rules()
    state = vd.state_of(after, rules, now())
    if not vd.changed(after, state):
        return
    await store.set_state(uow, after["_id"], state)
    if delta := vd.state_delta(after, state):
        await GridStore(uow.db).bump(uow, after["path"], delta)


async def schedule_imported(uow: UnitOfWork, docs: list[dict]) -> dict[str, Counter]:
    """`schedule_on_change` for an import's new households, before they are inserted (`households.
    IMPORT_HOOKS`): the rules read once, each household's visiting state set on its document, the
    counters it adds summed per region node."""
    rules = await VisitStore(uow.db).rules(uow)
    at = now()
    totals: dict[str, Counter] = {}
    for doc in docs:
        state = vd.state_of(doc, rules, at)
        if not vd.changed(doc, state):
            continue
        delta = vd.state_delta(doc, state)
        doc.update(state)
        for node in doc["path"] if delta else ():
            totals.setdefault(node, Counter()).update(delta)
    return totals


def import_id(key: str, at: datetime) -> str:
    """An imported visit's id: sortable by its time (lists run newest first by id), the rest from
    the client's key, so the same key always names the same visit (a second import adds nothing)."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") >> 4
    return f"vi{_b32(int(at.timestamp() * 1000), 10)}{_b32(digest, 12)}"


def end_of_day(at: datetime) -> datetime:
    tz = city_tz()
    local = at.astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), time.min, tz)


__all__ = ["TREND_METRICS", "VisitPlans", "event_view", "service_principal"]
