"""Every query, mutation and subscription of the schema, for every role, against a target in the
caller's own region, a child of it, a sibling of it and its parent, through the real gateway and
services, each outcome checked against the expected rights in `tests/rights.py`.

An allowed call may still fail for its own reasons (a wrong `expectedVersion`, a state that does
not allow it, bad input): anything but FORBIDDEN, UNAUTHENTICATED or an internal error counts as
allowed. A refused call must answer FORBIDDEN, whatever the target's version or existence.
Commands that take an `expectedVersion` are sent with a wrong one, so nothing changes and the
answer shows that scope and role are checked before the version. Commands that don't change
records made for them alone, refused calls first. The operations come from the built schema, so
a new operation without a rule (here and in the rights table) fails the suite.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import nats
import pytest
import websockets
from graphql import GraphQLList, GraphQLNonNull, is_composite_type

from gateway.schema import build_schema
from gateway.schema.common import global_id
from tests.cases_gateway import eventually
from tests.cases_helpers import CasesClient
from tests.infra import Stack, make_settings, start_nats
from tests.rights import RIGHTS, ROLES, Rel
from tests.territory import square

log = logging.getLogger("tests.authz_matrix")
VERSION = 987654  # an expectedVersion no record is at
WEAK_THRESHOLD = 20  # weak organisations: what no organisational life in the window alone reaches
CONCURRENCY = 12  # calls in flight: enough to keep the gateway and the services busy
DEPT = "MXDEPT"
NOW = datetime.now(UTC)
SINCE = (NOW - timedelta(days=30)).isoformat()
PLACES = ("c", "k", "t", "m", "m2", "g", "g2", "g3", "b", "b2", "b3")
PARENT = {"k": "c", "t": "k", "m": "t", "m2": "t", "g": "m", "g2": "m", "g3": "m2", "b": "g", "b2": "g2", "b3": "g3"}
LEVEL = {"c": "CITY", "k": "COUNTY", "t": "TOWNSHIP", "m": "COMMUNITY", "m2": "COMMUNITY", "g": "GRID", "g2": "GRID",
         "g3": "GRID", "b": "BUILDING", "b2": "BUILDING", "b3": "BUILDING"}
BOUNDARY = {"m": square(113.0, 30.0, 0.02), "g": square(113.0, 30.0, 0.01), "g2": square(113.01, 30.0, 0.01),
            "m2": square(113.1, 30.0, 0.02), "g3": square(113.1, 30.0, 0.01)}
CHILD_LEVEL = {"CITY": "COUNTY", "COUNTY": "TOWNSHIP", "TOWNSHIP": "COMMUNITY", "COMMUNITY": "GRID",
               "GRID": "BUILDING", "BUILDING": "BUILDING"}
ORG_TYPE = {"TOWNSHIP": "TOWNSHIP_WORKING_COMMITTEE", "COMMUNITY": "COMMUNITY_COMMITTEE", "GRID": "GRID_BRANCH",
            "BUILDING": "BUILDING_GROUP"}
# Where the target of each relation lies, by the caller's home: the region itself, and the places a
# record anchored there or below may sit (in order of preference; records of a kind that cannot sit
# in that region are looked for below it, but never inside the caller's own region for sibling/parent).
REGION_OF = {"m": {Rel.OWN: "m", Rel.CHILD: "g", Rel.SIBLING: "m2", Rel.PARENT: "t"},
             "g": {Rel.OWN: "g", Rel.CHILD: "b", Rel.SIBLING: "g2", Rel.PARENT: "m"},
             # a building leader's: a building has no children (its own stands for them); another grid's
             # building is outside
             "b": {Rel.OWN: "b", Rel.CHILD: "b", Rel.SIBLING: "b2", Rel.PARENT: "g"}}
PLACES_OF = {"m": {Rel.OWN: ("m", "g", "b"), Rel.CHILD: ("g", "b"), Rel.SIBLING: ("m2", "g3", "b3"),
                   Rel.PARENT: ("t", "m2", "g3", "b3")},
             "b": {Rel.OWN: ("b",), Rel.CHILD: ("b",), Rel.SIBLING: ("b2",), Rel.PARENT: ("g", "g2")},
             "g": {Rel.OWN: ("g", "b"), Rel.CHILD: ("b",), Rel.SIBLING: ("g2", "b2"),
                   Rel.PARENT: ("m", "g2", "b2")}}
TRANSFER_TO = {"m": "g", "g": "b", "m2": "g3", "t": "m2", "b": "g", "g2": "b2"}  # both sides in one relation


def rid(place: str) -> str:
    return f"mx-{place}"


def lit(value: object) -> str:
    """A GraphQL literal of a string, number, boolean or list of them."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Who:
    role: str
    token: str
    home: str       # "m", "g", "b", or "r" (a resident: no region)
    sub: str
    city_admin: bool = False

    @property
    def places(self) -> dict[Rel, tuple[str, ...]]:
        return PLACES_OF["g" if self.home == "r" else self.home]

    def region(self, rel: Rel) -> str:
        return rid(REGION_OF["g" if self.home == "r" else self.home][rel])


@dataclass
class World:
    stack: Stack
    su: str = ""
    records: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (kind, flavor) -> place -> id
    people: dict[str, Who] = field(default_factory=dict)
    serial: itertools.count = field(default_factory=itertools.count)
    nc: nats.aio.client.Client | None = None

    # -- picking targets ------------------------------------------------------------------------
    def put(self, kind: str, place: str, record_id: str, flavor: str = "") -> str:
        self.records.setdefault((kind, flavor), {})[place] = record_id
        return record_id

    def get(self, kind: str, place: str, flavor: str = "") -> str:
        return self.records[(kind, flavor)][place]

    def pick(self, kind: str, who: Who, rel: Rel, flavors: tuple[str, ...] = ("",)) -> str | None:
        """A record of `kind` in the relation's place for `who` (None: no such record can exist)."""
        if who.home == "r" and rel is Rel.OWN and (kind, "res") in self.records:
            flavors = ("res",)  # a resident's own record
        for flavor in flavors:
            found = self.records.get((kind, flavor), {})
            for place in who.places[rel]:
                if place in found:
                    return found[place]
        return None

    def case(self, who: Who, rel: Rel, kind: str = "case") -> str | None:
        flavor = {"department": "dept", "volunteer": "vol"}.get(who.role, "")
        return self.pick(kind, who, rel, (flavor,))

    def volunteer(self, who: Who, rel: Rel) -> str | None:
        """A volunteer record: a volunteer's or resident's own for OWN, else someone's in the place."""
        if rel is Rel.OWN and who.role in ("volunteer", "resident"):
            return self.get("volunteer", "m", "self" if who.role == "volunteer" else "res")
        return self.pick("volunteer", who, rel)

    def order(self, who: Who, rel: Rel, kind: str = "order") -> str | None:
        flavors = ("taken", "") if who.role == "volunteer" and rel in (Rel.OWN, Rel.CHILD) else ("",)
        return self.pick(kind, who, rel, flavors)

    def n(self) -> int:
        return next(self.serial)

    async def consumers(self) -> int:
        """Consumers on the cases stream and the inbox's: a live feed that was let through has one."""
        if self.nc is None:
            self.nc = await nats.connect(self.stack.settings.nats_url)
        js = self.nc.jetstream()
        return sum([(await js.stream_info(s)).state.consumer_count for s in ("YIWANG_CASES", "YIWANG_NOTIFICATIONS")])

    # -- seeding --------------------------------------------------------------------------------
    async def ok(self, doc: str, token: str | None = None, **variables: object) -> dict:
        return await self.stack.ok(doc, variables, token=token or self.su)

    async def seed_territory(self) -> None:
        s = self.stack
        self.su = s.token(sub="mx-su")
        for place in PLACES:
            inp = {"id": rid(place), "name": f"矩阵{place}", "level": LEVEL[place]}
            if place in PARENT:
                inp["parentId"] = rid(PARENT[place])
            if place in BOUNDARY:
                inp["boundary"] = BOUNDARY[place]
            await self.ok("mutation($i: CreateRegionInput!) { createRegion(input: $i) { id } }", i=inp)
            self.put("region", place, rid(place))
            for level, kind in (("GRID", "grid"), ("COMMUNITY", "community"), ("BUILDING", "building")):
                if LEVEL[place] == level:
                    self.put(kind, place, rid(place))
        for svc in ("cases", "organizations", "volunteers"):
            client = await CasesClient.connect(s, svc)
            try:
                await client.wait_territory([rid(p) for p in PLACES], timeout=4 * s.settings.rpc_timeout_s)
            finally:
                await client.close()

    async def seed_workers(self) -> None:
        reg = "mutation($i: RegisterGridWorkerInput!) { registerGridWorker(input: $i) { id } }"
        for place in ("g", "g2", "g3"):
            sub = "mx-gw" if place == "g" else f"mx-gw-{place}"
            w = await self.ok(reg, i={"sub": sub, "name": f"网格员{place}", "role": "BASIC", "gridId": rid(place)})
            self.put("worker", place, w["registerGridWorker"]["id"])
            w = await self.ok(reg, i={"sub": f"mx-gw-u-{place}", "name": f"网格员u{place}", "role": "BASIC",
                                      "gridId": rid(place)})
            self.put("worker_x", place, w["registerGridWorker"]["id"])
        # links: a cadre on each grid to read, another to unassign
        assign = "mutation($s: String!, $r: ID!) { assignCadre(sub: $s, regionId: $r, role: \"COMMUNITY_CADRE\") { id } }"
        for place in ("g", "g2", "g3"):
            for kind in ("cadre", "cadre_x"):
                c = await self.ok(assign, s=f"mx-{kind}-{place}", r=rid(place))
                self.put(kind, place, c["assignCadre"]["id"])
        # sign-in: a role on each grid to revoke
        give = "mutation($s: String!, $r: ID!) { assignRole(sub: $s, role: \"operator\", regionId: $r) { sub } }"
        for place in ("g", "g2", "g3"):
            self.put("role_x", place, (await self.ok(give, s=f"mx-role-x-{place}", r=rid(place)))["assignRole"]["sub"])
        grids = await CasesClient.connect(self.stack, "grids")
        try:  # a household in each building, for 党员联户
            for place in ("b", "b2", "b3"):
                h = await grids("household.register", self.stack.token("service"), buildingId=rid(place),
                                room="201", head={"name": "住户"}, members=[], tags=[])
                self.put("hh_link", place, h["id"])
        finally:
            await grids.close()

    async def member(self, org: str, kind: str, place: str, flavor: str = "") -> str:
        m = await self.ok("mutation($i: RegisterPartyMemberInput!) { registerPartyMember(input: $i) { id } }", i={
            "name": f"党员{self.n()}", "gender": "FEMALE", "birthDate": "1985-04-02", "joinDate": "2010-07-01",
            "category": "IN_SERVICE", "organizationId": org})
        return self.put(kind, place, m["registerPartyMember"]["id"], flavor)

    async def seed_party(self) -> None:
        org_q = "mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) { id } }"
        for place in ("t", "m", "m2", "g", "g2", "g3", "b", "b2", "b3"):
            inp = {"name": f"党组织{place}", "type": ORG_TYPE[LEVEL[place]], "anchorId": rid(place)}
            if place != "t":
                inp["parentId"] = self.get("org", PARENT[place])
            self.put("org", place, (await self.ok(org_q, i=inp))["createPartyOrganization"]["id"])
            if LEVEL[place] == "COMMUNITY":
                self.put("committee", place, self.get("org", place))
        for place in ("t", "m", "m2", "g", "g2", "g3", "b", "b2", "b3"):
            await self.member(self.get("org", place), "member", place)
            await self.member(self.get("org", place), "member_x", place)
        await self.member(self.get("org", "m"), "member", "m", "self")  # the volunteer's own member record
        await self.seed_weak()  # weak organisations
        transfer = "mutation($i: RequestMembershipTransferInput!) { requestMembershipTransfer(input: $i) { id } }"
        for place, to in TRANSFER_TO.items():
            who = await self.member(self.get("org", place), "member_t", place)
            t = await self.ok(transfer, i={"memberId": who, "toOrganizationId": self.get("org", to), "reason": "搬家"})
            self.put("transfer", place, t["requestMembershipTransfer"]["id"])
        unit_q = "mutation($i: RegisterCoBuildingUnitInput!) { registerCoBuildingUnit(input: $i) { id } }"
        for place, kind, unit_kind in [*((p, "unit", "ENTERPRISE") for p in ("t", "m", "m2", "g", "g2", "b")),
                                       ("m", "unit_pc", "PROPERTY_COMPANY"), ("m2", "unit_pc", "PROPERTY_COMPANY"),
                                       ("m", "unit_oc", "OWNERS_COMMITTEE"), ("m2", "unit_oc", "OWNERS_COMMITTEE")]:
            u = await self.ok(unit_q, i={"name": f"单位{place}{kind}", "kind": unit_kind, "regionId": rid(place),
                                         "contacts": []})
            self.put(kind, place, u["registerCoBuildingUnit"]["id"])
        for place in ("m", "m2"):
            committee = self.get("committee", place)
            for kind in ("unit_pc", "unit_oc"):
                await self.ok("mutation($c: ID!, $u: ID!) { addUnitToCommittee(committeeId: $c, unitId: $u) { id } }",
                              c=committee, u=self.get(kind, place))
            link = await self.ok("mutation($i: RecordLinkageInput!) { recordLinkage(input: $i) { id } }", i={
                "estate": f"小区{place}", "committeeId": committee, "propertyCompanyId": self.get("unit_pc", place),
                "ownersCommitteeId": self.get("unit_oc", place)})
            self.put("linkage", place, link["recordLinkage"]["id"])
            meeting = await self.ok("mutation($i: ScheduleJointMeetingInput!) { scheduleJointMeeting(input: $i) { id } }",
                                    i={"committeeId": committee, "scheduledAt": (NOW + timedelta(days=7)).isoformat(),
                                       "unavailableUnitIds": []})
            self.put("meeting", place, meeting["scheduleJointMeeting"]["id"])
            need = await self.ok('mutation($c: ID!) { postNeed(communityId: $c, title: "需求", description: "") { id } }',
                                 c=rid(place))
            self.put("need", place, need["postNeed"]["id"])
            res = await self.ok('mutation($u: ID!) { offerResource(unitId: $u, title: "资源", description: "") { id } }',
                                u=self.get("unit", place))
            self.put("resource", place, res["offerResource"]["id"])
            project = await self.ok('mutation($n: ID!, $r: ID!) { proposeProject(needId: $n, resourceId: $r, '
                                    'title: "项目") { id } }', n=self.get("need", place), r=self.get("resource", place))
            self.put("project", place, project["proposeProject"]["id"])
        await self.seed_committees()

    async def seed_committees(self) -> None:
        """committees: a 居委会, an owners' committee being formed, a 三方联动 meeting and a unit's 报到 in m and m2."""
        for place in ("m", "m2"):
            await self.ok("mutation($i: RecordResidentsCommitteeInput!) { recordResidentsCommittee(input: $i) { id } }",
                          i={"communityId": rid(place), "name": f"居委会{place}", "members": [{"name": "主任",
                             "role": "主任"}], "termStart": "2024-01-01"})
            oc = await self.ok("mutation($i: CreateOwnersCommitteeInput!) { createOwnersCommittee(input: $i) { id } }",
                               i={"communityId": rid(place), "estate": f"小区{place}", "filedOn": "2025-01-01",
                                  "filedByOrgId": self.get("committee", place), "seats": 5,
                                  "candidates": [{"name": "候选人"}]})
            self.put("owners_committee", place, oc["createOwnersCommittee"]["id"])
            tp = await self.ok("mutation($i: ThreePartyMeetingInput!) { recordThreePartyMeeting(input: $i) { id } }",
                               i=three_party_input(self.get("owners_committee", place), self.get("unit_pc", place)))
            self.put("three_party", place, tp["recordThreePartyMeeting"]["id"])
            reg = await self.ok("mutation($i: RegisterUnitWithCommunityInput!) { registerUnitWithCommunity(input: $i) "
                                "{ id } }", i={"unitId": self.get("unit", place), "communityId": rid(place),
                                               "commitments": ["义诊"]})
            self.put("unit_reg", place, reg["registerUnitWithCommunity"]["id"])

    async def seed_weak(self) -> None:
        """weak organisations: a low threshold flags every fresh organisation (no life in the window),
        rated now through the sweeper's own rating; a plan on those of g, g2, g3, b and b2."""
        await self.ok(f"mutation {{ setWeakScoreSettings(input: {{threshold: {WEAK_THRESHOLD}}}) {{ version }} }}")
        orgs = await CasesClient.connect(self.stack, "organizations")
        try:
            places = ("g", "g2", "g3", "b", "b2")
            await orgs("weak.rate", self.stack.token("service"), ids=[self.get("org", p) for p in places])
        finally:
            await orgs.close()
        start = ("mutation($o: ID!, $i: RectificationInput!) { startRectification(organizationId: $o, input: $i) "
                 "{ id } }")
        for place in places:
            plan = await self.ok(start, o=self.get("org", place), i={
                "tasks": [{"title": "整改", "responsible": "书记", "dueAt": (NOW + timedelta(days=5)).isoformat()}],
                "reviewAt": (NOW + timedelta(days=9)).isoformat()})
            self.put("plan", place, plan["startRectification"]["id"])

    async def report(self, place: str, token: str | None = None, category: str = "ENV_GARBAGE") -> str:
        c = await self.ok("mutation($i: ReportCaseInput!) { reportCase(input: $i) { id level } }", token, i={
            "title": "路灯不亮", "description": "东门", "categoryCode": category, "channel": "HOTLINE",
            "reporterName": "张三", "reporterPhone": "13812345678", "regionId": rid(place)})
        assert category == "ENV_GARBAGE" or c["reportCase"]["level"] == "BUILDING", c
        return c["reportCase"]["id"]

    async def seed_webhooks(self) -> None:
        """A webhook in every place (a superadmin's), and one of the department's own at its home."""
        reg = "mutation($i: RegisterWebhookInput!) { registerWebhook(input: $i) { webhook { id } } }"
        for place in PLACES:
            i = {"url": "http://127.0.0.1:9/mx", "eventTypes": ["CASE_URGED"], "regionId": rid(place)}
            self.put("webhook", place, (await self.ok(reg, i=i))["registerWebhook"]["webhook"]["id"])
        dept = self.people["department"]
        i = {"url": "http://127.0.0.1:9/mx-dept", "eventTypes": ["CASE_URGED"], "regionId": rid(dept.home)}
        hook = await self.ok(reg, dept.token, i=i)
        self.put("webhook", dept.home, hook["registerWebhook"]["webhook"]["id"], "dept")

    async def seed_households(self) -> None:
        """A household in each building, registered by the community's admin (a superadmin sees figures only)."""
        reg = "mutation($i: RegisterHouseholdInput!) { registerHousehold(input: $i) { id } }"
        for place, community in (("b", "m"), ("b2", "m"), ("b3", "m2")):
            token = self.stack.token("admin", rid(community), sub=f"mx-hh-{community}")
            h = await self.ok(reg, token, i={"buildingId": rid(place), "room": "101", "head": {"name": "住户"}})
            self.put("household", place, h["registerHousehold"]["id"])

    async def seed_cases_and_volunteers(self) -> None:
        s = self.stack
        vol, res = self.people["volunteer"], self.people["resident"]
        res2 = s.token("resident", sub="mx-res2")
        assign = "mutation($id: ID!, $a: AssigneeInput!) { assignCase(id: $id, assignee: $a) { id } }"
        for place in ("g", "g2", "g3"):
            self.put("case", place, await self.report(place))
            self.put("case2", place, await self.report(place))
            for flavor, assignee in (("dept", {"kind": "DEPARTMENT", "id": DEPT}),
                                     ("vol", {"kind": "VOLUNTEER", "id": vol.sub})):
                case = self.put("case", place, await self.report(place), flavor)
                self.put("case2", place, case, flavor)
                await self.ok('mutation($id: ID!) { acceptCase(id: $id) { id } }', id=case)
                await self.ok(assign, id=case, a=assignee)
        for place in ("b", "b2"):  # building: a neighbour dispute in a building starts at BUILDING level
            for kind in ("case", "case2"):
                self.put(kind, place, await self.report(place, category="DISPUTE_NEIGHBOR"))
        own = self.put("case", "g", await self.report("g", res.token), "res")
        self.put("case2", "g", own, "res")
        register = "mutation($i: RegisterVolunteerInput!) { registerVolunteer(input: $i) { id } }"
        base = {"skills": [], "availability": []}
        self.put("volunteer", "m", (await self.ok(register, vol.token, i={"name": "志愿者", "homeRegionId": rid("m"),
                                                                         **base}))["registerVolunteer"]["id"], "self")
        self.put("volunteer", "m", (await self.ok(register, res.token, i={"name": "居民", "homeRegionId": rid("m"),
                                                                         **base}))["registerVolunteer"]["id"], "res")
        for place in ("m", "m2"):
            v = await self.ok(register, i={"name": f"志愿者{place}", "homeRegionId": rid(place), "sub": f"mx-v-{place}",
                                           **base})
            self.put("volunteer", place, v["registerVolunteer"]["id"])
        for place, leader in (("m", "m"), ("g", "m"), ("g2", "m"), ("m2", "m2"), ("g3", "m2"), ("t", "m2")):
            t = await self.ok("mutation($i: CreateVolunteerTeamInput!) { createVolunteerTeam(input: $i) { id } }", i={
                "name": f"队{place}", "leaderId": self.get("volunteer", leader), "regionId": rid(place)})
            self.put("team", place, t["createVolunteerTeam"]["id"])
        for place in ("m", "g", "g2", "m2", "g3"):
            for kind in ("post", "post_x"):
                p = await self.ok("mutation($i: CreateVolunteerPostInput!) { createVolunteerPost(input: $i) { id } }",
                                  i={"title": f"岗{place}", "type": "SAFETY", "regionId": rid(place), "capacity": 5,
                                     "duties": ""})
                self.put(kind, place, p["createVolunteerPost"]["id"])
            a = await self.ok("mutation($i: CreateActivityInput!) { createActivity(input: $i) { id } }", i={
                "title": f"活动{place}", "regionId": rid(place), "startsAt": (NOW - timedelta(minutes=10)).isoformat(),
                "endsAt": (NOW + timedelta(hours=3)).isoformat(), "capacity": 10, "withCode": True})
            self.put("activity", place, a["createActivity"]["id"])
        place_q = "mutation($i: PlaceServiceOrderInput!) { placeServiceOrder(input: $i) { id } }"
        review = 'mutation($id: ID!) { reviewServiceOrder(id: $id, approve: true, reason: "") { id } }'

        async def order(place: str, token: str) -> str:
            o = await self.ok(place_q, token, i={"category": "助老", "description": "买菜", "buildingId": rid(place)})
            return o["placeServiceOrder"]["id"]

        for kind in ("order", "order_x"):
            self.put(kind, "b", await order("b", res.token), "res")
        for place in ("b", "b2", "b3"):
            for kind in ("order", "order_x", "order_take"):
                self.put(kind, place, await order(place, res2))
            await self.ok(review, id=self.get("order_take", place))
        taken = self.put("order", "b", await order("b", res2), "taken")
        await self.ok(review, id=taken)
        await self.ok('mutation($id: ID!) { takeServiceOrder(id: $id) { id } }', vol.token, id=taken)
        await self.ok("mutation($i: RewardItemInput!) { upsertRewardItem(input: $i) { code } }",
                      i={"code": "MX_SOAP", "name": "洗衣皂", "cost": 1, "stock": 5})


    async def seed_deliberation(self) -> None:
        """deliberation: in each community a proposal to read and move, one to support, and a decision's
        notice open for objections; the resident's own proposal (kept under their grid's place)."""
        submit = "mutation($i: SubmitProposalInput!) { submitProposal(input: $i) { id } }"
        advance = "mutation($id: ID!, $i: AdvanceProposalInput!) { advanceProposal(id: $id, input: $i) { notices { id } } }"
        vote = ("mutation($id: ID!, $i: VoteInput!) { recordRepresentativesVote(proposalId: $id, input: $i) { id } }")
        for place in ("m", "m2"):
            for kind in ("proposal", "proposal_sup", "proposal_n"):
                p = await self.ok(submit, i={"communityId": rid(place), "title": "修缮院落", "body": "路面破损",
                                             "proposerName": "居民甲"})
                self.put(kind, place, p["submitProposal"]["id"])
            pid = self.get("proposal_n", place)
            await self.ok(advance, id=pid, i={"to": "PROPOSED"})
            await self.ok(advance, id=pid, i={"to": "DISCUSSED", "minutes": "两委纪要"})
            await self.ok(vote, id=pid, i={"roll": ["甲", "乙", "丙"], "attendees": ["甲", "乙", "丙"], "votesFor": 3})
            n = await self.ok(advance, id=pid, i={"to": "NOTICED", "noticeText": "决议公示"})
            self.put("notice", place, n["advanceProposal"]["notices"][0]["id"])
        own = await self.ok(submit, self.people["resident"].token, i={"communityId": rid("m"), "title": "加装电梯",
                                                                      "body": "老旧小区"})
        self.put("proposal", "g", own["submitProposal"]["id"], "res")
    async def seed_resident_points(self) -> None:
        """residents' points: a resident with points earned in each place, and the matrix resident's own."""
        award = "mutation($i: AwardResidentPointsInput!) { awardResidentPoints(input: $i) { balance } }"
        for place in ("m", "g", "g2", "b", "b2", "m2", "g3", "b3"):
            sub = self.put("res_pts", place, f"mx-pts-{place}")
            await self.ok(award, i={"sub": sub, "ruleCode": "CIVILITY", "regionId": rid(place), "occasion": "seed"})
        own = self.put("res_pts", "g", self.people["resident"].sub, "res")
        await self.ok(award, i={"sub": own, "ruleCode": "CIVILITY", "regionId": rid("g"), "occasion": "seed"})

    async def seed_visits(self) -> None:
        """A household and a visit in each of b, b2, b3, by the grid worker of its grid."""
        register = "mutation($i: RegisterHouseholdInput!) { registerHousehold(input: $i) { id } }"
        record = "mutation($i: RecordVisitInput!) { recordVisit(input: $i) { id } }"
        inside = {"b": (113.005, 30.005), "b2": (113.015, 30.005), "b3": (113.105, 30.005)}
        for place, (lng, lat) in inside.items():
            grid = PARENT[place]
            token = self.stack.token("grid_worker", rid(grid), sub="mx-gw" if grid == "g" else f"mx-gw-{grid}")
            h = await self.ok(register, token, i={"buildingId": rid(place), "room": "301", "tags": ["ELDERLY_ALONE"],
                                                  "head": {"name": "王秀英"}})
            household = self.put("household_v", place, h["registerHousehold"]["id"])
            v = await self.ok(record, token, i={"householdId": household, "kind": "ROUTINE", "lng": lng, "lat": lat})
            self.put("visit", place, v["recordVisit"]["id"])

    async def seed_funds(self) -> None:
        """funds: a fund in each community (year 2030) with a spending above the threshold, recorded by the
        community's admin (so the superadmin may approve it), and a service in each catalogue."""
        for place in ("m", "m2"):
            await self.ok(f"mutation {{ createFundAccount(communityId: {lit(rid(place))}, year: 2030, "
                          f"granted: 100000) {{ id }} }}")
            admin = self.stack.token("admin", rid(place), sub=f"mx-fund-{place}")
            e = await self.ok("mutation($i: RecordSpendingInput!) { recordSpending(input: $i) { id status } }", admin,
                              i={"communityId": rid(place), "year": 2030, "amount": 9000.5, "purpose": "修缮",
                                 "target": {"kind": "OTHER"}})
            assert e["recordSpending"]["status"] == "COMMITTED", e
            self.put("fund_entry", place, e["recordSpending"]["id"])
            sv = await self.ok("mutation($i: AddServiceListEntryInput!) { addServiceListEntry(input: $i) { id } }",
                               i={"communityId": rid(place), "kind": "CARE", "title": "助餐",
                                  "provider": {"kind": "TEAM", "id": "t-1", "name": "银发服务队"},
                                  "howToOrder": {"channel": "社区服务站"}})
            self.put("service", place, sv["addServiceListEntry"]["id"])


# -- what each operation is called with, per caller and relation -----------------------------------
Args = Callable[[World, Who, Rel], "str | None"]


def one(kind: str, arg: str = "id") -> Args:
    build = lambda w, who, rel: (f"{arg}: {lit(x)}" if (x := w.pick(kind, who, rel)) else None)  # noqa: E731
    LOOKUPS.add(build)
    return build


LOOKUPS: set[Args] = set()  # builders naming one existing record: a query of it allowed must not answer null


def region(arg: str) -> Args:
    return lambda w, who, rel: f"{arg}: {lit(who.region(rel))}"


def with_version(args: Args) -> Args:
    return lambda w, who, rel: (f"{a}, expectedVersion: {VERSION}" if (a := args(w, who, rel)) else None)


def case_cmd(extra: str = "") -> Args:
    return lambda w, who, rel: (f"id: {lit(x)}{extra}, expectedVersion: {VERSION}"
                                if (x := w.case(who, rel)) else None)


def vol_arg(arg: str = "volunteerId") -> Args:
    return lambda w, who, rel: (f"{arg}: {lit(x)}" if (x := w.volunteer(who, rel)) else None)


def staff_for_volunteer(kind: str, arg: str = "postId") -> Args:
    """A volunteer acts for themself; staff name the volunteer (one in the same place)."""
    def build(w: World, who: Who, rel: Rel) -> str | None:
        target = w.pick(kind, who, rel)
        if target is None:
            return None
        if who.role in ("admin", "operator", "superadmin"):
            v = w.pick("volunteer", who, rel)
            return f"{arg}: {lit(target)}, volunteerId: {lit(v)}" if v else None
        return f"{arg}: {lit(target)}"
    return build


def transfer_request(w: World, who: Who, rel: Rel) -> str | None:
    member = w.pick("member_x", who, rel)
    if member is None:
        return None
    place = next(p for p, i in w.records[("member_x", "")].items() if i == member)
    to = TRANSFER_TO.get(place)
    return f'memberId: {lit(member)}, toOrganizationId: {lit(w.get("org", to))}, reason: "x"' if to else None


def member_and_household(w: World, who: Who, rel: Rel) -> str | None:
    """links: a household in the place and a member organised in its building."""
    h = w.pick("hh_link", who, rel)
    if h is None:
        return None
    place = next(p for p, i in w.records[("hh_link", "")].items() if i == h)
    return f"memberId: {lit(w.get('member', place))}, householdIds: [{lit(h)}]"


def own_member(w: World, who: Who, rel: Rel) -> str | None:
    if who.role == "volunteer" and rel is Rel.OWN:
        return lit(w.get("member", "m", "self"))
    x = w.pick("member_x", who, rel)
    return lit(x) if x else None


def node_of_case(w: World, who: Who, rel: Rel) -> str | None:
    x = w.case(who, rel)
    return f"id: {lit(global_id('Case', x))}" if x else None


def nodes_of_member(w: World, who: Who, rel: Rel) -> str | None:
    x = own_member(w, who, rel)
    return f"ids: [{lit(global_id('PartyMember', json.loads(x)))}]" if x else None


LOOKUPS.update({node_of_case, nodes_of_member})


def below_own(w: World, who: Who, rel: Rel, kind: str) -> str | None:
    """weak organisations: a record of `kind` in the relation's places, in the caller's own region only
    below its home (an organisation's own admins do not rectify it: admins above it do)."""
    found = w.records.get((kind, ""), {})
    places = [p for p in who.places[rel] if not (rel is Rel.OWN and p == who.home)] or list(who.places[rel])
    return next((found[p] for p in places if p in found), None)


def create_region(w: World, who: Who, rel: Rel) -> str:
    parent = who.region(rel)
    level = CHILD_LEVEL[LEVEL[parent.removeprefix("mx-")]]
    return f'input: {{name: "新{w.n()}", level: {level}, parentId: {lit(parent)}}}'


def create_org(w: World, who: Who, rel: Rel) -> str:
    place = who.region(rel).removeprefix("mx-")
    parent = f", parentId: {lit(w.get('org', PARENT[place]))}" if place in PARENT and place not in ("k", "t") else ""
    return f'input: {{name: "组织{w.n()}", type: {ORG_TYPE[LEVEL[place]]}, anchorId: {lit(rid(place))}{parent}}}'


def committee_unit(w: World, who: Who, rel: Rel) -> str | None:
    committee = w.pick("committee", who, rel)
    if committee is None:
        return None
    place = next(p for p, i in w.records[("committee", "")].items() if i == committee)
    return f"committeeId: {lit(committee)}, unitId: {lit(w.get('unit_pc', place))}, expectedVersion: {VERSION}"


def linkage(w: World, who: Who, rel: Rel) -> str | None:
    committee = w.pick("committee", who, rel)
    if committee is None:
        return None
    place = next(p for p, i in w.records[("committee", "")].items() if i == committee)
    return (f'input: {{estate: "小区{w.n()}", committeeId: {lit(committee)}, '
            f'propertyCompanyId: {lit(w.get("unit_pc", place))}, ownersCommitteeId: {lit(w.get("unit_oc", place))}}}')


def twin(w: World, who: Who, rel: Rel) -> str | None:
    community = w.pick("community", who, rel)
    if community is None:
        return None
    branch = w.get("org", "g3" if community == rid("m") else "g")  # an employer's branch from outside
    return f"branchId: {lit(branch)}, communityId: {lit(community)}"


def action_item(w: World, who: Who, rel: Rel) -> str | None:
    meeting = w.pick("meeting", who, rel)
    if meeting is None:
        return None
    grid = "g" if meeting == w.get("meeting", "m") else "g3"
    return (f'meetingId: {lit(meeting)}, itemId: "x", categoryCode: "ENV_GARBAGE", gridId: {lit(rid(grid))}, '
            f'description: "x", expectedVersion: {VERSION}')


def project(w: World, who: Who, rel: Rel) -> str | None:
    need = w.pick("need", who, rel)
    if need is None:
        return None
    place = next(p for p, i in w.records[("need", "")].items() if i == need)
    return f'needId: {lit(need)}, resourceId: {lit(w.get("resource", place))}, title: "项目{w.n()}"'


def register_volunteer(w: World, who: Who, rel: Rel) -> str:
    sub = f', sub: "mx-new-{w.n()}"' if who.role in ("admin", "operator", "superadmin") else ""
    return f'input: {{name: "新志愿者", homeRegionId: {lit(who.region(rel))}, skills: [], availability: []{sub}}}'


def team_of(kind_arg: str) -> Args:
    def build(w: World, who: Who, rel: Rel) -> str | None:
        team, v = w.pick("team", who, rel), w.pick("volunteer", who, rel)
        return f"teamId: {lit(team)}, volunteerId: {lit(v)}" if team and v else None
    return build


def create_team(w: World, who: Who, rel: Rel) -> str | None:
    v = w.pick("volunteer", who, rel)
    return f'input: {{name: "队{w.n()}", leaderId: {lit(v)}, regionId: {lit(who.region(rel))}}}' if v else None


def backfill(w: World, who: Who, rel: Rel) -> str | None:
    act, v = w.pick("activity", who, rel), w.pick("volunteer", who, rel)
    return f'activityId: {lit(act)}, volunteerId: {lit(v)}, hours: 1, reason: "补录"' if act and v else None


def redeem(w: World, who: Who, rel: Rel) -> str | None:
    base = f'itemCode: "MX_SOAP", redemptionId: "r{w.n()}"'
    if who.role == "volunteer" and rel is Rel.OWN:
        return base  # for themself
    v = w.pick("volunteer", who, rel)
    return f"{base}, volunteerId: {lit(v)}" if v else None


def dispatch(w: World, who: Who, rel: Rel) -> str | None:
    o = w.order(who, rel)
    return f'id: {lit(o)}, target: {{kind: VOLUNTEER, id: "x"}}, expectedVersion: {VERSION}' if o else None


def order_arg(kind: str = "order", extra: str = "") -> Args:
    return lambda w, who, rel: (f"id: {lit(x)}{extra}" if (x := w.order(who, rel, kind)) else None)


def resident_place(w: World, who: Who, rel: Rel, kind: str) -> str | None:
    """deliberation: a record of `kind` in the community of a resident's relation (mx-m their own, mx-m2
    a sibling); for anyone else, as `pick`."""
    if who.role == "resident":
        place = {Rel.OWN: "m", Rel.SIBLING: "m2"}.get(rel)
        return w.records.get((kind, ""), {}).get(place) if place else None
    return w.pick(kind, who, rel)


def merge(w: World, who: Who, rel: Rel) -> str | None:
    a, b = w.case(who, rel), w.case(who, rel, "case2")
    if a is None:
        return None
    return f"id: {lit(a)}, intoId: {lit(b)}, expectedVersion: {VERSION}"


# committees
def three_party_input(owners_committee: str, company: str) -> dict:
    sides = ("RESIDENTS_COMMITTEE", "PROPERTY_COMPANY", "OWNERS_COMMITTEE")
    return {"ownersCommitteeId": owners_committee, "propertyCompanyId": company,
            "heldAt": (NOW - timedelta(hours=1)).isoformat(), "minutes": "纪要",
            "attendees": [{"name": f"代表{i}", "side": side} for i, side in enumerate(sides)]}


def with_place(kind: str, build: Callable[[World, str, str], str]) -> Args:
    """A record of `kind` in the relation's place, and what else its place holds."""
    def args(w: World, who: Who, rel: Rel) -> str | None:
        x = w.pick(kind, who, rel)
        if x is None:
            return None
        return build(w, x, next(p for p, i in w.records[(kind, "")].items() if i == x))
    return args


def gql_input(value: dict) -> str:
    """A GraphQL input literal of a dict of strings (enum values given as `!VALUE`)."""
    def one(v: object) -> str:
        if isinstance(v, str) and v.startswith("!"):
            return v[1:]
        if isinstance(v, dict):
            return gql_input(v)
        if isinstance(v, list):
            return "[" + ", ".join(one(x) for x in v) + "]"
        return lit(v)
    return "{" + ", ".join(f"{k}: {one(v)}" for k, v in value.items()) + "}"


def three_party_args(w: World, owners_committee: str, place: str) -> str:
    i = three_party_input(owners_committee, w.get("unit_pc", place))
    i["attendees"] = [{**a, "side": "!" + a["side"]} for a in i["attendees"]]
    return f"input: {gql_input(i)}"


OPS: dict[str, Args] = {
    "me": lambda w, who, rel: "",
    "region": region("id"),
    "regions": region("parentId"),
    "locate": lambda w, who, rel: "lng: 113.005, lat: 30.005",
    "overview": region("regionId"),
    "gridWorker": one("worker"),
    "gridWorkers": region("regionId"),
    "case": lambda w, who, rel: (f"id: {lit(x)}" if (x := w.case(who, rel)) else None),
    "cases": lambda w, who, rel: f"filter: {{regionId: {lit(who.region(rel))}}}",
    "caseCategories": lambda w, who, rel: "",
    "caseCatalogue": lambda w, who, rel: "",
    "node": node_of_case,
    "nodes": nodes_of_member,
    "partyOrganization": one("org"),
    "partyOrganizations": region("regionId"),
    "partyMember": lambda w, who, rel: (f"id: {x}" if (x := own_member(w, who, rel)) else None),
    "partyMembers": region("regionId"),
    "membershipTransfer": one("transfer"),
    "membershipTransfers": region("regionId"),
    "dualRegistrations": region("communityId"),
    "unitTwinnings": region("communityId"),
    "coBuildingUnit": one("unit"),
    "coBuildingUnits": region("regionId"),
    "linkages": region("regionId"),
    "jointMeeting": one("meeting"),
    "jointMeetings": region("regionId"),
    "organizationalLife": one("org", "organizationId"),
    "needs": region("regionId"),
    "unitResources": region("regionId"),
    "projects": region("regionId"),
    "memberFeedback": region("regionId"),
    "volunteer": vol_arg("id"),
    "myVolunteer": lambda w, who, rel: "",
    "volunteers": region("regionId"),
    "volunteerTeam": one("team"),
    "volunteerTeams": region("regionId"),
    "volunteerPost": one("post"),
    "volunteerPosts": lambda w, who, rel: f"regionId: {lit(who.region(rel))}, activeOnly: false",
    "serviceOrder": order_arg(),
    "serviceOrders": lambda w, who, rel: f"regionId: {lit(who.region(rel))}, mine: false",
    "wishWall": region("communityId"),
    "volunteerTasks": vol_arg(),
    "activity": one("activity"),
    "activities": region("regionId"),
    "pointsBalance": vol_arg(),
    "pointsHistory": vol_arg(),
    "rewardCatalogue": lambda w, who, rel: "",
    "rankings": lambda w, who, rel: f"regionId: {lit(who.region(rel))}, metric: GRIDS, order: DESC, first: 5",
    "trend": lambda w, who, rel: (f"regionId: {lit(who.region(rel))}, metric: CASES_REPORTED, from: {lit(SINCE)}, "
                                  f"to: {lit(NOW.isoformat())}, interval: DAY"),
    "hotspots": lambda w, who, rel: f"regionId: {lit(who.region(rel))}, since: {lit(SINCE)}, first: 5",
    # territory
    "createRegion": create_region,
    "updateRegion": lambda w, who, rel: f'input: {{id: {lit(who.region(rel))}, name: "改名", expectedVersion: {VERSION}}}',
    "moveRegion": lambda w, who, rel: f'id: {lit(who.region(rel))}, newParentId: "mx-t", expectedVersion: {VERSION}',
    "setRegionBoundary": lambda w, who, rel: f"id: {lit(who.region(rel))}, boundary: null, expectedVersion: {VERSION}",
    "createBuilding": lambda w, who, rel: (f'input: {{gridId: {lit(g)}, name: "楼{w.n()}"}}'
                                           if (g := w.pick("grid", who, rel)) else None),
    "registerGridWorker": lambda w, who, rel: (
        f'input: {{sub: "mx-new-gw-{w.n()}", name: "新网格员", role: BASIC, gridId: {lit(g)}}}'
        if (g := w.pick("grid", who, rel)) else None),
    "assignGridWorker": lambda w, who, rel: (  # to the grid it is on: refused as "already there" once allowed
        f"id: {lit(x)}, gridId: {lit(rid(next(p for p, i in w.records[('worker', '')].items() if i == x)))}"
        if (x := w.pick("worker", who, rel)) else None),
    "unassignGridWorker": one("worker_x"),
    # links:
    "roleAssignments": region("regionId"),
    "assignRole": lambda w, who, rel: (f'sub: "mx-new-role-{w.n()}", role: "operator", regionId: {lit(g)}'
                                       if (g := w.pick("grid", who, rel)) else None),
    "revokeRole": one("role_x", "sub"),
    "cadreAssignments": region("regionId"),
    "cadreAssignment": one("cadre"),
    "assignCadre": lambda w, who, rel: (f'sub: "mx-new-cadre-{w.n()}", regionId: {lit(g)}, role: "COMMUNITY_CADRE"'
                                        if (g := w.pick("grid", who, rel)) else None),
    "unassignCadre": one("cadre_x"),
    "linkMemberToHouseholds": member_and_household,
    "unlinkMemberFromHouseholds": member_and_household,
    # cases
    "reportCase": lambda w, who, rel: (
        f'input: {{title: "新案件", description: "", categoryCode: "ENV_GARBAGE", channel: GRID_PATROL, '
        f'reporterName: "李四", regionId: {lit(g)}}}' if (g := w.pick("grid", who, rel)) else None),
    "acceptCase": case_cmd(),
    "assignCase": case_cmd(f', assignee: {{kind: DEPARTMENT, id: "{DEPT}"}}'),
    "startCase": case_cmd(),
    "resolveCase": case_cmd(', resolution: "已处理"'),
    # evidence: as JSON the file cannot come, but the target's scope is asked first (FORBIDDEN before BAD_USER_INPUT)
    "uploadAttachment": lambda w, who, rel: (f'file: "x", input: {{target: {{kind: CASE, id: {lit(x)}}}}}'
                                             if (x := w.case(who, rel)) else None),
    "escalateCase": case_cmd(', reason: "需社区协调"'),
    "rejectCase": case_cmd(', reason: "不属实"'),
    "returnCase": case_cmd(', reason: "非本部门"'),
    "rateCase": case_cmd(", score: 5"),
    "closeCase": case_cmd(),
    "mergeCase": merge,
    "revealReporterContact": lambda w, who, rel: (f'caseId: {lit(x)}, reason: "回访"'
                                                  if (x := w.case(who, rel)) else None),
    "upsertCaseCategory": lambda w, who, rel: 'input: {code: "MX_CAT", name: "矩阵", defaultLevel: GRID}',
    "removeCaseCategory": lambda w, who, rel: 'code: "MX_NO_SUCH_CATEGORY"',
    # clocks (a year no test counts)
    "workCalendar": lambda w, who, rel: "year: 2031",
    "myWork": lambda w, who, rel: "",  # mywork
    "setWorkCalendar": lambda w, who, rel: 'year: 2031, holidays: ["2031-01-01"], workdays: []',
    # cases: follow-up
    "verifyCase": case_cmd(", passed: true"),
    "recordReturnVisit": lambda w, who, rel: (f"caseId: {lit(x)}, satisfaction: SATISFIED, reached: true, "
                                              f"expectedVersion: {VERSION}" if (x := w.case(who, rel)) else None),
    "correctCase": case_cmd(', input: {reason: "分类有误", categoryCode: "OTHER"}'),
    "commentOnCase": lambda w, who, rel: (f'id: {lit(x)}, text: "矩阵", visibility: PUBLIC'
                                          if (x := w.case(who, rel)) else None),
    # departments
    "departments": region("regionId"),
    "departmentStats": lambda w, who, rel: f'deptCode: "{DEPT}", regionId: {lit(who.region(rel))}',
    "departmentRankings": lambda w, who, rel: f'regionId: {lit(who.region(rel))}, metric: "onTimeRate"',
    # exports: a job is queued once role and scope pass; a job id nobody has is NOT_FOUND (allowed)
    "exportCases": lambda w, who, rel: f"filter: {{regionId: {lit(who.region(rel))}}}, format: CSV",
    "exportFigures": lambda w, who, rel: (f"regionId: {lit(who.region(rel))}, groupBy: REGION, "
                                          f"from: {lit(SINCE[:10])}, to: {lit(NOW.date().isoformat())}"),
    "exportMonthlyReport": lambda w, who, rel: f"regionId: {lit(who.region(rel))}, month: {lit(NOW.strftime('%Y-%m'))}",
    "exportJob": lambda w, who, rel: 'id: "exp-nobody"',
    # onboarding imports: the role is asked first (as JSON the file cannot come: BAD_USER_INPUT after it)
    "importFile": lambda w, who, rel: 'kind: REGIONS, file: "x", dryRun: true',
    "importJob": lambda w, who, rel: 'id: "imp-nobody"',
    "resumeImport": lambda w, who, rel: 'id: "imp-nobody"',
    "createDepartment": lambda w, who, rel: (
        f'input: {{code: "MX_D{w.n()}", name: "部门", regionId: {lit(who.region(rel))}}}'),
    "dispatchCase": case_cmd(', lead: "MX_NONE"'),
    "replyToCase": case_cmd(', text: "已配合"'),
    "requestCaseReturn": case_cmd(', reason: "非本部门"'),
    "requestCaseExtension": case_cmd(', until: "2099-01-01T00:00:00+08:00", reason: "需采购"'),
    "suspendCase": case_cmd(', reason: "待鉴定"'),
    "resumeCase": case_cmd(),
    "decideCaseRequest": lambda w, who, rel: (f"requestId: {lit(x + ':r1')}, approve: false"
                                              if (x := w.case(who, rel)) else None),
    "urgeCase": case_cmd(', note: "请加快"'),
    # party organisation
    "createPartyOrganization": create_org,
    "updatePartyOrganization": with_version(lambda w, who, rel: (f'id: {lit(x)}, name: "改名"'
                                                                 if (x := w.pick("org", who, rel)) else None)),
    "appointPosition": with_version(lambda w, who, rel: (
        f'organizationId: {lit(x)}, input: {{holderName: "王书记", role: SECRETARY, termStart: "2024-01-01"}}'
        if (x := w.pick("org", who, rel)) else None)),
    "endPosition": with_version(lambda w, who, rel: (
        f'organizationId: {lit(x)}, role: SECRETARY, holderName: "王书记", end: "2025-01-01"'
        if (x := w.pick("org", who, rel)) else None)),
    "addUnitToCommittee": committee_unit,
    "removeUnitFromCommittee": committee_unit,
    "registerPartyMember": lambda w, who, rel: (
        f'input: {{name: "新党员", gender: MALE, birthDate: "1990-01-01", joinDate: "2015-07-01", category: RETIRED, '
        f'organizationId: {lit(x)}}}' if (x := w.pick("org", who, rel)) else None),
    "updatePartyMember": lambda w, who, rel: (f"input: {{id: {x}, category: RETIRED, expectedVersion: {VERSION}}}"
                                              if (x := own_member(w, who, rel)) else None),
    "revealPartyMemberContact": lambda w, who, rel: (f'memberId: {x}, reason: "联系"'
                                                     if (x := own_member(w, who, rel)) else None),
    "requestMembershipTransfer": lambda w, who, rel: (f"input: {{{a}}}" if (a := transfer_request(w, who, rel))
                                                      else None),
    "approveMembershipTransfer": with_version(one("transfer")),
    "rejectMembershipTransfer": with_version(lambda w, who, rel: (f'id: {lit(x)}, reason: "不符"'
                                                                  if (x := w.pick("transfer", who, rel)) else None)),
    "cancelMembershipTransfer": with_version(lambda w, who, rel: (f'id: {lit(x)}, reason: "撤回"'
                                                                  if (x := w.pick("transfer", who, rel)) else None)),
    "dualRegister": lambda w, who, rel: (f'memberId: {x}, communityId: "mx-m"'
                                         if (x := own_member(w, who, rel)) else None),
    "endDualRegistration": lambda w, who, rel: (f'memberId: {x}, reason: "搬走"'
                                                if (x := own_member(w, who, rel)) else None),
    "twinUnitWithCommunity": twin,
    "registerCoBuildingUnit": lambda w, who, rel: (f'input: {{name: "单位{w.n()}", kind: SCHOOL, '
                                                   f'regionId: {lit(who.region(rel))}, contacts: []}}'),
    "updateCoBuildingUnitContacts": with_version(lambda w, who, rel: (f"id: {lit(x)}, contacts: []"
                                                                      if (x := w.pick("unit", who, rel)) else None)),
    "recordLinkage": linkage,
    "scheduleJointMeeting": lambda w, who, rel: (
        f"input: {{committeeId: {lit(x)}, scheduledAt: {lit((NOW + timedelta(days=30)).isoformat())}, "
        f"unavailableUnitIds: []}}" if (x := w.pick("committee", who, rel)) else None),
    "addAgendaItem": with_version(lambda w, who, rel: (f'meetingId: {lit(x)}, input: {{source: UNIT, ref: "x", '
                                                       f'title: "议题"}}' if (x := w.pick("meeting", who, rel)) else None)),
    "recordMeetingMinutes": with_version(lambda w, who, rel: (
        f'meetingId: {lit(x)}, input: {{minutes: "纪要", attendedUnitIds: [], attendedMemberIds: []}}'
        if (x := w.pick("meeting", who, rel)) else None)),
    "addResolution": with_version(lambda w, who, rel: (f'meetingId: {lit(x)}, text: "决议"'
                                                       if (x := w.pick("meeting", who, rel)) else None)),
    "createCaseFromActionItem": action_item,
    "recordOrganizationalLife": lambda w, who, rel: (
        f'input: {{organizationId: {lit(x)}, kind: PARTY_LECTURE, heldAt: {lit((NOW - timedelta(days=1)).isoformat())}, '
        f'topic: "党课", attendance: [], minutes: "记录"}}' if (x := w.pick("org", who, rel)) else None),
    "postNeed": lambda w, who, rel: f'communityId: {lit(who.region(rel))}, title: "需求{w.n()}", description: ""',
    "offerResource": lambda w, who, rel: (f'unitId: {lit(x)}, title: "资源{w.n()}", description: ""'
                                          if (x := w.pick("unit", who, rel)) else None),
    "proposeProject": project,
    "updateProjectStatus": with_version(lambda w, who, rel: (f'id: {lit(x)}, status: AGREED, note: "同意"'
                                                             if (x := w.pick("project", who, rel)) else None)),
    # volunteers
    "registerVolunteer": register_volunteer,
    "updateVolunteer": with_version(lambda w, who, rel: (f'id: {lit(x)}, skills: ["理发"]'
                                                         if (x := w.volunteer(who, rel)) else None)),
    "createVolunteerTeam": create_team,
    "addTeamMember": team_of("add"),
    "removeTeamMember": team_of("remove"),
    "createVolunteerPost": lambda w, who, rel: (f'input: {{title: "岗{w.n()}", type: CIVILITY, '
                                                f'regionId: {lit(who.region(rel))}, capacity: 2, duties: ""}}'),
    "claimPost": one("post", "postId"),
    "releasePost": staff_for_volunteer("post"),
    "closeVolunteerPost": one("post_x"),
    "placeServiceOrder": lambda w, who, rel: (f'input: {{category: "助老", description: "读报", buildingId: {lit(b)}}}'
                                              if (b := w.pick("building", who, rel)) else None),
    "reviewServiceOrder": lambda w, who, rel: (f'id: {lit(x)}, approve: false, reason: "重复", expectedVersion: {VERSION}'
                                               if (x := w.order(who, rel)) else None),
    "dispatchServiceOrder": dispatch,
    "takeServiceOrder": order_arg("order_take"),
    "startServiceOrder": order_arg(),
    "completeServiceOrder": order_arg(extra=", hours: 1"),
    "rateServiceOrder": order_arg(extra=", score: 5"),
    "cancelServiceOrder": order_arg("order_x", ', reason: "不需要了"'),
    "createActivity": lambda w, who, rel: (
        f'input: {{title: "活动{w.n()}", regionId: {lit(who.region(rel))}, startsAt: {lit(NOW.isoformat())}, '
        f'endsAt: {lit((NOW + timedelta(hours=1)).isoformat())}, capacity: 5, withCode: false}}'),
    "signUpForActivity": one("activity", "activityId"),
    "cancelActivitySignUp": one("activity", "activityId"),
    "checkInToActivity": lambda w, who, rel: (f'activityId: {lit(x)}, code: "000000"'
                                              if (x := w.pick("activity", who, rel)) else None),
    "checkOutOfActivity": lambda w, who, rel: (f'activityId: {lit(x)}, code: "000000"'
                                               if (x := w.pick("activity", who, rel)) else None),
    "backfillActivityHours": backfill,
    "redeemPoints": redeem,
    "upsertRewardItem": lambda w, who, rel: 'input: {code: "MX_CUP", name: "水杯", cost: 3, stock: 10}',
    "raiseHotspotToJointMeeting": lambda w, who, rel: (
        f'input: {{gridId: {lit(g)}, categoryCode: "ENV_GARBAGE", since: {lit(SINCE)}}}'
        if (g := w.pick("grid", who, rel)) else None),
    # households
    "households": region("regionId"),
    "household": one("household"),
    "registerHousehold": lambda w, who, rel: (f'input: {{buildingId: {lit(b)}, room: "{1000 + w.n()}", '
                                              f'head: {{name: "新住户"}}}}' if (b := w.pick("building", who, rel))
                                              else None),
    "updateHousehold": lambda w, who, rel: (f'id: {lit(x)}, input: {{tags: ["TENANT"], expectedVersion: {VERSION}}}'
                                            if (x := w.pick("household", who, rel)) else None),
    "moveOutHousehold": with_version(lambda w, who, rel: (f'id: {lit(x)}, reason: "搬走"'
                                                          if (x := w.pick("household", who, rel)) else None)),
    "revealHousehold": lambda w, who, rel: (f'id: {lit(x)}, reason: "核实身份"'
                                            if (x := w.pick("household", who, rel)) else None),
    # visits (the seeded households and visits lie in buildings b, b2, b3)
    "visits": region("regionId"),
    "visit": one("visit"),
    "visitPlan": lambda w, who, rel: (f"gridId: {lit(g)}" if (g := w.pick("grid", who, rel)) else None),
    "visitRules": lambda w, who, rel: "",
    "recordVisit": lambda w, who, rel: (f'input: {{householdId: {lit(h)}, kind: "ROUTINE"}}'  # no place: BAD_USER_INPUT
                                        if (h := w.pick("household_v", who, rel)) else None),
    "reportFromVisit": lambda w, who, rel: (
        f'visitId: {lit(v)}, input: {{title: "楼道堆物", categoryCode: "ENV_GARBAGE", channel: GRID_PATROL, '
        f'reporterName: "网格员"}}' if (v := w.pick("visit", who, rel)) else None),
    "setVisitRules": lambda w, who, rel: "rules: []",  # refused as empty once allowed
    # deliberation (a resident has no region: their "own" community is mx-m, a "sibling" one mx-m2)
    "proposals": region("regionId"),
    "proposal": lambda w, who, rel: (f"id: {lit(x)}" if (x := w.pick("proposal", who, rel)) else None),
    "publicNotices": region("regionId"),
    "deliberationRule": region("communityId"),
    "submitProposal": lambda w, who, rel: (f'input: {{communityId: {lit(c)}, title: "新提案{w.n()}", body: "内容"}}'
                                           if (c := resident_place(w, who, rel, "community")) else None),
    "supportProposal": lambda w, who, rel: (f"id: {lit(x)}" if (x := resident_place(w, who, rel, "proposal_sup"))
                                            else None),
    "advanceProposal": lambda w, who, rel: (f"id: {lit(x)}, input: {{to: PROPOSED, expectedVersion: {VERSION}}}"
                                            if (x := w.pick("proposal", who, rel)) else None),
    "recordRepresentativesVote": lambda w, who, rel: (
        f'proposalId: {lit(x)}, input: {{roll: ["甲"], attendees: ["甲"], votesFor: 1, expectedVersion: {VERSION}}}'
        if (x := w.pick("proposal", who, rel)) else None),
    "objectToNotice": lambda w, who, rel: (f'noticeId: {lit(x)}, text: "施工扰民"'
                                           if (x := resident_place(w, who, rel, "notice")) else None),
    "setDeliberationRule": lambda w, who, rel: (f"communityId: {lit(c)}, input: {{attendanceNumerator: 2}}"
                                                if (c := w.pick("community", who, rel)) else None),
    # subscriptions
    "caseEvents": region("regionId"),
    "events": lambda w, who, rel: f'regionId: {lit(who.region(rel))}, services: ["cases"]',
    # notifications: the caller's own inbox; nothing else to name
    "notifications": lambda w, who, rel: "first: 5",
    "notificationPreferences": lambda w, who, rel: "",
    "markNotificationsRead": lambda w, who, rel: 'ids: ["mx-no-such-notification"]',
    "setNotificationPreferences": lambda w, who, rel: 'input: {mutedTypes: ["CASE_URGED"]}',
    "notificationAdded": lambda w, who, rel: "",
    # webhooks (the receiver's address is never reached: no event of its type happens here)
    "webhooks": lambda w, who, rel: "first: 5",
    "registerWebhook": lambda w, who, rel: (f'input: {{url: "http://127.0.0.1:9/mx", eventTypes: ["CASE_URGED"], '
                                            f'regionId: {lit(who.region(rel))}}}'),
    # no event reaches the matrix's webhooks, so there is no delivery to name (tests/e2e/test_webhooks.py
    # redelivers real ones); a webhook is seeded in every place, and one of the department's own
    "redeliverWebhook": lambda w, who, rel: None,
    "deactivateWebhook": lambda w, who, rel: (
        f"id: {lit(x)}" if (x := w.pick("webhook", who, rel, ("dept",) if who.role == "department" else ("",)))
        else None),
    # residents' points: a resident who earned points in the place (a resident's own: theirs)
    "residentPointsRules": lambda w, who, rel: "",
    "residentPoints": lambda w, who, rel: (f"sub: {lit(x)}" if (x := w.pick("res_pts", who, rel)) else None),
    "residentPointsHistory": lambda w, who, rel: (f"sub: {lit(x)}, first: 5"
                                                  if (x := w.pick("res_pts", who, rel)) else None),
    "setResidentPointsRules": lambda w, who, rel: (
        'rules: [{code: "CIVILITY", description: "文明劝导", points: 2, cap: 4, period: MONTH}]'),
    "awardResidentPoints": lambda w, who, rel: (f'input: {{sub: "mx-award", ruleCode: "CIVILITY", '
                                                f'regionId: {lit(who.region(rel))}, occasion: "mx{w.n()}"}}'),
    "redeemResidentPoints": lambda w, who, rel: f'itemCode: "MX_SOAP", redemptionId: "rr{w.n()}"',
    # units take service orders
    "acceptServiceOrderForUnit": lambda w, who, rel: (f'id: {lit(x)}, handler: "王师傅", expectedVersion: {VERSION}'
                                                      if (x := w.order(who, rel)) else None),
    "unitOrderStats": lambda w, who, rel: (f"unitIds: [{lit(x)}]" if (x := w.pick("unit", who, rel)) else None),
    # weak organisations: the seeded plans are on flagged organisations below the callers' own regions
    "weakOrganizations": region("regionId"),
    "weakScoreSettings": lambda w, who, rel: "",
    "setWeakScoreSettings": lambda w, who, rel: f"input: {{threshold: {WEAK_THRESHOLD}}}",  # the seeded value again
    "startRectification": lambda w, who, rel: (
        f'organizationId: {lit(x)}, input: {{tasks: [{{title: "整改", responsible: "书记", '
        f'dueAt: {lit((NOW + timedelta(days=5)).isoformat())}}}], reviewAt: {lit((NOW + timedelta(days=9)).isoformat())}}}'
        if (x := below_own(w, who, rel, "org")) else None),
    "completeRectificationTask": lambda w, who, rel: (
        f'planId: {lit(x)}, taskId: "t1"' if (x := w.pick("plan", who, rel)) else None),
    "reviewRectification": lambda w, who, rel: (
        f'planId: {lit(x)}, passed: false, note: "未通过"' if (x := below_own(w, who, rel, "plan")) else None),
    # committees
    "ownersCommittee": one("owners_committee"),
    "ownersCommittees": region("regionId"),
    "residentsCommittee": one("community", "communityId"),
    "threePartyMeeting": one("three_party"),
    "threePartyMeetings": region("regionId"),
    "unitCommunityRegistrations": region("regionId"),
    "createOwnersCommittee": with_place("community", lambda w, c, place: (
        f'input: {{communityId: {lit(c)}, estate: "小区{w.n()}", filedByOrgId: {lit(w.get("committee", place))}, '
        f'filedOn: "2025-01-01", seats: 3}}')),
    "addOwnersCommitteeCandidate": with_version(lambda w, who, rel: (
        f'committeeId: {lit(x)}, candidate: {{name: "新候选人"}}' if (x := w.pick("owners_committee", who, rel))
        else None)),
    "vetCommitteeCandidate": lambda w, who, rel: (
        f'input: {{committeeId: {lit(x)}, candidateId: "c1", check: RESIDENCY, passed: true, '
        f'expectedVersion: {VERSION}}}' if (x := w.pick("owners_committee", who, rel)) else None),
    "electOwnersCommittee": lambda w, who, rel: (
        f'input: {{committeeId: {lit(x)}, candidateIds: ["c1"], termStart: "2025-01-01", termEnd: "2029-12-31", '
        f'expectedVersion: {VERSION}}}' if (x := w.pick("owners_committee", who, rel)) else None),
    "endOwnersCommitteeTerm": with_version(lambda w, who, rel: (
        f'committeeId: {lit(x)}, end: "2026-01-01"' if (x := w.pick("owners_committee", who, rel)) else None)),
    "recordResidentsCommittee": lambda w, who, rel: (
        f'input: {{communityId: {lit(c)}, name: "居委会", members: [{{name: "主任", role: "主任"}}], '
        f'termStart: "2024-01-01"}}' if (c := w.pick("community", who, rel)) else None),
    "recordThreePartyMeeting": with_place("owners_committee", three_party_args),
    "registerUnitWithCommunity": with_place("community", lambda w, c, place: (
        f'input: {{unitId: {lit(w.get("unit_pc", place))}, communityId: {lit(c)}, commitments: []}}')),
    "recordUnitService": with_version(lambda w, who, rel: (
        f'registrationId: {lit(x)}, what: "义诊", at: {lit(NOW.isoformat())}'
        if (x := w.pick("unit_reg", who, rel)) else None)),
    # funds and service lists (the seeded funds are of year 2030; a grid is no community: BAD_USER_INPUT)
    "fundAccount": lambda w, who, rel: f"communityId: {lit(who.region(rel))}, year: 2030",
    "fundEntries": lambda w, who, rel: f"communityId: {lit(who.region(rel))}, year: 2030",
    "fundSummary": lambda w, who, rel: f"communityId: {lit(who.region(rel))}, year: 2030",
    "serviceCatalogue": lambda w, who, rel: f"communityId: {lit(who.region(rel))}",
    "needSuggestions": one("need", "needId"),
    "createFundAccount": lambda w, who, rel: f"communityId: {lit(who.region(rel))}, year: 2031, granted: 1000",
    "recordSpending": lambda w, who, rel: (f'input: {{communityId: {lit(who.region(rel))}, year: 2030, amount: 1, '
                                           f'purpose: "矩阵{w.n()}", target: {{kind: OTHER}}}}'),
    "approveSpending": lambda w, who, rel: (f'entryId: {lit(x)}, approve: false, note: "矩阵"'
                                            if (x := w.pick("fund_entry", who, rel)) else None),
    "addServiceListEntry": lambda w, who, rel: (
        f'input: {{communityId: {lit(who.region(rel))}, kind: PUBLIC, title: "服务{w.n()}", '
        f'provider: {{kind: DEPARTMENT, id: "MXDEPT", name: "部门"}}, howToOrder: {{channel: "窗口"}}}}'),
    "updateServiceListEntry": with_version(lambda w, who, rel: (f'id: {lit(x)}, input: {{title: "改"}}'
                                                                if (x := w.pick("service", who, rel)) else None)),
    "retireServiceListEntry": with_version(lambda w, who, rel: (f'id: {lit(x)}, reason: "停办"'
                                                                if (x := w.pick("service", who, rel)) else None)),
    "updateNeedStatus": with_version(lambda w, who, rel: (f"id: {lit(x)}, status: MATCHED"
                                                          if (x := w.pick("need", who, rel)) else None)),
}


# -- running it -----------------------------------------------------------------------------------------
@dataclass
class Cell:
    op: str
    kind: str  # query | mutation | subscription
    who: Who
    rel: Rel
    args: str
    expect_allowed: bool
    got: str = ""

    @property
    def passed(self) -> bool:
        if self.expect_allowed:
            return self.got not in ("FORBIDDEN", "UNAUTHENTICATED", "INTERNAL_SERVER_ERROR", "INVALID", "NULL",
                                "NOT_FOUND (it exists)")
        return self.got == "FORBIDDEN"


def schema_operations() -> dict[str, tuple[str, bool]]:
    """name -> (query | mutation | subscription, whether the result takes a selection)."""
    from shared.settings import Settings
    schema = build_schema(Settings())._schema
    out: dict[str, tuple[str, bool]] = {}
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type),
                       ("subscription", schema.subscription_type)):
        for name, f in root.fields.items():
            t = f.type
            while isinstance(t, GraphQLNonNull | GraphQLList):
                t = t.of_type
            out[name] = (kind, is_composite_type(t))
    return out


def test_every_operation_has_a_rule_and_a_call():
    ops = set(schema_operations())
    assert not ops - set(RIGHTS), f"operations without an expected-rights rule in tests/rights.py: {sorted(ops - set(RIGHTS))}"
    assert not ops - set(OPS), f"operations the matrix does not call: {sorted(ops - set(OPS))}"
    assert not set(RIGHTS) - ops, f"rules for operations the schema no longer has: {sorted(set(RIGHTS) - ops)}"


@pytest.fixture(scope="module")
async def world(mongo_server, tmp_path_factory):
    nats_server = start_nats(tmp_path_factory.mktemp("nats-authz"))
    stack = Stack(make_settings(nats_server.port, mongo_server.port, rpc_timeout_s=15.0))
    w = World(stack)
    try:
        for service in ("grids", "cases", "organizations", "volunteers", "notifications"):
            await stack.start_service(service)
        await stack.start_gateway(services=("grids", "cases", "organizations", "volunteers", "notifications"))
        t = stack.token
        w.people = {
            "superadmin": Who("superadmin", t(sub="mx-su"), "m", "mx-su"),
            "admin": Who("admin", t("admin", rid("m"), sub="mx-admin"), "m", "mx-admin"),
            "operator": Who("operator", t("operator", rid("m"), sub="mx-op"), "m", "mx-op"),
            "grid_worker": Who("grid_worker", t("grid_worker", rid("g"), sub="mx-gw"), "g", "mx-gw"),
            "department": Who("department", t("department", rid("m"), sub="mx-dept", dept=DEPT), "m", "mx-dept"),
            "resident": Who("resident", t("resident", sub="mx-res"), "r", "mx-res"),
            "building_leader": Who("building_leader", t("building_leader", rid("b"), sub="mx-bl"), "b", "mx-bl"),
        }
        started = time.monotonic()
        await w.seed_territory()
        await asyncio.gather(w.seed_workers(), w.seed_party(), w.seed_households())
        # The volunteer's token names their member record, which the party seed made.
        member = w.get("member", "m", "self")
        w.people["volunteer"] = Who("volunteer", t("volunteer", rid("m"), sub="mx-vol", member=member), "m", "mx-vol")
        await w.seed_cases_and_volunteers()
        await w.seed_resident_points()  # residents' points
        await w.seed_visits()
        await w.seed_webhooks()
        await w.seed_deliberation()  # deliberation
        await w.seed_funds()  # funds and service lists
        log.warning("authz matrix: seeded in %.1fs", time.monotonic() - started)
        yield w
    finally:
        if w.nc is not None:
            await w.nc.close()
        await stack.close()
        nats_server.stop()


async def run_http(w: World, cell: Cell, takes_selection: bool) -> str:
    doc = f"{cell.kind} {{ {cell.op}{f'({cell.args})' if cell.args else ''}{' { __typename }' if takes_selection else ''} }}"
    for _ in range(3):  # a busy machine may time a call out; UNAVAILABLE says try again
        body = await w.stack.gql(doc, token=cell.who.token)
        errors = body.get("errors") or []
        if not any(e.get("extensions", {}).get("code") == "UNAVAILABLE" for e in errors):
            break
    if any(not e.get("path") for e in errors):
        log.error("authz matrix: %s does not run: %s", doc, errors)
        return "INVALID"
    mine = [e for e in errors if e["path"][0] == cell.op]
    if mine:
        code = mine[0].get("extensions", {}).get("code", "?")
        # the record exists: NOT_FOUND to a caller with the right is a refusal all the same
        # (a query only: a command may name something else that is missing, the caller's own volunteer record)
        lookup = cell.kind == "query" and OPS[cell.op] in LOOKUPS
        return "NOT_FOUND (it exists)" if code == "NOT_FOUND" and lookup else code
    if cell.kind == "query" and OPS[cell.op] in LOOKUPS and (body.get("data") or {}).get(cell.op) is None:
        return "NULL"  # the record exists: an allowed caller that gets nothing was refused all the same
    return "OK"


async def run_subscription(w: World, cell: Cell) -> str:
    """FORBIDDEN (or another code) from the server, or OK once the feed's consumer exists."""
    stack = w.stack
    before = await w.consumers()
    url = f"ws://127.0.0.1:{stack.settings.http_port}/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {cell.who.token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        doc = f"subscription {{ {cell.op}{f'({cell.args})' if cell.args else ''} {{ __typename }} }}"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": doc}}))
        deadline = time.monotonic() + 4 * stack.settings.rpc_timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.05))
                payload = message.get("payload")
                errors = payload if message["type"] == "error" else (payload or {}).get("errors")
                if errors:
                    return errors[0].get("extensions", {}).get("code", "?")
            if await w.consumers() > before:
                break
        else:
            return "TIMEOUT"
    await eventually(w.consumers, lambda n: n <= before, timeout=4 * stack.settings.rpc_timeout_s)
    return "OK"


@pytest.mark.long(170)  # seconds alone, about: started first (tests/conftest.py)
async def test_every_operation_for_every_role_and_relation(world: World):
    w = world
    ops = schema_operations()
    started = time.monotonic()
    cells: dict[str, list[Cell]] = {}
    skipped = 0
    for op, (kind, _) in ops.items():
        rule, build = RIGHTS[op], OPS[op]
        who_list = [w.people[r] for r in ROLES]
        for who in who_list:
            for rel in Rel:
                args = build(w, who, rel)
                if args is None:
                    skipped += 1
                    continue
                cells.setdefault(op, []).append(Cell(op, kind, who, rel, args, rule.allows(who.role, rel)))
        if rule.scope.value == "deployment":  # a city's administrator may, as well as a superadmin
            city = Who("admin", w.stack.token("admin", rid("c"), sub="mx-city-admin"), "m", "mx-city-admin", True)
            cells[op].append(Cell(op, kind, city, Rel.OWN, build(w, city, Rel.OWN) or "",
                                  rule.allows("admin", Rel.OWN, city_admin=True)))

    limit = asyncio.Semaphore(CONCURRENCY)

    async def run(cell: Cell) -> None:
        async with limit:
            cell.got = await run_http(w, cell, ops[cell.op][1])

    async def run_op(op: str) -> None:
        # Refused calls first (side by side): they must change nothing that the allowed ones then see.
        await asyncio.gather(*(run(c) for c in cells.get(op, []) if not c.expect_allowed))
        for cell in (c for c in cells.get(op, []) if c.expect_allowed):
            await run(cell)

    await asyncio.gather(*(run_op(op) for op in ops if ops[op][0] != "subscription"))
    for op in (op for op in ops if ops[op][0] == "subscription"):  # one at a time: they count consumers
        for cell in sorted(cells.get(op, []), key=lambda c: c.expect_allowed):
            cell.got = await run_subscription(w, cell)
    elapsed = time.monotonic() - started
    every = [c for cs in cells.values() for c in cs]
    failures = [c for c in every if not c.passed]
    summary = (f"authz matrix: {len(ops)} operations x {len(ROLES)} roles x {len(Rel)} relations: "
               f"{len(every)} calls checked ({sum(c.expect_allowed for c in every)} allowed, "
               f"{sum(not c.expect_allowed for c in every)} refused), {skipped} combinations with no such record, "
               f"in {elapsed:.1f}s")
    log.warning(summary)
    print(summary)
    assert not failures, "\n".join(
        [f"{len(failures)} outcomes differ from tests/rights.py:"]
        + [f"  {c.op} as {c.who.role}{' (city)' if c.who.city_admin else ''} on {c.rel}: expected "
           f"{'allowed' if c.expect_allowed else 'FORBIDDEN'}, got {c.got}  ({c.args})" for c in failures])
