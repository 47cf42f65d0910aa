"""The demo territory `yiwang up --demo` loads once, on an empty database.

Deterministic and synthetic (no real places or people): one city, three districts, two
streets each, three communities each, four grids per community tiling it, two buildings
per grid and a grid worker for each. Loaded through the services' own commands, so every
rule, rollup and event applies exactly as for real data. Its dates are relative to the day
it is loaded (in YIWANG_TIMEZONE): each 大党委's first joint meeting is two weeks later, at
09:00; members' birth and join dates lie as far back from that day whenever it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from time import monotonic as time_monotonic
from typing import Any
from zoneinfo import ZoneInfo

import nats

from ops.cli.progress import Progress, Tick
from shared.auth import service_token
from shared.errors import Unavailable
from shared.messaging.rpc import RpcClient
from shared.settings import Settings

FIRST_MEETING_IN_DAYS, MEETING_TIME = 14, time(9, 0)

COUNTIES = ["东湖区", "西岭区", "南川县"]
TOWNSHIPS = ["长青街道", "望江街道", "花园街道", "白沙镇", "清泉街道", "石桥镇"]
COMMUNITIES = [
    "幸福社区",
    "和平社区",
    "阳光社区",
    "民主社区",
    "团结社区",
    "友谊社区",
    "春晖社区",
    "翠柳社区",
    "向阳社区",
    "丰收村",
    "新华社区",
    "光明社区",
    "建设社区",
    "朝阳社区",
    "滨河社区",
    "文昌社区",
    "桃源村",
    "金桥社区",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英"]
ORIGIN = (113.80, 30.80)  # synthetic coordinates
COUNTY_W, HEIGHT = 0.12, 0.12


def rect(x: float, y: float, w: float, h: float) -> dict:
    x2, y2 = round(x + w, 6), round(y + h, 6)
    x, y = round(x, 6), round(y, 6)
    return {"type": "Polygon", "coordinates": [[[x, y], [x2, y], [x2, y2], [x, y2], [x, y]]]}


def plan() -> list[list[dict]]:
    """Regions to create, level by level (each level's parents come in the level before)."""
    x0, y0 = ORIGIN
    city = {
        "id": "demo-city",
        "name": "云河市",
        "level": "CITY",
        "code": "429900000000",
        "boundary": rect(x0, y0, COUNTY_W * len(COUNTIES), HEIGHT),
    }
    levels: list[list[dict]] = [[city], [], [], [], [], []]
    for ci, cname in enumerate(COUNTIES):
        cx = x0 + ci * COUNTY_W
        county = {
            "id": f"demo-k{ci}",
            "name": cname,
            "level": "COUNTY",
            "parentId": city["id"],
            "code": f"4299{ci + 1:02d}000000",
            "boundary": rect(cx, y0, COUNTY_W, HEIGHT),
        }
        levels[1].append(county)
        for ti in range(2):
            tw = COUNTY_W / 2
            tx = cx + ti * tw
            t: dict[str, Any] = {
                "id": f"demo-k{ci}t{ti}",
                "name": TOWNSHIPS[ci * 2 + ti],
                "level": "TOWNSHIP",
                "parentId": county["id"],
                "code": f"4299{ci + 1:02d}{ti + 1:03d}000",
                "boundary": rect(tx, y0, tw, HEIGHT),
            }
            levels[2].append(t)
            for mi in range(3):
                mh = HEIGHT / 3
                my = y0 + mi * mh
                n = (ci * 2 + ti) * 3 + mi
                m = {
                    "id": f"{t['id']}m{mi}",
                    "name": COMMUNITIES[n],
                    "level": "COMMUNITY",
                    "parentId": t["id"],
                    "code": f"{t['code'][:9]}{mi + 1:03d}",
                    "boundary": rect(tx, my, tw, mh),
                }
                levels[3].append(m)
                for gi in range(4):
                    gx, gy = tx + (gi % 2) * tw / 2, my + (gi // 2) * mh / 2
                    g = {
                        "id": f"{m['id']}g{gi}",
                        "name": f"第{'一二三四'[gi]}网格",
                        "level": "GRID",
                        "parentId": m["id"],
                        "boundary": rect(gx, gy, tw / 2, mh / 2),
                    }
                    levels[4].append(g)
                    for bi in range(2):
                        levels[5].append(
                            {
                                "id": f"{g['id']}b{bi}",
                                "name": f"{gi * 2 + bi + 1}栋",
                                "level": "BUILDING",
                                "parentId": g["id"],
                                "attrs": {
                                    "address": f"{COMMUNITIES[n]}{gi * 2 + bi + 1}栋",
                                    "floors": 6 + bi * 12,
                                    "households": 36 + bi * 60,
                                },
                            }
                        )
    return levels


def workers(grids: list[dict]) -> list[dict]:
    out = []
    for i, g in enumerate(grids):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
        out.append(
            {
                "sub": f"demo-gw-{i:03d}",
                "name": name,
                "role": ["BASIC", "CONVENIENCE", "FINANCE"][i % 3],
                "gridId": g["id"],
                "phone": f"1390000{i:04d}",
                "idempotencyKey": f"demo-gw-{i:03d}",
            }
        )
    return out


UNIT_KINDS = [
    ("物业服务有限公司", "PROPERTY_COMPANY"),
    ("业主委员会", "OWNERS_COMMITTEE"),
    ("实验小学", "SCHOOL"),
    ("供电营业所", "AGENCY"),
]
CATEGORIES = ["IN_SERVICE", "RETIRED", "IN_SERVICE", "FLOATING"]


def person(i: int) -> str:
    return SURNAMES[(i * 3) % len(SURNAMES)] + GIVEN[(i * 5 + 1) % len(GIVEN)]


def first_meeting(today: date, zone: ZoneInfo) -> str:
    """When each 大党委's first joint meeting is: two weeks after the load day, 09:00 local."""
    return datetime.combine(today + timedelta(days=FIRST_MEETING_IN_DAYS), MEETING_TIME, zone).isoformat()


def member_dates(i: int, today: date) -> tuple[str, str]:
    """Birth and join dates of demo member `i`: aged 30 to 64 years and some days on the load
    day, joined at 22 to 31 (so after 18 and never in the future)."""
    born = today - timedelta(days=365 * (30 + i % 35) + (i * 37) % 365)
    return born.isoformat(), (born + timedelta(days=365 * (22 + i % 10) + 2)).isoformat()


def party_plan(levels: list[list[dict]]) -> tuple[list[dict], list[dict]]:
    """The grids with a branch and the buildings with a group: not every grid has its branch
    yet, nor every building its group (coverage is a figure to watch)."""
    branched = [g for i, g in enumerate(levels[4]) if i % 7 != 3]
    with_branch = {g["id"] for g in branched}
    grouped = [b for i, b in enumerate(levels[5]) if b["parentId"] in with_branch and i % 5 != 4]
    return branched, grouped


async def replica_ready(
    call: Callable[[str, dict], Awaitable[Any]], service: str, region_id: str, timeout: float = 180
) -> None:
    """Until a service's territory replica knows `region_id` (it follows grids events); `call`
    sends one verb to that service."""
    deadline = time_monotonic() + timeout
    while time_monotonic() < deadline:
        if "error" not in (await call("stats.batch", {"ids": [region_id]}))["items"][region_id]:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"the {service} service did not learn region {region_id} in {timeout:g}s")


async def load_party(
    rpc: RpcClient, token: str, levels: list[list[dict]], today: date, zone: ZoneInfo, tick: Tick = lambda n: None
) -> str:
    """The party chain on the demo territory: a 党工委 per street, a 大党委 per community with
    its co-building units and a first joint meeting, a branch per grid, a group per building,
    four members per grid (one in-service member dual-registered where they live)."""

    async def org(verb: str, payload: dict) -> dict:
        return await rpc.call("organizations", verb, payload, token)

    await replica_ready(org, "organizations", levels[5][-1]["id"])
    sem = asyncio.Semaphore(8)

    async def create(node: dict, kind: str, name: str, parent: str | None) -> tuple[str, str]:
        async with sem:
            made = await org(
                "org.create",
                {
                    "name": name,
                    "type": kind,
                    "anchorId": node["id"],
                    "parentId": parent,
                    "idempotencyKey": f"demo-org:{node['id']}",
                },
            )
            tick(1)
            return node["id"], made["id"]

    names = {r["id"]: r["name"] for level in levels for r in level}
    branched, grouped = party_plan(levels)
    by_node: dict[str, str] = dict(
        await asyncio.gather(*(create(t, "TOWNSHIP_WORKING_COMMITTEE", f"{t['name']}党工委", None) for t in levels[2]))
    )
    by_node |= dict(
        await asyncio.gather(
            *(create(m, "COMMUNITY_COMMITTEE", f"{m['name']}党委", by_node[m["parentId"]]) for m in levels[3])
        )
    )
    by_node |= dict(
        await asyncio.gather(
            *(
                create(g, "GRID_BRANCH", f"{names[g['parentId']]}{g['name']}党支部", by_node[g["parentId"]])
                for g in branched
            )
        )
    )
    by_node |= dict(
        await asyncio.gather(
            *(create(b, "BUILDING_GROUP", f"{b['attrs']['address']}党小组", by_node[b["parentId"]]) for b in grouped)
        )
    )

    async def register(i: int, grid: dict) -> None:
        async with sem:
            home = f"{grid['id']}b{i % 2}"
            born, joined = member_dates(i, today)
            m = await org(
                "member.register",
                {
                    "name": person(i),
                    "gender": "FEMALE" if i % 2 else "MALE",
                    "birthDate": born,
                    "joinDate": joined,
                    "phone": f"1370000{i:04d}",
                    "category": CATEGORIES[i % 4],
                    "organizationId": by_node.get(grid["id"], by_node[grid["parentId"]]),
                    "homeBuildingId": home,
                    "idempotencyKey": f"demo-pm:{i}",
                },
            )
            if i % 4 == 0:
                await org("dual.register", {"memberId": m["id"], "communityId": grid["parentId"]})
            tick(1)

    await asyncio.gather(*(register(gi * 4 + k, g) for gi, g in enumerate(levels[4]) for k in range(4)))
    meeting_at = first_meeting(today, zone)

    async def committee(ci: int, community: dict) -> None:
        async with sem:
            committee_id = by_node[community["id"]]
            for ui, (suffix, kind) in enumerate(UNIT_KINDS[: 2 + ci % 3]):
                unit = await org(
                    "unit.register",
                    {
                        "name": f"{community['name']}{suffix}",
                        "kind": kind,
                        "regionId": community["id"],
                        "contacts": [
                            {
                                "name": person(1000 + ci * 4 + ui),
                                "title": "负责人",
                                "phone": f"1360000{ci * 4 + ui:04d}",
                            }
                        ],
                        "idempotencyKey": f"demo-unit:{ci}:{ui}",
                    },
                )
                await org("org.addUnit", {"id": committee_id, "unitId": unit["id"]})
                tick(1)
            await org(
                "meeting.schedule",
                {"committeeId": committee_id, "scheduledAt": meeting_at, "idempotencyKey": f"demo-meeting:{ci}"},
            )
            tick(1)

    await asyncio.gather(*(committee(ci, c) for ci, c in enumerate(levels[3])))
    return f"{len(by_node)} party organisations, {len(levels[4]) * 4} members, {unit_count(levels)} co-building units"


def unit_count(levels: list[list[dict]]) -> int:
    return sum(2 + ci % 3 for ci in range(len(levels[3])))


def party_size(levels: list[list[dict]]) -> int:
    """What load_party creates: organisations, members, units and meetings."""
    branched, grouped = party_plan(levels)
    return (
        len(levels[2])
        + len(levels[3])
        + len(branched)
        + len(grouped)
        + 4 * len(levels[4])
        + unit_count(levels)
        + len(levels[3])
    )


POST_TYPES = ["POLICY_OUTREACH", "CIVILITY", "ENVIRONMENT", "LEGAL_AID", "MEDIATION", "PARCEL_STATION", "SAFETY"]
POST_NAMES = {
    "POLICY_OUTREACH": "政策宣传岗",
    "CIVILITY": "文明督导岗",
    "ENVIRONMENT": "环境治理岗",
    "LEGAL_AID": "法律援助岗",
    "MEDIATION": "民事调解岗",
    "PARCEL_STATION": "快递驿站岗",
    "SAFETY": "平安巡逻岗",
}
REWARDS = [("SOAP", "洗衣液一瓶", 5, 200), ("RICE", "大米五斤", 10, 100), ("HAIRCUT", "理发券", 3, 500)]


async def load_volunteers(rpc: RpcClient, token: str, levels: list[list[dict]], tick: Tick = lambda n: None) -> str:
    """Four volunteers per community (`demo-vol-NNN`), two standing posts each, and the reward
    catalogue of the points scheme."""

    async def vol(verb: str, payload: dict) -> dict:
        return await rpc.call("volunteers", verb, payload, token)

    await replica_ready(vol, "volunteers", levels[3][-1]["id"])
    for code, name, cost, stock in REWARDS:
        await vol("catalogue.upsert", {"code": code, "name": name, "cost": cost, "stock": stock})
    sem = asyncio.Semaphore(8)

    async def community(ci: int, c: dict) -> None:
        async with sem:
            for k in range(4):
                i = ci * 4 + k
                await vol(
                    "volunteer.register",
                    {
                        "name": person(2000 + i),
                        "homeRegionId": c["id"],
                        "sub": f"demo-vol-{i:03d}",
                        "phone": f"1350000{i:04d}",
                        "skills": [["维修", "助老"], ["法律"], ["心理疏导"], ["助老"]][k],
                        "availability": [["SAT_AM"], ["WEEKDAY_EVENING"], ["SUN_PM"], ["SAT_AM", "SUN_PM"]][k],
                        "idempotencyKey": f"demo-vol:{i}",
                    },
                )
                tick(1)
            for k in range(2):
                kind = POST_TYPES[(ci * 2 + k) % len(POST_TYPES)]
                await vol(
                    "post.create",
                    {
                        "title": POST_NAMES[kind],
                        "type": kind,
                        "regionId": c["id"],
                        "capacity": 5,
                        "duties": f"{c['name']}{POST_NAMES[kind]}，每周值守一次",
                    },
                )
                tick(1)

    await asyncio.gather(*(community(ci, c) for ci, c in enumerate(levels[3])))
    return f"{len(levels[3]) * 4} volunteers, {len(levels[3]) * 2} volunteer posts"


async def load_demo(
    settings: Settings, now: datetime, progress: Progress, levels: list[list[dict]] | None = None
) -> str:
    """The demo city (or the part of its `plan()` given) into an empty stack, saying how far along
    it is; what it loaded."""
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    nc = await nats.connect(settings.nats_servers, name="yiwang-demo")
    try:
        rpc, token = RpcClient(nc, timeout_s=30), service_token(settings.jwt_secret, "demo", settings.jwt_issuer)
        sem = asyncio.Semaphore(8)
        levels = levels or plan()
        ws = workers(levels[4])

        async def call(verb: str, payload: dict, tick: Tick) -> None:
            async with sem:
                await rpc.call(
                    "grids",
                    verb,
                    {**payload, "idempotencyKey": payload.get("idempotencyKey") or f"demo:{payload.get('id')}"},
                    token,
                )
                tick(1)

        with progress.part("territory", sum(map(len, levels)) + len(ws), "regions and grid workers") as part:
            for level in levels:
                await asyncio.gather(*(call("region.create", r, part.add) for r in level))
            await asyncio.gather(*(call("worker.register", w, part.add) for w in ws))
        try:
            with progress.part("party", party_size(levels), "organisations, members, units and meetings") as part:
                party = await load_party(rpc, token, levels, today, zone, part.add)
        except Unavailable:
            party = "the organizations service is not running, so no party organisations"
        try:
            with progress.part("volunteers", 6 * len(levels[3]), "volunteers and posts") as part:
                party += "; " + await load_volunteers(rpc, token, levels, part.add)
        except Unavailable:
            party += "; the volunteers service is not running, so no volunteers"
        return (
            f"云河市 with {len(levels[1])} districts, {len(levels[2])} streets, "
            f"{len(levels[3])} communities, {len(levels[4])} grids, {len(levels[5])} buildings, "
            f"{len(ws)} grid workers; {party}"
        )
    finally:
        await nc.close()
