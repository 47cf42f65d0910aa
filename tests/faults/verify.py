"""What must hold after a fault, read from the store, the event streams and the public API:

- the stack settles: every outbox entry published, every projection applied, every JetStream
  consumer caught up (nothing pending, nothing unacknowledged), and the dead-letter stream empty;
- every acknowledged write is present exactly once: its record exists and its event is in its
  service's log once; no record exists that no acknowledged create accounts for;
- a keyed create sent again returns the first result;
- every published event is in its stream, once, and every event in a stream in its service's log;
- figures (the region rollups) equal a recount of the stored records, in the store and as the
  public `overview` shows them.
"""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.js.api import DeliverPolicy
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.cases import domain as cd
from services.cases.replay import replay as replay_cases
from services.cases.store import case_from_doc
from services.cases.views import CaseViews
from services.grids import domain as gd
from services.grids.store import region_from_doc
from services.organizations import domain as od
from services.volunteers import domain as vd
from services.volunteers.store import VolunteerStore, entry_of
from services.volunteers.views import VolunteerViews
from shared.messaging.streams import SERVICES, stream_name
from shared.mongo import OUTBOX, PROJECTION_QUEUE
from shared.settings import Settings
from tests.faults.gql import GqlClient
from tests.faults.load import CITY, Ledger, Write

SETTLE_TIMEOUT_S = 300.0  # only a hang outlasts this; a left-open transaction holds ~60 s today
RESEND_EARLIER = 20  # keyed creates of earlier rounds sent again at each check, besides the round's own
OVERVIEW = """query($id: ID!) { overview(regionId: $id) {
  cases { total open resolved closed responded rated satisfied }
  grids { gridCount buildingCount }
  organizations { organizationCount memberCount }
  volunteers { volunteerCount activePosts claimedPosts openOrders completedOrders serviceHours pointsIssued } } }"""
# The record a create leaves: service database, collection.
RECORD_OF = {"case.report": ("cases", "cases"), "volunteer.register": ("volunteers", "volunteers"),
             "order.place": ("volunteers", "orders"), "building.create": ("grids", "regions"),
             "member.register": ("organizations", "members")}


@dataclass
class Findings:
    """What one check found; `lost` and `duplicated` name the writes, for the diagnosis."""

    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    retry_differs: list[str] = field(default_factory=list)
    events_lost: list[str] = field(default_factory=list)
    events_duplicated: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)
    settle_s: float = 0.0
    waited_for: list[str] = field(default_factory=list)  # what settling waited on last, for the diagnosis
    lost_aggregates: set[str] = field(default_factory=set)  # records an acknowledged write of is gone

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.retry_differs or self.events_lost
                    or self.events_duplicated or self.figures or self.unsettled or self.dead_letters)

    def summary(self) -> str:
        parts = []
        for name in ("lost", "duplicated", "retry_differs", "events_lost", "events_duplicated", "figures",
                     "unsettled", "dead_letters"):
            items = getattr(self, name)
            if items:
                parts.append(f"{name} ({len(items)}): " + "; ".join(items[:8]) + (" …" if len(items) > 8 else ""))
        return "\n".join(parts) or "clean"


class Verifier:
    def __init__(self, settings: Settings, client: GqlClient, superadmin: str, setup_buildings: set[str]):
        self.settings, self.client, self.superadmin = settings, client, superadmin
        self.replicas = settings.stream_replicas
        self.mongo = AsyncMongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=30_000)
        self.setup_buildings = setup_buildings
        # Findings already reported by an earlier check: each is counted once, in the round it appeared.
        self.seen: set[str] = set()
        # Records no acknowledged create made that are accounted for all the same: made by a
        # check's own retry (reported as retry≠first), or by a create whose client saw an error
        # (reported as such) and that a later retry with its key returned.
        self.accounted: set[str] = set()
        self.dead_letters_seen = 0

    def db(self, service: str) -> AsyncDatabase:
        return self.mongo[self.settings.db_name(service)]

    async def close(self) -> None:
        await self.mongo.close()

    # -- settling --------------------------------------------------------------------------------------------
    async def settle(self, f: Findings, timeout: float = SETTLE_TIMEOUT_S) -> None:
        """Until outboxes are published, projections applied and consumers caught up."""
        started = time.monotonic()
        deadline = started + timeout
        nc = await nats.connect(self.settings.nats_servers, max_reconnect_attempts=-1)
        try:
            js = nc.jetstream()
            while True:
                try:
                    waiting = await self._unsettled(js)
                except (nats.errors.Error, TimeoutError) as e:  # a cluster electing a leader, say
                    waiting = [f"JetStream: {e!r}"]
                if not waiting:
                    break
                f.waited_for = waiting
                if time.monotonic() > deadline:
                    f.unsettled.extend(waiting)
                    break
                await asyncio.sleep(0.2)
            f.settle_s = time.monotonic() - started
            dlq = await js.stream_info("YIWANG_DLQ")
            if dlq.state.messages > self.dead_letters_seen:
                f.dead_letters.extend(await self._dead_letters(js, self.dead_letters_seen, dlq.state.messages))
                self.dead_letters_seen = dlq.state.messages
        finally:
            await nc.close()

    async def _unsettled(self, js: Any) -> list[str]:
        out = []
        for service in SERVICES:
            db = self.db(service)
            if n := await db[OUTBOX].count_documents({"published": False}):
                out.append(f"{service}: {n} outbox entries unpublished")
            if n := await db[PROJECTION_QUEUE].count_documents({}):
                out.append(f"{service}: {n} projections not applied")
            for info in await js.consumers_info(stream_name(service)):
                if info.num_pending or info.num_ack_pending:
                    out.append(f"consumer {info.name} on {stream_name(service)}: {info.num_pending} pending, "
                               f"{info.num_ack_pending} unacknowledged")
                out += _replication(f"consumer {info.name}", info.cluster, self.replicas)
        for stream in [*map(stream_name, SERVICES), "YIWANG_DLQ"]:
            info = await js.stream_info(stream)
            if info.config.num_replicas != self.replicas:
                out.append(f"{stream} has {info.config.num_replicas} replicas, not {self.replicas}")
            out += _replication(stream, info.cluster, self.replicas)
        return out

    async def _dead_letters(self, js: Any, seen: int, count: int) -> list[str]:
        """The dead letters after the first `seen` (reported by an earlier check), up to `count`."""
        sub = await js.subscribe("yiwang.dlq.>", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        out = []
        try:
            for i in range(count):
                msg = await sub.next_msg(timeout=30)
                h = msg.headers or {}
                if i >= seen:
                    out.append(f"{h.get('Yiwang-Consumer')} gave up on {h.get('Yiwang-Subject')}: "
                               f"{h.get('Yiwang-Error')}")
        except nats.errors.TimeoutError:
            pass
        finally:
            await sub.unsubscribe()
        return out

    # -- the ledger ------------------------------------------------------------------------------------------
    async def ledger(self, ledger: Ledger, round_: int, f: Findings, rnd: random.Random) -> None:
        await self._resend(ledger, round_, f, rnd)  # first: a retry that creates a record shows as an extra
        events = await self._events(ledger.writes)
        for w in ledger.writes:
            n = events[(w.service, w.aggregate, w.event, _frozen(w.match))]
            label = (f"{w.kind} {w.aggregate}{_describe(w.match)} (round {w.round}"
                     f"{', confirmed' if w.confirmed else ''}{ledger.when(w)})")
            if n == 0:
                f.lost.append(f"{label}: no {w.event} in the {w.service} log")
                f.lost_aggregates.add(w.aggregate)
            elif n > 1:
                f.duplicated.append(f"{label}: {n}× {w.event} in the {w.service} log")
        await self._records(ledger, f)

    async def _events(self, writes: list[Write]) -> Counter:
        """(service, aggregate, event, match) -> how often the service's log holds it."""
        aggregates: dict[str, set[str]] = defaultdict(set)
        fields: dict[tuple[str, str], tuple[str, ...]] = {}  # the data fields that tell such events apart
        for w in writes:
            aggregates[w.service].add(w.aggregate)
            fields[(w.service, w.event)] = tuple(sorted(w.match))
        counts: Counter = Counter()
        for service, wanted in aggregates.items():
            async for doc in self.db(service)[OUTBOX].find({}, {"aggregate": 1, "type": 1, "envelope.data": 1}):
                event = doc["type"].split(".")[2]
                if doc.get("aggregate") not in wanted or (service, event) not in fields:
                    continue
                data = doc["envelope"].get("data") or {}
                match = tuple((k, data.get(k)) for k in fields[(service, event)])
                counts[(service, doc["aggregate"], event, match)] += 1
        return counts

    async def _records(self, ledger: Ledger, f: Findings) -> None:
        """Each acknowledged create's record exists; every record is one acknowledged create's;
        a claim is on its post once."""
        acked: dict[str, set[str]] = defaultdict(set)
        for w in ledger.writes:
            if w.kind in RECORD_OF:
                acked[w.kind].add(w.aggregate)
        for kind, (service, coll) in RECORD_OF.items():
            query = {"level": "BUILDING"} if kind == "building.create" else {}
            stored = Counter([d["_id"] async for d in self.db(service)[coll].find(query, {"_id": 1})])
            stored.subtract(Counter(self.setup_buildings if kind == "building.create" else ()))
            for rid in sorted(acked[kind] - set(+stored)):
                w = next(w for w in ledger.writes if w.kind == kind and w.aggregate == rid)
                f.lost.append(f"{kind} {rid} (round {w.round}{ledger.when(w)}): no record in {service}.{coll}")
            for rid in sorted(set(+stored) - acked[kind] - self.accounted):
                f.duplicated.append(f"{kind}: record {rid} in {service}.{coll} that no acknowledged create made")
        posts = {d["_id"]: d async for d in self.db("volunteers").posts.find({}, {"claimants": 1, "claimed_count": 1})}
        for w in ledger.writes:
            if w.kind != "post.claim":
                continue
            post = posts.get(w.aggregate) or {}
            n = sum(1 for c in post.get("claimants", []) if c["volunteer_id"] == w.match["volunteer_id"])
            if n != 1:
                (f.lost if n == 0 else f.duplicated).append(
                    f"post.claim of {w.match['volunteer_id']} on post {w.aggregate}: {n} claims stored")

    async def _resend(self, ledger: Ledger, round_: int, f: Findings, rnd: random.Random) -> None:
        for failure in ledger.failures:
            if failure.resend and failure.round == round_:
                query, variables, token = failure.resend
                answer = await self.client.call(query, variables, token)
                if answer.ok:
                    self.accounted.add(next(iter(answer.data.values()))["id"])
        keyed = [w for w in ledger.writes if w.resend]
        mine = [w for w in keyed if w.round == round_]
        earlier = [w for w in keyed if w.round != round_]
        for w in mine + rnd.sample(earlier, min(RESEND_EARLIER, len(earlier))):
            query, variables, token = w.resend  # type: ignore[misc]
            answer = await self.client.call(query, variables, token)
            got = next(iter(answer.data.values()))["id"] if answer.ok else f"{answer.code} {answer.message}"
            if got != w.result_id:
                if answer.ok:
                    self.accounted.add(got)
                f.retry_differs.append(f"{w.kind} key {w.key} (round {w.round}): first {w.result_id}, again {got}")

    # -- streams ---------------------------------------------------------------------------------------------
    async def streams(self, f: Findings) -> None:
        """Every published outbox entry is in its service's stream, once (`Nats-Msg-Id`)."""
        nc = await nats.connect(self.settings.nats_servers, max_reconnect_attempts=-1)
        try:
            js = nc.jetstream()
            for service in SERVICES:
                info = await js.stream_info(stream_name(service))
                ids: Counter = Counter()
                if info.state.messages:
                    sub = await js.subscribe(f"yiwang.evt.{service}.>", ordered_consumer=True,
                                             deliver_policy=DeliverPolicy.ALL, stream=stream_name(service))
                    try:  # the stream also holds departments' copies (yiwang.dept.…): read the events' own
                        for _ in range(info.state.messages):
                            msg = await sub.next_msg(timeout=30)
                            ids[(msg.headers or {}).get("Nats-Msg-Id")] += 1
                            if msg.metadata.num_pending == 0:
                                break
                    finally:
                        await sub.unsubscribe()
                logged = {d["_id"]: d["published"]
                          async for d in self.db(service)[OUTBOX].find({}, {"_id": 1, "published": 1})}
                for eid in sorted(e for e, published in logged.items() if published and e not in ids):
                    f.events_lost.append(f"{service} event {eid}: published, not in {stream_name(service)}")
                for eid in sorted(set(ids) - set(logged)):
                    f.events_lost.append(f"{service} event {eid}: in {stream_name(service)}, "
                                         "not in the store's log (its write is gone)")
                for eid, n in ids.items():
                    if n > 1:
                        f.events_duplicated.append(f"{service} event {eid}: {n}× in {stream_name(service)}")
        finally:
            await nc.close()

    # -- figures ---------------------------------------------------------------------------------------------
    async def figures(self, f: Findings) -> None:
        cases = await replay_cases(self.db("cases"))
        for what, diffs in (("live vs event log", cases.differences),
                            ("event log vs recount", cases.recount_differences),
                            ("day buckets", cases.day_differences), ("hotspot days", cases.hotspot_differences)):
            for d in diffs[:5]:
                f.figures.append(f"cases {what}: {d}")
        recounts = {"grids": await self._grids(), "organizations": await self._organizations(),
                    "volunteers": await self._volunteers()}
        for service, (stored, expected) in recounts.items():
            for region in sorted(set(stored) | set(expected)):
                if stored.get(region, {}) != expected.get(region, {}):
                    f.figures.append(f"{service} rollups of {region}: stored {stored.get(region)}, "
                                     f"recount {expected.get(region)}")
        await self._overview(f, recounts)

    async def _overview(self, f: Findings, recounts: dict[str, tuple[dict, dict]]) -> None:
        """The public read of the city's figures equals the recount."""
        answer = await self.client.call(OVERVIEW, {"id": CITY}, self.superadmin)
        if not answer.ok:
            f.figures.append(f"overview({CITY}): {answer.code} {answer.message}")
            return
        shown = answer.data["overview"]
        case_docs = [doc async for doc in self.db("cases").cases.find()]
        expected = {
            "cases": CaseViews.stats(cd.recount([case_from_doc(x) for x in case_docs]).get(CITY, {})),
            "volunteers": VolunteerViews.stats(recounts["volunteers"][1].get(CITY, {})),
            "grids": {k: recounts["grids"][1].get(CITY, {}).get(k, 0) for k in gd.COUNTERS},
            "organizations": {"organizationCount": recounts["organizations"][1].get(CITY, {}).get("organizations", 0),
                              "memberCount": recounts["organizations"][1].get(CITY, {}).get("members", 0)},
        }
        for section, fields in shown.items():
            for name, value in fields.items():
                if expected[section].get(name) != value:
                    f.figures.append(f"overview({CITY}).{section}.{name} = {value}, "
                                     f"recount {expected[section].get(name)}")

    async def _grids(self) -> tuple[dict, dict]:
        db = self.db("grids")
        regions = [region_from_doc(d) async for d in db.regions.find()]
        workers = [(w.get("gridId") is not None, w.get("gridId")) async for w in db.workers.find()]
        expected = {r: {k: v for k, v in c.items() if v} for r, c in gd.recount(regions, workers).items()}
        stored = {d["_id"]: {k: int(v) for k, v in d.get("counters", {}).items() if v} async for d in db.rollups.find()}
        return _nonempty(stored), _nonempty(expected)

    async def _organizations(self) -> tuple[dict, dict]:
        db = self.db("organizations")
        stored = {d["_id"]: {k.replace(":", "."): v for k, v in d.get("c", {}).items() if v}
                  async for d in db.rollups.find()}
        records = [od.Organization.model_validate({**x, "id": x["_id"]}) async for x in db.organizations.find()]
        records += [od.PartyMember.model_validate({**x, "id": x["_id"]}) async for x in db.members.find()]
        return _nonempty(stored), od.recount(records)

    async def _volunteers(self) -> tuple[dict, dict]:
        store = VolunteerStore(self.db("volunteers"))
        records: list[Any] = []
        for kind in (store.volunteers, store.teams, store.posts, store.orders, store.tasks, store.activities):
            records += [kind.of(doc) async for doc in kind.coll.find()]
        records += [entry_of(doc) async for doc in store.ledger.find()]
        stored = {d["_id"]: {k: int(v) for k, v in d.get("c", {}).items() if v} async for d in store.rollups.find()}
        return _nonempty(stored), vd.recount(records)

    # -- all of it -------------------------------------------------------------------------------------------
    async def check(self, ledger: Ledger, round_: int, rnd: random.Random) -> Findings:
        f = Findings()
        await self.settle(f)
        await self.ledger(ledger, round_, f, rnd)
        await self.streams(f)
        await self.figures(f)
        return f

    def new(self, items: list[str]) -> list[str]:
        """The items not reported by an earlier check (a loss stays a loss in every later check)."""
        fresh = [i for i in items if i not in self.seen]
        self.seen.update(items)
        return fresh


def _replication(what: str, cluster: Any, replicas: int) -> list[str]:
    """On a cluster: a leader, and every other replica online and current."""
    if replicas == 1:
        return []
    if cluster is None or not cluster.leader:
        return [f"{what}: no leader"]
    peers = cluster.replicas or []
    behind = [p.name for p in peers if p.offline or not p.current]
    out = [f"{what}: replicas {', '.join(map(str, behind))} offline or behind"] if behind else []
    if len(peers) != replicas - 1:
        out.append(f"{what}: {len(peers) + 1} of {replicas} replicas")
    return out


def _frozen(match: dict[str, Any]) -> tuple:
    return tuple(sorted(match.items()))


def _describe(match: dict[str, Any]) -> str:
    return "".join(f" {k}={v}" for k, v in match.items())


def _nonempty(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {k: v for k, v in counts.items() if v}
