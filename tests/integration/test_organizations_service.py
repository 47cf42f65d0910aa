"""The organizations service on real NATS and SecantusDB: tree rules, members and masking,
concurrent transfers, 双报到, joint meetings whose action items become cases, weak flags
and the region figures."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.cases_gateway import eventually
from tests.cases_helpers import CasesClient, expect_error
from tests.org_helpers import assert_org_rollups_equal_recount, member, party_tree, start_org_stack


@pytest.fixture
async def orgs(stack):
    client, _ = await start_org_stack(stack)
    yield client
    await client.close()


def runtime(stack, name):
    return next(rt for rt in stack.runtimes if rt.name == name)


async def test_tree_rules_and_uniqueness_under_concurrency(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    assert t["group"]["anchorPath"] == ["city", "county-a", "town-a", "comm-a", "grid-a1", "bldg-a1-1"]
    # A grid branch must hang under its own community's committee, on a GRID.
    await expect_error(orgs("org.create", su, name="x", type="GRID_BRANCH", anchorId="comm-a",
                            parentId=t["comm"]["id"]), "BAD_INPUT")
    town_b = await orgs("org.create", su, name="b党工委", type="TOWNSHIP_WORKING_COMMITTEE", anchorId="town-b")
    await expect_error(orgs("org.create", su, name="x", type="COMMUNITY_COMMITTEE", anchorId="comm-a",
                            parentId=town_b["id"]), "BAD_INPUT")
    # One GRID_BRANCH per grid, whoever races for it.
    outcomes = await asyncio.gather(*(orgs("org.create", su, name=f"第二网格党支部{i}", type="GRID_BRANCH",
                                           anchorId="grid-a2", parentId=t["comm"]["id"]) for i in range(6)),
                                    return_exceptions=True)
    wins = [o for o in outcomes if isinstance(o, dict)]
    assert len(wins) == 1, outcomes
    assert all(str(o.code) == "CONFLICT" for o in outcomes if not isinstance(o, dict))
    page = await orgs("org.list", su, regionId="comm-a", type="GRID_BRANCH")
    assert page["totalCount"] == 2
    # Scope: an admin of county b neither reads nor lists county a's organisations.
    admin_b = stack.token(role="admin", region="county-b")
    await expect_error(orgs("org.get", admin_b, id=t["comm"]["id"]), "FORBIDDEN")
    await expect_error(orgs("org.list", admin_b, regionId="comm-a"), "FORBIDDEN")
    assert (await orgs("org.list", admin_b))["totalCount"] == 1
    await expect_error(orgs("org.create", admin_b, name="x", type="BUILDING_GROUP", anchorId="bldg-a1-2",
                            parentId=t["grid"]["id"]), "FORBIDDEN")
    resident = stack.token(role="resident", sub="r1")
    await expect_error(orgs("org.list", resident), "FORBIDDEN")


async def test_members_are_masked_encrypted_and_revealed_with_an_audit(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    m = await member(orgs, su, t["grid"]["id"], homeBuildingId="bldg-a1-1")
    assert m["phone"] == "139****5678" and m["idNumber"] == "420***********1234"
    stored = await runtime(stack, "organizations").db.members.find_one({"_id": m["id"]})
    assert "13912345678" not in str(stored) and "420902198504021234" not in str(stored)
    own = await orgs("member.get", stack.token(role="volunteer", region="comm-a", member=m["id"]), id=m["id"])
    assert own["phone"] == "13912345678"
    admin = stack.token(role="admin", region="county-a", sub="admin-a")
    plain = await orgs("member.revealContact", admin, memberId=m["id"], reason="核实组织关系")
    assert plain == {"phone": "13912345678", "idNumber": "420902198504021234"}
    audit = await runtime(stack, "organizations").db.outbox.find_one({"type": "yiwang.organizations.MEMBER_CONTACT_REVEALED.v1"})
    assert audit["envelope"]["actor"] == "admin-a" and "13912345678" not in str(audit)
    await expect_error(orgs("member.revealContact", stack.token(role="operator", region="county-a"),
                            memberId=m["id"], reason="x"), "FORBIDDEN")
    # The same ID number cannot be registered twice; bad dates change nothing.
    await expect_error(member(orgs, su, t["comm"]["id"]), "CONFLICT")
    await expect_error(member(orgs, su, t["comm"]["id"], idNumber=None, joinDate="1990-01-01"), "BAD_INPUT")
    await expect_error(member(orgs, su, t["comm"]["id"], idNumber=None, homeBuildingId="grid-a1"), "BAD_INPUT")
    assert (await orgs("member.list", su, regionId="city"))["totalCount"] == 1


async def test_concurrent_transfers_never_leave_two_memberships(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    other = await party_tree(orgs, su, town="town-b", comm="comm-b", grid="grid-b1", building="bldg-b1-1")
    m = await member(orgs, su, t["grid"]["id"])
    targets = [other["comm"]["id"], other["grid"]["id"], t["comm"]["id"], other["group"]["id"]]
    outcomes = await asyncio.gather(*(orgs("transfer.request", su, memberId=m["id"], toOrganizationId=o)
                                      for o in targets for _ in range(2)), return_exceptions=True)
    opened = [o for o in outcomes if isinstance(o, dict)]
    assert len(opened) == 1, outcomes
    transfer = opened[0]
    # Approve and cancel race: one decision wins, and the member ends in exactly one place.
    decisions = await asyncio.gather(orgs("transfer.approve", su, id=transfer["id"]),
                                     orgs("transfer.cancel", su, id=transfer["id"]),
                                     orgs("transfer.approve", su, id=transfer["id"]), return_exceptions=True)
    assert len([x for x in decisions if isinstance(x, dict)]) == 1, decisions
    final = await orgs("transfer.get", su, id=transfer["id"])
    now_m = await orgs("member.get", su, id=m["id"])
    assert now_m["openTransferId"] is None and now_m["status"] == "ACTIVE"
    expected_org = transfer["toOrganizationId"] if final["status"] == "APPROVED" else t["grid"]["id"]
    assert now_m["organizationId"] == expected_org
    # The figures agree with a recount: the member counts once, where it now belongs.
    await assert_org_rollups_equal_recount(stack)
    assert (await orgs("stats.batch", su, ids=["city"]))["items"]["city"]["memberCount"] == 1


async def test_transfer_deadline_and_overdue_sweep(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    m = await member(orgs, su, t["grid"]["id"])
    tr = await orgs("transfer.request", su, memberId=m["id"], toOrganizationId=t["comm"]["id"], deadlineDays=2)
    assert (await orgs("transfer.list", su, regionId="comm-a", overdue=True))["totalCount"] == 0
    rt = runtime(stack, "organizations")  # three days pass
    await rt.db.transfers.update_one({"_id": tr["id"]}, {"$set": {"deadline_at": datetime.now(UTC) - timedelta(days=1)}})
    await rt.sweeper.sweep_once()
    await rt.sweeper.sweep_once()
    page = await orgs("transfer.list", su, regionId="comm-a", overdue=True)
    assert [x["id"] for x in page["items"]] == [tr["id"]]
    assert await rt.db.outbox.count_documents({"type": "yiwang.organizations.TRANSFER_OVERDUE.v1"}) == 1
    await expect_error(orgs("transfer.reject", su, id=tr["id"], reason=""), "BAD_INPUT")
    rejected = await orgs("transfer.reject", su, id=tr["id"], reason="材料不全")
    assert rejected["status"] == "REJECTED"


async def test_dual_registration_and_twinning(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    employer = await party_tree(orgs, su, town="town-b", comm="comm-b", grid="grid-b1", building="bldg-b1-1")
    m = await member(orgs, su, employer["grid"]["id"])
    volunteer = stack.token(role="volunteer", region="comm-a", member=m["id"])
    m = await orgs("dual.register", volunteer, memberId=m["id"], communityId="comm-a")
    assert m["dualRegistration"]["communityId"] == "comm-a"
    await expect_error(orgs("dual.register", su, memberId=m["id"], communityId="comm-a"), "CONFLICT")
    retired = await member(orgs, su, t["grid"]["id"], idNumber=None, category="RETIRED")
    await expect_error(orgs("dual.register", su, memberId=retired["id"], communityId="comm-a"), "BAD_INPUT")
    assert [x["id"] for x in (await orgs("dual.list", su, communityId="comm-a"))["items"]] == [m["id"]]
    twin = await orgs("twin.register", su, branchId=employer["grid"]["id"], communityId="comm-a")
    assert twin["communityId"] == "comm-a"
    stats = (await orgs("stats.batch", su, ids=["comm-a", "comm-b"]))["items"]
    assert stats["comm-a"]["dualRegisteredCount"] == 1 and stats["comm-a"]["twinnedUnitCount"] == 1
    assert stats["comm-b"]["memberCount"] == 1 and stats["comm-a"]["memberCount"] == 1  # the retired member
    # Quarterly feedback from volunteers: tests/integration/test_volunteers_service.py.


async def test_joint_meeting_resolution_becomes_a_case_and_shows_its_progress(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    units = [await orgs("unit.register", su, name=n, kind=k, regionId="comm-a",
                        contacts=[{"name": "联系人", "title": "书记", "phone": "13700001111"}])
             for n, k in (("示例物业公司", "PROPERTY_COMPANY"), ("示例小学", "SCHOOL"), ("业委会", "OWNERS_COMMITTEE"))]
    for u in units:
        await orgs("org.addUnit", su, id=t["comm"]["id"], unitId=u["id"])
    assert (await orgs("unit.get", stack.token(role="operator", region="comm-a"), id=units[0]["id"])
            )["contacts"][0]["phone"] == "137****1111"
    link = await orgs("linkage.record", su, estate="示例小区", committeeId=t["comm"]["id"],
                      propertyCompanyId=units[0]["id"], ownersCommitteeId=units[2]["id"])
    assert link["communityId"] == "comm-a"
    # The chair rotates in the stored order, passing over an unavailable unit.
    when = datetime.now(UTC) - timedelta(hours=1)
    m1 = await orgs("meeting.schedule", su, committeeId=t["comm"]["id"], scheduledAt=when.isoformat())
    m2 = await orgs("meeting.schedule", su, committeeId=t["comm"]["id"], scheduledAt=(when + timedelta(minutes=1))
                    .isoformat(), unavailableUnitIds=[units[1]["id"]])
    assert m1["chairUnitId"] == units[0]["id"]
    assert m2["chairUnitId"] == units[2]["id"] and m2["skippedUnitIds"] == [units[1]["id"]]
    m = await orgs("meeting.addAgendaItem", su, id=m1["id"], source="UNIT", ref=units[0]["id"], title="电动车充电")
    m = await orgs("meeting.recordMinutes", su, id=m["id"], minutes="议定增设充电桩",
                   attendedUnitIds=[u["id"] for u in units])
    m = await orgs("meeting.addResolution", su, id=m["id"], text="增设集中充电点", actionItems=["东门增设充电桩"])
    item = m["resolutions"][0]["items"][0]
    await expect_error(orgs("meeting.requestCase", su, id=m["id"], itemId=item["id"],
                            categoryCode="FACILITY_STREETLIGHT", gridId="grid-b1"), "BAD_INPUT")
    m = await orgs("meeting.requestCase", su, id=m["id"], itemId=item["id"], categoryCode="FACILITY_STREETLIGHT",
                   gridId="grid-a1")
    item = m["resolutions"][0]["items"][0]
    assert item["caseId"] and item["caseStatus"] == "REPORTED"
    cases = await CasesClient.connect(stack)
    case = await cases("case.get", su, id=item["caseId"])
    assert case["channel"] == "JOINT_MEETING" and case["regionId"] == "grid-a1"
    await expect_error(orgs("meeting.requestCase", su, id=m["id"], itemId=item["id"],
                            categoryCode="FACILITY_STREETLIGHT", gridId="grid-a1"), "CONFLICT")
    await cases("case.accept", stack.token(role="operator", region="comm-a"), id=case["id"])
    await cases.close()
    m = await eventually(lambda: orgs("meeting.get", su, id=m["id"]),
                         lambda x: x["resolutions"][0]["items"][0]["caseStatus"] == "ACCEPTED")
    # Exactly one case, whatever the consumer of CASE_REQUESTED did meanwhile.
    page = await (await CasesClient.connect(stack))("case.list", su, regionId="comm-a")
    assert page["totalCount"] == 1


async def test_weak_flag_life_records_and_figures(orgs, stack):
    su = stack.token()
    t = await party_tree(orgs, su)
    rt = runtime(stack, "organizations")
    await rt.sweeper.sweep_once(datetime.now(UTC) + timedelta(days=91))
    stats = (await orgs("stats.batch", su, ids=["county-a"]))["items"]["county-a"]
    assert stats["weakCount"] == 4 and stats["organizationCount"] == 4
    assert stats["gridCount"] == 2 and stats["gridsWithBranch"] == 1 and stats["branchCoverage"] == 0.5
    assert stats["buildingCount"] == 3 and stats["buildingsWithGroup"] == 1
    operator = stack.token(role="operator", region="comm-a")
    life = await orgs("life.record", operator, organizationId=t["grid"]["id"], kind="THEMED_PARTY_DAY",
                      heldAt=datetime.now(UTC).isoformat(), topic="垃圾分类宣传", attendance=["pm-1", "pm-2"])
    assert life["attendanceCount"] == 2
    await expect_error(orgs("life.record", operator, organizationId=t["grid"]["id"], kind="PARTY_LECTURE",
                            heldAt=(datetime.now(UTC) + timedelta(days=2)).isoformat(), topic="x"), "BAD_INPUT")
    grid = await orgs("org.get", su, id=t["grid"]["id"])
    assert grid["weak"] is False and grid["lastLifeAt"]
    stats = (await orgs("stats.batch", su, ids=["county-a"]))["items"]["county-a"]
    assert stats["weakCount"] == 3
    assert [x["id"] for x in (await orgs("org.list", su, regionId="county-a", weak=False))["items"]] == [t["grid"]["id"]]


async def test_three_lists(orgs, stack):
    su = stack.token()
    unit = await orgs("unit.register", su, name="示例医院", kind="AGENCY", regionId="town-a")
    need = await orgs("need.post", su, communityId="comm-a", title="老年人义诊")
    res = await orgs("resource.offer", su, unitId=unit["id"], title="每月一次义诊")
    project = await orgs("project.propose", su, needId=need["id"], resourceId=res["id"], title="社区义诊")
    await expect_error(orgs("project.move", su, id=project["id"], status="DONE"), "CONFLICT")
    project = await orgs("project.move", su, id=project["id"], status="AGREED")
    assert project["status"] == "AGREED"
    assert (await orgs("project.list", su, regionId="comm-a"))["totalCount"] == 1
    assert (await orgs("resource.list", su, regionId="town-a"))["totalCount"] == 1
    await expect_error(orgs("need.post", su, communityId="grid-a1", title="x"), "BAD_INPUT")
