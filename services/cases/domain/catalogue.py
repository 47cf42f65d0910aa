"""The dispatch catalogue (派单目录): which level and department handle each kind of case."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, field_validator

from shared.errors import BadInput

from .enums import HandlingLevel as L
from .enums import RequestKind as K
from .values import refusal

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")

# County departments (县直部门) that cases are dispatched to, by code.
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


class Category(BaseModel):
    """One catalogue entry. `sla_seconds`, when set, replaces the per-level SLA at every
    level (urgent hazards get hours, not days)."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    group: str = ""  # 大类, e.g. 矛盾纠纷
    default_level: L
    department: str | None = None
    sla_seconds: int | None = None
    kind: K = K.HELP
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


def new_category(
    code: str,
    name: str,
    group: str | None,
    default_level: str,
    department: str | None = None,
    sla_seconds: int | None = None,
    kind: str | None = None,
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
            **({"kind": kind} if kind else {}),
            requires_after_photo=requires_after_photo,
        )
    except ValueError as e:
        raise BadInput(refusal(e)) from None


def _c(
    code: str, name: str, group: str, level: L, dept: str | None = None, sla: int | None = None, kind: K = K.HELP
) -> Category:
    return Category(code=code, name=name, group=group, default_level=level, department=dept, sla_seconds=sla, kind=kind)


_HOUR = 3600
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    _c("DISPUTE_NEIGHBOR", "邻里纠纷", "矛盾纠纷", L.GRID, "JUSTICE"),
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
