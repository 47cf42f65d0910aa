"""Residents' points (积分制) and a co-building unit's service orders for the demo city, loaded
through the real verbs: each of the first communities' office (an operator's token) awards its
residents for 垃圾分类, 参加活动 and 志愿服务, the platform (`points.residentAward`, the service's
token) credits 参与议事 for a residents' council meeting (居民议事会; taking part in a proposal credits it
the same way, from the organizations service), and one resident redeems a reward. Then a resident's
repair order is dispatched to the community's property company (相关单位接单), accepted for it with
its handler, completed and rated; a second one waits with the unit.

Residents are `demo-res-<community>-<n>`; the offices are `op-<community>` (the seed's operators).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.identity import settings_token

if TYPE_CHECKING:  # ops.cli.seed calls this module
    from ops.cli.seed import Loader

COMMUNITIES = 3  # the first communities (by id) get residents with points
RESIDENTS = 5  # per community
STAFF_AWARDS = (
    ("RUBBISH_SORTING", "grid", "垃圾分类检查"),
    ("ACTIVITY", "community", "重阳节活动"),
    ("VOLUNTEER_SERVICE", "community", "楼道清扫"),
)


async def seed_points(loader: Loader, settings: Any) -> str:
    """What it loaded, for the seed's summary."""

    def token(sub: str, role: str, region: str | None = None) -> str:
        return settings_token(settings, sub=sub, role=role, region=region, ttl_s=3600)

    grids = (await loader.call("grids", "region.list", {"level": "GRID", "first": 100}))["items"]
    communities = sorted({g["parentId"] for g in grids})[:COMMUNITIES]
    awarded = 0
    for ci, community in enumerate(communities):
        office = token(f"op-{community}", "operator", community)
        grid = min(g["id"] for g in grids if g["parentId"] == community)
        for n in range(RESIDENTS):
            sub = f"demo-res-{community}-{n}"
            for k, (rule, where, occasion) in enumerate(STAFF_AWARDS[: 1 + (n + ci) % 3]):
                body = {
                    "sub": sub,
                    "ruleCode": rule,
                    "regionId": grid if where == "grid" else community,
                    "occasion": occasion,
                    "idempotencyKey": f"demo-points:{sub}:{k}",
                }
                await loader.call("volunteers", "resident.award", body, token=office)
                awarded += 1
            if n % 2 == 0:  # a 议事会 the resident attended, credited with the platform's own verb
                body = {
                    "sub": sub,
                    "ruleCode": "DELIBERATION",
                    "regionId": community,
                    "occasion": "demo-议事-1",
                    "idempotencyKey": f"demo-points:{sub}:deliberation",
                }
                await loader.call("volunteers", "points.residentAward", body)
                awarded += 1
    first = f"demo-res-{communities[0]}-0"
    await loader.call(
        "volunteers",
        "resident.redeem",
        {"itemCode": "HAIRCUT", "redemptionId": "demo-redeem-1"},
        token=token(first, "resident"),
    )
    orders = await unit_orders(loader, communities[0], grids, token)
    return (
        f"{len(communities) * RESIDENTS} residents with points ({awarded} awards, 1 redemption); "
        f"{orders} service orders dispatched to a co-building unit"
    )


async def unit_orders(loader: Loader, community: str, grids: list[dict], token: Any) -> int:
    """A repair order the community's property company completes, and one it has accepted."""
    units = (await loader.call("organizations", "unit.list", {"regionId": community, "first": 20}))["items"]
    unit = next((u for u in units if u["kind"] == "PROPERTY_COMPANY"), units[0] if units else None)
    if unit is None:
        return 0
    office = token(f"op-{community}", "operator", community)
    grid = min(g["id"] for g in grids if g["parentId"] == community)
    buildings = await loader.call("grids", "region.list", {"parentId": grid, "level": "BUILDING", "first": 1})
    if not buildings["items"]:
        return 0
    building = buildings["items"][0]["id"]
    for n, (what, finish) in enumerate((("楼道灯坏了，请物业维修", True), ("单元门禁失灵", False))):
        resident = token(f"demo-res-{community}-{n}", "resident")
        order = await loader.call(
            "volunteers",
            "order.place",
            {"category": "维修", "description": what, "buildingId": building, "idempotencyKey": f"demo-unit-order:{n}"},
            token=resident,
        )

        async def step(verb: str, body: dict, tok: str = office, order_id: str = order["id"]) -> Any:
            return await loader.call("volunteers", verb, {"id": order_id, **body}, token=tok, retries=0)

        await step("order.review", {"approve": True})
        await step("order.dispatch", {"target": {"kind": "UNIT", "id": unit["id"]}})
        await step("order.acceptForUnit", {"handler": "物业维修班 张师傅"})
        if finish:
            await step("order.start", {})
            await step("order.complete", {"hours": 1.5})
            await step("order.rate", {"score": 5, "comment": "修得很快"}, resident)
    return 2
