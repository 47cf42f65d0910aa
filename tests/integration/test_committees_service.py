"""红色业委会, 居委会, 三方联动 and non-territorial branches in the organizations service on real NATS and
SecantusDB: vetting against the member records, the election, a meeting item that becomes a case,
unit 报到 with services, the idle sweep, scope, idempotent retries, events, and figures that equal
a recount."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.cases_gateway import eventually
from tests.cases_helpers import CasesClient, expect_error
from tests.org_helpers import assert_org_rollups_equal_recount, member, party_tree, start_org_stack

SIDES = ("RESIDENTS_COMMITTEE", "PROPERTY_COMPANY", "OWNERS_COMMITTEE")

@pytest.fixture
async def orgs(stack):
    client, _ = await start_org_stack(stack)
    yield client
    await client.close()


def runtime(stack, name):
    return next(rt for rt in stack.runtimes if rt.name == name)


async def events(stack, name: str) -> list[dict]:
    db = runtime(stack, "organizations").db
    return await db.outbox.find({"type": f"yiwang.organizations.{name}.v1"}).to_list(None)


async def assert_rollups_equal_recount(stack) -> None:
    await assert_org_rollups_equal_recount(stack)


async def estate(orgs, stack, token):
    """The party tree, a property company, a 居委会 and an owners' committee with three candidates
    (two of them party members) filed by the community's 社区党委."""
    t = await party_tree(orgs, token)
    m1 = await member(orgs, token, t["grid"]["id"], idNumber="420902198504021111")
    m2 = await member(orgs, token, t["grid"]["id"], idNumber="420902198504022222", phone="13900001111")
    pc = await orgs("unit.register", token, name="示例物业", kind="PROPERTY_COMPANY", regionId="comm-a")
    rc = await orgs("residents.record", token, communityId="comm-a", name="示例社区居委会", termStart="2024-01-01",
                    members=[{"name": "王主任", "role": "主任"}, {"name": "李委员", "role": "委员"}])
    oc = await orgs("committee.create", token, communityId="comm-a", estate="阳光小区",
                    buildingIds=["bldg-a1-1", "bldg-a1-2"], filedByOrgId=t["comm"]["id"], filedOn="2026-01-10",
                    seats=3, idempotencyKey="oc-1", candidates=[
                        {"name": "张业主", "memberId": m1["id"], "phone": "13812345678"},
                        {"name": "赵业主", "memberId": m2["id"], "idNumber": "420902198001011234"},
                        {"name": "钱业主"}])
    return t, pc, rc, oc


async def vet_all(orgs, token, oc_id, cid, member_passed: bool) -> dict:
    out = {}
    for check, passed in (("NO_ARREARS", True), ("RESIDENCY", True), ("PARTY_MEMBERSHIP", member_passed)):
        out = await orgs("committee.vet", token, id=oc_id, candidateId=cid, check=check, passed=passed, note="核实")
    return out


async def test_a_red_owners_committee_from_filing_to_election(orgs, stack):
    admin = stack.token(role="admin", region="county-a", sub="admin-a")
    t, pc, rc, oc = await estate(orgs, stack, admin)
    assert oc["status"] == "PROPOSED" and [c["id"] for c in oc["candidates"]] == ["c1", "c2", "c3"]
    assert oc["candidates"][0]["phone"] == "138****5678" and oc["candidates"][1]["idNumber"] == "420***********1234"
    stored = await runtime(stack, "organizations").db.owners_committees.find_one({"_id": oc["id"]})
    assert "13812345678" not in str(stored)  # encrypted at rest
    # An idempotent retry returns the first committee; a second committee for the estate is a conflict.
    again = await orgs("committee.create", admin, communityId="comm-a", estate="阳光小区", filedByOrgId=t["comm"]["id"],
                       filedOn="2026-01-10", seats=3, idempotencyKey="oc-1")
    assert again["id"] == oc["id"]
    await expect_error(orgs("committee.create", admin, communityId="comm-a", estate="阳光小区",
                            filedByOrgId=t["comm"]["id"], filedOn="2026-01-10", seats=3), "CONFLICT")
    # Party membership passes only against a member record.
    await expect_error(orgs("committee.vet", admin, id=oc["id"], candidateId="c3", check="PARTY_MEMBERSHIP",
                            passed=True), "BAD_INPUT")
    await vet_all(orgs, admin, oc["id"], "c1", True)
    await vet_all(orgs, admin, oc["id"], "c3", False)
    await orgs("committee.vet", admin, id=oc["id"], candidateId="c2", check="NO_ARREARS", passed=False, note="欠费")
    vetted = await orgs("committee.get", admin, id=oc["id"])
    c1 = vetted["candidates"][0]
    assert c1["qualified"] and c1["partyMember"] and {x["checkedBy"] for x in c1["checks"]} == {"admin-a"}
    # Only qualified candidates; nothing changes on a refusal.
    await expect_error(orgs("committee.elect", admin, id=oc["id"], candidateIds=["c1", "c2"], termStart="2026-02-01",
                            termEnd="2031-01-31"), "BAD_INPUT")
    assert (await orgs("committee.get", admin, id=oc["id"]))["version"] == vetted["version"]
    # Scope: another county's admin, an operator, a resident.
    for who, code in ((stack.token(role="admin", region="county-b"), "FORBIDDEN"),
                      (stack.token(role="operator", region="county-a"), "FORBIDDEN"),
                      (stack.token(role="resident", sub="r1"), "FORBIDDEN")):
        await expect_error(orgs("committee.elect", who, id=oc["id"], candidateIds=["c1"], termStart="2026-02-01",
                                termEnd="2031-01-31"), code)
    await expect_error(orgs("committee.get", stack.token(role="admin", region="county-b"), id=oc["id"]), "FORBIDDEN")
    elected = await orgs("committee.elect", admin, id=oc["id"], candidateIds=["c1", "c3"], termStart="2026-02-01",
                         termEnd="2031-01-31")
    assert elected["status"] == "IN_OFFICE" and elected["red"] and elected["partyShare"] == 0.5
    stats = (await orgs("stats.batch", admin, ids=["county-a", "grid-a2"]))["items"]
    assert stats["county-a"]["ownersCommitteeCount"] == 1 and stats["county-a"]["redCommitteeShare"] == 1.0
    assert stats["county-a"]["residentsCommitteeCount"] == 1
    assert stats["grid-a2"]["ownersCommitteeCount"] == 0
    created = (await events(stack, "OWNERS_COMMITTEE_CREATED"))[0]
    assert created["envelope"]["data"]["candidates"] == 3 and "张业主" not in str(created) and "1381234" not in str(created)
    assert len(await events(stack, "COMMITTEE_CANDIDATE_VETTED")) == 7
    assert (await events(stack, "COMMITTEE_ELECTED"))[0]["envelope"]["data"]["red"] is True
    listed = await orgs("committee.list", admin, regionId="comm-a")
    assert listed["totalCount"] == 1
    await expect_error(orgs("committee.list", stack.token(role="admin", region="county-b"), regionId="comm-a"),
                       "FORBIDDEN")
    # The term ends; the estate may file its next committee.
    ended = await orgs("committee.endTerm", admin, id=oc["id"], end=date.today().isoformat())
    assert ended["status"] == "TERM_ENDED" and not ended["red"]
    await orgs("committee.create", admin, communityId="comm-a", estate="阳光小区", filedByOrgId=t["comm"]["id"],
               filedOn="2026-01-10", seats=5)
    await assert_rollups_equal_recount(stack)


async def test_a_three_party_meeting_item_becomes_a_case(orgs, stack):
    admin = stack.token(role="admin", region="county-a", sub="admin-a")
    t, pc, rc, oc = await estate(orgs, stack, admin)
    held = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    operator = stack.token(role="operator", region="comm-a", sub="op-a")
    body = dict(ownersCommitteeId=oc["id"], propertyCompanyId=pc["id"], heldAt=held, minutes="地库漏水，物业限期维修",
                attendees=[{"name": f"代表{i}", "side": s} for i, s in enumerate(SIDES)],
                items=[{"title": "地库漏水", "case": {"categoryCode": "PROPERTY_FACILITY", "gridId": "grid-a1",
                                                     "buildingId": "bldg-a1-2"}},
                       {"title": "加装电梯", "proposal": True}],
                idempotencyKey="tp-1")
    # Refusals: a side missing, a grid of another community, a stranger; nothing is recorded.
    await expect_error(orgs("threeParty.record", operator, **{**body, "attendees": body["attendees"][:2]}), "BAD_INPUT")
    await expect_error(orgs("threeParty.record", operator, **{**body, "items": [
        {"title": "x", "case": {"categoryCode": "OTHER", "gridId": "grid-b1"}}]}), "BAD_INPUT")
    for building in ("bldg-a2-1", "bldg-a1-1x"):  # not the estate's / no such building
        await expect_error(orgs("threeParty.record", operator, **{**body, "items": [
            {"title": "x", "case": {"categoryCode": "OTHER", "gridId": "grid-a1", "buildingId": building}}]}),
            "BAD_INPUT" if building == "bldg-a2-1" else "NOT_FOUND")
    await expect_error(orgs("threeParty.record", stack.token(role="operator", region="county-b"), **body), "FORBIDDEN")
    await expect_error(orgs("threeParty.record", stack.token(role="volunteer", region="comm-a"), **body), "FORBIDDEN")
    assert (await orgs("threeParty.list", admin, regionId="comm-a"))["totalCount"] == 0
    meeting = await orgs("threeParty.record", operator, **body)
    case_id = meeting["items"][0]["caseId"]
    assert case_id and meeting["items"][1]["proposalRequested"] and meeting["estate"] == "阳光小区"
    assert (await orgs("threeParty.record", operator, **body))["id"] == meeting["id"]  # the retry
    # The item put forward as a proposal is one, collected with the meeting (a retry adds none).
    proposal_id = meeting["items"][1]["proposalRef"]
    proposal = await orgs("proposal.get", admin, id=proposal_id)
    assert proposal["stage"] == "COLLECTED" and proposal["source"] == "THREE_PARTY"
    assert proposal["ref"] == f"{meeting['id']}:{meeting['items'][1]['id']}" and proposal["title"] == "加装电梯"
    assert (await orgs("proposal.list", admin, regionId="comm-a"))["totalCount"] == 1
    cases = await CasesClient.connect(stack, "cases")
    try:
        case = await cases("case.get", stack.token(), id=case_id)
    finally:
        await cases.close()
    assert case["channel"] == "JOINT_MEETING" and case["regionId"] == "grid-a1" and case["buildingId"] == "bldg-a1-2"
    assert len(await events(stack, "THREE_PARTY_CASE_REQUESTED")) == 1
    assert len(await events(stack, "THREE_PARTY_PROPOSAL_REQUESTED")) == 1
    recorded = (await events(stack, "THREE_PARTY_MEETING_RECORDED"))[0]
    assert recorded["envelope"]["data"]["attendees"] == 3 and "代表" not in str(recorded)
    # A 居委会 missing: the meeting cannot be recorded for another community's estate.
    su = stack.token()
    tb = await party_tree(orgs, su, town="town-b", comm="comm-b", grid="grid-b1", building="bldg-b1-1")
    oc_b = await orgs("committee.create", su, communityId="comm-b", estate="b小区",
                      filedByOrgId=tb["comm"]["id"], filedOn="2026-01-10", seats=3)
    await expect_error(orgs("threeParty.record", operator, **{**body, "ownersCommitteeId": oc_b["id"],
                                                              "idempotencyKey": None}), "FORBIDDEN")
    await expect_error(orgs("threeParty.record", su, **{**body, "ownersCommitteeId": oc_b["id"],
                                                        "idempotencyKey": None}), "NOT_FOUND")
    await assert_rollups_equal_recount(stack)


async def test_an_enterprise_branch_twinned_registered_and_idle(orgs, stack):
    admin = stack.token(role="admin", region="county-a", sub="admin-a")
    t = await party_tree(orgs, admin)
    unit = await orgs("unit.register", admin, name="示例科技公司", kind="ENTERPRISE", regionId="town-a")
    branch = await orgs("org.create", admin, name="示例科技公司党支部", type="ENTERPRISE", anchorId="town-a",
                        unitId=unit["id"])
    assert branch["unitId"] == unit["id"] and branch["parentId"] is None and not branch["territorial"]
    await expect_error(orgs("org.create", admin, name="x", type="ENTERPRISE", anchorId="town-a", unitId=unit["id"]),
                       "CONFLICT")
    await expect_error(orgs("org.create", admin, name="x", type="MARKET", anchorId="comm-a", unitId=unit["id"],
                            parentId=t["comm"]["id"]), "BAD_INPUT")
    await expect_error(orgs("org.create", admin, name="x", type="GRID_BRANCH", anchorId="grid-a2",
                            parentId=branch["id"]), "BAD_INPUT")
    # The chain's figures stay as they were; the branch shows apart.
    stats = (await orgs("stats.batch", admin, ids=["county-a"]))["items"]["county-a"]
    assert stats["organizationCount"] == 4 and stats["nonTerritorialCount"] == 1
    assert {x["type"]: x["count"] for x in stats["byType"]}["ENTERPRISE"] == 1
    twin = await orgs("twin.register", admin, branchId=branch["id"], communityId="comm-a")
    assert twin["communityId"] == "comm-a"
    # Its member's 双报到 counts for it.
    worker = await member(orgs, admin, branch["id"], homeBuildingId="bldg-a1-1")
    await orgs("dual.register", admin, memberId=worker["id"], communityId="comm-a")
    got = await orgs("org.get", admin, id=branch["id"])
    assert got["dualRegistered"] == 1 and got["lastServiceAt"] is not None
    # 单位报到 with commitments, then services delivered.
    reg = await orgs("unitReg.register", admin, unitId=unit["id"], communityId="comm-a", commitments=["义诊", "助老"],
                     idempotencyKey="ur-1")
    assert (await orgs("unitReg.register", admin, unitId=unit["id"], communityId="comm-a",
                       idempotencyKey="ur-1"))["id"] == reg["id"]
    await expect_error(orgs("unitReg.register", admin, unitId=unit["id"], communityId="comm-a"), "CONFLICT")
    await expect_error(orgs("unitReg.register", stack.token(role="admin", region="county-b"), unitId=unit["id"],
                            communityId="comm-a"), "FORBIDDEN")
    await expect_error(orgs("unitReg.register", admin, unitId=unit["id"], communityId="grid-a1"), "BAD_INPUT")
    # Idle after the period without activity; a service delivered clears it.
    rt = runtime(stack, "organizations")
    await rt.sweeper.sweep_once(datetime.now(UTC) + timedelta(days=61))
    assert (await orgs("org.get", admin, id=branch["id"]))["idle"]
    stats = (await orgs("stats.batch", admin, ids=["comm-a", "town-a"]))["items"]
    assert stats["town-a"]["idleBranchCount"] == 1 and stats["town-a"]["branchDualRegisteredCount"] == 1
    assert len(await events(stack, "BRANCH_IDLE")) == 1
    served = await orgs("unitReg.service", admin, id=reg["id"], what="社区义诊", at=datetime.now(UTC).isoformat())
    assert served["services"][0]["what"] == "社区义诊"
    assert not (await orgs("org.get", admin, id=branch["id"]))["idle"]
    stats = (await orgs("stats.batch", admin, ids=["comm-a", "town-a"]))["items"]
    assert stats["town-a"]["idleBranchCount"] == 0
    assert stats["comm-a"]["unitRegistrationCount"] == 1 and stats["comm-a"]["unitServiceCount"] == 1
    assert len(await events(stack, "BRANCH_ACTIVE")) == 1
    # A member moving with their 双报到 takes it to the branch they join.
    agency = await orgs("unit.register", admin, name="示例区民政局", kind="AGENCY", regionId="county-a")
    other = await orgs("org.create", admin, name="示例区民政局机关党支部", type="AGENCY", anchorId="county-a",
                       unitId=agency["id"])
    move = await orgs("transfer.request", admin, memberId=worker["id"], toOrganizationId=other["id"], reason="调动")
    await orgs("transfer.approve", admin, id=move["id"])
    assert (await orgs("org.get", admin, id=branch["id"]))["dualRegistered"] == 0
    moved_to = await orgs("org.get", admin, id=other["id"])
    assert moved_to["dualRegistered"] == 1 and moved_to["lastServiceAt"] is None  # a move is no activity
    await orgs("dual.end", admin, memberId=worker["id"], reason="调动")
    assert (await orgs("org.get", admin, id=other["id"]))["dualRegistered"] == 0
    await eventually(lambda: events(stack, "UNIT_SERVICE_RECORDED"), lambda e: len(e) == 1)
    await assert_rollups_equal_recount(stack)
