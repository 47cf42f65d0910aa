"""A resident's inbox end to end (gateway, cases, notifications on real NATS and SecantusDB): their
`notificationAdded` subscription receives ACCEPTED and RESOLVED of their report, `notifications`
lists them, `markNotificationsRead` marks them, another resident sees none of it; preferences
round trip; bad input and a missing token are typed errors."""
from __future__ import annotations

import pytest

from shared.messaging.streams import stream_name
from tests.cases_gateway import (
    GW_A1,
    IN_A1,
    R1,
    R2,
    Subscriber,
    act,
    codes,
    consumer_count,
    eventually,
    report,
    wait_cases_know_tree,
)
from tests.territory import build_tree

FIELDS = "id type title body at read link { kind id case { id status } }"
ADDED = f"subscription {{ notificationAdded {{ {FIELDS} }} }}"
LIST = f"""query($u: Boolean, $f: Int, $a: String) {{ notifications(unreadOnly: $u, first: $f, after: $a) {{
  totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {FIELDS} }} }} }} }}"""
MARK = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }"
PREFS = "{ notificationPreferences { channels { sms wechat } mutedTypes quietHours { start end } } }"
SET_PREFS = """mutation($i: NotificationPreferencesInput!) { setNotificationPreferences(input: $i) {
  channels { sms wechat } mutedTypes quietHours { start end } } }"""
INBOX_STREAM = stream_name("notifications")


async def feeds(stack) -> int:
    return await consumer_count(stack, INBOX_STREAM)


async def inbox_feed(stack, who: dict) -> Subscriber:
    """A `notificationAdded` subscription, returned once its consumer is in place."""
    before = await feeds(stack)
    sub = await Subscriber(stack, stack.token(**who)).__aenter__()
    await sub.subscribe(ADDED, {})
    await eventually(lambda: feeds(stack), lambda n: n > before, timeout=15, every=0.05)
    return sub


async def listed(stack, who: dict, **variables) -> dict:
    return (await stack.ok(LIST, variables, **who))["notifications"]


@pytest.fixture
async def inbox_stack(stack):
    await stack.start_service("grids")
    await stack.start_service("cases")
    await stack.start_service("notifications")
    await stack.start_gateway(services=("grids", "cases", "notifications"))
    await build_tree(stack)
    await wait_cases_know_tree(stack)
    return stack


async def test_resident_is_told_of_acceptance_and_resolution_and_nobody_else_is(inbox_stack):
    stack = inbox_stack
    mine, other = await inbox_feed(stack, R1), await inbox_feed(stack, R2)
    try:
        case = await report(stack, R1, IN_A1)
        await act(stack, "acceptCase", GW_A1, id=case["id"])
        await act(stack, "resolveCase", GW_A1, id=case["id"], resolution="已联系环卫清运")
        got = [d["notificationAdded"] for d in
               await mine.events_until(lambda d: d["notificationAdded"]["type"] == "CASE_RESOLVED", timeout=30)]
        # R2's own report, published after all of R1's: the first thing R2's feed shows must be its own
        theirs = await report(stack, R2, IN_A1)
        await act(stack, "acceptCase", GW_A1, id=theirs["id"])
        seen_by_other = await other.events_until(lambda d: True, timeout=30)
    finally:
        await mine.__aexit__()
        await other.__aexit__()

    assert [n["type"] for n in got] == ["CASE_ACCEPTED", "CASE_RESOLVED"]
    for n in got:
        assert n["title"] and n["body"] and not n["read"]
        assert n["link"] == {"kind": "CASE", "id": case["id"], "case": {"id": case["id"], "status": n["link"]["case"]["status"]}}
    assert got[-1]["link"]["case"]["status"] == "RESOLVED"
    first_other = seen_by_other[0]["notificationAdded"]
    assert (first_other["type"], first_other["link"]["id"]) == ("CASE_ACCEPTED", theirs["id"])

    # the list: newest first, paged by cursor, the same rows the feed delivered
    page = await listed(stack, R1)
    assert page["totalCount"] == 2 and not page["pageInfo"]["hasNextPage"]
    assert [e["node"] for e in page["edges"]] == list(reversed(got))
    one = await listed(stack, R1, f=1)
    assert one["pageInfo"]["hasNextPage"] and one["edges"][0]["node"]["type"] == "CASE_RESOLVED"
    rest = await listed(stack, R1, f=1, a=one["pageInfo"]["endCursor"])
    assert [e["node"]["type"] for e in rest["edges"]] == ["CASE_ACCEPTED"] and not rest["pageInfo"]["hasNextPage"]
    assert (await listed(stack, R1, u=True))["totalCount"] == 2
    r2_rows = await eventually(lambda: listed(stack, R2), lambda p: p["totalCount"] >= 1)
    assert {e["node"]["link"]["id"] for e in r2_rows["edges"]} == {theirs["id"]}  # none of R1's

    # marking: only one's own rows count; twice is a no-op; another's row stays unread
    ids = [n["id"] for n in got]
    r2_id = r2_rows["edges"][0]["node"]["id"]
    assert (await stack.ok(MARK, {"ids": [*ids, r2_id]}, **R1))["markNotificationsRead"] == 2
    assert (await stack.ok(MARK, {"ids": ids}, **R1))["markNotificationsRead"] == 0
    assert (await listed(stack, R1, u=True))["totalCount"] == 0
    assert all(e["node"]["read"] for e in (await listed(stack, R1))["edges"])
    assert (await listed(stack, R2, u=True))["totalCount"] == r2_rows["totalCount"]

    # typed errors, nothing changed
    bad = {
        "first 0": (LIST, {"f": 0}), "first 101": (LIST, {"f": 101}), "after": (LIST, {"a": "bm90IGEgY3Vyc29y!"}),
        "101 ids": (MARK, {"ids": [f"n0000000000:e{i}:R:sub:x" for i in range(101)]}), "id": (MARK, {"ids": ["a b"]}),
    }
    for name, (doc, variables) in bad.items():
        assert codes(await stack.gql(doc, variables, **R2)) == ["BAD_USER_INPUT"], name
    assert codes(await stack.gql(LIST, {}, token="")) == ["UNAUTHENTICATED"]
    assert codes(await stack.gql(MARK, {"ids": [r2_id]}, token="")) == ["UNAUTHENTICATED"]
    assert (await listed(stack, R2, u=True))["totalCount"] == r2_rows["totalCount"]
    await eventually(lambda: feeds(stack), lambda n: n == 0, timeout=15)  # closed feeds leave no consumer


async def test_preferences_round_trip_per_person(stack):
    await stack.start_service("notifications")
    await stack.start_gateway(services=("notifications",))
    default = (await stack.ok(PREFS, **R1))["notificationPreferences"]
    wanted = {"channels": {"sms": True, "wechat": False}, "mutedTypes": ["CASE_URGED"],
              "quietHours": {"start": "22:00", "end": "07:00"}}
    assert (await stack.ok(SET_PREFS, {"i": wanted}, **R1))["setNotificationPreferences"] == wanted
    assert (await stack.ok(PREFS, **R1))["notificationPreferences"] == wanted
    assert (await stack.ok(PREFS, **R2))["notificationPreferences"] == default  # one person's, not everyone's
    # a field left out keeps its value; a null quietHours removes them
    changed = (await stack.ok(SET_PREFS, {"i": {"quietHours": None}}, **R1))["setNotificationPreferences"]
    assert changed == {**wanted, "quietHours": None}
    for bad in ({"quietHours": {"start": "25:00", "end": "07:00"}},
                {"mutedTypes": ["case urged"]},
                {"mutedTypes": [f"T{i}" for i in range(51)]},
                {"mutedTypes": None}):
        assert codes(await stack.gql(SET_PREFS, {"i": bad}, **R1)) == ["BAD_USER_INPUT"], bad
    assert (await stack.ok(PREFS, **R1))["notificationPreferences"] == changed
    assert codes(await stack.gql(PREFS, {}, token="")) == ["UNAUTHENTICATED"]
    assert codes(await stack.gql(SET_PREFS, {"i": wanted}, token="")) == ["UNAUTHENTICATED"]
