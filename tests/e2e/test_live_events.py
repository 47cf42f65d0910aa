"""`events(regionId, services, types, after)` over graphql-transport-ws, end to end: every service's
events of a subtree in one feed, server-side type filters, resumption after a reconnect from the last
cursor, who may watch, and no personal data in the payloads."""
from __future__ import annotations

import asyncio
import json

import nats
import pytest

from gateway.events import stream_events
from gateway.schema.live_events import encode_cursor
from shared.errors import Unavailable
from shared.messaging.envelope import make_event
from shared.messaging.streams import SERVICES, ensure_streams, stream_name
from shared.messaging.subjects import event_subject, subtree_filters
from tests.cases_gateway import (ADMIN_A, DEPT, GW_A1, IN_A1, IN_A2, IN_B1, OP_A, R1, R2, Subscriber, act,
                                 consumer_count, eventually, init_answer, report)
from tests.cases_helpers import CasesClient
from tests.org_helpers import start_org_stack
from tests.territory import create

FEED = """subscription($r: ID!, $s: [String!], $t: [String!], $a: String) {
  events(regionId: $r, services: $s, types: $t, after: $a) {
    id cursor service type subject at actor regionId regionPath data } }"""
ORG = """mutation($i: CreatePartyOrganizationInput!) { createPartyOrganization(input: $i) { id } }"""
RENAME = """mutation($id: ID!, $n: String!) { updatePartyOrganization(id: $id, name: $n) { id } }"""
MEMBER = """mutation($i: RegisterPartyMemberInput!) { registerPartyMember(input: $i) { id } }"""
VOLUNTEER = """mutation($i: RegisterVolunteerInput!) { registerVolunteer(input: $i) { id } }"""
ORDER = """mutation($i: PlaceServiceOrderInput!) { placeServiceOrder(input: $i) { id } }"""
SUPER: dict = {}  # stack.token() with no arguments is a superadmin's


@pytest.fixture
async def city(stack):
    """grids, cases, organizations and volunteers with the gateway, on the test tree with buildings;
    returns the consumers each stream has without any subscription (the services' own)."""
    client, ids = await start_org_stack(stack, volunteers=True)
    await client.close()
    vols = await CasesClient.connect(stack, "volunteers")
    await vols.wait_territory(["comm-a", "bldg-a1-1"])
    await vols.close()
    return await counts(stack, SERVICES)


async def counts(stack, services) -> dict[str, int]:
    return {s: await consumer_count(stack, stream_name(s)) for s in services}


async def feeds_open(stack, services) -> dict[str, int]:
    """How many feed consumers (the ephemeral ones; the services' own are durable) each stream has."""
    nc = await nats.connect(stack.settings.nats_url)
    try:
        js = nc.jetstream()
        return {s: sum(1 for c in await js.consumers_info(stream_name(s)) if not c.config.durable_name)
                for s in services}
    finally:
        await nc.close()


async def open_feed(stack, who: dict, region: str, services: list[str] | None = None, types: list[str] | None = None,
                    after: str | None = None, watched: tuple[str, ...] | None = None) -> Subscriber:
    """Subscribe and return once the consumer of every watched stream is in place. The tests here hold one
    feed at a time, and a closed feed's consumers are deleted after its socket closes: wait for those to go
    first, so that a consumer still there from the last feed is not taken for this one's."""
    watched = watched or tuple(services or SERVICES)
    await eventually(lambda: feeds_open(stack, SERVICES), lambda n: not any(n.values()), timeout=15, every=0.05)
    sub = await Subscriber(stack, stack.token(**who)).__aenter__()
    await sub.subscribe(FEED, {"r": region, "s": services, "t": types, "a": after})
    await eventually(lambda: feeds_open(stack, watched), lambda n: all(n.values()), every=0.05)
    return sub


async def collect(sub: Subscriber, until, timeout: float = 15) -> list[dict]:
    """Feed events until `until(events so far)` holds."""
    got: list[dict] = []

    def stop(data: dict) -> bool:
        got.append(data["events"])
        return until(got)

    await sub.events_until(stop, timeout=timeout)
    return got


def seen(*wanted: tuple[str, str]):
    """until: every (type, subject) in `wanted` has arrived."""
    return lambda got: set(wanted) <= {(e["type"], e["subject"]) for e in got}


async def org(stack, name: str, type_: str, anchor: str, parent: str | None = None, who: dict = ADMIN_A) -> str:
    data = await stack.ok(ORG, {"i": {"name": name, "type": type_, "anchorId": anchor, "parentId": parent}}, **who)
    return data["createPartyOrganization"]["id"]


async def stream_last(stack) -> dict[str, int]:
    nc = await nats.connect(stack.settings.nats_url)
    try:
        return {s: (await nc.jetstream().stream_info(stream_name(s))).state.last_seq for s in SERVICES}
    finally:
        await nc.close()


async def error_codes(stack, who: dict, variables: dict) -> list[str]:
    async with Subscriber(stack, stack.token(**who)) as ws:
        await ws.subscribe(FEED, variables)
        message = await ws.receive()
    assert message["type"] in ("next", "error"), message
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    return [e["extensions"]["code"] for e in errors]


async def test_every_service_of_the_subtree_in_one_feed_and_nothing_from_outside(city, stack):
    sub = await open_feed(stack, OP_A, "town-a")
    try:
        # outside first, then inside, per service: an outside event would arrive before its inside one
        outside_case = await report(stack, R2, IN_B1)
        await create(stack, id="bldg-b1-9", name="b9号楼", level="BUILDING", parentId="grid-b1")
        await org(stack, "b街道党工委", "TOWNSHIP_WORKING_COMMITTEE", "town-b", who=SUPER)
        case = await report(stack, R1, IN_A1)
        await create(stack, id="bldg-a1-9", name="a9号楼", level="BUILDING", parentId="grid-a1")
        town = await org(stack, "a街道党工委", "TOWNSHIP_WORKING_COMMITTEE", "town-a")
        got = await collect(sub, seen(("REPORTED", case["id"]), ("REGION_CREATED", "bldg-a1-9"),
                                      ("ORGANIZATION_CREATED", town)))
    finally:
        await sub.__aexit__()
    assert len(got) == 3 and outside_case["id"] not in str(got) and "bldg-b1-9" not in str(got)
    by_service = {e["service"]: e for e in got}
    assert set(by_service) == {"cases", "grids", "organizations"}
    reported = by_service["cases"]
    assert reported["regionId"] == "grid-a1" and reported["regionPath"] == ["city", "county-a", "town-a", "comm-a",
                                                                            "grid-a1"]
    assert reported["actor"] == "resident" and reported["id"] and reported["at"]
    assert reported["data"]["title"] == case["title"] and reported["data"]["status"] == "REPORTED"
    assert "location" not in reported["data"] and "note" not in reported["data"]
    assert by_service["grids"]["regionId"] == "bldg-a1-9" and by_service["grids"]["data"]["region"]["name"] == "a9号楼"
    assert by_service["organizations"]["regionId"] == "town-a"
    assert by_service["organizations"]["data"]["orgType"] == "TOWNSHIP_WORKING_COMMITTEE"
    assert len({e["cursor"] for e in got}) == 3
    # the consumers go away with the client
    await eventually(lambda: counts(stack, SERVICES), lambda n: n == city, timeout=15)


async def test_types_are_filtered_by_the_server(city, stack):
    town = await org(stack, "a街道党工委", "TOWNSHIP_WORKING_COMMITTEE", "town-a")
    sub = await open_feed(stack, OP_A, "town-a", services=["cases", "organizations"],
                          types=["ACCEPTED", "MEMBER_REGISTERED"])
    try:
        nc = await nats.connect(stack.settings.nats_url)
        try:
            consumers = await nc.jetstream().consumers_info(stream_name("cases"))
        finally:
            await nc.close()
        mine = [c for c in consumers if not c.config.durable_name]
        assert [sorted(c.config.filter_subjects) for c in mine] == [[
            "yiwang.evt.cases.ACCEPTED.city.county-a.town-a", "yiwang.evt.cases.ACCEPTED.city.county-a.town-a.>",
            "yiwang.evt.cases.MEMBER_REGISTERED.city.county-a.town-a",
            "yiwang.evt.cases.MEMBER_REGISTERED.city.county-a.town-a.>"]]
        case = await report(stack, R1, IN_A1)
        await act(stack, "acceptCase", GW_A1, id=case["id"])
        await stack.ok(RENAME, {"id": town, "n": "示例街道党工委"}, **ADMIN_A)  # ORGANIZATION_UPDATED: filtered out
        member = (await stack.ok(MEMBER, {"i": {
            "name": "李红", "gender": "FEMALE", "birthDate": "1985-04-02", "joinDate": "2010-07-01",
            "category": "IN_SERVICE", "organizationId": town}}, **ADMIN_A))["registerPartyMember"]
        got = await collect(sub, seen(("ACCEPTED", case["id"]), ("MEMBER_REGISTERED", member["id"])))
    finally:
        await sub.__aexit__()
    assert sorted((e["service"], e["type"]) for e in got) == [("cases", "ACCEPTED"),
                                                              ("organizations", "MEMBER_REGISTERED")]


async def test_a_reconnect_with_the_last_cursor_resumes_with_exactly_the_missed_events(city, stack):
    services = ["cases", "grids", "organizations"]
    sub = await open_feed(stack, OP_A, "town-a", services=services)
    try:
        first = await report(stack, R1, IN_A1)
        await create(stack, id="bldg-a1-8", name="a8号楼", level="BUILDING", parentId="grid-a1")
        before = await collect(sub, seen(("REPORTED", first["id"]), ("REGION_CREATED", "bldg-a1-8")))
    finally:
        await sub.__aexit__()
    assert len(before) == 2
    cursor = before[-1]["cursor"]
    await eventually(lambda: counts(stack, SERVICES), lambda n: n == city, timeout=15)

    # while nobody listens: two services busy, one quiet until now (organizations), and noise outside
    last = await stream_last(stack)
    second = await report(stack, R1, IN_A2)
    await act(stack, "acceptCase", GW_A1, id=first["id"])
    await report(stack, R2, IN_B1)
    await create(stack, id="bldg-a2-8", name="a2-8号楼", level="BUILDING", parentId="grid-a2")
    await create(stack, id="bldg-b1-8", name="b8号楼", level="BUILDING", parentId="grid-b1")
    town = await org(stack, "a街道党工委", "TOWNSHIP_WORKING_COMMITTEE", "town-a")
    await stack.ok(RENAME, {"id": town, "n": "示例街道党工委"}, **ADMIN_A)
    want = {"cases": [("REPORTED", second["id"]), ("ACCEPTED", first["id"])],
            "grids": [("REGION_CREATED", "bldg-a2-8")],
            "organizations": [("ORGANIZATION_CREATED", town), ("ORGANIZATION_UPDATED", town)]}
    # every one of them is in its stream before the reconnect
    await eventually(lambda: stream_last(stack), lambda n: n["cases"] >= last["cases"] + 3
                     and n["grids"] >= last["grids"] + 2 and n["organizations"] >= last["organizations"] + 2)

    sub = await open_feed(stack, OP_A, "town-a", services=services, after=cursor)
    try:
        missed = await collect(sub, lambda got: len(got) >= 5)
        live = await report(stack, R1, IN_A1)  # and then it goes on live
        rest = await collect(sub, seen(("REPORTED", live["id"])))
    finally:
        await sub.__aexit__()
    for service, events in want.items():
        assert [(e["type"], e["subject"]) for e in missed if e["service"] == service] == events, service
    assert len(missed) == 5 and rest == [e for e in rest if e["subject"] == live["id"]] and len(rest) == 1
    ids = [e["id"] for e in before + missed + rest]
    assert len(ids) == len(set(ids))  # no duplicates
    # a cursor of the resumed feed resumes it again, after its own event
    sub = await open_feed(stack, OP_A, "town-a", services=services, after=missed[2]["cursor"])
    try:
        again = await collect(sub, lambda got: len(got) >= 3)
    finally:
        await sub.__aexit__()
    assert {e["id"] for e in again} == {e["id"] for e in missed[3:] + rest}
    for service in services:
        assert [e["id"] for e in again if e["service"] == service] == [
            e["id"] for e in missed[3:] + rest if e["service"] == service]


async def test_who_may_watch_and_what_is_refused(city, stack):
    town_a = encode_cursor(stack.settings.jwt_secret, "town-a", {"cases": 1})
    head, mac = town_a.split(".")
    tampered = encode_cursor(stack.settings.jwt_secret, "town-a", {"cases": 100}).split(".")[0] + "." + mac
    refused = [
        (R1, {"r": "grid-a1"}, "FORBIDDEN"),
        # a department watches the cases it handles in its own region (tests/e2e/test_department_events.py)
        (DEPT, {"r": "county-b"}, "FORBIDDEN"), (DEPT, {"r": "county-a", "s": ["grids"]}, "FORBIDDEN"),
        ({"role": "volunteer", "region": "comm-a", "sub": "v9"}, {"r": "comm-a"}, "FORBIDDEN"),
        (OP_A, {"r": "town-b"}, "FORBIDDEN"), (GW_A1, {"r": "comm-a"}, "FORBIDDEN"),
        (GW_A1, {"r": "grid-a2"}, "FORBIDDEN"), (GW_A1, {"r": "grid-a1", "s": ["organizations"]}, "FORBIDDEN"),
        (OP_A, {"r": "town-a", "s": ["parties"]}, "BAD_USER_INPUT"),
        (OP_A, {"r": "town-a", "s": []}, "BAD_USER_INPUT"),
        (OP_A, {"r": "town-a", "t": ["*"]}, "BAD_USER_INPUT"),
        (OP_A, {"r": "town-a", "a": "garbage"}, "BAD_USER_INPUT"),
        (OP_A, {"r": "town-a", "a": tampered}, "BAD_USER_INPUT"),
        (OP_A, {"r": "comm-a", "a": town_a}, "BAD_USER_INPUT"),  # a cursor of another region's feed
    ]
    for who, variables, code in refused:
        assert await error_codes(stack, who, variables) == [code], (who, variables)
    assert await init_answer(stack, None) == "closed 4403"  # no token: refused at connection_init

    # a grid worker watches their own grid: cases, grids and volunteers, never party records
    sub = await open_feed(stack, GW_A1, "grid-a1", watched=("grids", "cases", "volunteers"))
    try:
        assert (await feeds_open(stack, ["organizations"])) == {"organizations": 0}
        case = await report(stack, R1, IN_A1)
        got = await collect(sub, seen(("REPORTED", case["id"])))
        assert [e["type"] for e in got] == ["REPORTED"]
    finally:
        await sub.__aexit__()
    # a valid cursor of the same region is accepted
    sub = await open_feed(stack, OP_A, "town-a", services=["cases"], after=town_a)
    await sub.__aexit__()


async def test_no_personal_data_in_the_feed(city, stack):
    phones = ["13812345678", "13912345678", "13500000001"]
    sub = await open_feed(stack, ADMIN_A, "county-a")
    try:
        case = await report(stack, R1, IN_A1)  # reporter 张三, 13812345678
        town = await org(stack, "a街道党工委", "TOWNSHIP_WORKING_COMMITTEE", "town-a")
        member = (await stack.ok(MEMBER, {"i": {
            "name": "李红", "gender": "FEMALE", "birthDate": "1985-04-02", "joinDate": "2010-07-01",
            "category": "IN_SERVICE", "organizationId": town, "phone": phones[1], "idNumber": "420902198504021234",
            "homeBuildingId": "bldg-a1-1"}}, **ADMIN_A))["registerPartyMember"]
        volunteer = (await stack.ok(VOLUNTEER, {"i": {"name": "王志愿", "homeRegionId": "comm-a", "phone": phones[2],
                                                      "skills": ["电工"]}},
                                    role="volunteer", region="comm-a", sub="v1"))["registerVolunteer"]
        order = (await stack.ok(ORDER, {"i": {"category": "助老", "description": "独居老人换灯泡",
                                              "buildingId": "bldg-a1-1"}},
                                role="resident", sub="res-1"))["placeServiceOrder"]
        await act(stack, "rejectCase", OP_A, id=case["id"], reason="张三家里的私事")
        got = await collect(sub, seen(("REPORTED", case["id"]), ("MEMBER_REGISTERED", member["id"]),
                                      ("VOLUNTEER_REGISTERED", volunteer["id"]), ("ORDER_PLACED", order["id"]),
                                      ("REJECTED", case["id"])))
    finally:
        await sub.__aexit__()
    text = json.dumps(got, ensure_ascii=False)
    for personal in [*phones, "420902198504021234", "张三", "李红", "王志愿", "电工", "独居老人", "3号楼东侧",
                     str(IN_A1[0])]:
        assert personal not in text, personal
    reported = next(e for e in got if e["type"] == "REPORTED")
    assert reported["data"]["title"] == "楼下垃圾堆放三天未清运" and "location" not in reported["data"]
    registered = next(e for e in got if e["type"] == "MEMBER_REGISTERED")["data"]
    assert registered["category"] == "IN_SERVICE" and "homeBuildingId" not in registered


# ---- the reader underneath, straight on JetStream ------------------------------------------------
A1 = ["city", "county-a", "town-a", "comm-a", "grid-a1"]
B1 = ["city", "county-b", "town-b", "comm-b", "grid-b1"]


async def publish(js, service: str, path: list[str], subject: str) -> None:
    e = make_event(service, "SOMETHING", subject, {"n": subject}, path=path)
    await js.publish(event_subject(e), e.model_dump_json().encode(), headers={"Nats-Msg-Id": e.id})


async def test_catching_up_on_more_than_the_buffer_loses_nothing_and_a_live_overflow_still_fails(settings):
    nc = await nats.connect(settings.nats_url)
    js = nc.jetstream()
    await ensure_streams(js, 60)
    town = A1[:3]
    sources = {s: subtree_filters(town, service=s) for s in ("cases", "grids")}
    for i in range(60):
        await publish(js, "cases", A1, f"c{i}")
        if i % 3 == 0:
            await publish(js, "grids", A1, f"g{i}")
            await publish(js, "cases", B1, f"outside{i}")
    try:
        feed = stream_events(nc, sources, town, after={"cases": 0, "grids": 0}, buffer=4)
        got = []
        async for d in feed:
            got.append((d.service, d.event.subject))
            await asyncio.sleep(0.002)  # a slow reader: the backlog must be paced, not dropped
            if len(got) == 80:
                break
        await feed.aclose()
        assert [s for _, s in got if _ == "cases"] == [f"c{i}" for i in range(60)]
        assert [s for _, s in got if _ == "grids"] == [f"g{i}" for i in range(0, 60, 3)]
        assert (await js.stream_info(stream_name("cases"))).state.consumer_count == 0

        # live events that find the buffer full end the feed instead of going missing
        feed = stream_events(nc, sources, town, buffer=3)
        first = asyncio.ensure_future(anext(feed))
        while (await js.stream_info(stream_name("cases"))).state.consumer_count == 0:
            await asyncio.sleep(0.02)
        for i in range(10):
            await publish(js, "cases", A1, f"live{i}")
        assert (await asyncio.wait_for(first, 5)).event.subject == "live0"
        await asyncio.sleep(0.3)
        with pytest.raises(Unavailable, match="fell too far behind"):
            for _ in range(10):
                await asyncio.wait_for(anext(feed), 5)
        await feed.aclose()
    finally:
        await nc.close()
