"""`yiwang seed --demo --scale small|city`: deterministic, synthetic demo data, loaded through
the services' own commands (so every rule, rollup and event applies as for real data).

`small` is the demo city of ops/cli/demo.py (ids `demo-…`, what `make run` loads) plus a
year of case history. `city` is the scale of the source documents and what benchmarks use:
7 districts and counties, 16 streets, 177 communities, 1,000 grids tiling them, ~4,000
buildings, a grid worker per grid, the party chain 党工委 → 大党委 → 网格党支部 → 楼栋党小组 →
党员中心户, 50,000 members, co-building units and a joint meeting per 大党委, 2,000 volunteers,
posts and service orders, and 100,000 cases over the last 365 days (ids `city…`).

Everything is drawn from `random.Random` seeded per part, so a scale always yields the same
territory, people and history. Times are relative to the load: the case history is drawn as
of REFERENCE_NOW and moved to end at `now` (the same cases, steps and figures whenever it is
loaded), meetings and members' dates count from the load day. Names of people come from
surname and given-name lists, names of places from syllables: none is a real person.
The big volumes go through the bulk verbs `member.import` and `case.import`; the rest
through the ordinary verbs, a few at a time.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as clock
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from ops.cli import seed_followup
from ops.cli.demo import replica_ready
from ops.cli.progress import Progress, Say, Tick
from ops.cli.seed_committees import seed_committees  # committees: 红色业委会, 三方联动, 单位报到
from ops.cli.seed_departments import load_departments
from ops.cli.seed_funds import seed_funds  # funds and service lists
from ops.cli.seed_links import seed_links  # links:
from ops.cli.seed_points import seed_points  # residents' points; units take service orders
from ops.cli.seed_proposals import seed_proposals  # deliberation: 一征三议两公开
from ops.cli.seed_visits import seed_visits  # visits:
from ops.cli.seed_weak import seed_weak  # weak organisations: one branch flagged, its plan
from services.cases.domain import (
    DEFAULT_CATALOGUE,
    DEFAULT_SLA,
    DEPARTMENTS,
    Category,
    Clock,
    HandlingLevel,
    start_level,
    wall_clock,
)
from services.cases.handlers.context import sla_of
from services.cases.importer import history_id
from services.organizations.domain.member import adulthood
from shared.errors import InternalError, Unavailable
from shared.ids import keyed_id
from shared.settings import Settings
from shared.vocabulary.cases import FENGQIAO_LEVELS
from shared.workdays import OfficeHours, WorkCalendar, WorkCalendarSource, YearArrangement

SCALES = ("small", "city")
DESCRIPTIONS = {
    "small": "the demo city 云河市, its party organisations and volunteers, and a year of its cases",
    "city": "青川市 at the scale of a real city (about 1.5 hours on an idle machine, a year of visits most of it)",
}
MEETING_AT = clock(9, 0)


def no_tick(n: int) -> None:
    pass


# ---- names -------------------------------------------------------------------------------
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美兰霞平刚桂英建国志红玉萍德华文辉力鹏飞宇浩然思琪子涵欣怡"
    "雨轩梓萱一诺晨阳佳怡嘉豪俊杰雅琴海燕春梅秋菊冬生永福金凤玉兰淑珍德胜国庆卫东建华小龙凤英桂兰"
)
PLACE = (
    "东西南北中青云金玉龙凤清长临平安宁兴和江湖山川河桥泉石梅竹松柳桃李杏荷兰菊新华光明春秋晨曦丰泰"
    "瑞祥福寿康乐文武德仁义礼智信嘉禾锦绣翠碧白沙黄鹤紫阳朝霞星月银滨汉水岭峰林园苑庄"
)


def person(rnd: random.Random) -> str:
    """A synthetic name: a surname and one or two given characters."""
    given = rnd.choice(GIVEN) + (rnd.choice(GIVEN) if rnd.random() < 0.55 else "")
    return rnd.choice(SURNAMES) + given


def place_names(rnd: random.Random, n: int, used: set[str]) -> list[str]:
    """`n` distinct two-syllable place names not in `used` (which they join)."""
    out: list[str] = []
    while len(out) < n:
        name = rnd.choice(PLACE) + rnd.choice(PLACE)
        if name[0] != name[1] and name not in used:
            used.add(name)
            out.append(name)
    return out


def phone(prefix: str, i: int) -> str:
    """A patterned 11-digit mobile number (`1xx` then `i`), never a looked-up one."""
    return f"{prefix[:3]}{i % 10**8:08d}"


CN_DIGITS = "一二三四五六七八九十"


# ---- geometry ----------------------------------------------------------------------------
MICRO = 1_000_000  # coordinates on an integer micro-degree lattice: shared edges are exact


def rect(x0: int, y0: int, x1: int, y1: int) -> dict:
    a, b, c, e = (round(v / MICRO, 6) for v in (x0, y0, x1, y1))
    return {"type": "Polygon", "coordinates": [[[a, b], [c, b], [c, e], [a, e], [a, b]]]}


def tile(box: tuple[int, int, int, int], n: int) -> list[tuple[int, int, int, int]]:
    """`n` rectangles that tile `box` exactly: rows of near-equal cells."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    rows = max(1, min(n, round(math.sqrt(n * h / w))))
    base, extra = divmod(n, rows)
    cells = []
    for r in range(rows):
        k = base + (1 if r < extra else 0)
        ya, yb = y0 + h * r // rows, y0 + h * (r + 1) // rows
        cells += [(x0 + w * c // k, ya, x0 + w * (c + 1) // k, yb) for c in range(k)]
    return cells


def split(box: tuple[int, int, int, int], weights: list[int], vertical: bool) -> list[tuple[int, int, int, int]]:
    """Strips of `box` side by side (or stacked), sized by `weights`."""
    x0, y0, x1, y1 = box
    total, acc, out = sum(weights), 0, []
    span = (x1 - x0) if vertical else (y1 - y0)
    for wgt in weights:
        a, b = span * acc // total, span * (acc + wgt) // total
        acc += wgt
        out.append((x0 + a, y0, x0 + b, y1) if vertical else (x0, y0 + a, x1, y0 + b))
    return out


# ---- the territory -----------------------------------------------------------------------
@dataclass
class Grid:
    """What the generators need of a grid."""

    id: str
    path: list[str]
    community: str
    community_name: str
    box: tuple[float, float, float, float]  # lng0, lat0, lng1, lat1
    buildings: list[str]
    building_names: list[str]
    worker_sub: str
    worker_name: str
    worker_phone: str
    weight: float = 1.0


@dataclass
class Plan:
    scale: str
    prefix: str  # of people's subs and keys: "demo" or "city"
    levels: list[list[dict]]  # regions to create, level by level
    workers: list[dict]
    grids: list[Grid] = field(default_factory=list)

    def by_level(self, level: str) -> list[dict]:
        return self.levels[["CITY", "COUNTY", "TOWNSHIP", "COMMUNITY", "GRID", "BUILDING"].index(level)]


CITY_SEED = 20240717
CITY_COUNTIES = 7
CITY_STREETS = (3, 3, 2, 2, 2, 2, 2)  # per county: 16 streets
CITY_COMMUNITIES = 177
CITY_GRIDS = 1000  # 5–7 per community
CITY_ORIGIN = (114_200_000, 30_400_000)  # micro-degrees, synthetic
CITY_SIZE = (360_000, 200_000)


def city_plan(seed: int = CITY_SEED) -> Plan:
    rnd = random.Random(f"{seed}:territory")
    used: set[str] = set()
    x0, y0 = CITY_ORIGIN
    box = (x0, y0, x0 + CITY_SIZE[0], y0 + CITY_SIZE[1])
    city = {"id": "city", "name": "青川市", "level": "CITY", "code": "429800000000", "boundary": rect(*box)}
    levels: list[list[dict]] = [[city], [], [], [], [], []]
    # Communities per street: 177 over 16 streets, 8 to 14 each.
    streets_total = sum(CITY_STREETS)
    per_street = [CITY_COMMUNITIES // streets_total] * streets_total
    for i in rnd.sample(range(streets_total), CITY_COMMUNITIES - sum(per_street)):
        per_street[i] += 1
    for _ in range(40):  # some spread, same total
        a, b = rnd.sample(range(streets_total), 2)
        if per_street[a] < 14 and per_street[b] > 8:
            per_street[a] += 1
            per_street[b] -= 1
    # Grids per community: 5 each, then 7s and 6s up to 1,000.
    grids_per = [5] * CITY_COMMUNITIES
    spare = CITY_GRIDS - sum(grids_per)
    for i in rnd.sample(range(CITY_COMMUNITIES), spare):
        grids_per[i] += 1
    for i in rnd.sample(range(CITY_COMMUNITIES), 25):
        if grids_per[i] == 6:
            j = next(k for k in rnd.sample(range(CITY_COMMUNITIES), CITY_COMMUNITIES) if grids_per[k] == 6 and k != i)
            grids_per[i], grids_per[j] = 7, 5
    county_names = place_names(rnd, CITY_COUNTIES, used)
    street_of = iter(range(streets_total))
    street_sizes = []
    for n_streets in CITY_STREETS:
        street_sizes.append([per_street[next(street_of)] for _ in range(n_streets)])
    community_no = 0
    for ci, (cbox, sizes) in enumerate(
        zip(split(box, [sum(s) for s in street_sizes], vertical=True), street_sizes, strict=True)
    ):
        rural = ci >= 4
        county = {
            "id": f"city-k{ci}",
            "name": county_names[ci] + ("县" if rural else "区"),
            "level": "COUNTY",
            "parentId": "city",
            "code": f"4298{ci + 1:02d}000000",
            "boundary": rect(*cbox),
        }
        levels[1].append(county)
        for ti, (tbox, n_comm) in enumerate(zip(split(cbox, sizes, vertical=False), sizes, strict=True)):
            town_rural = rural and ti > 0
            tname = place_names(rnd, 1, used)[0] + ("镇" if town_rural else "街道")
            t: dict[str, Any] = {
                "id": f"{county['id']}t{ti}",
                "name": tname,
                "level": "TOWNSHIP",
                "parentId": county["id"],
                "code": f"4298{ci + 1:02d}{ti + 1:03d}000",
                "boundary": rect(*tbox),
            }
            levels[2].append(t)
            for mi, mbox in enumerate(tile(tbox, n_comm)):
                village = town_rural and rnd.random() < 0.5
                mname = place_names(rnd, 1, used)[0] + ("村" if village else "社区")
                m = {
                    "id": f"{t['id']}m{mi}",
                    "name": mname,
                    "level": "COMMUNITY",
                    "parentId": t["id"],
                    "code": f"{t['code'][:9]}{mi + 1:03d}",
                    "boundary": rect(*mbox),
                }
                levels[3].append(m)
                for gi, gbox in enumerate(tile(mbox, grids_per[community_no])):
                    g = {
                        "id": f"{m['id']}g{gi}",
                        "name": f"第{CN_DIGITS[gi]}网格",
                        "level": "GRID",
                        "parentId": m["id"],
                        "boundary": rect(*gbox),
                    }
                    levels[4].append(g)
                    for bi in range(rnd.randint(3, 5)):
                        floors = rnd.choice((6, 6, 7, 11, 18, 26, 33)) if not village else rnd.choice((2, 3, 4))
                        levels[5].append(
                            {
                                "id": f"{g['id']}b{bi}",
                                "name": f"{gi * 5 + bi + 1}栋",
                                "level": "BUILDING",
                                "parentId": g["id"],
                                "attrs": {
                                    "address": f"{mname}{gi * 5 + bi + 1}栋",
                                    "floors": floors,
                                    "households": floors * rnd.choice((2, 4, 6)),
                                },
                            }
                        )
                community_no += 1
    workers = []
    wrnd = random.Random(f"{seed}:workers")
    for i, g in enumerate(levels[4]):
        workers.append(
            {
                "sub": f"city-gw-{i:04d}",
                "name": person(wrnd),
                "role": ("BASIC", "CONVENIENCE", "FINANCE")[i % 3],
                "gridId": g["id"],
                "phone": phone("1390", i),
                "idempotencyKey": f"city-gw-{i:04d}",
            }
        )
    return finish(Plan("city", "city", levels, workers), seed)


def small_plan() -> Plan:
    """The demo city exactly as ops/cli/demo.py makes it."""
    from ops.cli import demo

    levels = demo.plan()
    return finish(Plan("small", "demo", levels, demo.workers(levels[4])), 7)


def finish(plan: Plan, seed: int) -> Plan:
    """The grid list the people and case generators work on."""
    names = {r["id"]: r["name"] for level in plan.levels for r in level}
    parents = {r["id"]: r.get("parentId") for level in plan.levels for r in level}
    buildings: dict[str, list[str]] = {}
    for b in plan.levels[5]:
        buildings.setdefault(b["parentId"], []).append(b["id"])
    workers = {w["gridId"]: w for w in plan.workers}
    rnd = random.Random(f"{seed}:grid-weights")
    for g in plan.levels[4]:
        path: list[str] = []
        node = g["id"]
        while node:
            path.insert(0, node)
            node = parents[node]
        ring = g["boundary"]["coordinates"][0]
        w = workers[g["id"]]
        plan.grids.append(
            Grid(
                id=g["id"],
                path=path,
                community=g["parentId"],
                community_name=names[g["parentId"]],
                box=(ring[0][0], ring[0][1], ring[2][0], ring[2][1]),
                buildings=buildings.get(g["id"], []),
                building_names=[names[b] for b in buildings.get(g["id"], [])],
                worker_sub=w["sub"],
                worker_name=w["name"],
                worker_phone=w["phone"],
                weight=rnd.lognormvariate(0, 0.45),
            )
        )
    return plan


# ---- the party ---------------------------------------------------------------------------
@dataclass
class PartyPlan:
    orgs: list[list[dict]]  # org.create payloads level by level; `key` names each, `parentKey` its parent
    members: list[dict]  # member.import items
    households: list[dict]  # CENTER_HOUSEHOLD org.create payloads (after the members)
    committees: list[dict]  # per 大党委: its units and its next joint meeting


UNIT_SUFFIXES = (
    ("物业服务有限公司", "PROPERTY_COMPANY"),
    ("业主委员会", "OWNERS_COMMITTEE"),
    ("实验小学", "SCHOOL"),
    ("供电营业所", "AGENCY"),
    ("社会工作服务中心", "SOCIAL_ORG"),
    ("商贸有限公司", "ENTERPRISE"),
    ("卫生服务中心", "AGENCY"),
    ("中学", "SCHOOL"),
)
CITY_MEMBERS = 50_000


def id_number(area: str, birth: date, seq: int) -> str:
    """A synthetic 18-character ID number with a valid check character (GB 11643)."""
    body = f"{area}{birth:%Y%m%d}{seq % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def city_party(plan: Plan, today: date, seed: int = CITY_SEED, members: int = CITY_MEMBERS) -> PartyPlan:
    rnd = random.Random(f"{seed}:party")
    names = {r["id"]: r["name"] for level in plan.levels for r in level}
    working = [
        {
            "key": t["id"],
            "name": f"{t['name']}党工委",
            "type": "TOWNSHIP_WORKING_COMMITTEE",
            "anchorId": t["id"],
            "parentKey": None,
        }
        for t in plan.by_level("TOWNSHIP")
    ]
    big = [
        {
            "key": m["id"],
            "name": f"{m['name']}党委",
            "type": "COMMUNITY_COMMITTEE",
            "anchorId": m["id"],
            "parentKey": m["parentId"],
        }
        for m in plan.by_level("COMMUNITY")
    ]
    # Not every grid has its branch yet, nor every building its group: coverage is a figure to watch.
    branched = {g.id for g in plan.grids if rnd.random() < 0.95}
    branches = [
        {
            "key": g.id,
            "name": f"{g.community_name}{names[g.id]}党支部",
            "type": "GRID_BRANCH",
            "anchorId": g.id,
            "parentKey": g.community,
        }
        for g in plan.grids
        if g.id in branched
    ]
    grouped = {b for g in plan.grids if g.id in branched for b in g.buildings if rnd.random() < 0.29}
    addresses = {b["id"]: b["attrs"]["address"] for b in plan.by_level("BUILDING")}
    groups = [
        {
            "key": b,
            "name": f"{addresses[b]}党小组",
            "type": "BUILDING_GROUP",
            "anchorId": b,
            "parentKey": b.rsplit("b", 1)[0],
        }
        for g in plan.grids
        for b in g.buildings
        if b in grouped
    ]
    # Members: ~50 per grid, in the grid's branch (or the 大党委 where the grid has none), a
    # third of those living in a building with a group in that group.
    weights = [g.weight for g in plan.grids]
    total_w = sum(weights)
    counts = [int(members * w / total_w) for w in weights]
    for i in sorted(range(len(counts)), key=lambda i: -(members * weights[i] / total_w - counts[i]))[
        : members - sum(counts)
    ]:
        counts[i] += 1
    items, numbers, n = [], set(), 0
    for g, count in zip(plan.grids, counts, strict=True):
        area = "4298" + g.id.split("-k")[1][0].zfill(2) if g.id.startswith("city-k") else "429801"
        for _ in range(count):
            home = rnd.choice(g.buildings)
            org = home if home in grouped and rnd.random() < 0.35 else g.id if g.id in branched else g.community
            birth = today - timedelta(days=rnd.randint(23 * 365, 88 * 365))
            adult = adulthood(birth)
            join = adult + timedelta(days=rnd.randint(0, max(1, min((today - adult).days - 1, 40 * 365))))
            category = rnd.choices(("IN_SERVICE", "RETIRED", "FLOATING", "OTHER"), (35, 45, 12, 8))[0]
            number = id_number(area, birth, n)
            while number in numbers:
                n += 1
                number = id_number(area, birth, n)
            numbers.add(number)
            items.append(
                {
                    "id": f"pm-{plan.prefix}-{n:06d}",
                    "name": person(rnd),
                    "gender": rnd.choice(("MALE", "FEMALE")),
                    "birthDate": birth.isoformat(),
                    "joinDate": min(join, today).isoformat(),
                    "phone": phone("1370", n),
                    "idNumber": number,
                    "category": category,
                    "organizationKey": org,
                    "homeBuildingId": home,
                    **({"dualCommunityId": g.community} if category == "IN_SERVICE" and rnd.random() < 0.4 else {}),
                }
            )
            n += 1
    # 党员中心户: a member household in about a fifth of the buildings with a group.
    households = []
    by_home: dict[str, list[dict]] = {}
    for m in items:
        by_home.setdefault(m["homeBuildingId"], []).append(m)
    for b in sorted(grouped):
        if rnd.random() < 0.2 and by_home.get(b):
            m = rnd.choice(by_home[b])
            households.append(
                {
                    "key": f"household:{m['id']}",
                    "name": f"{m['name']}党员中心户",
                    "type": "CENTER_HOUSEHOLD",
                    "anchorId": b,
                    "parentKey": b,
                    "householdMemberId": m["id"],
                }
            )
    committees = []
    for ci, m in enumerate(plan.by_level("COMMUNITY")):
        kinds = rnd.sample(UNIT_SUFFIXES, rnd.randint(2, 4))
        committees.append(
            {
                "community": m["id"],
                "units": [
                    {
                        "name": f"{m['name']}{suffix}",
                        "kind": kind,
                        "regionId": m["id"],
                        "contacts": [{"name": person(rnd), "title": "负责人", "phone": phone("1360", ci * 10 + ui)}],
                        "idempotencyKey": f"{plan.prefix}-unit:{ci}:{ui}",
                    }
                    for ui, (suffix, kind) in enumerate(kinds)
                ],
                "meetingInDays": rnd.randint(5, 60),
            }
        )
    return PartyPlan([working, big, branches, groups], items, households, committees)


# ---- volunteers --------------------------------------------------------------------------
SKILLS = ("维修", "助老", "法律", "心理疏导", "医疗", "教育", "理发", "摄影", "文艺", "环保", "电脑", "急救")
SLOTS = ("SAT_AM", "SAT_PM", "SUN_AM", "SUN_PM", "WEEKDAY_EVENING")
POST_TYPES = ("POLICY_OUTREACH", "CIVILITY", "ENVIRONMENT", "LEGAL_AID", "MEDIATION", "PARCEL_STATION", "SAFETY")
POST_NAMES = {
    "POLICY_OUTREACH": "政策宣传岗",
    "CIVILITY": "文明督导岗",
    "ENVIRONMENT": "环境治理岗",
    "LEGAL_AID": "法律援助岗",
    "MEDIATION": "民事调解岗",
    "PARCEL_STATION": "快递驿站岗",
    "SAFETY": "平安巡逻岗",
}
REWARDS = (
    ("SOAP", "洗衣液一瓶", 5, 2000),
    ("RICE", "大米五斤", 10, 1000),
    ("HAIRCUT", "理发券", 3, 5000),
    ("OIL", "食用油一桶", 15, 800),
)
ORDER_KINDS = (
    ("助老", "家中老人行动不便，想请人帮忙{x}"),
    ("维修", "家里{x}坏了，自己不会修"),
    ("代购", "腿脚不便，想请人帮忙{x}"),
    ("陪诊", "下周要去医院复查，想请人{x}"),
    ("家教", "孩子功课跟不上，想请人{x}"),
)
ORDER_DETAILS = {
    "助老": ("打扫卫生", "换厨房灯泡", "读报聊天"),
    "维修": ("水龙头", "门锁", "电扇"),
    "代购": ("买米面粮油", "取药", "买菜"),
    "陪诊": ("陪同挂号", "推轮椅"),
    "家教": ("辅导数学", "辅导作文"),
}
CITY_VOLUNTEERS = 2000


@dataclass
class VolunteerPlan:
    volunteers: list[dict]
    posts: list[dict]
    orders: list[dict]  # {place: payload, resident, volunteer (index) | None, stage}


def city_volunteers(plan: Plan, seed: int = CITY_SEED, count: int = CITY_VOLUNTEERS) -> VolunteerPlan:
    rnd = random.Random(f"{seed}:volunteers")
    communities = plan.by_level("COMMUNITY")
    vols: list[dict[str, Any]] = []
    by_comm: dict[str, list[int]] = {}
    for i in range(count):
        c = communities[i % len(communities)]
        by_comm.setdefault(c["id"], []).append(i)
        vols.append(
            {
                "name": person(rnd),
                "homeRegionId": c["id"],
                "sub": f"{plan.prefix}-vol-{i:04d}",
                "phone": phone("1350", i),
                "skills": rnd.sample(SKILLS, rnd.randint(1, 3)),
                "availability": rnd.sample(SLOTS, rnd.randint(1, 2)),
                "idempotencyKey": f"{plan.prefix}-vol:{i}",
            }
        )
    posts, orders = [], []
    grids_of: dict[str, list[Grid]] = {}
    for g in plan.grids:
        grids_of.setdefault(g.community, []).append(g)
    for ci, c in enumerate(communities):
        for k in range(2):
            kind = POST_TYPES[(ci * 2 + k) % len(POST_TYPES)]
            posts.append(
                {
                    "title": POST_NAMES[kind],
                    "type": kind,
                    "regionId": c["id"],
                    "capacity": rnd.choice((3, 5, 8)),
                    "duties": f"{c['name']}{POST_NAMES[kind]}，每周值守一次",
                }
            )
        for k in range(rnd.choice((1, 1, 2, 2, 3))):
            category, text = rnd.choice(ORDER_KINDS)
            building = rnd.choice(rnd.choice(grids_of[c["id"]]).buildings)
            resident = f"{plan.prefix}-res-o{ci:03d}{k}"
            orders.append(
                {
                    "resident": resident,
                    "volunteer": rnd.choice(by_comm.get(c["id"], [None])),
                    "stage": rnd.choices(("RATED", "IN_PROGRESS", "OPEN"), (60, 15, 25))[0],
                    "hours": rnd.choice((1.0, 1.5, 2.0, 3.0)),
                    "score": rnd.choice((4, 5, 5, 5)),
                    "place": {
                        "category": category,
                        "description": text.format(x=rnd.choice(ORDER_DETAILS[category])),
                        "buildingId": building,
                        "idempotencyKey": f"{resident}:order",
                    },
                }
            )
    return VolunteerPlan(vols, posts, orders)


# ---- case history ------------------------------------------------------------------------
CATEGORY_WEIGHTS = {  # share of cases per category, and its seasonal swing (peak month, amplitude)
    "ENV_GARBAGE": (14, 7, 0.3),
    "ENV_NOISE": (8, 7, 0.45),
    "ENV_SEWAGE": (4, 6, 0.6),
    "DISPUTE_NEIGHBOR": (9, 2, 0.2),
    "BUILDING_CORRIDOR_CLUTTER": (4, 1, 0.3),  # before the Spring Festival clean-up
    "BUILDING_LEAK": (3, 7, 0.5),  # the rainy season
    "DISPUTE_FAMILY": (4, 2, 0.3),
    "DISPUTE_PROPERTY": (6, 0, 0),
    "DISPUTE_LABOUR": (2, 1, 0.5),
    "FACILITY_STREETLIGHT": (7, 12, 0.3),
    "FACILITY_ROAD": (3, 7, 0.4),
    "FACILITY_MANHOLE": (2, 7, 0.3),
    "SAFETY_FIRE_EXIT": (4, 1, 0.2),
    "SAFETY_HIGH_THROW": (2, 0, 0),
    "SAFETY_EBIKE_CHARGING": (5, 1, 0.4),
    "LIVELIHOOD_SUBSISTENCE": (3, 1, 0.3),
    "LIVELIHOOD_ELDERLY": (4, 1, 0.3),
    "LIVELIHOOD_EMPLOYMENT": (2, 3, 0.4),
    "PROPERTY_SERVICE": (9, 0, 0),
    "PROPERTY_FACILITY": (7, 0, 0),
    "POLICY_CONSULT": (4, 9, 0.2),
    "SUGGESTION": (1, 0, 0),
    "OTHER": (5, 0, 0),
}
CHANNELS = (("MINI_PROGRAM", 45), ("HOTLINE", 25), ("GRID_PATROL", 25), ("WALK_IN", 5))
CHANNEL_NAMES, CHANNEL_CUM = [c for c, _ in CHANNELS], list(accumulate(w for _, w in CHANNELS))
HOUR_WEIGHTS = (
    0.2,
    0.1,
    0.1,
    0.1,
    0.1,
    0.3,
    0.8,
    1.6,
    2.6,
    3.0,
    3.0,
    2.6,
    1.8,
    2.0,
    2.6,
    2.8,
    2.6,
    2.2,
    1.8,
    1.6,
    1.4,
    1.0,
    0.6,
    0.4,
)
WEEKDAY_WEIGHTS = (1.1, 1.05, 1.05, 1.0, 1.0, 0.85, 0.75)
SCORES = ((5, 56), (4, 27), (3, 9), (2, 5), (1, 3))
SCORE_VALUES, SCORE_CUM = [v for v, _ in SCORES], list(accumulate(w for _, w in SCORES))
TITLES = {
    "ENV_GARBAGE": ("{b}楼下垃圾堆放", "垃圾桶满溢未清运", "{b}门口建筑垃圾未清理"),
    "ENV_NOISE": ("夜间装修噪音扰民", "广场舞音响声音过大", "{b}商铺音响噪音"),
    "ENV_SEWAGE": ("{b}旁污水外溢", "化粪池冒溢", "下水道堵塞污水倒灌"),
    "DISPUTE_NEIGHBOR": ("邻居漏水纠纷", "{b}楼道堆物纠纷", "宠物扰邻纠纷"),
    "BUILDING_CORRIDOR_CLUTTER": ("{b}楼道堆放杂物", "{b}消防楼梯堆放纸箱", "{b}楼道停放自行车"),
    "BUILDING_LEAK": ("{b}楼上卫生间渗水", "{b}楼上空调滴水", "{b}顶楼渗漏"),
    "DISPUTE_FAMILY": ("家庭赡养纠纷", "夫妻矛盾求助调解"),
    "DISPUTE_PROPERTY": ("物业费收取争议", "停车位归属纠纷"),
    "DISPUTE_LABOUR": ("装修工人工资拖欠", "保洁员工资未结清"),
    "FACILITY_STREETLIGHT": ("{b}旁路灯不亮", "小区路灯损坏", "路灯白天常亮"),
    "FACILITY_ROAD": ("道路坑洼积水", "人行道砖松动"),
    "FACILITY_MANHOLE": ("井盖缺失", "井盖破损松动"),
    "SAFETY_FIRE_EXIT": ("{b}消防通道被占用", "楼道杂物堵塞安全出口"),
    "SAFETY_HIGH_THROW": ("{b}高空抛物", "楼上扔垃圾"),
    "SAFETY_EBIKE_CHARGING": ("{b}电动车飞线充电", "电动车推入楼道充电"),
    "LIVELIHOOD_SUBSISTENCE": ("咨询低保申请", "临时救助咨询"),
    "LIVELIHOOD_ELDERLY": ("独居老人需要照料", "老年助餐咨询"),
    "LIVELIHOOD_EMPLOYMENT": ("失业人员求职帮扶", "灵活就业社保咨询"),
    "PROPERTY_SERVICE": ("物业保洁不到位", "物业门岗管理松散"),
    "PROPERTY_FACILITY": ("{b}电梯故障", "单元门禁损坏", "{b}楼顶漏水"),
    "POLICY_CONSULT": ("医保缴费政策咨询", "居住证办理咨询", "老旧小区改造政策咨询"),
    "SUGGESTION": ("建议增设健身器材", "建议增加公交站点"),
    "OTHER": ("流浪犬出没", "共享单车乱停放", "小广告乱贴"),
}
PRAISES = ("很及时", "态度很好", "问题解决了", "谢谢网格员")
URGINGS = ("请尽快处理", "已持续多日", "影响居民生活", "希望有关部门关注")
RESOLUTIONS = (
    "已现场处置完毕",
    "已协调相关单位处理",
    "已清理完毕",
    "已维修恢复",
    "已调解，双方达成一致",
    "已答复诉求人",
    "已督促整改到位",
)
DEFAULT_AUTO_CLOSE_S = 7 * 86400
# The year of case history is drawn as if it ended at this moment (its seasons, weekdays and
# hours of the day are this year's, in UTC+8), then moved to end at the moment it is loaded.
REFERENCE_NOW = datetime(2026, 11, 21, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def level_of(name: HandlingLevel | str) -> int:
    return list(HandlingLevel).index(HandlingLevel(name))


# The history's levels as indexes of HandlingLevel (lowest first): BUILDING, GRID, …, COUNTY
BUILDING_L, GRID_L, TOP_L = level_of("BUILDING"), level_of("GRID"), len(HandlingLevel) - 1
OFFICE_L = GRID_L + 1  # the lowest level with an office (the community's): who assigns and closes


def building_leader_sub(building_id: str) -> str:
    """The demo's 楼栋长 of a building (a token: `yiwang token --role building_leader --region <building>
    --sub bl-<building>`)."""
    return f"bl-{building_id}"


@dataclass
class Mirror:
    """The case as the domain will have it, as far as planning its next step needs."""

    status: str
    level: int
    due: datetime | None
    overdue: bool = False
    reopened: bool = False
    resolved_at: datetime | None = None
    resolved_level: int | None = None
    resolved_on_time: bool | None = None
    sweeps: int = 0
    rated: int | None = None
    # follow-up (seed_followup): 核查 and 回访
    verification_due: bool = False
    reworked: bool = False
    rating_from: datetime | None = None
    visit_due: datetime | None = None
    unreached_calls: int = 0

    @property
    def open(self) -> bool:
        return self.status in ("REPORTED", "ACCEPTED", "ASSIGNED", "IN_PROGRESS")


@dataclass
class HistoryStats:
    """What the generator planned, to check its mix (tests) and to report it."""

    cases: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    resolved_by_level: dict[int, int] = field(default_factory=dict)
    escalated: int = 0
    swept: int = 0
    late: int = 0
    rated: dict[int, int] = field(default_factory=dict)


class CaseHistory:
    """A year of cases ending at `now`, over the grids of a plan, with the catalogue's
    categories, a channel mix, weekly and seasonal rhythm, SLA-driven escalations, ratings,
    and a few grid × category clusters that surged in the last ten days (hotspots).

    Drawn in the year before REFERENCE_NOW (its calendar gives the rhythm) and emitted moved
    by `now - REFERENCE_NOW`, so nothing in it depends on the day it is loaded."""

    def __init__(
        self,
        plan: Plan,
        count: int,
        now: datetime,
        seed: int,
        days: int = 365,
        sla: dict[HandlingLevel, int] | Clock | None = None,
        auto_close_s: int = DEFAULT_AUTO_CLOSE_S,
        clusters: int = 0,
        cluster_size: int = 0,
    ):
        self.plan, self.count, self.days = plan, count, days
        # Drawn as of REFERENCE_NOW, then moved to end at `now`: the same cases, steps and
        # figures whenever it is loaded.
        self.now = REFERENCE_NOW
        self.shift = now.replace(microsecond=0) - REFERENCE_NOW
        self.seed, self.auto_close_s = seed, auto_close_s
        # The cases service's clock (deadlines in working time of its calendar), as the history
        # is drawn: in the reference year. case.import counts that calendar moved by `shift`
        # (`calendarShiftS`), so the deadlines move with the history and stay the same whenever
        # it is loaded.
        self.clock = sla if isinstance(sla, Clock) else wall_clock(sla or DEFAULT_SLA)
        self.levels = list(HandlingLevel)
        self.categories = {c.code: c for c in DEFAULT_CATALOGUE.categories}
        self.clusters, self.cluster_size = clusters, cluster_size
        self.stats = HistoryStats()

    def iso(self, t: datetime) -> str:
        """A time of the drawn year as the moment it stands for, `now` being the load's."""
        return (t + self.shift).astimezone(UTC).isoformat()

    @property
    def shift_s(self) -> int:
        """How much later than drawn the history is loaded (case.import's `calendarShiftS`)."""
        return int(self.shift.total_seconds())

    def due_after(self, t: datetime, category: Category, level: int) -> datetime:
        """The deadline of a clock started at `t` (a time of the drawn year) at `level`."""
        lvl = self.levels[level]
        return self.clock.deadline(t, lvl, category.sla_seconds, category.working_at(lvl))

    def cases(self) -> list[dict]:
        """The case.import items, street by street, oldest first in each."""
        rnd = random.Random(f"{self.seed}:cases:{self.plan.scale}")
        start = (self.now - timedelta(days=self.days)).replace(hour=0, minute=0, second=0)  # a local midnight
        day_w = []
        for k in range(self.days):
            day = start + timedelta(days=k)
            season = 1 + 0.18 * math.cos(2 * math.pi * (day.month - 7) / 12)
            growth = 0.85 + 0.3 * k / self.days
            day_w.append(season * growth * WEEKDAY_WEIGHTS[day.weekday()])
        day_w = list(accumulate(day_w))
        codes = list(CATEGORY_WEIGHTS)
        month_w = {
            m: list(
                accumulate(
                    CATEGORY_WEIGHTS[c][0]
                    * (1 + CATEGORY_WEIGHTS[c][2] * math.cos(2 * math.pi * (m - CATEGORY_WEIGHTS[c][1]) / 12))
                    for c in codes
                )
            )
            for m in range(1, 13)
        }
        grids, gw = self.plan.grids, list(accumulate(g.weight for g in self.plan.grids))
        days, hours, hour_w = range(self.days), range(24), list(accumulate(HOUR_WEIGHTS))
        # Hotspots: a few grid × category pairs with a surge in the last ten days, near one spot.
        spots = []
        for _ in range(self.clusters):
            g = rnd.choices(grids, cum_weights=gw)[0]
            code = rnd.choice(
                (
                    "ENV_GARBAGE",
                    "ENV_NOISE",
                    "SAFETY_EBIKE_CHARGING",
                    "FACILITY_STREETLIGHT",
                    "PROPERTY_FACILITY",
                    "ENV_SEWAGE",
                )
            )
            spots.append((g, code, self.point(rnd, g, 0.3)))
        drafts: list[tuple[datetime, Grid, str, tuple[float, float] | None]] = []
        for i in range(self.count):
            if spots and i < len(spots) * self.cluster_size:
                g, code, (x, y) = spots[i % len(spots)]
                t = self.now - timedelta(seconds=rnd.randint(60, 10 * 86400))
                drafts.append((t, g, code, (round(x + rnd.gauss(0, 0.0003), 6), round(y + rnd.gauss(0, 0.0003), 6))))
                continue
            k = rnd.choices(days, cum_weights=day_w)[0]
            t = start + timedelta(
                days=k,
                hours=rnd.choices(hours, cum_weights=hour_w)[0],
                minutes=rnd.randint(0, 59),
                seconds=rnd.randint(0, 59),
            )
            t = min(t, self.now - timedelta(minutes=1))
            drafts.append(
                (t, rnd.choices(grids, cum_weights=gw)[0], rnd.choices(codes, cum_weights=month_w[t.month])[0], None)
            )
        drafts.sort(key=lambda x: (x[0], x[1].id, x[2]))
        items = [self.case(rnd, n, *draft) for n, draft in enumerate(drafts)]
        # Street by street, oldest first in each: a batch of 500 is then about a month of one
        # street, so it adds to the rollups, day buckets and hotspot cells of few regions and
        # days (each an upsert in the store), and a (region, day) is rarely in two batches.
        street = {g.id: g.path[2] for g in grids}
        return sorted(items, key=lambda c: (street[c["regionId"]], c["reportedAt"]))

    @staticmethod
    def point(rnd: random.Random, g: Grid, margin: float = 0.05) -> tuple[float, float]:
        x0, y0, x1, y1 = g.box
        return (
            round(rnd.uniform(x0 + (x1 - x0) * margin, x1 - (x1 - x0) * margin), 6),
            round(rnd.uniform(y0 + (y1 - y0) * margin, y1 - (y1 - y0) * margin), 6),
        )

    def case(
        self, rnd: random.Random, n: int, t0: datetime, g: Grid, code: str, spot: tuple[float, float] | None
    ) -> dict:
        category = self.categories[code]
        channel = rnd.choices(CHANNEL_NAMES, cum_weights=CHANNEL_CUM)[0]
        # building: a matter of one building names it (its category is settled there: 小事不出楼栋)
        b = rnd.randrange(len(g.buildings)) if g.buildings else None
        building = g.buildings[b] if b is not None and category.default_level is HandlingLevel.BUILDING else None
        title = rnd.choice(TITLES[code]).format(b=g.building_names[b] if b is not None else "1栋")
        sub: str | None
        if channel == "GRID_PATROL":
            name, tel, sub = g.worker_name, g.worker_phone, g.worker_sub
        else:
            name, tel = person(rnd), phone("1880", rnd.randint(0, 99_999_999))
            sub = (
                f"{self.plan.prefix}-res-{rnd.randint(0, 20 * len(self.plan.grids)):06d}"
                if channel == "MINI_PROGRAM"
                else None
            )
        loc = spot or (self.point(rnd, g) if channel in ("MINI_PROGRAM", "GRID_PATROL") or rnd.random() < 0.4 else None)
        item: dict[str, Any] = {
            "id": history_id(t0 + self.shift, f"seed:{self.plan.scale}:{n}"),
            "title": title,
            "description": f"{g.community_name}{title}，{rnd.choice(URGINGS)}",
            "categoryCode": code,
            "channel": channel,
            "reporterName": name,
            "reporterPhone": tel,
            "reporterSub": sub,
            "regionId": g.id,
            "reportedAt": self.iso(t0),
            **({"lng": loc[0], "lat": loc[1]} if loc else {}),
            **({"buildingId": building} if building else {}),
            "steps": self.steps(rnd, t0, g, category, channel, sub, building),
        }
        return item

    def steps(
        self,
        rnd: random.Random,
        t0: datetime,
        g: Grid,
        category: Category,
        channel: str,
        sub: str | None,
        building: str | None = None,
    ) -> list[dict]:
        """The case's later steps, planned against a mirror of its state. Before any step,
        the SLA sweeper's escalations that would have happened by then are recorded
        (`sweep` at the deadline), so nothing is left for the live sweeper to catch up on."""
        now = self.now
        level0 = level_of(start_level(category, building))
        m = Mirror(status="REPORTED", level=level0, due=self.due_after(t0, category, level0))
        age_days = (now - t0).total_seconds() / 86400
        reject = rnd.random() < (0.05 if channel in ("HOTLINE", "WALK_IN") else 0.02)
        # building: about a fifth of the building's matters go up to the grid (by hand or by the clock)
        escalations = rnd.choices((0, 1, 2), (78, 18, 4) if level0 == BUILDING_L else (90, 8, 2))[0]
        slow = rnd.random() < 0.06
        on_spot = (channel == "GRID_PATROL" and level0 == GRID_L and rnd.random() < 0.6) or (
            level0 == BUILDING_L and rnd.random() < 0.45  # 楼栋长 settles it there and then (当场调解)
        )
        will_rate = sub is not None and channel == "MINI_PROGRAM" and rnd.random() < 0.8
        stuck_at = (
            rnd.choice(("REPORTED", "ACCEPTED", "ASSIGNED", "IN_PROGRESS"))
            if rnd.random() < 0.4 * max(0.0, 1 - age_days / 14)
            else None
        )
        stuck = False
        out: list[dict] = []
        t = t0

        def frac(a: float, b: float) -> timedelta:
            """A share of the time a clock started now would have at the case's level."""
            return (self.due_after(t, category, m.level) - t) * rnd.uniform(a, b)

        def staff(level: int) -> str:
            if level == BUILDING_L and building:
                return building_leader_sub(building)
            return g.worker_sub if level <= GRID_L else f"op-{g.path[-1 - (level - GRID_L)]}"

        def assignee(level: int) -> dict:
            dept = category.department or "URBAN_MGMT"
            if level == BUILDING_L and building:
                return {"kind": "BUILDING_LEADER", "id": building_leader_sub(building), "name": "楼栋长"}
            if level <= GRID_L:
                return {"kind": "GRID_WORKER", "id": g.worker_sub, "name": g.worker_name}
            if level == OFFICE_L and rnd.random() < 0.65:
                return {"kind": "COMMUNITY", "id": g.community, "name": g.community_name}
            return {"kind": "DEPARTMENT", "id": dept, "name": DEPARTMENTS.get(dept, dept)}

        current: dict | None = None
        for _ in range(40):
            if m.status in ("CLOSED", "REJECTED"):
                break
            stuck = stuck or (stuck_at is not None and m.status == stuck_at)
            step: dict[str, Any]
            if m.status == "REPORTED":
                if reject:
                    step = {
                        "action": "reject",
                        "actor": staff(m.level),
                        "reason": rnd.choice(("不属于受理范围", "重复诉求", "诉求信息不全，无法核实")),
                    }
                else:
                    step = {"action": "accept", "actor": staff(m.level)}
                delay = timedelta(minutes=rnd.randint(1, 15)) if channel == "GRID_PATROL" else frac(0.005, 0.06)
            elif m.status == "ACCEPTED":
                if escalations and m.level < TOP_L:
                    step = {
                        "action": "escalate",
                        "actor": staff(m.level),
                        "reason": rnd.choice(("需要上级协调处理", "涉及多个部门", "超出网格处置能力")),
                    }
                    delay = frac(0.02, 0.2)
                elif on_spot and m.level == level0 and m.level <= GRID_L:
                    by = "楼栋长当场调解" if m.level == BUILDING_L else "网格员当场处置"
                    step = {"action": "resolve", "resolution": by, "actor": staff(m.level)}
                    delay = timedelta(minutes=rnd.randint(10, 90))
                else:
                    current = assignee(m.level)
                    step = {"action": "assign", "assignee": current, "actor": staff(max(m.level, OFFICE_L))}
                    delay = frac(0.005, 0.08)
            elif m.status == "ASSIGNED":
                step, delay = {"action": "start", "actor": self.handler(current, g)}, frac(0.01, 0.12)
            elif m.status == "IN_PROGRESS":
                step = {"action": "resolve", "resolution": rnd.choice(RESOLUTIONS), "actor": self.handler(current, g)}
                left = (m.due - t) if m.due else frac(0.2, 0.5)
                if slow:
                    slow, delay = False, left + timedelta(hours=rnd.uniform(2, 30))
                else:
                    delay = max(timedelta(minutes=20), left * rnd.uniform(0.1, 0.8))
            else:  # RESOLVED
                if fu := seed_followup.after_resolution(rnd, m, sub is not None, staff(max(m.level, OFFICE_L))):
                    step, delay = fu
                elif will_rate:
                    score = rnd.choices(SCORE_VALUES, cum_weights=SCORE_CUM)[0]
                    if m.reopened:
                        score = max(score, 3)
                    step = {
                        "action": "rate",
                        "score": score,
                        "actor": sub,
                        **({"comment": rnd.choice(PRAISES)} if score >= 4 else {}),
                        **({"comment": "问题没有解决"} if score <= 2 else {}),
                    }
                    delay = timedelta(hours=rnd.uniform(0.5, 60))
                else:
                    step = {
                        "action": "close",
                        "note": rnd.choice(("电话回访，群众满意", "核查办结", "回访确认已解决")),
                        "actor": staff(max(m.level, OFFICE_L)),
                    }
                    delay = timedelta(hours=rnd.uniform(4, 96))
            at = t + timedelta(seconds=int(delay.total_seconds())) if not stuck else None
            horizon = min(at, now) if at else now
            # What the live system would have done by itself before that step.
            if m.open and m.due is not None and m.due <= horizon and not (m.level == TOP_L and m.overdue):
                out.append({"action": "sweep", "at": self.iso(m.due)})
                t = m.due
                m.sweeps += 1
                if m.level < TOP_L:
                    m.level, m.status, m.due, m.overdue = (
                        m.level + 1,
                        "ACCEPTED",
                        self.due_after(m.due, category, m.level + 1),
                        False,
                    )
                    current = None
                else:
                    m.overdue = True
                continue
            ready = m.rating_from if not m.verification_due else None  # auto-close waits for 核查
            closes_at = ready + timedelta(seconds=self.auto_close_s) if ready else None
            if m.status == "RESOLVED" and closes_at is not None and closes_at <= horizon:
                t = closes_at
                out.append({"action": "close", "at": self.iso(t), "actor": "system:cases", "note": "评价超时自动结案"})
                m.status = "CLOSED"
                continue
            if at is None or at > now:
                break
            t = at
            out.append({**step, "at": self.iso(t)})
            self.advance(m, step, t, category)
            seed_followup.follow(m, step, t, current, sub is not None, lambda t0: self.due_after(t0, category, m.level))
            extra = seed_followup.extra_after(rnd, step, category.code, staff(max(m.level, OFFICE_L)), t)
            if extra and t + seed_followup.EXTRA_AFTER < min(now, m.due or now):
                t += seed_followup.EXTRA_AFTER
                out.append({**extra, "at": self.iso(t)})
            if step["action"] == "escalate":
                escalations -= 1
        self.count_case(m, channel)
        return out

    @staticmethod
    def handler(assignee: dict | None, g: Grid) -> str:
        if assignee is None or assignee["kind"] == "GRID_WORKER":
            return g.worker_sub
        if assignee["kind"] == "BUILDING_LEADER":
            return str(assignee["id"])
        return f"op-{assignee['id']}" if assignee["kind"] == "COMMUNITY" else f"dept-{assignee['id']}"

    def advance(self, m: Mirror, step: dict, t: datetime, category: Category) -> None:
        """The mirror after one step (the domain's rules, as far as the plan needs them)."""
        a = step["action"]
        if a == "accept":
            m.status, m.due = "ACCEPTED", self.due_after(t, category, m.level)
        elif a == "reject":
            m.status, m.due = "REJECTED", None
        elif a == "assign":
            m.status = "ASSIGNED"
        elif a == "start":
            m.status = "IN_PROGRESS"
        elif a == "escalate":
            m.level += 1
            m.status, m.due, m.overdue = "ACCEPTED", self.due_after(t, category, m.level), False
            self.stats.escalated += 1
        elif a == "resolve":
            m.resolved_on_time = m.sweeps == 0 and (m.due is None or t <= m.due)
            m.status, m.due, m.resolved_at, m.resolved_level = "RESOLVED", None, t, m.level
        elif a == "rate":
            if step["score"] <= 2 and not m.reopened:
                m.status, m.reopened, m.due = "ACCEPTED", True, self.due_after(t, category, m.level)
            else:
                m.status, m.rated = "CLOSED", step["score"]
        elif a == "close":
            m.status = "CLOSED"

    def count_case(self, m: Mirror, channel: str) -> None:
        st = self.stats
        st.cases += 1
        st.by_status[m.status] = st.by_status.get(m.status, 0) + 1
        st.by_channel[channel] = st.by_channel.get(channel, 0) + 1
        if m.resolved_level is not None:
            st.resolved_by_level[m.resolved_level] = st.resolved_by_level.get(m.resolved_level, 0) + 1
            st.late += int(not m.resolved_on_time)
        st.swept += int(m.sweeps > 0)
        if m.rated is not None:
            st.rated[m.rated] = st.rated.get(m.rated, 0) + 1


SMALL_CASES, CITY_CASES = 2000, 100_000


def history_for(
    plan: Plan,
    now: datetime,
    sla: dict[HandlingLevel, int] | Clock | None = None,
    auto_close_s: int = DEFAULT_AUTO_CLOSE_S,
    count: int | None = None,
) -> CaseHistory:
    if plan.scale == "city":
        return CaseHistory(
            plan, count or CITY_CASES, now, CITY_SEED, sla=sla, auto_close_s=auto_close_s, clusters=15, cluster_size=120
        )
    return CaseHistory(
        plan, count or SMALL_CASES, now, 7, sla=sla, auto_close_s=auto_close_s, clusters=4, cluster_size=30
    )


# ---- loading -----------------------------------------------------------------------------
# A call that cannot be tried again (it is not idempotent) waits this long for its answer: on a
# busy machine a service may take far longer than the usual request timeout, and giving up
# would stop the whole load (measured: `order.review` timed out at a load average of 14).
PATIENT_S = 300.0


def batches(items: list, size: int) -> Iterable[tuple[int, list]]:
    for i in range(0, len(items), size):
        yield i // size, items[i : i + size]


class Loader:
    """Calls the services for the seeder, a few at a time per service, and reports each phase.

    A few: a service handles its requests concurrently, and every create adds to the rollups
    of the same ancestors (the city's, the county's), so beyond a handful in flight the
    transactions mostly conflict and run again. Measured on 1,201 region.create: 16 at a time
    took 70 s and 32 s of store CPU; 8: 26–38 s, 20–30 s; 4: 20–32 s, 14–18 s; 2: 18–22 s,
    12–14 s."""

    def __init__(self, rpc: Any, token: str, progress: Progress, concurrency: int = 3):
        self.rpc, self.token, self.progress = rpc, token, progress
        self.concurrency = concurrency
        self.sems: dict[str, asyncio.Semaphore] = {}

    def say(self, message: str) -> None:
        self.progress.say(message)

    async def call(
        self,
        service: str,
        verb: str,
        payload: dict,
        token: str | None = None,
        retries: int = 5,
        timeout_s: float | None = None,
    ) -> Any:
        """One call; an idempotent one (a create with an idempotency key, an import) is tried
        again when the service did not answer in time or failed inside (a write conflict the
        store did not label as transient), waiting longer each time (1, 2, 4, 8, 15 s): on a
        busy machine a service can stay slower than the call's timeout for a while (a burst of
        territory events its replica follows, a test suite beside it) without the seed failing."""
        sem = self.sems.setdefault(service, asyncio.Semaphore(self.concurrency))
        async with sem:
            for attempt in range(retries + 1):
                try:
                    return await self.rpc.call(service, verb, payload, token or self.token, timeout_s=timeout_s)
                except (Unavailable, InternalError):
                    if attempt == retries:
                        raise
                    await asyncio.sleep(min(2**attempt, 15))

    async def all(self, service: str, verb: str, payloads: Iterable[dict], tick: Tick = no_tick, **kw: Any) -> list:
        async def one(p: dict) -> Any:
            out = await self.call(service, verb, p, **kw)
            tick(1)
            return out

        return await asyncio.gather(*(one(p) for p in payloads))

    async def phase(self, name: str, total: int, what: str, work: Callable[[Tick], Awaitable[object]]) -> None:
        """Run one part of the load, `total` of `what`, with its progress said."""
        with self.progress.part(name, total, what) as part:
            await work(part.add)

    async def replica_ready(self, service: str, region_id: str, timeout: float = 180) -> None:
        """Until the service's territory replica knows `region_id` (it follows grids events)."""

        async def call(verb: str, payload: dict) -> Any:
            return await self.call(service, verb, payload)

        await replica_ready(call, service, region_id, timeout)


TERRITORY_BATCH = 500  # region.import's most


async def load_territory(loader: Loader, levels: list[list[dict]], prefix: str = "city", tick: Tick = no_tick) -> None:
    """`region.import` in batches, level by level (parents before their children), one at a time:
    every batch adds to the same ancestors' rollups. A batch's import id names its first region,
    so loading the same levels again imports nothing twice."""
    regions = [r for level in levels for r in level]
    for _, batch in batches(regions, TERRITORY_BATCH):
        body = {"importId": f"{prefix}-regions:{batch[0]['id']}:{len(batch)}", "regions": batch}
        await loader.call("grids", "region.import", body, timeout_s=120)
        tick(len(batch))


ORG_BATCH = 500  # org.import's most


def org_id(key: str) -> str:
    """A seeded organisation's id, from its key: loading again finds the same organisations."""
    return keyed_id("po", f"seed-org:{key}")


async def load_orgs(loader: Loader, levels: list[list[dict]], ids: dict[str, str], tick: Tick = no_tick) -> None:
    """`org.import` in batches, level by level (parents first), one at a time; `ids` maps each
    org's key to its id. A batch's import id names its first organisation, so loading the same
    levels again imports nothing twice."""
    orgs = [o for level in levels for o in level]
    for o in orgs:
        ids[o["key"]] = org_id(o["key"])
    for _, batch in batches(orgs, ORG_BATCH):
        items = [
            {
                **{k: v for k, v in o.items() if k not in ("key", "parentKey")},
                "id": ids[o["key"]],
                "parentId": ids[o["parentKey"]] if o["parentKey"] else None,
            }
            for o in batch
        ]
        body = {"importId": f"seed-orgs:{items[0]['id']}:{len(items)}", "organizations": items}
        await loader.call("organizations", "org.import", body, timeout_s=120)
        tick(len(batch))


async def load_members(
    loader: Loader,
    members: list[dict],
    ids: dict[str, str],
    prefix: str,
    size: int = 500,
    parallel: int = 1,
    tick: Tick = no_tick,
) -> None:
    """member.import in batches, one at a time: the service holds a batch back while its
    event relay catches up, so sending more at once gains nothing."""
    sem = asyncio.Semaphore(parallel)

    async def one(n: int, batch: list[dict]) -> None:
        items = [
            {**{k: v for k, v in m.items() if k != "organizationKey"}, "organizationId": ids[m["organizationKey"]]}
            for m in batch
        ]
        async with sem:
            await loader.call(
                "organizations",
                "member.import",
                {"importId": f"{prefix}-members-{n:04d}", "members": items},
                timeout_s=60,
            )
        tick(len(batch))

    await asyncio.gather(*(one(n, b) for n, b in batches(members, size)))


def meeting_time(day: date, zone: ZoneInfo) -> str:
    """A joint meeting's time: 09:00 of `day` where the city is."""
    return datetime.combine(day, MEETING_AT, zone).isoformat()


async def load_committees(
    loader: Loader, plan: Plan, party: PartyPlan, ids: dict[str, str], today: date, zone: ZoneInfo, tick: Tick = no_tick
) -> None:
    async def committee(ci: int, c: dict) -> None:
        committee_id = ids[c["community"]]
        for u in c["units"]:
            unit = await loader.call("organizations", "unit.register", u)
            body = {"id": committee_id, "unitId": unit["id"]}
            await loader.call("organizations", "org.addUnit", body, retries=0, timeout_s=PATIENT_S)
            tick(1)
        await loader.call(
            "organizations",
            "meeting.schedule",
            {
                "committeeId": committee_id,
                "scheduledAt": meeting_time(today + timedelta(days=c["meetingInDays"]), zone),
                "idempotencyKey": f"{plan.prefix}-meeting:{ci}",
            },
        )

    await asyncio.gather(*(committee(ci, c) for ci, c in enumerate(party.committees)))


async def load_volunteers(loader: Loader, vp: VolunteerPlan, tick: Tick = no_tick) -> None:
    for code, name, cost, stock in REWARDS:
        await loader.call("volunteers", "catalogue.upsert", {"code": code, "name": name, "cost": cost, "stock": stock})
    made = await loader.all("volunteers", "volunteer.register", vp.volunteers, tick)
    vp.volunteers = [{**v, "id": m["id"]} for v, m in zip(vp.volunteers, made, strict=True)]
    await loader.all("volunteers", "post.create", vp.posts, tick, retries=0, timeout_s=PATIENT_S)


async def load_orders(loader: Loader, vp: VolunteerPlan, settings: Settings, tick: Tick = no_tick) -> None:
    from shared.identity import settings_token

    async def order(o: dict) -> None:
        resident = settings_token(settings, sub=o["resident"], role="resident", ttl_s=3600)
        placed = await loader.call("volunteers", "order.place", o["place"], token=resident)

        async def step(verb: str, body: dict, tok: str | None = None) -> Any:
            return await loader.call(
                "volunteers", verb, {"id": placed["id"], **body}, token=tok, retries=0, timeout_s=PATIENT_S
            )

        await step("order.review", {"approve": True})
        if o["stage"] != "OPEN" and o["volunteer"] is not None:
            vid = vp.volunteers[o["volunteer"]]["id"]
            await step("order.take", {"volunteerId": vid})
            await step("order.start", {})
            if o["stage"] == "RATED":
                await step("order.complete", {"hours": o["hours"]})
                await step("order.rate", {"score": o["score"]}, resident)
        tick(1)

    await asyncio.gather(*(order(o) for o in vp.orders))


async def load_cases(
    loader: Loader,
    items: list[dict],
    prefix: str,
    size: int = 500,
    parallel: int = 2,
    tick: Tick = no_tick,
    shift_s: int = 0,
) -> None:
    """`shift_s`: the history's `CaseHistory.shift_s` (its deadlines move with it)."""
    sem = asyncio.Semaphore(parallel)

    async def one(n: int, batch: list[dict]) -> None:
        async with sem:
            body = {"importId": f"{prefix}-cases-{n:04d}", "cases": batch, "calendarShiftS": shift_s}
            await loader.call("cases", "case.import", body, timeout_s=60)
        tick(len(batch))

    await asyncio.gather(*(one(n, b) for n, b in batches(items, size)))


def describe_history(h: CaseHistory) -> str:
    st = h.stats
    resolved = sum(st.resolved_by_level.values()) or 1
    low = sum(st.resolved_by_level.get(level_of(lvl), 0) for lvl in FENGQIAO_LEVELS)
    at_building = st.resolved_by_level.get(BUILDING_L, 0)
    rated = sum(st.rated.values()) or 1
    return (
        f"{st.cases} cases over {h.days} days: {st.by_status.get('CLOSED', 0)} closed, "
        f"{sum(st.by_status.get(s, 0) for s in ('REPORTED', 'ACCEPTED', 'ASSIGNED', 'IN_PROGRESS'))} open, "
        f"{st.by_status.get('RESOLVED', 0)} awaiting rating, {st.by_status.get('REJECTED', 0)} rejected; "
        f"{100 * low / resolved:.0f}% resolved at BUILDING/GRID/COMMUNITY ({100 * at_building / resolved:.0f}% "
        f"in the building), {st.escalated} escalated by hand, "
        f"{st.swept} escalated by the SLA sweeper, "
        f"{100 * (st.rated.get(4, 0) + st.rated.get(5, 0)) / rated:.0f}% of ratings 4-5"
    )


@dataclass
class Seeded:
    loaded: bool  # False: the database already held a territory, so nothing was loaded
    summary: str


async def seed(
    settings: Any,
    scale: str = "small",
    say: Say = print,
    cases: int | None = None,
    every_s: float = 15.0,
    note: str = "",
) -> Seeded:
    """Load the demo data of `scale` into a running stack (an empty one), saying what it is
    loading (with `note`) and how far along it is (a line every `every_s` seconds at most)."""
    import nats

    from shared.auth import service_token
    from shared.messaging.rpc import RpcClient

    if scale not in SCALES:
        raise ValueError(f"scale is one of {', '.join(SCALES)}")
    started = time.monotonic()
    now = datetime.now(UTC).replace(microsecond=0)
    nc = await nats.connect(settings.nats_servers, name=f"yiwang-seed-{scale}")
    try:
        rpc = RpcClient(nc, timeout_s=30)
        token = service_token(settings.jwt_secret, "seed", settings.jwt_issuer)
        existing = await rpc.call("grids", "region.list", {"level": "CITY", "first": 1}, token)
        if existing["totalCount"]:
            held = ", ".join(f"{r['name']} ({r['id']})" for r in existing["items"])
            return Seeded(False, f"the database already holds a territory ({held}); nothing loaded")
        sla = sla_of(settings, await service_calendar(rpc, token))  # the deadlines the cases service sets
        history_args = {"sla": sla, "auto_close_s": settings.auto_close_s, "count": cases}
        say(f"seed: loading {DESCRIPTIONS[scale]}{note}")
        async with Progress(say, every_s) as progress:
            loader = Loader(rpc, token, progress)
            if scale == "small":
                from ops.cli.demo import load_demo

                summary = await load_demo(settings, now, progress)
                plan = small_plan()
                history = history_for(plan, now, **history_args)
                items = history.cases()

                async def import_cases(tick: Tick) -> None:
                    await loader.replica_ready("cases", plan.grids[-1].id)
                    await loader.replica_ready("cases", plan.by_level("BUILDING")[-1]["id"])  # building: named too
                    await load_departments(loader, plan, items, "demo")  # directory, dispatches
                    await load_cases(loader, items, "demo", tick=tick, shift_s=history.shift_s)

                await loader.phase("case history", len(items), "cases", import_cases)
                from ops.cli.seed_evidence import load_photos  # evidence: a few synthetic case photos

                await load_photos(settings, loader)
                from ops.cli.seed_households import seed_households  # households: every building's

                households = await seed_households(loader, plan, now.date())
                households += "; " + await seed_links(loader, "demo")  # links: 包联 cadres, 党员联户
                households += "; " + await seed_visits(loader, plan, now.date(), ZoneInfo(settings.timezone))  # visits
                households += "; " + await seed_proposals(loader, "demo", settings)
                households += "; " + await seed_points(loader, settings)
                households += "; " + await seed_weak(loader, "demo")
                households += "; " + await seed_committees(loader)
                households += "; " + await seed_funds(  # funds and service lists
                    loader, "demo", settings, now.date()
                )
                return Seeded(
                    True,
                    f"loaded {summary}; {describe_history(history)}; {households} "
                    f"(in {time.monotonic() - started:.0f}s)",
                )
            return Seeded(True, await seed_city(settings, loader, now, history_args, started))
    finally:
        await nc.close()


async def service_calendar(rpc: Any, token: str) -> WorkCalendar:
    """The work calendar of the cases service for the years around the reference year, in which
    the history is drawn (its deadlines are those the service sets for the same steps)."""
    years, info = {}, {}
    for year in range(REFERENCE_NOW.year - 1, REFERENCE_NOW.year + 2):
        info = await rpc.call("cases", "calendar.get", {"year": year}, token)
        if info["source"] != str(WorkCalendarSource.WEEKENDS_ONLY):
            years[year] = YearArrangement(
                year,
                frozenset(date.fromisoformat(x) for x in info["holidays"]),
                frozenset(date.fromisoformat(x) for x in info["workdays"]),
                WorkCalendarSource(info["source"]),
                info.get("note", ""),
            )
    return WorkCalendar(years, OfficeHours.parse(info["officeHours"]), info["timezone"])


async def seed_city(settings: Any, loader: Loader, now: datetime, history_args: dict, started: float) -> str:
    zone = ZoneInfo(settings.timezone)
    say, today = loader.say, now.astimezone(zone).date()
    t = time.monotonic()
    plan = city_plan()
    party = city_party(plan, today)
    vp = city_volunteers(plan)
    say(f"seed: planned the city in {time.monotonic() - t:.1f}s")
    history = history_for(plan, now, **history_args)
    drafting = asyncio.create_task(asyncio.to_thread(history.cases))  # while the territory loads
    # The store (one process) is the limit: the order is about keeping it busy. Down to the
    # grids first; then the case import (the longest part, and it needs no buildings) goes
    # side by side with the one-by-one creates, which leave the store idle between calls.
    # The members wait for the buildings (their homes). Measured: starting the case import
    # only after the buildings, so that it overlaps the member import instead, took 13 min
    # rather than 11: two bulk imports at once starve the member events' relay.
    upper = plan.levels[:5]
    await loader.phase(
        "territory down to the grids",
        sum(map(len, upper)),
        "regions",
        lambda tick: load_territory(loader, upper, tick=tick),
    )
    last_grid, last_building = plan.grids[-1].id, plan.levels[5][-1]["id"]
    built = asyncio.Event()
    households = ""

    async def territory_rest() -> None:
        await loader.phase(
            "buildings",
            len(plan.levels[5]),
            "buildings",
            lambda tick: load_territory(loader, plan.levels[5:], tick=tick),
        )
        built.set()
        await loader.phase(
            "grid workers",
            len(plan.workers),
            "workers",
            lambda tick: loader.all("grids", "worker.register", plan.workers, tick),
        )
        from ops.cli.seed_households import seed_households  # households: every building's

        nonlocal households
        households = await seed_households(loader, plan, today)

    async def cases_part() -> None:
        async def work(tick: Tick) -> None:
            items = await drafting
            await loader.replica_ready("cases", last_grid)
            await built.wait()  # building: the history names the buildings of its small matters
            await loader.replica_ready("cases", last_building)
            await load_departments(loader, plan, items, "city")  # directory, dispatches
            await load_cases(loader, items, "city", tick=tick, shift_s=history.shift_s)

        await loader.phase("case history", history.count, "cases", work)

    async def party_part() -> None:
        ids: dict[str, str] = {}
        await loader.replica_ready("organizations", last_grid)
        await loader.phase(
            "党工委, 大党委 and grid branches",
            sum(map(len, party.orgs[:3])),
            "organisations",
            lambda tick: load_orgs(loader, party.orgs[:3], ids, tick),
        )
        await built.wait()
        await loader.replica_ready("organizations", last_building)
        await loader.phase(
            "building groups",
            sum(map(len, party.orgs[3:])),
            "groups",
            lambda tick: load_orgs(loader, party.orgs[3:], ids, tick),
        )
        await loader.phase(
            "party members",
            len(party.members),
            "members",
            lambda tick: load_members(loader, party.members, ids, "city", tick=tick),
        )
        await loader.phase(
            "党员中心户",
            len(party.households),
            "households",
            lambda tick: load_orgs(loader, [party.households], ids, tick),
        )
        await loader.phase(
            "co-building units and joint meetings",
            sum(len(c["units"]) for c in party.committees),
            "units",
            lambda tick: load_committees(loader, plan, party, ids, today, zone, tick),
        )

    async def volunteers_part() -> None:
        await loader.replica_ready("volunteers", last_grid)
        await loader.phase(
            "volunteers and posts",
            len(vp.volunteers) + len(vp.posts),
            "volunteers and posts",
            lambda tick: load_volunteers(loader, vp, tick),
        )
        await built.wait()
        await loader.replica_ready("volunteers", last_building)
        await loader.phase(
            "service orders",
            len(vp.orders),
            "orders",
            lambda tick: load_orders(loader, vp, settings, tick),
        )

    await asyncio.gather(territory_rest(), cases_part(), party_part(), volunteers_part())
    households += "; " + await seed_links(loader, "city")  # links: 包联 cadres, 党员联户
    households += "; " + await seed_visits(loader, plan, today, zone)  # visits: a year of 走访
    households += "; " + await seed_proposals(loader, "city", settings)
    households += "; " + await seed_funds(loader, "city", settings, today)  # funds
    orgs = sum(len(level) for level in party.orgs) + len(party.households)
    return (
        f"loaded 青川市 with {len(plan.levels[1])} districts and counties, {len(plan.levels[2])} streets, "
        f"{len(plan.levels[3])} communities, {len(plan.levels[4])} grids, {len(plan.levels[5])} buildings, "
        f"{len(plan.workers)} grid workers; {orgs} party organisations, {len(party.members)} members, "
        f"{sum(len(c['units']) for c in party.committees)} co-building units, {len(party.committees)} joint "
        f"meetings; {len(vp.volunteers)} volunteers, {len(vp.posts)} posts, {len(vp.orders)} service orders; "
        f"{households}; {describe_history(history)} (in {time.monotonic() - started:.0f}s)"
    )
