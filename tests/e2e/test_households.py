"""Households through the gateway, as a grid worker, a community, a township and an attacker use them:
scope (figures only above the community), masking, the audited reveal, typed errors that change
nothing, idempotency keys, rollups with every write, moving out, the bulk import, and a recount
(`yiwang replay grids`) that agrees with the live figures."""
from __future__ import annotations

import nats
import pytest

from services.grids.replay import replay
from shared.messaging.rpc import RpcClient
from tests.territory import build_tree, create

ID = "11010519491231002X"  # GB 11643's own example
HH = """id unit room residentCount tags version contactVisible movedOutAt moveOutReason
  building { id } grid { id }
  head { relation name phone idNumber gender birthYear } members { relation name phone idNumber }"""
REGISTER = f"mutation($i: RegisterHouseholdInput!) {{ registerHousehold(input: $i) {{ {HH} }} }}"
UPDATE = f"mutation($id: ID!, $i: UpdateHouseholdInput!) {{ updateHousehold(id: $id, input: $i) {{ {HH} }} }}"
MOVE_OUT = f"mutation($id: ID!, $r: String!) {{ moveOutHousehold(id: $id, reason: $r) {{ {HH} }} }}"
REVEAL = f"mutation($id: ID!, $r: String!) {{ revealHousehold(id: $id, reason: $r) {{ {HH} }} }}"
GET = f"query($id: ID!) {{ household(id: $id) {{ {HH} }} }}"
LIST = f"""query($r: ID!, $tag: String, $after: String, $all: Boolean! = false) {{
  households(regionId: $r, tag: $tag, first: 2, after: $after, includeMovedOut: $all) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {HH} }} }} }} }}"""
FIGURES = """query($r: ID!) { overview(regionId: $r) { households { householdCount residentCount
  byTag { tag count } mustVisitCount overdueVisits visitCoverage linkedHouseholdCount linkedHouseholdShare } } }"""
RANK = "query($r: ID!) { rankings(regionId: $r, metric: HOUSEHOLDS) { rank value region { id } } }"


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def household(building: str, room: str, **extra) -> dict:
    return {"buildingId": building, "unit": "1", "room": room,
            "head": {"name": "张小三", "phone": "138 1234 5678", "idNumber": ID},
            "members": [{"relation": "SPOUSE", "name": "李四", "phone": "13900001111"}], "tags": ["LOW_INCOME"],
            **extra}


async def figures(stack, region: str, token: str) -> dict:
    f = (await stack.ok(FIGURES, {"r": region}, token=token))["overview"]["households"]
    f["byTag"] = {x["tag"]: x["count"] for x in f["byTag"] if x["count"]}
    return f


@pytest.fixture
async def town(gateway):
    ids = await build_tree(gateway)
    for g in ("grid-a1", "grid-a2"):
        await create(gateway, id=f"{g}-b1", name="1号楼", level="BUILDING", parentId=g)
    t = gateway.token
    return ids, {
        "worker": t("grid_worker", "grid-a1", sub="w-a1"),
        "other": t("grid_worker", "grid-a2", sub="w-a2"),
        "admin": t("admin", "comm-a", sub="adm-a"),
        "operator": t("operator", "comm-a", sub="op-a"),
        "township": t("admin", "town-a", sub="adm-town"),
        "city": t("admin", "city", sub="adm-city"),
        "dept": t("department", "comm-a", sub="dept", dept="D1"),
        "resident": t("resident", sub="res"),
        "volunteer": t("volunteer", "comm-a", sub="vol", member="pm-1"),
    }


async def test_households_end_to_end(gateway, town):
    s = gateway
    _, tok = town
    db = s.runtimes[0].db
    # -- a grid worker registers a household: names and phones plain to them, the ID number masked
    body = {"i": household("grid-a1-b1", "301", idempotencyKey="reg-1")}
    h = (await s.ok(REGISTER, body, token=tok["worker"]))["registerHousehold"]
    assert h["head"] == {"relation": "HEAD", "name": "张小三", "phone": "13812345678",
                         "idNumber": "110***********002X", "gender": "FEMALE", "birthYear": 1949}
    assert h["grid"]["id"] == "grid-a1" and h["residentCount"] == 2 and h["contactVisible"]
    again = (await s.ok(REGISTER, body, token=tok["worker"]))["registerHousehold"]
    assert again["id"] == h["id"]  # the same key: the first household, counted once
    stored = await db.households.find_one({"_id": h["id"]})
    assert not {"张小三", "13812345678", ID, "李四"} & set(str(stored).split("'")), "stored in the clear"
    # -- typed errors that write nothing
    for bad, code, words in [
        (household("grid-a1-b1", "301"), "CONFLICT", "is taken"),
        (household("grid-a1-b1", "302", gridId="grid-a2"), "BAD_USER_INPUT", "another grid"),
        (household("grid-a1-b1", "302", tags=["RICH"]), "BAD_USER_INPUT", "ELDERLY_ALONE"),
        (household("grid-a1-b1", "302", head={"name": "王五", "idNumber": ID[:-1] + "1"}), "BAD_USER_INPUT",
         "check digit"),
        (household("grid-a1-b1", "302", head={"name": "王五", "phone": "12345"}), "BAD_USER_INPUT", "phone"),
        (household("grid-a1", "302"), "BAD_USER_INPUT", "BUILDING"),
        (household("grid-a1-b1", "302", tags=["ELDERLY_ALONE"]), "BAD_USER_INPUT", "one person"),
        (household("grid-a1-b1", ""), "BAD_USER_INPUT", "without a room"),
    ]:
        r = await s.gql(REGISTER, {"i": bad}, token=tok["worker"])
        assert codes(r) == [code] and words in r["errors"][0]["message"], r
    for who in ("other", "dept", "resident", "volunteer", "township"):
        r = await s.gql(REGISTER, {"i": household("grid-a1-b1", "303")}, token=tok[who])
        assert codes(r) == ["FORBIDDEN"], (who, r)
    assert (await figures(s, "comm-a", tok["admin"]))["householdCount"] == 1
    # -- reading: masked to the community, hidden from the next grid, figures only above the community
    seen = (await s.ok(GET, {"id": h["id"]}, token=tok["admin"]))["household"]
    assert seen["head"]["name"] == "张*三" and seen["head"]["phone"] == "138****5678"
    assert seen["members"][0]["name"] == "李*" and not seen["contactVisible"]
    for who in ("other", "dept", "resident", "volunteer"):
        assert codes(await s.gql(GET, {"id": h["id"]}, token=tok[who])) == ["FORBIDDEN"], who
    for who in ("township", "city"):
        r = await s.gql(LIST, {"r": "comm-a"}, token=tok[who])
        assert codes(r) == ["FORBIDDEN"] and "figures only" in r["errors"][0]["message"]
        assert codes(await s.gql(GET, {"id": h["id"]}, token=tok[who])) == ["FORBIDDEN"]
    assert codes(await s.gql(GET, {"id": h["id"]})) == ["FORBIDDEN"]  # a superadmin too
    assert codes(await s.gql(LIST, {"r": "grid-a1"}, token=tok["other"])) == ["FORBIDDEN"]
    assert codes(await s.gql(LIST, {"r": "comm-a"}, token=tok["dept"])) == ["FORBIDDEN"]
    vol = (await s.ok(LIST, {"r": "comm-a"}, token=tok["volunteer"]))["households"]
    assert vol["totalCount"] == 0  # a volunteer lists only the households linked to their member record
    township = await figures(s, "town-a", tok["township"])
    # a 低保 household is visited monthly (visiting rules): must-visit, not yet due
    assert township == {"householdCount": 1, "residentCount": 2, "byTag": {"LOW_INCOME": 1}, "mustVisitCount": 1,
                        "overdueVisits": 0, "visitCoverage": 1.0, "linkedHouseholdCount": 0,
                        "linkedHouseholdShare": 0.0}
    # -- an update: the ID number left out is kept; tags and residents counted again
    upd = {"members": [{"relation": "SPOUSE", "name": "李四"}, {"relation": "CHILD", "name": "张小小",
                                                                 "birthYear": 2016}],
           "tags": ["LOW_INCOME", "LEFT_BEHIND_CHILD"], "head": {"name": "张小三", "phone": "13700000000"},
           "expectedVersion": h["version"], "idempotencyKey": "upd-1"}
    u = (await s.ok(UPDATE, {"id": h["id"], "i": upd}, token=tok["worker"]))["updateHousehold"]
    assert u["head"]["idNumber"] == "110***********002X" and u["head"]["phone"] == "13700000000"
    assert u["members"][0]["phone"] == "13900001111"  # kept: same name and relation
    assert u["residentCount"] == 3 and u["version"] == h["version"] + 1
    assert (await s.ok(UPDATE, {"id": h["id"], "i": upd}, token=tok["worker"]))["updateHousehold"]["version"] == u[
        "version"]
    stale = await s.gql(UPDATE, {"id": h["id"], "i": {"tags": [], "expectedVersion": 1}}, token=tok["worker"])
    assert codes(stale) == ["CONFLICT"]
    f = await figures(s, "comm-a", tok["admin"])
    assert f["residentCount"] == 3 and f["byTag"] == {"LOW_INCOME": 1, "LEFT_BEHIND_CHILD": 1}
    # -- the audited reveal: an admin over the household, not an operator, not another township
    assert codes(await s.gql(REVEAL, {"id": h["id"], "r": "核实身份"}, token=tok["operator"])) == ["FORBIDDEN"]
    assert codes(await s.gql(REVEAL, {"id": h["id"], "r": "x"}, token=tok["township"])) == ["BAD_USER_INPUT"]
    other_town = s.token("admin", "town-b", sub="adm-town-b")
    assert codes(await s.gql(REVEAL, {"id": h["id"], "r": "核实身份"}, token=other_town)) == ["FORBIDDEN"]
    shown = (await s.ok(REVEAL, {"id": h["id"], "r": "核实低保身份"}, token=tok["township"]))["revealHousehold"]
    assert shown["head"]["idNumber"] == ID and shown["head"]["name"] == "张小三"
    audit = [d async for d in db.outbox.find({"type": {"$regex": "HOUSEHOLD_REVEALED"}})]
    assert len(audit) == 1 and audit[0]["envelope"]["actor"] == "adm-town"
    assert audit[0]["envelope"]["data"]["reasonLength"] == len("核实低保身份")
    # -- events carry ids, tags and counts only
    async for d in db.outbox.find({"type": {"$regex": "HOUSEHOLD_"}}):
        text = str(d["envelope"])
        # the room as a value ('301'), not three digits of a timestamp's fraction or of an id
        assert not any(x in text for x in ("张小三", "李四", "1381234", "1370000", ID, "核实", "'301'")), text
    # -- pages, tags
    await s.ok(REGISTER, {"i": household("grid-a1-b1", "302", tags=[])}, token=tok["worker"])
    await s.ok(REGISTER, {"i": household("grid-a1-b1", "303", tags=[])}, token=tok["admin"])
    page1 = (await s.ok(LIST, {"r": "grid-a1"}, token=tok["worker"]))["households"]
    assert page1["totalCount"] == 3 and page1["pageInfo"]["hasNextPage"]
    page2 = (await s.ok(LIST, {"r": "grid-a1", "after": page1["pageInfo"]["endCursor"]}, token=tok["worker"]))
    ids = [e["node"]["id"] for e in page1["edges"] + page2["households"]["edges"]]
    assert len(set(ids)) == 3
    tagged = (await s.ok(LIST, {"r": "comm-a", "tag": "LEFT_BEHIND_CHILD"}, token=tok["admin"]))["households"]
    assert [e["node"]["id"] for e in tagged["edges"]] == [h["id"]]
    assert codes(await s.gql(LIST, {"r": "comm-a", "tag": "NOPE"}, token=tok["admin"])) == ["BAD_USER_INPUT"]
    ranks = (await s.ok(RANK, {"r": "city"}, token=tok["city"]))["rankings"]
    assert [(r["region"]["id"], r["value"]) for r in ranks] == [("county-a", 3.0), ("county-b", 0.0)]
    # -- moving out: out of the figures and the list, the room free again, still readable
    gone = (await s.ok(MOVE_OUT, {"id": h["id"], "r": "搬至外地"}, token=tok["worker"]))["moveOutHousehold"]
    assert gone["movedOutAt"] and gone["moveOutReason"] == "搬至外地"
    assert codes(await s.gql(MOVE_OUT, {"id": h["id"], "r": "再搬"}, token=tok["worker"])) == ["CONFLICT"]
    assert codes(await s.gql(UPDATE, {"id": h["id"], "i": {"tags": []}}, token=tok["worker"])) == ["CONFLICT"]
    f = await figures(s, "comm-a", tok["admin"])
    assert (f["householdCount"], f["residentCount"], f["byTag"]) == (2, 4, {})
    assert (await s.ok(LIST, {"r": "grid-a1"}, token=tok["worker"]))["households"]["totalCount"] == 2
    assert (await s.ok(LIST, {"r": "grid-a1", "all": True}, token=tok["worker"]))["households"]["totalCount"] == 3
    await s.ok(REGISTER, {"i": household("grid-a1-b1", "301", tags=[])}, token=tok["worker"])
    assert (await s.ok(GET, {"id": h["id"]}, token=tok["worker"]))["household"]["movedOutAt"]
    # -- the recount agrees with the live rollups; a damaged counter is found and corrected
    assert (await replay(db)).clean
    await db.rollups.update_one({"_id": "comm-a"}, {"$inc": {"counters.residentCount": 5}})
    report = await replay(db)
    assert report.differences == [("comm-a", "residentCount", 11, 6)]
    assert (await replay(db, apply=True)).applied and (await replay(db)).clean


async def test_import_is_bulk_idempotent_and_all_or_nothing(gateway, town):
    s = gateway
    _, tok = town
    db = s.runtimes[0].db
    nc = await nats.connect(s.settings.nats_url)
    try:
        rpc = RpcClient(nc, s.settings.rpc_timeout_s)
        batch = [{**household("grid-a2-b1", str(100 + i), tags=["TENANT"] if i % 2 else []), "key": f"k{i}"}
                 for i in range(40)]
        first = await rpc.call("grids", "household.import", {"households": batch}, s.token("service"))
        assert first["imported"] == 40 and not first["skipped"]
        again = await rpc.call("grids", "household.import", {"households": batch}, s.token("service"))
        assert again["imported"] == 0 and len(again["skipped"]) == 40 and again["ids"] == first["ids"]
        # all or nothing: a taken room, a bad ID number
        for bad, word in [({**household("grid-a2-b1", "100"), "key": "x1"}, "taken"),
                          ({**household("grid-a2-b1", "999", head={"name": "王", "idNumber": "123"}), "key": "x2"},
                           "ID number")]:
            with pytest.raises(Exception, match=word):
                await rpc.call("grids", "household.import", {"households": [
                    {**household("grid-a2-b1", "998"), "key": "ok"}, bad]}, s.token("service"))
        with pytest.raises(Exception, match="FORBIDDEN|may not"):
            await rpc.call("grids", "household.import", {"households": batch[:1]}, tok["admin"])
    finally:
        await nc.close()
    f = await figures(s, "grid-a2", tok["admin"])
    assert (f["householdCount"], f["residentCount"], f["byTag"]) == (40, 80, {"TENANT": 20})
    events = [d["envelope"] async for d in db.outbox.find({"type": {"$regex": "HOUSEHOLDS_IMPORTED"}})]
    assert len(events) == 1 and events[0]["subject"] == "grid-a2-b1"  # one per building and batch
    assert events[0]["data"]["householdIds"] == sorted(first["ids"].values(), key=list(first["ids"].values()).index)
    assert events[0]["data"]["byTag"] == {"TENANT": 20} and events[0]["regionpath"].endswith("grid-a2.grid-a2-b1")
    assert "张小三" not in str(events[0]) and "13812345678" not in str(events[0])
    assert await db.households.count_documents({}) == 40
    assert (await replay(db)).clean
