"""The volunteers part of the gateway schema keeps the names the product spec fixes, reads the DTOs the
service's views write, and sends payloads the contract's wire models accept. Pure: services are fakes."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import strawberry

from gateway.clients import CasesClient, GridsClient, OrganizationsClient, VolunteersClient
from gateway.loaders import Loaders
from gateway.schema import Mutation, Query, build_schema
from gateway.schema.volunteer_stats import volunteer_stats
from services.volunteers import domain as d
from shared.vocabulary.volunteers import COUNTER_DEFINITIONS
from services.volunteers.views import VolunteerViews
from shared.auth import Principal, Role
from shared.contracts import volunteers as c
from shared.errors import Forbidden, Unavailable
from shared.jsonutil import dumps, loads
from shared.privacy import FieldCipher
from shared.settings import Settings

SCHEMA = build_schema(Settings())._schema


def fields(type_name: str) -> dict:
    return SCHEMA.type_map[type_name].fields


QUERIES = {"volunteer", "myVolunteer", "volunteers", "volunteerTeam", "volunteerTeams", "volunteerPost",
           "volunteerPosts", "serviceOrder", "serviceOrders", "wishWall", "volunteerTasks", "activity", "activities",
           "pointsBalance", "pointsHistory", "rewardCatalogue"}
MUTATIONS = {"registerVolunteer", "updateVolunteer", "createVolunteerTeam", "addTeamMember", "removeTeamMember",
             "createVolunteerPost", "claimPost", "releasePost", "closeVolunteerPost", "placeServiceOrder",
             "reviewServiceOrder", "dispatchServiceOrder", "takeServiceOrder", "startServiceOrder",
             "completeServiceOrder", "rateServiceOrder", "cancelServiceOrder", "createActivity", "signUpForActivity",
             "cancelActivitySignUp", "checkInToActivity", "checkOutOfActivity", "backfillActivityHours",
             "redeemPoints", "upsertRewardItem"}
ARGS = {"updateVolunteer": {"id", "skills", "availability", "expectedVersion"},
        "addTeamMember": {"teamId", "volunteerId"}, "removeTeamMember": {"teamId", "volunteerId"},
        "claimPost": {"postId", "volunteerId"}, "releasePost": {"postId", "volunteerId"},
        "closeVolunteerPost": {"id"}, "reviewServiceOrder": {"id", "approve", "reason", "expectedVersion"},
        "dispatchServiceOrder": {"id", "target", "expectedVersion"}, "takeServiceOrder": {"id", "volunteerId"},
        "startServiceOrder": {"id"}, "completeServiceOrder": {"id", "hours"},
        "rateServiceOrder": {"id", "score", "comment"}, "cancelServiceOrder": {"id", "reason"},
        "signUpForActivity": {"activityId", "volunteerId"}, "cancelActivitySignUp": {"activityId", "volunteerId"},
        "checkInToActivity": {"activityId", "code", "lng", "lat"},
        "checkOutOfActivity": {"activityId", "code", "lng", "lat"},
        "backfillActivityHours": {"activityId", "volunteerId", "hours", "reason"},
        "redeemPoints": {"itemCode", "redemptionId", "volunteerId"}}
QUERY_ARGS = {"volunteers": {"regionId", "memberOnly", "skill", "first", "after"},
              "volunteerPosts": {"regionId", "type", "volunteerId", "activeOnly", "first", "after"},
              "serviceOrders": {"regionId", "status", "mine", "first", "after"},
              "wishWall": {"communityId", "first", "after"}, "volunteerTasks": {"volunteerId", "first", "after"},
              "activities": {"regionId", "first", "after"}, "pointsBalance": {"volunteerId"},
              "pointsHistory": {"volunteerId", "first", "after"}}
TYPES = {
    "Volunteer": {"id", "sub", "name", "kind", "memberId", "partyMember", "inServiceMember", "phone", "skills",
                  "availability", "homeRegion", "regionPath", "createdAt", "version", "claimedPosts", "tasks",
                  "points"},
    "PointsAccount": {"balance", "history"},
    "VolunteerTeam": {"id", "name", "leader", "members", "region", "version"},
    "VolunteerPost": {"id", "title", "type", "capacity", "claimedCount", "duties", "status", "region", "claimants",
                      "version"},
    "PostClaim": {"volunteer", "at"},
    "ServiceOrder": {"id", "category", "description", "building", "location", "wishedAt", "status", "rejectReason",
                     "target", "taker", "startedAt", "completedAt", "hours", "rating", "comment", "cancelReason",
                     "residentSub", "region", "createdAt", "version"},
    "DispatchTarget": {"kind", "id"},
    "GeoPoint": {"lng", "lat"},
    "VolunteerTask": {"id", "caseId", "case", "volunteer", "title", "status", "hours", "resolvedAt"},
    "Activity": {"id", "title", "startsAt", "endsAt", "capacity", "signedCount", "region", "hasArea", "checkCode",
                 "attendance", "version"},
    "ActivityAttendance": {"volunteer", "volunteerId", "signedAt", "checkedInAt", "checkedOutAt", "hours",
                           "backfilled", "backfillReason"},
    "PointsEntry": {"id", "delta", "sourceKind", "sourceId", "at", "expiresAt"},
    "PointsRedemption": {"entry", "item", "balance"},
    "RewardItem": {"code", "name", "cost", "stock"},
    "VolunteerStats": {"volunteerCount", "teamCount", "activePosts", "claimedPosts", "openOrders", "completedOrders",
                       "serviceHours", "pointsIssued", "pointsRedeemed", "pointsExpired"},
}
ENUMS = {"VolunteerKind": d.VolunteerKind, "VolunteerPostType": d.PostType, "VolunteerPostStatus": d.PostStatus,
         "ServiceOrderStatus": d.OrderStatus, "DispatchTargetKind": d.TargetKind, "VolunteerTaskStatus": d.TaskStatus,
         "PointsSourceKind": d.SourceKind}


def test_names_fixed_by_the_product_spec_are_present():
    assert QUERIES <= set(fields("Query"))
    assert MUTATIONS <= set(fields("Mutation"))
    for name, args in ARGS.items():
        assert set(fields("Mutation")[name].args) == args, name
    for name, args in QUERY_ARGS.items():
        assert set(fields("Query")[name].args) == args, name
    assert str(fields("Mutation")["dispatchServiceOrder"].args["target"].type) == "DispatchTargetInput!"
    assert str(fields("Query")["pointsBalance"].type) == "Int!"
    assert str(fields("Query")["rewardCatalogue"].type) == "[RewardItem!]!"
    for name, expected in TYPES.items():
        assert expected <= set(fields(name)), name
    for name in ("Volunteer", "VolunteerTeam", "VolunteerPost", "ServiceOrder", "VolunteerTask", "Activity",
                 "PointsEntry"):
        assert set(fields(f"{name}Connection")) == {"edges", "pageInfo", "totalCount"}
    assert {"volunteerCount", "activePosts", "openOrders", "serviceHours"} <= set(fields("VolunteerStats"))
    assert str(fields("RegionOverview")["volunteers"].type) == "VolunteerStats"
    assert "UNAVAILABLE" in fields("RegionOverview")["volunteers"].description
    assert set(fields("Region")["volunteerPosts"].args) == {"type", "first", "after"}
    for name, enum in ENUMS.items():
        assert set(SCHEMA.type_map[name].values) == {e.value for e in enum}, name
    assert set(SCHEMA.type_map["VolunteerPostType"].values) == {m.value for m in c.PostTypeName}
    assert set(SCHEMA.type_map["ServiceOrderStatus"].values) == {m.value for m in c.OrderStatusName}
    assert set(SCHEMA.type_map["DispatchTargetKind"].values) == {m.value for m in c.TargetKindName}
    posts = {k: v.description for k, v in SCHEMA.type_map["VolunteerPostType"].values.items()}
    assert [posts[k] for k in ("POLICY_OUTREACH", "CIVILITY", "ENVIRONMENT", "LEGAL_AID", "MEDIATION",
                               "PARCEL_STATION", "SAFETY")] == ["政策宣传", "文明督导", "环境治理", "法律援助", "民事调解",
                                                                "快递驿站", "安全"]
    assert "待审核" in SCHEMA.type_map["ServiceOrderStatus"].values["PENDING_REVIEW"].description


def test_every_volunteer_figure_states_its_definition():
    stats = fields("VolunteerStats")
    assert all(f.description for f in stats.values())
    assert stats["openOrders"].description == COUNTER_DEFINITIONS["open_orders"]
    assert stats["pointsExpired"].description == COUNTER_DEFINITIONS["points_expired"]
    assert str(stats["serviceHours"].type) == "Float!"
    assert "tenths of an hour" not in stats["serviceHours"].description


def test_stats_map_from_the_views_dto():
    dto = loads(dumps(VolunteerViews.stats({"volunteers": 4, "teams": 1, "active_posts": 2, "claimed_posts": 1,
                                            "open_orders": 3, "completed_orders": 2, "service_hours_tenths": 25,
                                            "points_issued": 7, "points_redeemed": 5, "points_expired": 1})))
    s = volunteer_stats(dto)
    assert (s.volunteer_count, s.team_count, s.active_posts, s.claimed_posts, s.open_orders, s.completed_orders) == (
        4, 1, 2, 1, 3, 2)
    assert (s.service_hours, s.points_issued, s.points_redeemed, s.points_expired) == (2.5, 7, 5, 1)
    assert volunteer_stats({}).volunteer_count == 0 and volunteer_stats({}).service_hours == 0.0


# ---- against fake services ------------------------------------------------------------------------------------

MODELS = c.REQUESTS  # the table the gateway's typed client checks requests against


def test_the_models_cover_every_verb_of_the_contract():
    verbs = {v for v in re.findall(r"\b([a-z]+\.[a-zA-Z]+)\b", c.VOLUNTEERS_API) if not v.startswith("yiwang")}
    assert verbs == set(MODELS)


T0 = datetime(2026, 10, 10, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
PATH = ("c", "k", "t1", "m1")
GRID_PATH = (*PATH, "g1")
LEVELS = {"c": "CITY", "k": "COUNTY", "t1": "TOWNSHIP", "m1": "COMMUNITY", "g1": "GRID", "b1": "BUILDING"}
OPERATOR = Principal(sub="op-m1", role=Role.OPERATOR, region="m1")
ADMIN = Principal(sub="admin-k", role=Role.ADMIN, region="k")
RESIDENT = Principal(sub="res1", role=Role.RESIDENT)
BOSS = Principal(sub="root", role=Role.SUPERADMIN)
BOUNDARY = {"type": "Polygon", "coordinates": [[[116.0, 39.0], [116.01, 39.0], [116.01, 39.01], [116.0, 39.01],
                                                [116.0, 39.0]]]}
MEMBER = {"id": "p1", "name": "张三", "gender": "MALE", "category": "IN_SERVICE", "status": "ACTIVE", "version": 1}
CASE = {"id": "case-1", "title": "楼道堆物", "kind": "COMPLAINT", "channel": "GRID_PATROL", "status": "RESOLVED",
        "level": "GRID", "categoryCode": "CLUTTER", "regionId": "g1", "reporter": {"name": "网格员"},
        "createdAt": T0.isoformat(), "version": 3}


def _records() -> dict[str, Any]:
    """DTOs as the service's views write them for a superadmin, after the wire."""
    views = VolunteerViews(FieldCipher("test-key"))
    members = {"p1": d.MemberRef(member_id="p1", org_id="gb-g1", in_service=True)}
    people = []
    for n, member_id in ((1, "p1"), (2, None)):
        people.append(d.Volunteer.register(
            id=f"vol{n}", sub=f"v{n}", name=f"志愿者{n}", home_path=PATH, by=OPERATOR, now=T0, member_id=member_id,
            members=members, phone_enc=views.cipher.encrypt(f"1381234567{n}"), skills=["维修"]))
    v1, v2 = people
    p1 = Principal(sub="v1", role=Role.VOLUNTEER, region="m1")
    team = d.Team.create(id="team1", name="先锋队", leader=v1, path=PATH, by=OPERATOR, now=T0)
    team.add_member(OPERATOR, v2, T0)
    post = d.Post.create(id="post1", title="垃圾分类督导", post_type=d.PostType.ENVIRONMENT, capacity=2,
                         anchor_path=GRID_PATH, by=OPERATOR, now=T0, duties="早晚各一次")
    post.claim(p1, v1, T0)
    order = d.ServiceOrder.place(id="o1", category="助老", description="帮忙买菜", path=PATH, by=RESIDENT, now=T0,
                                 building_id="b1", location=d.GeoPoint(lng=116.005, lat=39.005),
                                 wished_at=T0 + 24 * H)
    order.approve(OPERATOR, T0)
    order.dispatch(OPERATOR, d.Target(kind=d.TargetKind.VOLUNTEER, id="vol1"), T0)
    order.take(p1, v1, T0)
    order.start(p1, T0)
    order.complete(p1, 2.5, T0 + 3 * H)
    order.rate(RESIDENT, 5, T0 + 4 * H, "很好")
    task = d.VolunteerTask.from_case(case_id="case-1", title="楼道堆物", path=GRID_PATH, volunteer_id="vol1", now=T0)
    task.resolve(T0 + H, 1.5)
    act = d.Activity.create(id="a1", title="河道清洁", path=GRID_PATH, starts_at=T0, ends_at=T0 + 3 * H,
                            capacity=10, by=OPERATOR, now=T0 - H, check_code="123456", boundary=BOUNDARY)
    act.sign_up(p1, v1, T0 - H)
    act.backfill(ADMIN, v2, 2.0, "忘记签到", T0 + 4 * H)
    credit = d.award([], entry_id="e1", volunteer_id="vol1", source_kind=d.SourceKind.ORDER, source_id="o1",
                     hours_tenths=25, now=T0 + 3 * H, region_path=PATH)
    item = d.CatalogueItem(code="SOAP", name="洗衣皂", cost=1, stock=5)
    spent, left = d.redeem([credit], item, T0 + 5 * H, entry_id="e2", volunteer_id="vol1", redemption_id="r-1")
    out = {"vols": {v.id: views.volunteer(BOSS, v) for v in people}, "team": views.team(team), "post": views.post(post),
           "order": views.order(BOSS, order), "task": views.task(task), "activity": views.activity(BOSS, act),
           "entries": [views.entry(spent), views.entry(credit)], "item": views.item(item),
           "redemption": {"entry": views.entry(spent), "item": views.item(left), "balance": 1},
           "stats": views.stats({"volunteers": 2, "active_posts": 1, "open_orders": 0, "service_hours_tenths": 60})}
    return loads(dumps(out))


class FakeService(OrganizationsClient, VolunteersClient, GridsClient, CasesClient):
    """Any service's typed client; checks every payload against the contract's wire model after a JSON round
    trip, as the RPC layer does."""

    def __init__(self, reply, models: dict[str, type] | None = None):
        self.reply, self.models, self.calls = reply, models, []

    async def __call__(self, verb: str, payload: dict[str, Any] | None = None) -> Any:
        wire = loads(dumps(payload or {}))
        if self.models is not None:
            self.models[verb].model_validate(wire)
        self.calls.append((verb, wire))
        return self.reply(verb, wire)


def _page(items: list[dict]) -> dict:
    return {"items": items, "totalCount": len(items), "hasNextPage": False, "endCursor": None}


def _vol_reply(r: dict[str, Any]):
    one = {"volunteer": r["vols"]["vol1"], "team": r["team"], "post": r["post"], "order": r["order"],
           "task": r["task"], "activity": r["activity"]}

    def reply(verb: str, p: dict) -> Any:
        noun, action = verb.split(".")
        if verb == "volunteer.batch":
            return {"items": {i: r["vols"].get(i) for i in p["ids"]}}
        if verb == "stats.batch":
            return {"items": {i: r["stats"] for i in p["ids"]}}
        if verb == "points.balance":
            return {"volunteerId": p.get("volunteerId") or "vol1", "balance": 1}
        if verb == "points.history":
            return _page(r["entries"])
        if verb == "points.redeem":
            return r["redemption"]
        if noun == "catalogue":
            return {"items": [r["item"]]} if action == "list" else r["item"]
        if action in ("list", "wishWall"):
            return _page([one[noun]])
        return one[noun]
    return reply


class FakeContext:
    def __init__(self, member_reply=None, stats_reply=None):
        self.records = _records()
        reply = _vol_reply(self.records)
        if stats_reply is not None:
            plain = reply

            def reply(verb, p):  # noqa: F811 - the figures replaced, the rest as before
                return stats_reply(verb, p) if verb == "stats.batch" else plain(verb, p)
        self.volunteers = FakeService(reply, MODELS)
        self.organizations = FakeService(member_reply or (lambda verb, p: {"items": {i: MEMBER for i in p["ids"]}}))
        self.grids = FakeService(lambda verb, p: {"items": {i: {
            "id": i, "name": f"区域{i}", "level": LEVELS[i], "code": None, "version": 1} for i in p["ids"]}})
        self.cases = FakeService(lambda verb, p: {"items": {i: CASE for i in p["ids"]}})
        self.loaders = Loaders(self.grids, self.cases, self.organizations, self.volunteers)
        self.principal = Principal(sub="test", role=Role.SUPERADMIN)  # the gateway's own role checks pass


PLAIN = strawberry.Schema(query=Query, mutation=Mutation)  # unmasked errors, for readable failures


async def run(query: str, context: FakeContext | None = None) -> tuple[dict, FakeContext]:
    context = context or FakeContext()
    result = await PLAIN.execute(query, context_value=context)
    assert result.errors is None, result.errors
    return result.data, context


async def test_a_volunteer_resolves_its_references_in_batches():
    data, fake = await run("""{ volunteer(id: "vol1") {
        id sub name kind memberId inServiceMember phone skills availability regionPath createdAt version
        partyMember { id name } homeRegion { id level }
        claimedPosts(first: 5) { totalCount edges { node { id type status claimants { at volunteer { id } } } } }
        tasks { edges { node { caseId title status hours resolvedAt case { id status } volunteer { name }
          region { id } } } }
        points { balance history(first: 10) { totalCount edges { node { delta sourceKind sourceId expiresAt } } } } }
      volunteerTeam(id: "team1") { name leader { id } members { id name } region { id level } version } }""")
    v = data["volunteer"]
    assert (v["kind"], v["memberId"], v["inServiceMember"], v["phone"]) == ("PARTY_MEMBER", "p1", True, "13812345671")
    assert v["partyMember"] == {"id": "p1", "name": "张三"} and v["homeRegion"] == {"id": "m1", "level": "COMMUNITY"}
    assert v["regionPath"] == list(PATH) and v["skills"] == ["维修"]
    post = v["claimedPosts"]["edges"][0]["node"]
    assert (post["type"], post["status"], post["claimants"][0]["volunteer"]) == ("ENVIRONMENT", "ACTIVE",
                                                                                 {"id": "vol1"})
    task = v["tasks"]["edges"][0]["node"]
    assert (task["caseId"], task["status"], task["hours"], task["case"]) == (
        "case-1", "RESOLVED", 1.5, {"id": "case-1", "status": "RESOLVED"})
    assert v["points"]["balance"] == 1
    assert [e["node"]["sourceKind"] for e in v["points"]["history"]["edges"]] == ["REDEMPTION", "ORDER"]
    team = data["volunteerTeam"]
    assert team["leader"] == {"id": "vol1"} and [m["id"] for m in team["members"]] == ["vol1", "vol2"]
    calls = fake.volunteers.calls
    assert ("post.list", {"volunteerId": "vol1", "first": 5, "after": None}) in calls
    assert ("task.list", {"volunteerId": "vol1", "first": 20, "after": None}) in calls
    assert ("points.balance", {"volunteerId": "vol1"}) in calls
    assert ("points.history", {"volunteerId": "vol1", "first": 10, "after": None}) in calls
    # The root loads vol1; every nested reference then shares one batch (vol1 from the cache)
    assert [p["ids"] for v, p in calls if v == "volunteer.batch"] == [["vol1"], ["vol2"]]
    assert [v for v, _ in fake.organizations.calls] == ["member.batch"]


async def test_orders_activities_and_lists_read_the_views_dtos():
    data, fake = await run("""{
      serviceOrder(id: "o1") { category description building { id level } location { lng lat } wishedAt status
        target { kind id } taker { id name } startedAt completedAt hours rating comment residentSub region { id }
        rejectReason cancelReason version }
      activity(id: "a1") { title startsAt endsAt capacity signedCount hasArea checkCode region { id level }
        attendance { volunteerId volunteer { id } signedAt checkedInAt hours backfilled backfillReason } }
      myVolunteer { id }
      volunteers(regionId: "m1", memberOnly: true, skill: "维修", first: 3) { totalCount edges { cursor node { id } } }
      volunteerTeams(regionId: "m1") { totalCount }
      volunteerPost(id: "post1") { title capacity claimedCount duties region { level } }
      volunteerPosts(regionId: "m1", type: ENVIRONMENT, activeOnly: false) { totalCount }
      serviceOrders(regionId: "m1", status: OPEN, mine: true) { totalCount }
      wishWall(communityId: "m1") { edges { node { id } } }
      volunteerTasks(volunteerId: "vol1") { totalCount }
      activities(regionId: "m1") { totalCount }
      pointsBalance
      pointsHistory(volunteerId: "vol1", first: 2) { edges { node { id delta } } }
      rewardCatalogue { code name cost stock }
      overview(regionId: "m1") { volunteers { volunteerCount activePosts openOrders serviceHours } }
      region(id: "m1") { volunteerPosts(type: ENVIRONMENT) { totalCount } } }""")
    o = data["serviceOrder"]
    assert (o["status"], o["target"], o["taker"], o["hours"], o["rating"], o["residentSub"]) == (
        "RATED", {"kind": "VOLUNTEER", "id": "vol1"}, {"id": "vol1", "name": "志愿者1"}, 2.5, 5, "res1")
    assert o["location"] == {"lng": 116.005, "lat": 39.005} and o["building"] == {"id": "b1", "level": "BUILDING"}
    a = data["activity"]
    assert (a["signedCount"], a["hasArea"], a["checkCode"], a["region"]) == (1, True, "123456",
                                                                             {"id": "g1", "level": "GRID"})
    assert [(x["volunteerId"], x["hours"], x["backfilled"], x["backfillReason"]) for x in a["attendance"]] == [
        ("vol1", 0.0, False, None), ("vol2", 2.0, True, "忘记签到")]
    assert data["myVolunteer"] == {"id": "vol1"} and data["pointsBalance"] == 1
    assert data["rewardCatalogue"] == [{"code": "SOAP", "name": "洗衣皂", "cost": 1, "stock": 5}]
    assert data["overview"]["volunteers"] == {"volunteerCount": 2, "activePosts": 1, "openOrders": 0,
                                              "serviceHours": 6.0}
    calls = fake.volunteers.calls
    assert ("volunteer.me", {}) in calls
    assert ("volunteer.list", {"regionId": "m1", "memberOnly": True, "skill": "维修", "first": 3,
                               "after": None}) in calls
    assert ("post.list", {"regionId": "m1", "type": "ENVIRONMENT", "activeOnly": False, "first": 20,
                          "after": None}) in calls
    assert ("post.list", {"regionId": "m1", "type": "ENVIRONMENT", "first": 20, "after": None}) in calls
    assert ("order.list", {"regionId": "m1", "status": "OPEN", "mine": True, "first": 20, "after": None}) in calls
    assert ("order.wishWall", {"communityId": "m1", "first": 20, "after": None}) in calls
    assert ("points.balance", {}) in calls
    assert ("catalogue.list", {}) in calls and ("stats.batch", {"ids": ["m1"]}) in calls


async def test_a_refused_party_member_is_an_error_not_a_silent_null():
    def refuse(verb, p):
        return {"items": {i: {"error": Forbidden("member p1 is outside your scope").to_dict()} for i in p["ids"]}}
    result = await PLAIN.execute('{ volunteer(id: "vol1") { id partyMember { id } } }',
                                 context_value=FakeContext(member_reply=refuse))
    assert result.data == {"volunteer": {"id": "vol1", "partyMember": None}}
    assert [type(e.original_error) for e in result.errors] == [Forbidden]


async def test_overview_volunteers_is_null_with_an_error_while_the_service_is_down():
    def down(verb, p):
        raise Unavailable("volunteers did not answer")
    result = await PLAIN.execute('{ overview(regionId: "m1") { region { id } volunteers { volunteerCount } } }',
                                 context_value=FakeContext(stats_reply=down))
    assert result.data == {"overview": {"region": {"id": "m1"}, "volunteers": None}}
    assert [type(e.original_error) for e in result.errors] == [Unavailable]


async def test_every_mutation_sends_a_payload_the_contract_accepts():
    data, fake = await run("""mutation {
      registerVolunteer(input: {name: "李四", homeRegionId: "m1", phone: "13800000000", memberId: "p1",
        skills: ["维修"], availability: ["SAT_AM"], idempotencyKey: "k1"}) { id }
      updateVolunteer(id: "vol1", skills: ["法律"], expectedVersion: 2) { id }
      createVolunteerTeam(input: {name: "先锋队", leaderId: "vol1", regionId: "m1"}) { id }
      addTeamMember(teamId: "team1", volunteerId: "vol2") { id }
      removeTeamMember(teamId: "team1", volunteerId: "vol2") { id }
      createVolunteerPost(input: {title: "普法", type: LEGAL_AID, regionId: "g1", capacity: 3}) { id }
      claimPost(postId: "post1") { id }
      releasePost(postId: "post1", volunteerId: "vol1") { id }
      closeVolunteerPost(id: "post1") { id }
      placeServiceOrder(input: {category: "助老", description: "买菜", lng: 116.005, lat: 39.005,
        wishedAt: "2026-10-11T08:00:00+00:00"}) { id }
      reviewServiceOrder(id: "o1", approve: false, reason: "不在服务范围", expectedVersion: 1) { id }
      dispatchServiceOrder(id: "o1", target: {kind: TEAM, id: "team1"}, expectedVersion: 2) { id }
      takeServiceOrder(id: "o1") { id }
      startServiceOrder(id: "o1") { id }
      completeServiceOrder(id: "o1", hours: 2.5) { id }
      rateServiceOrder(id: "o1", score: 5, comment: "很好") { id }
      cancelServiceOrder(id: "o1", reason: "重复") { id }
      createActivity(input: {title: "河道清洁", regionId: "g1", startsAt: "2026-10-10T08:00:00+00:00",
        endsAt: "2026-10-10T11:00:00+00:00", capacity: 10}) { id }
      signUpForActivity(activityId: "a1") { id }
      cancelActivitySignUp(activityId: "a1", volunteerId: "vol1") { id }
      checkInToActivity(activityId: "a1", code: "123456") { id }
      checkOutOfActivity(activityId: "a1", lng: 116.005, lat: 39.005) { id }
      backfillActivityHours(activityId: "a1", volunteerId: "vol2", hours: 2, reason: "忘记签到") { id }
      redeemPoints(itemCode: "SOAP", redemptionId: "r-1") { balance entry { delta sourceKind } item { stock } }
      upsertRewardItem(input: {code: "SOAP", name: "洗衣皂", cost: 1, stock: 5}) { code } }""")
    sent = dict(fake.volunteers.calls)
    mutated = {v for v in sent if v.split(".")[1] not in ("get", "batch", "list")}
    assert len(mutated) == len(MUTATIONS)
    assert sent["volunteer.register"] == {"name": "李四", "homeRegionId": "m1", "phone": "13800000000",
                                          "memberId": "p1", "skills": ["维修"], "availability": ["SAT_AM"],
                                          "idempotencyKey": "k1"}
    assert sent["volunteer.update"] == {"id": "vol1", "expectedVersion": 2, "skills": ["法律"]}
    assert sent["team.addMember"] == {"id": "team1", "volunteerId": "vol2"}
    assert sent["post.create"] == {"title": "普法", "type": "LEGAL_AID", "regionId": "g1", "capacity": 3,
                                   "duties": ""}
    assert sent["post.claim"] == {"id": "post1"} and sent["post.close"] == {"id": "post1"}
    assert sent["order.review"] == {"id": "o1", "expectedVersion": 1, "approve": False, "reason": "不在服务范围"}
    assert sent["order.dispatch"] == {"id": "o1", "expectedVersion": 2, "target": {"kind": "TEAM", "id": "team1"}}
    assert sent["order.complete"] == {"id": "o1", "hours": 2.5}
    assert sent["activity.create"]["withCode"] is True
    assert sent["activity.checkIn"] == {"id": "a1", "code": "123456"}
    assert sent["activity.checkOut"] == {"id": "a1", "lng": 116.005, "lat": 39.005}
    assert sent["activity.backfill"] == {"id": "a1", "volunteerId": "vol2", "hours": 2.0, "reason": "忘记签到"}
    assert sent["points.redeem"] == {"itemCode": "SOAP", "redemptionId": "r-1"}
    assert data["redeemPoints"] == {"balance": 1, "entry": {"delta": -1, "sourceKind": "REDEMPTION"},
                                    "item": {"stock": 4}}
