"""The organizations part of the gateway schema keeps the names the product spec fixes, reads the DTOs the
service's views write, and sends payloads the contract's wire models accept. Pure: services are fakes."""
from __future__ import annotations

from datetime import date
from typing import Any

import strawberry

from gateway.clients import CasesClient, GridsClient, OrganizationsClient, VolunteersClient
from gateway.loaders import Loaders
from gateway.schema import Mutation, Query, build_schema
from gateway.schema.org_stats import org_stats
from services.organizations.domain import Position, PositionRole, Term
from shared.vocabulary.organizations import COUNTER_DEFINITIONS
from services.organizations.views import OrgViews
from shared.auth import Principal, Role
from shared.contracts import organizations as c
from shared.jsonutil import dumps, loads
from shared.privacy import FieldCipher
from shared.settings import Settings
from tests.unit.org_fixtures import ADMIN_K, T0, N, member, tree

SCHEMA = build_schema(Settings())._schema


def fields(type_name: str) -> dict:
    return SCHEMA.type_map[type_name].fields


QUERIES = {"partyOrganization", "partyOrganizations", "partyMember", "partyMembers", "membershipTransfers",
           "dualRegistrations", "unitTwinnings", "coBuildingUnits", "linkages", "jointMeeting", "jointMeetings",
           "organizationalLife", "needs", "unitResources", "projects", "memberFeedback"}
MUTATIONS = {"createPartyOrganization", "updatePartyOrganization", "appointPosition", "endPosition",
             "addUnitToCommittee", "removeUnitFromCommittee", "registerPartyMember", "updatePartyMember",
             "revealPartyMemberContact", "requestMembershipTransfer", "approveMembershipTransfer",
             "rejectMembershipTransfer", "cancelMembershipTransfer", "dualRegister", "endDualRegistration",
             "twinUnitWithCommunity", "registerCoBuildingUnit", "updateCoBuildingUnitContacts", "recordLinkage",
             "scheduleJointMeeting", "addAgendaItem", "recordMeetingMinutes", "addResolution",
             "createCaseFromActionItem", "recordOrganizationalLife", "postNeed", "offerResource", "proposeProject",
             "updateProjectStatus"}
TYPES = {
    "PartyOrganization": {"id", "name", "type", "anchor", "parent", "positions", "units", "weak", "lastLifeAt",
                          "createdAt", "updatedAt", "version", "members", "children", "meetings", "life"},
    "Position": {"holderName", "role", "termStart", "termEnd", "member", "unit"},
    "PartyMember": {"id", "name", "gender", "birthDate", "joinDate", "phone", "idNumber", "category",
                    "organization", "homeBuilding", "status", "openTransferId", "dualRegistration", "registeredAt",
                    "version"},
    "DualRegistration": {"community", "registeredAt"},
    "MemberContact": {"phone", "idNumber"},
    "MembershipTransfer": {"id", "member", "fromOrganization", "toOrganization", "status", "reason",
                           "requestedAt", "deadlineAt", "decidedAt", "decisionNote", "overdue", "version"},
    "UnitTwinning": {"id", "branch", "community", "registeredAt", "version"},
    "CoBuildingUnit": {"id", "name", "kind", "contacts", "region", "version"},
    "UnitContact": {"name", "title", "phone"},
    "Linkage": {"id", "estate", "committee", "propertyCompany", "ownersCommittee", "version"},
    "JointMeeting": {"id", "committee", "community", "scheduledAt", "units", "chairUnit", "skippedUnits", "agenda",
                     "heldAt", "minutes", "attendedUnits", "attendedMemberIds", "resolutions", "version"},
    "AgendaItem": {"id", "source", "ref", "title"},
    "Resolution": {"id", "text", "items"},
    "ActionItem": {"id", "title", "caseRequested", "categoryCode", "grid", "caseId", "caseStatus", "case"},
    "LifeRecord": {"id", "organization", "kind", "heldAt", "topic", "attendance", "minutes"},
    "Need": {"id", "community", "title", "description", "version"},
    "UnitResource": {"id", "unit", "title", "description", "version"},
    "Project": {"id", "title", "status", "version"},
    "MemberFeedback": {"id", "member", "quarter", "hours", "services"},
    "OrgStats": {"organizationCount", "memberCount", "branchCoverage", "buildingGroupCoverage", "byType",
                 "membersByCategory", "transferringCount", "dualRegisteredCount", "twinnedUnitCount", "weakCount",
                 "gridCount", "buildingCount", "gridsWithBranch", "buildingsWithGroup"},
}
ENUMS = {"PartyOrgType": c.OrgTypeName, "PositionRole": c.RoleName, "MemberCategory": c.CategoryName,
         "Gender": c.GenderName, "TransferStatus": c.TransferStatusName, "UnitKind": c.UnitKindName,
         "AgendaSource": c.AgendaSourceName, "LifeKind": c.LifeKindName, "ProjectStatus": c.ProjectStatusName}


def test_names_fixed_by_the_product_spec_are_present():
    assert QUERIES <= set(fields("Query"))
    assert MUTATIONS <= set(fields("Mutation"))
    for name, expected in TYPES.items():
        assert expected <= set(fields(name)), name
    for name in ("PartyOrganization", "PartyMember", "MembershipTransfer", "UnitTwinning", "CoBuildingUnit",
                 "Linkage", "JointMeeting", "LifeRecord", "Need", "UnitResource", "Project", "MemberFeedback"):
        assert set(fields(f"{name}Connection")) == {"edges", "pageInfo", "totalCount"}
    assert {"organizationCount", "memberCount", "branchCoverage"} <= set(fields("OrgStats"))
    assert "organizations" in fields("RegionOverview")
    assert "UNAVAILABLE" in fields("RegionOverview")["organizations"].description
    assert "partyOrganizations" in fields("Region")
    for name, literal in ENUMS.items():
        assert set(SCHEMA.type_map[name].values) == {m.value for m in literal}, name
    assert "楼栋党小组" in SCHEMA.type_map["PartyOrgType"].values["BUILDING_GROUP"].description


def test_every_org_figure_states_its_definition():
    stats = fields("OrgStats")
    assert all(f.description for f in stats.values())
    assert stats["weakCount"].description == COUNTER_DEFINITIONS["weak_organizations"]
    assert str(stats["branchCoverage"].type) == "Float"


def test_stats_map_from_the_views_dto():
    dto = loads(dumps(OrgViews.stats({"organizations": 3, "organizations.GRID_BRANCH": 2, "members": 5,
                                      "members.RETIRED": 2, "grids_with_branch": 2, "dual_registered": 1},
                                     grid_count=4, building_count=0)))
    s = org_stats(dto)
    assert (s.organization_count, s.member_count, s.grids_with_branch, s.grid_count, s.dual_registered_count) == (
        3, 5, 2, 4, 1)
    assert (s.branch_coverage, s.building_group_coverage) == (0.5, None)
    assert [(x.type.value, x.count) for x in s.by_type if x.count] == [("GRID_BRANCH", 2)]
    assert [(x.category.value, x.count) for x in s.members_by_category if x.count] == [("RETIRED", 2)]
    assert org_stats({}).organization_count == 0


# ---- against fake services ------------------------------------------------------------------------------------

MODELS = c.REQUESTS  # the table the gateway's typed client checks requests against
AT = "2026-03-02T08:00:00+00:00"


def _records() -> dict[str, dict[str, Any]]:
    """Organisation and member DTOs as the service's views write them, after the wire."""
    views = OrgViews(FieldCipher("test-key"))
    orgs = tree()
    cc = orgs["cc-m1"]
    cc.add_unit("u1", ADMIN_K, T0)
    cc.add_unit("u2", ADMIN_K, T0)
    cc.appoint(Position(holder_name="王书记", member_id="p1", role=PositionRole.SECRETARY,
                        term=Term(start=date(2025, 1, 1))), ADMIN_K, T0)
    p1 = member(orgs["gb-g1"], id="p1")
    p1.phone_enc, p1.id_number_enc = views.cipher.encrypt("13812345678"), views.cipher.encrypt("110101198005041234")
    p1.dual_register(N["m1"], ADMIN_K, T0)
    boss = Principal(sub="root", role=Role.SUPERADMIN)
    out = {o.id: views.organization(o) for o in orgs.values()}
    out["p1"] = views.member(boss, p1)
    return loads(dumps(out))


UNITS = {u: {"id": u, "name": f"单位{u}", "kind": "ENTERPRISE", "regionId": "m1", "regionPath": ["m1"],
             "contacts": [{"name": "联系人", "title": "主任", "phone": "138****5678"}], "version": 1}
         for u in ("u1", "u2", "u3")}
MEETING = {"id": "jm1", "committeeId": "cc-m1", "communityId": "m1", "scheduledAt": AT, "unitIds": ["u1", "u2", "u3"],
           "chairUnitId": "u3", "skippedUnitIds": ["u2"],
           "agenda": [{"id": "1", "source": "UNIT", "ref": "u1", "title": "停车难"}], "heldAt": AT, "minutes": "纪要",
           "attendedUnitIds": ["u1", "u3"], "attendedMemberIds": ["p1"],
           "resolutions": [{"id": "r1", "text": "决议", "items": [
               {"id": "r1-1", "title": "整治停车", "caseRequested": True, "categoryCode": "PARKING", "gridId": "g1",
                "caseId": "case-1", "caseStatus": "RESOLVED"},
               {"id": "r1-2", "title": "调研", "caseRequested": False, "categoryCode": None, "gridId": None,
                "caseId": None, "caseStatus": None}]}],
           "version": 5, "updatedAt": AT}
TRANSFER = {"id": "t1", "memberId": "p1", "fromOrganizationId": "gb-g1", "toOrganizationId": "gb-g2",
            "status": "REQUESTED", "reason": "搬家", "requestedAt": AT, "deadlineAt": AT, "decidedAt": None,
            "decisionNote": None, "overdue": False, "version": 1}
OTHERS = {
    "twin": {"id": "gb-g3:m1", "branchId": "gb-g3", "communityId": "m1", "registeredAt": AT, "version": 1},
    "linkage": {"id": "l1", "estate": "幸福小区", "committeeId": "cc-m1", "communityId": "m1",
                "propertyCompanyId": "u1", "ownersCommitteeId": "u2", "version": 1},
    "life": {"id": "life1", "organizationId": "gb-g1", "kind": "THEMED_PARTY_DAY", "heldAt": AT, "topic": "主题党日",
             "attendance": ["p1"], "attendanceCount": 1, "minutes": ""},
    "need": {"id": "n1", "communityId": "m1", "title": "助老", "description": "", "version": 1},
    "resource": {"id": "r1", "unitId": "u1", "regionId": "m1", "title": "志愿者", "description": "", "version": 1},
    "project": {"id": "pr1", "needId": "n1", "resourceId": "r1", "communityId": "m1", "title": "助老项目",
                "status": "AGREED", "version": 2, "updatedAt": AT},
    "feedback": {"id": "p1:2026Q1", "memberId": "p1", "quarter": "2026Q1", "hours": 3.5, "services": 2,
                 "communityId": "m1"},
}
CASE = {"id": "case-1", "title": "整治停车", "kind": "COMPLAINT", "channel": "JOINT_MEETING", "status": "RESOLVED",
        "level": "GRID", "categoryCode": "PARKING", "regionId": "g1", "reporter": {"name": "联席会议"},
        "createdAt": AT, "version": 3}


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


def _org_reply(records: dict[str, dict]):
    by_prefix = {"org": records["cc-m1"], "member": records["p1"], "dual": records["p1"], "transfer": TRANSFER,
                 "unit": UNITS["u1"], "meeting": MEETING, **OTHERS, "twin": OTHERS["twin"]}
    stats = OrgViews.stats({"organizations": 1}, 1, 1)

    def reply(verb: str, p: dict) -> Any:
        noun, action = verb.split(".")
        if action == "batch":
            pool = UNITS if noun == "unit" else {"x": stats} if noun == "stats" else records
            return {"items": {i: (stats if noun == "stats" else pool.get(i)) for i in p["ids"]}}
        if action == "list":
            return _page([by_prefix[noun]])
        if action == "revealContact":
            return {"phone": "13812345678", "idNumber": "110101198005041234"}
        return by_prefix[noun]
    return reply


class FakeContext:
    def __init__(self):
        self.records = _records()
        self.organizations = FakeService(_org_reply(self.records), MODELS)
        levels = {k: str(v.level) for k, v in N.items()}
        self.grids = FakeService(lambda verb, p: {"items": {i: {
            "id": i, "name": f"区域{i}", "level": levels[i], "code": None, "version": 1} for i in p["ids"]}})
        self.cases = FakeService(lambda verb, p: {"items": {i: CASE for i in p["ids"]}})
        self.loaders = Loaders(self.grids, self.cases, self.organizations)
        self.principal = Principal(sub="test", role=Role.SUPERADMIN)  # the gateway's own role checks pass


PLAIN = strawberry.Schema(query=Query, mutation=Mutation)  # unmasked errors, for readable failures


async def run(query: str, context: FakeContext | None = None) -> tuple[dict, FakeContext]:
    context = context or FakeContext()
    result = await PLAIN.execute(query, context_value=context)
    assert result.errors is None, result.errors
    return result.data, context


async def test_an_organisation_resolves_its_references_in_batches():
    data, fake = await run("""{ partyOrganization(id: "cc-m1") {
        id name type anchor { id level } parent { id type } weak version
        positions { holderName role termStart termEnd member { name } }
        units { id name contacts { name phone } region { id } }
        members(category: IN_SERVICE, first: 5) { totalCount edges { cursor node { id } } }
        children { edges { node { id } } } meetings { totalCount } life { totalCount } } }""")
    org = data["partyOrganization"]
    assert (org["type"], org["anchor"]) == ("COMMUNITY_COMMITTEE", {"id": "m1", "level": "COMMUNITY"})
    assert org["parent"] == {"id": "twc-t1", "type": "TOWNSHIP_WORKING_COMMITTEE"}
    assert org["positions"] == [{"holderName": "王书记", "role": "SECRETARY", "termStart": "2025-01-01",
                                 "termEnd": None, "member": {"name": "张三"}}]
    assert [u["id"] for u in org["units"]] == ["u1", "u2"]
    calls = fake.organizations.calls
    assert ("member.list", {"organizationId": "cc-m1", "category": "IN_SERVICE", "first": 5, "after": None}) in calls
    assert ("org.list", {"parentId": "cc-m1", "first": 20, "after": None}) in calls
    assert ("meeting.list", {"committeeId": "cc-m1", "first": 20, "after": None}) in calls
    assert ("life.list", {"organizationId": "cc-m1", "first": 20, "after": None}) in calls
    assert [v for v, _ in calls].count("unit.batch") == 1


async def test_a_member_and_the_lists_read_the_views_dtos():
    data, fake = await run("""{
      partyMember(id: "p1") { name gender birthDate joinDate category status phone idNumber
        organization { id } homeBuilding { id level } dualRegistration { community { id } active registeredAt } }
      membershipTransfers(regionId: "m1", status: REQUESTED, overdue: false) { edges { node {
        member { id } fromOrganization { id } toOrganization { id } status overdue } } }
      dualRegistrations(communityId: "m1") { totalCount }
      unitTwinnings(communityId: "m1") { edges { node { branch { id } community { id } } } }
      coBuildingUnits(committeeId: "cc-m1", kind: ENTERPRISE) { edges { node { name kind } } }
      linkages(regionId: "m1") { edges { node { estate committee { id } propertyCompany { id }
        ownersCommittee { id } } } }
      jointMeetings(regionId: "m1") { edges { node { id } } }
      organizationalLife(organizationId: "gb-g1") { edges { node { kind attendanceCount organization { id } } } }
      needs(regionId: "m1") { edges { node { title community { id } } } }
      unitResources(regionId: "m1") { edges { node { unit { id } } } }
      projects(regionId: "m1") { edges { node { status needId } } }
      memberFeedback(regionId: "m1", quarter: "2026Q1") { edges { node { hours services member { id } } } }
      partyOrganizations(regionId: "k", type: GRID_BRANCH, weak: true) { totalCount }
      partyMembers(regionId: "m1", category: RETIRED) { totalCount }
      overview(regionId: "m1") { organizations { organizationCount branchCoverage byType { type count } } }
      region(id: "m1") { partyOrganizations(type: GRID_BRANCH) { totalCount } } }""")
    m = data["partyMember"]
    assert (m["gender"], m["birthDate"], m["joinDate"], m["status"]) == ("MALE", "1980-05-04", "2005-07-01", "ACTIVE")
    assert m["organization"] == {"id": "gb-g1"} and m["homeBuilding"] == {"id": "b1", "level": "BUILDING"}
    assert m["dualRegistration"]["community"] == {"id": "m1"} and m["dualRegistration"]["active"] is True
    assert data["membershipTransfers"]["edges"][0]["node"]["toOrganization"] == {"id": "gb-g2"}
    assert data["organizationalLife"]["edges"][0]["node"]["kind"] == "THEMED_PARTY_DAY"
    assert data["overview"]["organizations"]["organizationCount"] == 1
    calls = fake.organizations.calls
    assert ("org.list", {"regionId": "k", "type": "GRID_BRANCH", "weak": True, "first": 20, "after": None}) in calls
    assert ("org.list", {"regionId": "m1", "type": "GRID_BRANCH", "first": 20, "after": None}) in calls
    assert ("transfer.list", {"regionId": "m1", "status": "REQUESTED", "overdue": False, "first": 20,
                              "after": None}) in calls


async def test_a_meeting_resolves_units_in_order_and_the_action_items_case():
    data, _ = await run("""{ jointMeeting(id: "jm1") { committee { id } community { id } scheduledAt
        units { id } chairUnit { id } skippedUnits { id } attendedUnits { id } attendedMemberIds
        agenda { source ref title } resolutions { text items { id caseRequested categoryCode grid { id }
        caseId caseStatus case { id status } } } } }""")
    m = data["jointMeeting"]
    assert [u["id"] for u in m["units"]] == ["u1", "u2", "u3"]
    assert (m["chairUnit"], m["skippedUnits"], m["attendedMemberIds"]) == ({"id": "u3"}, [{"id": "u2"}], ["p1"])
    done, todo = m["resolutions"][0]["items"]
    assert done == {"id": "r1-1", "caseRequested": True, "categoryCode": "PARKING", "grid": {"id": "g1"},
                    "caseId": "case-1", "caseStatus": "RESOLVED", "case": {"id": "case-1", "status": "RESOLVED"}}
    assert (todo["grid"], todo["case"], todo["caseStatus"]) == (None, None, None)


async def test_every_mutation_sends_a_payload_the_contract_accepts():
    data, fake = await run("""mutation {
      createPartyOrganization(input: {name: "g1支部", type: GRID_BRANCH, anchorId: "g1", parentId: "cc-m1"}) { id }
      updatePartyOrganization(id: "cc-m1", name: "新名", expectedVersion: 2) { id }
      appointPosition(organizationId: "cc-m1", input: {holderName: "代表", role: PART_TIME_MEMBER,
        termStart: "2026-01-01", unitId: "u1"}) { id }
      endPosition(organizationId: "cc-m1", role: SECRETARY, holderName: "王书记", end: "2026-06-30") { id }
      addUnitToCommittee(committeeId: "cc-m1", unitId: "u3") { id }
      removeUnitFromCommittee(committeeId: "cc-m1", unitId: "u3", expectedVersion: 4) { id }
      registerPartyMember(input: {name: "李四", gender: FEMALE, birthDate: "1990-01-02", joinDate: "2015-07-01",
        category: IN_SERVICE, organizationId: "gb-g1", phone: "13812345678", homeBuildingId: "b1"}) { id }
      updatePartyMember(input: {id: "p1", category: RETIRED, expectedVersion: 1}) { id }
      revealPartyMemberContact(memberId: "p1", reason: "走访") { phone idNumber }
      requestMembershipTransfer(input: {memberId: "p1", toOrganizationId: "gb-g2", deadlineDays: 30}) { id }
      approveMembershipTransfer(id: "t1", expectedVersion: 1) { status }
      rejectMembershipTransfer(id: "t1", reason: "材料不全") { status }
      cancelMembershipTransfer(id: "t1", reason: "不转了") { status }
      dualRegister(memberId: "p1", communityId: "m1") { id }
      endDualRegistration(memberId: "p1", reason: "搬离") { id }
      twinUnitWithCommunity(branchId: "gb-g3", communityId: "m1") { id }
      registerCoBuildingUnit(input: {name: "某公司", kind: ENTERPRISE, regionId: "m1",
        contacts: [{name: "张", phone: "13800000000"}]}) { id }
      updateCoBuildingUnitContacts(id: "u1", contacts: [{name: "王", title: "经理"}]) { id }
      recordLinkage(input: {estate: "幸福小区", committeeId: "cc-m1", propertyCompanyId: "u1",
        ownersCommitteeId: "u2"}) { id }
      scheduleJointMeeting(input: {committeeId: "cc-m1", scheduledAt: "2026-03-02T08:00:00+00:00",
        unavailableUnitIds: ["u2"]}) { id }
      addAgendaItem(meetingId: "jm1", input: {source: UNIT, ref: "u1", title: "停车难"}) { id }
      recordMeetingMinutes(meetingId: "jm1", input: {minutes: "纪要", attendedUnitIds: ["u1"],
        attendedMemberIds: ["p1"]}, expectedVersion: 3) { id }
      addResolution(meetingId: "jm1", text: "决议", actionItems: ["整治停车"]) { id }
      createCaseFromActionItem(meetingId: "jm1", itemId: "r1-1", categoryCode: "PARKING", gridId: "g1") { id }
      recordOrganizationalLife(input: {organizationId: "gb-g1", kind: PARTY_LECTURE,
        heldAt: "2026-03-01T08:00:00+00:00", topic: "党课", attendance: ["p1"]}) { id }
      postNeed(communityId: "m1", title: "助老") { id }
      offerResource(unitId: "u1", title: "志愿者", description: "每周两次") { id }
      proposeProject(needId: "n1", resourceId: "r1", title: "助老项目") { id }
      updateProjectStatus(id: "pr1", status: IN_PROGRESS, expectedVersion: 2) { status } }""")
    sent = dict(fake.organizations.calls)
    assert {v.split(".")[0] for v in sent} >= {"org", "member", "transfer", "dual", "twin", "unit", "linkage",
                                              "meeting", "life", "need", "resource", "project"}
    assert sent["org.appoint"] == {"id": "cc-m1", "position": {"holderName": "代表", "unitId": "u1",
                                                               "role": "PART_TIME_MEMBER", "termStart": "2026-01-01"}}
    assert sent["org.removeUnit"] == {"id": "cc-m1", "unitId": "u3", "expectedVersion": 4}
    assert sent["meeting.recordMinutes"] == {"id": "jm1", "expectedVersion": 3, "minutes": "纪要",
                                             "attendedUnitIds": ["u1"], "attendedMemberIds": ["p1"]}
    assert sent["meeting.requestCase"] == {"id": "jm1", "itemId": "r1-1", "categoryCode": "PARKING", "gridId": "g1",
                                           "description": ""}
    assert sent["member.update"] == {"id": "p1", "category": "RETIRED", "expectedVersion": 1}
    assert data["revealPartyMemberContact"] == {"phone": "13812345678", "idNumber": "110101198005041234"}
