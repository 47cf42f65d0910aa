"""党员联户 through the gateway: a member validated in organizations, scope, conflicts, the cap, atomicity,
the linkedHouseholdCount rollup against a recount, a member's figures through the loaders."""
from __future__ import annotations

from collections import Counter

import pytest

from services.grids.domain import links as lk
from services.grids.replay import replay
from tests.cases_helpers import CasesClient
from tests.org_helpers import member, party_tree, start_org_stack

LINK = """mutation($m: ID!, $h: [ID!]!, $key: String) {
  linkMemberToHouseholds(memberId: $m, householdIds: $h, idempotencyKey: $key) { id linkedHouseholdCount visitCount } }"""
UNLINK = """mutation($m: ID!, $h: [ID!]!) {
  unlinkMemberFromHouseholds(memberId: $m, householdIds: $h) { id linkedHouseholdCount } }"""
MEMBERS = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on PartyMember { id linkedHouseholdCount visitCount } } }"


def codes(body: dict) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


@pytest.fixture
async def world(stack):
    orgs, ids = await start_org_stack(stack)
    su = stack.token()
    tree = await party_tree(orgs, su)
    grids = await CasesClient.connect(stack, "grids")
    rooms = iter(range(101, 999))

    async def household(building: str) -> str:
        h = await grids("household.register", stack.token("service"), buildingId=building, room=str(next(rooms)),
                        head={"name": "张三"}, members=[], tags=[])
        return h["id"]

    other_comm = (await party_tree(orgs, su, "town-b", "comm-b", "grid-b1", "bldg-b1-1"))["comm"]
    w = {
        "ids": ids,
        "orgs": orgs,
        "grids": grids,
        "household": household,
        "inside": (await member(orgs, su, tree["grid"]["id"], idNumber=None, phone=None))["id"],
        "outside": (await member(orgs, su, other_comm["id"], idNumber=None, phone=None))["id"],
        # organised in comm-b, living in a building of comm-a: serves comm-a's households too
        "resident": (await member(orgs, su, other_comm["id"], idNumber=None, phone=None,
                                  homeBuildingId="bldg-a2-1"))["id"],
        "admin_a": stack.token("admin", region="comm-a", sub="admin-a"),
        "admin_b": stack.token("admin", region="comm-b", sub="admin-b"),
    }
    yield w
    await orgs.close()
    await grids.close()


async def assert_links_equal_recount(stack) -> None:
    """linkedHouseholdCount on every rollup equals a recount from the household records."""
    db = next(rt for rt in stack.runtimes if rt.name == "grids").db
    live = {d["_id"]: d["counters"].get("linkedHouseholdCount", 0) async for d in db.rollups.find({"path": {"$exists": True}})}
    recount = lk.recount_links([d async for d in db.households.find()])
    want = {r: c.get("linkedHouseholdCount", 0) for r, c in recount.items()}
    assert {r: v for r, v in live.items() if v} == {r: v for r, v in want.items() if v}


async def test_link_unlink_and_figures(stack, world):
    h1, h2, h3 = [await world["household"](b) for b in ("bldg-a1-1", "bldg-a1-2", "bldg-a2-1")]
    m = world["inside"]
    got = (await stack.ok(LINK, {"m": m, "h": [h1, h2], "key": "k1"}, token=world["admin_a"]))
    assert got["linkMemberToHouseholds"] == {"id": m, "linkedHouseholdCount": 2, "visitCount": 0}
    # a retry with the key changes nothing
    again = await stack.ok(LINK, {"m": m, "h": [h1, h2], "key": "k1"}, token=world["admin_a"])
    assert again["linkMemberToHouseholds"]["linkedHouseholdCount"] == 2
    # a second member on the same household does not count it twice
    await stack.ok(LINK, {"m": world["resident"], "h": [h1]}, token=world["admin_a"])
    await assert_links_equal_recount(stack)
    db = next(rt for rt in stack.runtimes if rt.name == "grids").db
    assert (await db.rollups.find_one({"_id": "comm-a"}))["counters"]["linkedHouseholdCount"] == 2
    h = await world["grids"]("household.get", stack.token("service"), id=h1)
    assert sorted(h["linkedMemberIds"]) == sorted([m, world["resident"]])
    # linked twice: CONFLICT, and the whole request is refused (h3 stays unlinked)
    body = await stack.gql(LINK, {"m": m, "h": [h3, h1]}, token=world["admin_a"])
    assert codes(body) == ["CONFLICT"] and h1 in body["errors"][0]["message"]
    assert (await world["grids"]("household.get", stack.token("service"), id=h3))["linkedMemberIds"] == []
    # both members' figures come through the loaders in one request
    figures = (await stack.ok(MEMBERS, {"ids": [_gid("PartyMember", m), _gid("PartyMember", world["resident"])]}))
    assert [(x["id"], x["linkedHouseholdCount"]) for x in figures["nodes"]] == [(m, 2), (world["resident"], 1)]
    # the edges both ways, through the loaders, as far as the caller may read (the other member is
    # organised in another community: admin_a links them but does not read their party record)
    q = """query($m: ID!, $h: ID!) { partyMember(id: $m) { linkedHouseholds { id } }
      household(id: $h) { linkedMembers { id } } }"""
    both = await stack.ok(q, {"m": m, "h": h1}, token=world["admin_a"])
    assert sorted(x["id"] for x in both["partyMember"]["linkedHouseholds"]) == sorted([h1, h2])
    assert both["household"]["linkedMembers"] == [{"id": m}]
    # unlinking: all or none, then the counters follow
    body = await stack.gql(UNLINK, {"m": m, "h": [h1, h3]}, token=world["admin_a"])
    assert codes(body) == ["BAD_USER_INPUT"] and "not linked" in body["errors"][0]["message"]
    done = await stack.ok(UNLINK, {"m": m, "h": [h1, h2]}, token=world["admin_a"])
    assert done["unlinkMemberFromHouseholds"]["linkedHouseholdCount"] == 0
    assert (await db.rollups.find_one({"_id": "comm-a"}))["counters"]["linkedHouseholdCount"] == 1
    await assert_links_equal_recount(stack)
    report = await replay(db)
    assert not [d for d in report.differences if d[1] in ("linkedHouseholdCount", "communitiesWithCadre")], report


async def test_member_must_serve_the_community(stack, world):
    h1 = await world["household"]("bldg-a1-1")
    hb = await world["household"]("bldg-b1-1")
    body = await stack.gql(LINK, {"m": world["outside"], "h": [h1]}, token=world["admin_a"])
    assert codes(body) == ["BAD_USER_INPUT"] and "neither lives nor is organised" in body["errors"][0]["message"]
    body = await stack.gql(LINK, {"m": "nobody", "h": [h1]}, token=world["admin_a"])
    assert codes(body) == ["BAD_USER_INPUT"] and "does not exist" in body["errors"][0]["message"]
    body = await stack.gql(LINK, {"m": world["inside"], "h": [h1, hb]}, token=world["admin_a"])
    assert codes(body) == ["FORBIDDEN"]  # hb lies in another community, outside the caller's scope
    body = await stack.gql(LINK, {"m": world["inside"], "h": [h1, h1]}, token=world["admin_a"])
    assert codes(body) == ["BAD_USER_INPUT"]
    # scope: another community's admin cannot tell the household exists; a grid worker does not link
    body = await stack.gql(LINK, {"m": world["inside"], "h": [h1]}, token=world["admin_b"])
    assert codes(body) == ["FORBIDDEN"]
    worker = stack.token("grid_worker", region="grid-a1", sub="gw")
    assert codes(await stack.gql(LINK, {"m": world["inside"], "h": [h1]}, token=worker)) == ["FORBIDDEN"]
    for figures_only in (stack.token("admin", region="town-a", sub="admin-t"), stack.token()):
        assert codes(await stack.gql(LINK, {"m": world["inside"], "h": [h1]}, token=figures_only)) == ["FORBIDDEN"]
    assert (await world["grids"]("household.get", stack.token("service"), id=h1))["linkedMemberIds"] == []
    await assert_links_equal_recount(stack)


async def test_the_cap_per_member(stack, world):
    cap = lk.MAX_HOUSEHOLDS_PER_MEMBER
    hs = [await world["household"]("bldg-a1-1") for _ in range(cap + 1)]
    m = world["inside"]
    await stack.ok(LINK, {"m": m, "h": hs[: cap - 1]}, token=world["admin_a"])
    body = await stack.gql(LINK, {"m": m, "h": hs[cap - 1:]}, token=world["admin_a"])  # two more: one too many
    assert codes(body) == ["CONFLICT"] and f"at most {cap}" in body["errors"][0]["message"]
    got = await stack.ok(LINK, {"m": m, "h": [hs[cap - 1]]}, token=world["admin_a"])
    assert got["linkMemberToHouseholds"]["linkedHouseholdCount"] == cap
    assert codes(await stack.gql(LINK, {"m": m, "h": [hs[cap]]}, token=world["admin_a"])) == ["CONFLICT"]
    db = next(rt for rt in stack.runtimes if rt.name == "grids").db
    assert (await db.rollups.find_one({"_id": "bldg-a1-1"}))["counters"]["linkedHouseholdCount"] == cap
    assert Counter(x["memberId"] for x in await db.memberLinks.find().to_list(None)) == {m: cap}


def _gid(type_name: str, record_id: str) -> str:
    from gateway.schema.common import global_id
    return str(global_id(type_name, record_id))


async def test_a_members_visits_count_for_them(stack, world):
    """A visit counts for its visitor (and their member id) in the visit's own transaction: it shows
    on the member and on the cadre, and the replay recounts it from the visit records."""
    rt = next(rt for rt in stack.runtimes if rt.name == "grids")
    m, grids = world["inside"], world["grids"]
    h = await world["household"]("bldg-a1-1")
    await stack.ok(LINK, {"m": m, "h": [h]}, token=world["admin_a"])
    member_token = stack.token("volunteer", region="comm-a", sub="vol-1", member=m)
    cadre_token = stack.token("admin", region="comm-a", sub="cadre-9")
    for token in (member_token, member_token, cadre_token):  # no place: the override says why
        await grids("visit.record", token, householdId=h, kind="ROUTINE", overrideReason="电话回访")
    got = await stack.ok("query($m: ID!) { partyMember(id: $m) { visitCount } }", {"m": m})
    assert got["partyMember"]["visitCount"] == 2
    cadre = await stack.ok('mutation { assignCadre(sub: "cadre-9", regionId: "comm-a", role: "STREET_CADRE") '
                           '{ visitCount } }')
    assert cadre["assignCadre"]["visitCount"] == 1
    assert (await replay(rt.db)).people == []
    await rt.db.people.update_one({"_id": f"member:{m}"}, {"$inc": {"visitCount": 5}})  # a drift
    report = await replay(rt.db, apply=True)
    assert report.people == [(f"member:{m}", 7, 2)] and report.applied
    assert (await replay(rt.db)).clean


async def test_member_links_answer_only_the_readers_subtree(stack, world):
    """`member.links` (the loader behind PartyMember.linkedHouseholds) names only households in the
    caller's subtree: an administrator of another community learns none of them."""
    h1 = await world["household"]("bldg-a1-1")
    m = world["inside"]
    await stack.ok(LINK, {"m": m, "h": [h1]}, token=world["admin_a"])
    grids = world["grids"]
    own = await grids("member.links", world["admin_a"], ids=[m])
    assert own["items"][m]["householdIds"] == [h1]
    other = await grids("member.links", world["admin_b"], ids=[m])
    assert other["items"][m]["householdIds"] == []


async def test_link_import_keeps_every_rule_in_one_transaction(stack, world):
    """member.linkImport (services only): a community's links at once, each as member.link would make it."""
    grids, svc = world["grids"], stack.token("service")
    h1, h2, h3 = [await world["household"](b) for b in ("bldg-a1-1", "bldg-a1-2", "bldg-a2-1")]
    m, r = world["inside"], world["resident"]
    links = [{"memberId": m, "householdIds": [h1, h2], "idempotencyKey": "i1"},
             {"memberId": r, "householdIds": [h1, h3], "idempotencyKey": "i2"}]
    with pytest.raises(Exception) as e:  # a person's token may not import
        await grids("member.linkImport", world["admin_a"], links=links)
    assert getattr(e.value, "code", "") == "FORBIDDEN"
    # all or nothing: a member who does not serve the community fails the batch, naming its index
    bad = [*links, {"memberId": world["outside"], "householdIds": [h3]}]
    with pytest.raises(Exception) as e:
        await grids("member.linkImport", svc, links=bad)
    assert getattr(e.value, "code", "") == "BAD_INPUT" and "links[2]" in str(e.value)
    assert (await grids("household.get", svc, id=h1))["linkedMemberIds"] == []
    got = await grids("member.linkImport", svc, links=links)
    assert got["linked"] == 2 and [x["linkedCount"] for x in got["items"]] == [2, 2]
    assert sorted((await grids("household.get", svc, id=h1))["linkedMemberIds"]) == sorted([m, r])
    db = next(rt for rt in stack.runtimes if rt.name == "grids").db
    assert (await db.rollups.find_one({"_id": "comm-a"}))["counters"]["linkedHouseholdCount"] == 3
    # sent again (or as member.link with the same key): the first answers, nothing more is written
    again = await grids("member.linkImport", svc, links=links)
    assert again["linked"] == 0 and again["items"] == got["items"]
    one = await grids("member.link", svc, **links[0])
    assert one == got["items"][0]
    # a member linked twice in one batch, or past the cap, is refused like member.link refuses it
    twice = [{"memberId": m, "householdIds": [h3]}, {"memberId": m, "householdIds": [h3]}]
    with pytest.raises(Exception) as e:
        await grids("member.linkImport", svc, links=twice)
    assert getattr(e.value, "code", "") == "CONFLICT"
    events = await db.outbox.count_documents({"type": "yiwang.grids.MEMBER_LINKED.v1"})
    assert events == 2
    await assert_links_equal_recount(stack)
    report = await replay(db)
    assert not [d for d in report.differences if d[1] == "linkedHouseholdCount"], report
