"""A mixed load through the public GraphQL API, and the ledger of what it saw acknowledged.

Each worker runs flows one after another until told to stop:
- a case from report (with an idempotency key) through accept, assign, start, resolve and
  the resident's rating (cases);
- a volunteer who registers (with a key) and claims the round's post, then takes a resident's
  service order (placed with a key) through review, start, completion and rating (volunteers);
- a building (grids) and a party member (organizations), each created with a key.

Every acknowledged write goes into the ledger with the record it is about and the event it
must have left, once, in its service's event log. A step without a key that is retried after
a lost answer can meet CONFLICT because its first attempt did land: the client then reads
the record, as a real one would, and counts the step as confirmed when it shows.
"""
from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from shared.identity import settings_token
from shared.settings import Settings
from tests.faults.gql import Answer, GqlClient
from tests.territory import square

CITY, COUNTY, TOWN, COMMUNITY, GRID, GRID2 = "f-city", "f-county", "f-town", "f-comm", "f-g1", "f-g2"
WORKER = "gw-f-g1"
X0, Y0 = 121.0, 31.0

# What serves each kind of write: a kill of that process must be followed by one of them.
SERVICE_OF = {"case": "cases", "volunteer": "volunteers", "post": "volunteers", "order": "volunteers",
              "building": "grids", "member": "organizations"}
ORDER_STATUSES = ["PENDING_REVIEW", "OPEN", "TAKEN", "IN_PROGRESS", "COMPLETED", "RATED"]


@dataclass
class Write:
    """One write the platform acknowledged (or, `confirmed`, showed done after a lost answer)."""

    kind: str            # e.g. case.report, case.accept, order.place
    aggregate: str       # the id of the record it is about
    event: str           # the event it leaves in its service's log, once
    round: int
    at: float            # when the answer came (monotonic)
    confirmed: bool = False
    key: str | None = None
    resend: tuple[str, dict[str, Any], str] | None = None  # a keyed create: query, variables, token
    match: dict[str, Any] = field(default_factory=dict)    # event data that tells it from others alike
    result_id: str | None = None

    @property
    def service(self) -> str:
        return SERVICE_OF[self.kind.split(".")[0]]


@dataclass
class Failure:
    kind: str
    code: str
    message: str
    round: int
    resend: tuple[str, dict[str, Any], str] | None = None  # a keyed create, to send again later
    aggregate: str | None = None  # the record a step was about


@dataclass
class Ledger:
    writes: list[Write] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    kills: dict[int, float] = field(default_factory=dict)  # round -> when its target was killed

    def when(self, w: Write) -> str:
        """When a write was answered, relative to its round's kill: for the diagnosis."""
        kill = self.kills.get(w.round)
        if kill is None:
            return ""
        d = w.at - kill
        return f", answered {abs(d):.2f} s {'before' if d < 0 else 'after'} the kill"


# --- GraphQL documents --------------------------------------------------------------------------------------

REPORT = "mutation($i: ReportCaseInput!) { reportCase(input: $i) { id } }"
CASE_STEP = {
    "accept": ("mutation($id: ID!) { acceptCase(id: $id) { id } }", "ACCEPTED"),
    "assign": ("mutation($id: ID!, $a: AssigneeInput!) { assignCase(id: $id, assignee: $a) { id } }", "ASSIGNED"),
    "start": ("mutation($id: ID!) { startCase(id: $id) { id } }", "STARTED"),
    "resolve": ("mutation($id: ID!, $r: String!) { resolveCase(id: $id, resolution: $r) { id } }", "RESOLVED"),
    "rate": ("mutation($id: ID!) { rateCase(id: $id, score: 5) { id } }", "RATED"),
}
CASE_TIMELINE = "query($id: ID!) { case(id: $id) { timeline { type } } }"
REGISTER_VOLUNTEER = "mutation($i: RegisterVolunteerInput!) { registerVolunteer(input: $i) { id } }"
CLAIM = "mutation($p: ID!) { claimPost(postId: $p) { id } }"
POST_CLAIMANTS = "query($id: ID!) { volunteerPost(id: $id) { claimants { volunteerId } } }"
CREATE_POST = "mutation($i: CreateVolunteerPostInput!) { createVolunteerPost(input: $i) { id } }"
PLACE_ORDER = "mutation($i: PlaceServiceOrderInput!) { placeServiceOrder(input: $i) { id } }"
ORDER_STEP = {
    "review": ("mutation($id: ID!) { reviewServiceOrder(id: $id, approve: true) { id } }", "ORDER_APPROVED", "OPEN"),
    "take": ("mutation($id: ID!) { takeServiceOrder(id: $id) { id } }", "ORDER_TAKEN", "TAKEN"),
    "start": ("mutation($id: ID!) { startServiceOrder(id: $id) { id } }", "ORDER_STARTED", "IN_PROGRESS"),
    "complete": ("mutation($id: ID!) { completeServiceOrder(id: $id, hours: 1.5) { id } }", "ORDER_COMPLETED",
                 "COMPLETED"),
    "rate": ("mutation($id: ID!) { rateServiceOrder(id: $id, score: 5) { id } }", "ORDER_RATED", "RATED"),
}
ORDER_STATUS = "query($id: ID!) { serviceOrder(id: $id) { status } }"
CREATE_REGION = "mutation($i: CreateRegionInput!) { createRegion(input: $i) { id } }"
CREATE_BUILDING = "mutation($i: CreateBuildingInput!) { createBuilding(input: $i) { id } }"
CREATE_ORG = "mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) { id } }"
REGISTER_MEMBER = "mutation($i: RegisterPartyMemberInput!) { registerPartyMember(input: $i) { id } }"
# A query each service answers from its replica of the territory: the last region created has reached it.
KNOWS_TREE = {
    "cases": "query { cases(filter: {regionId: \"f-g2\"}, first: 1) { totalCount } }",
    "volunteers": "query { volunteers(regionId: \"f-g2\", first: 1) { totalCount } }",
    "organizations": "query { partyOrganizations(regionId: \"f-g2\", first: 1) { totalCount } }",
}


def first_id(answer: Answer) -> str:
    assert answer.data is not None
    return next(iter(answer.data.values()))["id"]


class MixedLoad:
    """The workers, their tokens and the ledger; one instance per stack, reused across rounds."""

    def __init__(self, client: GqlClient, settings: Settings, seed: int):
        self.client, self.settings, self.seed = client, settings, seed
        self.ledger = Ledger()
        self.round = 0
        self.post_id = ""
        self.org_id = ""
        self.building_id = ""
        self._n = itertools.count(1)
        self.weights = {"case": 4, "volunteer": 3, "building": 1, "member": 1}

    # -- tokens ----------------------------------------------------------------------------------------------
    def token(self, role: str, region: str | None = None, sub: str | None = None) -> str:
        return settings_token(self.settings, sub=sub or f"fault-{role}", role=role, region=region)

    @property
    def superadmin(self) -> str:
        return self.token("superadmin")

    @property
    def admin(self) -> str:
        return self.token("admin", COUNTY, "fault-admin")

    @property
    def operator(self) -> str:
        return self.token("operator", TOWN, "fault-operator")

    @property
    def worker(self) -> str:
        return self.token("grid_worker", GRID, WORKER)

    # -- set-up ----------------------------------------------------------------------------------------------
    async def must(self, query: str, variables: dict[str, Any], token: str) -> str:
        answer = await self.client.call(query, variables, token)
        if not answer.ok:
            raise AssertionError(f"set-up failed: {answer.code} {answer.message}")
        return first_id(answer)

    async def set_up(self) -> None:
        """The territory, a party organisation for members and a building for orders (once)."""
        su = self.superadmin
        tree = [dict(id=CITY, name="演练市", level="CITY"),
                dict(id=COUNTY, name="演练区", level="COUNTY", parentId=CITY),
                dict(id=TOWN, name="演练街道", level="TOWNSHIP", parentId=COUNTY),
                dict(id=COMMUNITY, name="演练社区", level="COMMUNITY", parentId=TOWN, boundary=square(X0, Y0, 0.02)),
                dict(id=GRID, name="演练第一网格", level="GRID", parentId=COMMUNITY, boundary=square(X0, Y0, 0.01)),
                dict(id=GRID2, name="演练第二网格", level="GRID", parentId=COMMUNITY,
                     boundary=square(X0 + 0.01, Y0, 0.01))]
        for region in tree[:-1]:
            await self.must(CREATE_REGION, {"i": {**region, "idempotencyKey": f"setup-{region['id']}"}}, su)
        self.building_id = await self.must(CREATE_BUILDING, {"i": {
            "gridId": GRID, "name": "演练1号楼", "idempotencyKey": "setup-building"}}, su)
        await self.must(CREATE_REGION, {"i": {**tree[-1], "idempotencyKey": f"setup-{GRID2}"}}, su)
        await self.wait_replicas()
        self.org_id = await self.must(CREATE_ORG, {"i": {
            "name": "演练街道党工委", "type": "TOWNSHIP_WORKING_COMMITTEE", "anchorId": TOWN,
            "idempotencyKey": "setup-org"}}, su)

    async def wait_replicas(self, timeout: float = 300.0) -> None:
        """cases, volunteers and organizations route and scope with replicas of the territory
        fed by grids events, in order: wait until the last region has reached each of them."""
        deadline = time.monotonic() + timeout
        for service, query in KNOWS_TREE.items():
            while True:
                answer = await self.client.call(query, {}, self.superadmin)
                if answer.ok:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{service} did not learn the territory: {answer.code} {answer.message}")
                await asyncio.sleep(0.2)

    async def begin_round(self, round_: int) -> None:
        """Each round's volunteers claim a post of their own (capacity is at most 1000)."""
        self.round = round_
        self.post_id = await self.must(CREATE_POST, {"i": {
            "title": f"演练岗位{round_}", "type": "POLICY_OUTREACH", "regionId": COMMUNITY, "capacity": 1000}},
            self.admin)

    # -- writes ----------------------------------------------------------------------------------------------
    def _record(self, kind: str, answer: Answer, aggregate: str, event: str, **extra: Any) -> Write:
        w = Write(kind, aggregate, event, self.round, answer.at, **extra)
        self.ledger.writes.append(w)
        return w

    def _fail(self, kind: str, answer: Answer, resend: tuple[str, dict[str, Any], str] | None = None,
              aggregate: str | None = None) -> None:
        self.ledger.failures.append(Failure(kind, answer.code or "?", answer.message, self.round, resend,
                                            aggregate))

    async def create(self, kind: str, event: str, query: str, variables: dict[str, Any], token: str,
                     key: str) -> str | None:
        answer = await self.client.call(query, variables, token)
        if not answer.ok:
            self._fail(kind, answer, (query, variables, token))
            return None
        rid = first_id(answer)
        self._record(kind, answer, rid, event, key=key, resend=(query, variables, token), result_id=rid)
        return rid

    async def step(self, kind: str, event: str, query: str, variables: dict[str, Any], token: str,
                   aggregate: str, done: Callable[[], Awaitable[bool]], **match: Any) -> bool:
        answer = await self.client.call(query, variables, token)
        if answer.ok:
            self._record(kind, answer, aggregate, event, match=match)
            return True
        if answer.code == "CONFLICT" and answer.retried and await done():
            self._record(kind, answer, aggregate, event, match=match, confirmed=True)
            return True
        self._fail(kind, answer, aggregate=aggregate)
        return False

    # -- flows -----------------------------------------------------------------------------------------------
    async def case_flow(self, n: int, stop: asyncio.Event) -> None:
        sub, key = f"fault-res-{n}", f"fault-case-{n}"
        resident = self.token("resident", sub=sub)
        case_id = await self.create("case.report", "REPORTED", REPORT, {"i": {
            "title": f"演练诉求{n}", "description": "楼道堆物", "categoryCode": "ENV_GARBAGE",
            "channel": "MINI_PROGRAM", "reporterName": "演练居民", "regionId": GRID, "idempotencyKey": key}},
            resident, key)
        steps = [("accept", {}, self.operator),
                 ("assign", {"a": {"kind": "GRID_WORKER", "id": WORKER}}, self.operator),
                 ("start", {}, self.worker), ("resolve", {"r": "已清理"}, self.worker), ("rate", {}, resident)]
        for verb, extra, token in steps:
            if case_id is None or stop.is_set():
                return
            query, event = CASE_STEP[verb]

            async def done(event: str = event, case_id: str = case_id) -> bool:
                answer = await self.client.call(CASE_TIMELINE, {"id": case_id}, self.superadmin)
                return answer.ok and any(e["type"] == event for e in answer.data["case"]["timeline"])

            if not await self.step(f"case.{verb}", event, query, {"id": case_id, **extra}, token, case_id, done):
                return

    async def volunteer_flow(self, n: int, stop: asyncio.Event) -> None:
        sub = f"fault-vol-{n}"
        volunteer = self.token("volunteer", COMMUNITY, sub)
        vid = await self.create("volunteer.register", "VOLUNTEER_REGISTERED", REGISTER_VOLUNTEER, {"i": {
            "name": f"演练志愿者{n}", "homeRegionId": COMMUNITY, "skills": ["助老"],
            "idempotencyKey": f"fault-vol-{n}"}}, volunteer, f"fault-vol-{n}")
        if vid is None or stop.is_set():
            return
        post = self.post_id

        async def claimed() -> bool:
            answer = await self.client.call(POST_CLAIMANTS, {"id": post}, self.admin)
            return answer.ok and any(c["volunteerId"] == vid for c in answer.data["volunteerPost"]["claimants"])

        if not await self.step("post.claim", "POST_CLAIMED", CLAIM, {"p": post}, volunteer, post, claimed,
                               volunteer_id=vid) or stop.is_set():
            return
        resident = self.token("resident", sub=f"fault-res-{n}")
        order = await self.create("order.place", "ORDER_PLACED", PLACE_ORDER, {"i": {
            "category": "助老", "description": f"演练服务{n}", "buildingId": self.building_id,
            "idempotencyKey": f"fault-order-{n}"}}, resident, f"fault-order-{n}")
        steps = [("review", self.admin), ("take", volunteer), ("start", volunteer), ("complete", volunteer),
                 ("rate", resident)]
        for verb, token in steps:
            if order is None or stop.is_set():
                return
            query, event, status = ORDER_STEP[verb]

            async def done(status: str = status, order: str = order) -> bool:
                answer = await self.client.call(ORDER_STATUS, {"id": order}, self.admin)
                return answer.ok and ORDER_STATUSES.index(answer.data["serviceOrder"]["status"]) \
                    >= ORDER_STATUSES.index(status)

            if not await self.step(f"order.{verb}", event, query, {"id": order}, token, order, done):
                return

    async def building_flow(self, n: int, stop: asyncio.Event) -> None:
        await self.create("building.create", "REGION_CREATED", CREATE_BUILDING, {"i": {
            "gridId": GRID2, "name": f"演练{n}号楼", "idempotencyKey": f"fault-building-{n}"}},
            self.admin, f"fault-building-{n}")

    async def member_flow(self, n: int, stop: asyncio.Event) -> None:
        await self.create("member.register", "MEMBER_REGISTERED", REGISTER_MEMBER, {"i": {
            "name": f"演练党员{n}", "gender": "FEMALE", "birthDate": "1980-05-01", "joinDate": "2005-07-01",
            "category": "IN_SERVICE", "organizationId": self.org_id, "idempotencyKey": f"fault-member-{n}"}},
            self.admin, f"fault-member-{n}")

    async def report_flow(self, n: int, stop: asyncio.Event) -> None:
        sub, key = f"fault-res-{n}", f"fault-case-{n}"
        await self.create("case.report", "REPORTED", REPORT, {"i": {
            "title": f"演练诉求{n}", "description": "路灯不亮", "categoryCode": "ENV_GARBAGE",
            "channel": "HOTLINE", "reporterName": "演练居民", "regionId": GRID, "idempotencyKey": key}},
            self.token("resident", sub=sub), key)

    async def register_flow(self, n: int, stop: asyncio.Event) -> None:
        sub = f"fault-vol-{n}"
        await self.create("volunteer.register", "VOLUNTEER_REGISTERED", REGISTER_VOLUNTEER, {"i": {
            "name": f"演练志愿者{n}", "homeRegionId": COMMUNITY, "idempotencyKey": sub}},
            self.token("volunteer", COMMUNITY, sub), sub)

    async def probe(self, services: tuple[str, ...], stop: asyncio.Event) -> None:
        """One client that only makes the simplest write one of `services` serves, back to
        back: it shows when a restarted process serves writes again."""
        flow = {"cases": self.report_flow, "volunteers": self.register_flow, "grids": self.building_flow,
                "organizations": self.member_flow}[services[0] if len(services) == 1 else "cases"]
        while not stop.is_set():
            await flow(next(self._n), stop)

    async def worker_loop(self, w: int, stop: asyncio.Event) -> None:
        rnd = random.Random(f"{self.seed}-{self.round}-{w}")
        flows = {"case": self.case_flow, "volunteer": self.volunteer_flow, "building": self.building_flow,
                 "member": self.member_flow}
        names, weights = list(self.weights), list(self.weights.values())
        while not stop.is_set():
            flow = flows[rnd.choices(names, weights)[0]]
            await flow(next(self._n), stop)

    async def run(self, workers: int, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self.worker_loop(w, stop) for w in range(workers)))
