from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


class Page(Wire):
    first: int = Field(default=20, ge=0, le=100)
    after: str | None = None


class ById(Wire):
    id: str = Field(min_length=1, max_length=64)


class ByIds(Wire):
    ids: list[str] = Field(max_length=500)


class TrendQuery(Wire):
    regionId: str = Field(min_length=1, max_length=64)
    metric: str = Field(min_length=1, max_length=64)
    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime
    interval: Literal["DAY", "WEEK", "MONTH", "SPAN"] = "DAY"
