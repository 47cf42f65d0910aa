"""myWork through the gateway: a grid worker's day holds the grid's cases to accept with their
deadlines, the orders and activities of the grid, the community's joint meetings,
most urgent first; another grid's work is absent; a service that is down is named in
`unavailable` and the rest is still shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.cases_gateway import eventually
from tests.cases_helpers import CasesClient
from tests.org_helpers import start_org_stack

WORKER_A1 = {"role": "grid_worker", "region": "grid-a1", "sub": "gw-a1"}
WORKER_A2 = {"role": "grid_worker", "region": "grid-a2", "sub": "gw-a2"}
OFFICE = {"role": "operator", "region": "comm-a", "sub": "office"}
RESIDENT = {"role": "resident", "sub": "res-1"}
MY_WORK = """{ myWork { items { kind id title dueAt overdue status } visits { household { id } rule { code } dueAt overdue }
  cases { id status dueAt region { id } }
  orders { id status wishedAt } activities { id startsAt } meetings { id scheduledAt } unavailable generatedAt } }"""


@pytest.fixture
async def day(stack):
    client, _ = await start_org_stack(stack, volunteers=True)
    await client.close()
    vols = await CasesClient.connect(stack, "volunteers")
    await vols.wait_territory(["comm-a", "grid-a1", "grid-a2", "bldg-a1-1", "bldg-a2-1"])
    await vols.close()
    now = datetime.now(UTC)
    ids: dict[str, str] = {}

    async def report(key: str, grid: str) -> None:
        c = await stack.ok(
            "mutation($i: ReportCaseInput!) { reportCase(input: $i) { id } }",
            {
                "i": {
                    "title": f"路灯不亮 {key}",
                    "description": "东门",
                    "categoryCode": "ENV_GARBAGE",
                    "channel": "HOTLINE",
                    "reporterName": "张三",
                    "reporterPhone": "13812345678",
                    "regionId": grid,
                }
            },
            **OFFICE,
        )
        ids[key] = c["reportCase"]["id"]

    await report("case_new", "grid-a1")
    await report("case_accepted", "grid-a1")
    await report("case_other", "grid-a2")
    await stack.ok("mutation($id: ID!) { acceptCase(id: $id) { id } }", {"id": ids["case_accepted"]}, **WORKER_A1)

    async def order(key: str, building: str, wished: datetime) -> None:
        o = await stack.ok(
            "mutation($i: PlaceServiceOrderInput!) { placeServiceOrder(input: $i) { id } }",
            {"i": {"category": "助老", "description": "买菜", "buildingId": building, "wishedAt": wished.isoformat()}},
            **RESIDENT,
        )
        ids[key] = o["placeServiceOrder"]["id"]

    await order("order_late", "bldg-a1-1", now - timedelta(hours=2))  # its wished time passed: overdue
    await order("order_other", "bldg-a2-1", now + timedelta(hours=5))

    async def activity(key: str, region: str, starts: datetime) -> None:
        a = await stack.ok(
            "mutation($i: CreateActivityInput!) { createActivity(input: $i) { id } }",
            {
                "i": {
                    "title": f"活动{key}",
                    "regionId": region,
                    "startsAt": starts.isoformat(),
                    "endsAt": (starts + timedelta(hours=2)).isoformat(),
                    "capacity": 10,
                    "withCode": True,
                }
            },
            **OFFICE,
        )
        ids[key] = a["createActivity"]["id"]

    await activity("activity_grid", "grid-a1", now + timedelta(hours=20))
    await activity("activity_community", "comm-a", now + timedelta(days=1, hours=2))
    await activity("activity_other", "grid-a2", now + timedelta(hours=21))
    await activity("activity_later", "grid-a1", now + timedelta(days=40))  # beyond the horizon

    town = (
        await stack.ok(
            "mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) { id } }",
            {"i": {"name": "街道党工委", "type": "TOWNSHIP_WORKING_COMMITTEE", "anchorId": "town-a"}},
        )
    )["createPartyOrganization"]["id"]
    comm = (
        await stack.ok(
            "mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) { id } }",
            {"i": {"name": "社区大党委", "type": "COMMUNITY_COMMITTEE", "anchorId": "comm-a", "parentId": town}},
        )
    )["createPartyOrganization"]["id"]
    unit = (
        await stack.ok(
            "mutation($i: RegisterCoBuildingUnitInput!) { registerCoBuildingUnit(input: $i) { id } }",
            {"i": {"name": "示例物业公司", "kind": "PROPERTY_COMPANY", "regionId": "comm-a", "contacts": []}},
        )
    )["registerCoBuildingUnit"]["id"]
    await stack.ok(
        "mutation($c: ID!, $u: ID!) { addUnitToCommittee(committeeId: $c, unitId: $u) { id } }", {"c": comm, "u": unit}
    )
    m = await stack.ok(
        "mutation($i: ScheduleJointMeetingInput!) { scheduleJointMeeting(input: $i) { id } }",
        {"i": {"committeeId": comm, "scheduledAt": (now + timedelta(days=3)).isoformat()}},
    )
    ids["meeting"] = m["scheduleJointMeeting"]["id"]
    return ids


def assert_urgent_first(items: list[dict]) -> None:
    """Overdue first, then by dueAt, those without one last."""
    keys = [
        (not i["overdue"], i["dueAt"] is None, datetime.fromisoformat(i["dueAt"]) if i["dueAt"] else None)
        for i in items
    ]
    for a, b in zip(keys, keys[1:]):
        assert a[:2] <= b[:2] and (a[:2] != b[:2] or a[2] is None or a[2] <= b[2]), (a, b)


async def test_a_grid_workers_day_holds_their_grid_most_urgent_first(day, stack):
    work = (await stack.ok(MY_WORK, **WORKER_A1))["myWork"]
    assert work["unavailable"] == []
    assert {c["id"]: c["status"] for c in work["cases"]} == {
        day["case_new"]: "REPORTED",
        day["case_accepted"]: "ACCEPTED",
    }
    assert all(c["dueAt"] and c["region"]["id"] == "grid-a1" for c in work["cases"])
    assert [o["id"] for o in work["orders"]] == [day["order_late"]]
    assert [a["id"] for a in work["activities"]] == [day["activity_grid"]]  # not the community's: out of scope
    assert [m["id"] for m in work["meetings"]] == [day["meeting"]]
    items = work["items"]
    assert {(i["kind"], i["id"]) for i in items} == {
        ("CASE", day["case_new"]),
        ("CASE", day["case_accepted"]),
        ("ORDER", day["order_late"]),
        ("ACTIVITY", day["activity_grid"]),
        ("MEETING", day["meeting"]),
    }
    assert items[0] == {
        "kind": "ORDER",
        "id": day["order_late"],
        "title": "助老",
        "dueAt": items[0]["dueAt"],
        "overdue": True,
        "status": "PENDING_REVIEW",
    }
    assert all(i["dueAt"] for i in items) and not any(i["overdue"] for i in items[1:])
    assert_urgent_first(items)

    other = (await stack.ok(MY_WORK, **WORKER_A2))["myWork"]
    assert [c["id"] for c in other["cases"]] == [day["case_other"]]
    assert [o["id"] for o in other["orders"]] == [day["order_other"]]
    assert [a["id"] for a in other["activities"]] == [day["activity_other"]]
    assert [m["id"] for m in other["meetings"]] == [day["meeting"]]  # the same community's meeting
    mine = {day[k] for k in ("case_new", "case_accepted", "order_late", "activity_grid")}
    assert not mine & {i["id"] for i in other["items"]}

    office = (await stack.ok(MY_WORK, **OFFICE))["myWork"]  # the community's staff: every grid of it
    assert [a["id"] for a in office["activities"]] == [
        day[k] for k in ("activity_grid", "activity_other", "activity_community")
    ]
    assert {c["id"] for c in office["cases"]} == set()  # GRID-level cases are the grids' to accept
    assert {o["id"] for o in office["orders"]} == {day["order_late"], day["order_other"]}


async def test_once_accepted_and_assigned_a_case_stays_in_its_workers_day(day, stack):
    a = {"kind": "GRID_WORKER", "id": "gw-a1"}
    await stack.ok(
        "mutation($id: ID!, $a: AssigneeInput!) { assignCase(id: $id, assignee: $a) { id } }",
        {"id": day["case_accepted"], "a": a},
        **OFFICE,
    )
    work = (await stack.ok(MY_WORK, **WORKER_A1))["myWork"]
    assert {c["id"]: c["status"] for c in work["cases"]}[day["case_accepted"]] == "ASSIGNED"
    other = (await stack.ok(MY_WORK, **{**WORKER_A1, "sub": "gw-a1-colleague"}))["myWork"]
    assert day["case_accepted"] not in {c["id"] for c in other["cases"]}  # assigned to someone else


async def test_a_residents_day_is_refused_and_a_department_sees_only_its_cases(day, stack):
    body = await stack.gql(MY_WORK, **RESIDENT)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "resident" in body["errors"][0]["message"]
    dept = (await stack.ok(MY_WORK, role="department", region="county-a", dept="ZJJ", sub="zjj"))["myWork"]
    assert (dept["cases"], dept["orders"], dept["activities"], dept["meetings"]) == ([], [], [], [])
    body = await stack.gql("{ myWork(first: 0) { generatedAt } }", **WORKER_A1)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_service_that_is_down_is_named_and_the_rest_is_shown(day, stack):
    volunteers = next(rt for rt in stack.runtimes if rt.name == "volunteers")
    await stack.stop_service(volunteers)
    work = (await stack.ok(MY_WORK, **WORKER_A1))["myWork"]
    assert work["unavailable"] == ["volunteers"]
    assert work["orders"] == [] and work["activities"] == []
    assert len(work["cases"]) == 2 and len(work["meetings"]) == 1
    assert {i["kind"] for i in work["items"]} == {"CASE", "MEETING"}


async def test_a_household_past_its_visit_leads_its_grid_workers_day(day, stack):
    """An elderly resident living alone, last visited 8 days ago (a visit imported, as onboarding
    brings a year of them), is due every 7 days: overdue, and first in the day."""
    reg = await stack.ok("mutation($i: RegisterHouseholdInput!) { registerHousehold(input: $i) { id } }", {"i": {
        "buildingId": "bldg-a1-1", "unit": "1", "room": "101", "tags": ["ELDERLY_ALONE"],
        "head": {"name": "王秀英", "phone": "13812345678"}}}, **WORKER_A1)
    hid = reg["registerHousehold"]["id"]
    grids = next(rt for rt in stack.runtimes if rt.name == "grids")
    await eventually(lambda: grids.db.households.find_one({"_id": hid}), lambda h: h.get("nextVisitDue") is not None,
                     timeout=stack.settings.rpc_timeout_s)
    client = await CasesClient.connect(stack, "grids")
    try:
        await client("visit.import", stack.token("service"), items=[{
            "key": "mywork-1", "householdId": hid, "kind": "ELDERLY_ALONE", "visitor": "gw-a1",
            "at": (datetime.now(UTC) - timedelta(days=8)).isoformat()}])
    finally:
        await client.close()

    async def day_of_a1() -> dict:
        return (await stack.ok(MY_WORK, **WORKER_A1))["myWork"]

    work = await eventually(day_of_a1, lambda w: any(v["overdue"] for v in w["visits"]),
                            timeout=stack.settings.rpc_timeout_s)
    assert [(v["household"]["id"], v["rule"]["code"]) for v in work["visits"]] == [(hid, "ELDERLY_ALONE")]
    first = work["items"][0]
    assert (first["kind"], first["id"], first["overdue"]) == ("VISIT", hid, True)  # due a day ago: before the order
    assert_urgent_first(work["items"])
    assert (await stack.ok(MY_WORK, **WORKER_A2))["myWork"]["visits"] == []


async def test_a_building_leaders_day_holds_its_buildings_matters(day, stack):
    """A neighbours' dispute reported in 1号楼 starts at BUILDING level: it is the building leader's to
    accept, not the grid worker's (GRID level), nor another building's leader's."""
    async def report(building: str) -> str:
        c = await stack.ok("mutation($i: ReportCaseInput!) { reportCase(input: $i) { id level } }", {"i": {
            "title": "楼上深夜噪音", "description": "", "categoryCode": "DISPUTE_NEIGHBOR", "channel": "HOTLINE",
            "reporterName": "张三", "reporterPhone": "13812345678", "regionId": building}}, **OFFICE)
        assert c["reportCase"]["level"] == "BUILDING"
        return c["reportCase"]["id"]

    async def known(building: str) -> bool:  # the cases service's copy of the territory has the building
        body = await stack.gql('query($b: ID!) { cases(filter: {regionId: $b}, first: 0) { totalCount } }', {"b": building})
        return not body.get("errors")

    await eventually(lambda: known("bldg-a1-1"), bool, timeout=4 * stack.settings.rpc_timeout_s)
    mine, other = await report("bldg-a1-1"), await report("bldg-a1-2")
    leader = {"role": "building_leader", "region": "bldg-a1-1", "sub": "bl-a1-1"}
    work = (await stack.ok(MY_WORK, **leader))["myWork"]
    assert [(c["id"], c["status"]) for c in work["cases"]] == [(mine, "REPORTED")]
    assert work["unavailable"] == [] and work["orders"] == [] and work["activities"] == []  # not theirs to read
    assert [m["id"] for m in work["meetings"]] == [day["meeting"]]  # the community's, as for its grid worker
    grid_worker = {c["id"] for c in (await stack.ok(MY_WORK, **WORKER_A1))["myWork"]["cases"]}
    assert not {mine, other} & grid_worker
