"""The dispatch catalogue (派单目录): which level and department handle each kind of case."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from shared.errors import BadInput

from .clocks import check_span
from .enums import HandlingLevel as L
from .enums import RequestKind as K
from .values import refusal

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")

# The department codes the default catalogue names (a category's `department`: the lead it
# suggests), with their usual names. Not the source of truth: each county and city keeps its
# directory (createDepartment), and a dispatch checks its codes against the directory of the
# case's county, then its city. The demo creates each county's directory from this list.
DEPARTMENTS: dict[str, str] = {
    "URBAN_MGMT": "城市管理局",
    "HOUSING": "住房和城乡建设局",
    "FIRE": "消防救援大队",
    "CIVIL_AFFAIRS": "民政局",
    "HRSS": "人力资源和社会保障局",
    "ECO_ENV": "生态环境分局",
    "WATER": "水务局",
    "PUBLIC_SECURITY": "公安分局",
    "JUSTICE": "司法局",
}


class LevelSla(BaseModel):
    """A category's SLA at one level, in working time ("4h", "2d")."""

    model_config = ConfigDict(frozen=True)

    level: L
    working: str

    @field_validator("working")
    @classmethod
    def _working(cls, v: str) -> str:
        return check_span(v) or ""


class Category(BaseModel):
    """One catalogue entry. `sla_seconds` (wall-clock: urgent hazards get hours, night and
    holidays included) or `sla_work` (working time, "4h" or "2d"), when set, replaces the
    per-level SLA at every level; `sla_levels` gives it at some levels (working time)."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    group: str = ""  # 大类, e.g. 矛盾纠纷
    default_level: L
    department: str | None = None
    sla_seconds: int | None = None
    kind: K = K.HELP
    sla_work: str | None = None  # clocks: working hours ("4h") or days ("2d")
    sla_levels: tuple[LevelSla, ...] = ()  # clocks: per level, before `sla_work`
    requires_verification: bool = False  # a resolution waits for the centre's 核查 whoever handled it
    requires_after_photo: bool = False  # evidence: resolved only with a RESOLUTION-stage photo

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not _CODE.match(v):
            raise ValueError("a category code is UPPER_SNAKE, e.g. DISPUTE_NEIGHBOR")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a category needs a name")
        return v.strip()

    @field_validator("sla_seconds")
    @classmethod
    def _sla(cls, v: int | None) -> int | None:
        if v is not None and v <= 0:
            raise ValueError("sla_seconds must be positive")
        return v

    @field_validator("sla_work")
    @classmethod
    def _sla_work(cls, v: str | None) -> str | None:
        return check_span(v)

    @model_validator(mode="after")
    def _one_sla(self) -> Category:
        if self.sla_seconds is not None and (self.sla_work is not None or self.sla_levels):
            raise ValueError("a category's SLA is either wall-clock seconds or working time, not both")
        levels = [x.level for x in self.sla_levels]
        if len(set(levels)) != len(levels):
            raise ValueError("a category gives its SLA at each level once")
        return self

    def working_at(self, level: L) -> str | None:
        """The category's working-time SLA at `level` (None: the level's own)."""
        return next((x.working for x in self.sla_levels if x.level is level), None) or self.sla_work

    def sla_by_level(self) -> dict[str, str] | None:
        """What a case of this category keeps: its working-time SLA per level (None: none)."""
        return {str(x.level): x.working for x in self.sla_levels} or None


class Catalogue(BaseModel):
    """A versioned set of categories; edits return a new version."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    categories: tuple[Category, ...] = ()

    def get(self, code: str) -> Category:
        for c in self.categories:
            if c.code == code:
                return c
        raise BadInput(f"unknown case category {code!r}; see caseCategories", {"categoryCode": code})

    def upsert(self, category: Category) -> Catalogue:
        rest = tuple(c for c in self.categories if c.code != category.code)
        return Catalogue(version=self.version + 1, categories=rest + (category,))

    def remove(self, code: str) -> Catalogue:
        self.get(code)
        return Catalogue(version=self.version + 1, categories=tuple(c for c in self.categories if c.code != code))


def start_level(category: Category, building_id: str | None) -> L:
    """Where a case of `category` starts: its default level, except that BUILDING needs a
    building (a case without one starts at the grid, the building level's next step)."""
    if category.default_level is L.BUILDING and not building_id:
        return L.GRID
    return category.default_level


def new_category(
    code: str,
    name: str,
    group: str | None,
    default_level: str,
    department: str | None = None,
    sla_seconds: int | None = None,
    kind: str | None = None,
    sla_work: str | None = None,
    sla_levels: list[tuple[str, str]] | None = None,
    requires_verification: bool = False,
    requires_after_photo: bool = False,
) -> Category:
    """A catalogue entry from an edit, or BAD_INPUT naming what is wrong with it."""
    try:
        return Category(
            code=code,
            name=name,
            group=group or "",
            default_level=default_level,
            department=department,
            sla_seconds=sla_seconds,
            requires_verification=requires_verification,
            **({"kind": kind} if kind else {}),
            sla_work=sla_work,
            sla_levels=tuple(LevelSla(level=lvl, working=w) for lvl, w in (sla_levels or ())),
            requires_after_photo=requires_after_photo,
        )
    except ValueError as e:
        raise BadInput(refusal(e)) from None


def _c(
    code: str, name: str, group: str, level: L, dept: str | None = None, sla: int | None = None, kind: K = K.HELP
) -> Category:
    return Category(code=code, name=name, group=group, default_level=level, department=dept, sla_seconds=sla, kind=kind)


_HOUR = 3600
# building: "小事不出楼栋". A category handled at BUILDING level is a matter between the neighbours
# of one building that its 楼栋长 / 党员中心户 settles best, by knowing the people and talking to
# them: a quarrel between neighbours (noise through the floor, a dog, a shared landing), things
# piled in the stairwell, water leaking from the flat above. A case of these categories starts
# at BUILDING level only when it names its building, else at the grid; one the building cannot
# settle in a working day (YIWANG_SLA_BUILDING_WORKING) goes up to the grid worker. Matters of
# safety, money or the authorities (fire exits, e-bike charging, property fees, labour) stay at
# the grid or above.
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    _c("DISPUTE_NEIGHBOR", "邻里纠纷", "矛盾纠纷", L.BUILDING, "JUSTICE"),
    _c("BUILDING_CORRIDOR_CLUTTER", "楼道堆物", "楼栋事务", L.BUILDING, "FIRE", kind=K.REPORT),
    _c("BUILDING_LEAK", "楼上渗漏水", "楼栋事务", L.BUILDING, "HOUSING", kind=K.COMPLAINT),
    _c("DISPUTE_FAMILY", "家庭纠纷", "矛盾纠纷", L.GRID, "JUSTICE"),
    _c("DISPUTE_PROPERTY", "物业纠纷", "矛盾纠纷", L.COMMUNITY, "HOUSING", kind=K.COMPLAINT),
    _c("DISPUTE_LABOUR", "劳资纠纷", "矛盾纠纷", L.TOWNSHIP, "HRSS", kind=K.COMPLAINT),
    _c("ENV_GARBAGE", "垃圾堆放", "环境卫生", L.GRID, "URBAN_MGMT", kind=K.REPORT),
    _c("ENV_NOISE", "噪音扰民", "环境卫生", L.COMMUNITY, "ECO_ENV", kind=K.COMPLAINT),
    _c("ENV_SEWAGE", "污水外溢", "环境卫生", L.COMMUNITY, "WATER", kind=K.REPORT),
    _c("FACILITY_STREETLIGHT", "路灯损坏", "市政设施", L.COMMUNITY, "URBAN_MGMT", kind=K.REPORT),
    _c("FACILITY_ROAD", "道路破损", "市政设施", L.TOWNSHIP, "HOUSING", kind=K.REPORT),
    _c("FACILITY_MANHOLE", "井盖缺失", "市政设施", L.COMMUNITY, "URBAN_MGMT", 4 * _HOUR, K.REPORT),
    _c("SAFETY_FIRE_EXIT", "消防通道占用", "安全隐患", L.GRID, "FIRE", 4 * _HOUR, K.REPORT),
    _c("SAFETY_HIGH_THROW", "高空抛物", "安全隐患", L.COMMUNITY, "PUBLIC_SECURITY", 12 * _HOUR, K.REPORT),
    _c("SAFETY_EBIKE_CHARGING", "电动车违规充电", "安全隐患", L.GRID, "FIRE", 8 * _HOUR, K.REPORT),
    _c("LIVELIHOOD_SUBSISTENCE", "低保救助咨询", "民生服务", L.COMMUNITY, "CIVIL_AFFAIRS", kind=K.CONSULTATION),
    _c("LIVELIHOOD_ELDERLY", "养老服务", "民生服务", L.COMMUNITY, "CIVIL_AFFAIRS"),
    _c("LIVELIHOOD_EMPLOYMENT", "就业帮扶", "民生服务", L.COMMUNITY, "HRSS"),
    _c("PROPERTY_SERVICE", "物业服务质量", "物业管理", L.COMMUNITY, "HOUSING", kind=K.COMPLAINT),
    _c("PROPERTY_FACILITY", "小区公共设施维修", "物业管理", L.GRID, "HOUSING"),
    _c("POLICY_CONSULT", "政策咨询", "政策咨询", L.COMMUNITY, kind=K.CONSULTATION),
    _c("SUGGESTION", "意见建议", "建议", L.TOWNSHIP, kind=K.SUGGESTION),
    _c("OTHER", "其他", "其他", L.GRID),
)

DEFAULT_CATALOGUE = Catalogue(version=1, categories=DEFAULT_CATEGORIES)
