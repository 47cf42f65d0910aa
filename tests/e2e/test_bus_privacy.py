"""What an outside consumer sees on the bus: after a resident reports a case at a point and orders a
service, every message of the cases and volunteers streams, read with plain nats-py, carries neither
the point's coordinates nor the resident's sub, name, phone or the text they wrote."""
from __future__ import annotations

import json

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from tests.cases_gateway import eventually, report
from tests.e2e.test_volunteers import community  # noqa: F401 - the stack with volunteers and buildings

RESIDENT = {"role": "resident", "sub": "res-priv-9c1"}
POINT = (113.00537, 30.00481)
ORDER = """mutation { placeServiceOrder(input: {category: "助老", description: "三楼独居老人家换灯泡",
    buildingId: "bldg-a1-1", lng: 113.00612, lat: 30.00377}) { id } }"""
PERSONAL = [RESIDENT["sub"], "113.00537", "30.00481", "113.00612", "30.00377", "张三", "13812345678", "3号楼东侧",
            "三楼独居老人家换灯泡"]


async def stream_messages(js, stream: str) -> list:
    """Every message of `stream`, from the first, through an ephemeral pull consumer."""
    info = await js.stream_info(stream)
    sub = await js.pull_subscribe("", stream=stream, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
    out = []
    while len(out) < info.state.messages:
        out += await sub.fetch(batch=500, timeout=30)
    await sub.unsubscribe()
    return out


async def test_no_coordinates_or_resident_identity_on_the_bus(community, stack):  # noqa: F811
    order = await stack.ok(ORDER, **RESIDENT)
    case = await report(stack, RESIDENT, POINT)
    nc = await nats.connect(stack.settings.nats_url)
    js = nc.jetstream()
    try:
        async def both() -> tuple[list, list]:
            return await stream_messages(js, "YIWANG_CASES"), await stream_messages(js, "YIWANG_VOLUNTEERS")

        def arrived(got: tuple[list, list]) -> bool:
            cases, vols = got
            return any(case["id"] in m.data.decode() for m in cases) and any(
                b'"ORDER_PLACED' in m.data or b".ORDER_PLACED." in m.data for m in vols)

        cases, vols = await eventually(both, arrived, timeout=60)
    finally:
        await nc.close()
    assert order
    for m in cases + vols:
        text = m.subject + m.data.decode() + json.dumps(dict(m.headers or {}), ensure_ascii=False)
        found = [p for p in PERSONAL if p in text]
        assert not found, (m.subject, found)
    reported = next(json.loads(m.data) for m in cases if m.subject.startswith("yiwang.evt.cases.REPORTED."))
    assert reported["actor"] == "resident" and reported["data"]["actor"] == "resident"
    assert reported["data"]["cell"] == "11300:3000" and reported["data"]["category_code"] == "ENV_GARBAGE"
