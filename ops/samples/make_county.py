"""Writes the sample county of ops/samples/county/: what a county's IT team hands over to go
live, in the shapes they keep it (a GeoJSON of regions, spreadsheets of the rest), for
`yiwang import` (README, "Onboarding a county"). Synthetic and deterministic: the same files
every run (`python -m ops.samples.make_county`); nobody in them is a real person.

青禾市 溪口县: 2 streets, 4 communities, 8 grids, 16 buildings; a grid worker per grid; the
party chain 党工委 → 社区党委 → 网格党支部; 40 members (one of them with a mistyped ID
number, for the dry run to find); 4 co-building units; 12 volunteers; 12 households of one
community (幸福里社区 imports its own: staff above it see households as figures only); 60 cases
of history.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from ops.cli.seed import person
from shared.onboarding.kinds import KINDS
from shared.people import id_check_digit

HERE = Path(__file__).parent / "county"
SEED = 20261207
X0, Y0 = 118.60, 29.10  # synthetic coordinates, far from the demo city's
W, H = 0.08, 0.06  # a street's width and height in degrees
CITY, COUNTY = "339900", "339901"
STREETS = (("001", "城关街道"), ("002", "溪东街道"))
COMMUNITIES = (("001", "幸福里社区"), ("002", "溪口社区"))


def rect(x: float, y: float, w: float, h: float) -> dict:
    a, b, c, d = (round(v, 6) for v in (x, y, x + w, y + h))
    return {"type": "Polygon", "coordinates": [[[a, b], [c, b], [c, d], [a, d], [a, b]]]}


def feature(code: str, name: str, level: str, parent: str | None, geometry: dict) -> dict:
    props = {"区域编码": code, "区域名称": name, "层级": level, "上级编码": parent}
    return {"type": "Feature", "properties": props, "geometry": geometry}


def id_number(rnd: random.Random, born: date, male: bool) -> str:
    order = rnd.randrange(0, 50) * 2 + (1 if male else 0)
    first17 = f"339901{born:%Y%m%d}{rnd.randrange(0, 10)}{order:02d}"
    return first17 + id_check_digit(first17)


def territory() -> tuple[dict, list[str], list[str]]:
    """The regions' GeoJSON, the grids' codes, the communities' codes."""
    feats = [
        feature(CITY, "青禾市", "市", None, rect(X0, Y0, W * 4, H * 2)),
        feature(COUNTY, "溪口县", "县(区)", CITY, rect(X0, Y0, W * 2, H)),
    ]
    grids, communities = [], []
    for si, (s, sname) in enumerate(STREETS):
        street = COUNTY + s
        sx = X0 + si * W
        feats.append(feature(street, sname, "街道(乡镇)", COUNTY, rect(sx, Y0, W, H)))
        for ci, (c, cname) in enumerate(COMMUNITIES):
            community = street + c
            communities.append(community)
            cy = Y0 + ci * H / 2
            name = cname if si == 0 else cname.replace("社区", "新村社区")
            feats.append(feature(community, name, "社区(村)", street, rect(sx, cy, W, H / 2)))
            for gi in range(2):
                grid = f"{community}{gi + 1:02d}"
                grids.append(grid)
                feats.append(
                    feature(grid, f"第{'一二'[gi]}网格", "网格", community, rect(sx + gi * W / 2, cy, W / 2, H / 2))
                )
    return {"type": "FeatureCollection", "features": feats}, grids, communities


def xlsx(kind: str, rows: list[list]) -> bytes:
    from openpyxl import Workbook

    k = KINDS[kind]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = k.title
    ws.append([c.header for c in k.columns])
    for r in rows:
        ws.append(r)
    for col in ws.iter_cols(min_row=1):
        for cell in col:
            if isinstance(cell.value, str):
                cell.number_format = "@"
    out = io.BytesIO()
    wb.save(out)
    # openpyxl stamps the workbook with the time it was written: the same rows give other bytes
    return out.getvalue()


def csv_bytes(kind: str, rows: list[list]) -> bytes:
    out = io.StringIO(newline="")
    w = csv.writer(out)
    w.writerow([c.header for c in KINDS[kind].columns])
    w.writerows(["" if v is None else v for v in r] for r in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def tables() -> dict[str, tuple[str, list[list]]]:
    """Every file of the sample but the regions: name -> (kind, rows)."""
    rnd = random.Random(SEED)
    _, grids, communities = territory()
    buildings = [
        [f"{g}b{b + 1:02d}", f"{b + 1}栋", g, f"溪口县{g[-6:]}号院{b + 1}栋", 6 + b * 5, 24 + b * 12]
        for g in grids
        for b in range(2)
    ]
    workers = [[f"qh.grid{i + 1:02d}", person(rnd), f"1390571{i:04d}", "基础网格员", g] for i, g in enumerate(grids)]
    orgs: list[list] = []
    for s, sname in STREETS:
        street = COUNTY + s
        orgs.append([f"dgw{street}", f"{sname}党工委", "街道党工委", street, None])
    for community in communities:
        orgs.append([f"dw{community}", f"{community[-3:]}社区党委", "社区党委", community, f"dgw{community[:9]}"])
    for g in grids:
        orgs.append([f"zb{g}", f"{g[-5:]}网格党支部", "网格党支部", g, f"dw{g[:12]}"])
    members = []
    for i in range(40):
        g = grids[i % len(grids)]
        male = rnd.random() < 0.5
        born = date(1950, 1, 1) + timedelta(days=rnd.randrange(0, 365 * 45))
        idn = id_number(rnd, born, male)
        if i == 17:  # a mistyped check digit: the dry run reports this row
            idn = idn[:17] + ("0" if idn[17] != "0" else "1")
        joined = min(born + timedelta(days=365 * 20 + rnd.randrange(0, 3650)), date(2025, 6, 30))
        category = "退休党员" if born.year < 1963 else "在职党员"
        members.append([person(rnd), idn, None, None, joined, f"1380571{i:04d}", category, f"zb{g}", f"{g}b01"])
    units = [
        ["溪口县人民医院", "机关事业单位", COUNTY + "001", "周敏", "党办主任", "057188001001"],
        ["溪口县实验小学", "学校", COUNTY + "001001", "吴强", "副校长", "057188001002"],
        ["溪东物业服务有限公司", "物业公司", COUNTY + "002001", "郑丽", "项目经理", "13705710001"],
        ["溪口县供电公司", "企业", COUNTY + "002", "王建国", "党支部书记", "057188001003"],
    ]
    skills = ("医疗", "维修", "法律咨询", "心理疏导", "助老", "文艺")
    volunteers = [
        [
            person(rnd),
            f"1370571{i + 100:04d}",
            grids[i % len(grids)],
            f"qh.vol{i + 1:02d}",
            "、".join(rnd.sample(skills, 2)),
            "周末",
        ]
        for i in range(12)
    ]
    tags = ("独居老人", "低保", "残疾", "退役军人", "留守儿童", "重点关注")
    households: list[list] = []
    n = 0
    for b in buildings[:4]:  # 幸福里社区's: a community imports its own households
        for h in range(3):
            n += 1
            unit, room = "1", f"{h // 2 + 1}0{h % 2 + 1}"
            head_born = date(1940, 1, 1) + timedelta(days=rnd.randrange(0, 365 * 40))
            tag = tags[n % len(tags)] if n % 2 else None
            head = [n, b[0], unit, room, "户主", person(rnd), id_number(rnd, head_born, True), f"1350571{n:04d}"]
            households.append(head + [None, None, tag])
            if tag != "独居老人":
                spouse_born = head_born + timedelta(days=rnd.randrange(0, 1500))
                households.append(
                    [n, b[0], unit, room, "配偶", person(rnd), id_number(rnd, spouse_born, False)] + [None] * 4
                )
    categories = ("ENV_GARBAGE", "FACILITY_STREETLIGHT", "DISPUTE_NEIGHBOR", "PROPERTY_SERVICE", "SAFETY_FIRE_EXIT")
    titles = {
        "ENV_GARBAGE": "垃圾堆放未清运",
        "FACILITY_STREETLIGHT": "路灯不亮",
        "DISPUTE_NEIGHBOR": "邻里噪音纠纷",
        "PROPERTY_SERVICE": "物业维修不及时",
        "SAFETY_FIRE_EXIT": "消防通道被占用",
    }
    channels = ("12345热线", "网格员巡查", "小程序", "来访")
    cases = []
    start = datetime(2026, 1, 5, 8, 0)
    for i in range(60):
        cat = categories[i % len(categories)]
        g = grids[i % len(grids)]
        reported = start + timedelta(days=i * 5, hours=rnd.randrange(0, 9), minutes=rnd.randrange(0, 60))
        resolved = reported + timedelta(hours=rnd.randrange(4, 96)) if i < 55 else None
        visit = ("满意", "满意", "基本满意", "不满意")[i % 4] if resolved and i % 3 == 0 else None
        cases.append(
            [
                f"XK2026{i + 1:05d}",
                titles[cat],
                f"{titles[cat]}，请尽快处理",
                cat,
                channels[i % len(channels)],
                person(rnd),
                f"1360571{i:04d}",
                g,
                f"{g}b0{i % 2 + 1}",
                None,
                None,
                reported.strftime("%Y-%m-%d %H:%M"),
                resolved.strftime("%Y-%m-%d %H:%M") if resolved else None,
                "已处理完毕" if resolved else None,
                visit,
            ]
        )
    return {
        "buildings.xlsx": ("buildings", buildings),
        "grid-workers.csv": ("grid-workers", workers),
        "organizations.xlsx": ("organizations", orgs),
        "members.xlsx": ("members", members),
        "units.csv": ("units", units),
        "volunteers.xlsx": ("volunteers", volunteers),
        "households.xlsx": ("households", households),
        "cases.xlsx": ("cases", cases),
    }


ORDER = ("regions.geojson",) + tuple(tables())


def main() -> None:
    HERE.mkdir(exist_ok=True)
    regions, _, _ = territory()
    (HERE / "regions.geojson").write_text(json.dumps(regions, ensure_ascii=False, indent=1) + "\n")
    for name, (kind, rows) in tables().items():
        data = xlsx(kind, rows) if name.endswith(".xlsx") else csv_bytes(kind, rows)
        (HERE / name).write_bytes(data)
    print(f"wrote {', '.join(ORDER)} in {HERE}")


if __name__ == "__main__":
    main()
