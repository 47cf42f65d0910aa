"""Cases end to end through the gateway, on real NATS and SecantusDB."""
from __future__ import annotations

import asyncio

import pytest

from tests.cases_gateway import (ADMIN_A, DEPT, GET, GW_A1, GW_A2, IN_A1, IN_B1, LIST, OP_A, OP_B, R1, R2, STATS, act,
                         case_stats, codes, eventually, report, report_input, start_cases_stack, try_act, REPORT,
                         RequestCounter)


@pytest.fixture
async def cases(stack):
    await start_cases_stack(stack)
    return stack


async def test_readme_flow_report_accept_resolve_rate_and_county_overview(cases):
    case = await report(cases, R1, IN_A1)
    assert case["status"] == "REPORTED" and case["level"] == "GRID" and case["region"]["id"] == "grid-a1"
    assert case["category"] == {"code": "ENV_GARBAGE", "name": "垃圾堆放", "defaultLevel": "GRID"}
    assert case["location"] == {"lng": IN_A1[0], "lat": IN_A1[1]} and case["dueAt"]
    assert (await act(cases, "acceptCase", GW_A1, id=case["id"]))["status"] == "ACCEPTED"
    started = await act(cases, "startCase", GW_A1, id=case["id"])
    assert started["status"] == "IN_PROGRESS" and started["assignee"]["id"] == "gw-a1"
    resolved = await act(cases, "resolveCase", GW_A1, id=case["id"], resolution="已联系环卫清运")
    assert resolved["status"] == "RESOLVED" and resolved["resolvedAtLevel"] == "GRID"
    closed = await act(cases, "rateCase", R1, id=case["id"], score=5, comment="很及时")
    assert closed["status"] == "CLOSED" and closed["rating"] == 5
    assert [e["type"] for e in closed["timeline"]] == [
        "REPORTED", "ACCEPTED", "ASSIGNED", "STARTED", "RESOLVED", "RATED", "CLOSED"]

    stats = await eventually(lambda: case_stats(cases, "county-a", **ADMIN_A), lambda s: s["closed"] == 1)
    assert stats["total"] == 1 and stats["resolved"] == 1 and stats["open"] == 0
    assert {x["level"]: x["count"] for x in stats["resolvedByLevel"]} == {
        "BUILDING": 0, "GRID": 1, "COMMUNITY": 0, "TOWNSHIP": 0, "COUNTY": 0}
    assert stats["satisfactionRate"] == 1.0 and stats["responseRate"] == 1.0 and stats["fengqiaoShare"] == 1.0
    assert stats["resolutionRate"] == 1.0
    assert (await case_stats(cases, "county-b"))["total"] == 0
    assert (await case_stats(cases, "city"))["closed"] == 1


async def test_overview_cases_is_null_and_unavailable_when_cases_is_down(cases):
    await cases.stop_service(next(rt for rt in cases.runtimes if rt.name == "cases"))
    body = await cases.gql('{ overview(regionId: "county-a") { grids { gridCount } cases { total } } }')
    assert body["data"]["overview"]["grids"]["gridCount"] == 2
    assert body["data"]["overview"]["cases"] is None and codes(body) == ["UNAVAILABLE"]


async def test_scope_isolation_between_sibling_townships(cases):
    a = await report(cases, R1, IN_A1)
    b = await report(cases, R2, IN_B1)
    body = await cases.gql(GET, {"id": b["id"]}, **OP_A)
    assert codes(body) == ["FORBIDDEN"] and body["data"]["case"] is None
    assert codes(await try_act(cases, "acceptCase", OP_A, id=b["id"])) == ["FORBIDDEN"]
    listed = (await cases.ok(LIST, {}, **OP_A))["cases"]
    assert listed["totalCount"] == 1 and [e["node"]["id"] for e in listed["edges"]] == [a["id"]]
    assert [e["node"]["id"] for e in (await cases.ok(LIST, {}, **OP_B))["cases"]["edges"]] == [b["id"]]
    assert codes(await cases.gql(LIST, {"f": {"regionId": "town-b"}}, **OP_A)) == ["FORBIDDEN"]
    assert codes(await cases.gql('{ overview(regionId: "town-b") { cases { total } } }', **OP_A)) == ["FORBIDDEN"]
    # a grid worker sees their own grid only; a resident their own reports only
    assert codes(await cases.gql(GET, {"id": a["id"]}, **GW_A2)) == ["FORBIDDEN"]
    assert codes(await cases.gql(GET, {"id": a["id"]}, **R2)) == ["FORBIDDEN"]
    assert [e["node"]["id"] for e in (await cases.ok(LIST, {}, **R1))["cases"]["edges"]] == [a["id"]]
    # everything in scope stays visible to the whole county's staff
    assert (await cases.ok(LIST, {}))["cases"]["totalCount"] == 2


async def test_reporter_phone_is_masked_per_role_and_reveal_is_audited(cases):
    case = await report(cases, R1, IN_A1, reporterPhone="13812345678")
    phone = 'query($id: ID!) { case(id: $id) { reporter { name phone } reporters { phone } } }'

    async def seen_by(who: dict) -> str:
        return (await cases.ok(phone, {"id": case["id"]}, **who))["case"]["reporter"]["phone"]

    assert await seen_by(R1) == "13812345678"
    assert await seen_by(GW_A1) == "13812345678"
    assert await seen_by(OP_A) == "138****5678"
    assert await seen_by(ADMIN_A) == "138****5678"
    body = await try_act(cases, "revealReporterContact", OP_A, caseId=case["id"], reason="回访")
    assert codes(body) == ["FORBIDDEN"]
    revealed = await act(cases, "revealReporterContact", ADMIN_A, caseId=case["id"], reason="电话回访核实")
    assert revealed == {"name": "张三", "phone": "13812345678"}
    timeline = (await cases.ok(GET, {"id": case["id"]}, **ADMIN_A))["case"]["timeline"]
    assert timeline[-1]["type"] == "CONTACT_REVEALED" and timeline[-1]["actor"] == "admin-a"
    assert timeline[-1]["note"] == "电话回访核实"
    assert await seen_by(ADMIN_A) == "138****5678"  # a reveal does not unmask the case view


async def test_concurrent_retries_with_one_idempotency_key_make_one_case(cases):
    bodies = await asyncio.gather(*(cases.gql(REPORT, {"input": report_input(IN_A1, idempotencyKey="k-1")}, **R1)
                                    for _ in range(20)))
    assert all(not b.get("errors") for b in bodies), [b["errors"] for b in bodies if b.get("errors")][:3]
    assert len({b["data"]["reportCase"]["id"] for b in bodies}) == 1
    assert (await cases.ok(LIST, {}))["cases"]["totalCount"] == 1
    again = await report(cases, R1, IN_A1, idempotencyKey="k-1")
    assert again["id"] == bodies[0]["data"]["reportCase"]["id"]
    stats = await eventually(lambda: case_stats(cases, "city"), lambda s: s["total"] >= 1)
    assert stats["total"] == 1


async def test_typed_errors(cases):
    case = await report(cases, R1, IN_A1)
    await act(cases, "acceptCase", GW_A1, id=case["id"])
    assert codes(await try_act(cases, "acceptCase", GW_A1, id=case["id"])) == ["CONFLICT"]
    assert codes(await try_act(cases, "acceptCase", GW_A1, id=case["id"], expectedVersion=1)) == ["CONFLICT"]
    assert codes(await try_act(cases, "rateCase", R1, id=case["id"], score=6)) == ["BAD_USER_INPUT"]
    assert codes(await try_act(cases, "startCase", R1, id=case["id"])) == ["FORBIDDEN"]
    assert codes(await try_act(cases, "rejectCase", GW_A1, id=case["id"], reason="x")) == ["FORBIDDEN"]
    # A case that does not exist and one outside the caller's scope answer alike, whatever the version.
    missing = (await try_act(cases, "acceptCase", GW_A1, id="c-missing"))["errors"][0]
    elsewhere = await report(cases, R2, IN_B1)
    outside = (await try_act(cases, "acceptCase", GW_A1, id=elsewhere["id"], expectedVersion=99))["errors"][0]
    assert missing["extensions"] == outside["extensions"] == {"code": "FORBIDDEN"}
    assert missing["message"].replace("c-missing", "X") == outside["message"].replace(elsewhere["id"], "X")
    assert codes(await try_act(cases, "acceptCase", {"role": "superadmin"}, id="c-missing")) == ["NOT_FOUND"]
    body = await cases.gql(REPORT, {"input": report_input(IN_A1, categoryCode="NO_SUCH_THING")}, **R1)
    assert codes(body) == ["BAD_USER_INPUT"] and "caseCategories" in body["errors"][0]["message"]
    body = await cases.gql(REPORT, {"input": report_input((120.0, 30.0))}, **R1)
    assert codes(body) == ["BAD_USER_INPUT"] and "no grid contains" in body["errors"][0]["message"]
    body = await cases.gql(REPORT, {"input": report_input(None, regionId="comm-a")}, **R1)
    assert codes(body) == ["BAD_USER_INPUT"]
    assert codes(await cases.gql(LIST, {"first": 101})) == ["BAD_USER_INPUT"]
    assert codes(await cases.gql(GET, {"id": case["id"]}, token="")) == ["UNAUTHENTICATED"]
    body = await cases.gql(GET, {"id": "c-missing"})
    assert body == {"data": {"case": None}}


async def test_department_assignment_and_return(cases):
    case = await report(cases, R1, IN_A1)
    await act(cases, "acceptCase", OP_A, id=case["id"])
    assigned = await act(cases, "assignCase", OP_A, id=case["id"],
                         assignee={"kind": "DEPARTMENT", "id": "URBAN_MGMT", "name": "城市管理局"})
    assert assigned["status"] == "ASSIGNED" and assigned["assignee"] == {
        "kind": "DEPARTMENT", "id": "URBAN_MGMT", "name": "城市管理局"}
    mine = (await cases.ok(LIST, {"f": {"mine": True}}, **DEPT))["cases"]
    assert [e["node"]["id"] for e in mine["edges"]] == [case["id"]]
    other = await report(cases, R2, IN_A1)  # in the department's county, not assigned to it
    listed = (await cases.ok(LIST, {"f": {"regionId": "county-a"}}, **DEPT))["cases"]
    assert [e["node"]["id"] for e in listed["edges"]] == [case["id"]] and listed["totalCount"] == 1
    assert codes(await cases.gql(GET, {"id": other["id"]}, **DEPT)) == ["FORBIDDEN"]
    assert codes(await cases.gql(STATS, {"id": "county-a"}, **DEPT)) == ["FORBIDDEN"]  # the county's figures
    seen = (await cases.ok(GET, {"id": case["id"]}, **DEPT))["case"]
    assert seen["reporter"]["phone"] == "13812345678"  # the current assignee
    back = await act(cases, "returnCase", DEPT, id=case["id"], reason="不属于本局职责, 请转物业")
    assert back["status"] == "ACCEPTED" and back["assignee"] is None
    assert back["timeline"][-1]["type"] == "RETURNED" and back["timeline"][-1]["note"] == "不属于本局职责, 请转物业"
    assert codes(await cases.gql(GET, {"id": case["id"]}, **DEPT)) == ["FORBIDDEN"]  # no longer theirs
    again = await act(cases, "assignCase", OP_A, id=case["id"], assignee={"kind": "GRID_WORKER", "id": "gw-a1"})
    assert again["status"] == "ASSIGNED" and again["assignee"]["kind"] == "GRID_WORKER"


async def test_possible_duplicates_then_merge_keeps_both_reporters(cases):
    first = await report(cases, R1, IN_A1)
    second = await report(cases, R2, (IN_A1[0] + 0.0002, IN_A1[1]), reporterName="李四",
                          reporterPhone="13900001111")  # about 20 m east
    dup = 'query($id: ID!) { case(id: $id) { possibleDuplicates { id } } }'
    assert (await cases.ok(dup, {"id": second["id"]}, **OP_A))["case"]["possibleDuplicates"] == [{"id": first["id"]}]
    assert (await cases.ok(dup, {"id": second["id"]}, **R2))["case"]["possibleDuplicates"] == []  # not theirs
    assert (await cases.ok(dup, {"id": first["id"]}, **OP_A))["case"]["possibleDuplicates"] == []
    far = await report(cases, R2, (IN_A1[0] + 0.003, IN_A1[1]))  # about 290 m: not a duplicate
    assert (await cases.ok(dup, {"id": far["id"]}, **OP_A))["case"]["possibleDuplicates"] == []

    merged = await act(cases, "mergeCase", OP_A, id=second["id"], intoId=first["id"])
    assert merged["id"] == first["id"]
    q = 'query($id: ID!) { case(id: $id) { status mergedInto { id } reporters { name rating } } }'
    folded = (await cases.ok(q, {"id": second["id"]}, **OP_A))["case"]
    assert folded["status"] == "CLOSED" and folded["mergedInto"] == {"id": first["id"]}
    assert [r["name"] for r in (await cases.ok(q, {"id": first["id"]}, **OP_A))["case"]["reporters"]] == ["张三", "李四"]
    # the second reporter follows the surviving case
    assert (await cases.ok(GET, {"id": first["id"]}, **R2))["case"]["id"] == first["id"]

    for step, args in (("acceptCase", {}), ("startCase", {}), ("resolveCase", {"resolution": "已清运"})):
        await act(cases, step, GW_A1, id=first["id"], **args)
    assert (await act(cases, "rateCase", R1, id=first["id"], score=4))["status"] == "CLOSED"
    await act(cases, "rateCase", R2, id=first["id"], score=5)
    ratings = [r["rating"] for r in (await cases.ok(q, {"id": first["id"]}, **OP_A))["case"]["reporters"]]
    assert ratings == [4, 5]
    stats = await eventually(lambda: case_stats(cases, "comm-a"), lambda s: s["closed"] == 1 and s["merged"] == 1)
    assert stats["total"] == 3 and stats["open"] == 1


async def test_catalogue_is_listed_by_all_and_edited_by_city_admins_only(cases):
    cats = (await cases.ok("{ caseCategories { code name group defaultLevel department slaSeconds kind } }",
                           **R1))["caseCategories"]
    garbage = next(c for c in cats if c["code"] == "ENV_GARBAGE")
    assert garbage == {"code": "ENV_GARBAGE", "name": "垃圾堆放", "group": "环境卫生", "defaultLevel": "GRID",
                       "department": "URBAN_MGMT", "slaSeconds": None, "kind": "REPORT"}
    upsert = """mutation($input: CaseCategoryInput!) { upsertCaseCategory(input: $input) {
      version categories { code defaultLevel slaSeconds } } }"""
    new = {"code": "PET_NUISANCE", "name": "宠物扰民", "group": "环境卫生", "defaultLevel": "COMMUNITY",
           "slaSeconds": 7200, "kind": "COMPLAINT"}
    city_admin = {"role": "admin", "region": "city", "sub": "admin-city"}
    for below in (OP_A, ADMIN_A, {"role": "operator", "region": "city"}):  # the SLA and routing of every region
        assert codes(await cases.gql(upsert, {"input": new}, **below)) == ["FORBIDDEN"]
        assert codes(await cases.gql('mutation { removeCaseCategory(code: "ENV_GARBAGE") { version } }',
                                     **below)) == ["FORBIDDEN"]
    before = (await cases.ok("{ caseCatalogue { version } }"))["caseCatalogue"]["version"]
    after = (await cases.ok(upsert, {"input": new}, **city_admin))["upsertCaseCategory"]
    assert after["version"] == before + 1
    assert {"code": "PET_NUISANCE", "defaultLevel": "COMMUNITY", "slaSeconds": 7200} in after["categories"]
    case = await report(cases, R1, IN_A1, categoryCode="PET_NUISANCE", title="楼上狗夜里叫")
    assert case["level"] == "COMMUNITY" and case["kind"] == "COMPLAINT"
    removed = (await cases.ok('mutation { removeCaseCategory(code: "PET_NUISANCE") { version categories { code } } }',
                              **city_admin))["removeCaseCategory"]
    assert "PET_NUISANCE" not in {c["code"] for c in removed["categories"]}
    kept = (await cases.ok(GET, {"id": case["id"]}, **R1))["case"]["category"]
    assert kept["code"] == "PET_NUISANCE" and kept["defaultLevel"] == "COMMUNITY"


async def test_a_cases_region_comes_with_the_case_and_the_rest_on_demand(cases):
    """id, name and level come with the case; only other fields ask the grids service, and a
    resident gets the grid's name without asking it (counted by a bystander on its subjects)."""
    case = await report(cases, R1, IN_A1)

    async def region(fields: str, **who) -> dict:
        body = await cases.ok(f'query($id: ID!) {{ case(id: $id) {{ region {{ {fields} }} }} }}', {"id": case["id"]}, **who)
        return body["case"]["region"]

    async with RequestCounter(cases, "yiwang.grids.region.>") as seen:
        assert await region("id name level", **OP_A) == {"id": "grid-a1", "name": "a社区第1网格", "level": "GRID"}
        assert await seen.settle() == []
        full = await region("id code boundary path { id }", **OP_A)
        assert full["code"] is None and full["boundary"]["type"] == "Polygon"
        assert [p["id"] for p in full["path"]] == ["city", "county-a", "town-a", "comm-a", "grid-a1"]
        assert await seen.settle() == ["yiwang.grids.region.batch"]
        assert await region("id name code", **R1) == {"id": "grid-a1", "name": "a社区第1网格", "code": None}
        assert await seen.settle() == ["yiwang.grids.region.batch"]
        assert codes(await cases.gql(f'{{ case(id: "{case["id"]}") {{ region {{ boundary }} }} }}', **R1)) == ["FORBIDDEN"]
