"""What each kind of onboarding file holds (its Chinese columns) and what a row asks of the
services. Pure: a row's cells in, the calls it makes (or its errors, by column) out.

A region's, a building's and a party organisation's `编码` becomes its id (lower case), so the
rows of later files name them by the code the city already uses, and a row already imported is
found by its id. The other kinds have ids of the platform's; a row's call carries an idempotency
key made from what names the row in the city (an ID number, a phone, a household's building and
number…), keyed with the platform's secret so that no personal data is stored in the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from shared.errors import BadInput
from shared.ids import is_subject_safe
from shared.onboarding.tables import BOUNDARY, GEO, TABLES, Row, as_date
from shared.people import check_id_number, check_person_name, check_phone, id_facts
from shared.vocabulary.cases import CHANNEL_NAMES
from shared.vocabulary.territory import WORKER_ROLE_NAMES

LEVELS = {"市": "CITY", "县": "COUNTY", "区": "COUNTY", "县(区)": "COUNTY", "县区": "COUNTY", "街道": "TOWNSHIP"}
LEVELS |= {"乡镇": "TOWNSHIP", "街道(乡镇)": "TOWNSHIP", "镇": "TOWNSHIP", "乡": "TOWNSHIP", "社区": "COMMUNITY"}
LEVELS |= {"村": "COMMUNITY", "社区(村)": "COMMUNITY", "网格": "GRID"}
LEVEL_ORDER = ("CITY", "COUNTY", "TOWNSHIP", "COMMUNITY", "GRID", "BUILDING")
WORKER_ROLES = {name: str(role) for role, name in WORKER_ROLE_NAMES.items()} | {"专职网格员": "BASIC"}
ORG_TYPES = {
    "街道党工委": "TOWNSHIP_WORKING_COMMITTEE",
    "党工委": "TOWNSHIP_WORKING_COMMITTEE",
    "社区党委": "COMMUNITY_COMMITTEE",
    "大党委": "COMMUNITY_COMMITTEE",
    "社区党总支": "COMMUNITY_COMMITTEE",
    "网格党支部": "GRID_BRANCH",
    "楼栋党小组": "BUILDING_GROUP",
}
ORG_ORDER = ("TOWNSHIP_WORKING_COMMITTEE", "COMMUNITY_COMMITTEE", "GRID_BRANCH", "BUILDING_GROUP")
GENDERS = {"男": "MALE", "女": "FEMALE"}
MEMBER_CATEGORIES = {"在职党员": "IN_SERVICE", "在职": "IN_SERVICE", "退休党员": "RETIRED", "退休": "RETIRED"}
MEMBER_CATEGORIES |= {"流动党员": "FLOATING", "流动": "FLOATING", "其他": "OTHER"}
UNIT_KINDS = {"机关事业单位": "AGENCY", "机关": "AGENCY", "事业单位": "AGENCY", "企业": "ENTERPRISE", "学校": "SCHOOL"}
UNIT_KINDS |= {"社会组织": "SOCIAL_ORG", "物业公司": "PROPERTY_COMPANY", "业主委员会": "OWNERS_COMMITTEE"}
RELATIONS = {"户主": "HEAD", "本人": "HEAD", "配偶": "SPOUSE", "妻": "SPOUSE", "夫": "SPOUSE", "子女": "CHILD"}
RELATIONS |= {
    "子": "CHILD",
    "女": "CHILD",
    "父母": "PARENT",
    "父亲": "PARENT",
    "母亲": "PARENT",
    "孙子女": "GRANDCHILD",
}
RELATIONS |= {"兄弟姐妹": "SIBLING", "其他": "OTHER", "租客": "TENANT"}
HOUSEHOLD_TAGS = {
    "独居老人": "ELDERLY_ALONE",
    "空巢老人": "EMPTY_NEST",
    "低保": "LOW_INCOME",
    "低保户": "LOW_INCOME",
    "残疾": "DISABLED",
    "残疾人": "DISABLED",
    "留守儿童": "LEFT_BEHIND_CHILD",
    "退役军人": "VETERAN",
    "重点关注": "KEY_CONCERN",
    "租户": "TENANT",
    "重病": "SERIOUS_ILLNESS",
    "困难家庭": "HARDSHIP",
    "优抚对象": "SPECIAL_CARE",
    "烈属": "MARTYR_FAMILY",
}
CHANNELS = {name: str(channel) for channel, name in CHANNEL_NAMES.items()}
CHANNELS |= {"热线": "HOTLINE", "12345": "HOTLINE", "网格员巡查": "GRID_PATROL", "联席会议": "JOINT_MEETING"}
VISIT_ANSWERS = {"满意": "SATISFIED", "基本满意": "BASICALLY_SATISFIED", "不满意": "DISSATISFIED"}
LIST_SEP = re.compile(r"[、,，;；/\s]+")


class CellError(Exception):
    """A cell (or a row, when `column` is None) the import cannot take."""

    def __init__(self, column: str | None, reason: str):
        super().__init__(reason)
        self.column, self.reason = column, reason


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False
    note: str = ""
    example: str = ""


@dataclass(frozen=True)
class Call:
    """One request a row makes of a service. `exists` names the record a row imported before
    (the id its code gave it): found, the row is counted as there and not sent."""

    service: str
    verb: str
    body: dict[str, Any]
    exists: tuple[str, str] | None = None  # (kind of record, id): "region" or "org"


@dataclass(frozen=True)
class Ref:
    """A record a row needs that another row of the file or the platform must hold."""

    what: str  # "region" or "org"
    id: str
    column: str


@dataclass
class Item:
    """What one row (or the rows of one household) asks for, once its cells are read."""

    rows: list[int]
    key: str  # names it in the city: two items of one file never share it
    calls: list[Call]
    defines: tuple[str, str] | None = None  # ("region"|"org", id) this item creates
    refs: list[Ref] = field(default_factory=list)
    wave: int = 0  # items of a later wave wait for the earlier (a parent before its children)


@dataclass(frozen=True)
class Context:
    today: date
    zone: ZoneInfo
    keyed: Callable[[str], str]  # a keyed hash: idempotency keys without personal data


def keyed_hash(secret: str) -> Callable[[str], str]:
    """The onboarding keys' hash, keyed with the platform's secret: a key names a row (an ID
    number, a phone) without holding it; `yiwang import` and the gateway's imports make the same."""
    key = hashlib.sha256(b"yiwang-onboarding:" + secret.encode()).digest()

    def keyed(value: str) -> str:
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]

    return keyed


Reader = Callable[[Row, Context], Item]


@dataclass(frozen=True)
class Kind:
    name: str
    title: str  # 中文: the template's sheet name
    columns: tuple[Column, ...]
    read: Reader
    note: str
    geo: bool = False  # regions: GIS files too
    group: str | None = None  # rows with the same value of this column are one item (a household)
    batch: int = 1  # items sent together (case history's case.import)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def file_name(self, given: str | None) -> str:
        """The file's name as a plain name (no folders, at most 100 characters), when its
        extension is one this kind is read from (a spreadsheet; regions also a GIS file)."""
        name = PurePosixPath((given or "").replace("\\", "/")).name.strip()[:100]
        ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
        allowed = TABLES + (GEO if self.geo else ())
        if ext not in allowed:
            raise BadInput(f"a {self.name} file is {', '.join(allowed)}; the file's name says {name or 'nothing'!r}")
        return name


# -- cells --------------------------------------------------------------------------------------
class Cells:
    """A row's cells read by the kind's columns, each failure naming its column."""

    def __init__(self, kind: Kind, row: Row):
        self.kind, self.row = kind, row

    def raw(self, key: str) -> Any:
        return self.row.get(self.kind.column(key).header)

    def header(self, key: str) -> str:
        return self.kind.column(key).header

    def fail(self, key: str, reason: str) -> CellError:
        return CellError(self.header(key), reason)

    def text(self, key: str, max_len: int = 100) -> str | None:
        v = self.raw(key)
        if v is None:
            if self.kind.column(key).required:
                raise self.fail(key, "is required")
            return None
        if isinstance(v, (datetime, date, dict, list)):
            raise self.fail(key, "must be text")
        s = " ".join(str(v).split())
        if len(s) > max_len:
            raise self.fail(key, f"is longer than {max_len} characters")
        return s

    def need(self, key: str, max_len: int = 100) -> str:
        v = self.text(key, max_len)
        if v is None:
            raise self.fail(key, "is required")
        return v

    def code(self, key: str) -> str | None:
        """A region's, a building's or an organisation's code: its id on the platform."""
        v = self.text(key, 48)
        if v is None:
            return None
        c = v.lower()
        if not is_subject_safe(c):
            raise self.fail(key, "must be 1-48 letters, digits, '-' or '_' (a code, e.g. 330102001001)")
        return c

    def choice(self, key: str, names: dict[str, str], values: Sequence[str] = ()) -> str | None:
        v = self.text(key, 32)
        if v is None:
            return None
        if v in names:
            return names[v]
        if v.upper() in values or v.upper() in names.values():
            return v.upper()
        shown = "、".join(dict.fromkeys(names))
        raise self.fail(key, f"{v!r} is not one of {shown}")

    def choices(self, key: str, names: dict[str, str]) -> list[str]:
        v = self.text(key, 200)
        out: list[str] = []
        for part in LIST_SEP.split(v or ""):
            if not part:
                continue
            if part in names:
                out.append(names[part])
            elif part.upper() in names.values():
                out.append(part.upper())
            else:
                raise self.fail(key, f"{part!r} is not one of {'、'.join(dict.fromkeys(names))}")
        return list(dict.fromkeys(out))

    def day(self, key: str) -> date | None:
        v = self.raw(key)
        if v is None:
            if self.kind.column(key).required:
                raise self.fail(key, "is required")
            return None
        try:
            return as_date(v)
        except ValueError as e:
            raise self.fail(key, f"{v!r} {e}") from None

    def moment(self, key: str, zone: ZoneInfo) -> datetime | None:
        """A time of day in the city's zone: a date-time cell, or text 2024-05-01 08:30[:00]."""
        v = self.raw(key)
        if v is None:
            if self.kind.column(key).required:
                raise self.fail(key, "is required")
            return None
        if isinstance(v, datetime):
            t = v
        else:
            m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?", str(v).strip())
            if not m:
                raise self.fail(key, f"{v!r} is not a time (2024-05-01 08:30)")
            try:
                t = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0))
            except ValueError:
                raise self.fail(key, f"{v!r} is not a time of the calendar") from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=zone)
        return t.astimezone(UTC)

    def number(self, key: str, low: float, high: float, whole: bool = True) -> float | None:
        v = self.raw(key)
        if v is None:
            if self.kind.column(key).required:
                raise self.fail(key, "is required")
            return None
        try:
            n = float(v) if not isinstance(v, bool) else float("nan")
        except (TypeError, ValueError):
            raise self.fail(key, f"{v!r} is not a number") from None
        if not low <= n <= high or (whole and not n.is_integer()):
            raise self.fail(key, f"must be a {'whole ' if whole else ''}number from {low:g} to {high:g}")
        return n

    def phone(self, key: str) -> str | None:
        v = self.raw(key)
        if v is None:
            if self.kind.column(key).required:
                raise self.fail(key, "is required")
            return None
        try:
            return check_phone(str(v))
        except BadInput as e:
            raise self.fail(key, e.message) from None

    def id_number(self, key: str, today: date) -> str | None:
        v = self.raw(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise self.fail(key, "is stored as a number, which loses its last digits: format the column as text")
        try:
            return check_id_number(v, today)
        except BadInput as e:
            raise self.fail(key, e.message) from None

    def name(self, key: str) -> str:
        try:
            return check_person_name(self.text(key, 64))
        except BadInput as e:
            raise self.fail(key, e.message) from None


def _boundary(c: Cells) -> dict | None:
    v = c.row.get(BOUNDARY)
    if v is None or isinstance(v, dict):
        return v
    try:
        g = json.loads(str(v))
    except json.JSONDecodeError:
        raise CellError(BOUNDARY, "must be a GeoJSON Polygon or MultiPolygon") from None
    if not isinstance(g, dict):
        raise CellError(BOUNDARY, "must be a GeoJSON Polygon or MultiPolygon")
    return g


# -- the kinds ------------------------------------------------------------------------------------
def _regions(row: Row, cx: Context) -> Item:
    c = Cells(REGIONS, row)
    rid, name = c.code("code"), c.need("name", 64)
    level = c.choice("level", LEVELS, LEVEL_ORDER[:-1])
    parent = c.code("parent")
    assert rid is not None and level is not None
    if level == "BUILDING":
        raise c.fail("level", "buildings are imported as their own kind (buildings)")
    if level != "CITY" and parent is None:
        raise c.fail("parent", f"is required for a {level}")
    boundary = _boundary(c)
    body: dict[str, Any] = {"id": rid, "code": c.text("code", 48), "name": name, "level": level, "parentId": parent}
    body |= {"boundary": boundary, "idempotencyKey": f"import:region:{rid}"}
    refs = [Ref("region", parent, c.header("parent"))] if parent else []
    call = Call("grids", "region.create", body, ("region", rid))
    return Item([row.number], rid, [call], ("region", rid), refs, LEVEL_ORDER.index(level))


REGIONS = Kind(
    "regions",
    "区域",
    (
        Column("区域编码", "code", True, "the region's code (行政区划代码 or 网格编码); becomes its id", "330102001"),
        Column("区域名称", "name", True, "", "清河街道"),
        Column("层级", "level", True, "市、县(区)、街道(乡镇)、社区(村) or 网格", "街道(乡镇)"),
        Column("上级编码", "parent", False, "the parent's code (this file's or imported); not for a 市", "330102"),
        Column(BOUNDARY, "boundary", False, "a GeoJSON Polygon or MultiPolygon (a GIS file gives it)", ""),
    ),
    _regions,
    "Regions with their boundaries: a GeoJSON FeatureCollection, a Shapefile (.zip) or KML whose features "
    "carry these properties, or a spreadsheet. A parent comes before its children.",
    geo=True,
)


def _buildings(row: Row, cx: Context) -> Item:
    c = Cells(BUILDINGS, row)
    bid, name, grid = c.code("code"), c.need("name", 64), c.code("grid")
    assert bid is not None and grid is not None
    attrs: dict[str, Any] = {}
    if (address := c.text("address", 100)) is not None:
        attrs["address"] = address
    if (floors := c.number("floors", 1, 200)) is not None:
        attrs["floors"] = int(floors)
    if (households := c.number("households", 0, 5000)) is not None:
        attrs["households"] = int(households)
    body: dict[str, Any] = {"id": bid, "code": c.text("code", 48), "name": name, "level": "BUILDING", "parentId": grid}
    body |= {"attrs": attrs, "boundary": _boundary(c), "idempotencyKey": f"import:region:{bid}"}
    call = Call("grids", "region.create", body, ("region", bid))
    return Item([row.number], bid, [call], ("region", bid), [Ref("region", grid, c.header("grid"))])


BUILDINGS = Kind(
    "buildings",
    "楼栋",
    (
        Column("楼栋编码", "code", True, "the building's code; becomes its id", "330102001001b01"),
        Column("楼栋名称", "name", True, "", "1栋"),
        Column("所属网格编码", "grid", True, "the code of the grid it stands in", "330102001001"),
        Column("地址", "address", False, "", "清河街道幸福里1栋"),
        Column("楼层数", "floors", False, "", "6"),
        Column("户数", "households", False, "", "36"),
    ),
    _buildings,
    "Buildings (楼栋) of grids imported before.",
)


def _workers(row: Row, cx: Context) -> Item:
    c = Cells(GRID_WORKERS, row)
    sub, name, grid = c.need("sub", 64), c.name("name"), c.code("grid")
    role = c.choice("role", WORKER_ROLES, tuple(WORKER_ROLES.values()))
    assert grid is not None and role is not None
    key = cx.keyed(f"worker:{sub}")
    body: dict[str, Any] = {"sub": sub, "name": name, "phone": c.phone("phone"), "role": role, "gridId": grid}
    calls = [
        Call("grids", "worker.register", body | {"idempotencyKey": f"import:{key}"}),
        Call("grids", "role.assign", {"sub": sub, "role": "grid_worker", "regionId": grid}),
    ]
    return Item([row.number], f"sub:{sub}", calls, None, [Ref("region", grid, c.header("grid"))])


GRID_WORKERS = Kind(
    "grid-workers",
    "网格员",
    (
        Column("账号", "sub", True, "the person's sign-in subject (sub) at the city's identity provider", "zhang.wei"),
        Column("姓名", "name", True, "", "张伟"),
        Column("手机号", "phone", False, "", "13800000000"),
        Column("岗位", "role", True, "基础网格员、便民服务员 or 财经管理员", "基础网格员"),
        Column("所属网格编码", "grid", True, "", "330102001001"),
    ),
    _workers,
    "Grid workers (一张网三大员): registered on their grid, and given the grid_worker role there.",
)


def _orgs(row: Row, cx: Context) -> Item:
    c = Cells(ORGANIZATIONS, row)
    oid, name = c.code("code"), c.need("name", 100)
    kind = c.choice("type", ORG_TYPES, ORG_ORDER)
    anchor, parent = c.code("anchor"), c.code("parent")
    assert oid is not None and kind is not None and anchor is not None
    if kind != "TOWNSHIP_WORKING_COMMITTEE" and parent is None:
        raise c.fail("parent", "is required below a 街道党工委")
    body: dict[str, Any] = {"id": oid, "name": name, "type": kind, "anchorId": anchor, "parentId": parent}
    body["idempotencyKey"] = f"import:org:{oid}"
    refs = [Ref("region", anchor, c.header("anchor"))] + ([Ref("org", parent, c.header("parent"))] if parent else [])
    call = Call("organizations", "org.create", body, ("org", oid))
    return Item([row.number], oid, [call], ("org", oid), refs, ORG_ORDER.index(kind))


ORGANIZATIONS = Kind(
    "organizations",
    "党组织",
    (
        Column("组织编码", "code", True, "the organisation's code; becomes its id", "dgw330102001"),
        Column("组织名称", "name", True, "", "清河街道党工委"),
        Column("组织类型", "type", True, "街道党工委、社区党委、网格党支部 or 楼栋党小组", "街道党工委"),
        Column("所在区域编码", "anchor", True, "its street, community, grid or building", "330102001"),
        Column("上级组织编码", "parent", False, "the organisation one level up; not for a 街道党工委", ""),
    ),
    _orgs,
    "Party organisations of the territory, street to building (a parent before its children).",
)


def _person_facts(c: Cells, cx: Context) -> tuple[str | None, str | None, date | None]:
    idn = c.id_number("id_number", cx.today)
    gender = c.choice("gender", GENDERS, ("MALE", "FEMALE"))
    born = c.day("birth")
    if idn:
        g, _ = id_facts(idn)
        id_born = date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14]))
        if gender is not None and gender != g:
            raise c.fail("gender", "disagrees with the ID number")
        if born is not None and born != id_born:
            raise c.fail("birth", "disagrees with the ID number")
        gender, born = g, id_born
    return idn, gender, born


def _members(row: Row, cx: Context) -> Item:
    c = Cells(MEMBERS, row)
    name = c.name("name")
    idn, gender, born = _person_facts(c, cx)
    phone = c.phone("phone")
    joined = c.day("joined")
    category = c.choice("category", MEMBER_CATEGORIES, ("IN_SERVICE", "RETIRED", "FLOATING", "OTHER"))
    org, home = c.code("org"), c.code("home")
    assert joined is not None and category is not None and org is not None
    if gender is None:
        raise c.fail("gender", "is required without an ID number")
    if born is None:
        raise c.fail("birth", "is required without an ID number")
    if not idn and not phone:
        raise CellError(c.header("id_number"), "give the ID number or a phone: one of them names the member")
    if joined > cx.today or joined < born:
        raise c.fail("joined", "must lie between the birth date and today")
    key = cx.keyed(f"member:{idn}" if idn else f"member:{name}:{phone}")
    body: dict[str, Any] = {
        "name": name,
        "gender": gender,
        "birthDate": born.isoformat(),
        "joinDate": joined.isoformat(),
    }
    body |= {"phone": phone, "idNumber": idn, "category": category, "organizationId": org}
    body |= {"homeBuildingId": home, "idempotencyKey": f"import:{key}"}
    refs = [Ref("org", org, c.header("org"))] + ([Ref("region", home, c.header("home"))] if home else [])
    return Item([row.number], key, [Call("organizations", "member.register", body)], None, refs)


MEMBERS = Kind(
    "members",
    "党员",
    (
        Column("姓名", "name", True, "", "李娜"),
        Column("身份证号", "id_number", False, "18 characters, as text; gives gender and birth date", ""),
        Column("性别", "gender", False, "男 or 女 (required without an ID number)", "女"),
        Column("出生日期", "birth", False, "2024-05-01 (required without an ID number)", ""),
        Column("入党日期", "joined", True, "", "2010-07-01"),
        Column("手机号", "phone", False, "", "13900000000"),
        Column("党员类别", "category", True, "在职党员、退休党员、流动党员 or 其他", "在职党员"),
        Column("所属党组织编码", "org", True, "the code of the organisation holding the member", "zb330102001001"),
        Column("居住楼栋编码", "home", False, "the building the member lives in", ""),
    ),
    _members,
    "Party members, each in an organisation imported before (give an ID number or a phone).",
)


def _units(row: Row, cx: Context) -> Item:
    c = Cells(UNITS, row)
    name = c.need("name", 100)
    kind = c.choice("kind", UNIT_KINDS, tuple(set(UNIT_KINDS.values())))
    region = c.code("region")
    assert kind is not None and region is not None
    contacts = []
    if (who := c.text("contact", 64)) is not None:
        contacts.append({"name": who, "title": c.text("title", 64) or "", "phone": c.phone("phone")})
    key = cx.keyed(f"unit:{region}:{name}")
    body: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "regionId": region,
        "contacts": contacts,
        "idempotencyKey": f"import:{key}",
    }
    return Item(
        [row.number],
        key,
        [Call("organizations", "unit.register", body)],
        None,
        [Ref("region", region, c.header("region"))],
    )


UNITS = Kind(
    "units",
    "共建单位",
    (
        Column("单位名称", "name", True, "", "区人民医院"),
        Column("单位类型", "kind", True, "机关事业单位、企业、学校、社会组织、物业公司 or 业主委员会", "机关事业单位"),
        Column("所在区域编码", "region", True, "the street or community it serves", "330102001"),
        Column("联系人", "contact", False, "", "王芳"),
        Column("联系人职务", "title", False, "", "党办主任"),
        Column("联系电话", "phone", False, "", "057188000000"),
    ),
    _units,
    "Co-building units (共建单位) of a street or community.",
)


def _volunteers(row: Row, cx: Context) -> Item:
    c = Cells(VOLUNTEERS, row)
    name, phone, home = c.name("name"), c.phone("phone"), c.code("home")
    assert phone is not None and home is not None
    key = cx.keyed(f"volunteer:{c.need('sub', 64)}")
    body: dict[str, Any] = {"name": name, "phone": phone, "homeRegionId": home, "sub": c.need("sub", 64)}
    body |= {"skills": _words(c, "skills")}
    body |= {"availability": _words(c, "availability"), "idempotencyKey": f"import:{key}"}
    return Item(
        [row.number],
        key,
        [Call("volunteers", "volunteer.register", body)],
        None,
        [Ref("region", home, c.header("home"))],
    )


def _words(c: Cells, key: str) -> list[str]:
    words = [w for w in LIST_SEP.split(c.text(key, 400) or "") if w]
    if len(words) > 20 or any(len(w) > 32 for w in words):
        raise c.fail(key, "lists at most 20 words of up to 32 characters, separated by 、")
    return list(dict.fromkeys(words))


VOLUNTEERS = Kind(
    "volunteers",
    "志愿者",
    (
        Column("姓名", "name", True, "", "赵敏"),
        Column("手机号", "phone", True, "", "13700000000"),
        Column("居住区域编码", "home", True, "the community, grid or building they live in", "330102001001"),
        Column("账号", "sub", True, "their sign-in subject (sub): the account they serve with", "zhao.min"),
        Column("技能", "skills", False, "words separated by 、", "医疗、维修"),
        Column("服务时间", "availability", False, "words separated by 、", "周末、晚间"),
    ),
    _volunteers,
    "Volunteers (志愿者), one row per account, and where they live.",
)


def _households(rows: Sequence[Row], cx: Context) -> Item:
    """The rows of one household: its head's row and the members' (one person per row)."""
    first = Cells(HOUSEHOLDS, rows[0])
    number, building = first.need("household", 32), first.code("building")
    assert building is not None
    unit, room = first.text("unit", 16), first.text("room", 16)
    head: dict | None = None
    members: list[dict] = []
    tags: list[str] = []
    for row in rows:
        c = Cells(HOUSEHOLDS, row)
        if (c.code("building"), c.text("unit", 16), c.text("room", 16)) != (building, unit, room):
            raise CellError(c.header("building"), f"household {number} is given in two places (building, unit, room)")
        rel = c.choice("relation", RELATIONS, tuple(set(RELATIONS.values())))
        assert rel is not None
        idn = c.id_number("id_number", cx.today)
        person: dict[str, Any] = {"relation": rel, "name": c.name("name"), "phone": c.phone("phone"), "idNumber": idn}
        person["gender"] = c.choice("gender", GENDERS, ("MALE", "FEMALE"))
        if (born := c.number("born", 1900, cx.today.year)) is not None:
            person["birthYear"] = int(born)
        if idn:
            g, y = id_facts(idn)
            if person["gender"] not in (None, g) or person.get("birthYear", y) != y:
                raise c.fail("id_number", "disagrees with the gender or birth year given")
        tags += c.choices("tags", HOUSEHOLD_TAGS)
        if rel == "HEAD":
            if head is not None:
                raise c.fail("relation", f"household {number} has two heads (户主)")
            head = person
        else:
            members.append(person)
    if head is None:
        raise CellError(first.header("relation"), f"household {number} has no head (户主)")
    key = cx.keyed(f"household:{building}:{number}")
    body: dict[str, Any] = {"buildingId": building, "unit": unit, "room": room, "head": head, "members": members}
    body |= {"tags": list(dict.fromkeys(tags)), "idempotencyKey": f"import:{key}"}
    refs = [Ref("region", building, first.header("building"))]
    return Item([r.number for r in rows], key, [Call("grids", "household.register", body)], None, refs)


HOUSEHOLDS = Kind(
    "households",
    "住户",
    (
        Column("户编号", "household", True, "the household's number in this file: its persons' rows share it", "1"),
        Column("楼栋编码", "building", True, "", "330102001001b01"),
        Column("单元", "unit", False, "", "1"),
        Column("房号", "room", False, "", "101"),
        Column("与户主关系", "relation", True, "户主、配偶、子女、父母、孙子女、兄弟姐妹、其他 or 租客", "户主"),
        Column("姓名", "name", True, "", "陈刚"),
        Column("身份证号", "id_number", False, "as text", ""),
        Column("手机号", "phone", False, "", ""),
        Column("性别", "gender", False, "男 or 女", ""),
        Column("出生年份", "born", False, "", "1950"),
        Column(
            "标签",
            "tags",
            False,
            "独居老人、低保、残疾、留守儿童、退役军人、重点关注… (、)",
            "独居老人",
        ),
    ),
    lambda row, cx: _households([row], cx),
    "Households (实有人口, by 户): one row per person, the rows of a household sharing its 户编号. Imported "
    "by the community (its admin or operator) or a grid worker: staff above the community see figures only.",
    group="household",
)


def _cases(row: Row, cx: Context) -> Item:
    c = Cells(CASES, row)
    number = c.need("number", 40)
    cid = "h" + cx.keyed(f"case:{number}")[:30]
    reported = c.moment("reported", cx.zone)
    resolved = c.moment("resolved", cx.zone)
    grid, building = c.code("grid"), c.code("building")
    assert reported is not None and grid is not None
    now = datetime.now(UTC)
    if reported > now:
        raise c.fail("reported", "lies in the future")
    lng, lat = c.number("lng", -180, 180, False), c.number("lat", -90, 90, False)
    if (lng is None) != (lat is None):
        raise c.fail("lng" if lng is None else "lat", "give longitude and latitude together")
    case: dict[str, Any] = {
        "id": cid,
        "title": c.need("title", 200),
        "description": c.text("description", 5000) or "",
        "categoryCode": c.need("category", 64).upper(),
        "channel": c.choice("channel", CHANNELS, tuple(set(CHANNELS.values()))),
        "reporterName": c.need("reporter", 64),
        "reporterPhone": c.phone("reporter_phone"),
        "regionId": grid,
        "buildingId": building,
        "lng": lng,
        "lat": lat,
        "reportedAt": reported.isoformat(),
    }
    steps: list[dict[str, Any]] = []
    visit = c.choice("visit", VISIT_ANSWERS, tuple(VISIT_ANSWERS.values()))
    if resolved is not None:
        if not reported < resolved <= now:
            raise c.fail("resolved", "must lie after the report and not in the future")
        resolution = c.text("resolution", 5000) or "已办结"
        closed = resolved + timedelta(seconds=1)
        steps += [
            {"action": "accept", "at": reported.isoformat()},
            {"action": "resolve", "at": resolved.isoformat(), "resolution": resolution},
            {"action": "close", "at": closed.isoformat(), "note": "历史案件导入"},
        ]
        if visit is not None:  # 回访 of the closed case: counts in 满意率, reopens nothing
            at = (closed + timedelta(seconds=1)).isoformat()
            steps.append({"action": "return_visit", "at": at, "reached": True, "satisfaction": visit})
    elif visit is not None:
        raise c.fail("visit", "only a resolved case (办结时间) has a return visit")
    case["steps"] = steps
    refs = [Ref("region", grid, c.header("grid"))] + (
        [Ref("region", building, c.header("building"))] if building else []
    )
    return Item([row.number], cid, [Call("cases", "case.import", {"cases": [case]})], None, refs)


CASES = Kind(
    "cases",
    "历史案件",
    (
        Column("案件编号", "number", True, "the case's number in the old system: imported once", "QH2024000123"),
        Column("标题", "title", True, "", "小区门口垃圾堆放"),
        Column("描述", "description", False, "", ""),
        Column("类别编码", "category", True, "a code of the platform's category catalogue", "ENV_GARBAGE"),
        Column("来源渠道", "channel", True, "小程序、12345热线、网格员走访、来访、党建联席会议 or 其他", "12345热线"),
        Column("上报人", "reporter", True, "", "匿名"),
        Column("上报人电话", "reporter_phone", False, "", ""),
        Column("所在网格编码", "grid", True, "", "330102001001"),
        Column("楼栋编码", "building", False, "", ""),
        Column("经度", "lng", False, "", ""),
        Column("纬度", "lat", False, "", ""),
        Column("上报时间", "reported", True, "2024-05-01 08:30, the city's time", "2024-05-01 08:30"),
        Column("办结时间", "resolved", False, "empty while the case is open", "2024-05-02 17:00"),
        Column("办结意见", "resolution", False, "", "已清运"),
        Column("回访满意度", "visit", False, "满意、基本满意 or 不满意 (a resolved case's 回访)", "满意"),
    ),
    _cases,
    "Case history (superadmin): each case as reported, accepted, and resolved and closed when it was.",
    batch=100,
)

KINDS: dict[str, Kind] = {
    k.name: k for k in (REGIONS, BUILDINGS, GRID_WORKERS, ORGANIZATIONS, MEMBERS, UNITS, VOLUNTEERS, HOUSEHOLDS, CASES)
}


def kind_of(name: str) -> Kind:
    if name not in KINDS:
        raise BadInput(f"kind {name!r} is not one of {', '.join(KINDS)}")
    return KINDS[name]


def read_group(kind: Kind, rows: Sequence[Row], cx: Context) -> Item:
    if kind is HOUSEHOLDS:
        return _households(rows, cx)
    return kind.read(rows[0], cx)
