"""Departments end to end through the gateway: the directory, dispatch to 主办/协办, replies, requests and
their decision, 督办, per-department figures and rankings, and the replay check of the figures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.cases_gateway import ADMIN_A, GW_A1, IN_A1, OP_A, R1, codes, eventually, report, start_cases_stack

HOUSING = {"role": "department", "region": "county-a", "sub": "zj-1", "dept": "HOUSING"}
URBAN = {"role": "department", "region": "county-a", "sub": "cg-1", "dept": "URBAN_MGMT"}
URBAN_B = {"role": "department", "region": "county-b", "sub": "cg-b", "dept": "URBAN_MGMT"}
CITY_ADMIN = {"role": "admin", "region": "city", "sub": "admin-city"}
CREATE = "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { id code name level regionId contacts { name phone } } }"
CASE = """id status version dueAt urgeCount suspended assignee { kind id }
  handlers { dept deptRegionId role status dueAt replies { text } }
  requests { id kind status until decidedBy } timeline { type note }"""
DISPATCH = f"mutation($id: ID!, $lead: String!, $co: [String!]) {{ dispatchCase(id: $id, lead: $lead, cooperating: $co) {{ {CASE} }} }}"
GET = f"query($id: ID!) {{ case(id: $id) {{ {CASE} }} }}"
REQUEST = "id kind status reason until requestedBy decidedBy note"
DECIDE = f"mutation($r: ID!, $a: Boolean!) {{ decideCaseRequest(requestId: $r, approve: $a, note: \"已审核\") {{ {REQUEST} }} }}"
STATS = """query($c: String!, $r: ID!) { departmentStats(deptCode: $c, regionId: $r) { department { code }
  received lead cooperating replied resolved resolvedOnTime returned extensionCount urgeCount
  responseRate onTimeRate returnRate resolutionRate } }"""


@pytest.fixture
async def cases(stack):
    await start_cases_stack(stack)
    for region, code, name, phone in (("county-a", "HOUSING", "住房和城乡建设局", "13900001111"),
                                      ("county-a", "URBAN_MGMT", "城市管理局", None),
                                      ("county-b", "URBAN_MGMT", "城市管理局", None),
                                      ("city", "WATER", "市水务局", None)):
        contacts = [{"name": "值班室", "title": "值班", "phone": phone}] if phone else []
        await stack.ok(CREATE, {"i": {"code": code, "name": name, "regionId": region, "contacts": contacts}},
                       **(CITY_ADMIN if region == "city" else ADMIN_A if region == "county-a" else {}))
    return stack


async def test_the_directory_is_per_county_and_city_with_masked_contacts(cases):
    i = {"code": "FIRE", "name": "消防救援大队", "regionId": "county-a", "idempotencyKey": "fire-1",
         "contacts": [{"name": "张队", "phone": "13800002222"}]}
    first = (await cases.ok(CREATE, {"i": i}, **ADMIN_A))["createDepartment"]
    again = (await cases.ok(CREATE, {"i": i}, **ADMIN_A))["createDepartment"]
    assert again["id"] == first["id"] and first["level"] == "COUNTY"
    assert first["contacts"] == [{"name": "张队", "phone": "138****2222"}]
    assert codes(await cases.gql(CREATE, {"i": {**i, "idempotencyKey": None}}, **ADMIN_A)) == ["CONFLICT"]
    assert codes(await cases.gql(CREATE, {"i": {**i, "regionId": "town-a"}}, **ADMIN_A)) == ["BAD_USER_INPUT"]
    assert codes(await cases.gql(CREATE, {"i": {**i, "code": "x y"}}, **ADMIN_A)) == ["BAD_USER_INPUT"]
    assert codes(await cases.gql(CREATE, {"i": {**i, "code": "FIRE2"}}, **OP_A)) == ["FORBIDDEN"]
    assert codes(await cases.gql(CREATE, {"i": {**i, "code": "FIRE2", "regionId": "county-b"}}, **ADMIN_A)) == [
        "FORBIDDEN"]
    q = "query($r: ID!) { departments(regionId: $r) { edges { node { code regionId contacts { phone } } } } }"
    listed = (await cases.ok(q, {"r": "county-a"}, **OP_A))["departments"]["edges"]
    assert sorted(e["node"]["code"] for e in listed) == ["FIRE", "HOUSING", "URBAN_MGMT"]
    assert {e["node"]["contacts"][0]["phone"] for e in listed if e["node"]["code"] == "HOUSING"} == {"139****1111"}
    own = (await cases.ok(q, {"r": "county-a"}, **HOUSING))["departments"]["edges"]
    assert [e["node"]["contacts"][0]["phone"] for e in own if e["node"]["code"] == "HOUSING"] == ["13900001111"]
    assert len((await cases.ok(q, {"r": "city"}))["departments"]["edges"]) == 5
    counted = "query($r: ID!) { departments(regionId: $r, first: 2) { totalCount edges { node { code } } } }"
    page = (await cases.ok(counted, {"r": "city"}))["departments"]
    assert page["totalCount"] == 5 and len(page["edges"]) == 2
    assert len((await cases.ok(q, {"r": "county-a"}, **GW_A1))["departments"]["edges"]) == 3  # a region above
    assert codes(await cases.gql(q, {"r": "county-b"}, **OP_A)) == ["FORBIDDEN"]
    assert codes(await cases.gql(q, {"r": "county-a"}, **R1)) == ["FORBIDDEN"]


async def act(stack, mutation: str, fields: str, who: dict, decl: str, **args):
    body = await stack.gql(f"mutation({decl}) {{ {mutation}({', '.join(f'{k}: ${k}' for k in args)}) {{ {fields} }} }}",
                           args, **who)
    return body


async def test_dispatch_co_handling_requests_urging_and_the_figures(cases):
    case = await report(cases, R1, IN_A1, channel="HOTLINE")
    cid = case["id"]
    await cases.ok("mutation($id: ID!) { acceptCase(id: $id) { id } }", {"id": cid}, **OP_A)
    body = await cases.gql(DISPATCH, {"id": cid, "lead": "HOUSING", "co": ["NO_SUCH"]}, **OP_A)
    assert codes(body) == ["BAD_USER_INPUT"] and "NO_SUCH" in body["errors"][0]["message"]
    assert codes(await cases.gql(DISPATCH, {"id": cid, "lead": "HOUSING", "co": []}, **HOUSING)) == ["FORBIDDEN"]
    c = (await cases.ok(DISPATCH, {"id": cid, "lead": "HOUSING", "co": ["URBAN_MGMT", "WATER"]}, **OP_A))["dispatchCase"]
    assert c["status"] == "ASSIGNED" and c["assignee"] == {"kind": "DEPARTMENT", "id": "HOUSING"}
    assert [(h["dept"], h["deptRegionId"], h["role"]) for h in c["handlers"]] == [
        ("HOUSING", "county-a", "LEAD"), ("URBAN_MGMT", "county-a", "COOPERATING"), ("WATER", "city", "COOPERATING")]
    # each department on the case sees it; the same code of another county does not
    urban_sees = (await cases.ok(GET, {"id": cid}, **URBAN))["case"]
    assert urban_sees["id"] == cid
    assert codes(await cases.gql(GET, {"id": cid}, **URBAN_B)) == ["FORBIDDEN"]
    mine = "{ cases(first: 5) { edges { node { id } } } }"
    assert [e["node"]["id"] for e in (await cases.ok(mine, **URBAN))["cases"]["edges"]] == [cid]
    assert (await cases.ok(mine, **URBAN_B))["cases"]["edges"] == []
    # a cooperating department does not act as the assignee; the v1 return is refused
    assert codes(await cases.gql("mutation($id: ID!) { startCase(id: $id) { id } }", {"id": cid}, **URBAN)) == [
        "FORBIDDEN"]
    body = await cases.gql('mutation($id: ID!) { returnCase(id: $id, reason: "非本部门") { id } }', {"id": cid},
                           **HOUSING)
    assert codes(body) == ["CONFLICT"] and "requestCaseReturn" in body["errors"][0]["message"]

    # 退单 refused; deciding twice is a conflict; staff never decide their own request
    ret = f"mutation($id: ID!) {{ requestCaseReturn(id: $id, reason: \"不属于本部门职责\") {{ {REQUEST} }} }}"
    r1 = (await cases.ok(ret, {"id": cid}, **HOUSING))["requestCaseReturn"]
    assert r1["kind"] == "RETURN" and r1["status"] == "PENDING" and r1["requestedBy"] == "zj-1"
    assert codes(await cases.gql(ret, {"id": cid}, **HOUSING)) == ["CONFLICT"]  # one waits at a time
    assert codes(await cases.gql(DECIDE, {"r": r1["id"], "a": False}, **HOUSING)) == ["FORBIDDEN"]
    refused = (await cases.ok(DECIDE, {"r": r1["id"], "a": False}, **OP_A))["decideCaseRequest"]
    assert refused["status"] == "REFUSED" and refused["decidedBy"] == "op-a"
    assert codes(await cases.gql(DECIDE, {"r": r1["id"], "a": True}, **ADMIN_A)) == ["CONFLICT"]
    susp = f"mutation($id: ID!) {{ suspendCase(id: $id, reason: \"等待鉴定\") {{ {REQUEST} }} }}"
    own = (await cases.ok(susp, {"id": cid}, **OP_A))["suspendCase"]
    assert codes(await cases.gql(DECIDE, {"r": own["id"], "a": True}, **OP_A)) == ["FORBIDDEN"]
    await cases.ok(DECIDE, {"r": own["id"], "a": False}, **ADMIN_A)

    # 延期: into the past or before the deadline is refused; approved, the deadline moves
    ext = f"mutation($id: ID!, $u: DateTime!) {{ requestCaseExtension(id: $id, until: $u, reason: \"需要采购\") {{ {REQUEST} }} }}"
    due = datetime.fromisoformat(c["dueAt"])
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    assert codes(await cases.gql(ext, {"id": cid, "u": past}, **HOUSING)) == ["BAD_USER_INPUT"]
    assert codes(await cases.gql(ext, {"id": cid, "u": due.isoformat()}, **HOUSING)) == ["BAD_USER_INPUT"]
    until = due + timedelta(days=3)
    r2 = (await cases.ok(ext, {"id": cid, "u": until.isoformat()}, **HOUSING))["requestCaseExtension"]
    await cases.ok(DECIDE, {"r": r2["id"], "a": True}, **ADMIN_A)
    after = (await cases.ok(GET, {"id": cid}, **OP_A))["case"]
    assert datetime.fromisoformat(after["dueAt"]) == until
    assert [(r["kind"], r["status"]) for r in after["requests"]] == [
        ("RETURN", "REFUSED"), ("SUSPENSION", "REFUSED"), ("EXTENSION", "APPROVED")]

    # 督办 by a level above the grid handling the case
    urge = "mutation($id: ID!) { urgeCase(id: $id, note: \"请加快办理\") { urgeCount timeline { type } } }"
    assert codes(await cases.gql(urge, {"id": cid}, **GW_A1)) == ["FORBIDDEN"]
    assert (await cases.ok(urge, {"id": cid}, **CITY_ADMIN))["urgeCase"]["urgeCount"] == 1

    # the lead resolves after the cooperating departments replied
    await cases.ok("mutation($id: ID!) { startCase(id: $id) { id } }", {"id": cid}, **HOUSING)
    resolve = 'mutation($id: ID!) { resolveCase(id: $id, resolution: "已修复") { status } }'
    body = await cases.gql(resolve, {"id": cid}, **HOUSING)
    assert codes(body) == ["CONFLICT"] and body["errors"][0]["extensions"]["details"]["waitingFor"] == [
        "county-a:URBAN_MGMT", "city:WATER"]
    reply = 'mutation($id: ID!, $t: String!) { replyToCase(id: $id, text: $t) { handlers { dept status } } }'
    await cases.ok(reply, {"id": cid, "t": "已清理占道"}, **URBAN)
    water = {"role": "department", "region": "city", "sub": "sw-1", "dept": "WATER"}
    await cases.ok(reply, {"id": cid, "t": "已停水检修"}, **water)
    assert (await cases.ok(resolve, {"id": cid}, **HOUSING))["resolveCase"]["status"] == "RESOLVED"

    # per-department figures and rankings follow the writes; every metric is named
    stats = await eventually(lambda: cases.ok(STATS, {"c": "HOUSING", "r": "county-a"}, **ADMIN_A),
                             lambda s: s["departmentStats"]["resolved"] == 1)
    s = stats["departmentStats"]
    assert (s["received"], s["lead"], s["extensionCount"], s["urgeCount"], s["returned"]) == (1, 1, 1, 1, 0)
    assert s["onTimeRate"] == 1.0 and s["returnRate"] == 0.0 and s["responseRate"] == 1.0
    ranged = """query($c: String!, $r: ID!, $f: DateTime, $t: DateTime) { departmentStats(deptCode: $c, regionId: $r,
      from: $f, to: $t) { received extensionCount } }"""
    today = datetime.now(timezone.utc)
    days = {"c": "HOUSING", "r": "town-a", "f": (today - timedelta(days=1)).isoformat(),
            "t": (today + timedelta(days=1)).isoformat()}
    assert (await cases.ok(ranged, days, **ADMIN_A))["departmentStats"] == {"received": 1, "extensionCount": 1}
    last_year = {**days, "f": (today - timedelta(days=400)).isoformat(), "t": (today - timedelta(days=300)).isoformat()}
    assert (await cases.ok(ranged, last_year, **ADMIN_A))["departmentStats"] == {"received": 0, "extensionCount": 0}
    urban = (await cases.ok(STATS, {"c": "URBAN_MGMT", "r": "county-a"}, **URBAN))["departmentStats"]
    assert (urban["cooperating"], urban["replied"], urban["resolved"]) == (1, 1, 0)
    assert codes(await cases.gql(STATS, {"c": "HOUSING", "r": "county-a"}, **URBAN)) == ["FORBIDDEN"]
    rank = 'query($m: String!) { departmentRankings(regionId: "county-a", metric: $m) { rank value department { code } } }'
    ranked = (await cases.ok(rank, {"m": "received"}, **ADMIN_A))["departmentRankings"]
    assert [(x["department"]["code"], x["value"]) for x in ranked] == [
        ("HOUSING", 1), ("URBAN_MGMT", 1), ("WATER", 1)]
    assert codes(await cases.gql(rank, {"m": "speed"}, **ADMIN_A)) == ["BAD_USER_INPUT"]

    from services.cases.replay import replay
    db = next(rt for rt in cases.runtimes if rt.name == "cases").db
    assert (await replay(db)).clean


async def test_an_approved_return_goes_back_for_re_dispatch_and_a_suspension_pauses_the_clock(cases):
    cid = (await report(cases, R1, IN_A1))["id"]
    await cases.ok("mutation($id: ID!) { acceptCase(id: $id) { id } }", {"id": cid}, **OP_A)
    await cases.ok(DISPATCH, {"id": cid, "lead": "HOUSING", "co": []}, **OP_A)
    ret = f"mutation($id: ID!) {{ requestCaseReturn(id: $id, reason: \"不属于\") {{ {REQUEST} }} }}"
    r = (await cases.ok(ret, {"id": cid}, **HOUSING))["requestCaseReturn"]
    await cases.ok(DECIDE, {"r": r["id"], "a": True}, **OP_A)
    back = (await cases.ok(GET, {"id": cid}, **OP_A))["case"]
    assert back["status"] == "ACCEPTED" and back["assignee"] is None
    assert [h["status"] for h in back["handlers"]] == ["RELEASED"]
    assert codes(await cases.gql(GET, {"id": cid}, **HOUSING)) == ["FORBIDDEN"]
    c = (await cases.ok(DISPATCH, {"id": cid, "lead": "URBAN_MGMT", "co": []}, **OP_A))["dispatchCase"]
    due = datetime.fromisoformat(c["dueAt"])
    susp = f"mutation($id: ID!) {{ suspendCase(id: $id, reason: \"等待产权鉴定\") {{ {REQUEST} }} }}"
    s = (await cases.ok(susp, {"id": cid}, **URBAN))["suspendCase"]
    await cases.ok(DECIDE, {"r": s["id"], "a": True}, **OP_A)
    assert (await cases.ok(GET, {"id": cid}, **OP_A))["case"]["suspended"] is True
    resumed = (await cases.ok(f"mutation($id: ID!) {{ resumeCase(id: $id) {{ {CASE} }} }}", {"id": cid},
                              **URBAN))["resumeCase"]
    # the deadline moves by the working time the clock stood still: none, outside office hours
    # (tests/unit/test_clocks_rules.py checks how far it moves)
    assert resumed["suspended"] is False and datetime.fromisoformat(resumed["dueAt"]) >= due
    assert [t["type"] for t in resumed["timeline"]][-4:] == [
        "CASE_REQUEST_RAISED", "CASE_REQUEST_DECIDED", "CASE_SUSPENDED", "CASE_RESUMED"]
    stats = await eventually(lambda: cases.ok(STATS, {"c": "HOUSING", "r": "county-a"}, **ADMIN_A),
                             lambda x: x["departmentStats"]["returned"] == 1)
    assert stats["departmentStats"]["returnRate"] == 1.0


async def test_replies_requests_and_urges_sent_again_with_their_key_count_once(cases):
    cid = (await report(cases, R1, IN_A1))["id"]
    await cases.ok("mutation($id: ID!) { acceptCase(id: $id) { id } }", {"id": cid}, **OP_A)
    await cases.ok(DISPATCH, {"id": cid, "lead": "HOUSING", "co": ["URBAN_MGMT"]}, **OP_A)
    reply = ("mutation($id: ID!) { replyToCase(id: $id, text: \"已配合\", idempotencyKey: \"r-1\") "
             "{ handlers { dept replies { text } } } }")
    urge = "mutation($id: ID!) { urgeCase(id: $id, note: \"请加快\", idempotencyKey: \"u-1\") { urgeCount } }"
    ask = f"mutation($id: ID!) {{ requestCaseReturn(id: $id, reason: \"不属于\", idempotencyKey: \"q-1\") {{ {REQUEST} }} }}"
    for _ in range(2):  # the second of each is a client's retry
        replied = (await cases.ok(reply, {"id": cid}, **URBAN))["replyToCase"]
        urged = (await cases.ok(urge, {"id": cid}, **CITY_ADMIN))["urgeCase"]
        asked = (await cases.ok(ask, {"id": cid}, **HOUSING))["requestCaseReturn"]
    assert [len(h["replies"]) for h in replied["handlers"]] == [0, 1]
    assert urged["urgeCount"] == 1
    first = asked
    await cases.ok(DECIDE, {"r": first["id"], "a": False}, **OP_A)
    again = (await cases.ok(ask, {"id": cid}, **HOUSING))["requestCaseReturn"]  # after the decision: still the first
    assert again["id"] == first["id"] and again["status"] == "REFUSED"
    case = (await cases.ok(GET, {"id": cid}, **OP_A))["case"]
    assert case["urgeCount"] == 1
    types = [t["type"] for t in case["timeline"]]
    assert (types.count("CASE_REPLIED"), types.count("CASE_URGED"), types.count("CASE_REQUEST_RAISED")) == (1, 1, 1)
